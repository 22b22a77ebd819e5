"""The Runs page's "Where to cut" view on a saved run: calibration and cut charts, the chosen cut for the typed
constraint (the same words as the CLI), a bad constraint as a message naming it; and "Use this cut on Search" on a
real run of the demo set: Search opens with the run's setting, model and the cut, keeping what the cut keeps."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rerank_playground.evaluation import cutoff
from rerank_playground.evaluation.batch_engine import start_run
from rerank_playground.evaluation.batch_plan import RunPlan
from rerank_playground.store import open_store
from tests.app.conftest import AppEnv
from tests.app.helpers import all_text, assert_healthy, kept_directly, values
from tests.core.test_cutoff_cli import MODEL_A, saved_run
from tests.integration.test_batch_runs import LOCAL, SETTING, demo_query_set, spec_of

pytestmark = pytest.mark.weaviate


def test_where_to_cut_on_the_runs_page(app_env: AppEnv, tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite3"
    app_env.monkeypatch.setenv("RERANK_PLAYGROUND_DB", str(db))
    run_id, rows, record = saved_run(db)
    at: AppTest = app_env.new_app().run()
    at.switch_page("pages/runs.py").run()
    assert_healthy(at)
    key = f"runs.cut.{run_id}"
    assert at.selectbox(key=f"{key}.model").value == MODEL_A.label
    at.text_input(key=f"{key}.rule").set_value("returned<=4").run()
    assert_healthy(at)
    available, _ = cutoff.model_lists(record, rows)
    expected = cutoff.choose_cut(cutoff.find_lists(available, MODEL_A.label), cutoff.parse_constraints("returned<=4"))
    shown = [c.value for c in at.code]
    assert "\n".join(cutoff.describe_choice(expected)) in shown
    charts = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("Reliability" in spec for spec in charts) and any("Where to cut: metrics" in spec for spec in charts)
    assert any("not on one scale" in spec for spec in charts)

    at.text_input(key=f"{key}.rule").set_value("precision>=lots").run()
    assert_healthy(at)
    assert any("Cannot read the constraint 'precision>=lots'" in v for v in values(at.error))
    assert "Traceback" not in all_text(at)


def test_use_this_cut_on_search(app_env: AppEnv, private_store: Path) -> None:
    """The chosen cut of a real run (local baseline on the demo's judged DemoWiki queries) opens on Search: the
    run's collection, mode, K, text property and model, the query picked, the cut picked in Search's control, and
    the page keeps what that cut keeps of the list it shows."""
    with open_store(str(private_store)) as store:
        qs = demo_query_set(store, n=6)
        handle = start_run(store, RunPlan(query_set=qs, settings=(SETTING,), rerankers=(LOCAL,), k=10),
                           spec_of(app_env.weaviate), qrels=store.qrels(qs))
        assert handle.wait(timeout=240).state == "finished"
        record = store.get_run(handle.run_id)
        rows = store.load_results(handle.run_id)
    available, _ = cutoff.model_lists(record, rows)
    rule = "returned<=3"
    expected = cutoff.choose_cut(cutoff.find_lists(available, LOCAL.label), cutoff.parse_constraints(rule))
    assert expected.best is not None
    cut = expected.best.cut

    at: AppTest = app_env.new_app().run()
    at.switch_page("pages/runs.py").run()
    key = f"runs.cut.{handle.run_id}"
    assert at.selectbox(key=f"{key}.model").value == LOCAL.label
    at.text_input(key=f"{key}.rule").set_value(rule).run()
    at.selectbox(key=f"{key}.query").set_value("q02").run()
    assert_healthy(at)
    assert "\n".join(cutoff.describe_choice(expected)) in [c.value for c in at.code]
    at.button(key=f"{key}.apply").click().run()
    assert_healthy(at)

    # on Search, searched already, with the run's inputs
    last = at.session_state["search.last"]
    assert last.run is not None
    request = last.run.search.request
    assert (request.collection, request.query, request.mode, request.limit) == (
        record.collection, qs.queries[2].text, SETTING.mode, SETTING.limit)
    assert at.text_input(key="search.query").value == qs.queries[2].text
    assert at.number_input(key="search.k").value == SETTING.limit
    assert request.text_property == "text"  # what the run read (the demo's rerank property)
    assert last.run.choice == LOCAL
    # the cut picked in Search's own control, and the page keeps what it keeps of the list on screen
    assert at.segmented_control(key="search.cut_kind").value == cut.kind
    assert at.number_input(key=f"search.cut_{cut.kind}").value == cut.value
    scores = [d.score for d in last.run.result.ranked]
    kept = kept_directly(cut.kind, cut.value, scores)
    assert f"kept {kept} of {len(scores)}" in " ".join(values(at.markdown))
