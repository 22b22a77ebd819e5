"""Batch runs in the store (tables ``runs`` and ``run_queries``, schema version 2).

Each finished row is its own transaction, so a crash loses at most the rows being written; a resume skips every
``done`` row. The run's plan, qrels, ranking and metrics are JSON text.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from rerank_playground.errors import RunNotFound
from rerank_playground.evaluation.runs import RESULT_STATES, RUN_STATES, QueryResult, RunRecord
from rerank_playground.store import tables
from rerank_playground.store.engine import Database

SCHEMA_VERSION = 2  # the store's migration that adds these tables


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _record(row: Any) -> RunRecord:
    return RunRecord(
        run_id=row.run_id, name=row.name, collection=row.collection, query_set=row.query_set, status=row.status,
        plan=json.loads(row.plan), qrels=json.loads(row.qrels), app_version=row.app_version,
        server_version=row.server_version, object_count=row.object_count,
        started_at=_utc(row.started_at) or datetime.now(UTC), ended_at=_utc(row.ended_at), message=row.message,
    )


def _replace_row(conn: sa.Connection, run_id: str, result: QueryResult) -> None:
    table = tables.run_queries
    key = (
        (table.c.run_id == run_id) & (table.c.setting == result.setting)
        & (table.c.query_id == result.query_id) & (table.c.ordering == result.ordering)
    )
    conn.execute(table.delete().where(key))
    conn.execute(
        table.insert().values(
            run_id=run_id, setting=result.setting, query_id=result.query_id, ordering=result.ordering,
            query=result.query, status=result.status, ranking=json.dumps([list(r) for r in result.ranking]),
            metrics=json.dumps(dict(result.metrics)), latency_ms=result.latency_ms, tokens=result.tokens,
            api_calls=result.api_calls, cached=result.cached, attempts=result.attempts, error=result.error,
            finished_at=result.finished_at,
        )
    )


class Runs(Database):
    """Batch runs and their per-ordering results."""

    def create_run(self, record: RunRecord) -> None:
        with self.write() as conn:
            conn.execute(
                tables.runs.insert().values(
                    run_id=record.run_id, name=record.name, collection=record.collection,
                    query_set=record.query_set, status=record.status, message=record.message,
                    plan=json.dumps(record.plan), qrels=json.dumps(record.qrels), app_version=record.app_version,
                    server_version=record.server_version, object_count=record.object_count,
                    started_at=record.started_at, ended_at=record.ended_at,
                )
            )

    def set_run_status(self, run_id: str, status: str, *, message: str = "", ended: bool = False) -> None:
        if status not in RUN_STATES:
            raise ValueError(f"unknown run state {status!r}")
        values: dict[str, Any] = {"status": status, "message": message}
        values["ended_at"] = datetime.now(UTC) if ended else None
        with self.write() as conn:
            conn.execute(tables.runs.update().where(tables.runs.c.run_id == run_id).values(**values))

    def get_run(self, run_id: str) -> RunRecord:
        with self.read() as conn:
            row = conn.execute(sa.select(tables.runs).where(tables.runs.c.run_id == run_id)).first()
        if row is None:
            raise RunNotFound(
                f"No saved run {run_id!r}.", hint="Pick one from the Runs page or `rerank-playground runs`."
            )
        return _record(row)

    def list_runs(self, collection: str | None = None) -> list[RunRecord]:
        """Every run, newest first."""
        runs = tables.runs
        query = sa.select(runs).order_by(runs.c.started_at.desc(), runs.c.run_id)
        if collection is not None:
            query = query.where(runs.c.collection == collection)
        with self.read() as conn:
            return [_record(row) for row in conn.execute(query)]

    def delete_run(self, run_id: str) -> None:
        with self.write() as conn:
            conn.execute(tables.run_queries.delete().where(tables.run_queries.c.run_id == run_id))
            conn.execute(tables.runs.delete().where(tables.runs.c.run_id == run_id))

    def save_result(self, run_id: str, result: QueryResult) -> None:
        """Write one finished (or failed) ordering, replacing an earlier row for the same key (a retry), atomically."""
        self.save_results(run_id, [result])

    def save_results(self, run_id: str, results: list[QueryResult]) -> None:
        """Write several orderings in ONE transaction (all or none), each replacing an earlier row of its key."""
        for result in results:
            if result.status not in RESULT_STATES:
                raise ValueError(f"unknown result state {result.status!r}")
        with self.write() as conn:
            for result in results:
                _replace_row(conn, run_id, result)

    def load_results(self, run_id: str) -> list[QueryResult]:
        """Every saved row of the run, in (setting, query id, ordering) order."""
        table = tables.run_queries
        query = (
            sa.select(table).where(table.c.run_id == run_id)
            .order_by(table.c.setting, table.c.query_id, table.c.ordering)
        )
        with self.read() as conn:
            rows = conn.execute(query).all()
        return [
            QueryResult(
                setting=row.setting, query_id=row.query_id, query=row.query, ordering=row.ordering,
                status=row.status,
                ranking=tuple(
                    (str(doc), None if score is None else float(score)) for doc, score in json.loads(row.ranking)
                ),
                metrics=json.loads(row.metrics), latency_ms=row.latency_ms, tokens=row.tokens,
                api_calls=row.api_calls, cached=bool(row.cached), attempts=row.attempts, error=row.error,
                finished_at=_utc(row.finished_at) or datetime.now(UTC),
            )
            for row in rows
        ]
