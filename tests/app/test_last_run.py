"""The last-run records the Search and Compare pages keep (``components/last_run.py``): frozen outcomes, views
derived from them built once, and a key that says what the result depends on."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest

from components.last_run import CompareRecord, SearchRecord
from rerank_playground.models import SearchRequest
from rerank_playground.rerankers.choice import RerankChoice
from rerank_playground.rerankers.model_catalog import LOCAL_MODEL

REQUEST = SearchRequest(collection="DemoWiki", query="how did writing begin")
LOCAL = RerankChoice("local", LOCAL_MODEL)


def test_a_view_is_built_once_per_record() -> None:
    record = SearchRecord(REQUEST, LOCAL, 10, error="boom")
    built: list[str] = []

    def build() -> str:
        built.append("x")
        return "table"

    assert record.derived("moves", build) == "table"
    assert record.derived("moves", build) == "table"
    assert built == ["x"]
    assert SearchRecord(REQUEST, LOCAL, 10).derived("moves", lambda: "other") == "other"  # a new run, a new memo


def test_a_view_that_came_out_as_none_is_built_again() -> None:
    record = SearchRecord(REQUEST, LOCAL, 10)
    assert record.derived("figures", lambda: None) is None
    assert record.derived("figures", lambda: {"slope": 1}) == {"slope": 1}


def test_the_outcome_is_frozen_and_the_memo_is_not_part_of_it() -> None:
    record = SearchRecord(REQUEST, LOCAL, 10)
    with pytest.raises(FrozenInstanceError):
        record.error = "changed"  # type: ignore[misc]
    record.derived("downloads", lambda: ["file"])
    assert record == SearchRecord(REQUEST, LOCAL, 10)


def test_the_key_is_what_the_result_depends_on() -> None:
    assert SearchRecord(REQUEST, LOCAL, 10, error="x").key == (REQUEST, LOCAL, 10)
    assert CompareRecord(REQUEST, (LOCAL,)).key == (REQUEST, (LOCAL,))
    assert SearchRecord(REQUEST, LOCAL, 10).key != SearchRecord(REQUEST, LOCAL, 5).key
