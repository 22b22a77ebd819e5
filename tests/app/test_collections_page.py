"""Collections page: listing, details, and the confirmed reranker change against the real Weaviate."""

from __future__ import annotations

import pytest

from testkit.weaviate_data import connect
from tests.app.conftest import AppEnv
from tests.app.helpers import assert_healthy, frame_with, values

pytestmark = pytest.mark.weaviate

CONFIRM = "I understand this changes the collection's config on the server"


def open_collections(env: AppEnv):
    at = env.new_app().run()
    at.switch_page("pages/collections.py").run()
    assert_healthy(at)
    return at


def test_lists_the_demo_collections(app_env: AppEnv) -> None:
    at = open_collections(app_env)
    table = frame_with(at, "name", "objects", "text properties", "vectorizer", "reranker model")
    rows = table.set_index("name")
    assert rows.loc["DemoJeopardy", "objects"] == 1000
    assert rows.loc["DemoWiki", "objects"] > 1000
    assert "passage" in rows.loc["DemoWiki", "text properties"]
    assert rows.loc["DemoWiki", "reranker model"] == "jina-reranker-v2-base-multilingual"
    assert at.selectbox(key="collections.detail").value == "DemoWiki"
    properties = frame_with(at, "property", "type")
    assert "passage" in set(properties["property"])
    at.selectbox(key="collections.detail").set_value("DemoJeopardy").run()
    assert "question" in set(frame_with(at, "property", "type")["property"])
    assert_healthy(at)


def test_reranker_change_needs_the_confirmation(app_env: AppEnv, restore_demo_rerankers: None) -> None:
    at = open_collections(app_env)
    apply = at.button(key="collections.apply")
    assert apply.disabled  # nothing ticked, and the model is the current one
    assert at.checkbox(key="collections.confirm").label == CONFIRM
    at.selectbox(key="collections.new_model").set_value("jina-reranker-v3").run()
    assert at.button(key="collections.apply").disabled  # still not confirmed
    at.checkbox(key="collections.confirm").check().run()
    assert not at.button(key="collections.apply").disabled
    at.button(key="collections.apply").click().run()
    assert_healthy(at)
    assert any("now reranks with" in s for s in values(at.success))
    new_config = frame_with(at, "collection", "reranker module", "reranker model")
    assert new_config["reranker model"].item() == "jina-reranker-v3"
    assert not at.checkbox(key="collections.confirm").value  # the confirmation does not stick
    listed = frame_with(at, "name", "objects", "reranker model").set_index("name")
    assert listed.loc["DemoWiki", "reranker model"] == "jina-reranker-v3"
    client = connect(app_env.weaviate)
    try:
        config = client.collections.use("DemoWiki").config.get()
        assert config.reranker_config.model["model"] == "jina-reranker-v3"
    finally:
        client.close()


def test_demo_status_is_shown(app_env: AppEnv) -> None:
    at = open_collections(app_env)
    lines = values(at.text)
    assert "DemoWiki: ready" in lines
    assert "DemoJeopardy: ready" in lines
    assert not any(b.label == "Load demo collections" for b in at.button)


def test_details_name_the_query_vector_source_chosen_on_the_search_page(app_env: AppEnv) -> None:
    at = app_env.new_app().run()
    at.selectbox(key="search.embedder").set_value("jina:jina-embeddings-v3").run()
    at.switch_page("pages/collections.py").run()
    assert_healthy(at)
    settings = frame_with(at, "setting", "value").set_index("setting")
    source = settings.loc["query vectors", "value"]
    assert "Jina embeddings API (jina-embeddings-v3" in source and "WordLlama" not in source
