"""Statistics over per-query metric values: bootstrap confidence intervals and paired significance tests.

Intervals and tests go through scipy (``bootstrap``, ``permutation_test``, ``ttest_rel``) and Holm's correction
through statsmodels (``multipletests``). One part is our own: the *exact* paired randomization (sign-flip) test for
up to ``EXACT_MAX_N`` queries enumerates all 2^n sign flips with numpy, because scipy's exact enumeration of paired
samples runs in Python (16 s at n = 20) and decides ties relative to the observed mean, which misreads an exact zero
difference computed as 1e-17 (it is checked against scipy's exact test and against rational arithmetic in the
tests). Inputs are plain mappings query id -> value, so the UI, the CLI and the tests compute the same figures.

Pairing: two orderings are compared on the queries where both have a value (a failed query, or a metric that is
undefined for it, drops out of that comparison only); ``n`` says how many were paired.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import combinations

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests

from rerank_playground.errors import InvalidInput

CONFIDENCE = 0.95
N_RESAMPLES = 9999
SEED = 20261130  # fixed, so the same run gives the same intervals and p-values everywhere
ALPHA = 0.05  # default significance level of every verdict, banner and exit code
EXACT_MAX_N = 20  # up to 2^20 sign flips are enumerated (~0.3 s); beyond, Monte Carlo with its standard error


def check_alpha(alpha: float) -> float:
    """The significance level, refused unless 0 < alpha < 0.5 (0 would pass anything; 0.5 and above is no test)."""
    if not isinstance(alpha, int | float) or isinstance(alpha, bool) or math.isnan(alpha) or not 0 < alpha < 0.5:
        raise InvalidInput(f"The significance level must be above 0 and below 0.5 (got {alpha!r}).",
                           hint="Use e.g. 0.05 (the usual level) or 0.01 (stricter).")
    return float(alpha)


@dataclass(frozen=True)
class MeanCI:
    """Mean of one measure over the queries of one ordering, with a 95% bootstrap (BCa) interval.

    ``low``/``high`` are None when an interval is undefined (fewer than two values); equal to the mean when
    every value is the same (no spread to resample)."""

    measure: str
    ordering: str
    mean: float | None
    low: float | None
    high: float | None
    n: int


@dataclass(frozen=True)
class PairedTest:
    """``a`` against ``b`` on one measure, paired by query. ``mean_delta`` = mean(a - b).

    ``delta_low``/``delta_high``: the 95% BCa bootstrap interval of the mean paired difference (the interval a
    reader needs: two overlapping per-ordering intervals say nothing about the difference). ``effect_size`` is
    Cohen's d_z (mean delta / standard deviation of the deltas), None when the deltas do not vary.
    ``randomization_exact``: the sign-flip test enumerated all 2^n flips (n <= ``EXACT_MAX_N``); otherwise it drew
    ``N_RESAMPLES`` of them and ``randomization_p_se`` is the Monte Carlo standard error of its p-value.
    ``*_p_holm`` are Holm-adjusted over the family the test was run in (see ``holm_family``).
    """

    measure: str
    a: str
    b: str
    n: int
    mean_a: float
    mean_b: float
    mean_delta: float
    wins: int  # queries where a > b
    ties: int
    losses: int
    t_statistic: float | None
    t_p: float | None
    randomization_p: float | None
    t_p_holm: float | None = None
    randomization_p_holm: float | None = None
    effect_size: float | None = None
    delta_low: float | None = None
    delta_high: float | None = None
    randomization_exact: bool = False
    randomization_p_se: float | None = None

    @property
    def p(self) -> float | None:
        """The p-value every verdict uses: the Holm-adjusted randomization p (the raw one outside a family)."""
        return self.randomization_p_holm if self.randomization_p_holm is not None else self.randomization_p

    def significant(self, alpha: float = ALPHA) -> bool:
        p = self.p
        return p is not None and p < check_alpha(alpha) and self.mean_delta != 0

    def significantly_worse(self, alpha: float = ALPHA) -> bool:
        """``a`` is worse than ``b`` and the Holm-adjusted randomization test says so at ``alpha``."""
        return self.significant(alpha) and self.mean_delta < 0

    def significantly_better(self, alpha: float = ALPHA) -> bool:
        return self.significant(alpha) and self.mean_delta > 0

    def delta_interval(self, digits: int = 3) -> str:
        """``"[-0.120, -0.030]"``, or ``"n/a"`` when undefined (fewer than two paired queries)."""
        if self.delta_low is None or self.delta_high is None:
            return "n/a"
        return f"[{self.delta_low:+.{digits}f}, {self.delta_high:+.{digits}f}]"


def _values(values: Mapping[str, float | None] | Sequence[float | None]) -> np.ndarray:
    items = values.values() if isinstance(values, Mapping) else values
    return np.array([float(v) for v in items if v is not None and not math.isnan(float(v))], dtype=float)


def mean_ci(
    values: Mapping[str, float | None] | Sequence[float | None],
    *,
    measure: str = "",
    ordering: str = "",
    confidence: float = CONFIDENCE,
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
) -> MeanCI:
    """Mean and a BCa bootstrap interval (``scipy.stats.bootstrap``) of the defined values."""
    data = _values(values)
    n = int(data.size)
    if n == 0:
        return MeanCI(measure, ordering, None, None, None, 0)
    mean = float(np.mean(data))
    if n < 2:
        return MeanCI(measure, ordering, mean, None, None, n)
    if np.all(data == data[0]):  # BCa is undefined without spread; the interval is the point itself
        return MeanCI(measure, ordering, mean, mean, mean, n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)  # handled below: percentile instead
        result = stats.bootstrap(
            (data,), np.mean, confidence_level=confidence, n_resamples=n_resamples, method="BCa",
            rng=np.random.default_rng(seed),
        )
    low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    if math.isnan(low) or math.isnan(high):  # degenerate resamples (e.g. one value differs): percentile
        result = stats.bootstrap(
            (data,), np.mean, confidence_level=confidence, n_resamples=n_resamples, method="percentile",
            rng=np.random.default_rng(seed),
        )
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    return MeanCI(measure, ordering, mean, low, high, n)


def _mean_delta(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.asarray(np.mean(x - y, axis=axis))


def sign_flip_p(deltas: np.ndarray) -> float:
    """Exact two-sided p-value of the paired randomization test of mean(deltas) = 0: every one of the 2^n sign
    flips of the paired differences (swapping a query's two values) is one outcome of the null distribution.
    p = 2 * min(P(null <= observed), P(null >= observed)), capped at 1 (scipy's definition). Sums that are equal
    mathematically can differ in the last bits, so ties are decided within 1e-12 of the largest |delta|."""
    d = np.asarray(deltas, dtype=np.float64)
    n = int(d.size)
    if n == 0 or n > EXACT_MAX_N:
        raise ValueError(f"exact enumeration needs 1..{EXACT_MAX_N} pairs (got {n})")
    observed = float(np.mean(d))
    tolerance = 1e-12 * float(np.max(np.abs(d)))
    total = 1 << n
    bits = np.arange(n, dtype=np.int64)
    below = above = 0
    chunk = 1 << min(n, 16)
    for start in range(0, total, chunk):
        flips = np.arange(start, min(total, start + chunk), dtype=np.int64)
        null = ((1 - 2 * ((flips[:, None] >> bits) & 1)) * d).mean(axis=1)
        below += int(np.count_nonzero(null <= observed + tolerance))
        above += int(np.count_nonzero(null >= observed - tolerance))
    return min(1.0, 2 * min(below, above) / total)


def paired_test(
    a: Mapping[str, float | None],
    b: Mapping[str, float | None],
    *,
    measure: str = "",
    a_name: str = "a",
    b_name: str = "b",
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
) -> PairedTest:
    """Paired randomization (sign-flip) test of the mean difference, two-sided — exact up to ``EXACT_MAX_N``
    queries, else ``permutation_test`` (``permutation_type="samples"``) with ``n_resamples`` — the paired t-test
    (``ttest_rel``) and the BCa bootstrap interval of the mean difference, of ``a`` against ``b`` on their
    common queries."""
    pairs = [(av, bv) for q, av in a.items() if av is not None and (bv := b.get(q)) is not None]
    x = np.asarray([float(av) for av, _ in pairs], dtype=np.float64)
    y = np.asarray([float(bv) for _, bv in pairs], dtype=np.float64)
    n = len(pairs)
    deltas = x - y
    wins, losses = int(np.sum(deltas > 0)), int(np.sum(deltas < 0))
    base = dict(
        measure=measure, a=a_name, b=b_name, n=n,
        mean_a=float(np.mean(x)) if n else math.nan, mean_b=float(np.mean(y)) if n else math.nan,
        mean_delta=float(np.mean(deltas)) if n else math.nan, wins=wins, ties=n - wins - losses, losses=losses,
    )
    if n < 2:
        return PairedTest(**base, t_statistic=None, t_p=None, randomization_p=None)  # type: ignore[arg-type]
    exact = n <= EXACT_MAX_N
    if np.all(deltas == 0):  # identical orderings: no evidence of any difference
        return PairedTest(**base, t_statistic=0.0, t_p=1.0, randomization_p=1.0, effect_size=0.0,  # type: ignore[arg-type]
                          delta_low=0.0, delta_high=0.0, randomization_exact=exact,
                          randomization_p_se=None if exact else 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # constant non-zero deltas: t = inf, p = 0 (reported)
        t = stats.ttest_rel(x, y)
    if exact:
        p, se = sign_flip_p(deltas), None
    else:
        perm = stats.permutation_test(
            (x, y), _mean_delta, permutation_type="samples", vectorized=True, n_resamples=n_resamples,
            alternative="two-sided", rng=np.random.default_rng(seed),
        )
        p = float(perm.pvalue)
        se = math.sqrt(p * (1 - p) / n_resamples)  # binomial standard error of a Monte Carlo p-value
    interval = mean_ci(deltas.tolist(), n_resamples=n_resamples, seed=seed)
    sd = float(np.std(deltas, ddof=1))
    effect = float(np.mean(deltas)) / sd if sd > 0 else None
    t_stat, t_p = float(t.statistic), float(t.pvalue)
    return PairedTest(
        **base,  # type: ignore[arg-type]
        t_statistic=None if math.isnan(t_stat) else t_stat,
        t_p=None if math.isnan(t_p) else t_p,
        randomization_p=p,
        effect_size=effect,
        delta_low=interval.low,
        delta_high=interval.high,
        randomization_exact=exact,
        randomization_p_se=se,
    )


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment (``statsmodels`` ``multipletests(method="holm")``). None (no test) stays None
    and does not count towards the family size."""
    present = [(i, p) for i, p in enumerate(pvalues) if p is not None]
    adjusted: list[float | None] = [None] * len(pvalues)
    if present:
        corrected = multipletests([p for _, p in present], method="holm")[1]
        for (i, _), value in zip(present, corrected, strict=True):
            adjusted[i] = float(value)
    return adjusted


def holm_family(tests: Sequence[PairedTest]) -> list[PairedTest]:
    """``tests`` with their t-test and randomization p-values Holm-adjusted over all of them as one family."""
    t_adj = holm([t.t_p for t in tests])
    r_adj = holm([t.randomization_p for t in tests])
    return [replace(t, t_p_holm=tp, randomization_p_holm=rp) for t, tp, rp in zip(tests, t_adj, r_adj, strict=True)]


def pair_tests(
    per_query: Mapping[str, Mapping[str, float | None]],
    *,
    baseline: str,
    measure: str,
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
) -> list[PairedTest]:
    """Every ordering against ``baseline``, then every pair of non-baseline orderings, on one measure
    (unadjusted: see ``holm_family``). ``per_query``: ordering -> query id -> value."""
    others = [name for name in per_query if name != baseline]
    pairs = [(name, baseline) for name in others] + list(combinations(others, 2))
    return [
        paired_test(per_query[a], per_query[b], measure=measure, a_name=a, b_name=b,
                    n_resamples=n_resamples, seed=seed)
        for a, b in pairs
    ]


def compare_orderings(
    per_query: Mapping[str, Mapping[str, float | None]],
    *,
    baseline: str,
    measure: str,
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
) -> list[PairedTest]:
    """``pair_tests`` Holm-adjusted over the tests returned (for each of the two tests separately)."""
    return holm_family(pair_tests(per_query, baseline=baseline, measure=measure, n_resamples=n_resamples, seed=seed))


def methods_text(*, alpha: float = ALPHA, n_resamples: int = N_RESAMPLES, seed: int = SEED,
                 family: str = "the tests of each measure shown together", relevance: str = "") -> str:
    """The methods line of every report: what decides each interval, p-value and verdict."""
    return (
        f"Methods: means and mean paired differences with {CONFIDENCE:.0%} BCa bootstrap intervals "
        f"(scipy.stats.bootstrap, {n_resamples:,} resamples, seed {seed}); two-sided paired randomization "
        f"(sign-flip) test of the mean difference, exact over all 2^n sign flips for n ≤ {EXACT_MAX_N} paired "
        f"queries, otherwise {n_resamples:,} Monte Carlo flips (seed {seed}) with the p-value's standard error; "
        f"two-sided paired t-test (scipy.stats.ttest_rel); Holm's correction (statsmodels) over {family}; "
        f"significant means Holm-adjusted randomization p < α = {check_alpha(alpha):g}."
        + (f" {relevance}" if relevance else "")
    )
