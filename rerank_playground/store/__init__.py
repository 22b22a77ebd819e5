"""The store: judgments, query sets, batch runs and stories, in SQLite or PostgreSQL through SQLAlchemy Core.

``open_store`` is the entry point: it opens the database named by ``RERANK_PLAYGROUND_DB`` (a filesystem path
for SQLite, or a database URL; default: a SQLite file in the per-user data folder) and applies the pending
schema migrations under a lock, so several processes may open a fresh database at once::

    from rerank_playground.store import open_store

    with open_store("~/judgments.sqlite3") as store:
        store.set_grade("DemoWiki", "animal behaviour", doc_id="u1", grade=3, judge="ana")
        store.grades("DemoWiki", "animal behaviour")  # {"u1": 3}

The package, one module per concern:

- ``engine``      URL rules, the SQLite/PostgreSQL engines, transactions, migrating (``Database``)
- ``tables``      the current tables, declared once (what every query uses)
- ``migrations/`` the frozen history that built them, one file per schema version
- ``judgments``, ``query_sets``, ``runs``, ``stories``: one repository each, a ``Database`` subclass whose
  methods read and write its tables; :class:`Store` is all of them, so every caller writes ``store.<method>``.

Every write is one transaction and every upsert is a single ``INSERT .. ON CONFLICT`` statement, so concurrent
sessions lose no write; database trouble becomes ``StoreUnavailable``.
"""

from __future__ import annotations

from collections.abc import Sequence

from rerank_playground.store.engine import default_store_url, make_engine, to_url
from rerank_playground.store.judgments import Judgments
from rerank_playground.store.migrations import Migration, check_sequence, discover_migrations
from rerank_playground.store.query_sets import QuerySets
from rerank_playground.store.runs import Runs
from rerank_playground.store.stories import Stories


class Store(Judgments, QuerySets, Runs, Stories):
    """Judgments, query sets, batch runs and stories. Thread-safe (one pooled connection per call)."""


def open_store(url: str | None = None, *, migrations: Sequence[Migration] | None = None) -> Store:
    """Open (creating and migrating as needed) the store at ``url`` (default: :func:`default_store_url`).

    ``migrations`` defaults to the ones discovered in :mod:`rerank_playground.store.migrations`; tests pass
    their own to simulate an upgrade. Raises :class:`StoreUnavailable` when the store cannot be opened.

    >>> with open_store("/tmp/example-store.sqlite3") as store:
    ...     store.schema_version() >= 3
    True
    """
    sa_url = to_url(url if url is not None else default_store_url())
    ordered = check_sequence(tuple(migrations)) if migrations is not None else discover_migrations()
    engine = make_engine(sa_url)
    store = Store(engine, sa_url)
    try:
        store.migrate(ordered)
    except BaseException:
        engine.dispose()
        raise
    return store
