"""The store (rerank_playground/store/) on SQLite AND a real PostgreSQL: judgments, query sets, qrels, migrations,
concurrency, failures. Every test here runs once per engine (the ``store_url`` fixture)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from rerank_playground.errors import InvalidInput, QuerySetNotFound, StoreUnavailable
from rerank_playground.evaluation.judgments import QuerySet, SetQuery
from rerank_playground.store import Store, open_store
from rerank_playground.store.engine import default_store_url
from rerank_playground.store.migrations import Migration, discover_migrations
from rerank_playground.store.tables import metadata
from testkit.postgres import ThrowawayPostgres

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def demo_set(name: str = "known items", collection: str = "DemoWiki") -> QuerySet:
    return QuerySet(
        name=name,
        collection=collection,
        queries=(SetQuery("q1", "Animal  Behaviour"), SetQuery("q2", "Writing history")),
        id_property=None,
    )


# ------------------------------------------------------------------------------------------ judgments


def test_set_grade_round_trips_with_who_when_and_source(store: Store) -> None:
    before = datetime.now(UTC)
    made = store.set_grade("DemoWiki", "  Animal   BEHAVIOUR ", "uuid-1", 3, judge="ana")
    [read] = store.judgments("DemoWiki", "animal behaviour")
    assert read == made
    assert (read.query, read.grade, read.judge, read.source) == ("animal behaviour", 3, "ana", "person")
    assert read.judged_at.tzinfo is not None and before <= read.judged_at <= datetime.now(UTC)
    assert store.grades("DemoWiki", "Animal behaviour") == {"uuid-1": 3}


def test_regrading_replaces_and_clearing_removes(store: Store) -> None:
    store.set_grade("C", "q", "d1", 1)
    store.set_grade("C", "q", "d1", 0, source="imported")
    store.set_grade("C", "q", "d2", 2)
    assert store.grades("C", "q") == {"d1": 0, "d2": 2}
    assert [j.source for j in store.judgments("C", "q") if j.doc_id == "d1"] == ["imported"]
    store.clear_grade("C", "Q", "d1")
    assert store.grades("C", "q") == {"d2": 2}
    store.clear_grade("C", "q", "never-judged")  # nothing to clear is not an error
    assert store.grades("C", "q") == {"d2": 2}


def test_judgments_are_scoped_by_collection_query_and_id_space(store: Store) -> None:
    store.set_grade("A", "q", "d", 3)
    store.set_grade("B", "q", "d", 1)
    store.set_grade("A", "other", "d", 2)
    store.set_grade("A", "q", "wiki100:Animal", 2, id_property="article_id")
    assert store.grades("A", "q") == {"d": 3}
    assert store.grades("B", "q") == {"d": 1}
    assert store.grades("A", "q", id_property="article_id") == {"wiki100:Animal": 2}
    assert {(j.query, j.doc_id) for j in store.judgments("A")} == {("q", "d"), ("other", "d")}


@pytest.mark.parametrize("grade", [-1, 4, 2.0, True, "2"])
def test_invalid_grade_is_refused_and_nothing_is_written(store: Store, grade: object) -> None:
    with pytest.raises(InvalidInput, match="0, 1, 2 or 3"):
        store.set_grade("C", "q", "d", grade)  # type: ignore[arg-type]
    assert store.grades("C", "q") == {}


def test_empty_parts_and_unknown_source_are_refused(store: Store) -> None:
    with pytest.raises(InvalidInput, match="query is empty"):
        store.set_grade("C", "   ", "d", 1)
    with pytest.raises(InvalidInput, match="document id is empty"):
        store.set_grade("C", "q", "", 1)
    with pytest.raises(InvalidInput, match="source"):
        store.set_grade("C", "q", "d", 1, source="robot")


# ------------------------------------------------------------------------------------------ query sets


def test_query_set_save_load_replace_list_delete(store: Store) -> None:
    store.save_query_set(demo_set())
    store.save_query_set(demo_set("other", collection="DemoJeopardy"))
    assert store.query_set("known items") == demo_set()
    assert [s.name for s in store.query_sets()] == ["known items", "other"]
    assert [s.name for s in store.query_sets("DemoJeopardy")] == ["other"]
    replaced = QuerySet("known items", "DemoWiki", (SetQuery("x", "only one"),), id_property="article_id")
    store.save_query_set(replaced)
    assert store.query_set("known items") == replaced
    store.delete_query_set("known items")
    with pytest.raises(QuerySetNotFound, match="known items"):
        store.query_set("known items")
    with pytest.raises(QuerySetNotFound):
        store.delete_query_set("known items")
    assert [s.name for s in store.query_sets()] == ["other"]


def test_a_set_with_the_same_query_twice_is_refused(store: Store) -> None:
    twice = QuerySet("s", "C", (SetQuery("a", "Same query"), SetQuery("b", " same   QUERY")), None)
    with pytest.raises(InvalidInput, match="same query"):
        store.save_query_set(twice)
    assert store.query_sets() == []


def test_add_query_appends_once(store: Store) -> None:
    store.save_query_set(demo_set())
    added = store.add_query("known items", "  new  question ")
    assert added == SetQuery("q3", "new  question")
    assert store.add_query("known items", "NEW question") == added
    assert store.add_query("known items", "writing HISTORY") == SetQuery("q2", "Writing history")
    assert [q.query_id for q in store.query_set("known items").queries] == ["q1", "q2", "q3"]
    with pytest.raises(QuerySetNotFound):
        store.add_query("missing", "x")


def test_qrels_of_a_set_come_from_its_collection_and_id_space(store: Store) -> None:
    query_set = demo_set()
    store.save_query_set(query_set)
    store.set_grade("DemoWiki", "animal behaviour", "u1", 3)
    store.set_grade("DemoWiki", "animal behaviour", "u2", 0)
    store.set_grade("DemoJeopardy", "animal behaviour", "u9", 3)  # another collection
    store.set_grade("DemoWiki", "animal behaviour", "wiki100:Animal", 3, id_property="article_id")
    assert store.qrels(query_set) == {"q1": {"u1": 3, "u2": 0}, "q2": {}}
    by_article = QuerySet("a", "DemoWiki", query_set.queries, id_property="article_id")
    assert store.qrels(by_article) == {"q1": {"wiki100:Animal": 3}, "q2": {}}


def test_import_keeps_person_grades_only_when_asked(store: Store) -> None:
    query_set = demo_set()
    store.set_grade("DemoWiki", "animal behaviour", "u1", 0, judge="ana")
    store.import_query_set(
        query_set, [("Animal behaviour", "u1", 3), ("animal behaviour", "u2", 2)], keep_person_grades=True
    )
    assert store.grades("DemoWiki", "animal behaviour") == {"u1": 0, "u2": 2}
    store.import_query_set(query_set, [("Animal behaviour", "u1", 3)])
    assert store.grades("DemoWiki", "animal behaviour") == {"u1": 3, "u2": 2}
    assert {j.source for j in store.judgments("DemoWiki")} == {"imported"}


def test_a_failing_import_writes_nothing(store: Store) -> None:
    """The set and its judgments are one transaction: a failure half-way leaves the store as it was."""
    store.save_query_set(demo_set())

    def rows() -> Iterator[tuple[str, str, int]]:
        yield ("animal behaviour", "u1", 3)
        yield ("animal behaviour", "u2", 7)  # refused while the rows are read, before the transaction

    with pytest.raises(InvalidInput):
        store.import_query_set(QuerySet("known items", "DemoWiki", (SetQuery("z", "z"),), None), rows())
    assert store.query_set("known items") == demo_set()
    assert store.grades("DemoWiki", "animal behaviour") == {}
    # and a failure inside the transaction (a query id twice) rolls the whole import back
    bad_set = QuerySet("new", "DemoWiki", (SetQuery("a", "x"), SetQuery("a", "y")), None)
    with pytest.raises(InvalidInput, match="appears twice"):
        store.import_query_set(bad_set, [("x", "u1", 3)])
    assert [s.name for s in store.query_sets()] == ["known items"]
    assert store.grades("DemoWiki", "x") == {}


# ------------------------------------------------------------------------------------------ schema and upgrades


def test_fresh_store_has_the_current_tables_and_version(store: Store) -> None:
    assert store.schema_version() == len(discover_migrations())
    inspector = sa.inspect(store.engine)
    for table in metadata.sorted_tables:
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert columns == set(table.columns.keys()), table.name


def test_a_database_made_by_this_version_opens_unchanged_after_an_upgrade(store_url: str) -> None:
    with open_store(store_url) as v1:
        v1.save_query_set(demo_set())
        made = v1.set_grade("DemoWiki", "animal behaviour", "u1", 3, judge="ana")
        version = v1.schema_version()

    def add_notes(connection: sa.Connection) -> None:
        snapshot = sa.MetaData()
        sa.Table("notes", snapshot, sa.Column("id", sa.Integer, primary_key=True), sa.Column("text", sa.Text))
        snapshot.create_all(connection)

    upgraded = (*discover_migrations(), Migration(version + 1, "notes (test only)", add_notes))
    with open_store(store_url, migrations=upgraded) as v2:
        assert v2.schema_version() == version + 1
        assert v2.judgments("DemoWiki") == [made]
        assert v2.query_set("known items") == demo_set()
        assert "notes" in sa.inspect(v2.engine).get_table_names()
    with open_store(store_url, migrations=upgraded) as again:  # reopening applies nothing twice
        assert again.schema_version() == version + 1
    with pytest.raises(StoreUnavailable, match="newer Rerank Playground"):
        open_store(store_url)  # the older code refuses a newer schema instead of corrupting it


def test_a_v1_database_from_disk_opens_with_its_data(tmp_path: Path) -> None:
    """A schema-version-1 SQLite store as users have it (tests/integration/data/store_v1.sql, never regenerated)
    opens with the current code, later migrations applied, every grade and set intact."""
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.executescript((Path(__file__).parent / "data" / "store_v1.sql").read_text(encoding="utf-8"))
    with open_store(str(path)) as store:
        assert store.schema_version() == len(discover_migrations())
        assert store.query_set("golden set") == QuerySet(
            "golden set", "DemoWiki", (SetQuery("q1", "Animal behaviour"), SetQuery("q2", "Writing history")), None
        )
        assert store.grades("DemoWiki", "animal behaviour") == {
            "7b1d3c47-2f4e-5d3a-9d0e-0d5b6a1f2c31": 3,
            "0c9e0a43-6c1c-5e1f-8f7a-1e3c2b9d4a10": 0,
        }
        [ana] = [j for j in store.judgments("DemoWiki") if j.judge]
        assert (ana.judge, ana.source, ana.judged_at) == (
            "ana",
            "person",
            datetime(2026, 11, 30, 10, 21, 0, 75255, tzinfo=UTC),
        )
        assert store.grades("DemoWiki", "Writing history", id_property="article_id") == {"wiki100:Writing": 2}
        store.set_grade("DemoWiki", "animal behaviour", "new", 1)  # and it takes new writes


def test_a_failing_migration_is_rolled_back_whole(store_url: str) -> None:
    with open_store(store_url) as v1:
        v1.set_grade("C", "q", "d", 2)
        version = v1.schema_version()

    def half_done(connection: sa.Connection) -> None:
        snapshot = sa.MetaData()
        sa.Table("half", snapshot, sa.Column("id", sa.Integer, primary_key=True)).create(connection)
        connection.execute(sa.text("SELECT no_such_column FROM half"))

    with pytest.raises(StoreUnavailable):
        open_store(store_url, migrations=(*discover_migrations(), Migration(version + 1, "broken", half_done)))
    with open_store(store_url) as reopened:
        assert reopened.schema_version() == version
        assert "half" not in sa.inspect(reopened.engine).get_table_names()
        assert reopened.grades("C", "q") == {"d": 2}


# ------------------------------------------------------------------------------------------ concurrency


def test_concurrent_threads_lose_no_write(store: Store) -> None:
    threads, per_thread = 8, 25
    errors: list[BaseException] = []

    def judge(worker: int) -> None:
        try:
            for i in range(per_thread):
                store.set_grade("C", "shared query", f"w{worker}-d{i}", (worker + i) % 4, judge=f"j{worker}")
                store.set_grade("C", "contended", "same-doc", worker % 4)  # everyone on one row too
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    workers = [threading.Thread(target=judge, args=(w,)) for w in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    grades = store.grades("C", "shared query")
    assert grades == {f"w{w}-d{i}": (w + i) % 4 for w in range(threads) for i in range(per_thread)}
    assert list(store.grades("C", "contended")) == ["same-doc"]


def test_concurrent_query_set_edits_lose_nothing(store: Store) -> None:
    """Threads adding queries to one set and re-saving another at once: every added query is there, once."""
    store.save_query_set(QuerySet("shared", "C", (), None))
    errors: list[BaseException] = []

    def add(worker: int) -> None:
        try:
            for i in range(6):
                store.add_query("shared", f"worker {worker} question {i}")
                store.save_query_set(QuerySet("resaved", "C", (SetQuery("a", f"from {worker}"),), None))
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    workers = [threading.Thread(target=add, args=(w,)) for w in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    queries = store.query_set("shared").queries
    assert sorted(q.text for q in queries) == sorted(f"worker {w} question {i}" for w in range(6) for i in range(6))
    assert sorted(q.query_id for q in queries) == sorted(f"q{n}" for n in range(1, 37))
    assert len(store.query_set("resaved").queries) == 1


_PROCESS_WRITER = (
    "import sys\n"
    "from rerank_playground.store import open_store\n"
    "url, worker, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])\n"
    "with open_store(url) as store:\n"
    "    for i in range(count):\n"
    "        store.set_grade('C', 'shared query', f'p{worker}-d{i}', i % 4, judge=f'p{worker}')\n"
)


def test_concurrent_processes_lose_no_write(store_url: str) -> None:
    """Several processes opening the (fresh, unmigrated) store at once and writing: all rows arrive.

    Plain interpreters, not multiprocessing's spawn: spawn re-imports the parent's ``__main__``, which an
    AppTest earlier in the same pytest process leaves pointing at ``app.py``.
    """
    processes, per_process = 4, 40
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen([sys.executable, "-c", _PROCESS_WRITER, store_url, str(w), str(per_process)], env=env)
        for w in range(processes)
    ]
    assert [w.wait(timeout=240) for w in workers] == [0] * processes
    with open_store(store_url) as store:
        grades = store.grades("C", "shared query")
    assert grades == {f"p{w}-d{i}": i % 4 for w in range(processes) for i in range(per_process)}


def test_a_killed_writer_loses_at_most_its_own_write(store_url: str, tmp_path: Path) -> None:
    """A process killed mid-way: every grade it committed is there, the store still opens and works."""
    ready = tmp_path / "ready"
    script = (
        "import sys, pathlib\n"
        "from rerank_playground.store import open_store\n"
        "store = open_store(sys.argv[1])\n"
        "for i in range(10):\n"
        "    store.set_grade('C', 'q', f'd{i}', 2)\n"
        "pathlib.Path(sys.argv[2]).write_text('ok')\n"
        "i = 10\n"
        "while True:\n"
        "    store.set_grade('C', 'q', f'd{i}', 1)\n"
        "    i += 1\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", script, store_url, str(ready)], env=env)
    try:
        while not ready.exists():
            assert proc.poll() is None, "the writer died before its first 10 grades"
            time.sleep(0.02)  # polling for the file the writer creates
    finally:
        proc.kill()
        proc.wait(timeout=30)
    with open_store(store_url) as store:
        grades = store.grades("C", "q")
        assert all(grades[f"d{i}"] == 2 for i in range(10))
        assert set(grades) == {f"d{i}" for i in range(len(grades))}  # no gap: committed in order
        store.set_grade("C", "q", "after", 3)
        assert store.grades("C", "q")["after"] == 3


# ------------------------------------------------------------------------------------------ unavailable


def test_default_location_is_the_per_user_data_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("RERANK_PLAYGROUND_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_store_url() == f"sqlite:///{tmp_path}/rerank-playground/store.sqlite3"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_store_url() == f"sqlite:///{Path.home()}/.local/share/rerank-playground/store.sqlite3"
    monkeypatch.setenv("RERANK_PLAYGROUND_DB", str(tmp_path / "mine.db"))
    with open_store() as store:
        assert store.location == f"SQLite file {tmp_path / 'mine.db'}"
        store.set_grade("C", "q", "d", 1)
    mode = sqlite3.connect(tmp_path / "mine.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    monkeypatch.chdir(tmp_path)  # relative paths and sqlite URLs are made absolute, so the message says where
    monkeypatch.setenv("RERANK_PLAYGROUND_DB", "sqlite:///rel/x.sqlite3")
    with open_store() as store:
        assert store.location == f"SQLite file {tmp_path / 'rel' / 'x.sqlite3'}"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with open_store("~/judged.sqlite3") as store:
        assert store.location == f"SQLite file {Path.home() / 'judged.sqlite3'}"


def test_a_read_only_disk_gives_a_clear_message(tmp_path: Path) -> None:
    """A store on a read-only filesystem (a read-only bind mount in a private mount namespace; without root, a
    folder without write permission): a new store and an existing one both fail with a message, no traceback."""
    disk = tmp_path / "disk"
    disk.mkdir()
    with open_store(str(disk / "existing.sqlite3")) as store:
        store.set_grade("C", "q", "d", 1)
    script = (
        "import sys\n"
        "from rerank_playground.errors import StoreUnavailable\n"
        "from rerank_playground.store import open_store\n"
        "for target in sys.argv[1:]:\n"
        "    try:\n"
        "        open_store(target).set_grade('C', 'q', 'd2', 2)\n"
        "        print('OPENED', target)\n"
        "    except StoreUnavailable as err:\n"
        "        print('UNAVAILABLE', err)\n"
    )
    targets = [str(disk / "new" / "store.sqlite3"), str(disk / "existing.sqlite3")]
    python = [sys.executable, "-c", script, *targets]
    if os.geteuid() == 0:  # root ignores file modes: make the disk itself read-only, for this process only
        command = [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            f'mount --bind "{disk}" "{disk}" && mount -o remount,bind,ro "{disk}" && exec "$@"',
            "sh",
            *python,
        ]
    else:
        disk.chmod(0o555)
        command = python
    try:
        done = subprocess.run(
            command, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120
        )
    finally:
        disk.chmod(0o755)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2 and all(line.startswith("UNAVAILABLE") for line in lines), done.stdout
    assert f"Cannot create the folder for the store, {disk / 'new'}" in lines[0]
    assert "Cannot open the judgments store" in lines[1]
    assert all("RERANK_PLAYGROUND_DB" in line for line in lines)
    assert "Traceback" not in done.stdout + done.stderr
    with open_store(str(disk / "existing.sqlite3")) as store:  # and nothing was lost
        assert store.grades("C", "q") == {"d": 1}


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("mysql://user@host/db", "SQLite and PostgreSQL"),
        ("sqlite://", "in-memory"),
        ("postgresql://user@host:port/db", "neither a file path nor a database URL"),
        ("postgresql://user@nonexistent.invalid/db", "failed to resolve host"),
        ("postgresql://nobody:s3cret-pw@127.0.0.1:1/none", "Cannot open the judgments store"),
    ],
)
def test_bad_urls_and_a_server_that_is_down_give_a_clear_message(location: str, message: str) -> None:
    with pytest.raises(StoreUnavailable, match=message) as caught:
        open_store(location)
    assert "s3cret-pw" not in str(caught.value)


def test_postgres_sessions_cut_mid_session_are_replaced(postgres_database_url: str) -> None:
    with open_store(postgres_database_url) as store:
        store.set_grade("C", "q", "d", 1)
        admin = sa.create_engine(postgres_database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:  # cut every other session, as a restart would
            connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        admin.dispose()
        # pre_ping replaces dead pooled connections: the store carries on
        store.set_grade("C", "q", "d2", 2)
        assert store.grades("C", "q") == {"d": 1, "d2": 2}


def test_postgres_down_mid_session_is_store_unavailable_and_recovers(own_postgres: ThrowawayPostgres) -> None:
    with open_store(own_postgres.url) as store:
        store.set_grade("C", "q", "d", 1)
        own_postgres.stop()
        with pytest.raises(StoreUnavailable) as caught:
            store.set_grade("C", "q", "d2", 2)
        assert str(caught.value).startswith(
            f"The judgments store (PostgreSQL database postgres at 127.0.0.1:{own_postgres.port}) is unavailable:"
        )
        assert "If this was a change, it was not saved." in str(caught.value)
        with pytest.raises(StoreUnavailable):
            store.grades("C", "q")
        with pytest.raises(StoreUnavailable, match="Cannot open the judgments store"):
            open_store(own_postgres.url)
        own_postgres.start()  # back on the same port: the same store object carries on
        store.set_grade("C", "q", "d3", 3)
        assert store.grades("C", "q") == {"d": 1, "d3": 3}
