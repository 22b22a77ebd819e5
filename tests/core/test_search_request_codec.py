"""The one dict form of a search: every carrier (story views, batch plans, the CLI) reads and writes it, a bad
field is refused naming it, and data stored under older names still loads."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rerank_playground.errors import InvalidInput
from rerank_playground.evaluation.batch_plan import (
    RunPlan,
    for_query,
    plan_from_record,
    plan_to_dict,
    search_setting,
    setting_label,
    setting_of,
)
from rerank_playground.evaluation.judgments import QuerySet, SetQuery
from rerank_playground.evaluation.runs import RunRecord
from rerank_playground.filters import FilterOp, PropertyFilter
from rerank_playground.limits import MAX_K, MAX_PROPERTIES
from rerank_playground.models import Fusion, Operator, SearchMode, SearchRequest
from rerank_playground.presentation import stories
from rerank_playground.rerankers.choice import RerankChoice

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
    setting = setting_of(EVERYTHING)
    assert setting == SearchRequest(**{**{f.name: getattr(EVERYTHING, f.name) for f in fields(SearchRequest)},
                                       "collection": "", "query": ""})
    assert for_query(setting, EVERYTHING.collection, EVERYTHING.query) == EVERYTHING
    stored = setting.to_dict(settings_only=True)
    assert "collection" not in stored and "query" not in stored
    assert SearchRequest.from_dict(json.loads(json.dumps(stored)), settings_only=True) == setting
    # a plan keeps settings only, whatever request it is given
    plan = RunPlan(QuerySet("set", "DemoWiki", (SetQuery("q1", "bees"),)), settings=(EVERYTHING,))
    assert plan.settings == (setting,)


def test_a_stored_batch_setting_of_an_older_version_still_loads() -> None:
    # as runs saved before the operator, embedder and target vector were recorded hold them
    old = {"mode": "hybrid", "limit": 50, "alpha": 0.5, "fusion": "ranked", "properties": ["title"],
           "text_property": None}
    assert SearchRequest.from_dict(old, settings_only=True) == search_setting(properties=("title",))


# A run row as the runs table holds it, written by plan_to_dict before batch settings became SearchRequests
# (SearchSetting.to_dict): it must load the same plan.
STORED_PLAN = {
    "name": "bees", "k": 10, "relevance_level": 2, "measures": ["nDCG@10"], "notes": [],
    "query_set": {"name": "wiki-set", "collection": "DemoWiki", "id_property": None,
                  "queries": [["q1", "how do bees fly"], ["q2", "writing"]]},
    "settings": [
        {"mode": "hybrid", "limit": 50, "properties": [], "text_property": "passage", "operator": "or", "alpha": 0.5,
         "fusion": "ranked", "target_vector": None, "embedder": "auto",
         "filters": [{"property": "category", "operator": "=", "value": "Science"}]},
        {"mode": "keyword", "k": 20, "alpha": 0.5, "fusion": "ranked", "properties": ["title"],
         "text_property": None},  # an older run still: K under its old name, no operator or embedder
    ],
    "rerankers": [{"reranker": "local", "model": "local-wordllama", "label": "local · local-wordllama"}],
    "endpoints": {"url": "http://127.0.0.1:8080", "grpc_port": 50051, "jina_base_url": "https://api.jina.ai"},
}


def test_a_stored_run_plan_of_the_previous_format_still_loads() -> None:
    record = RunRecord(run_id="r1", name="bees", collection="DemoWiki", query_set="wiki-set", status="finished",
                       plan=json.loads(json.dumps(STORED_PLAN)), qrels={"q1": {"d1": 3}})
    plan = plan_from_record(record)
    assert plan.query_set == QuerySet("wiki-set", "DemoWiki", (SetQuery("q1", "how do bees fly"),
                                                                SetQuery("q2", "writing")))
    assert plan.settings == (
        search_setting(limit=50, text_property="passage",
                       filters=(PropertyFilter("category", FilterOp.EQUAL, "Science"),)),
        search_setting(mode=SearchMode.KEYWORD, limit=20, properties=("title",)),
    )
    assert plan.rerankers == (RerankChoice("local", "local-wordllama"),) and plan.k == 10
    assert plan.relevance_level == 2 and plan.name == "bees"
    assert setting_label(plan.settings[0]) == "hybrid α=0.5 K=50 · where category = Science · reranked on: passage"
    # written back in the one codec's form, which reads back to the same plan
    again = plan_to_dict(plan)
    assert again["settings"][0] == STORED_PLAN["settings"][0]
    assert plan_from_record(replace(record, plan=again)).settings == plan.settings


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
