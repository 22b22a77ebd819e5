"""Cuts of reranked lists: each family's metrics against a direct recomputation (nDCG, set precision and set recall
through ir-measures / pytrec_eval), the constrained choice against a brute-force grid, calibration against scipy."""

from __future__ import annotations

import math

import ir_measures
import numpy as np
import pytest
from scipy.stats import binomtest

from rerank_playground.errors import InvalidInput
from rerank_playground.evaluation import cutoff
from rerank_playground.evaluation.batch_plan import RunPlan, plan_to_dict, search_setting
from rerank_playground.evaluation.cutoff import Cut, ModelLists, QueryList
from rerank_playground.evaluation.judgments import QuerySet, SetQuery
from rerank_playground.evaluation.runs import QueryResult, RunRecord
from rerank_playground.rerankers.choice import RerankChoice

# ----------------------------------------------------------------------------------------- direct answers


def direct_kept(kind: str, value: float, scores: list[float]) -> int:
    if kind == "top_k":
        return min(int(value), len(scores))
    if kind == "threshold":
        kept = 0
        for s in scores:
            if s < value:
                break
            kept += 1
        return kept
    if len(scores) < 2 or max(scores) == min(scores):
        return len(scores)
    lo, span = min(scores), max(scores) - min(scores)
    scaled = [(s - lo) / span for s in scores]
    for i in range(len(scaled) - 1):
        if scaled[i] - scaled[i + 1] > value:
            return i + 1
    return len(scores)


def direct_metrics(q: QueryList, kept: int, k: int, library: bool = True) -> dict[str, float | None]:
    """One query's metrics of its list cut after ``kept`` documents (no duplicate ids), via pytrec_eval (or,
    for the brute-force grids, by the formula)."""
    docs = [d for d, _ in q.ranking[:kept]]
    relevant_total = sum(1 for g in q.grades.values() if g >= 1)
    found = sum(1 for d in docs if q.grades.get(d, 0) >= 1)
    precision = found / len(docs) if docs else 0.0
    if docs and relevant_total and not library:
        ideal = sorted(q.grades.values(), reverse=True)[:k]
        idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
        ndcg = sum(q.grades.get(d, 0) / math.log2(i + 2) for i, d in enumerate(docs[:k])) / idcg
        recall = found / relevant_total
    elif docs and relevant_total:
        run = {"q": {d: float(len(docs) - i) for i, d in enumerate(docs)}}
        qrels = {"q": dict(q.grades)}
        values = {str(m.measure): m.value for m in ir_measures.iter_calc(
            [ir_measures.parse_measure(f"nDCG@{k}"), ir_measures.SetP, ir_measures.SetR], qrels, run)}
        assert values["SetP"] == pytest.approx(precision)
        ndcg, recall = values[f"nDCG@{k}"], values["SetR"]
    else:
        ndcg = 0.0 if relevant_total else None
        recall = 0.0 if relevant_total else None
    return {"ndcg": ndcg, "precision": precision, "recall": recall, "returned": float(kept),
            "judged": (sum(1 for d in docs if d in q.grades) / len(docs)) if docs else None}


def direct_means(lists: ModelLists, kind: str, value: float, library: bool = True) -> dict[str, float | None]:
    rows = [direct_metrics(q, direct_kept(kind, value, [s for _, s in q.ranking]), lists.k, library)
            for q in lists.queries]
    out: dict[str, float | None] = {}
    for metric in cutoff.METRICS:
        defined = [r[metric] for r in rows if r[metric] is not None]
        out[metric] = sum(defined) / len(defined) if defined else None  # type: ignore[arg-type]
    return out


def random_lists(seed: int, *, n_queries: int = 12, scale: float = 1.0, shift: float = 0.0, k: int = 5,
                 name: str = "model") -> ModelLists:
    rng = np.random.default_rng(seed)
    queries = []
    for qi in range(n_queries):
        n = int(rng.integers(0, 14))
        # coarse scores, so ties (within a list and across lists) happen often
        scores = sorted((float(rng.integers(0, 8)) / 8 * scale + shift for _ in range(n)), reverse=True)
        docs = [f"d{qi}-{i}" for i in range(n)]
        grades: dict[str, int] = {}
        for d in docs + [f"d{qi}-unranked{j}" for j in range(2)]:
            draw = int(rng.integers(-1, 4))
            if draw >= 0:
                grades[d] = draw
        if qi == 0:  # a query with judgments but nothing relevant
            grades = {d: 0 for d in docs[:3]} or {"x": 0}
        queries.append(QueryList(f"q{qi}", tuple(zip(docs, scores, strict=True)), grades))
    return ModelLists(name, 0, "hybrid", 13, k, tuple(queries))


