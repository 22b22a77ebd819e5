"""The significance figures equal scipy's own on fixture data; Holm as the formula."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from rerank_playground.evaluation.stats import SEED, compare_orderings, holm, mean_ci, paired_test

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
