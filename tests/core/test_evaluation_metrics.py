"""evaluation/metrics.py: our numbers are trec_eval's (checked against pytrec_eval called directly), our rank order
is the order evaluated (ties), and the edges (nothing relevant, unjudged documents, k beyond the list)."""

from __future__ import annotations

import math

import pytest
import pytrec_eval
from hypothesis import given, settings
from hypothesis import strategies as st

from rerank_playground.errors import InvalidInput
from rerank_playground.evaluation.judgments import QueryMetrics
from rerank_playground.evaluation.metrics import (
    evaluate_run,
    measures_for,
    query_metrics,
    rank_scores,
    ranking_ids,
    relevance_level_of,
)
from rerank_playground.models import Hit

TREC = {"nDCG@10": "ndcg_cut_10", "RR": "recip_rank", "P@10": "P_10", "R@10": "recall_10", "AP": "map"}

QRELS = {
    "graded": {"d1": 3, "d2": 0, "d3": 2, "d4": 1, "d9": 3},  # d9 relevant but never retrieved
    "no-relevant": {"d1": 0, "d2": 0},
    "one-relevant-late": {"d12": 1},
    "short-list": {"d1": 1, "d2": 2, "d3": 3},
}
RUN = {
    "graded": ["d2", "d1", "dX", "d3", "d4", "dY"],  # dX, dY unjudged
    "no-relevant": ["d1", "d2", "d3"],
    "one-relevant-late": [f"d{i}" for i in range(1, 16)],  # relevant at rank 12: beyond @10
    "short-list": ["d3", "d1"],  # 2 documents, k = 10
}


def pytrec(qrels: dict[str, dict[str, int]], scored_run: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, set(TREC.values()))
    return evaluator.evaluate(scored_run)  # type: ignore[no-any-return]


def test_evaluate_run_equals_pytrec_eval_on_fixture_runs() -> None:
    ours = evaluate_run(QRELS, RUN, list(TREC))
    theirs = pytrec(QRELS, {qid: rank_scores(docs) for qid, docs in RUN.items()})
    assert set(ours) == set(RUN)
    for qid in RUN:
        for name, trec_name in TREC.items():
            assert ours[qid][name] == pytest.approx(theirs[qid][trec_name]), (qid, name)


def test_hand_computed_values() -> None:
    ours = evaluate_run(QRELS, RUN, [*TREC, "Judged@10"])
    graded = ours["graded"]
    dcg = 3 / math.log2(3) + 2 / math.log2(5) + 1 / math.log2(6)  # d1@2, d3@4, d4@5
    ideal = 3 / math.log2(2) + 3 / math.log2(3) + 2 / math.log2(4) + 1 / math.log2(5)
    assert graded["nDCG@10"] == pytest.approx(dcg / ideal)
    assert graded["RR"] == pytest.approx(1 / 2)
    assert graded["P@10"] == pytest.approx(3 / 10)  # k beyond the list: trec_eval divides by k
    assert graded["R@10"] == pytest.approx(3 / 4)
    assert graded["Judged@10"] == pytest.approx(4 / 6)  # ir-measures: judged among the min(k, n) retrieved
    assert ours["no-relevant"] == {name: 0.0 for name in [*TREC, "Judged@10"]} | {"Judged@10": pytest.approx(2 / 3)}
    assert ours["one-relevant-late"]["nDCG@10"] == 0.0
    assert ours["one-relevant-late"]["RR"] == pytest.approx(1 / 12)  # RR is not cut at 10
    assert ours["short-list"]["P@10"] == pytest.approx(2 / 10)


def test_ties_in_scores_evaluate_our_rank_order() -> None:
    """With equal retrieval scores trec_eval would reorder by doc id; scores from rank keep our order."""
    qrels = {"q": {"a": 1}}
    ranking = ["a", "b"]  # both retrieved with the same score, "a" shown first
    raw_tied = pytrec(qrels, {"q": {"a": 7.0, "b": 7.0}})["q"]["recip_rank"]
    ours = evaluate_run(qrels, {"q": ranking}, ["RR"])["q"]["RR"]
    assert ours == 1.0
    assert raw_tied == 0.5  # the hazard is real: pytrec_eval's tie-break would have put "b" first
    assert rank_scores(["x", "y", "x", "z"]) == {"x": 4.0, "y": 3.0, "z": 1.0}  # a duplicate keeps its first rank