def _same(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b, abs_tol=1e-9))


# ----------------------------------------------------------------------------------------- hand-computed


def test_threshold_keeps_ties_and_stops_at_the_first_lower_score() -> None:
    assert Cut("threshold", 0.5).kept([0.9, 0.5, 0.5, 0.4, 0.6]) == 3  # ties at t kept; stops at 0.4
    assert Cut("threshold", 0.95).kept([0.9, 0.5]) == 0
    assert Cut("top_k", 3).kept([0.9, 0.5]) == 2
    assert Cut("threshold", 0.1).kept([]) == 0


def test_relative_cut_is_scale_free() -> None:
    # scaled: 1, 0.9, 0.2, 0.1, 0  -> drops 0.1, 0.7, 0.1, 0.1
    low = [1.0, 0.9, 0.2, 0.1, 0.0]
    high = [s * 40 - 7 for s in low]
    for f, expected in [(0.05, 1), (0.5, 2), (0.69, 2), (0.7, 5), (1.0, 5)]:
        assert Cut("relative", f).kept(low) == expected
        assert Cut("relative", f).kept(high) == expected
    assert Cut("relative", 0.0).kept([3.0, 3.0, 3.0]) == 3  # a flat list has no drop


def test_hand_computed_run() -> None:
    # q1: a(3) 0.9, b(0) 0.7, c(1) 0.7, d(unjudged) 0.2 ; e(2) relevant but not ranked
    # q2: judged, nothing relevant
    q1 = QueryList("q1", (("a", 0.9), ("b", 0.7), ("c", 0.7), ("d", 0.2)), {"a": 3, "b": 0, "c": 1, "e": 2})
    q2 = QueryList("q2", (("x", 0.8), ("y", 0.1)), {"x": 0})
    lists = ModelLists("m", 0, "s", 4, 3, (q1, q2))
    values = cutoff.per_query(lists, Cut("threshold", 0.7))
    assert values["returned"] == {"q1": 3.0, "q2": 1.0}
    assert values["precision"] == {"q1": pytest.approx(2 / 3), "q2": 0.0}
    assert values["recall"] == {"q1": pytest.approx(2 / 3), "q2": None}
    idcg = 3 + 2 / math.log2(3) + 1 / math.log2(4)
    assert values["ndcg"]["q1"] == pytest.approx((3 + 1 / math.log2(4)) / idcg)
    assert values["ndcg"]["q2"] is None
    assert values["judged"] == {"q1": 1.0, "q2": 1.0}
    curve = cutoff.cut_curve(lists, "threshold")
    # thresholds: one below 0.1, then one between each pair of distinct running minima (0.1 0.2 0.7 0.8 0.9)
    assert [p.cut.value for p in curve.points] == [0.08, 0.15, 0.4, 0.75, 0.85]
    at = next(p for p in curve.points if p.cut.value == 0.4)
    assert at.returned == pytest.approx((3 + 1) / 2)
    assert at.recall == pytest.approx(2 / 3)  # q2 has nothing to find: left out of the mean
    assert at.precision == pytest.approx((2 / 3 + 0) / 2)


def test_repeated_document_counts_once() -> None:
    q = QueryList("q", (("a", 0.9), ("a", 0.8), ("b", 0.7)), {"a": 1, "b": 0})
    lists = ModelLists("m", 0, "s", 3, 10, (q,))
    values = cutoff.per_query(lists, Cut("top_k", 3))
    assert values["returned"]["q"] == 3.0  # objects the application receives
    assert values["precision"]["q"] == pytest.approx(1 / 2)  # of the distinct documents
    assert values["ndcg"]["q"] == pytest.approx(1.0)


# ----------------------------------------------------------------------------------------- vs recomputation


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("kind", cutoff.KINDS)
def test_curves_equal_a_direct_recomputation(seed: int, kind: str) -> None:
    for lists in (random_lists(seed), random_lists(seed, scale=30.0, shift=-12.0, name="wide")):
        curve = cutoff.cut_curve(lists, kind)
        assert curve.points
        for point in curve.points:
            expected = direct_means(lists, kind, point.cut.value)
            for metric in cutoff.METRICS:
                assert _same(point.get(metric), expected[metric]), (kind, point.cut, metric)


