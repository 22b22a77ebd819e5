"""Search & Rerank page, in AppTest, against the real test Weaviate and the Jina stand-in."""

from __future__ import annotations

import json
import re

import pytest
from weaviate.classes.config import DataType, Property

from components import results_view
from rerank_playground.demo.suggestions import SUGGESTED_QUERIES
from testkit.jina_stand_in import TEST_JINA_KEY, Fault
from tests.app.conftest import AppEnv
from tests.app.helpers import assert_healthy, frame_with, values, widget_values

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
    assert at.selectbox(key="search.prop").value == "text"  # the demo's one text: searched, embedded, reranked
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
    # only the chart in view is built and sent; the switch shows each of the others in its place
    # the first chart is the stage chart: the linear top N, sized for the default 1280x720 screen
    (stage,) = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    assert stage["layout"]["meta"]["view"] == "top" and stage["layout"]["meta"]["shown"] == 10
    assert stage["layout"]["height"] <= 720 - results_view.ABOVE_STAGE_PX
    at.segmented_control(key="search.chart").set_value("stage_full").run()
    (full,) = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    assert full["layout"]["meta"]["view"] == "full"  # every K candidate, one click away
    at.segmented_control(key="search.chart").set_value("slope").run()
    assert [t for t in plotly_titles(at) if t.startswith("Rank movement")] == plotly_titles(at)
    assert len(plotly_titles(at)) == 1
    assert not any(df.value.shape[0] == 50 for df in at.dataframe)  # the K-row table waits until asked for
    for chart, title in (("delta", "How far each document moved"), ("scatter", "Retrieval score vs rerank score")):
        at.segmented_control(key="search.chart").set_value(chart).run()
        assert plotly_titles(at) == [title]
    at.segmented_control(key="search.more_tables").set_value("all").run()
    assert any(df.value.shape[0] == 50 for df in at.dataframe)
    at.segmented_control(key="search.chart").set_value("slope").run()
    metrics = {m.label: m.value for m in at.metric}
    # every figure names its scope: all K = 50 candidates, or the shown top N = 10
    for label in ("Kendall τ · all 50", "Overlap · top 10", "▲ up / ▼ down · all 50", "Search latency",
                  "Rerank latency", "Tokens used", "Biggest climb · all 50", "Biggest fall · all 50"):
        assert label in metrics, label
    assert -1.0 <= float(metrics["Kendall τ · all 50"]) <= 1.0
    up, down = (int(v) for v in metrics["▲ up / ▼ down · all 50"].split(" / "))
    moved = next(m for m in at.metric if m.label == "▲ up / ▼ down · all 50")
    unchanged = int(moved.delta.removeprefix("● ").removesuffix(" unchanged"))
    assert up + down + unchanged == 50
    assert metrics["Tokens used"] == "—"
    # the page, the chart subtitle and the export agree on the top-N overlap
    overlap = metrics["Overlap · top 10"]
    slope = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["title"]["subtitle"]["text"]
    assert f"top-10 overlap {overlap} (shown N)" in slope
    files = {label: build() for label, build, *_ in at.session_state["search.last"].memo["downloads"]}
    exported = json.loads(files["Download movements (JSON)"])
    summary = {row["metric"]: row["value"] for row in exported["summary"]}
    assert summary["overlap (shown top 10)"].endswith(f"({overlap})")
    labels = [b.proto.label for b in at.get("download_button")]
    # every file is made when its button is clicked, not on each run (a deferred download has no URL yet)
    assert all(b.proto.deferred_file_id and not b.proto.url for b in at.get("download_button"))
    assert labels == ["Snapshot (HTML)", "Download results (CSV)", "Download results (JSON)",
                      "Download movements (CSV)", "Download movements (JSON)"]
    assert any("Not a Jina reranker" in t for t in values(at.text))
    # the URL now describes this view (and never a key)
    assert at.query_params["query"] == FIRST_WIKI_QUERY
    assert at.query_params["reranker"] == "local"


