"""Where to cut a reranked list, chosen from judgments: score thresholds, "rerank N, return k", relative cuts.

Weaviate cannot cut on rerank scores (its autocut runs on first-stage distances before the reranker, and ``Rerank``
has no limit of its own), so the application asks for ``limit=N`` with rerank and cuts in the client. This module
answers *where*, with evidence from a judged batch run (pure: stored rankings and qrels in, numbers out).

Three families of cut, each applied to one query's list (best first, as the reranker sorted it):

- **score threshold t**: keep documents from the top while their score is ``>= t`` (a tie at t is kept);
- **top k** ("rerank N, return k"): keep the first ``k``;
- **relative drop f** (autocut-like): scale the list's scores to [0, 1] (lowest → 0, top → 1) and stop at the first
  drop between neighbours larger than ``f``; ``f = 1`` keeps everything. Scaling per list makes ``f`` mean the same
  for models whose scores live on different ranges.

What a cut returns is measured per query and averaged over the judged queries:

- ``returned``: objects kept (what the application receives);
- ``precision``: judged-relevant / distinct documents kept (trec_eval's set_P; 0 when nothing is kept);
- ``recall``: judged-relevant kept / judged-relevant for the query (undefined without any: left out of the mean);
- ``ndcg``: nDCG@k (the run's metric depth) of the kept list (undefined without a relevant document);
- ``judged``: share of the kept documents that are judged (unjudged counts as not relevant above).

"Relevant" is grade ``>= relevant_from`` (1 by default, as trec_eval and the rest of the app); nDCG uses the grade as
gain. A document id that repeats (passages of one article) counts once, at its first rank, as in ``metrics``.

Every cut of a family that behaves differently on the run is tried (thresholds: one between each pair of distinct
scores of the run; relative: one between each pair of distinct drops; top k: 1..N), each with a short decimal value
that falls strictly between two observed scores, so float noise in a client cannot flip a document. The best cut
under the user's constraints is the one with the best objective; its means carry bootstrap CIs over queries
(``stats.mean_ci``: scipy's bootstrap). It is chosen on the same queries, so it is a little optimistic on new ones.

Calibration: judged documents binned by score (equal-count bins) against the share judged relevant, with counts and
Wilson intervals (statsmodels ``proportion_confint``, else scipy's ``binomtest(...).proportion_ci``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from rerank_playground.errors import InvalidInput
from rerank_playground.evaluation import runs
from rerank_playground.evaluation.batch_plan import plan_from_record, setting_label
from rerank_playground.evaluation.stats import CONFIDENCE, N_RESAMPLES, SEED, MeanCI, mean_ci

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

KINDS: Final = ("threshold", "top_k", "relative")
KIND_LABELS: Final = {"threshold": "score threshold", "top_k": "top k after reranking N",
                      "relative": "relative score drop"}
METRICS: Final = ("ndcg", "precision", "recall", "returned", "judged")
_ALIASES: Final = {"ndcg": "ndcg", "p": "precision", "precision": "precision", "r": "recall", "recall": "recall",
                   "returned": "returned", "n": "returned", "k": "returned", "count": "returned"}
OBJECTIVES: Final = ("max-ndcg", "max-recall", "max-precision", "min-returned")
SCALE_NOTE: Final = ("Scores of different models are not on one scale: a threshold of one model means nothing for "
                     "another, so compare shapes, not values.")


# ------------------------------------------------------------------------------------------------ the cut


@dataclass(frozen=True)
class Cut:
    """One cut: ``kind`` in KINDS and its value (threshold t, k, or fraction f)."""

    kind: str
    value: float

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidInput(f"Unknown cut {self.kind!r}.", hint="Use threshold, top_k or relative.")
        if not math.isfinite(self.value):
            raise InvalidInput(f"A cut needs a finite value (got {self.value!r}).")
        if self.kind == "top_k" and (self.value < 1 or self.value != int(self.value)):
            raise InvalidInput(f"k must be a whole number of at least 1 (got {self.value:g}).")
        if self.kind == "relative" and not 0.0 <= self.value <= 1.0:
            raise InvalidInput(f"A relative cut is a fraction from 0 to 1 (got {self.value:g}).")

    def kept(self, scores: Sequence[float]) -> int:
        """How many documents of a list (best first) this cut keeps."""
        array = np.asarray(scores, dtype=np.float64)
        return int(_kept(self.kind, array, np.asarray([self.value]))[0])

    @property
    def label(self) -> str:
        if self.kind == "threshold":
            return f"score ≥ {self.value:.6g}"
        if self.kind == "top_k":
            return f"top {int(self.value)}"
        return f"stop at a drop > {self.value:.4g} of the list's score range"

    def to_dict(self) -> dict[str, float | str]:
        return {"kind": self.kind, "value": float(self.value)}

    @classmethod
    def from_dict(cls, raw: object) -> Cut:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("kind"), str):
            raise InvalidInput('A cut is {"kind": threshold|top_k|relative, "value": number}.')
        value = raw.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(f'A cut\'s "value" must be a number, not {value!r}.')
        return cls(str(raw["kind"]), float(value))


def _kept(kind: str, scores: FloatArray, values: FloatArray) -> IntArray:
    """Documents kept from one list (best first) for each cut value of ``kind``."""
    n = len(scores)
    if n == 0:
        return np.zeros(len(values), dtype=np.int64)
    if kind == "top_k":
        return np.minimum(values.astype(np.int64), n)
    if kind == "threshold":
        # "from the top while score >= t" = how many running minima are >= t (running minima never increase)
        running_min = np.minimum.accumulate(scores)
        return np.searchsorted(-running_min, -values, side="right").astype(np.int64)
    drops = _scaled_drops(scores)
    if len(drops) == 0:
        return np.ones(len(values), dtype=np.int64)
    running_max = np.maximum.accumulate(drops)  # the first drop > f is where the running maximum first passes f
    return (np.searchsorted(running_max, values, side="right") + 1).astype(np.int64)


def _scaled_drops(scores: FloatArray) -> FloatArray:
    """Drops between neighbours with the list's scores scaled to [0, 1] (a flat list has no drop)."""
    span = float(np.max(scores) - np.min(scores)) if len(scores) else 0.0
    if len(scores) < 2 or span <= 0:
        return np.zeros(max(0, len(scores) - 1))
    scaled = (scores - np.min(scores)) / span
    # rounded, so one drop seen in two lists (2/7 computed from different scales) is one value, not two
    return np.asarray(np.round(scaled[:-1] - scaled[1:], 12), dtype=np.float64)


