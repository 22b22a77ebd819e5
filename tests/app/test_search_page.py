"""Search & Rerank page, in AppTest, against the real test Weaviate and the Jina stand-in."""

from __future__ import annotations

import json

import pytest

from rerank_playground.demo import SUGGESTED_QUERIES
from tests.app.conftest import AppEnv
from tests.app.helpers import assert_healthy, frame_with, values
from tests.fakes.fixtures import TEST_JINA_KEY
from tests.fakes.jina_stand_in import Fault

pytestmark = pytest.mark.weaviate

FIRST_WIKI_QUERY = SUGGESTED_QUERIES["DemoWiki"][0].query


def plotly_titles(at) -> list[str]:
    titles = []
    for chart in at.get("plotly_chart"):
        figure = json.loads(chart.proto.spec)
        titles.append(figure["layout"]["title"]["text"])
    return titles


def test_first_load_auto_connects_and_prefills(app_env: AppEnv) -> None:
    at = app_env.new_app().run()
    assert_healthy(at)
    sidebar = values(at.sidebar.success)
    assert any(s.startswith("Connected: local Weaviate ") and s.endswith(" collections") for s in sidebar), sidebar
    assert at.selectbox(key="search.collection").value == "DemoWiki"
    assert at.text_input(key="search.query").value == FIRST_WIKI_QUERY
    assert at.segmented_control(key="search.reranker").value == "local"  # no key: the local baseline
    assert at.number_input(key="search.k").value == 50
    assert at.number_input(key="search.n").value == 10
    assert at.selectbox(key="search.prop").value == "passage"
    assert not at.error
    assert not at.get("plotly_chart")


def test_local_baseline_shows_lists_charts_and_summary(app_env: AppEnv) -> None:
    at = app_env.new_app().run()
    at.button(key="search.run").click().run()
    assert_healthy(at)
    assert not at.error
    before = frame_with(at, "now at")
    after = frame_with(at, "was", "rerank score")
    assert list(before["rank"]) == list(range(1, 11))
    assert list(after["rank"]) == list(range(1, 11))
    # rank, its grade (a badge, editable), move, where it was, the text, then its own score (the other side's
    # score is in the other table)
    assert list(after.columns) == ["rank", "grade", "move", "was", "text", "rerank score"]
    assert list(before.columns) == ["rank", "grade", "move", "now at", "text", "retrieval score"]
    assert all(m[0] in "▲▼●" for m in after["move"])
    titles = plotly_titles(at)
    assert len(titles) == 3
    assert titles[0].startswith("Rank movement")
    assert "How far each document moved" in titles
    assert "Retrieval score vs rerank score" in titles
    metrics = {m.label: m.value for m in at.metric}
    for label in ("Kendall τ", "Overlap@10", "Promoted ▲", "Demoted ▼", "Unchanged ●", "Search latency",
                  "Rerank latency", "Tokens used", "Biggest climb", "Biggest fall"):
        assert label in metrics, label
    assert -1.0 <= float(metrics["Kendall τ"]) <= 1.0
    assert int(metrics["Promoted ▲"]) + int(metrics["Demoted ▼"]) + int(metrics["Unchanged ●"]) == 50
    assert metrics["Tokens used"] == "—"
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Snapshot (HTML)", "Download results (CSV)", "Download results (JSON)",
                      "Download movements (CSV)", "Download movements (JSON)"]
    assert any("Not a Jina reranker" in t for t in values(at.text))
    # the URL now describes this view (and never a key)
    assert at.query_params["query"] == FIRST_WIKI_QUERY
    assert at.query_params["reranker"] == "local"


