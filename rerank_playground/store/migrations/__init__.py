"""Forward-only schema migrations of the store, discovered from this package.

Each module here named ``vNNNN_<what>.py`` defines ``MIGRATION = Migration(version=N, description=..., upgrade=fn)``;
``fn(connection)`` runs inside the one transaction that also records the version in ``schema_version``, so a
migration is applied completely or not at all. Versions are 1, 2, 3, ... with no gaps.

To add a migration (say, a notes table), add ONE new file, ``v0004_notes.py``::

    import sqlalchemy as sa
    from rerank_playground.store.migrations import Migration

    def upgrade(connection: sa.Connection) -> None:
        snapshot = sa.MetaData()   # the tables as they are at THIS version (later migrations may alter them)
        sa.Table("notes", snapshot, sa.Column("id", sa.Integer, primary_key=True), ...)
        snapshot.create_all(connection)

    MIGRATION = Migration(version=4, description="notes", upgrade=upgrade)

then declare the table as it now is, once, in ``store/tables.py`` (what queries use) and give it a repository
module beside the others (``store/notes.py``, mixed into ``Store``).
Never edit a migration that has shipped: databases made with it exist. Write DDL that
works on both SQLite and PostgreSQL (SQLAlchemy Core types, no raw dialect SQL), and test it on both.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

_MODULE_NAME = re.compile(r"^v(\d{4})_\w+$")


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    upgrade: Callable[[sa.Connection], None]


def discover_migrations() -> tuple[Migration, ...]:
    """Every migration module of this package, in version order; checks the numbering has no gap or clash."""
    found: list[Migration] = []
    for info in pkgutil.iter_modules(__path__):
        match = _MODULE_NAME.match(info.name)
        if not match:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        migration = module.MIGRATION
        if migration.version != int(match.group(1)):
            raise RuntimeError(f"{info.name} declares version {migration.version}; its file name says otherwise")
        found.append(migration)
    return check_sequence(found)


def check_sequence(migrations: list[Migration] | tuple[Migration, ...]) -> tuple[Migration, ...]:
    ordered = tuple(sorted(migrations, key=lambda m: m.version))
    versions = [m.version for m in ordered]
    if versions != list(range(1, len(ordered) + 1)):
        raise RuntimeError(f"schema migrations must be numbered 1, 2, 3, ... without gaps; found {versions}")
    return ordered
