"""The store of judgments and query sets (and, through later migrations, batch runs).

One SQLAlchemy Core code path for both engines:

- **SQLite** by default: one file, ``$XDG_DATA_HOME/rerank-playground/store.sqlite3`` (``~/.local/share/...`` when
  XDG_DATA_HOME is unset), in WAL mode so readers never wait for the writer, a 30 s busy timeout so concurrent
  writers queue instead of failing, and ``synchronous=FULL`` so a committed grade survives a crash.
- **PostgreSQL** for teams whose app runs on several machines: ``RERANK_PLAYGROUND_DB=postgresql://user@host/db``.

``RERANK_PLAYGROUND_DB`` takes a filesystem path (SQLite) or a database URL. Every write is one transaction and
every upsert is a single ``INSERT .. ON CONFLICT`` statement, so concurrent sessions lose no write. The schema is
versioned: ``open_store`` applies the pending migrations of :mod:`rerank_playground.evaluation.migrations` (see its
docstring for how to add one) under a lock, so several processes may open a fresh database at once.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from rerank_playground.errors import InvalidInput, QuerySetNotFound, StoreUnavailable
from rerank_playground.evaluation.migrations import Migration, check_sequence, discover_migrations
from rerank_playground.evaluation.models import GRADES, SOURCES, Judgment, QuerySet, SetQuery, normalise_query

ENV_VAR = "RERANK_PLAYGROUND_DB"
BUSY_TIMEOUT_SECONDS = 30.0
_PG_MIGRATION_LOCK = 0x52504C47  # any constant shared by every process: serialises schema upgrades
_IN_CHUNK = 500  # bound parameters per IN (...) list

# The current tables, for queries. Schema changes go through a new migration AND an edit here.
metadata = sa.MetaData()
schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)
judgments_table = sa.Table(
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
query_sets_table = sa.Table(
    "query_sets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("collection", sa.Text, nullable=False),
    sa.Column("id_property", sa.Text, nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
set_queries_table = sa.Table(
    "set_queries",
    metadata,
    sa.Column("set_id", sa.Integer, sa.ForeignKey("query_sets.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("query_id", sa.Text, primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("query", sa.Text, nullable=False),
)


def default_store_url() -> str:
    """``RERANK_PLAYGROUND_DB`` (a path or a database URL), else the SQLite file in the per-user data folder."""
    configured = os.environ.get(ENV_VAR, "").strip()
    if configured:
        return configured
    data_home = os.environ.get("XDG_DATA_HOME", "").strip() or str(Path.home() / ".local" / "share")
    return f"sqlite:///{Path(data_home) / 'rerank-playground' / 'store.sqlite3'}"


def _to_url(location: str) -> sa.URL:
    if "://" not in location:  # a filesystem path
        return sa.make_url(f"sqlite:///{Path(location).expanduser().resolve()}")
    try:
        url = sa.make_url(location)
    except (sa.exc.ArgumentError, ValueError):
        raise StoreUnavailable(
            f"{ENV_VAR} is neither a file path nor a database URL.",
            hint="Use a path such as ~/judgments.sqlite3 or a URL such as postgresql://user@host:5432/dbname.",
        ) from None
    backend = url.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise StoreUnavailable(
                "An in-memory SQLite store would forget every judgment and cannot be shared between sessions.",
                hint="Give a file path (sqlite:////absolute/path.sqlite3) instead.",
            )
        return url.set(drivername="sqlite", database=str(Path(url.database).expanduser().resolve()))
    raise StoreUnavailable(
        f"The store supports SQLite and PostgreSQL, not {backend!r}.",
        hint="Use a file path, sqlite:///path or postgresql://user@host:5432/dbname.",
    )


def describe_url(url: sa.URL) -> str:
    """Where the store lives, safe to show (never the password)."""
    if url.get_backend_name() == "sqlite":
        return f"SQLite file {url.database}"
    port = f":{url.port}" if url.port else ""
    return f"PostgreSQL database {url.database or '(default)'} at {url.host or 'localhost'}{port}"


def _driver_message(err: BaseException) -> str:
    original = getattr(err, "orig", None) or err
    first_line = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    return first_line[:300]


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    path = Path(str(url.database))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StoreUnavailable(
            f"Cannot create the folder for the store, {path.parent}: {err.strerror}.",
            hint=f"Make it writable, or set {ENV_VAR} to a writable path or a database URL.",
        ) from None
    engine = sa.create_engine(
        url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False}, pool_pre_ping=False
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling defers BEGIN and cannot BEGIN IMMEDIATE; take it over (the
        # SQLAlchemy-documented recipe) so writes lock up front and wait on the busy timeout instead of failing.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        immediate = connection.get_execution_options().get("write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def open_store(url: str | None = None, *, migrations: Sequence[Migration] | None = None) -> Store:
    """Open (creating and migrating as needed) the store at ``url`` (default: :func:`default_store_url`).

    ``migrations`` defaults to the ones discovered in :mod:`rerank_playground.evaluation.migrations`; tests pass
    their own to simulate an upgrade. Raises :class:`StoreUnavailable` when the store cannot be opened.
    """
    sa_url = _to_url(url if url is not None else default_store_url())
    ordered = check_sequence(tuple(migrations)) if migrations is not None else discover_migrations()
    if sa_url.get_backend_name() == "sqlite":
        engine = _sqlite_engine(sa_url)
    else:
        engine = sa.create_engine(sa_url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    store = Store(engine, sa_url)
    try:
        store._migrate(ordered)
    except BaseException:
        engine.dispose()
        raise
    return store


def _utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _check_grade(grade: int) -> int:
    if isinstance(grade, bool) or not isinstance(grade, int) or grade not in GRADES:
        raise InvalidInput(f"A grade is 0, 1, 2 or 3 (got {grade!r}).", hint="0 not relevant ... 3 perfect.")
    return grade


def _check_text(label: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"The {label} is empty.")
    return value


class Store:
    """Judgments and query sets. Thread-safe (one pooled connection per call); every write is one transaction."""

    metadata = metadata

    def __init__(self, engine: sa.Engine, url: sa.URL) -> None:
        self.engine = engine
        self.url = url
        self.location = describe_url(url)
        self.dialect = engine.dialect.name

    # ------------------------------------------------------------------ plumbing

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Database trouble (server down, disk read-only, lock timeout) becomes a StoreUnavailable."""
        try:
            yield
        except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError) as err:
            raise StoreUnavailable(
                f"The judgments store ({self.location}) is unavailable: {_driver_message(err)}.",
                hint=f"If this was a change, it was not saved. Check the database, or set {ENV_VAR}.",
            ) from None

    @contextlib.contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """One write transaction (on SQLite: BEGIN IMMEDIATE, queued behind other writers by the busy timeout).

        For modules that add tables through a migration (e.g. batch runs): ``with store.write() as connection:``
        commits on exit, rolls back on an exception, and turns database trouble into StoreUnavailable.
        """
        with self._guard(), self.engine.connect() as connection:
            connection.execution_options(write=True)
            with connection.begin():
                yield connection

    @contextlib.contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """One read-only transaction."""
        with self._guard(), self.engine.connect() as connection, connection.begin():
            yield connection

    def insert(self, table: sa.Table) -> Any:
        """``table``'s dialect-specific INSERT, which has ``on_conflict_do_update`` / ``_do_nothing`` on both
        engines (the way to write an upsert that loses nothing under concurrency)."""
        return (pg_dialect.insert if self.dialect == "postgresql" else sqlite_dialect.insert)(table)

    def schema_version(self) -> int:
        with self.read() as connection:
            return int(connection.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0)

    def _migrate(self, migrations: tuple[Migration, ...]) -> None:
        try:
            with self.engine.connect() as connection:
                connection.execution_options(write=True)
                with connection.begin():
                    if self.dialect == "postgresql":
                        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
                    schema_version.create(connection, checkfirst=True)
                    current = connection.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0
                    known = migrations[-1].version if migrations else 0
                    if current > known:
                        raise StoreUnavailable(
                            f"The store ({self.location}) was made by a newer Rerank Playground "
                            f"(schema version {current}; this version knows up to {known}).",
                            hint=f"Upgrade the app, or set {ENV_VAR} to another database.",
                        )
                    for migration in migrations[current:]:
                        migration.upgrade(connection)
                        connection.execute(
                            schema_version.insert().values(
                                version=migration.version,
                                description=migration.description,
                                applied_at=datetime.now(UTC),
                            )
                        )
        except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.ProgrammingError) as err:
            raise StoreUnavailable(
                f"Cannot open the judgments store ({self.location}): {_driver_message(err)}.",
                hint=(
                    f"Check that it exists and is writable (or that the server is up), or set {ENV_VAR} to a "
                    "writable file path or a database URL. The rest of the app works without it."
                ),
            ) from None

    # ------------------------------------------------------------------ judgments

    def set_grade(
        self,
        collection: str,
        query: str,
        doc_id: str,
        grade: int,
        *,
        judge: str | None = None,
        source: str = "person",
        id_property: str | None = None,
    ) -> Judgment:
        """Record (or replace) the grade of ``doc_id`` for ``query``; the last write wins."""
        if source not in SOURCES:
            raise InvalidInput(f"A judgment's source is 'person' or 'imported' (got {source!r}).")
        judgment = Judgment(
            collection=_check_text("collection", collection),
            query=normalise_query(_check_text("query", query)),
            doc_id=_check_text("document id", doc_id),
            grade=_check_grade(grade),
            judge=(judge or "").strip() or None,
            source=source,
            judged_at=datetime.now(UTC),
        )
        with self.write() as connection:
            connection.execute(self._upsert_judgments(), [self._judgment_row(judgment, id_property)])
        return judgment

    def _judgment_row(self, judgment: Judgment, id_property: str | None) -> dict[str, Any]:
        return {
            "collection": judgment.collection,
            "id_property": id_property or "",
            "query": judgment.query,
            "doc_id": judgment.doc_id,
            "grade": judgment.grade,
            "judge": judgment.judge,
            "source": judgment.source,
            "judged_at": judgment.judged_at,
        }

    def _upsert_judgments(self, *, keep_person_grades: bool = False) -> Any:
        insert = self.insert(judgments_table)
        excluded = insert.excluded
        return insert.on_conflict_do_update(
            index_elements=["collection", "id_property", "query", "doc_id"],
            set_={
                "grade": excluded.grade,
                "judge": excluded.judge,
                "source": excluded.source,
                "judged_at": excluded.judged_at,
            },
            where=(judgments_table.c.source != "person") if keep_person_grades else None,
        )

    def clear_grade(self, collection: str, query: str, doc_id: str, *, id_property: str | None = None) -> None:
        with self.write() as connection:
            connection.execute(
                judgments_table.delete().where(
                    judgments_table.c.collection == collection,
                    judgments_table.c.id_property == (id_property or ""),
                    judgments_table.c.query == normalise_query(query),
                    judgments_table.c.doc_id == doc_id,
                )
            )

    def grades(self, collection: str, query: str, *, id_property: str | None = None) -> dict[str, int]:
        """doc_id -> grade for one query."""
        return {j.doc_id: j.grade for j in self.judgments(collection, query, id_property=id_property)}

    def judgments(self, collection: str, query: str | None = None, *, id_property: str | None = None) -> list[Judgment]:
        """The judgments of a collection (of one query when given), oldest first."""
        table = judgments_table
        statement = sa.select(table).where(table.c.collection == collection, table.c.id_property == (id_property or ""))
        if query is not None:
            statement = statement.where(table.c.query == normalise_query(query))
        statement = statement.order_by(table.c.judged_at, table.c.query, table.c.doc_id)
        with self.read() as connection:
            rows = connection.execute(statement).mappings().all()
        return [
            Judgment(
                collection=row["collection"],
                query=row["query"],
                doc_id=row["doc_id"],
                grade=int(row["grade"]),
                judge=row["judge"],
                source=row["source"],
                judged_at=_utc(row["judged_at"]),
            )
            for row in rows
        ]

    # ------------------------------------------------------------------ query sets

    def save_query_set(self, query_set: QuerySet) -> None:
        """Create or replace (by name) a query set."""
        with self.write() as connection:
            self._save_query_set(connection, query_set)

    def _save_query_set(self, connection: sa.Connection, query_set: QuerySet) -> int:
        _check_text("query set name", query_set.name)
        _check_text("collection", query_set.collection)
        seen_ids: set[str] = set()
        seen_texts: dict[str, str] = {}
        for query in query_set.queries:
            _check_text("query id", query.query_id)
            norm = normalise_query(_check_text(f"text of query {query.query_id!r}", query.text))
            if query.query_id in seen_ids:
                raise InvalidInput(f"Query id {query.query_id!r} appears twice in {query_set.name!r}.")
            if norm in seen_texts:
                raise InvalidInput(
                    f"Queries {seen_texts[norm]!r} and {query.query_id!r} of {query_set.name!r} are the same query."
                )
            seen_ids.add(query.query_id)
            seen_texts[norm] = query.query_id
        insert = self.insert(query_sets_table)
        set_id = connection.execute(
            insert.on_conflict_do_update(
                index_elements=["name"],
                set_={
                    "collection": insert.excluded.collection,
                    "id_property": insert.excluded.id_property,
                    "updated_at": insert.excluded.updated_at,
                },
            ).returning(query_sets_table.c.id),
            {
                "name": query_set.name,
                "collection": query_set.collection,
                "id_property": query_set.id_property or None,
                "updated_at": datetime.now(UTC),
            },
        ).scalar_one()
        connection.execute(set_queries_table.delete().where(set_queries_table.c.set_id == set_id))
        if query_set.queries:
            connection.execute(
                set_queries_table.insert(),
                [
                    {
                        "set_id": set_id,
                        "query_id": query.query_id,
                        "position": position,
                        "text": query.text.strip(),
                        "query": normalise_query(query.text),
                    }
                    for position, query in enumerate(query_set.queries)
                ],
            )
        return int(set_id)

    def query_set(self, name: str) -> QuerySet:
        with self.read() as connection:
            found = self._load_sets(connection, query_sets_table.c.name == name)
        if not found:
            raise QuerySetNotFound(name)
        return found[0]

    def query_sets(self, collection: str | None = None) -> list[QuerySet]:
        """All query sets (of one collection when given), by name."""
        condition = query_sets_table.c.collection == collection if collection is not None else sa.true()
        with self.read() as connection:
            return self._load_sets(connection, condition)

    def _load_sets(self, connection: sa.Connection, condition: Any) -> list[QuerySet]:
        sets = (
            connection.execute(sa.select(query_sets_table).where(condition).order_by(query_sets_table.c.name))
            .mappings()
            .all()
        )
        if not sets:
            return []
        by_set: dict[int, list[SetQuery]] = {row["id"]: [] for row in sets}
        rows = connection.execute(
            sa.select(set_queries_table.c.set_id, set_queries_table.c.query_id, set_queries_table.c.text)
            .where(set_queries_table.c.set_id.in_(list(by_set)))
            .order_by(set_queries_table.c.set_id, set_queries_table.c.position)
        ).all()
        for set_id, query_id, text in rows:
            by_set[set_id].append(SetQuery(query_id=query_id, text=text))
        return [
            QuerySet(
                name=row["name"],
                collection=row["collection"],
                queries=tuple(by_set[row["id"]]),
                id_property=row["id_property"],
            )
            for row in sets
        ]

    def add_query(self, set_name: str, text: str) -> SetQuery:
        """Append a query to a set (the existing one when the set already has that query)."""
        norm = normalise_query(_check_text("query", text))
        with self.write() as connection:
            set_id = connection.execute(
                sa.select(query_sets_table.c.id).where(query_sets_table.c.name == set_name).with_for_update()
            ).scalar()
            if set_id is None:
                raise QuerySetNotFound(set_name)
            rows = connection.execute(
                sa.select(set_queries_table.c.query_id, set_queries_table.c.text, set_queries_table.c.query).where(
                    set_queries_table.c.set_id == set_id
                )
            ).all()
            for query_id, existing_text, existing_norm in rows:
                if existing_norm == norm:
                    return SetQuery(query_id=query_id, text=existing_text)
            taken = {query_id for query_id, _, _ in rows}
            number = len(rows) + 1
            while f"q{number}" in taken:
                number += 1
            query = SetQuery(query_id=f"q{number}", text=text.strip())
            connection.execute(
                set_queries_table.insert().values(
                    set_id=set_id, query_id=query.query_id, position=len(rows), text=query.text, query=norm
                )
            )
            connection.execute(
                query_sets_table.update().where(query_sets_table.c.id == set_id).values(updated_at=datetime.now(UTC))
            )
        return query

    def delete_query_set(self, name: str) -> None:
        """Delete a set (its judgments stay: they belong to the collection's queries, not to the set)."""
        with self.write() as connection:
            set_id = connection.execute(
                sa.select(query_sets_table.c.id).where(query_sets_table.c.name == name)
            ).scalar()
            if set_id is None:
                raise QuerySetNotFound(name)
            connection.execute(set_queries_table.delete().where(set_queries_table.c.set_id == set_id))
            connection.execute(query_sets_table.delete().where(query_sets_table.c.id == set_id))

    def qrels(self, query_set: QuerySet) -> dict[str, dict[str, int]]:
        """query_id -> doc_id -> grade, from the judgments of the set's collection (and id space) and queries.

        Every query of the set has an entry, empty when it has no judgment yet.
        """
        ids_by_query: dict[str, list[str]] = {}
        for query in query_set.queries:
            ids_by_query.setdefault(normalise_query(query.text), []).append(query.query_id)
        result: dict[str, dict[str, int]] = {query.query_id: {} for query in query_set.queries}
        table = judgments_table
        texts = list(ids_by_query)
        with self.read() as connection:
            for start in range(0, len(texts), _IN_CHUNK):
                rows = connection.execute(
                    sa.select(table.c.query, table.c.doc_id, table.c.grade).where(
                        table.c.collection == query_set.collection,
                        table.c.id_property == (query_set.id_property or ""),
                        table.c.query.in_(texts[start : start + _IN_CHUNK]),
                    )
                ).all()
                for query_text, doc_id, grade in rows:
                    for query_id in ids_by_query[query_text]:
                        result[query_id][doc_id] = int(grade)
        return result

    def import_query_set(
        self,
        query_set: QuerySet,
        grades: Iterable[tuple[str, str, int]],
        *,
        judge: str | None = None,
        keep_person_grades: bool = False,
    ) -> None:
        """Save ``query_set`` and its ``(query text, doc_id, grade)`` judgments in ONE transaction: all or nothing.

        ``keep_person_grades`` leaves grades a person gave untouched (the demo loader, run again).
        """
        now = datetime.now(UTC)
        rows = [
            self._judgment_row(
                Judgment(
                    collection=query_set.collection,
                    query=normalise_query(_check_text("query", text)),
                    doc_id=_check_text("document id", doc_id),
                    grade=_check_grade(grade),
                    judge=(judge or "").strip() or None,
                    source="imported",
                    judged_at=now,
                ),
                query_set.id_property,
            )
            for text, doc_id, grade in grades
        ]
        with self.write() as connection:
            self._save_query_set(connection, query_set)
            for start in range(0, len(rows), _IN_CHUNK):
                connection.execute(
                    self._upsert_judgments(keep_person_grades=keep_person_grades), rows[start : start + _IN_CHUNK]
                )
