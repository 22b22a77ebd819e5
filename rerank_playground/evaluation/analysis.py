"""A saved run turned into the figures every screen shows: per ordering means with CIs, paired tests, cost, the
per-query table, and the diff of two runs. The Runs page, the HTML report and the CLI all call ``summarise``, so
one run gives the same numbers everywhere."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import pandas as pd

from rerank_playground.evaluation import runs
from rerank_playground.evaluation.batch_plan import BASELINE, RunPlan, plan_from_record, setting_label
from rerank_playground.evaluation.judgments import relevance_note
from rerank_playground.evaluation.metrics import relevance_level_of
from rerank_playground.evaluation.stats import (
    ALPHA,
    N_RESAMPLES,
    SEED,
    MeanCI,
    PairedTest,
    check_alpha,
    holm_family,
    mean_ci,
    methods_text,
    pair_tests,
    paired_test,
)
from rerank_playground.store import Store


@dataclass(frozen=True)
class OrderingCost:
    ordering: str
    queries: int  # orderings computed (done)
    failed: int
    mean_latency_ms: float | None  # to get this ordering: the search, plus the rerank call for a reranker
    mean_rerank_ms: float | None  # the rerank call alone (cached: the original call's); None for the baseline
    mean_tokens: float | None  # per query; None when the provider reports none (local, Weaviate module)
    total_tokens: int
    cached: int  # answered from the rerank cache


@dataclass(frozen=True)
class SettingSummary:
    setting: int
    label: str  # names everything that differs between settings: mode, α, K and the text the rerankers read
    orderings: tuple[str, ...]
    cis: tuple[MeanCI, ...]  # per ordering and measure
    tests: tuple[PairedTest, ...]  # per measure (Judged@k excluded): each reranker vs baseline, then pairs;
    # Holm-adjusted over every setting's tests of that measure (the run's family, see RunSummary.family)
    costs: tuple[OrderingCost, ...]
    values: Mapping[str, Mapping[str, Mapping[str, float]]] = field(hash=False)  # ordering -> query -> measure -> v
    queries: Mapping[str, str] = field(hash=False)  # query id -> text
    failures: tuple[runs.QueryResult, ...] = ()

    def ci(self, ordering: str, measure: str) -> MeanCI:
        return next(c for c in self.cis if c.ordering == ordering and c.measure == measure)

    def per_measure(self, measure: str) -> dict[str, dict[str, float | None]]:
        """ordering -> query id -> value of ``measure`` (queries without a done row are absent)."""
        return {o: {q: m.get(measure) for q, m in self.values.get(o, {}).items()} for o in self.orderings}


@dataclass(frozen=True)
class RunSummary:
    record: runs.RunRecord
    plan: RunPlan
    measures: tuple[str, ...]
    settings: tuple[SettingSummary, ...]
    expected: int  # orderings the plan asks for
    saved: int  # rows saved (done or failed)
    n_resamples: int = N_RESAMPLES

    @property
    def primary(self) -> str:
        return self.measures[0]  # nDCG@k

    @property
    def complete(self) -> bool:
        return self.saved >= self.expected

    def worse_than_baseline(self, alpha: float = ALPHA, measure: str | None = None) -> list[PairedTest]:
        """Rerankers significantly worse than the baseline (Holm-adjusted randomization test) on ``measure``."""
        return [v.test for v in self.verdicts(alpha, measure) if v.test.significantly_worse(alpha)]

    def verdicts(self, alpha: float = ALPHA, measure: str | None = None) -> list[Verdict]:
        """One verdict per setting and reranker against the baseline on ``measure`` (default: the primary)."""
        check_alpha(alpha)
        measure = measure or self.primary
        return [Verdict(setting.label, t, alpha) for setting in self.settings for t in setting.tests
                if t.measure == measure and t.b == BASELINE]

    @property
    def relevance_level(self) -> int | None:
        return relevance_level_of(self.measures)

    @property
    def family(self) -> str:
        """What Holm's correction corrects over, in words."""
        per_setting = max((sum(1 for t in s.tests if t.measure == self.primary) for s in self.settings), default=0)
        total = per_setting * len(self.settings)
        settings = len(self.settings)
        where = f"each of the {settings} settings" if settings > 1 else "its one setting"
        return (f"the {total} test{'s' if total != 1 else ''} of each measure in this run (each reranker against "
                f"{BASELINE} and each pair of rerankers, in {where}; each measure is its own family)")

    def methods(self, alpha: float = ALPHA) -> str:
        level = self.relevance_level
        return methods_text(alpha=alpha, n_resamples=self.n_resamples, seed=SEED, family=self.family,
                            relevance=relevance_note(level) if level is not None else "")


