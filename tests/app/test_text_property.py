"""The same collection gets the same reranked property on every page (issue 18, point 2): Search, Compare and
Evaluate all preset DemoWiki's declared ``text`` (the property its vectors embed and BM25 searches), and the results
say it."""

from __future__ import annotations

from pathlib import Path

import pytest

from rerank_playground.demo.datasets import DEMO_WIKI
from rerank_playground.evaluation.demo_sets import demo_set_name, load_demo_query_sets
from rerank_playground.models import CollectionInfo, PropertyInfo
from rerank_playground.schema import default_rerank_property
from rerank_playground.store import open_store
from tests.app.conftest import AppEnv
from tests.app.helpers import assert_healthy, values

pytestmark = pytest.mark.weaviate
DEMO_INFO = CollectionInfo(DEMO_WIKI.name, 1, tuple(PropertyInfo(p.name, p.data_type) for p in DEMO_WIKI.properties),
                           None, (), None, None)


def test_search_compare_and_evaluate_preset_the_same_reranked_property(app_env: AppEnv, tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    app_env.monkeypatch.setenv("RERANK_PLAYGROUND_DB", str(path))
    with open_store(str(path)) as store:
        load_demo_query_sets(store)
    at = app_env.new_app().run()
    at.switch_page("pages/search.py").run()
    assert_healthy(at)
    expected = default_rerank_property(DEMO_INFO)
    assert expected == DEMO_WIKI.rerank_property == "text"
    assert at.selectbox(key="search.collection").value == DEMO_WIKI.name
    assert at.selectbox(key="search.prop").value == expected
    at.button(key="search.run").click().run()
    assert_healthy(at)
    assert any("reranked on: text" in c for c in values((*at.caption, *at.markdown)))

    at.switch_page("pages/compare.py").run()
    assert_healthy(at)
    assert at.selectbox(key="compare.prop").value == expected
    at.button(key="compare.run").click().run()
    assert_healthy(at)
    assert any("reranked on: text" in c for c in values((*at.caption, *at.markdown)))

    at.switch_page("pages/evaluate.py").run()
    assert_healthy(at)
    at.selectbox(key="evaluate.set").set_value(demo_set_name(DEMO_WIKI.name)).run()
    assert at.selectbox(key=f"evaluate.prop.{DEMO_WIKI.name}").value == expected
