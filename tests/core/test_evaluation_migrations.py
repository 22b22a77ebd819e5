"""store/migrations: discovery from the package, numbered 1, 2, 3, ... without gaps or clashes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from rerank_playground.store.migrations import Migration, check_sequence, discover_migrations


def _noop(connection: sa.Connection) -> None:
    del connection


def test_discovered_migrations_start_at_one_with_no_gap() -> None:
    found = discover_migrations()
    assert [m.version for m in found] == list(range(1, len(found) + 1))
    assert found[0].description == "judgments and query sets"


def test_gaps_and_clashes_are_refused() -> None:
    one, two, three = (Migration(v, f"m{v}", _noop) for v in (1, 2, 3))
    assert check_sequence([two, one]) == (one, two)
    with pytest.raises(RuntimeError, match="without gaps"):
        check_sequence([one, three])
    with pytest.raises(RuntimeError, match="without gaps"):
        check_sequence([one, two, Migration(2, "clash", _noop)])