@dataclass(frozen=True)
class Verdict:
    """One setting's reranker against the baseline, in words that name the setting and carry the paired CI."""

    setting: str
    test: PairedTest
    alpha: float

    @property
    def kind(self) -> str:
        """"better", "worse", "no significant difference" or "untested" (fewer than two paired queries)."""
        if self.test.p is None:
            return "untested"
        if self.test.significantly_better(self.alpha):
            return "better"
        if self.test.significantly_worse(self.alpha):
            return "worse"
        return "no significant difference"

    @property
    def title(self) -> str:
        return f"{self.test.a} · {self.setting}"

    @property
    def text(self) -> str:
        t = self.test
        head = {"better": f"significantly better than {t.b}", "worse": f"significantly worse than {t.b}",
                "no significant difference": f"no significant difference from {t.b}",
                "untested": f"not tested against {t.b} (fewer than two paired queries)"}[self.kind]
        if self.kind == "untested":
            return f"{self.title}: {head}."
        p = t.p
        kind = "exact" if t.randomization_exact else f"Monte Carlo ± {t.randomization_p_se:.2g}"
        return (f"{self.title}: {head} on {t.measure} at α = {self.alpha:g}. Mean paired difference "
                f"{t.mean_delta:+.3f}, 95% CI {t.delta_interval()}; Holm-adjusted paired randomization p = "
                f"{p:.3g} ({kind}); {t.wins} better, {t.ties} tied, {t.losses} worse of {t.n} queries.")


def summarise(record: runs.RunRecord, results: Sequence[runs.QueryResult], *,
              n_resamples: int = N_RESAMPLES) -> RunSummary:
    plan = plan_from_record(record)
    measures = tuple(record.plan["measures"])
    tested = [m for m in measures if not m.startswith("Judged@")]
    queries = {q.query_id: q.text for q in plan.query_set.queries if q.query_id in record.qrels}
    summaries = []
    labels = setting_labels(plan)
    for index in range(len(plan.settings)):
        rows = [r for r in results if r.setting == index]
        values: dict[str, dict[str, dict[str, float]]] = {o: {} for o in plan.orderings}
        for r in rows:
            if r.status == "done" and r.ordering in values:
                values[r.ordering][r.query_id] = dict(r.metrics)
        search_ms = {r.query_id: r.latency_ms for r in rows
                     if r.ordering == BASELINE and r.status == "done" and r.latency_ms is not None}
        cis = tuple(
            mean_ci({q: m.get(measure) for q, m in values[o].items()}, measure=measure, ordering=o,
                    n_resamples=n_resamples)
            for o in plan.orderings for measure in measures
        )
        tests: list[PairedTest] = []
        for measure in tested:
            per = {o: {q: m.get(measure) for q, m in values[o].items()} for o in plan.orderings}
            tests.extend(pair_tests(per, baseline=BASELINE, measure=measure, n_resamples=n_resamples))
        summaries.append(SettingSummary(
            setting=index, label=labels[index], orderings=plan.orderings, cis=cis, tests=tuple(tests),
            costs=tuple(_cost(o, [r for r in rows if r.ordering == o], search_ms) for o in plan.orderings),
            values=values, queries=queries, failures=tuple(r for r in rows if r.status == "failed"),
        ))
    summaries = _holm_over_run(summaries, tested)
    expected = len(plan.settings) * len(queries) * len(plan.orderings)
    return RunSummary(record, plan, measures, tuple(summaries), expected, len(results), n_resamples)


def _holm_over_run(summaries: list[SettingSummary], measures: Sequence[str]) -> list[SettingSummary]:
    """Holm over the whole family of a measure: every test of it in every setting of the grid (a grid of settings
    is many chances to find a difference, so the correction spans them all)."""
    adjusted: dict[tuple[int, int], PairedTest] = {}
    for measure in measures:
        family = [(s.setting, i, t) for s in summaries for i, t in enumerate(s.tests) if t.measure == measure]
        for (setting, i, _), test in zip(family, holm_family([t for _, _, t in family]), strict=True):
            adjusted[(setting, i)] = test
    return [replace(s, tests=tuple(adjusted[(s.setting, i)] for i in range(len(s.tests)))) for s in summaries]


