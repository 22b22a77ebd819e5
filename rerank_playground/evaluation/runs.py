"""Batch runs in the store: schema migration 2 (``runs``, ``run_queries``) and the functions that read and write them.

A run keeps everything needed to trust it later: its plan (query set snapshot, search settings, rerank choices,
depth, measures), the qrels it was scored against (a snapshot: later judgments do not silently change an old
run), app and server versions, collection and object count, and one ``run_queries`` row per (setting, query,
ordering) with the ranking and its scores, the metrics, latency, tokens, attempts and any error. Each finished row
is its own transaction, so a crash loses at most the rows being written; a resume skips every ``done`` row.

The tables are created by the store's migration 2 (``migrations/v0002_runs.py``); they are declared here again
for queries. All functions take a ``Store`` and use its ``write()`` / ``read()`` transactions, so database trouble
becomes ``StoreUnavailable`` like everywhere else in the store.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rerank_playground.errors import RunNotFound

SCHEMA_VERSION = 2  # the store's migration that adds these tables

RUN_STATES = ("running", "paused", "cancelled", "finished", "interrupted")
RESULT_STATES = ("done", "failed")


class RunStore(Protocol):
    """What these functions need of ``evaluation.store.Store``."""

    def write(self) -> AbstractContextManager[Connection]: ...

    def read(self) -> AbstractContextManager[Connection]: ...


_METADATA = sa.MetaData()
RUNS = sa.Table(
    "runs",
    _METADATA,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.Text),
    sa.Column("collection", sa.Text),
    sa.Column("query_set", sa.Text),
    sa.Column("status", sa.String(16)),
    sa.Column("message", sa.Text),
    sa.Column("plan", sa.Text),
    sa.Column("qrels", sa.Text),
    sa.Column("app_version", sa.Text),
    sa.Column("server_version", sa.Text),
    sa.Column("object_count", sa.Integer),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("ended_at", sa.DateTime(timezone=True)),
)
RUN_QUERIES = sa.Table(
    "run_queries",
    _METADATA,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("setting", sa.Integer, primary_key=True),
    sa.Column("query_id", sa.Text, primary_key=True),
    sa.Column("ordering", sa.Text, primary_key=True),
    sa.Column("query", sa.Text),
    sa.Column("status", sa.String(8)),
    sa.Column("ranking", sa.Text),
    sa.Column("metrics", sa.Text),
    sa.Column("latency_ms", sa.Float),
    sa.Column("tokens", sa.Integer),
    sa.Column("api_calls", sa.Integer),
    sa.Column("cached", sa.Boolean),
    sa.Column("attempts", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
)


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


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def create_run(store: RunStore, record: RunRecord) -> None:
    with store.write() as conn:
        conn.execute(
            RUNS.insert().values(
                run_id=record.run_id, name=record.name, collection=record.collection, query_set=record.query_set,
                status=record.status, message=record.message, plan=json.dumps(record.plan),
                qrels=json.dumps(record.qrels), app_version=record.app_version,
                server_version=record.server_version, object_count=record.object_count,
                started_at=record.started_at, ended_at=record.ended_at,
            )
        )


def set_status(store: RunStore, run_id: str, status: str, *, message: str = "", ended: bool = False) -> None:
    if status not in RUN_STATES:
        raise ValueError(f"unknown run state {status!r}")
    values: dict[str, Any] = {"status": status, "message": message}
    values["ended_at"] = datetime.now(UTC) if ended else None
    with store.write() as conn:
        conn.execute(RUNS.update().where(RUNS.c.run_id == run_id).values(**values))


def _record(row: Any) -> RunRecord:
    return RunRecord(
        run_id=row.run_id, name=row.name, collection=row.collection, query_set=row.query_set, status=row.status,
        plan=json.loads(row.plan), qrels=json.loads(row.qrels), app_version=row.app_version,
        server_version=row.server_version, object_count=row.object_count,
        started_at=_utc(row.started_at) or datetime.now(UTC), ended_at=_utc(row.ended_at), message=row.message,
    )


def get_run(store: RunStore, run_id: str) -> RunRecord:
    with store.read() as conn:
        row = conn.execute(sa.select(RUNS).where(RUNS.c.run_id == run_id)).first()
    if row is None:
        raise RunNotFound(f"No saved run {run_id!r}.", hint="Pick one from the Runs page or `rerank-playground runs`.")
    return _record(row)


def list_runs(store: RunStore, collection: str | None = None) -> list[RunRecord]:
    """Every run, newest first."""
    query = sa.select(RUNS).order_by(RUNS.c.started_at.desc(), RUNS.c.run_id)
    if collection is not None:
        query = query.where(RUNS.c.collection == collection)
    with store.read() as conn:
        return [_record(row) for row in conn.execute(query)]


def delete_run(store: RunStore, run_id: str) -> None:
    with store.write() as conn:
        conn.execute(RUN_QUERIES.delete().where(RUN_QUERIES.c.run_id == run_id))
        conn.execute(RUNS.delete().where(RUNS.c.run_id == run_id))


def save_result(store: RunStore, run_id: str, result: QueryResult) -> None:
    """Write one finished (or failed) ordering, replacing an earlier row for the same key (a retry), atomically."""
    save_results(store, run_id, [result])


def save_results(store: RunStore, run_id: str, results: list[QueryResult]) -> None:
    """Write several orderings in ONE transaction (all or none), each replacing an earlier row of its key."""
    for result in results:
        if result.status not in RESULT_STATES:
            raise ValueError(f"unknown result state {result.status!r}")
    with store.write() as conn:
        for result in results:
            _replace_row(conn, run_id, result)


def _replace_row(conn: Connection, run_id: str, result: QueryResult) -> None:
    key = (
        (RUN_QUERIES.c.run_id == run_id) & (RUN_QUERIES.c.setting == result.setting)
        & (RUN_QUERIES.c.query_id == result.query_id) & (RUN_QUERIES.c.ordering == result.ordering)
    )
    conn.execute(RUN_QUERIES.delete().where(key))
    conn.execute(
        RUN_QUERIES.insert().values(
            run_id=run_id, setting=result.setting, query_id=result.query_id, ordering=result.ordering,
            query=result.query, status=result.status, ranking=json.dumps([list(r) for r in result.ranking]),
            metrics=json.dumps(dict(result.metrics)), latency_ms=result.latency_ms, tokens=result.tokens,
            api_calls=result.api_calls, cached=result.cached, attempts=result.attempts, error=result.error,
            finished_at=result.finished_at,
        )
    )


def load_results(store: RunStore, run_id: str) -> list[QueryResult]:
    """Every saved row of the run, in (setting, query id, ordering) order."""
    query = (
        sa.select(RUN_QUERIES).where(RUN_QUERIES.c.run_id == run_id)
        .order_by(RUN_QUERIES.c.setting, RUN_QUERIES.c.query_id, RUN_QUERIES.c.ordering)
    )
    with store.read() as conn:
        rows = conn.execute(query).all()
    return [
        QueryResult(
            setting=row.setting, query_id=row.query_id, query=row.query, ordering=row.ordering, status=row.status,
            ranking=tuple(
                (str(doc), None if score is None else float(score)) for doc, score in json.loads(row.ranking)
            ),
            metrics=json.loads(row.metrics), latency_ms=row.latency_ms, tokens=row.tokens, api_calls=row.api_calls,
            cached=bool(row.cached), attempts=row.attempts, error=row.error,
            finished_at=_utc(row.finished_at) or datetime.now(UTC),
        )
        for row in rows
    ]