def test_jina_model_via_stand_in_calls_once_and_caches(with_jina_key: AppEnv) -> None:
    jina = with_jina_key.jina
    at = with_jina_key.new_app().run()
    assert at.segmented_control(key="search.reranker").value == "jina"  # key present: Jina, newest model
    assert at.selectbox(key="search.model").value == "jina-reranker-v3.5"
    at.button(key="search.run").click().run()
    assert_healthy(at)
    assert not at.error
    requests = jina.rerank_requests()
    assert len(requests) == 1
    assert requests[0].json["model"] == "jina-reranker-v3.5"
    assert len(requests[0].json["documents"]) == 50
    assert requests[0].headers["authorization"] == f"Bearer {TEST_JINA_KEY}"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tokens used"] != "—"
    assert len(at.get("plotly_chart")) == 1

    at.button(key="search.run").click().run()  # same inputs: served from the session's caches
    assert_healthy(at)
    assert len(jina.rerank_requests()) == 1
    assert any("from this session's cache" in t for t in values(at.text))
    # ...and the page says so, with the time of the real run, and labels the figures as cached
    banner = [i for i in values(at.info) if "Served from this session's cache" in i]
    assert len(banner) == 1 and "search cached (from " in banner[0] and "rerank cached (from " in banner[0]
    labels = {m.label for m in at.metric}
    assert {"Search latency · cached", "Rerank latency · cached", "Tokens used · cached"} <= labels
    at.button(key="search.run_again_button").click().run()  # one click: really asked again
    assert_healthy(at)
    assert len(jina.rerank_requests()) == 2
    assert not [i for i in values(at.info) if "Served from this session's cache" in i]
    assert {"Search latency", "Rerank latency", "Tokens used"} <= {m.label for m in at.metric}

    at.switch_page("pages/collections.py").run()
    at.switch_page("pages/search.py").run()  # results still there, nothing recomputed
    assert_healthy(at)
    assert frame_with(at, "was", "rerank score").shape[0] == 10
    assert len(jina.rerank_requests()) == 2
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


@pytest.mark.parametrize(("status", "expected"), [(429, "rate"), (500, "jina's server failed")])
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
    assert len(at.get("plotly_chart")) == 1


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
    assert len(at.get("plotly_chart")) == 1  # it ran without pressing the button
    assert any(suggestion.why[:40] in c for c in values(at.caption))


def test_other_collection_gets_its_own_suggestion(app_env: AppEnv) -> None:
    at = app_env.new_app().run()
    at.selectbox(key="search.collection").set_value("DemoJeopardy").run()
    assert_healthy(at)
    first = SUGGESTED_QUERIES["DemoJeopardy"][0]
    assert at.text_input(key="search.query").value == first.query
    assert at.selectbox(key="search.prop").value == "text"
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


SEARCH_WIDGETS = ("collection", "mode", "query", "k", "n", "prop", "alpha", "fusion", "properties", "operator",
                  "embedder", "reranker", "model")


def test_every_search_input_round_trips_through_the_link(with_jina_key: AppEnv) -> None:
    """Change every input that changes the result, copy the URL, open it in a new session: the same inputs,
    and the same run."""
    at = with_jina_key.new_app().run()
    at.selectbox(key="search.collection").set_value("DemoJeopardy").run()
    at.segmented_control(key="search.mode").set_value("hybrid").run()
    at.text_input(key="search.query").set_value("largest planet").run()
    at.number_input(key="search.k").set_value(30).run()
    at.number_input(key="search.n").set_value(5).run()
    at.selectbox(key="search.prop").set_value("question").run()
    at.slider(key="search.alpha").set_value(0.3).run()
    at.selectbox(key="search.fusion").set_value("relative_score").run()
    at.multiselect(key="search.properties").set_value(["text"]).run()  # the demo's only BM25-searchable property
    at.radio(key="search.operator").set_value("and").run()
    at.selectbox(key="search.embedder").set_value("jina:jina-embeddings-v3").run()
    at.segmented_control(key="search.reranker").set_value("jina").run()
    at.selectbox(key="search.model").set_value("jina-reranker-v3").run()
    assert_healthy(at)
    chosen = widget_values(at, "search", SEARCH_WIDGETS)
    assert chosen["properties"] == ["text"] and chosen["operator"] == "and"
    link = dict(at.query_params)
    at.button(key="search.run").click().run()
    ran_with = at.session_state["search.last"].key  # (request, reranker choice, N): all the result depends on

    reopened = with_jina_key.new_app()
    reopened.query_params.update(link)
    reopened.run()
    assert_healthy(reopened)
    assert not reopened.warning, values(reopened.warning)
    assert widget_values(reopened, "search", SEARCH_WIDGETS) == chosen
    # a link with paid embeddings and reranking runs nothing by itself (it waits for a click): then the same run
    reopened.button(key="search.run").click().run()
    assert reopened.session_state["search.last"].key == ran_with


