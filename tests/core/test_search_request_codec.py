"""The one dict form of a search: every carrier (story views, batch plans, the CLI) reads and writes it, a bad
field is refused naming it, and data stored under older names still loads."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rerank_playground.errors import InvalidInput
from rerank_playground.evaluation.batch import SearchSetting
from rerank_playground.limits import MAX_K, MAX_PROPERTIES
from rerank_playground.models import Fusion, Operator, SearchMode, SearchRequest
from rerank_playground.presentation import stories

EVERYTHING = SearchRequest(
    collection="DemoWiki", query="how did writing begin", mode=SearchMode.KEYWORD, limit=120,
    properties=("title", "passage"), text_property="passage", operator=Operator.AND, alpha=0.25,
    fusion=Fusion.RELATIVE_SCORE, target_vector="body", embedder="jina:jina-embeddings-v3",
)
names = st.text(st.characters(codec="utf-8"), min_size=1, max_size=30)


@given(
    collection=names.filter(str.strip), query=names.filter(lambda q: q.strip() == q and q.strip()),
    mode=st.sampled_from(SearchMode),
    limit=st.integers(1, MAX_K), properties=st.lists(names, max_size=MAX_PROPERTIES).map(tuple),
    text_property=st.none() | names, operator=st.sampled_from(Operator), alpha=st.floats(0, 1),
    fusion=st.sampled_from(Fusion), target_vector=st.none() | names, embedder=names,
)
def test_every_request_round_trips_through_json(**values: Any) -> None:
    request = SearchRequest(**values)
    assert SearchRequest.from_dict(json.loads(json.dumps(request.to_dict()))) == request


def test_a_batch_setting_is_a_request_without_collection_and_query() -> None:
    assert {f.name for f in fields(SearchSetting)} == {f.name for f in fields(SearchRequest)} - {"collection", "query"}
    setting = SearchSetting.of(EVERYTHING)
    assert setting.request(EVERYTHING.collection, EVERYTHING.query) == EVERYTHING
    assert "collection" not in setting.to_dict() and "query" not in setting.to_dict()
    assert SearchSetting.from_dict(setting.to_dict()) == setting


def test_a_stored_batch_setting_of_an_older_version_still_loads() -> None:
    # as runs saved before the operator, embedder and target vector were recorded hold them
    old = {"mode": "hybrid", "limit": 50, "alpha": 0.5, "fusion": "ranked", "properties": ["title"],
           "text_property": None}
    assert SearchSetting.from_dict(old) == SearchSetting(properties=("title",))


def test_a_story_view_of_an_older_file_with_k_still_loads() -> None:
    view = {"collection": "DemoWiki", "query": "q", "mode": "vector", "k": 30, "shown_n": 5,
            "rerankers": [{"reranker": "local", "model": "local-wordllama"}]}
    loaded = stories.view_from_dict(view)
    assert loaded.request.limit == 30 and loaded.top_n == 5
    assert stories.view_to_dict(loaded)["limit"] == 30  # written under the one name from now on


@pytest.mark.parametrize(("change", "named"), [
    ({"mode": "telepathy"}, '"mode" must be one of vector, keyword, hybrid'),
    ({"limit": 0}, f'"limit" must be a whole number from 1 to {MAX_K}'),
    ({"limit": True}, '"limit" must be a whole number'),
    ({"limit": MAX_K + 1}, f'"limit" must be a whole number from 1 to {MAX_K}'),
    ({"alpha": 1.5}, '"alpha" must be a number from 0 to 1'),
    ({"alpha": "half"}, '"alpha" must be a number from 0 to 1'),
    ({"operator": "xor"}, '"operator" must be one of or, and'),
    ({"fusion": "sum"}, '"fusion" must be one of ranked, relative_score'),
    ({"properties": "title"}, '"properties" must be a list'),
    ({"properties": [""]}, '"properties" must be a list'),
    ({"properties": ["p"] * (MAX_PROPERTIES + 1)}, f"at most {MAX_PROPERTIES} property names"),
    ({"text_property": 3}, '"text_property" must be text'),
    ({"collection": ""}, '"collection" must be a non-empty text'),
    ({"query": None}, '"query" is missing'),
    ({"embedder": "x" * 1001}, '"embedder" has more than 1000 characters'),
])
def test_a_bad_field_is_refused_naming_it(change: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        SearchRequest.from_dict({**EVERYTHING.to_dict(), **change})
    assert named in caught.value.message


def test_a_search_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InvalidInput, match="JSON object"):
        SearchRequest.from_dict([])  # type: ignore[arg-type]