def setting_labels(plan: RunPlan) -> list[str]:
    """Each setting's name: mode, α and K, plus the text property the rerankers read."""
    labels = [setting_label(setting) for setting in plan.settings]
    return [label + (f" · reranks {setting.text_property!r}" if setting.text_property
                     and setting.text_property not in label else "")
            for setting, label in zip(plan.settings, labels, strict=True)]


def load_summary(store: Store, run_id: str, *, n_resamples: int = N_RESAMPLES) -> RunSummary:
    """``summarise`` of a stored run."""
    return summarise(store.get_run(run_id), store.load_results(run_id), n_resamples=n_resamples)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _cost(ordering: str, rows: Sequence[runs.QueryResult], search_ms: Mapping[str, float]) -> OrderingCost:
    done = [r for r in rows if r.status == "done"]
    own = [r.latency_ms for r in done if r.latency_ms is not None]
    tokens = [r.tokens for r in done if r.tokens is not None]
    if ordering == BASELINE:
        total, rerank = own, []
    else:  # what it takes to get the reranked list: the search, then the rerank call
        total = [search_ms[r.query_id] + r.latency_ms for r in done
                 if r.latency_ms is not None and r.query_id in search_ms]
        rerank = own
    return OrderingCost(
        ordering=ordering, queries=len(done), failed=len(rows) - len(done),
        mean_latency_ms=_mean(total), mean_rerank_ms=_mean(rerank),
        mean_tokens=sum(tokens) / len(tokens) if tokens else None,
        total_tokens=sum(r.tokens for r in done if r.tokens and not r.cached),
        cached=sum(1 for r in done if r.cached),
    )


# ------------------------------------------------------------------------------------------------ tables


def metrics_table(summary: SettingSummary) -> pd.DataFrame:
    """One row per ordering: each measure as mean [low, high] columns, then cost. Same numbers as the report."""
    rows = []
    for ordering in summary.orderings:
        row: dict[str, object] = {"ordering": ordering}
        for ci in (c for c in summary.cis if c.ordering == ordering):
            row[ci.measure] = ci.mean
            row[f"{ci.measure} 95% CI"] = _interval(ci)
        cost = next(c for c in summary.costs if c.ordering == ordering)
        row.update({"queries": cost.queries, "failed": cost.failed,
                    "mean latency (ms, search + rerank)": cost.mean_latency_ms, "mean rerank (ms)": cost.mean_rerank_ms,
                    "mean tokens / query": cost.mean_tokens, "tokens spent": cost.total_tokens,
                    "from cache": cost.cached})
        rows.append(row)
    return pd.DataFrame(rows)


def tests_table(summary: SettingSummary) -> pd.DataFrame:
    """One row per paired test: the mean paired difference with its own 95% CI beside every p-value."""
    return pd.DataFrame([
        {"measure": t.measure, "ordering": t.a, "against": t.b, "queries paired": t.n, "mean delta": t.mean_delta,
         "mean delta 95% CI": t.delta_interval(), "wins": t.wins, "ties": t.ties, "losses": t.losses,
         "randomization p": t.randomization_p, "randomization p (Holm)": t.randomization_p_holm,
         "randomization test": _test_kind(t), "t-test p": t.t_p, "t-test p (Holm)": t.t_p_holm,
         "effect size (d_z)": t.effect_size}
        for t in summary.tests
    ])


def _test_kind(t: PairedTest) -> str:
    if t.randomization_p is None:
        return "n/a"
    if t.randomization_exact:
        return f"exact (2^{t.n} sign flips)"
    return f"Monte Carlo, p ± {t.randomization_p_se:.2g}"


def per_query_table(summary: SettingSummary, measure: str) -> pd.DataFrame:
    """One row per query: the measure per ordering and each reranker's delta against the baseline."""
    per = summary.per_measure(measure)
    rows = []
    for qid, text in summary.queries.items():
        row: dict[str, object] = {"query_id": qid, "query": text}
        base = per.get(BASELINE, {}).get(qid)
        for ordering in summary.orderings:
            value = per[ordering].get(qid)
            row[ordering] = value
            if ordering != BASELINE:
                row[f"Δ {ordering}"] = None if value is None or base is None else value - base
        rows.append(row)
    return pd.DataFrame(rows)


