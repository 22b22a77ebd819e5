"""Evaluate and Runs pages in AppTest, against the real test Weaviate (demo collections) and a private store: the
demo's judged set runs from the UI with no key (baseline vs local), its results page shows the engine's figures
(the same ones the CLI prints), a refused plan is a message, and two runs diff."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rerank_playground.demo.datasets import DEMO_WIKI
from rerank_playground.evaluation import analysis
from rerank_playground.evaluation.batch_engine import BatchRun
from rerank_playground.evaluation.batch_plan import BASELINE, setting_label
from rerank_playground.evaluation.demo_sets import demo_set_name, load_demo_query_sets
from rerank_playground.evaluation.judgments import QuerySet, SetQuery
from rerank_playground.store import open_store
from tests.app.conftest import AppEnv
from tests.app.helpers import assert_healthy, frame_with, values
from tests.app.helpers import shown as as_shown

pytestmark = pytest.mark.weaviate
LOCAL_LABEL = "local baseline (WordLlama)"
DEMO_SET = demo_set_name(DEMO_WIKI.name)


@pytest.fixture
def store_path(app_env: AppEnv, tmp_path: Path) -> Path:
    path = tmp_path / "store.sqlite3"
    app_env.monkeypatch.setenv("RERANK_PLAYGROUND_DB", str(path))
    with open_store(str(path)) as store:
        load_demo_query_sets(store)
        store.save_query_set(QuerySet("nobody judged", DEMO_WIKI.name, (SetQuery("x", "an unjudged query"),)))
    return path


def open_page(env: AppEnv, page: str) -> AppTest:
    at = env.new_app().run()
    at.switch_page(page).run()
    assert_healthy(at)
    return at


def finish(at: AppTest) -> BatchRun:
    handle = at.session_state["evaluate.handle"]
    assert isinstance(handle, BatchRun)
    deadline = time.monotonic() + 240
    while handle.running and time.monotonic() < deadline:
        time.sleep(0.2)  # the run's own thread does the work; the page only polls it
    assert not handle.running
    at.run()
    assert_healthy(at)
    return handle


def test_demo_set_runs_from_the_ui_and_its_results_match_the_engine(app_env: AppEnv, store_path: Path) -> None:
    at = open_page(app_env, "pages/evaluate.py")
    at.selectbox(key="evaluate.set").set_value(DEMO_SET).run()
    assert [c.label for c in at.multiselect(key="evaluate.rerankers").value] == [LOCAL_LABEL]  # no key: local
    assert at.selectbox(key=f"evaluate.prop.{DEMO_WIKI.name}").value == "text"  # the core's rule, as on Search
    at.text_input(key="evaluate.name").input("<b>ui run</b>").run()
    at.button(key="evaluate.start").click().run()
    assert_healthy(at)
    assert not at.error
    handle = finish(at)
    progress = handle.progress()
    assert (progress.state, progress.done, progress.failed) == ("finished", 50, 0)
    assert any("Finished." in s.value for s in at.success)

    at.button(key="evaluate.open").click().run()
    assert_healthy(at)
    with open_store(str(store_path)) as store:
        summary = analysis.load_summary(store, handle.run_id)
    setting = summary.settings[0]
    shown = frame_with(at, "ordering", "nDCG@10", "nDCG@10 95% CI")
    for ordering in (BASELINE, LOCAL_LABEL):
        ci = setting.ci(ordering, "nDCG@10")
        row = shown[shown["ordering"] == ordering].iloc[0]
        assert row["nDCG@10"] == ci.mean
        assert row["nDCG@10 95% CI"] == f"[{ci.low:.3f}, {ci.high:.3f}]"
    tests = frame_with(at, "measure", "randomization p (Holm)")
    first = next(t for t in setting.tests if t.measure == "nDCG@10")
    assert tests.iloc[0]["randomization p (Holm)"] == first.randomization_p_holm
    charts = [c.key for c in at.get("plotly_chart")]
    assert len([k for k in charts if not k.startswith("runs.cut.")]) == 2  # win/loss and quality vs cost
    assert len([k for k in charts if k.startswith("runs.cut.")]) == 3  # where to cut: reliability, scores, curves
    # one verdict per setting, naming it, with the interval of the paired difference; the methods line above
    verdicts = values((*at.info, *at.error, *at.success))  # as shown (md-escaped)
    assert len([v for v in verdicts if "Mean paired difference" in v]) == len(summary.settings)
    assert any(setting.label in v and first.delta_interval() in v and "α = 0.05" in v and v.endswith("queries.")
               for v in verdicts)  # whole, not cut short
    captions = values(at.caption)
    assert any("Methods:" in c and "BCa" in c and "seed" in c and "Holm" in c for c in captions)
    markdown = [e.value for e in (*at.markdown, *at.subheader, *at.caption)]  # the name typed is text, not markup
    assert any("\\<b\\>ui run\\</b\\>" in m for m in markdown)
    assert any(m.startswith("**Setting: ") and "reranked on: text" in as_shown(m) for m in markdown)
    assert not any("<b>ui run</b>" in m for m in markdown)
    assert at.get("download_button")

    # drill down: a query of the run opens on the Search page, searched and reranked there
    prefix = f"runs.drill.{handle.run_id}.0"
    at.switch_page("pages/runs.py").run()  # AppTest keeps its own page: name it before using the page's widgets
    at.number_input(key=f"runs.alpha.{handle.run_id}").set_value(0.01).run()  # the level decides every verdict
    assert any("α = 0.01" in v for v in values((*at.info, *at.error, *at.success)))
    at.selectbox(key=f"{prefix}.query").set_value("q3").run()
    at.button(key=f"{prefix}.open").click().run()
    assert_healthy(at)
    assert at.text_input(key="search.query").value == setting.queries["q3"]
    assert at.selectbox(key="search.prop").value == "text"  # carried by Open in Search
    assert any("reranked on: text" in c for c in values((*at.caption, *at.markdown)))
    assert at.get("plotly_chart")  # the slope chart of that query


def test_refused_plans_are_messages(app_env: AppEnv, store_path: Path) -> None:
    at = open_page(app_env, "pages/evaluate.py")
    at.selectbox(key="evaluate.set").set_value("nobody judged").run()
    at.button(key="evaluate.start").click().run()
    assert_healthy(at)
    assert values(at.error) == [
        "No query of the set 'nobody judged' has judgments, so nothing can be scored. Grade some results (Judge "
        "view) or import judgments first."
    ]
    at.selectbox(key="evaluate.set").set_value(DEMO_SET).run()
    at.multiselect(key="evaluate.rerankers").select(
        next(o for o in at.multiselect(key="evaluate.rerankers").options if "v2-base" in o)
    ).run()
    at.button(key="evaluate.start").click().run()
    assert_healthy(at)
    assert "needs a Jina API key" in values(at.error)[0]
    with open_store(str(store_path)) as store:
        assert store.list_runs() == []  # nothing saved, nothing spent


def test_cancel_resume_and_diff_from_the_pages(app_env: AppEnv, store_path: Path) -> None:
    at = open_page(app_env, "pages/evaluate.py")
    at.selectbox(key="evaluate.set").set_value(DEMO_SET).run()
    at.button(key="evaluate.start").click().run()
    handle: BatchRun = at.session_state["evaluate.handle"]
    handle.cancel()  # as the Cancel button does
    finish(at)
    assert handle.progress().state == "cancelled"
    at.button(key=f"evaluate.resume.{handle.run_id}").click().run()
    resumed = finish(at)
    assert resumed.run_id == handle.run_id and resumed.progress().state == "finished"

    at.button(key="evaluate.start").click().run()  # a second run of the same plan
    second = finish(at)
    at.switch_page("pages/runs.py").run()
    assert_healthy(at)
    runs_list = frame_with(at, "name", "state", "run id")
    assert set(runs_list["run id"]) == {handle.run_id, second.run_id}
    at.selectbox(key="runs.diff.A").set_value(second.run_id).run()
    at.selectbox(key="runs.diff.B").set_value(handle.run_id).run()
    at.selectbox(key="runs.diff.A.ordering").set_value(LOCAL_LABEL).run()
    at.selectbox(key="runs.diff.B.ordering").set_value(LOCAL_LABEL).run()
    assert_healthy(at)
    diff = frame_with(at, "query_id", "a", "b", "delta")
    assert len(diff) == 25 and (diff["delta"] == 0).all()  # the same plan twice: the same rankings
    labels = {m.label: m.value for m in at.metric}
    assert labels["Same"] == "25" and labels["Better in A"] == "0"


def test_a_run_with_a_filter_records_it_and_a_bad_filter_is_named(app_env: AppEnv, store_path: Path) -> None:
    at = open_page(app_env, "pages/evaluate.py")
    at.selectbox(key="evaluate.set").set_value(DEMO_SET).run()
    prefix = f"evaluate.{DEMO_WIKI.name}"
    at.selectbox(key=f"{prefix}.filter_prop").set_value("chunk_no").run()
    at.selectbox(key=f"{prefix}.filter_op").set_value(">").run()
    at.text_input(key=f"{prefix}.filter_value").set_value("many").run()
    at.button(key="evaluate.start").click().run()
    assert_healthy(at)
    assert any("The filter on 'chunk_no' (int) needs a whole number, not 'many'" in e for e in values(at.error))
    assert "evaluate.handle" not in at.session_state  # nothing started, nothing spent

    at.text_input(key=f"{prefix}.filter_value").set_value("1").run()
    at.button(key="evaluate.start").click().run()
    assert not at.error, values(at.error)
    handle = finish(at)
    assert handle.progress().state == "finished"
    with open_store(str(store_path)) as store:
        summary = analysis.load_summary(store, handle.run_id)
    (setting,) = summary.plan.settings
    assert [str(f) for f in setting.filters] == ["chunk_no > 1"]
    assert "where chunk_no > 1" in setting_label(setting)  # the report and the Runs page show it with the numbers