def test_queries_without_judgments_are_left_out_and_empty_rankings_score_zero() -> None:
    ours = evaluate_run(
        {"q": {"d": 2}, "empty-qrels": {}}, {"q": [], "empty-qrels": ["d"], "unjudged": ["d"]}, ["nDCG@10", "RR"]
    )
    assert ours == {"q": {"nDCG@10": 0.0, "RR": 0.0}}


def test_unknown_measure_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="Unknown measure"):
        evaluate_run(QRELS, RUN, ["nDCG@10", "Bogus@3"])


def test_query_metrics_with_unjudged_documents_and_k_beyond_the_list() -> None:
    metrics = query_metrics(QRELS["graded"], RUN["graded"], 10, relevance_level=1)
    theirs = pytrec({"q": QRELS["graded"]}, {"q": rank_scores(RUN["graded"])})["q"]
    assert metrics == QueryMetrics(
        k=10,
        ndcg=pytest.approx(theirs["ndcg_cut_10"]),
        rr=pytest.approx(theirs["recip_rank"]),
        precision=pytest.approx(theirs["P_10"]),
        recall=pytest.approx(theirs["recall_10"]),
        judged=4,
        judged_of=6,
        relevant_total=4,
        relevance_level=1,
    )


def test_query_metrics_rr_is_cut_at_k() -> None:
    metrics = query_metrics(QRELS["one-relevant-late"], RUN["one-relevant-late"], 10, relevance_level=1)
    assert (metrics.ndcg, metrics.rr, metrics.precision, metrics.recall) == (0.0, 0.0, 0.0, 0.0)
    late = query_metrics(QRELS["one-relevant-late"], RUN["one-relevant-late"], 12, relevance_level=1)
    assert late.rr == pytest.approx(1 / 12)


def test_query_metrics_undefined_values_are_none() -> None:
    nothing_relevant = query_metrics(QRELS["no-relevant"], RUN["no-relevant"], 10)
    assert nothing_relevant == QueryMetrics(10, None, None, 0.0, None, judged=2, judged_of=3, relevant_total=0)
    unjudged = query_metrics({}, ["a", "b"], 5)
    assert unjudged == QueryMetrics(5, None, None, None, None, judged=0, judged_of=2, relevant_total=0)
    only_related = query_metrics({"a": 1, "b": 0}, ["a", "b"], 5)  # nothing at level 2: nDCG still has a gain
    assert only_related.ndcg == pytest.approx(1.0) and (only_related.rr, only_related.recall) == (None, None)
    assert only_related.precision == 0.0 and only_related.relevant_total == 0
    empty = query_metrics({"a": 3}, [], 5)
    assert (empty.ndcg, empty.rr, empty.precision, empty.recall, empty.judged_of) == (0.0, 0.0, 0.0, 0.0, 0)
    with pytest.raises(InvalidInput):
        query_metrics({"a": 1}, ["a"], 0)


