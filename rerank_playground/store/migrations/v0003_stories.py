"""Schema version 3: stories (ordered saved views) and the room's blind A/B picks (frozen once shipped)."""

from __future__ import annotations

import sqlalchemy as sa

from rerank_playground.store.migrations import Migration


def upgrade(connection: sa.Connection) -> None:
    snapshot = sa.MetaData()
    sa.Table(
        "stories",
        snapshot,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    sa.Table(
        "story_views",
        snapshot,
        sa.Column("story_id", sa.Integer, sa.ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("view", sa.Text, nullable=False),  # the view as JSON (stories.view_to_dict)
    )
    sa.Table(
        "preferences",
        snapshot,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("collection", sa.Text, nullable=False),
        sa.Column("query", sa.Text, nullable=False),  # normalised
        sa.Column("story", sa.Text, nullable=True),
        sa.Column("a_label", sa.Text, nullable=False),
        sa.Column("b_label", sa.Text, nullable=False),
        sa.Column("picked", sa.String(8), nullable=False),
        sa.Column("picked_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("picked IN ('a', 'b', 'tie')", name="preferences_picked"),
    )
    snapshot.create_all(connection)


MIGRATION = Migration(version=3, description="stories and blind A/B preferences", upgrade=upgrade)
