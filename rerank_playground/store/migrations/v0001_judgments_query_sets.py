"""Schema version 1: judgments and query sets (a frozen snapshot: never edit once shipped)."""

from __future__ import annotations

import sqlalchemy as sa

from rerank_playground.store.migrations import Migration


def upgrade(connection: sa.Connection) -> None:
    snapshot = sa.MetaData()
    sa.Table(
        "judgments",
        snapshot,
        sa.Column("collection", sa.Text, primary_key=True),
        # "" = doc ids are Weaviate uuids; otherwise the property whose values they are (e.g. "article_id").
        sa.Column("id_property", sa.Text, primary_key=True),
        sa.Column("query", sa.Text, primary_key=True),
        sa.Column("doc_id", sa.Text, primary_key=True),
        sa.Column("grade", sa.SmallInteger, nullable=False),
        sa.Column("judge", sa.Text, nullable=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("judged_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("grade BETWEEN 0 AND 3", name="judgments_grade_0_3"),
        sa.CheckConstraint("source IN ('person', 'imported')", name="judgments_source"),
    )
    sa.Table(
        "query_sets",
        snapshot,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("collection", sa.Text, nullable=False),
        sa.Column("id_property", sa.Text, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    sa.Table(
        "set_queries",
        snapshot,
        sa.Column("set_id", sa.Integer, sa.ForeignKey("query_sets.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("query_id", sa.Text, primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("query", sa.Text, nullable=False),  # normalised text, the query's identity
        sa.UniqueConstraint("set_id", "query", name="set_queries_unique_text"),
    )
    snapshot.create_all(connection)


MIGRATION = Migration(version=1, description="judgments and query sets", upgrade=upgrade)