def test_bad_query_params_say_what_was_not_used(app_env: AppEnv) -> None:
    at = app_env.new_app()
    at.query_params.update({"collection": "NoSuchCollection", "mode": "telepathy", "k": "5000", "alpha": "x",
                            "model": "jina-reranker-v9"})
    at.run()
    assert_healthy(at)
    assert at.selectbox(key="search.collection").value == "DemoWiki"
    assert at.segmented_control(key="search.mode").value == "hybrid"
    assert at.number_input(key="search.k").value == 50
    warnings = values(at.warning)
    for expected in ("NoSuchCollection” is not on this server", "search mode “telepathy”", "Candidates K “5000”",
                     "alpha “x”", "reranker model “jina-reranker-v9”"):
        assert any(expected in w for w in warnings), (expected, warnings)


def test_refresh_collections_finds_one_created_after_the_page_listed_them(
    app_env: AppEnv, weaviate_client
) -> None:
    at = app_env.new_app().run()
    assert "FreshlyMade" not in at.selectbox(key="search.collection").options
    weaviate_client.collections.create("FreshlyMade", properties=[Property(name="body", data_type=DataType.TEXT)])
    try:
        at.run()
        assert "FreshlyMade" not in at.selectbox(key="search.collection").options  # listed once per connection
        at.button(key="search.refresh_collections").click().run()
        assert_healthy(at)
        assert "FreshlyMade" in [o.split(" · ")[0] for o in at.selectbox(key="search.collection").options]
    finally:
        weaviate_client.collections.delete("FreshlyMade")


def test_weaviate_module_path_without_a_key_is_explained(app_env: AppEnv) -> None:
    at = app_env.new_app().run()
    at.segmented_control(key="search.reranker").set_value("weaviate_module").run()
    assert_healthy(at)
    assert any("jina-reranker-v2-base-multilingual" in c.replace("\\", "") for c in values(at.caption))
    # marked before the click (issue 19, point 7): it needs a key, nothing is estimated
    assert any("Weaviate module needs a Jina key" in w and "Paste your Jina key in the sidebar" in w
               for w in values(at.warning))
    assert not any("Who pays" in i for i in values(at.info))
    at.button(key="search.run").click().run()
    assert_healthy(at)
    errors = values(at.error)
    assert len(errors) == 1 and "Jina key" in errors[0]
    assert not any("Expected Jina tokens" in t for t in values(at.caption) + values(at.warning))
    assert frame_with(at, "explain score").shape[0] == 10  # the plain search is still shown
    assert app_env.jina.rerank_requests() == []


def test_unexpected_error_is_a_generic_message_logged_without_keys(
    with_jina_key: AppEnv, caplog: pytest.LogCaptureFixture
) -> None:
    from rerank_playground import stage_chart

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"chart exploded near Bearer {TEST_JINA_KEY}")

    with_jina_key.monkeypatch.setattr(stage_chart, "stage_chart", broken)  # the first chart
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


def test_the_module_path_says_when_it_uses_weaviates_own_default(app_env: AppEnv, weaviate_client) -> None:
    from weaviate.classes.config import Configure

    weaviate_client.collections.create("NoModelSet", properties=[Property(name="body", data_type=DataType.TEXT)],
                                       reranker_config=Configure.Reranker.jinaai())
    try:
        at = app_env.new_app()
        at.query_params.update({"collection": "NoModelSet", "mode": "keyword", "reranker": "weaviate_module"})
        at.run()
        assert_healthy(at)
        captions = [c.replace("\\", "") for c in values(at.caption)]
        assert any("jina-reranker-v2-base-multilingual (no model in the collection's config: Weaviate's own default"
                   in c for c in captions), captions
        assert at.selectbox(key="search.collection").value == "NoModelSet"
    finally:
        weaviate_client.collections.delete("NoModelSet")


