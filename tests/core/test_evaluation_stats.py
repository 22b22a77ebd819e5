"""The significance figures equal scipy's own on fixture data; Holm as the formula."""

from __future__ import annotations

import math
from fractions import Fraction
from itertools import product

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from rerank_playground.errors import InvalidInput
from rerank_playground.evaluation.stats import (
    EXACT_MAX_N,
    SEED,
    check_alpha,
    compare_orderings,
    holm,
    holm_family,
    mean_ci,
    methods_text,
    pair_tests,
    paired_test,
    sign_flip_p,
)

BASE = {"q1": 0.2, "q2": 0.5, "q3": 0.0, "q4": 1.0, "q5": 0.3, "q6": 0.6, "q7": 0.1, "q8": 0.4}
BETTER = {"q1": 0.6, "q2": 0.7, "q3": 0.2, "q4": 1.0, "q5": 0.5, "q6": 0.9, "q7": 0.1, "q8": 0.3}
OTHER = {"q1": 0.1, "q2": 0.5, "q3": 0.0, "q4": 0.8, "q5": 0.3, "q6": 0.2, "q7": 0.0, "q8": 0.4, "q9": 1.0}


def test_mean_ci_equals_scipy_bootstrap() -> None:
    ci = mean_ci(BASE, measure="nDCG@10", ordering="no rerank")
    data = np.array(list(BASE.values()))
    expected = stats.bootstrap((data,), np.mean, confidence_level=0.95, n_resamples=9999, method="BCa",
                               rng=np.random.default_rng(SEED)).confidence_interval
    assert ci.mean == pytest.approx(data.mean())
    assert (ci.low, ci.high) == (pytest.approx(expected.low), pytest.approx(expected.high))
    assert ci.low < ci.mean < ci.high
    assert ci.n == 8


def test_mean_ci_edges() -> None:
    assert mean_ci({}).mean is None
    one = mean_ci({"q": 0.5})
    assert (one.mean, one.low, one.high, one.n) == (0.5, None, None, 1)
    flat = mean_ci([0.25, 0.25, 0.25])
    assert (flat.low, flat.high) == (0.25, 0.25)
    skipped = mean_ci({"a": 1.0, "b": None, "c": 0.0})  # undefined values do not count
    assert skipped.n == 2 and skipped.mean == 0.5


def test_paired_test_equals_scipy() -> None:
    result = paired_test(BETTER, BASE, measure="nDCG@10", a_name="model", b_name="no rerank")
    x, y = np.array(list(BETTER.values())), np.array(list(BASE.values()))
    t = stats.ttest_rel(x, y)
    perm = stats.permutation_test((x, y), lambda a, b, axis: np.mean(a - b, axis=axis), vectorized=True,
                                  permutation_type="samples", n_resamples=9999, rng=np.random.default_rng(SEED))
    assert result.t_statistic == pytest.approx(t.statistic)
    assert result.t_p == pytest.approx(t.pvalue)
    assert result.randomization_p == pytest.approx(perm.pvalue)
    d = x - y
    assert result.effect_size == pytest.approx(d.mean() / d.std(ddof=1))
    assert result.mean_delta == pytest.approx(d.mean())
    assert (result.wins, result.ties, result.losses) == (5, 2, 1)
    assert result.n == 8


def test_paired_test_pairs_only_common_defined_queries() -> None:
    a = {**OTHER, "q2": None}
    result = paired_test(a, BASE)
    common = [q for q in BASE if q != "q2"]
    t = stats.ttest_rel([OTHER[q] for q in common], [BASE[q] for q in common])
    assert result.n == 7
    assert result.t_p == pytest.approx(t.pvalue)


def test_identical_orderings_are_not_different() -> None:
    result = paired_test(BASE, dict(BASE))
    assert (result.t_p, result.randomization_p, result.ties) == (1.0, 1.0, 8)
    assert not result.significantly_worse()


def test_holm_is_the_step_down_formula() -> None:
    p = [0.01, 0.04, 0.03, None, 0.5]
    # sorted: 0.01*4, 0.03*3, 0.04*2, 0.5*1 with the running maximum
    assert holm(p) == [pytest.approx(0.04), pytest.approx(0.09), pytest.approx(0.09), None, pytest.approx(0.5)]
    assert holm([0.9, 0.8]) == [1.0, 1.0]


