"""A throwaway PostgreSQL cluster from Debian's ``postgresql`` package (``make postgres`` installs it), for the
store tests (``tests/fixtures_postgres.py``) and ``benchmarks/store_writes.py``.

:class:`ThrowawayPostgres` runs ``initdb`` + ``pg_ctl`` in a temporary folder on a free loopback port (as the
``postgres`` user when run as root: initdb refuses root). Anything that keeps it from running raises
:class:`PostgresUnavailable` with the reason.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """PostgreSQL is missing or would not start here (the message says why and what to do)."""



def _find_bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise PostgresUnavailable(
            "PostgreSQL is not installed: no /usr/lib/postgresql/*/bin/initdb. Run `make postgres` "
            "(apt-get install postgresql) or set POSTGRES_TEST_URL to a server the tests may create databases on."
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
        raise PostgresUnavailable("Running as root, but there is no 'postgres' user to run initdb as.") from None
    return ["runuser", "-u", "postgres", "--", *command]


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise PostgresUnavailable(f"{what} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")


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
        raise PostgresUnavailable(f"PostgreSQL did not start: {problem}\n{log}")

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