# ------------------------------------------------------------------------------------------------ the data


@dataclass(frozen=True)
class QueryList:
    """One query's reranked list (doc id, score; best first) and its judgments."""

    query_id: str
    ranking: tuple[tuple[str, float], ...]
    grades: Mapping[str, int] = field(hash=False, compare=False)

    @property
    def scores(self) -> FloatArray:
        return np.asarray([s for _, s in self.ranking], dtype=np.float64)


@dataclass(frozen=True)
class ModelLists:
    """Every judged query's list of one ordering (a model) under one search setting of a run."""

    ordering: str
    setting: int
    setting_label: str
    candidates: int  # N: candidates retrieved and reranked
    k: int  # metric depth of nDCG@k
    queries: tuple[QueryList, ...]


def model_lists(record: runs.RunRecord, results: Sequence[runs.QueryResult]) -> tuple[list[ModelLists], list[str]]:
    """The run's (setting, ordering) lists that carry scores for every document, and a note per ordering left out
    (no score stored, e.g. a provider that reports none)."""
    plan = plan_from_record(record)
    grouped: dict[tuple[int, str], list[QueryList]] = {}
    missing: dict[tuple[int, str], int] = {}
    for r in results:
        if r.status != "done" or not record.qrels.get(r.query_id):
            continue
        key = (r.setting, r.ordering)
        if any(score is None or not math.isfinite(score) for _, score in r.ranking):
            missing[key] = missing.get(key, 0) + 1
            continue
        ranking = tuple((doc, float(score)) for doc, score in r.ranking if score is not None)
        grouped.setdefault(key, []).append(QueryList(r.query_id, ranking, record.qrels[r.query_id]))
    out, notes = [], []
    for (setting, ordering), lists in sorted(grouped.items()):
        if (setting, ordering) in missing:
            continue
        label = setting_label(plan.settings[setting]) if setting < len(plan.settings) else f"setting {setting}"
        out.append(ModelLists(ordering, setting, label, plan.settings[setting].limit, plan.k, tuple(lists)))
    for ordering in sorted({o for _, o in missing}):
        notes.append(f"{ordering}: some rankings have no scores stored, so it cannot be cut by score.")
    return out, notes