def test_compare_orderings_family_and_worse_flag() -> None:
    worse = {q: max(0.0, v - 0.3) for q, v in BASE.items()}
    tests = compare_orderings({"no rerank": BASE, "good": BETTER, "bad": worse}, baseline="no rerank",
                              measure="nDCG@10")
    pairs = [(t.a, t.b) for t in tests]
    assert pairs == [("good", "no rerank"), ("bad", "no rerank"), ("good", "bad")]
    raw = [t.randomization_p for t in tests]
    assert [t.randomization_p_holm for t in tests] == holm(raw)
    bad = tests[1]
    assert bad.mean_delta < 0 and bad.significantly_worse()
    assert not tests[0].significantly_worse()
    assert all(not math.isnan(t.mean_delta) for t in tests)


# ------------------------------------------------------------------------------ paired CI, exact and Monte Carlo


def test_paired_difference_ci_equals_scipy_bootstrap_of_the_deltas() -> None:
    result = paired_test(BETTER, BASE)
    deltas = np.array([BETTER[q] - BASE[q] for q in BASE])
    expected = stats.bootstrap((deltas,), np.mean, confidence_level=0.95, n_resamples=9999, method="BCa",
                               rng=np.random.default_rng(SEED)).confidence_interval
    assert (result.delta_low, result.delta_high) == (pytest.approx(expected.low), pytest.approx(expected.high))
    assert result.delta_low < result.mean_delta < result.delta_high
    assert result.delta_interval() == f"[{expected.low:+.3f}, {expected.high:+.3f}]"


def test_difference_ci_answers_what_two_overlapping_cis_cannot() -> None:
    """A small consistent gain: the per-ordering intervals overlap, the interval of the paired difference does not
    cover 0 (the reader's question is the difference, not the two means)."""
    rng = np.random.default_rng(7)
    base = {f"q{i}": float(v) for i, v in enumerate(rng.uniform(0.2, 0.8, 30))}
    better = {q: v + 0.05 + float(rng.normal(0, 0.02)) for q, v in base.items()}
    a, b = mean_ci(better), mean_ci(base)
    assert a.low is not None and b.high is not None and a.low < b.high  # overlap
    test = paired_test(better, base)
    assert test.delta_low is not None and test.delta_low > 0


@pytest.mark.parametrize("n", [2, 3, 5, 8, 11, 14])
def test_exact_sign_flip_equals_scipy_exact_permutation_test(n: int) -> None:
    rng = np.random.default_rng(n)
    x, y = rng.uniform(0, 1, n), rng.uniform(0, 1, n)
    a = {f"q{i}": float(v) for i, v in enumerate(x)}
    b = {f"q{i}": float(v) for i, v in enumerate(y)}
    result = paired_test(a, b)
    expected = stats.permutation_test((x, y), lambda s, t, axis: np.mean(s - t, axis=axis), vectorized=True,
                                      permutation_type="samples", n_resamples=np.inf, alternative="two-sided")
    assert result.randomization_exact and result.randomization_p_se is None
    assert result.randomization_p == expected.pvalue


def exact_by_fractions(deltas: list[Fraction]) -> float:
    """The exact two-sided sign-flip p-value in rational arithmetic (no rounding at all)."""
    observed = sum(deltas)
    nulls = [sum(s * d for s, d in zip(signs, deltas, strict=True)) for signs in product((1, -1), repeat=len(deltas))]
    below = sum(v <= observed for v in nulls)
    above = sum(v >= observed for v in nulls)
    return min(1.0, 2 * min(below, above) / len(nulls))


def test_exact_sign_flip_on_grade_like_values_equals_rational_arithmetic() -> None:
    """Metric values on thirds: sums that are 0 in exact arithmetic come out as 1e-17 in floats. scipy's tolerance
    (relative to the observed mean) misreads them here (0.906 where the exact p is 1); ours does not."""
    thirds = [(0, 0), (1, 1), (0, 3), (2, 2), (3, 0), (1, 1), (0, 2), (2, 0), (3, 0), (0, 3)]
    a = {f"q{i}": x / 3 for i, (x, _) in enumerate(thirds)}
    b = {f"q{i}": y / 3 for i, (_, y) in enumerate(thirds)}
    exact = exact_by_fractions([Fraction(x - y, 3) for x, y in thirds])
    assert exact == 1.0
    assert paired_test(a, b).randomization_p == exact
    rng = np.random.default_rng(3)
    for n in (6, 9, 12):
        grades = rng.integers(0, 4, size=(n, 2))
        a = {f"q{i}": int(g[0]) / 3 for i, g in enumerate(grades)}
        b = {f"q{i}": int(g[1]) / 3 for i, g in enumerate(grades)}
        deltas = [Fraction(int(g[0]) - int(g[1]), 3) for g in grades]
        if any(deltas):
            assert paired_test(a, b).randomization_p == exact_by_fractions(deltas)


