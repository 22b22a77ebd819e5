"""Importing files and the demo's judged sets into the store, on SQLite and on PostgreSQL: all or nothing,
idempotent, person grades kept."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rerank_playground.demo.datasets import wiki_objects
from rerank_playground.demo.judgements import load_judgements
from rerank_playground.errors import BadImportFile
from rerank_playground.evaluation.demo_sets import demo_set_name, load_demo_query_sets
from rerank_playground.evaluation.io import import_judgments, parse_csv, parse_json, parse_trec, to_csv, to_trec
from rerank_playground.evaluation.judgments import QuerySet, SetQuery
from rerank_playground.store import Store, open_store

ROOT = Path(__file__).resolve().parents[2]

WIKI_JUDGEMENTS = sum(j.collection == "DemoWiki" for j in load_judgements())


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def long_csv(bad_line: int | None = None) -> str:
    rows = ["query_id,query,doc_id,grade"]
    for i in range(1, 100):
        rows.append(f"q{i // 3},query number {i // 3},doc{i},{i % 4}")
    if bad_line is not None:
        rows[bad_line - 1] = rows[bad_line - 1].rsplit(",", 1)[0] + ",relevant"
    return "\n".join(rows) + "\n"


def snapshot(store: Store) -> tuple[list[QuerySet], list[tuple[str, str, int, str]]]:
    judged = [(j.query, j.doc_id, j.grade, j.source) for c in ("C", "Other") for j in store.judgments(c)]
    return store.query_sets(), sorted(judged)


def test_import_csv_stores_the_set_and_its_judgments(store: Store) -> None:
    query_set = import_judgments(store, "C", "from csv", parse_csv(long_csv()), judge="importer")
    assert store.query_set("from csv") == query_set
    assert len(query_set.queries) == 34
    assert store.qrels(query_set) == parse_csv(long_csv()).qrels()
    assert {(j.source, j.judge) for j in store.judgments("C")} == {("imported", "importer")}


def test_a_file_bad_at_line_57_leaves_the_store_unchanged(store: Store) -> None:
    import_judgments(store, "C", "from csv", parse_csv(long_csv()))
    store.set_grade("C", "query number 1", "doc3", 3, judge="ana")
    before = snapshot(store)
    with pytest.raises(BadImportFile) as caught:
        import_judgments(store, "C", "from csv", parse_csv(long_csv(bad_line=57)))
    assert str(caught.value) == (
        "Line 57: the grade 'relevant' is not 0, 1, 2 or 3. Nothing was imported; fix the file and try again."
    )
    assert snapshot(store) == before


def test_reimporting_replaces_the_set_and_keeps_other_sets(store: Store) -> None:
    import_judgments(store, "C", "a", parse_csv("query_id,query,doc_id,grade\nq1,one,d1,1\nq2,two,d2,2\n"))
    import_judgments(store, "Other", "b", parse_csv("query_id,query,doc_id,grade\nx,one,d1,3\n"))
    replaced = import_judgments(store, "C", "a", parse_csv("query_id,query,doc_id,grade\nq1,one,d1,3\n"))
    assert replaced.queries == (SetQuery("q1", "one"),)
    assert store.qrels(store.query_set("a")) == {"q1": {"d1": 3}}
    assert store.qrels(store.query_set("b")) == {"x": {"d1": 3}}
    assert store.grades("C", "two") == {"d2": 2}  # judgments belong to the collection's queries, not to a set


def test_trec_import_with_an_id_property_and_export_back(store: Store) -> None:
    topics = "<top>\n<num> Number: 1\n<title> Animal behaviour\n</top>\n"
    qrels = "1 0 wiki100:Animal 3\n1 0 wiki100:Ant 1\n"
    query_set = import_judgments(store, "DemoWiki", "articles", parse_trec(topics, qrels), id_property="article_id")
    assert store.query_set("articles").id_property == "article_id"
    assert store.grades("DemoWiki", "animal behaviour", id_property="article_id") == {
        "wiki100:Animal": 3,
        "wiki100:Ant": 1,
    }
    assert store.grades("DemoWiki", "animal behaviour") == {}  # not mixed with uuid judgments
    assert to_trec(query_set, store.qrels(query_set))[1] == "1 0 wiki100:Animal 3\n1 0 wiki100:Ant 1\n"


def test_demo_sets_load_once_and_keep_a_persons_grades(store: Store) -> None:
    rows = load_judgements()
    first = load_demo_query_sets(store)
    assert [(r.name, r.queries, r.loaded) for r in first] == [
        ("DemoWiki key-term queries", 25, True),
        ("DemoJeopardy key-term queries", 25, True),
    ]
    assert sum(r.judgments for r in first) == len(rows)
    wiki = store.query_set(demo_set_name("DemoWiki"))
    assert wiki.id_property is None
    qrels = store.qrels(wiki)
    assert sum(len(docs) for docs in qrels.values()) == sum(r.collection == "DemoWiki" for r in rows)
    uuids = {obj.uuid for obj in wiki_objects()}
    assert all(doc_id in uuids for docs in qrels.values() for doc_id in docs)  # doc ids are the objects' uuids

    some = rows[0]
    store.set_grade(some.collection, some.query, some.doc_id, 0, judge="ana")
    before = sorted((j.query, j.doc_id, j.grade, j.judged_at) for j in store.judgments("DemoWiki"))
    again = load_demo_query_sets(store)
    assert [r.loaded for r in again] == [False, False]
    assert sorted((j.query, j.doc_id, j.grade, j.judged_at) for j in store.judgments("DemoWiki")) == before
    assert [s.name for s in store.query_sets()] == sorted(r.name for r in first)

    store.clear_grade(
        "DemoJeopardy",
        store.query_set(demo_set_name("DemoJeopardy")).queries[0].text,
        next(r.doc_id for r in rows if r.collection == "DemoJeopardy"),
    )
    repaired = load_demo_query_sets(store)
    assert [r.loaded for r in repaired] == [False, True]
    assert store.grades(some.collection, some.query)[some.doc_id] == 0  # the person's grade survives


def test_make_demo_step_loads_the_sets_or_warns(tmp_path: Path) -> None:
    """scripts.demo's store step, as `make demo` runs it: loads once, then says they are there; a store that
    cannot be opened is a warning, not a failure."""
    code = "from scripts.demo import load_judged_sets; load_judged_sets()"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RERANK_PLAYGROUND_DB": str(tmp_path / "demo.sqlite3")}
    outputs = [
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        for _ in range(2)
    ]
    assert [o.returncode for o in outputs] == [0, 0], outputs[0].stderr
    assert f"DemoWiki key-term queries: 25 queries, {WIKI_JUDGEMENTS} judgements (loaded)." in outputs[0].stdout
    assert f"DemoWiki key-term queries: 25 queries, {WIKI_JUDGEMENTS} judgements (already there)." in outputs[1].stdout
    assert f"SQLite file {tmp_path / 'demo.sqlite3'}" in outputs[1].stdout
    env["RERANK_PLAYGROUND_DB"] = "mysql://nope/db"
    broken = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert broken.returncode == 0
    assert "warning: the judged query sets were not loaded: The store supports SQLite and PostgreSQL" in broken.stdout


def test_json_import_of_the_demo_file_format(store: Store) -> None:
    text = '[\n {"collection": "C", "query": "Alpha", "doc_id": "u1", "grade": 3}\n]'
    query_set = import_judgments(store, "C", "json", parse_json(text))
    assert store.qrels(query_set) == {"q1": {"u1": 3}}
    assert to_csv(query_set, store.qrels(query_set)) == "query_id,query,doc_id,grade\nq1,Alpha,u1,3\n"
