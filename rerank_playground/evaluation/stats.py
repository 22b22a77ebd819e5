"""Statistics over per-query metric values: bootstrap confidence intervals and paired significance tests.

Everything goes through scipy (``bootstrap``, ``permutation_test``, ``ttest_rel``); only the Holm step-down
correction (six lines, no maintained implementation in the dependencies) is written here. Inputs are plain
mappings query id -> value, so the UI, the CLI and the tests compute the same figures from the same run.

Pairing: two orderings are compared on the queries where both have a value (a failed query, or a metric that is
undefined for it, drops out of that comparison only); ``n`` says how many were paired.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
N_RESAMPLES = 9999
SEED = 20261130  # fixed, so the same run gives the same intervals and p-values everywhere


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

    ``effect_size`` is Cohen's d_z (mean delta / standard deviation of the deltas), None when the deltas do
    not vary. ``*_p_holm`` are Holm-adjusted over the family the test was run in (see ``compare_orderings``).
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

    def significantly_worse(self, alpha: float = 0.05) -> bool:
        """``a`` is worse than ``b`` and the Holm-adjusted randomization test says so at ``alpha``."""
        p = self.randomization_p_holm if self.randomization_p_holm is not None else self.randomization_p
        return p is not None and p < alpha and self.mean_delta < 0


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
    """Paired randomization test (``permutation_test``, ``permutation_type="samples"``, statistic: mean
    difference, two-sided) and paired t-test (``ttest_rel``) of ``a`` against ``b`` on their common queries."""
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
    if np.all(deltas == 0):  # identical orderings: no evidence of any difference
        return PairedTest(**base, t_statistic=0.0, t_p=1.0, randomization_p=1.0, effect_size=0.0)  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # constant non-zero deltas: t = inf, p = 0 (reported)
        t = stats.ttest_rel(x, y)
    perm = stats.permutation_test(
        (x, y), _mean_delta, permutation_type="samples", vectorized=True, n_resamples=n_resamples,
        alternative="two-sided", rng=np.random.default_rng(seed),
    )
    sd = float(np.std(deltas, ddof=1))
    effect = float(np.mean(deltas)) / sd if sd > 0 else None
    t_stat, t_p = float(t.statistic), float(t.pvalue)
    return PairedTest(
        **base,  # type: ignore[arg-type]
        t_statistic=None if math.isnan(t_stat) else t_stat,
        t_p=None if math.isnan(t_p) else t_p,
        randomization_p=float(perm.pvalue),
        effect_size=effect,
    )


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment: sort ascending, multiply the i-th smallest (0-based) by (m - i), keep the
    running maximum, cap at 1. None (no test) stays None and does not count towards m."""
    indexed = sorted(((p, i) for i, p in enumerate(pvalues) if p is not None), key=lambda pi: pi[0])
    m = len(indexed)
    adjusted: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def compare_orderings(
    per_query: Mapping[str, Mapping[str, float | None]],
    *,
    baseline: str,
    measure: str,
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
) -> list[PairedTest]:
    """Every ordering against ``baseline`` and every pair of non-baseline orderings, on one measure.

    ``per_query``: ordering -> query id -> value. The family for Holm's correction is all the tests returned
    (for each of the two tests separately)."""
    others = [name for name in per_query if name != baseline]
    pairs = [(name, baseline) for name in others] + list(combinations(others, 2))
    tests = [
        paired_test(per_query[a], per_query[b], measure=measure, a_name=a, b_name=b,
                    n_resamples=n_resamples, seed=seed)
        for a, b in pairs
    ]
    t_adj = holm([t.t_p for t in tests])
    r_adj = holm([t.randomization_p for t in tests])
    return [
        PairedTest(**{**t.__dict__, "t_p_holm": tp, "randomization_p_holm": rp})
        for t, tp, rp in zip(tests, t_adj, r_adj, strict=True)
    ]
