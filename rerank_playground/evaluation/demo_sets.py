"""The demo's judged query sets in the store (``make demo`` loads them; running it again changes nothing).

``rerank_playground/data/judgements.json`` (built by ``scripts/build_judgements.py``; how, in
:mod:`rerank_playground.demo.judgements`) holds 50 key-term queries, 25 per demo collection: three words of a
source passage or clue that are not its title, heading, answer or category. Grades 0-3 follow a rule over the
``text`` property (the text BM25 searches, the vectors embed and the rerankers read): 3 the source, 2 a document
with every key term (DemoJeopardy: or the same answer), 1 a document with all but one, 0 the rest of the pool
(top 20 of keyword, vector, hybrid and the local baseline). Binary measures count grade >= 2 as relevant. Doc ids
are the Weaviate uuids the demo loader gives the objects (``generate_uuid5``), so the sets have no
``id_property``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rerank_playground.demo.judgements import JUDGEMENTS_FILE, load_judgements
from rerank_playground.evaluation.judgments import QuerySet, SetQuery, normalise_query
from rerank_playground.store import Store


def demo_set_name(collection: str) -> str:
    return f"{collection} key-term queries"


@dataclass(frozen=True)
class DemoSetReport:
    name: str
    queries: int
    judgments: int
    loaded: bool  # False: the store already had it all


def demo_query_sets() -> list[tuple[QuerySet, list[tuple[str, str, int]]]]:
    """(query set, (query text, doc_id, grade) rows) per demo collection, queries in file order (q1, q2, ...)."""
    by_collection: dict[str, tuple[dict[str, SetQuery], list[tuple[str, str, int]]]] = {}
    for row in load_judgements(JUDGEMENTS_FILE):
        queries, grades = by_collection.setdefault(row.collection, ({}, []))
        key = normalise_query(row.query)
        if key not in queries:
            queries[key] = SetQuery(query_id=f"q{len(queries) + 1}", text=row.query)
        grades.append((row.query, row.doc_id, row.grade))
    return [
        (QuerySet(demo_set_name(collection), collection, tuple(queries.values()), id_property=None), grades)
        for collection, (queries, grades) in by_collection.items()
    ]


def load_demo_query_sets(store: Store) -> list[DemoSetReport]:
    """Put the demo sets and their judgments in ``store``; a grade a person gave since is kept."""
    reports = []
    for query_set, grades in demo_query_sets():
        expected = {(normalise_query(text), doc_id): grade for text, doc_id, grade in grades}
        if _already_there(store, query_set, expected):
            reports.append(DemoSetReport(query_set.name, len(query_set.queries), len(expected), loaded=False))
            continue
        store.import_query_set(query_set, grades, keep_person_grades=True)
        reports.append(DemoSetReport(query_set.name, len(query_set.queries), len(expected), loaded=True))
    return reports


def _already_there(store: Store, query_set: QuerySet, expected: dict[tuple[str, str], int]) -> bool:
    if query_set not in store.query_sets(query_set.collection):
        return False
    stored = {(j.query, j.doc_id): j for j in store.judgments(query_set.collection)}
    for key, grade in expected.items():
        judgment = stored.get(key)
        if judgment is None or (judgment.source == "imported" and judgment.grade != grade):
            return False
    return True
