"""pytest fixtures for a real PostgreSQL (Debian's ``postgresql`` package; ``make postgres`` installs it).

- ``postgres_server`` (session): a throwaway cluster in a temporary folder on a free loopback port, started with
  ``initdb`` + ``pg_ctl`` (as the ``postgres`` user when the tests run as root: initdb refuses root) and stopped at
  the end of the session, also when tests fail. ``POSTGRES_TEST_URL`` (an existing server where the tests may
  create databases) is used instead when set. A missing PostgreSQL is a failure with a clear message, never a skip.
- ``postgres_database_url`` (function): a fresh, empty database on that server (dropped afterwards).
- ``store_url`` (function, parametrized "sqlite" / "postgresql"): a URL for a brand-new store on either engine.
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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A URL (``postgresql+psycopg://postgres@127.0.0.1:PORT/postgres``) of a running server."""
    external = os.environ.get("POSTGRES_TEST_URL")
    if external:
        STARTED["postgresql"] = "external (POSTGRES_TEST_URL)"
        yield external
        return
    bin_dir = _find_bin_dir()
    root = Path(tempfile.mkdtemp(prefix="rp-postgres-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    started = False
    try:
        _run(
            _as_owner([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8"]),
            "initdb",
        )
        for _attempt in range(3):  # another process may take the free port between the check and the start
            port = _free_port()
            options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
            done = subprocess.run(
                _as_owner(
                    [
                        str(bin_dir / "pg_ctl"),
                        "-D",
                        str(data),
                        "-l",
                        str(root / "server.log"),
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
                started = True
                break
        if not started:
            log = (root / "server.log").read_text(errors="replace")[-2000:] if (root / "server.log").exists() else ""
            pytest.fail(f"PostgreSQL did not start: {done.stderr.strip()}\n{log}", pytrace=False)
        STARTED["postgresql"] = f"throwaway cluster on 127.0.0.1:{port} ({bin_dir.parent.name}), data {data}"
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
            subprocess.run(
                _as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                capture_output=True,
                timeout=120,
            )
        shutil.rmtree(root, ignore_errors=True)


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


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A brand-new store on each engine: the same tests run against SQLite and a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    return str(request.getfixturevalue("postgres_database_url"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if STARTED:
        terminalreporter.write_line(f"postgresql: {STARTED['postgresql']}")
