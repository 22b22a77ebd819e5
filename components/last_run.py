"""What a page ran last, kept in session state so that coming back to the page shows it again without
calling Weaviate or Jina: ``st.session_state["search.last"]`` (a :class:`SearchRecord`) and
``st.session_state["compare.last"]`` (a :class:`CompareRecord`).

A record is frozen: a new run makes a new record. Views computed from it (figures, tables, downloads) are
kept in its ``memo`` by :meth:`derived`, so reruns of the page do not compute them again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import streamlit as st

from components import lifecycle
from rerank_playground.models import SearchRequest, SearchResult
from rerank_playground.outcomes import CompareRun, RerankRun
from rerank_playground.rerankers.choice import RerankChoice

T = TypeVar("T")


class _Memoized:
    memo: dict[str, Any]

    def derived(self, name: str, build: Callable[[], T]) -> T:
        """A value computed from this run, built once (``None`` counts as "not built yet")."""
        if self.memo.get(name) is None:
            self.memo[name] = build()
        value: T = self.memo[name]
        return value


@dataclass(frozen=True)
class SearchRecord(_Memoized):
    """One Search & Rerank run: the inputs it ran with, the search (None when it failed), the rerank (None when
    it failed or was not asked for: a shared link never spends tokens by itself) and the first error."""

    request: SearchRequest
    choice: RerankChoice
    n: int
    search: SearchResult | None = None
    run: RerankRun | None = None
    error: str | None = None  # a message safe to show
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def key(self) -> tuple[SearchRequest, RerankChoice, int]:
        """Everything the result depends on: the page compares it with its current inputs."""
        return (self.request, self.choice, self.n)


@dataclass(frozen=True)
class CompareRecord(_Memoized):
    """One Compare run: the request and the models it ran with, the search and the comparison (None when they
    failed) and the first error."""

    request: SearchRequest
    choices: tuple[RerankChoice, ...]
    search: SearchResult | None = None
    run: CompareRun | None = None
    error: str | None = None  # a message safe to show
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def key(self) -> tuple[SearchRequest, tuple[RerankChoice, ...]]:
        return (self.request, self.choices)


LastRun = SearchRecord | CompareRecord


def search_record(key_prefix: str) -> SearchRecord | None:
    record = st.session_state.get(f"{key_prefix}.last")
    return record if isinstance(record, SearchRecord) else None


def compare_record(key_prefix: str) -> CompareRecord | None:
    record = st.session_state.get(f"{key_prefix}.last")
    return record if isinstance(record, CompareRecord) else None


def last_record(key_prefix: str) -> LastRun | None:
    record = st.session_state.get(f"{key_prefix}.last")
    return record if isinstance(record, SearchRecord | CompareRecord) else None


def keep(key_prefix: str, record: LastRun) -> None:
    st.session_state[f"{key_prefix}.last"] = record
    # The figures, tables and files built from the run are most of what it weighs: dropped when the session
    # ends (a tab that reconnects builds them again from the record).
    lifecycle.release_at_end(f"{key_prefix}.last", record.memo.clear)