@settings(max_examples=60, deadline=None)
@given(
    grades=st.dictionaries(st.sampled_from([f"d{i}" for i in range(12)]), st.integers(0, 3), min_size=1),
    ranking=st.lists(st.sampled_from([f"d{i}" for i in range(15)]), unique=True, max_size=15),
    k=st.integers(1, 20),
    level=st.integers(1, 3),
)
def test_query_metrics_match_pytrec_eval_on_the_first_k(grades: dict[str, int], ranking: list[str], k: int,
                                                        level: int) -> None:
    """The binary measures at the relevance level are trec_eval's ``-l level`` (pytrec_eval relevance_level)."""
    metrics = query_metrics(grades, ranking, k, relevance_level=level)
    top = ranking[:k]
    assert metrics.judged == sum(d in grades for d in top) and metrics.judged_of == len(top)
    assert metrics.relevant_total == sum(g >= level for g in grades.values())
    if not any(g >= level for g in grades.values()) or not top:
        return
    theirs = pytrec_eval.RelevanceEvaluator({"q": grades}, {"recip_rank", f"P_{k}", f"recall_{k}"},
                                            relevance_level=level)
    expected = theirs.evaluate({"q": rank_scores(top)})["q"]
    ndcg = pytrec_eval.RelevanceEvaluator({"q": grades}, {f"ndcg_cut_{k}"}).evaluate({"q": rank_scores(top)})["q"]
    assert metrics.ndcg == pytest.approx(ndcg[f"ndcg_cut_{k}"])
    assert metrics.rr == pytest.approx(expected["recip_rank"])
    assert metrics.precision == pytest.approx(expected[f"P_{k}"])
    assert metrics.recall == pytest.approx(expected[f"recall_{k}"])


def test_ranking_ids_map_hits_into_the_sets_id_space() -> None:
    hits = [
        Hit(rank=1, uuid="u1", text="", properties={"article_id": "wiki100:Ant"}),
        Hit(rank=2, uuid="u2", text="", properties={"article_id": "wiki100:Animal"}),
        Hit(rank=3, uuid="u3", text="", properties={"article_id": "wiki100:Ant"}),
        Hit(rank=4, uuid="u4", text="", properties={}),
    ]
    assert ranking_ids(hits) == ["u1", "u2", "u3", "u4"]
    by_article = ranking_ids(hits, "article_id")
    assert by_article == ["wiki100:Ant", "wiki100:Animal", "wiki100:Ant", "u4"]
    # passages of one article count once, at the first one's rank
    metrics = query_metrics({"wiki100:Animal": 3, "wiki100:Ant": 0}, by_article, 3)
    assert metrics.relevance_level == 2
    assert (metrics.rr, metrics.judged, metrics.judged_of) == (0.5, 2, 3)


def test_evaluate_run_with_judged_queries_missing_from_the_run() -> None:
    """Judgments for a query the run never ranked: that query is left out, the others are still scored."""
    qrels = {"q1": {"a": 2, "b": 0}, "q2": {"c": 1}}
    result = evaluate_run(qrels, {"q1": ["a", "b"]}, ["nDCG@10", "RR", "P@10", "R@10", "AP", "Judged@10"])
    assert set(result) == {"q1"}
    assert result["q1"]["RR"] == 1.0
    assert result["q1"]["R@10"] == 1.0


def test_measures_name_their_cut_and_relevance_level() -> None:
    """One RR: cut at k and named RR(rel=L)@k in a batch run as on the Search page; the level is in every name."""
    assert measures_for(10) == ("nDCG@10", "RR(rel=2)@10", "P(rel=2)@10", "R(rel=2)@10", "AP(rel=2)", "Judged@10")
    assert measures_for(5, 1)[1:4] == ("RR(rel=1)@5", "P(rel=1)@5", "R(rel=1)@5")
    assert relevance_level_of(measures_for(10, 3)) == 3
    assert relevance_level_of(["nDCG@10", "RR", "P@10"]) == 1  # a run saved before levels were named
    for bad in (0, 4, True):
        with pytest.raises(InvalidInput, match="relevance level"):
            measures_for(10, bad)
    # the batch measure at rank 12 of a 15-long list: RR@10 is 0, not 1/12 (q12 of the issue: RR 0.0238 with
    # nDCG@10 = 0 came from an uncut RR)
    late = evaluate_run(QRELS, RUN, measures_for(10, 1))["one-relevant-late"]
    assert late["RR(rel=1)@10"] == 0.0 and late["nDCG@10"] == 0.0
    search_page = query_metrics(QRELS["one-relevant-late"], RUN["one-relevant-late"], 10, relevance_level=1)
    assert search_page.rr == late["RR(rel=1)@10"]
