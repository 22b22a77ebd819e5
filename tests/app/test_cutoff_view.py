"""The Runs page's "Where to cut" view on a saved run: calibration and cut charts, the chosen cut for the typed
constraint (the same words as the CLI), a bad constraint as a message naming it."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rerank_playground.evaluation import cutoff
from tests.app.conftest import AppEnv
from tests.app.helpers import all_text, assert_healthy
from tests.core.test_cutoff_cli import MODEL_A, saved_run

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
    assert any("Cannot read the constraint 'precision>=lots'" in e.value.replace("\\", "") for e in at.error)
    assert "Traceback" not in all_text(at)