def test_jina_model_via_stand_in_calls_once_and_caches(with_jina_key: AppEnv) -> None:
    jina = with_jina_key.jina
    at = with_jina_key.new_app().run()
    assert at.segmented_control(key="search.reranker").value == "jina"  # key present: Jina v2 by default
    assert at.selectbox(key="search.model").value == "jina-reranker-v2-base-multilingual"
    at.button(key="search.run").click().run()
    assert_healthy(at)
    assert not at.error
    requests = jina.rerank_requests()
    assert len(requests) == 1
    assert requests[0].json["model"] == "jina-reranker-v2-base-multilingual"
    assert len(requests[0].json["documents"]) == 50
    assert requests[0].headers["authorization"] == f"Bearer {TEST_JINA_KEY}"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tokens used"] != "—"
    assert len(at.get("plotly_chart")) == 3

    at.button(key="search.run").click().run()  # same inputs: served from the session's caches
    assert_healthy(at)
    assert len(jina.rerank_requests()) == 1
    assert any("from this session's cache" in t for t in values(at.text))

    at.switch_page("pages/collections.py").run()
    at.switch_page("pages/search.py").run()  # results still there, nothing recomputed
    assert_healthy(at)
    assert frame_with(at, "was", "rerank score").shape[0] == 10
    assert len(jina.rerank_requests()) == 1
    assert TEST_JINA_KEY not in json.dumps(at.query_params)


def test_jina_model_without_key_explains_and_does_not_call(app_env: AppEnv) -> None:
    at = app_env.new_app().run()
    at.segmented_control(key="search.reranker").set_value("jina").run()
    assert_healthy(at)
    model = at.selectbox(key="search.model")
    assert "needs a Jina key — get one at https://jina.ai/reranker" in model.format_func(model.value)
    assert any("needs a Jina key — get one at https://jina.ai/reranker" in w for w in values(at.warning))
    at.button(key="search.run").click().run()
    assert_healthy(at)
    errors = values(at.error)
    assert len(errors) == 1 and "needs a Jina API key" in errors[0]
    # the search itself worked: its results are shown, not reranked
    assert frame_with(at, "explain score").shape[0] == 10
    assert not at.get("plotly_chart")
    assert app_env.jina.rerank_requests() == []


@pytest.mark.parametrize(("status", "expected"), [(429, "rate"), (500, "")])
def test_jina_fault_is_an_inline_error_and_the_page_still_works(
    with_jina_key: AppEnv, status: int, expected: str
) -> None:
    jina = with_jina_key.jina
    jina.set_fault(Fault(status=status, retry_after="120" if status == 429 else None))
    at = with_jina_key.new_app().run()
    at.button(key="search.run").click().run()
    assert_healthy(at)
    errors = values(at.error)
    assert len(errors) == 1
    assert expected in errors[0].lower()
    assert frame_with(at, "explain score").shape[0] == 10

    jina.clear_faults()
    at.button(key="search.run").click().run()  # a failure is not cached: the same click now works
    assert_healthy(at)
    assert not at.error
    assert len(at.get("plotly_chart")) == 3


def test_empty_query_is_an_inline_message(app_env: AppEnv) -> None:
    at = app_env.new_app().run()
    at.text_input(key="search.query").set_value("   ").run()
    at.button(key="search.run").click().run()
    assert_healthy(at)
    assert any("Type a query first" in e for e in values(at.error))
    assert not at.get("plotly_chart")


def test_suggested_query_is_one_click(app_env: AppEnv) -> None:
    at = app_env.new_app().run()
    suggestion = SUGGESTED_QUERIES["DemoWiki"][2]
    at.pills(key="search.suggested").set_value(suggestion.query).run()
    assert_healthy(at)
    assert at.text_input(key="search.query").value == suggestion.query
    assert at.segmented_control(key="search.mode").value == suggestion.mode
    assert len(at.get("plotly_chart")) == 3  # it ran without pressing the button
    assert any(suggestion.why[:40] in c for c in values(at.caption))


def test_other_collection_gets_its_own_suggestion(app_env: AppEnv) -> None:
    at = app_env.new_app().run()
    at.selectbox(key="search.collection").set_value("DemoJeopardy").run()
    assert_healthy(at)
    first = SUGGESTED_QUERIES["DemoJeopardy"][0]
    assert at.text_input(key="search.query").value == first.query
    assert at.selectbox(key="search.prop").value == "question"
    at.button(key="search.run").click().run()
    assert_healthy(at)
    assert frame_with(at, "was", "rerank score").shape[0] == 10


