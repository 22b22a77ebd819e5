"""Compare models page, in AppTest, against the real test Weaviate and the Jina stand-in."""

from __future__ import annotations

import json

import pytest

from tests.app.conftest import AppEnv
from tests.app.helpers import assert_healthy, frame_with, values
from tests.fakes.jina_stand_in import Fault

pytestmark = pytest.mark.weaviate

LOCAL = "local:local-wordllama"
V2 = "jina:jina-reranker-v2-base-multilingual"
V3 = "jina:jina-reranker-v3"
TINY = "jina:jina-reranker-v1-tiny-en"


def open_compare(env: AppEnv):
    at = env.new_app().run()
    at.switch_page("pages/compare.py").run()
    assert_healthy(at)
    return at


def test_compare_three_models_with_a_key(with_jina_key: AppEnv) -> None:
    at = open_compare(with_jina_key)
    assert at.multiselect(key="compare.models").value == [LOCAL, V2, V3]  # the default set with a key
    at.button(key="compare.run").click().run()
    assert_healthy(at)
    assert not at.error
    assert [s.label for s in at.status] == ["Compared 3 models: 3 done, 0 failed."]
    models = frame_with(at, "model", "status", "latency ms")
    assert list(models["status"]) == ["ok", "ok", "ok"]
    top = frame_with(at, "rank", "retrieval")
    assert top.shape == (10, 5)  # rank, retrieval and the three models
    agreement = frame_with(at, "ordering A", "ordering B", "Kendall τ")
    assert len(agreement) == 6  # 4 orderings -> 6 pairs
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    assert json.loads(charts[0].proto.spec)["layout"]["title"]["text"] == "Rank of each document under each model"
    assert len(with_jina_key.jina.rerank_requests()) == 2  # the two Jina models, one call each
    assert at.query_params["models"] == ",".join([LOCAL, V2, V3])

    assert models.loc[models["model"] == "local baseline (WordLlama)", "tokens"].item() == "—"  # not "None"

    at.button(key="compare.run").click().run()  # again: all from the session's cache
    assert_healthy(at)
    assert len(with_jina_key.jina.rerank_requests()) == 2
    models = frame_with(at, "model", "status", "latency ms")
    assert list(models["latency ms"]) == ["— (cache)"] * 3  # no new call, so no latency of its own


def test_one_failing_model_leaves_the_others(with_jina_key: AppEnv) -> None:
    jina = with_jina_key.jina
    at = open_compare(with_jina_key)
    at.multiselect(key="compare.models").set_value([LOCAL, V2, TINY]).run()
    jina.set_fault(Fault(status=422, times=1, message="model rejected"))  # exactly one of the two Jina calls
    at.button(key="compare.run").click().run()
    assert_healthy(at)
    assert [s.label for s in at.status] == ["Compared 3 models: 2 done, 1 failed."]
    models = frame_with(at, "model", "status", "latency ms")
    assert sorted(models["status"]) == ["failed", "ok", "ok"]
    assert models.loc[models["model"] == "local baseline (WordLlama)", "status"].item() == "ok"
    errors = values(at.error)
    assert len(errors) == 1
    assert len(at.get("plotly_chart")) == 1  # the bump chart of the two that worked
    assert frame_with(at, "rank", "retrieval").shape[1] == 4  # rank, retrieval and two models


def test_without_a_key_jina_models_explain(app_env: AppEnv) -> None:
    at = open_compare(app_env)
    picker = at.multiselect(key="compare.models")
    assert picker.value == [LOCAL]
    assert "needs a Jina key — get one at https://jina.ai/reranker" in picker.format_func(V2)
    picker.set_value([LOCAL, V2]).run()
    at.button(key="compare.run").click().run()
    assert_healthy(at)
    errors = values(at.error)
    assert len(errors) == 1 and "needs a Jina API key" in errors[0]
    assert len(at.get("plotly_chart")) == 1
    assert app_env.jina.rerank_requests() == []


def test_search_inputs_are_shared_with_the_search_page(app_env: AppEnv) -> None:
    at = app_env.new_app().run()
    at.selectbox(key="search.collection").set_value("DemoJeopardy").run()
    at.text_input(key="search.query").set_value("famous composers").run()
    at.switch_page("pages/compare.py").run()
    assert at.selectbox(key="compare.collection").value == "DemoJeopardy"
    assert at.text_input(key="compare.query").value == "famous composers"
    at.text_input(key="compare.query").set_value("space exploration").run()
    at.switch_page("pages/search.py").run()
    assert at.text_input(key="search.query").value == "space exploration"
    assert_healthy(at)


def test_compare_link_reopens_the_comparison(app_env: AppEnv) -> None:
    at = app_env.new_app()
    at.query_params.update({"collection": "DemoWiki", "mode": "keyword", "query": "volcano", "k": "20",
                            "models": f"{LOCAL},bogus:thing"})
    at.run()
    at.switch_page("pages/compare.py").run()
    assert_healthy(at)
    assert at.multiselect(key="compare.models").value == [LOCAL]
    assert at.text_input(key="compare.query").value == "volcano"
    assert at.number_input(key="compare.k").value == 20


def test_weaviate_module_option_reflects_the_collection_config(app_env: AppEnv) -> None:
    at = open_compare(app_env)
    options = at.multiselect(key="compare.models").options
    assert any("Weaviate module" in o for o in options)
