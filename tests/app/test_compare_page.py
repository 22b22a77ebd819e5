"""Compare models page, in AppTest, against the real test Weaviate and the Jina stand-in."""

from __future__ import annotations

import json
import re

import pytest

from testkit.jina_stand_in import Fault
from tests.app.conftest import AppEnv
from tests.app.helpers import (
    assert_healthy,
    frame_with,
    leading_at_least,
    leading_before_a_drop,
    values,
    widget_values,
)

pytestmark = pytest.mark.weaviate

LOCAL = "local:local-wordllama"
V2 = "jina:jina-reranker-v2-base-multilingual"
V3 = "jina:jina-reranker-v3"
V35 = "jina:jina-reranker-v3.5"
TINY = "jina:jina-reranker-v1-tiny-en"


def open_compare(env: AppEnv):
    at = env.new_app().run()
    at.switch_page("pages/compare.py").run()
    assert_healthy(at)
    return at


def test_compare_three_models_with_a_key(with_jina_key: AppEnv) -> None:
    at = open_compare(with_jina_key)
    # the default set with a key: the newest model beside Weaviate's default
    assert at.multiselect(key="compare.models").value == [LOCAL, V35, V2]
    at.button(key="compare.run").click().run()
    assert_healthy(at)
    assert not at.error
    assert [s.label for s in at.status] == ["Compared 3 models: 3 done, 0 failed."]
    models = frame_with(at, "model", "status", "latency ms")
    assert list(models["status"]) == ["ok", "ok", "ok"]
    top = frame_with(at, "rank", "retrieval")
    assert top.shape == (10, 5)  # rank, retrieval and the three models
    agreement = frame_with(at, "ordering A", "ordering B", "Kendall τ (all 50)", "overlap (top 10)")
    assert len(agreement) == 6  # 4 orderings -> 6 pairs
    # The first chart is the stage chart of retrieval vs the first model that ran (the only chart built).
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    stage = json.loads(charts[0].proto.spec)
    assert stage["layout"]["meta"]["view"] == "top" and stage["layout"]["meta"]["shown"] == 10
    headings = [a["text"] for a in stage["layout"]["annotations"] if a.get("name") == "column-heading"]
    assert any("local baseline" in h for h in headings), headings  # its name (cut to its column at 1280 px)
    assert at.selectbox(key="compare.stage_model").value == "local baseline (WordLlama)"
    # Another model on the chart: the chart and the numbers beside it follow the pick.
    at.selectbox(key="compare.stage_model").set_value("jina-reranker-v3.5").run()
    assert_healthy(at)
    stage = json.loads(at.get("plotly_chart")[0].proto.spec)
    headings = [a["text"] for a in stage["layout"]["annotations"] if a.get("name") == "column-heading"]
    assert any("jina-reranker-v3.5" in h for h in headings), headings
    moved = at.session_state["compare.last"].memo["movement@jina-reranker-v3.5@10"]
    labels = [m.label for m in at.metric][:3]
    assert labels == ["nDCG@10 of jina-reranker-v3.5", "Kendall τ · all 50", "Overlap · top 10"]
    assert at.metric[2].value == f"{round(moved.summary.overlap_at_n * 10)}/10"
    # The bump chart of every ordering, one option away.
    at.segmented_control(key="compare.chart").set_value("bump").run()
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    assert json.loads(charts[0].proto.spec)["layout"]["title"]["text"] == "Rank of each document under each model"
    assert len(with_jina_key.jina.rerank_requests()) == 2  # the two Jina models, one call each
    assert at.query_params["models"] == ",".join([LOCAL, V35, V2])

    assert models.loc[models["model"] == "local baseline (WordLlama)", "tokens"].item() == "—"  # not "None"

    at.button(key="compare.run").click().run()  # again: all from the session's cache
    assert_healthy(at)
    assert len(with_jina_key.jina.rerank_requests()) == 2
    models = frame_with(at, "model", "status", "latency ms")
    assert list(models["latency ms"]) == ["— (cache)"] * 3  # no new call, so no latency of its own
    assert all(t == "—" or t.endswith(" (cached)") for t in models["tokens"])
    banner = [i for i in values(at.info) if "Served from this session's cache" in i]
    assert len(banner) == 1 and "search from " in banner[0]
    at.button(key="compare.run_again_button").click().run()  # one click: every model really asked again
    assert_healthy(at)
    assert len(with_jina_key.jina.rerank_requests()) == 4
    models = frame_with(at, "model", "status", "latency ms")
    assert "— (cache)" not in list(models["latency ms"])
    assert not [i for i in values(at.info) if "Served from this session's cache" in i]


