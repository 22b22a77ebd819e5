"""One rule for the text the reranker reads (issue 18, point 2): ``schema.default_rerank_property`` decides it,
and search validation, batch settings (the CLI and the Evaluate page), the module reranker and the demo story
all get the same property for the same collection."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rerank_playground import schema
from rerank_playground.demo.datasets import DEMO_JEOPARDY, DEMO_WIKI, DemoCollectionSpec
from rerank_playground.evaluation.batch_plan import for_query, resolve_setting, search_setting, setting_label
from rerank_playground.models import CollectionInfo, PropertyInfo, SearchRequest
from rerank_playground.presentation.stories import demo_story
from rerank_playground.schema import default_rerank_property
from rerank_playground.search import validate_request


def info(name: str, *props: str, other: tuple[str, ...] = ()) -> CollectionInfo:
    properties = tuple(PropertyInfo(p, "text") for p in props) + tuple(PropertyInfo(p, "int") for p in other)
    return CollectionInfo(name, 10, properties, None, (), None, None)


def demo_info(spec: DemoCollectionSpec) -> CollectionInfo:
    return CollectionInfo(spec.name, 10, tuple(PropertyInfo(p.name, p.data_type) for p in spec.properties),
                          None, (), None, None)


def test_a_demo_collection_reads_what_its_spec_declares() -> None:
    assert default_rerank_property(demo_info(DEMO_WIKI)) == DEMO_WIKI.rerank_property == "text"
    assert default_rerank_property(demo_info(DEMO_JEOPARDY)) == DEMO_JEOPARDY.rerank_property == "text"


def test_a_spec_attribute_rerank_property_wins_when_the_spec_has_one(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = SimpleNamespace(name="DemoWiki", text_property="passage", rerank_property="section")
    monkeypatch.setattr(schema, "DEMO_COLLECTIONS", (spec,))
    assert default_rerank_property(demo_info(DEMO_WIKI)) == "section"


@pytest.mark.parametrize(("props", "expected"), [
    (("title", "body"), "body"),  # running text before a title
    (("title", "summary", "content"), "content"),  # the earlier word of the preference list
    (("name", "bodyText"), "bodyText"),  # camelCase words are read
    (("headline_text", "passage"), "headline_text"),  # "text" is the most text-like word
    (("title", "category", "blurb"), "blurb"),  # no running-text word: the first that is not a label
    (("title", "name"), "title"),  # only labels: the first text property
    ((), None),
])
def test_other_collections_prefer_the_most_text_like_name(props: tuple[str, ...], expected: str | None) -> None:
    assert default_rerank_property(info("Docs", *props, other=("text_count",))) == expected


def test_search_validation_fills_in_the_rule_and_keeps_a_chosen_property() -> None:
    wiki = demo_info(DEMO_WIKI)
    assert validate_request(SearchRequest("DemoWiki", "bees"), wiki).text_property == "text"
    assert validate_request(SearchRequest("DemoWiki", "bees", text_property="title"), wiki).text_property == "title"
    docs = info("Docs", "title", "body")
    assert validate_request(SearchRequest("Docs", "bees"), docs).text_property == "body"


def test_batch_settings_resolve_and_name_the_same_property() -> None:
    """The CLI and the Evaluate page build search settings; start_run resolves them with this, so the run records
    the property and every row and report heading shows it."""
    wiki = demo_info(DEMO_WIKI)
    resolved = resolve_setting(search_setting(), wiki)
    assert resolved.text_property == "text"
    assert for_query(resolved, "DemoWiki", "bees") == validate_request(SearchRequest("DemoWiki", "bees"), wiki)
    assert setting_label(resolved).endswith("· reranked on: text")
    assert resolve_setting(search_setting(text_property="title"), wiki).text_property == "title"
    assert "not recorded" in setting_label(search_setting())  # an older run, saved without it


def test_the_demo_story_reads_the_same_property_as_the_search_page() -> None:
    infos = {spec.name: demo_info(spec) for spec in (DEMO_WIKI, DEMO_JEOPARDY)}
    story = demo_story(jina_key_present=False)
    assert story.views
    for view in story.views:
        assert view.request.text_property == default_rerank_property(infos[view.request.collection])


def test_the_demo_defaults_of_a_search_live_in_the_core() -> None:
    assert schema.default_collection(["Mine", DEMO_JEOPARDY.name, DEMO_WIKI.name]) == DEMO_WIKI.name
    assert schema.default_collection(["Mine", "Other"]) == "Mine"
    assert schema.default_collection([]) is None
    wiki = CollectionInfo(DEMO_WIKI.name, 1, (PropertyInfo("text", "text"), PropertyInfo("title", "text")), "none",
                          (), None, None)
    assert schema.default_keyword_properties(wiki) == DEMO_WIKI.keyword_properties == ("text",)
    mine = CollectionInfo("Mine", 1, (PropertyInfo("text", "text"),), "none", (), None, None)
    assert schema.default_keyword_properties(mine) == ()  # all text properties
