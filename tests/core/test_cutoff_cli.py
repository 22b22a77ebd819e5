"""``rerank-playground cutoff`` and the report's "where to cut" section, on a synthetic run saved in a real SQLite
store: the printed cut is ``choose_cut``'s, bad input is a message naming it, the report carries the charts."""

from __future__ import annotations

from pathlib import Path

import pytest

from rerank_playground import cutoff_charts
from rerank_playground.cli import main
from rerank_playground.evaluation import analysis, cutoff, report, runs
from rerank_playground.evaluation.batch_plan import BASELINE, RunPlan, plan_to_dict, search_setting
from rerank_playground.evaluation.judgments import QuerySet, SetQuery
from rerank_playground.rerankers.choice import RerankChoice
from rerank_playground.store import open_store
from tests.core.test_cutoff import random_lists

MODEL_A = RerankChoice("local", "wordllama-l2-supercat-256")
EVIL = "<b>evil</b> query"


def saved_run(db: Path) -> tuple[str, list[runs.QueryResult], runs.RunRecord]:
    """Two orderings with scores on different ranges (the baseline 0..1, the local model -12..18)."""
    narrow, wide = random_lists(21, n_queries=14), random_lists(21, n_queries=14, scale=30.0, shift=-12.0)
    queries = tuple(SetQuery(q.query_id, EVIL if i == 1 else f"query {i}") for i, q in enumerate(narrow.queries))
    plan = RunPlan(QuerySet("set", "Coll", queries), (search_setting(limit=13),), (MODEL_A,), k=5)
    qrels = {q.query_id: dict(q.grades) for q in narrow.queries}
    record = runs.RunRecord("run1", "synthetic <run>", "Coll", "set", "finished", plan_to_dict(plan), qrels)
    rows = []
    for ordering, lists in ((BASELINE, narrow), (MODEL_A.label, wide)):
        for q in lists.queries:
            rows.append(runs.QueryResult(0, q.query_id, "text", ordering, "done", q.ranking, latency_ms=1.0))
    store = open_store(f"sqlite:///{db}")
    try:
        store.create_run(record)
        store.save_results(record.run_id, rows)
    finally:
        store.close()
    return record.run_id, rows, record