def test_overlap_in_the_agreement_table_follows_the_shown_n(app_env: AppEnv) -> None:
    at = open_compare(app_env)
    at.number_input(key="compare.n").set_value(5).run()
    at.button(key="compare.run").click().run()
    assert_healthy(at)
    top = frame_with(at, "rank", "retrieval")
    assert len(top) == 5
    agreement = frame_with(at, "ordering A", "ordering B", "overlap (top 5)")
    assert len(agreement) == 1  # retrieval vs the local baseline
    # the export says the same as the screen
    files = {label: build() for label, build, *_ in at.session_state["compare.last"].memo["downloads@5"]}
    exported = json.loads(files["Download comparison (JSON)"])
    assert [row["overlap@5"] for row in exported["agreement"]] == list(agreement["overlap (top 5)"])
    assert "overlap over the shown top N" in exported["agreement_scope"]


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
    assert len(at.get("plotly_chart")) == 1  # the stage chart of the first model that worked
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


def test_a_compare_link_reopens_the_same_comparison(with_jina_key: AppEnv) -> None:
    """Every Compare input through the URL into a new session: the same inputs, the same run, no click."""
    at = open_compare(with_jina_key)
    at.selectbox(key="compare.collection").set_value("DemoJeopardy").run()
    at.segmented_control(key="compare.mode").set_value("hybrid").run()
    at.text_input(key="compare.query").set_value("largest planet").run()
    at.number_input(key="compare.k").set_value(20).run()
    at.number_input(key="compare.n").set_value(4).run()
    at.selectbox(key="compare.prop").set_value("question").run()
    at.slider(key="compare.alpha").set_value(0.7).run()
    at.selectbox(key="compare.fusion").set_value("relative_score").run()
    at.multiselect(key="compare.properties").set_value(["text"]).run()  # the demo's only BM25-searchable property
    at.radio(key="compare.operator").set_value("and").run()
    at.selectbox(key="compare.embedder").set_value("jina:jina-embeddings-v3").run()
    at.multiselect(key="compare.models").set_value([LOCAL, V3]).run()
    assert_healthy(at)
    names = ("collection", "mode", "query", "k", "n", "prop", "alpha", "fusion", "properties", "operator",
             "embedder", "models")
    chosen = widget_values(at, "compare", names)
    link = dict(at.query_params)
    at.button(key="compare.run").click().run()
    ran_with = at.session_state["compare.last"].key

    reopened = with_jina_key.new_app()
    reopened.query_params.update(link)
    reopened.run()
    reopened.switch_page("pages/compare.py").run()
    assert_healthy(reopened)
    assert widget_values(reopened, "compare", names) == chosen
    reopened.button(key="compare.run").click().run()
    assert reopened.session_state["compare.last"].key == ran_with  # the same request and models


def test_a_compare_link_drops_an_unknown_model_and_says_so(app_env: AppEnv) -> None:
    at = app_env.new_app()
    at.query_params.update({"collection": "DemoWiki", "mode": "keyword", "query": "volcano", "k": "20",
                            "models": f"{LOCAL},bogus:thing"})
    at.run()
    assert any("model to compare “bogus:thing”" in w for w in values(at.warning))
    at.switch_page("pages/compare.py").run()
    assert_healthy(at)
    assert at.multiselect(key="compare.models").value == [LOCAL]
    assert at.text_input(key="compare.query").value == "volcano"
    assert at.number_input(key="compare.k").value == 20


def test_compare_asks_for_one_to_five_models_and_runs_one(app_env: AppEnv) -> None:
    at = open_compare(app_env)
    assert any("Pick one to five models" in i for i in values(at.info))
    at.multiselect(key="compare.models").set_value([LOCAL]).run()
    at.button(key="compare.run").click().run()
    assert_healthy(at)
    assert [s.label for s in at.status] == ["Compared 1 model: 1 done, 0 failed."]


def test_weaviate_module_option_reflects_the_collection_config(
    app_env: AppEnv, weaviate_client, restore_demo_rerankers: None
) -> None:
    """The module option names the model in the collection's config, and follows a change made elsewhere."""
    from weaviate.classes.config import Reconfigure

    at = open_compare(app_env)
    options = at.multiselect(key="compare.models").options
    module = [o for o in options if "Weaviate module" in o]
    assert module == ["jina-reranker-v2-base-multilingual · Weaviate module (configured on DemoWiki)"]
    weaviate_client.collections.use("DemoWiki").config.update(
        reranker_config=Reconfigure.Reranker.jinaai(model="jina-reranker-v3")
    )
    at = open_compare(app_env)  # a new session lists the collection afresh
    module = [o for o in at.multiselect(key="compare.models").options if "Weaviate module" in o]
    assert module == ["jina-reranker-v3 · Weaviate module (configured on DemoWiki)"]