def test_hybrid_controls_and_inputs_survive_page_switches(app_env: AppEnv) -> None:
    at = app_env.new_app().run()
    assert at.slider(key="search.alpha").value == 0.5
    at.slider(key="search.alpha").set_value(0.8).run()
    at.number_input(key="search.k").set_value(30).run()
    at.text_input(key="search.query").set_value("volcano eruption").run()
    at.segmented_control(key="search.mode").set_value("keyword").run()
    assert not at.slider  # alpha only for hybrid
    at.switch_page("pages/compare.py").run()
    assert at.text_input(key="compare.query").value == "volcano eruption"
    assert at.number_input(key="compare.k").value == 30
    assert at.segmented_control(key="compare.mode").value == "keyword"
    at.switch_page("pages/search.py").run()
    assert_healthy(at)
    assert at.text_input(key="search.query").value == "volcano eruption"
    at.segmented_control(key="search.mode").set_value("hybrid").run()
    assert at.slider(key="search.alpha").value == 0.8


def test_query_params_reopen_the_same_view(app_env: AppEnv) -> None:
    at = app_env.new_app()
    at.query_params.update(
        {"collection": "DemoJeopardy", "mode": "keyword", "query": "largest planet", "k": "30", "n": "5",
         "prop": "question", "reranker": "local"}
    )
    at.run()
    assert_healthy(at)
    assert at.selectbox(key="search.collection").value == "DemoJeopardy"
    assert at.segmented_control(key="search.mode").value == "keyword"
    assert at.text_input(key="search.query").value == "largest planet"
    assert at.number_input(key="search.k").value == 30
    assert at.number_input(key="search.n").value == 5
    # the link reopens the view: results without a click
    assert frame_with(at, "was", "rerank score").shape[0] == 5
    assert len(at.get("plotly_chart")) == 3


def test_bad_query_params_are_ignored(app_env: AppEnv) -> None:
    at = app_env.new_app()
    at.query_params.update({"collection": "NoSuchCollection", "mode": "telepathy", "k": "-4", "alpha": "x"})
    at.run()
    assert_healthy(at)
    assert at.selectbox(key="search.collection").value == "DemoWiki"
    assert at.segmented_control(key="search.mode").value == "hybrid"
    assert at.number_input(key="search.k").value == 50
    assert any("not on this server" in w for w in values(at.warning))


def test_weaviate_module_path_without_a_key_is_explained(app_env: AppEnv) -> None:
    at = app_env.new_app().run()
    at.segmented_control(key="search.reranker").set_value("weaviate_module").run()
    assert_healthy(at)
    assert any("jina-reranker-v2-base-multilingual" in c.replace("\\", "") for c in values(at.caption))
    assert any("Who pays" in i and "paste your Jina key in the sidebar" in i for i in values(at.info))
    at.button(key="search.run").click().run()
    assert_healthy(at)
    errors = values(at.error)
    assert len(errors) == 1 and "Jina key" in errors[0]
    assert frame_with(at, "explain score").shape[0] == 10  # the plain search is still shown
    assert app_env.jina.rerank_requests() == []


def test_unexpected_error_is_a_generic_message_logged_without_keys(
    with_jina_key: AppEnv, caplog: pytest.LogCaptureFixture
) -> None:
    from rerank_playground import charts

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"chart exploded near Bearer {TEST_JINA_KEY}")

    with_jina_key.monkeypatch.setattr(charts, "slope_chart", broken)
    at = with_jina_key.new_app().run()
    with caplog.at_level("ERROR", logger="rerank_playground.app"):
        at.button(key="search.run").click().run()
    assert_healthy(at)
    errors = values(at.error)
    assert len(errors) == 1 and errors[0].startswith("Something unexpected went wrong")
    assert "exploded" not in errors[0]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "chart exploded" in logged and "Traceback" in logged  # the stack goes to the server log...
    assert TEST_JINA_KEY not in logged  # ...without the key
    # the tables still show what the reranker did
    assert frame_with(at, "was", "rerank score").shape[0] == 10