def find_lists(available: Sequence[ModelLists], model: str | None, setting: int | None = None) -> ModelLists:
    """The lists of ``model`` (an ordering label, or a part of one, case-insensitive) under ``setting``."""
    pool = [m for m in available if setting is None or m.setting == setting]
    if not pool:
        raise InvalidInput("This run has no ranking with scores to cut" +
                           (f" under setting {setting}." if setting is not None else "."))
    names = list(dict.fromkeys(m.ordering for m in pool))
    if model is None:
        reranked = [n for n in names if n != "no rerank"]
        if len(reranked) != 1:
            raise InvalidInput("Choose a model: --model NAME.", hint="This run has: " + "; ".join(names) + ".")
        model = reranked[0]
    wanted = model.strip().casefold()
    matches = [n for n in names if n.casefold() == wanted] or [n for n in names if wanted in n.casefold()]
    if len(matches) != 1:
        what = "matches several orderings" if matches else "is not an ordering of this run"
        raise InvalidInput(f"The model {model!r} {what}.", hint="This run has: " + "; ".join(names) + ".")
    return next(m for m in pool if m.ordering == matches[0])


# ------------------------------------------------------------------------------------------------ metrics


@dataclass(frozen=True)
class _Prefix:
    """Metric values of one query's list cut after m = 0..n documents (index m); NaN where undefined."""

    ndcg: FloatArray
    precision: FloatArray
    recall: FloatArray
    returned: FloatArray
    judged: FloatArray


def _prefix(query: QueryList, k: int, relevant_from: int) -> _Prefix:
    docs = [doc for doc, _ in query.ranking]
    n = len(docs)
    seen: set[str] = set()
    first = np.zeros(n, dtype=bool)
    for i, doc in enumerate(docs):
        if doc not in seen:
            seen.add(doc)
            first[i] = True
    grades = query.grades
    gain = np.asarray([max(0, grades.get(d, 0)) if first[i] else 0 for i, d in enumerate(docs)], dtype=np.float64)
    relevant = np.asarray([first[i] and grades.get(d, 0) >= relevant_from for i, d in enumerate(docs)], dtype=float)
    judged = np.asarray([first[i] and d in grades for i, d in enumerate(docs)], dtype=np.float64)
    distinct = np.concatenate([[0.0], np.cumsum(first)])
    rel = np.concatenate([[0.0], np.cumsum(relevant)])
    jud = np.concatenate([[0.0], np.cumsum(judged)])
    total_relevant = sum(1 for g in grades.values() if g >= relevant_from)
    rank = np.cumsum(first)  # rank of each distinct document (1-based)
    discounted = np.where(first & (rank <= k), gain / np.log2(rank + 1.0), 0.0)
    dcg = np.concatenate([[0.0], np.cumsum(discounted)])
    ideal_gains = sorted((max(0, g) for g in grades.values()), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal_gains))
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(distinct > 0, rel / np.maximum(distinct, 1), 0.0)
        judged_share = np.where(distinct > 0, jud / np.maximum(distinct, 1), np.nan)
    recall = rel / total_relevant if total_relevant else np.full(n + 1, np.nan)
    ndcg = dcg / idcg if idcg > 0 else np.full(n + 1, np.nan)
    return _Prefix(ndcg, precision, recall, np.arange(n + 1, dtype=np.float64), judged_share)