def test_a_listwise_model_reranks_all_1000_candidates_in_one_call_and_says_how_far_each_was_cut(
    with_jina_key: AppEnv,
) -> None:
    # The budget reserves a bound that holds for any text (UTF-8 bytes): ~400,000 for 1,000 candidates cut to their
    # share of the 131K context, above the default session budget of 200,000 (the call would be refused, saying so).
    with_jina_key.monkeypatch.setenv("RERANK_PLAYGROUND_SESSION_TOKEN_BUDGET", "1000000")
    at = open_compare(with_jina_key)
    at.number_input(key="compare.k").set_value(1000).run()
    at.multiselect(key="compare.models").set_value([V35]).run()
    at.button(key="compare.run").click().run()
    assert_healthy(at)
    sent = with_jina_key.jina.rerank_requests()
    assert [len(r.json["documents"]) for r in sent] == [1000]  # one call, every candidate, never chunks
    assert any("listwise" in t and "all 1,000 candidates were reranked together in one call" in t
               for t in values(at.text) + values(at.caption) + values(at.info))


def _greyed_by_column(at, *columns: str) -> dict[str, set[int]]:
    """Per column of the first table with ``columns``: the rows the page styles as below a cut."""
    from components.grades_view import CUT_STYLE

    for element in at.dataframe:
        frame = element.value
        if all(c in frame.columns for c in columns):
            css = element.proto.arrow_data.styler.styles
            greyed: dict[str, set[int]] = {str(c): set() for c in frame.columns}
            for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
                if CUT_STYLE.split(": ")[1] in body:
                    for row, col in re.findall(r"_row(\d+)_col(\d+)", selectors):
                        greyed[str(frame.columns[int(col)])].add(int(row))
            return greyed
    raise AssertionError(f"no table with {columns}")


def test_a_cut_greys_each_models_list_where_it_cuts_and_goes_into_the_code(with_jina_key: AppEnv) -> None:
    """Issue 23.3 on Compare: one cut, applied to each model's own reranked list: its rows below the cut are
    greyed in its column, the count kept is said per model, and Copy as code cuts the same way."""
    at = open_compare(with_jina_key)
    at.multiselect(key="compare.models").set_value([LOCAL, V2]).run()
    at.button(key="compare.run").click().run()
    assert_healthy(at)
    run = at.session_state["compare.last"].run
    scores = {label: [d.score for d in result.ranked] for label, result in run.results.items()}
    assert len(scores) == 2
    n = len(frame_with(at, "rank", "retrieval"))
    assert n == 10
    assert all(not rows for rows in _greyed_by_column(at, "rank", "retrieval").values())  # no cut: none greyed
    assert not any("CUT_RULE" in c.value for c in at.code)

    local_label = next(label for label in scores if "WordLlama" in label)
    local = scores[local_label]
    threshold = (local[2] + local[3]) / 2  # the local baseline keeps exactly 3
    at.segmented_control(key="compare.cut_kind").set_value("threshold").run()
    at.number_input(key="compare.cut_threshold").set_value(threshold).run()
    assert_healthy(at)
    threshold = at.number_input(key="compare.cut_threshold").value
    greyed = _greyed_by_column(at, "rank", "retrieval")
    said = " ".join(values(at.markdown))
    for label, model_scores in scores.items():
        expected = leading_at_least(model_scores, threshold)
        assert greyed[label] == set(range(min(expected, n), n)), label
        assert f"{label} {expected} of {len(model_scores)}" in said.replace("**", "")
    assert leading_at_least(local, threshold) == 3
    assert greyed["retrieval"] == set() and greyed["rank"] == set()  # the retrieval order is not cut
    code_for = {}
    for index in range(2):  # Copy as code: whichever model is picked there, with the page's cut
        at.selectbox(key="compare.code_choice").set_value(index).run()
        code_for[index] = next(c.value for c in at.code if "CUT_RULE" in c.value)
        assert f"CUT_RULE = 'score ≥ {threshold:.6g} (after reranking N = 50)'" in code_for[index]
        compile(code_for[index], "copy-as-code.py", "exec")
    assert code_for[0] != code_for[1]  # one script per model

    # A relative cut scales each model's scores to its own range: the counts differ by model.
    at.segmented_control(key="compare.cut_kind").set_value("relative").run()
    at.number_input(key="compare.cut_relative").set_value(0.1).run()
    assert_healthy(at)
    greyed = _greyed_by_column(at, "rank", "retrieval")
    for label, model_scores in scores.items():
        expected = leading_before_a_drop(model_scores, 0.1)
        assert greyed[label] == set(range(min(expected, n), n)), label

    at.segmented_control(key="compare.cut_kind").set_value("none").run()
    assert all(not rows for rows in _greyed_by_column(at, "rank", "retrieval").values())
    assert not any("CUT_RULE" in c.value for c in at.code)
