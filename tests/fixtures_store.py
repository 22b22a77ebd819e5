"""pytest fixtures for the store (rerank_playground/store/).

- ``isolated_default_store`` (session, autouse): points ``RERANK_PLAYGROUND_DB`` at a file in the session's
  temporary folder (unless the run already sets it), so no test, app under test or script it starts ever reads
  or writes the user's real store in ``~/.local/share``.
- ``store_url`` (function, parametrized "sqlite" / "postgresql"): a URL for a brand-new store on either engine.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def isolated_default_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("RERANK_PLAYGROUND_DB")
    if configured:
        yield configured
        return
    path = str(tmp_path_factory.mktemp("store") / "store.sqlite3")
    os.environ["RERANK_PLAYGROUND_DB"] = path
    try:
        yield path
    finally:
        os.environ.pop("RERANK_PLAYGROUND_DB", None)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A brand-new store on each engine: the same tests run against SQLite and a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    return str(request.getfixturevalue("postgres_database_url"))