@dataclass(frozen=True)
class CutPoint:
    """The means over queries of what one cut returns (None where no query defines the metric)."""

    cut: Cut
    ndcg: float | None
    precision: float | None
    recall: float | None
    returned: float | None
    judged: float | None

    def get(self, metric: str) -> float | None:
        value: float | None = getattr(self, metric)
        return value


@dataclass(frozen=True)
class CutCurve:
    """One family's cuts on one model's lists, ordered by the cut's value."""

    kind: str
    points: tuple[CutPoint, ...]


class _Table:
    """Per-query prefix metrics of one ModelLists, and the cut grid of each family (computed once)."""

    def __init__(self, lists: ModelLists, relevant_from: int) -> None:
        self.lists = lists
        self.prefixes = [_prefix(q, lists.k, relevant_from) for q in lists.queries]
        self.scores = [q.scores for q in lists.queries]

    def kept(self, kind: str, values: FloatArray) -> IntArray:
        """queries x values: documents kept."""
        if not self.scores:
            return np.zeros((0, len(values)), dtype=np.int64)
        return np.vstack([_kept(kind, s, values) for s in self.scores])

    def values(self, metric: str, kept: IntArray) -> FloatArray:
        """queries x values: the metric of each query's cut list."""
        rows = [getattr(p, metric)[kept[i]] for i, p in enumerate(self.prefixes)]
        return np.vstack(rows) if rows else np.zeros((0, kept.shape[1]))

    def grid(self, kind: str) -> FloatArray:
        if kind == "top_k":
            longest = max((len(s) for s in self.scores), default=0)
            return np.arange(1, max(longest, 1) + 1, dtype=np.float64)
        if kind == "threshold":
            return threshold_grid(self.scores)
        return relative_grid(self.scores)


def _mean(matrix: FloatArray) -> list[float | None]:
    out: list[float | None] = []
    for column in matrix.T:
        defined = column[~np.isnan(column)]
        out.append(float(np.mean(defined)) if defined.size else None)
    return out


def cut_curve(lists: ModelLists, kind: str, *, relevant_from: int = 1) -> CutCurve:
    """The means of every metric for every cut of ``kind`` that behaves differently on these lists."""
    return _curves(_Table(lists, relevant_from), (kind,))[kind]


def cut_curves(lists: ModelLists, *, relevant_from: int = 1) -> dict[str, CutCurve]:
    return _curves(_Table(lists, relevant_from), KINDS)


def _curves(table: _Table, kinds: Sequence[str]) -> dict[str, CutCurve]:
    out = {}
    for kind in kinds:
        grid = table.grid(kind)
        kept = table.kept(kind, grid)
        means = {metric: _mean(table.values(metric, kept)) for metric in METRICS}
        points = tuple(
            CutPoint(Cut(kind, float(v)), *(means[m][i] for m in METRICS)) for i, v in enumerate(grid)
        )
        out[kind] = CutCurve(kind, points)
    return out


def per_query(lists: ModelLists, cut: Cut, *, relevant_from: int = 1) -> dict[str, dict[str, float | None]]:
    """metric -> query id -> value of ``cut`` (None where undefined)."""
    table = _Table(lists, relevant_from)
    kept = table.kept(cut.kind, np.asarray([cut.value]))
    out: dict[str, dict[str, float | None]] = {}
    for metric in METRICS:
        column = table.values(metric, kept)[:, 0] if lists.queries else np.zeros(0)
        out[metric] = {q.query_id: (None if math.isnan(v) else float(v))
                       for q, v in zip(lists.queries, column, strict=True)}
    return out


# ------------------------------------------------------------------------------------------------ grids