def test_models_on_different_ranges_give_the_same_top_k_and_relative_curves() -> None:
    narrow, wide = random_lists(7), random_lists(7, scale=30.0, shift=-12.0)
    for kind in ("top_k", "relative"):
        for point in cutoff.cut_curve(narrow, kind).points:
            assert cutoff.per_query(narrow, point.cut) == cutoff.per_query(wide, point.cut), (kind, point.cut)
    # the thresholds differ with the scale, the behaviour at corresponding thresholds does not
    ta, tb = cutoff.cut_curve(narrow, "threshold"), cutoff.cut_curve(wide, "threshold")
    assert [p.returned for p in ta.points] == pytest.approx([p.returned for p in tb.points])
    assert ta.points[-1].cut.value < 1.5 < tb.points[-1].cut.value


def test_every_grid_value_lies_strictly_between_observed_scores() -> None:
    lists = random_lists(4)
    scores = {s for q in lists.queries for _, s in q.ranking}
    for point in cutoff.cut_curve(lists, "threshold").points:
        assert point.cut.value not in scores
    assert cutoff.short_between(0.7012, 0.7341) == 0.72
    assert cutoff.short_between(-3.2, -3.1) == -3.15
    assert cutoff.short_between(0.1, 1.0) == 0.6 or cutoff.short_between(0.1, 1.0) == 0.5


# ----------------------------------------------------------------------------------------- choosing


def brute_force(lists: ModelLists, kind: str, constraints: tuple[cutoff.Constraint, ...], objective: str
                ) -> float | None:
    """The best objective value over a fine grid, computed directly."""
    scores = sorted({s for q in lists.queries for _, s in q.ranking})
    if kind == "top_k":
        grid = [float(k) for k in range(1, lists.candidates + 2)]
    elif kind == "threshold":
        grid = list(np.linspace(scores[0] - 1, scores[-1] + 1, 1501)) + scores
    else:
        grid = list(np.linspace(0, 1, 1001))
    best = None
    for value in grid:
        means = direct_means(lists, kind, float(value), library=False)
        point = cutoff.CutPoint(Cut(kind, float(value)), **means)  # type: ignore[arg-type]
        if point.returned == 0 or not all(c.holds(point) for c in constraints):
            continue
        got = -point.returned if objective == "min-returned" else point.get(objective.removeprefix("max-"))
        assert got is not None and point.returned is not None
        if best is None or got > best + 1e-12:
            best = got
    return best


@pytest.mark.parametrize(("rules", "objective"), [
    ("precision>=0.5", "max-recall"),
    ("returned<=4", "max-ndcg"),
    ("recall>=0.6", "min-returned"),
    ("precision >= 0.4, returned <= 6", "max-ndcg"),
])
@pytest.mark.parametrize("seed", [11, 12])
def test_choice_is_the_brute_force_optimum(rules: str, objective: str, seed: int) -> None:
    lists = random_lists(seed, n_queries=10)
    constraints = cutoff.parse_constraints(rules)
    assert cutoff.default_objective(constraints) == objective or "," in rules
    choice = cutoff.choose_cut(lists, constraints, objective=objective, n_resamples=199)
    for kind in cutoff.KINDS:
        expected = brute_force(lists, kind, constraints, objective)
        point = choice.best_by_kind[kind]
        if expected is None:
            assert point is None or point.returned == 0
            continue
        assert point is not None
        got = -point.returned if objective == "min-returned" else point.get(objective.removeprefix("max-"))
        assert got == pytest.approx(expected, abs=1e-12), kind
        assert all(c.holds(point) for c in constraints)


def test_chosen_cut_carries_bootstrap_cis_over_queries() -> None:
    lists = random_lists(5)
    choice = cutoff.choose_cut(lists, cutoff.parse_constraints("returned<=5"), n_resamples=499)
    assert choice.best is not None
    ci = choice.cis["returned"]
    assert ci.mean == pytest.approx(choice.best.returned)
    assert ci.n == len(lists.queries)
    assert ci.low is not None and ci.high is not None and ci.low <= ci.mean <= ci.high
    assert choice.cis["recall"].n == sum(1 for q in lists.queries if any(g >= 1 for g in q.grades.values()))
    text = "\n".join(cutoff.describe_choice(choice))
    assert "chosen:" in text and "bootstrap" in text


