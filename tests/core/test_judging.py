"""judging.py: a run's orderings and the per-ordering metrics table (numbers from ir-measures via the store's
``query_metrics``; the expectations here are written as the formulas)."""

from __future__ import annotations

import math

import pytest

from rerank_playground.evaluation.judgments import QueryMetrics
from rerank_playground.judging import RETRIEVAL, metrics_table, ordering_metrics, orderings
from rerank_playground.models import Hit, RankedDoc, RerankResult

HITS = [Hit(rank=i + 1, uuid=f"d{i}", text=f"doc {i}") for i in range(5)]


def result(order: list[int]) -> RerankResult:
    ranked = tuple(RankedDoc(index=i, score=1.0 - p / 10) for p, i in enumerate(order))
    return RerankResult(reranker="test", model="m", ranked=ranked, latency_ms=1.0)


def test_orderings_retrieval_first_then_each_reranker() -> None:
    ranked = orderings(HITS, {"a": result([2, 0, 4, 1, 3]), "b": result([4, 3])})
    assert list(ranked) == [RETRIEVAL, "a", "b"]
    assert ranked[RETRIEVAL] == ["d0", "d1", "d2", "d3", "d4"]
    assert ranked["a"] == ["d2", "d0", "d4", "d1", "d3"]
    assert ranked["b"] == ["d4", "d3", "d0", "d1", "d2"]  # unreturned candidates follow, in retrieval order


def dcg(gains: list[int]) -> float:
    """trec_eval's DCG: the grade itself is the gain, discounted by log2(rank + 1)."""
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def test_ordering_metrics_and_table() -> None:
    # d2 perfect, d4 related, d1 judged not relevant; d0 and d3 unjudged.
    grades = {"d2": 3, "d4": 1, "d1": 0}
    ranked = orderings(HITS, {"a": result([2, 0, 4, 1, 3])})
    metrics = ordering_metrics(grades, ranked, 3, relevance_level=1)
    ideal = dcg([3, 1, 0])
    retrieval, reranked = metrics[RETRIEVAL], metrics["a"]
    # retrieval top 3: d0 (unjudged), d1 (0), d2 (3)
    assert retrieval.ndcg == pytest.approx(dcg([0, 0, 3]) / ideal)
    assert retrieval.rr == pytest.approx(1 / 3)
    assert retrieval.precision == pytest.approx(1 / 3)
    assert retrieval.recall == pytest.approx(1 / 2)
    assert (retrieval.judged, retrieval.judged_of, retrieval.relevant_total) == (2, 3, 2)
    # reranked top 3: d2 (3), d0 (unjudged), d4 (1)
    assert reranked.ndcg == pytest.approx(dcg([3, 0, 1]) / ideal)
    assert reranked.rr == pytest.approx(1.0)
    assert reranked.precision == pytest.approx(2 / 3)
    assert reranked.recall == pytest.approx(1.0)
    assert (reranked.judged, reranked.judged_of) == (2, 3)

    table = metrics_table(metrics)
    assert list(table.columns) == [
        "ordering", "nDCG@3", "Δ nDCG@3", "RR(rel=1)@3", "Δ RR(rel=1)@3", "P(rel=1)@3", "Δ P(rel=1)@3",
        "R(rel=1)@3", "Δ R(rel=1)@3", "judged@3", "relevant",
    ]
    assert list(table["ordering"]) == [RETRIEVAL, "a"]
    assert math.isnan(table.loc[0, "Δ nDCG@3"])  # the baseline has no change against itself
    assert table.loc[1, "Δ nDCG@3"] == pytest.approx(reranked.ndcg - retrieval.ndcg)
    assert table.loc[1, "Δ RR(rel=1)@3"] == pytest.approx(1.0 - 1 / 3)
    assert list(table["judged@3"]) == ["2/3", "2/3"]
    assert list(table["relevant"]) == [2, 2]


def test_metrics_table_undefined_values_are_nan_not_zero() -> None:
    undefined = QueryMetrics(k=10, ndcg=None, rr=None, precision=0.0, recall=None, judged=3, judged_of=10,
                             relevant_total=0)
    table = metrics_table({RETRIEVAL: undefined, "a": undefined})
    assert math.isnan(table.loc[1, "nDCG@10"]) and math.isnan(table.loc[1, "Δ nDCG@10"])
    assert math.isnan(table.loc[1, "R(rel=2)@10"])
    assert table.loc[1, "P(rel=2)@10"] == 0.0 and table.loc[1, "Δ P(rel=2)@10"] == 0.0
    assert table.loc[1, "judged@10"] == "3/10"
    assert metrics_table({}).empty


def test_default_level_two_counts_relevant_and_perfect_only() -> None:
    """The Search page's default: grade >= 2 (trec_eval -l 2); the related d4 (grade 1) no longer counts."""
    grades = {"d2": 3, "d4": 1, "d1": 0}
    ranked = orderings(HITS, {"a": result([2, 0, 4, 1, 3])})
    metrics = ordering_metrics(grades, ranked, 3)
    reranked = metrics["a"]
    assert reranked.relevance_level == 2 and reranked.relevant_total == 1
    assert reranked.precision == pytest.approx(1 / 3)  # d2 only
    assert reranked.recall == pytest.approx(1.0)
    assert reranked.ndcg == pytest.approx(dcg([3, 0, 1]) / dcg([3, 1, 0]))  # gains are still the grades
    assert "P(rel=2)@3" in metrics_table(metrics).columns
