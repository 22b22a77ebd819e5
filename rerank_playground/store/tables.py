"""The store's tables as they are now, declared once: every query uses these.

The migrations (``store/migrations/``) are the frozen history that built them; a schema change is a new migration
AND an edit here (``tests/integration/test_evaluation_store.py`` checks a fresh database has exactly these
columns).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)

# ------------------------------------------------------------------ judgments and query sets (version 1)

judgments = sa.Table(
    "judgments",
    metadata,
    sa.Column("collection", sa.Text, primary_key=True),
    sa.Column("id_property", sa.Text, primary_key=True),  # "" = Weaviate uuids
    sa.Column("query", sa.Text, primary_key=True),  # normalised
    sa.Column("doc_id", sa.Text, primary_key=True),
    sa.Column("grade", sa.SmallInteger, nullable=False),
    sa.Column("judge", sa.Text, nullable=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("judged_at", sa.DateTime(timezone=True), nullable=False),
)
query_sets = sa.Table(
    "query_sets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("collection", sa.Text, nullable=False),
    sa.Column("id_property", sa.Text, nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
set_queries = sa.Table(
    "set_queries",
    metadata,
    sa.Column("set_id", sa.Integer, sa.ForeignKey("query_sets.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("query_id", sa.Text, primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("query", sa.Text, nullable=False),  # normalised text, the query's identity
)

# ------------------------------------------------------------------ batch runs (version 2)

runs = sa.Table(
    "runs",
    metadata,
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
run_queries = sa.Table(
    "run_queries",
    metadata,
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
)

# ------------------------------------------------------------------ stories and blind A/B picks (version 3)

stories = sa.Table(
    "stories",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
story_views = sa.Table(
    "story_views",
    metadata,
    sa.Column("story_id", sa.Integer, sa.ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("view", sa.Text, nullable=False),  # the view as JSON (presentation.stories.view_to_dict)
)
preferences = sa.Table(
    "preferences",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("collection", sa.Text, nullable=False),
    sa.Column("query", sa.Text, nullable=False),  # normalised
    sa.Column("story", sa.Text, nullable=True),
    sa.Column("a_label", sa.Text, nullable=False),
    sa.Column("b_label", sa.Text, nullable=False),
    sa.Column("picked", sa.String(8), nullable=False),
    sa.Column("picked_at", sa.DateTime(timezone=True), nullable=False),
)
