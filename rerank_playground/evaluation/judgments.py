"""Frozen dataclasses of the evaluation wing: judgments, query sets and per-query metrics."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from rerank_playground.models import GRADES

RELEVANCE_LEVEL: Final[int] = 2
"""The grade from which binary measures (P, R, RR, AP) count a document as relevant, as trec_eval's ``-l 2``: on
the 0-3 scale "relevant" (2) and "perfect" (3), not "related" (1). nDCG uses the grade itself as the gain. Every
figure names its level (``P(rel=2)@10``)."""


def relevance_note(level: int) -> str:
    """The plain words beside binary measures: what ``rel=level`` means."""
    return (f"rel={level}: P, R, RR and AP count a document as relevant when its grade is ≥ {level} "
            f"({', '.join(GRADES[g] for g in GRADES if g >= level)}), as trec_eval -l {level}; "
            "nDCG uses the grade as the gain.")

SOURCES: Final[frozenset[str]] = frozenset({"person", "imported"})

_WHITESPACE = re.compile(r"\s+")


def normalise_query(text: str) -> str:
    """A query's identity within a collection or set: stripped, whitespace collapsed, casefolded."""
    return _WHITESPACE.sub(" ", text).strip().casefold()


@dataclass(frozen=True)
class Judgment:
    collection: str
    query: str  # normalised text (see normalise_query)
    doc_id: str  # a Weaviate uuid, or a value of the query set's id_property
    grade: int  # 0..3, see GRADES
    judge: str | None
    source: str  # "person" or "imported"
    judged_at: datetime  # timezone-aware, UTC


@dataclass(frozen=True)
class SetQuery:
    query_id: str
    text: str


@dataclass(frozen=True)
class QuerySet:
    name: str
    collection: str
    queries: tuple[SetQuery, ...]
    id_property: str | None = None  # when set (the demo's "article_id"), doc ids are values of it, not uuids


@dataclass(frozen=True)
class QueryMetrics:
    """Metrics of one ranking for one query at depth ``k``; None where undefined (nothing relevant to find)."""

    k: int
    ndcg: float | None
    rr: float | None
    precision: float | None
    recall: float | None
    judged: int  # judged documents among the first min(k, len(ranking))
    judged_of: int  # min(k, len(ranking)): "judged@10 = 6/10"
    relevant_total: int  # judged relevant (grade >= relevance_level) for the query, ranked or not
    relevance_level: int = RELEVANCE_LEVEL
