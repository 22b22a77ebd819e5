"""The suggested queries shipped with the demo: they parse, and each points at data that exists."""

from __future__ import annotations

import json

from rerank_playground.demo.datasets import DEMO_COLLECTIONS, DEMO_JEOPARDY, DEMO_WIKI, demo_objects
from rerank_playground.demo.suggestions import SUGGESTED_QUERIES, SUGGESTED_QUERIES_FILE
from rerank_playground.models import SearchMode


def test_suggested_queries_parse_and_are_usable() -> None:
    raw = json.loads(SUGGESTED_QUERIES_FILE.read_text(encoding="utf-8"))
    assert set(raw) == {DEMO_WIKI.name, DEMO_JEOPARDY.name}
    assert set(SUGGESTED_QUERIES) == set(raw)
    for spec in DEMO_COLLECTIONS:
        queries = SUGGESTED_QUERIES[spec.name]
        assert 3 <= len(queries) <= 5
        assert len({q.query for q in queries}) == len(queries)
        texts = [" ".join(str(v) for v in o.properties.values()) for o in demo_objects(spec.name)]
        for q in queries:
            assert q.collection == spec.name
            assert q.query.strip() and len(q.why) > 40
            assert SearchMode(q.mode)  # a real mode name
            assert set(q.properties) <= {p.name for p in spec.properties if p.searchable}  # BM25 can search them
            assert isinstance(q.baseline_helps, bool)
            # the object the "why" talks about exists in the data
            assert any(q.look_for.lower() in t.lower() for t in texts), q.look_for

