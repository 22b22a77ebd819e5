"""pytest fixtures for a real PostgreSQL (Debian's ``postgresql`` package; ``make postgres`` installs it).

- ``postgres_server`` (session): a throwaway cluster in a temporary folder on a free loopback port, started with
  ``initdb`` + ``pg_ctl`` (as the ``postgres`` user when the tests run as root: initdb refuses root) and stopped at
  the end of the session, also when tests fail. ``POSTGRES_TEST_URL`` (an existing server where the tests may
  create databases) is used instead when set. A missing PostgreSQL is a failure with a clear message, never a skip.
- ``postgres_database_url`` (function): a fresh, empty database on that server (dropped afterwards).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

STARTED: dict[str, str] = {}


def _find_bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        pytest.fail(
            "PostgreSQL is not installed: no /usr/lib/postgresql/*/bin/initdb. Run `make postgres` "
            "(apt-get install postgresql) or set POSTGRES_TEST_URL to a server the tests may create databases on.",
            pytrace=False,
        )
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("Running as root, but there is no 'postgres' user to run initdb as.", pytrace=False)
    return ["runuser", "-u", "postgres", "--", *command]


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        pytest.fail(f"{what} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}", pytrace=False)


class ThrowawayPostgres:
    """A PostgreSQL cluster in a temporary folder on a free loopback port; ``stop()`` keeps the data for a
    ``start()`` again, ``remove()`` stops it and deletes everything."""

    def __init__(self) -> None:
        self.bin_dir = _find_bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="rp-postgres-"))
        self.data = self.root / "data"
        self.port = 0
        self.running = False
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        _run(
            _as_owner(
                [str(self.bin_dir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8"]
            ),
            "initdb",
        )

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        problem = ""
        for _attempt in range(3):  # another process may take the free port between the check and the start
            port = self.port or _free_port()
            options = f"-p {port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
            done = subprocess.run(
                _as_owner(
                    [
                        str(self.bin_dir / "pg_ctl"),
                        "-D",
                        str(self.data),
                        "-l",
                        str(self.root / "server.log"),
                        "-o",
                        options,
                        "-w",
                        "-t",
                        "60",
                        "start",
                    ]
                ),
                capture_output=True,
                text=True,
                timeout=120,
            )
            if done.returncode == 0:
                self.port, self.running = port, True
                return
            problem = done.stderr.strip()
        log_file = self.root / "server.log"
        log = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
        pytest.fail(f"PostgreSQL did not start: {problem}\n{log}", pytrace=False)

    def stop(self) -> None:
        if self.running:
            subprocess.run(
                _as_owner([str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]),
                capture_output=True,
                timeout=120,
            )
            self.running = False

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A URL (``postgresql+psycopg://postgres@127.0.0.1:PORT/postgres``) of a running server."""
    external = os.environ.get("POSTGRES_TEST_URL")
    if external:
        STARTED["postgresql"] = "external (POSTGRES_TEST_URL)"
        yield external
        return
    cluster = ThrowawayPostgres()
    try:
        cluster.start()
        STARTED["postgresql"] = f"throwaway cluster on 127.0.0.1:{cluster.port} ({cluster.bin_dir.parent.name})"
        yield cluster.url
    finally:
        cluster.remove()


@pytest.fixture
def own_postgres() -> Iterator[ThrowawayPostgres]:
    """A cluster of the test's own, to stop and start (the session one is shared)."""
    cluster = ThrowawayPostgres()
    try:
        cluster.start()
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