def test_cli_prints_the_chosen_cut_with_its_ci(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "store.sqlite3"
    run_id, rows, record = saved_run(db)
    code = main(["cutoff", run_id, "--db", str(db), "--model", "local", "--constraint", "precision>=0.5"])
    out = capsys.readouterr().out
    available, _ = cutoff.model_lists(record, rows)
    expected = cutoff.choose_cut(cutoff.find_lists(available, "local"), cutoff.parse_constraints("precision>=0.5"))
    assert code == (0 if expected.feasible else 1)
    assert out.strip() == "\n".join(cutoff.describe_choice(expected)).strip()
    assert expected.best is not None and f"chosen: {expected.best.cut.label}" in out
    assert "objective: max-recall" in out


def test_cli_bad_input_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "store.sqlite3"
    run_id, _, _ = saved_run(db)
    assert main(["cutoff", run_id, "--db", str(db), "--constraint", "precision>=eighty"]) == 2
    assert "Cannot read the constraint 'precision>=eighty'" in capsys.readouterr().err
    assert main(["cutoff", run_id, "--db", str(db), "--model", "jina", "--constraint", "returned<=3"]) == 2
    err = capsys.readouterr().err
    assert "'jina' is not an ordering of this run" in err and MODEL_A.label in err
    assert main(["cutoff", "nope", "--db", str(db)]) == 2
    assert "No saved run 'nope'" in capsys.readouterr().err
    assert main(["cutoff", run_id, "--db", str(db), "--model", "local", "--objective", "max-speed"]) == 2
    assert "Unknown objective 'max-speed'" in capsys.readouterr().err
    # a constraint nothing meets is not an error, but exit 1 with the words
    assert main(["cutoff", run_id, "--db", str(db), "--model", "local", "--constraint", "precision>=1,recall>=1"]) == 1
    assert "No cut meets" in capsys.readouterr().out


def test_report_has_the_cut_section_escaped_and_offline(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite3"
    _, rows, record = saved_run(db)
    summary = analysis.summarise(record, rows, n_resamples=199)
    page = report.html_report(summary, cut_results=rows)
    assert "Where to cut" in page
    assert page.count("Reliability: does a higher score mean more often relevant?") == 1
    assert cutoff.SCALE_NOTE in page
    assert page.count("Where to cut: metrics against the cut") == 2  # one per ordering with scores
    assert "<b>evil</b>" not in page and "synthetic <run>" not in page
    assert page.count("<script type=\"text/javascript\">/**") <= 1  # plotly inlined once
    assert "Where to cut" not in report.html_report(summary)  # without the rows, the section is left out


def test_charts_state_their_scope() -> None:
    lists = random_lists(3)
    cal = cutoff.calibration(lists, bins=5)
    fig = cutoff_charts.reliability_chart([cal], scope="hybrid K=13")
    assert "hybrid K=13" in fig.layout.title.text and "not on one scale" in fig.layout.title.text
    bars = [t for t in fig.data if t.type == "bar"]
    assert [a + b for a, b in zip(bars[0].y, bars[1].y, strict=True)] == [b.n for b in cal.bins]
    assert list(bars[0].y) == [b.relevant for b in cal.bins]
    dist = cutoff_charts.score_distributions([cal, cutoff.calibration(random_lists(3, scale=9.0))])
    assert "not on one scale" in dist.layout.title.text
    choice = cutoff.choose_cut(lists, cutoff.parse_constraints("returned<=4"), n_resamples=99)
    curves = cutoff_charts.cut_curves_chart(choice)
    assert choice.best is not None
    stars = [t for t in curves.data if t.marker is not None and t.marker.symbol == "star"]
    assert stars and all(t.x[0] == choice.best.cut.value for t in stars)
    assert choice.best.cut.label in curves.layout.title.text


def test_cli_chart_draws_only_the_picked_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``cutoff RUN --model local --chart F``: the figure is the picked ordering's alone (one panel, its bins),
    not every ordering of the run; and the command writes it."""
    db = tmp_path / "store.sqlite3"
    run_id, rows, record = saved_run(db)
    available, _ = cutoff.model_lists(record, rows)
    assert {m.ordering for m in available} == {BASELINE, MODEL_A.label}  # the run has two orderings
    for picked, other in ((MODEL_A.label, BASELINE), (BASELINE, MODEL_A.label)):
        lists = cutoff.find_lists(available, picked)
        fig = cutoff_charts.cli_reliability_chart(record, lists)
        titles = [a.text for a in fig.layout.annotations if a.text]
        assert titles == [cutoff_charts._wrap(picked)], titles  # one panel, named by the picked ordering
        assert {t.xaxis for t in fig.data} == {"x", "x2"}  # its share row and its count row, nothing else
        expected = cutoff.calibration(lists)
        share = [t for t in fig.data if t.type == "scatter"]
        assert len(share) == 1 and list(share[0].y) == [b.share for b in expected.bins]
        bars = [t for t in fig.data if t.type == "bar"]
        assert [a + b for a, b in zip(bars[0].y, bars[1].y, strict=True)] == [b.n for b in expected.bins]
        assert picked in fig.layout.title.text and other not in fig.layout.title.text
    chart = tmp_path / "charts" / "local.png"
    assert main(["cutoff", run_id, "--db", str(db), "--model", "local", "--chart", str(chart)]) in (0, 1)
    assert chart.read_bytes().startswith(b"\x89PNG")
    assert f"reliability chart of {MODEL_A.label}" in capsys.readouterr().err


def test_count_bars_are_as_wide_as_their_bins() -> None:
    """The reliability chart's count bars tile the score axis, each over its own bin (they used to take the gap
    between the two closest bin means: about a pixel); a crowded or one-score bin is widened to stay readable."""
    crowded = random_lists(5, scale=30.0)
    cal = cutoff.calibration(crowded, bins=8)
    spans = cutoff_charts.bin_spans(cal.bins)
    low, high = cal.bins[0].low, cal.bins[-1].high
    floor = (high - low) / (4 * len(cal.bins))
    for (a, b), bin_ in zip(spans, cal.bins, strict=True):
        assert b - a >= floor - 1e-12
        assert a <= bin_.mean_score <= b or b - a == pytest.approx(floor)  # a widened bin is centred on its tile
    tiles = [(a, b) for a, b in spans if b - a > floor]
    assert all(b1 <= a2 + 1e-12 for (_, b1), (a2, _) in zip(tiles, tiles[1:], strict=False))  # no overlap
    assert spans[0][0] <= low and spans[-1][1] >= high
    fig = cutoff_charts.reliability_chart([cal])
    for bar in (t for t in fig.data if t.type == "bar"):
        assert list(bar.width) == pytest.approx([b - a for a, b in spans])
        assert list(bar.x) == pytest.approx([(a + b) / 2 for a, b in spans])
        assert min(bar.width) >= (high - low) / 40  # readable: at least a fortieth of the panel's score range
    # scores crowded into a tiny stretch and one repeated score still get a visible bar
    skewed = [cutoff.CalibrationBin(0.0, 0.001, 0.0005, 5, 1, 0.2, 0.0, 0.6),
              cutoff.CalibrationBin(0.0011, 0.0011, 0.0011, 5, 2, 0.4, 0.1, 0.8),
              cutoff.CalibrationBin(0.5, 1.0, 0.8, 5, 4, 0.8, 0.4, 0.97)]
    widths = [b - a for a, b in cutoff_charts.bin_spans(skewed)]
    assert min(widths) == pytest.approx(1.0 / 12)
    one = cutoff_charts.bin_spans([cutoff.CalibrationBin(0.7, 0.7, 0.7, 3, 1, 1 / 3, 0.0, 0.8)])
    assert one == [pytest.approx((0.65, 0.75))]
