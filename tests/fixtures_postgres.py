"""pytest fixtures for a real PostgreSQL (Debian's ``postgresql`` package; ``make postgres`` installs it).

- ``postgres_server`` (session): a throwaway cluster in a temporary folder on a free loopback port, started with
  ``initdb`` + ``pg_ctl`` (as the ``postgres`` user when the tests run as root: initdb refuses root) and stopped at
  the end of the session, also when tests fail. ``POSTGRES_TEST_URL`` (an existing server where the tests may
  create databases) is used instead when set. A missing PostgreSQL is a failure with a clear message, never a skip.
- ``postgres_database_url`` (function): a fresh, empty database on that server (dropped afterwards).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from testkit.postgres import PostgresUnavailable, ThrowawayPostgres

STARTED: dict[str, str] = {}


def _throwaway_cluster() -> ThrowawayPostgres:
    """A started cluster; a PostgreSQL that cannot run is a failure with the reason, never a skip."""
    try:
        cluster = ThrowawayPostgres()
    except PostgresUnavailable as err:
        pytest.fail(str(err), pytrace=False)
    try:
        cluster.start()
    except PostgresUnavailable as err:
        cluster.remove()
        pytest.fail(str(err), pytrace=False)
    return cluster


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A URL (``postgresql+psycopg://postgres@127.0.0.1:PORT/postgres``) of a running server."""
    external = os.environ.get("POSTGRES_TEST_URL")
    if external:
        STARTED["postgresql"] = "external (POSTGRES_TEST_URL)"
        yield external
        return
    cluster = _throwaway_cluster()
    try:
        STARTED["postgresql"] = f"throwaway cluster on 127.0.0.1:{cluster.port} ({cluster.bin_dir.parent.name})"
        yield cluster.url
    finally:
        cluster.remove()


@pytest.fixture
def own_postgres() -> Iterator[ThrowawayPostgres]:
    """A cluster of the test's own, to stop and start (the session one is shared)."""
    cluster = _throwaway_cluster()
    try:
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def postgres_database_url(postgres_server: str) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield sa.make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if STARTED:
        terminalreporter.write_line(f"postgresql: {STARTED['postgresql']}")