def short_between(low: float, high: float) -> float:
    """The number with the fewest decimals strictly between ``low`` and ``high``, nearest their midpoint (the
    midpoint itself if none)."""
    if not low < high:
        raise ValueError("low must be below high")
    middle = (low + high) / 2
    for decimals in range(0, 16):
        candidate = round(middle, decimals)  # the nearest multiple to the middle: inside if any multiple is
        if low < candidate < high:
            return candidate
    return middle


def threshold_grid(score_lists: Sequence[FloatArray]) -> FloatArray:
    """One threshold per distinct behaviour: strictly between each two neighbouring distinct scores of the run,
    plus one below the lowest (keep everything). Ordered from low to high."""
    distinct = np.unique(np.concatenate([np.minimum.accumulate(s) for s in score_lists if len(s)] or [np.zeros(0)]))
    if distinct.size == 0:
        return np.zeros(0)
    margin = float(distinct[-1] - distinct[0]) * 0.05 or max(abs(float(distinct[0])) * 0.05, 0.05)
    values = [short_between(float(distinct[0]) - margin, float(distinct[0]))]
    values += [short_between(float(a), float(b)) for a, b in zip(distinct[:-1], distinct[1:], strict=True)]
    return np.asarray(values, dtype=np.float64)


def relative_grid(score_lists: Sequence[FloatArray]) -> FloatArray:
    """One fraction per distinct behaviour: strictly between each two neighbouring distinct drops (and below the
    smallest positive one), plus 1 (keep everything). Ordered from low to high."""
    drops = np.unique(np.concatenate([_scaled_drops(s) for s in score_lists] or [np.zeros(0)]))
    drops = drops[(drops > 0) & (drops < 1)]
    edges = [0.0, *drops.tolist(), 1.0]
    values = [short_between(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return np.asarray([*values, 1.0], dtype=np.float64)


# ------------------------------------------------------------------------------------------------ choosing


@dataclass(frozen=True)
class Constraint:
    metric: str  # one of METRICS
    op: str  # ">=", "<=", ">", "<"
    value: float

    def holds(self, point: CutPoint) -> bool:
        actual = point.get(self.metric)
        if actual is None:
            return False
        return {">=": actual >= self.value - 1e-12, "<=": actual <= self.value + 1e-12,
                ">": actual > self.value, "<": actual < self.value}[self.op]

    @property
    def label(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


_CONSTRAINT = re.compile(r"^\s*([A-Za-z]+)(?:@\d+)?\s*(>=|<=|=>|=<|≥|≤|>|<)\s*"
                         r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


def parse_constraints(text: str) -> tuple[Constraint, ...]:
    """``"precision>=0.8"``, ``"returned<=5"``, several joined by commas or "and"; empty = no constraint."""
    parts = [p for p in re.split(r",|\band\b", text or "") if p.strip()]
    out = []
    for part in parts:
        match = _CONSTRAINT.match(part)
        hint = ("Write it like precision>=0.8 or returned<=5 (metrics: ndcg, precision, recall, returned; "
                "operators: >=, <=, >, <).")
        if match is None:
            raise InvalidInput(f"Cannot read the constraint {part.strip()!r}.", hint=hint)
        name, op, number = match.groups()
        metric = _ALIASES.get(name.casefold())
        if metric is None:
            raise InvalidInput(f"Unknown metric {name!r} in the constraint {part.strip()!r}.", hint=hint)
        op = {"=>": ">=", "=<": "<=", "≥": ">=", "≤": "<="}.get(op, op)
        value = float(number)
        if metric != "returned" and not 0.0 <= value <= 1.0:
            raise InvalidInput(f"{metric} is between 0 and 1, so {part.strip()!r} cannot be meant.", hint=hint)
        if metric == "returned" and value < 0:
            raise InvalidInput(f"The number returned cannot be negative ({part.strip()!r}).", hint=hint)
        out.append(Constraint(metric, op, value))
    return tuple(out)


def default_objective(constraints: Sequence[Constraint]) -> str:
    """Fewest documents when a quality floor is set (recall / nDCG at least ...); the most recall under a precision
    floor; otherwise the best nDCG@k."""
    lower = {c.metric for c in constraints if c.op in (">=", ">")}
    if lower & {"recall", "ndcg"}:
        return "min-returned"
    if "precision" in lower:
        return "max-recall"
    return "max-ndcg"


def _objective_key(point: CutPoint, objective: str) -> tuple[float, ...]:
    """Bigger is better; ties go to fewer documents, then better nDCG, precision, recall."""
    def val(metric: str) -> float:
        value = point.get(metric)
        return -math.inf if value is None else value

    returned = point.returned if point.returned is not None else math.inf
    primary = -returned if objective == "min-returned" else val(objective.removeprefix("max-"))
    return (round(primary, 12), -round(returned, 12), val("ndcg"), val("precision"), val("recall"))


@dataclass(frozen=True)
class Choice:
    """The best cut under the constraints (None when no cut meets them), per family and overall."""

    lists: ModelLists
    constraints: tuple[Constraint, ...]
    objective: str
    relevant_from: int
    best: CutPoint | None
    best_by_kind: Mapping[str, CutPoint | None] = field(hash=False)
    cis: Mapping[str, MeanCI] = field(hash=False)  # metric -> mean with its bootstrap CI, for ``best``
    curves: Mapping[str, CutCurve] = field(hash=False)

    @property
    def feasible(self) -> bool:
        return self.best is not None


def choose_cut(lists: ModelLists, constraints: Sequence[Constraint] = (), *, objective: str | None = None,
               kinds: Sequence[str] = KINDS, relevant_from: int = 1, n_resamples: int = N_RESAMPLES,
               seed: int = SEED) -> Choice:
    """The cut with the best ``objective`` among those whose means meet every constraint."""
    objective = objective or default_objective(constraints)
    if objective not in OBJECTIVES:
        raise InvalidInput(f"Unknown objective {objective!r}.", hint="Use one of " + ", ".join(OBJECTIVES) + ".")
    for kind in kinds:
        if kind not in KINDS:
            raise InvalidInput(f"Unknown cut {kind!r}.", hint="Use threshold, top_k or relative.")
    table = _Table(lists, relevant_from)
    curves = _curves(table, kinds)
    best_by_kind: dict[str, CutPoint | None] = {}
    for kind in kinds:
        feasible = [p for p in curves[kind].points if all(c.holds(p) for c in constraints)]
        best_by_kind[kind] = max(feasible, key=lambda p: _objective_key(p, objective)) if feasible else None
    candidates = [p for p in best_by_kind.values() if p is not None]
    best = max(candidates, key=lambda p: _objective_key(p, objective)) if candidates else None
    cis: dict[str, MeanCI] = {}
    if best is not None:
        values = per_query(lists, best.cut, relevant_from=relevant_from)
        # in query-id order: the same run gives the same interval however its rows were read
        cis = {m: mean_ci(dict(sorted(values[m].items())), measure=m, ordering=lists.ordering,
                          n_resamples=n_resamples, seed=seed) for m in METRICS}
    return Choice(lists, tuple(constraints), objective, relevant_from, best, best_by_kind, cis, curves)


def describe_choice(choice: Choice) -> list[str]:
    """The chosen cut in plain lines (the CLI prints them; the app and the report show the same words)."""
    lists = choice.lists
    k = lists.k
    head = (f"{lists.ordering} · {lists.setting_label} · {len(lists.queries)} judged queries · N = {lists.candidates} "
            f"candidates reranked · nDCG@{k} · relevant = grade ≥ {choice.relevant_from}")
    rules = ", ".join(c.label for c in choice.constraints) or "none"
    lines = [head, f"constraint: {rules} · objective: {choice.objective}"]
    for kind, point in choice.best_by_kind.items():
        lines.append(f"  best {KIND_LABELS[kind]:<24} " + (_point_text(point, k) if point else "no cut meets it"))
    if choice.best is None:
        lines.append("No cut meets the constraint on this run. Loosen it, or rerank more candidates.")
        return lines
    lines.append(f"chosen: {choice.best.cut.label}")
    for metric in ("precision", "recall", "ndcg", "returned", "judged"):
        ci = choice.cis[metric]
        if ci.mean is None:
            continue
        interval = f" [{ci.low:.3f}, {ci.high:.3f}]" if ci.low is not None and ci.high is not None else ""
        name = f"nDCG@{k}" if metric == "ndcg" else metric
        lines.append(f"  {name:<10} {ci.mean:.3f}{interval}  (n={ci.n} queries)")
    lines.append(f"  {int(CONFIDENCE * 100)}% bootstrap CIs over queries (BCa, {N_RESAMPLES} resamples, seed {SEED}). "
                 "The cut was chosen on these same queries: expect slightly less on new ones.")
    return lines


def _point_text(point: CutPoint, k: int) -> str:
    def f(v: float | None) -> str:
        return "–" if v is None else f"{v:.3f}"

    return (f"{point.cut.label:<42} precision {f(point.precision)}  recall {f(point.recall)}  "
            f"nDCG@{k} {f(point.ndcg)}  returned {f(point.returned)}")


# ------------------------------------------------------------------------------------------------ calibration


@dataclass(frozen=True)
class CalibrationBin:
    low: float  # lowest score in the bin
    high: float  # highest score in the bin
    mean_score: float
    n: int  # judged documents
    relevant: int
    share: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class Calibration:
    ordering: str
    bins: tuple[CalibrationBin, ...]
    judged: int  # judged (doc, query) pairs in the lists
    unjudged: int  # left out: unjudged is not irrelevant
    relevant_from: int
    scores_relevant: tuple[float, ...] = field(hash=False, compare=False)
    scores_not_relevant: tuple[float, ...] = field(hash=False, compare=False)
    scores_unjudged: tuple[float, ...] = field(hash=False, compare=False)
    method: str = "wilson"


def proportion_ci(successes: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson interval of a share: statsmodels if installed, else scipy (the same formula)."""
    try:
        from statsmodels.stats.proportion import proportion_confint
    except ImportError:  # pragma: no cover - statsmodels is optional
        from scipy.stats import binomtest

        ci = binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")
        return float(ci.low), float(ci.high)
    low, high = proportion_confint(successes, n, alpha=1 - confidence, method="wilson")
    return float(low), float(high)


def calibration(lists: ModelLists, *, bins: int = 10, relevant_from: int = 1) -> Calibration:
    """Judged documents of every list binned by score (equal-count bins; one score never spans two bins)."""
    if bins < 1:
        raise InvalidInput(f"Use at least one bin (got {bins}).")
    pairs: list[tuple[float, bool]] = []
    unjudged: list[float] = []
    for q in lists.queries:
        seen: set[str] = set()
        for doc, score in q.ranking:
            if doc in seen:
                continue
            seen.add(doc)
            if doc in q.grades:
                pairs.append((score, q.grades[doc] >= relevant_from))
            else:
                unjudged.append(score)
    scores = np.asarray([s for s, _ in pairs], dtype=np.float64)
    hits = np.asarray([r for _, r in pairs], dtype=bool)
    out = []
    if scores.size:
        edges = np.unique(np.quantile(scores, np.linspace(0, 1, bins + 1)[1:-1]))
        index = np.searchsorted(edges, scores, side="right")
        for b in np.unique(index):
            mask = index == b
            n, relevant = int(mask.sum()), int(hits[mask].sum())
            low, high = proportion_ci(relevant, n)
            out.append(CalibrationBin(float(scores[mask].min()), float(scores[mask].max()),
                                      float(scores[mask].mean()), n, relevant, relevant / n, low, high))
    return Calibration(
        lists.ordering, tuple(out), len(pairs), len(unjudged), relevant_from,
        tuple(float(s) for s, r in pairs if r), tuple(float(s) for s, r in pairs if not r), tuple(unjudged),
    )