def _greyed_rows(at, *columns: str) -> set[int]:
    """The rows of the first table with ``columns`` that the page styles as below a cut."""
    for element in at.dataframe:
        if all(c in element.value.columns for c in columns):
            css = element.proto.arrow_data.styler.styles
            rules = re.findall(r"([^{}]+)\{([^{}]*)\}", css)
            return {int(row) for selectors, body in rules if results_view.grades_view.CUT_STYLE.split(": ")[1]
                    in body for row in re.findall(r"_row(\d+)_col", selectors)}
    raise AssertionError(f"no table with {columns}")


def test_a_cut_greys_what_it_drops_and_goes_into_the_code(app_env: AppEnv) -> None:
    """Issue 23.3: a cut chosen on Search greys the reranked rows below it, says how many it keeps, and Copy as
    code cuts the same way."""
    at = app_env.new_app().run()
    at.button(key="search.run").click().run()
    assert _greyed_rows(at, "was", "rerank score") == set()  # no cut: nothing greyed
    assert not any("CUT_RULE" in c.value for c in at.code)
    at.segmented_control(key="search.cut_kind").set_value("top_k").run()
    at.number_input(key="search.cut_top_k").set_value(3).run()
    assert_healthy(at)
    assert any("kept 3 of 50" in m for m in values(at.markdown)), values(at.markdown)
    assert _greyed_rows(at, "was", "rerank score") == set(range(3, 10))
    assert _greyed_rows(at, "now at", "retrieval score") == set()  # the retrieval order is not cut
    code = next(c.value for c in at.code if "CUT_RULE" in c.value)
    assert "CUT_RULE = 'top 3 (after reranking N = 50)'" in code
    compile(code, "copy-as-code.py", "exec")  # runnable Python
    # A score threshold keeps what scores at least t in the reranked list, best first.
    scores = list(frame_with(at, "was", "rerank score")["rerank score"])
    threshold = (scores[1] + scores[2]) / 2  # between the 2nd and 3rd: keeps exactly 2 of the top 10
    at.segmented_control(key="search.cut_kind").set_value("threshold").run()
    at.number_input(key="search.cut_threshold").set_value(threshold).run()
    assert_healthy(at)
    assert _greyed_rows(at, "was", "rerank score") == set(range(2, 10))
    assert any("kept 2 of 50" in m for m in values(at.markdown))
    at.segmented_control(key="search.cut_kind").set_value("none").run()
    assert _greyed_rows(at, "was", "rerank score") == set()
    assert not any("CUT_RULE" in c.value for c in at.code)


def test_a_filter_row_filters_the_search_travels_in_the_link_and_names_a_bad_value(app_env: AppEnv) -> None:
    at = app_env.new_app().run()
    at.selectbox(key="search.filter_prop").set_value("chunk_no").run()
    assert at.selectbox(key="search.filter_op").options == ["equal", "not equal", "greater than", "less than",
                                                            "contains any"]  # the operators that fit an int
    at.selectbox(key="search.filter_op").set_value("<").run()
    at.text_input(key="search.filter_value").set_value("3").run()
    assert at.query_params["where"] == "chunk_no < 3"
    link = dict(at.query_params)
    at.button(key="search.run").click().run()
    assert_healthy(at)
    record = at.session_state["search.last"]
    assert record.search is not None and record.search.hits
    assert all(hit.properties["chunk_no"] < 3 for hit in record.search.hits)

    reopened = app_env.new_app()
    reopened.query_params.update(link)
    reopened.run()
    assert not reopened.warning, values(reopened.warning)
    assert widget_values(reopened, "search", ("filter_prop", "filter_op", "filter_value")) == {
        "filter_prop": "chunk_no", "filter_op": "<", "filter_value": "3"}

    at.text_input(key="search.filter_value").set_value("three").run()
    assert any("The filter on 'chunk_no' (int) needs a whole number, not 'three'" in w for w in values(at.warning))
    at.button(key="search.run").click().run()
    assert_healthy(at)
    assert any("needs a whole number" in e for e in values(at.error)), values(at.error)
