"""Judging one query: the orderings a run produced, and each ordering's metrics against the query's grades.

Pure helpers for the Search, Compare and Judge pages. The store, the metric computation (ir-measures), the
judging queue and import/export live in :mod:`rerank_playground.evaluation`; this module only arranges a
run's orderings for them. A document is its Weaviate uuid; an ordering is a list of uuids, best first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

from rerank_playground.evaluation.judgments import RELEVANCE_LEVEL, QueryMetrics
from rerank_playground.evaluation.metrics import measures_for, query_metrics
from rerank_playground.models import Hit, RerankResult
from rerank_playground.movement import RETRIEVAL, full_order

__all__ = ["RETRIEVAL", "metrics_table", "ordering_metrics", "orderings"]


def orderings(hits: Sequence[Hit], results: Mapping[str, RerankResult]) -> dict[str, list[str]]:
    """``{"retrieval": uuids in search order, <name>: uuids in that reranker's order, ...}``.

    A candidate a reranker did not return is ranked after the ones it did, in retrieval order (the same
    rule as the rank movement and the charts, :func:`rerank_playground.movement.full_order`).
    """
    uuids = [hit.uuid for hit in hits]
    out: dict[str, list[str]] = {RETRIEVAL: uuids}
    for name, result in results.items():
        out[str(name)] = [uuids[i] for i in full_order(len(uuids), result)]
    return out


def ordering_metrics(
    grades: Mapping[str, int], ranked: Mapping[str, Sequence[str]], k: int,
    relevance_level: int = RELEVANCE_LEVEL,
) -> dict[str, QueryMetrics]:
    """nDCG@k, RR@k, P@k, R@k (binary ones at ``relevance_level``) and judged@k of each ordering against this
    query's grades (doc id -> grade)."""
    return {name: query_metrics(grades, list(order), k, relevance_level) for name, order in ranked.items()}


def _value(x: float | None) -> float:
    return math.nan if x is None else float(x)


def metrics_table(metrics: Mapping[str, QueryMetrics], baseline: str = RETRIEVAL) -> pd.DataFrame:
    """One row per ordering: each measure and its change against ``baseline`` (NaN where undefined).

    Columns (named as a batch run names them, the relevance level of the binary measures included): ``ordering``,
    ``nDCG@k``, ``Δ nDCG@k``, ``RR(rel=2)@k``, ``Δ RR(rel=2)@k``, ``P(rel=2)@k``, ``Δ …``, ``R(rel=2)@k``, ``Δ …``,
    ``judged@k`` (``"6/10"``, the unjudged are counted as not relevant by the measures, so this stands
    beside them), ``relevant`` (judged relevant documents known for the query: R@k's denominator).
    """
    if not metrics:
        return pd.DataFrame()
    first = next(iter(metrics.values()))
    k = first.k
    base = metrics.get(baseline)
    ndcg, rr, precision, recall, *_ = measures_for(k, first.relevance_level)
    measures = (("nDCG", ndcg), ("rr", rr), ("precision", precision), ("recall", recall))
    attrs = {"nDCG": "ndcg", "rr": "rr", "precision": "precision", "recall": "recall"}
    rows = []
    for name, m in metrics.items():
        row: dict[str, object] = {"ordering": name}
        for attr_key, label in measures:
            attr = attrs[attr_key]
            value = _value(getattr(m, attr))
            row[label] = value
            if base is None or name == baseline:
                row[f"Δ {label}"] = math.nan
            else:
                row[f"Δ {label}"] = value - _value(getattr(base, attr))
        row[f"judged@{k}"] = f"{m.judged}/{m.judged_of}"
        row["relevant"] = m.relevant_total
        rows.append(row)
    return pd.DataFrame(rows)