def test_sign_flip_enumerates_up_to_twenty_queries_and_draws_beyond() -> None:
    rng = np.random.default_rng(11)
    at_limit = {f"q{i}": float(v) for i, v in enumerate(rng.uniform(0, 1, EXACT_MAX_N))}
    other = {q: v + float(rng.normal(0.05, 0.1)) for q, v in at_limit.items()}
    assert EXACT_MAX_N == 20 and paired_test(other, at_limit).randomization_exact
    d = np.array([other[q] - at_limit[q] for q in at_limit])
    assert paired_test(other, at_limit).randomization_p == sign_flip_p(d)

    n = EXACT_MAX_N + 5
    x, y = rng.uniform(0, 1, n), rng.uniform(0, 1, n)
    a = {f"q{i}": float(v) for i, v in enumerate(x)}
    b = {f"q{i}": float(v) for i, v in enumerate(y)}
    result = paired_test(a, b)
    expected = stats.permutation_test((x, y), lambda s, t, axis: np.mean(s - t, axis=axis), vectorized=True,
                                      permutation_type="samples", n_resamples=9999, alternative="two-sided",
                                      rng=np.random.default_rng(SEED))
    assert not result.randomization_exact
    assert result.randomization_p == expected.pvalue
    p = expected.pvalue
    assert result.randomization_p_se == pytest.approx(math.sqrt(p * (1 - p) / 9999))


# ------------------------------------------------------------------------------------------------ Holm, alpha


def holm_step_down(pvalues: list[float | None]) -> list[float | None]:
    """The hand-written Holm this project used before statsmodels (kept here as the reference)."""
    indexed = sorted(((p, i) for i, p in enumerate(pvalues) if p is not None), key=lambda pi: pi[0])
    m = len(indexed)
    adjusted: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def test_holm_through_statsmodels_equals_the_previous_results() -> None:
    rng = np.random.default_rng(5)
    for size in (1, 2, 3, 6, 12, 40):
        p: list[float | None] = [float(v) for v in rng.uniform(0, 0.2, size)]
        p[0] = p[-1]  # a tie
        if size > 3:
            p[2] = None
        ours, before = holm(p), holm_step_down(p)
        assert [o is None for o in ours] == [b is None for b in before]
        assert [o for o in ours if o is not None] == pytest.approx([b for b in before if b is not None], abs=1e-15)
        present = [v for v in p if v is not None]
        assert [o for o in ours if o is not None] == list(multipletests(present, method="holm")[1])


def test_holm_family_spans_every_test_given() -> None:
    tests = pair_tests({"no rerank": BASE, "good": BETTER, "other": OTHER}, baseline="no rerank", measure="m")
    adjusted = holm_family(tests + tests)  # twice the family: each p-value is corrected for six tests
    assert [t.randomization_p_holm for t in adjusted] == holm([t.randomization_p for t in tests + tests])


@pytest.mark.parametrize("alpha", [0, 0.0, -0.1, 0.5, 0.7, 1, float("nan")])
def test_significance_level_outside_zero_to_half_is_refused(alpha: float) -> None:
    with pytest.raises(InvalidInput, match="above 0 and below 0.5"):
        check_alpha(alpha)
    with pytest.raises(InvalidInput):
        paired_test(BETTER, BASE).significantly_worse(alpha)


def test_alpha_decides_the_verdict() -> None:
    worse = {q: max(0.0, v - 0.1) for q, v in BASE.items()}
    test = paired_test(worse, BASE)
    assert test.randomization_p is not None and 0.01 < test.randomization_p < 0.05
    assert test.significantly_worse(0.05) and not test.significantly_worse(0.01)
    assert check_alpha(0.05) == 0.05


def test_methods_line_states_what_decides_the_numbers() -> None:
    text = methods_text(alpha=0.01, family="the 3 tests of each measure")
    for part in ("BCa", "9,999 resamples", f"seed {SEED}", "two-sided", "exact over all 2^n sign flips",
                 "n ≤ 20", "standard error", "Holm", "the 3 tests of each measure", "α = 0.01"):
        assert part in text, part
