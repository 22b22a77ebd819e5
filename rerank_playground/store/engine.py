"""Where the store lives and how it is reached: the URL rules, the engines, the transactions, the migrating.

- **SQLite** by default: one file, ``$XDG_DATA_HOME/rerank-playground/store.sqlite3`` (``~/.local/share/...`` when
  XDG_DATA_HOME is unset), in WAL mode so readers never wait for the writer, a 30 s busy timeout so concurrent
  writers queue instead of failing, and ``synchronous=FULL`` so a committed grade survives a crash.
- **PostgreSQL** for teams whose app runs on several machines: ``RERANK_PLAYGROUND_DB=postgresql://user@host/db``.

:class:`Database` is what every repository (``store/judgments.py``, ``runs.py``, ...) builds on: ``write()`` and
``read()`` transactions that turn database trouble into ``StoreUnavailable``, and the dialect's INSERT for upserts.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from rerank_playground.errors import StoreUnavailable
from rerank_playground.store.migrations import Migration
from rerank_playground.store.tables import schema_version

ENV_VAR = "RERANK_PLAYGROUND_DB"
BUSY_TIMEOUT_SECONDS = 30.0
_PG_MIGRATION_LOCK = 0x52504C47  # any constant shared by every process: serialises schema upgrades


def default_store_url() -> str:
    """``RERANK_PLAYGROUND_DB`` (a path or a database URL), else the SQLite file in the per-user data folder."""
    configured = os.environ.get(ENV_VAR, "").strip()
    if configured:
        return configured
    data_home = os.environ.get("XDG_DATA_HOME", "").strip() or str(Path.home() / ".local" / "share")
    return f"sqlite:///{Path(data_home) / 'rerank-playground' / 'store.sqlite3'}"


def to_url(location: str) -> sa.URL:
    """A path or a database URL as the URL of a supported engine; ``StoreUnavailable`` saying why not."""
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


def make_engine(url: sa.URL) -> sa.Engine:
    """The engine for ``url`` (from :func:`to_url`): SQLite as described above, or pooled PostgreSQL."""
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})


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


def utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Database:
    """The engine and its transactions; each repository of the store is a subclass adding its tables' methods.

    Thread-safe (one pooled connection per call); every write is one transaction.
    """

    def __init__(self, engine: sa.Engine, url: sa.URL) -> None:
        self.engine = engine
        self.url = url
        self.location = describe_url(url)
        self.dialect = engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
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

        ``with store.write() as connection:`` commits on exit, rolls back on an exception, and turns database
        trouble into StoreUnavailable.
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

    def migrate(self, migrations: tuple[Migration, ...]) -> None:
        """Apply the pending ``migrations`` in one transaction, under a lock several processes may race for."""
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
