"""What a batch run is: its record (plan, qrels snapshot, versions, state) and one result per (setting, query,
ordering). The store keeps them (``store/runs.py``); the batch engine, the analysis and the reports read them.

A run keeps everything needed to trust it later: its plan (query set snapshot, search settings, rerank choices,
depth, measures), the qrels it was scored against (a snapshot: later judgments do not silently change an old
run), app and server versions, collection and object count, and one result per (setting, query, ordering) with
the ranking and its scores, the metrics, latency, tokens, attempts and any error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

RUN_STATES = ("running", "paused", "cancelled", "finished", "interrupted")
RESULT_STATES = ("done", "failed")


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    name: str
    collection: str
    query_set: str
    status: str
    plan: Mapping[str, Any] = field(hash=False, compare=False)
    qrels: Mapping[str, Mapping[str, int]] = field(hash=False, compare=False)
    app_version: str = ""
    server_version: str = ""
    object_count: int = 0
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    ended_at: datetime | None = None
    message: str = ""


@dataclass(frozen=True)
class QueryResult:
    """One ordering of one query under one search setting: its ranking, metrics and cost, or its error."""

    setting: int
    query_id: str
    query: str
    ordering: str
    status: str  # "done" | "failed"
    ranking: tuple[tuple[str, float | None], ...] = ()
    metrics: Mapping[str, float] = field(default_factory=dict, hash=False, compare=False)
    latency_ms: float | None = None
    tokens: int | None = None
    api_calls: int = 0
    cached: bool = False
    attempts: int = 1
    error: str | None = None
    finished_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.setting, self.query_id, self.ordering)

    @property
    def doc_ids(self) -> tuple[str, ...]:
        return tuple(doc for doc, _ in self.ranking)
