"""Schema version 2: batch evaluation runs (a frozen snapshot: never edit once shipped)."""

from __future__ import annotations

import sqlalchemy as sa

from rerank_playground.store.migrations import Migration


def upgrade(connection: sa.Connection) -> None:
    snapshot = sa.MetaData()
    sa.Table(
        "runs",
        snapshot,
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("collection", sa.Text, nullable=False),
        sa.Column("query_set", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("plan", sa.Text, nullable=False),  # JSON: query set snapshot, settings, rerankers, k, measures
        sa.Column("qrels", sa.Text, nullable=False),  # JSON snapshot: query_id -> doc_id -> grade
        sa.Column("app_version", sa.Text, nullable=False),
        sa.Column("server_version", sa.Text, nullable=False),
        sa.Column("object_count", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    )
    sa.Table(
        "run_queries",
        snapshot,
        sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("setting", sa.Integer, primary_key=True),
        sa.Column("query_id", sa.Text, primary_key=True),
        sa.Column("ordering", sa.Text, primary_key=True),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("ranking", sa.Text, nullable=False),  # JSON [[doc_id, score|null], ...] best first
        sa.Column("metrics", sa.Text, nullable=False),  # JSON measure -> value
        sa.Column("latency_ms", sa.Float, nullable=True),
        sa.Column("tokens", sa.Integer, nullable=True),
        sa.Column("api_calls", sa.Integer, nullable=False),
        sa.Column("cached", sa.Boolean, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('done', 'failed')", name="run_queries_status"),
    )
    snapshot.create_all(connection)


MIGRATION = Migration(version=2, description="batch evaluation runs", upgrade=upgrade)