def test_infeasible_constraint_says_so() -> None:
    lists = random_lists(5)
    choice = cutoff.choose_cut(lists, cutoff.parse_constraints("precision>=1, recall>=1"), n_resamples=99)
    assert not choice.feasible
    assert "No cut meets" in "\n".join(cutoff.describe_choice(choice))


@pytest.mark.parametrize(("text", "words"), [
    ("precision=>0.8", None),
    ("precision≥0.8", None),
    ("P>=0.8 and n<=5", None),
    ("precision 0.8", "Cannot read the constraint 'precision 0.8'"),
    ("speed>=3", "Unknown metric 'speed'"),
    ("precision>=80", "between 0 and 1"),
    ("returned<=-1", "cannot be negative"),
])
def test_constraint_parsing(text: str, words: str | None) -> None:
    if words is None:
        assert cutoff.parse_constraints(text)
        return
    with pytest.raises(InvalidInput) as err:
        cutoff.parse_constraints(text)
    assert words in err.value.message
    assert "precision>=0.8" in err.value.hint


def test_cut_validation_and_round_trip() -> None:
    for kind, value in [("top_k", 0), ("top_k", 2.5), ("relative", 1.5), ("sideways", 1), ("threshold", math.inf)]:
        with pytest.raises(InvalidInput):
            Cut(kind, value)
    cut = Cut("threshold", 0.73)
    assert Cut.from_dict(cut.to_dict()) == cut
    with pytest.raises(InvalidInput):
        Cut.from_dict({"kind": "threshold", "value": "high"})


# ----------------------------------------------------------------------------------------- calibration


def test_calibration_bins_counts_and_wilson_intervals() -> None:
    lists = random_lists(9, n_queries=30)
    cal = cutoff.calibration(lists, bins=4)
    judged = [(s, q.grades[d] >= 1) for q in lists.queries for d, s in q.ranking if d in q.grades]
    assert cal.judged == len(judged) == sum(b.n for b in cal.bins)
    assert cal.unjudged == sum(1 for q in lists.queries for d, _ in q.ranking if d not in q.grades)
    previous_high = -math.inf
    for b in cal.bins:
        inside = [r for s, r in judged if b.low <= s <= b.high]
        assert len(inside) == b.n and sum(inside) == b.relevant  # one score never spans two bins
        assert b.low > previous_high
        previous_high = b.high
        ci = binomtest(b.relevant, b.n).proportion_ci(method="wilson")
        assert (b.ci_low, b.ci_high) == pytest.approx((ci.low, ci.high))
        assert b.share == pytest.approx(b.relevant / b.n)


# ----------------------------------------------------------------------------------------- from a stored run


def test_model_lists_from_a_stored_run() -> None:
    qs = QuerySet("set", "Coll", (SetQuery("q1", "one"), SetQuery("q2", "two"), SetQuery("q3", "three")))
    plan = RunPlan(qs, (search_setting(limit=3),), (RerankChoice("local", "wordllama-l2-supercat-256"),), k=3)
    label = plan.rerankers[0].label
    record = RunRecord("r", "run", "Coll", "set", "finished", plan_to_dict(plan), {"q1": {"a": 1}, "q2": {"b": 0}})
    rows = [
        QueryResult(0, "q1", "one", label, "done", (("a", 0.9), ("b", 0.1))),
        QueryResult(0, "q2", "two", label, "done", (("b", 0.3),)),
        QueryResult(0, "q3", "three", label, "done", (("c", 0.3),)),  # no judgments: left out
        QueryResult(0, "q1", "one", "no rerank", "done", (("a", None), ("b", 0.2))),  # no score: cannot be cut
    ]
    found, notes = cutoff.model_lists(record, rows)
    assert [m.ordering for m in found] == [label]
    assert [q.query_id for q in found[0].queries] == ["q1", "q2"]
    assert found[0].candidates == 3 and found[0].k == 3
    assert notes and "no rerank" in notes[0]
    assert cutoff.find_lists(found, None) is found[0]
    assert cutoff.find_lists(found, "WORDLLAMA") is found[0]
    with pytest.raises(InvalidInput) as err:
        cutoff.find_lists(found, "jina")
    assert label in err.value.hint