def _interval(ci: MeanCI) -> str:
    if ci.low is None or ci.high is None:
        return "n/a"
    return f"[{ci.low:.3f}, {ci.high:.3f}]"


# --------------------------------------------------------------------------------------------------- diffs


@dataclass(frozen=True)
class RunDiff:
    measure: str
    a: str  # "run name · ordering"
    b: str
    table: pd.DataFrame = field(hash=False, compare=False)  # query_id, query, a, b, delta (a - b), sorted by delta
    better: int
    worse: int
    same: int
    test: PairedTest


def diff_runs(a: RunSummary, b: RunSummary, *, measure: str | None = None, ordering_a: str = BASELINE,
              ordering_b: str = BASELINE, setting_a: int = 0, setting_b: int = 0) -> RunDiff:
    """Per-query deltas of one ordering of run ``a`` against one of run ``b`` (queries matched by query id and
    text; across days, settings or collections alike). Positive delta: ``a`` is better on that query."""
    measure = measure or a.primary
    va = a.settings[setting_a].per_measure(measure)[ordering_a]
    vb = b.settings[setting_b].per_measure(measure)[ordering_b]
    texts = {**b.settings[setting_b].queries, **a.settings[setting_a].queries}
    rows = []
    for qid in sorted(set(va) | set(vb)):
        x, y = va.get(qid), vb.get(qid)
        rows.append({"query_id": qid, "query": texts.get(qid, ""), "a": x, "b": y,
                     "delta": None if x is None or y is None else x - y})
    table = pd.DataFrame(rows, columns=["query_id", "query", "a", "b", "delta"])
    if not table.empty:
        table = table.sort_values("delta", na_position="last", kind="stable").reset_index(drop=True)
    deltas = [d for d in table["delta"] if d is not None and not (isinstance(d, float) and math.isnan(d))]
    name_a = f"{a.record.name} · {ordering_a}"
    name_b = f"{b.record.name} · {ordering_b}"
    test = paired_test(va, vb, measure=measure, a_name=name_a, b_name=name_b)
    return RunDiff(measure, name_a, name_b, table, better=sum(d > 0 for d in deltas),
                   worse=sum(d < 0 for d in deltas), same=sum(d == 0 for d in deltas), test=test)


# ------------------------------------------------------------------------------------------- depth sweep


@dataclass(frozen=True)
class DepthPoint:
    k: int  # candidates retrieved (and reranked)
    ordering: str
    mean: float | None  # of the run's primary measure (nDCG@k)
    low: float | None
    high: float | None
    mean_latency_ms: float | None
    mean_tokens: float | None


@dataclass(frozen=True)
class DepthSweep:
    measure: str
    points: tuple[DepthPoint, ...]
    knee: Mapping[str, int | None] = field(hash=False)  # ordering -> the K where more candidates stop paying


def depth_sweep(summary: RunSummary, *, tolerance: float = 0.01) -> DepthSweep | None:
    """For a run whose settings differ only in K: the primary measure, latency and tokens per K and ordering, and
    the knee: the smallest K whose mean is within ``tolerance`` of the best mean over all K (beyond it, more
    candidates buy at most ``tolerance``). None when the run is not a depth sweep."""
    settings = summary.plan.settings
    if len(settings) < 2 or len({(s.mode, s.alpha, s.fusion, s.properties) for s in settings}) != 1:
        return None
    points = []
    for index, setting in enumerate(settings):
        for ordering in summary.settings[index].orderings:
            ci = summary.settings[index].ci(ordering, summary.primary)
            cost = next(c for c in summary.settings[index].costs if c.ordering == ordering)
            points.append(DepthPoint(setting.limit, ordering, ci.mean, ci.low, ci.high, cost.mean_latency_ms,
                                     cost.mean_tokens))
    knee: dict[str, int | None] = {}
    for ordering in summary.plan.orderings:
        mine = sorted((p for p in points if p.ordering == ordering and p.mean is not None), key=lambda p: p.k)
        best = max((p.mean for p in mine if p.mean is not None), default=None)
        knee[ordering] = None if best is None else next(p.k for p in mine if p.mean is not None
                                                        and p.mean >= best - tolerance)
    return DepthSweep(summary.primary, tuple(points), knee)
