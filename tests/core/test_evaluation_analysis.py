"""A saved run's summary, tables, diff, TREC file and HTML report, from hand-made rows (pure: no servers)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rerank_playground.errors import InvalidInput
from rerank_playground.evaluation import analysis, report, runs
from rerank_playground.evaluation.batch_plan import BASELINE, RunPlan, plan_to_dict, search_setting
from rerank_playground.evaluation.judgments import QuerySet, SetQuery
from rerank_playground.evaluation.stats import holm, mean_ci, paired_test
from rerank_playground.rerankers.choice import RerankChoice
from rerank_playground.store import open_store

LOCAL = RerankChoice("local", "local-wordllama")
QS = QuerySet("set <script>", "C", (SetQuery("q1", "first <b>query</b>"), SetQuery("q2", "second"),
                                    SetQuery("q3", "third")))
NDCG = {BASELINE: {"q1": 0.5, "q2": 0.2, "q3": 1.0}, LOCAL.label: {"q1": 0.9, "q2": 0.1, "q3": 1.0}}


def make_run(name: str = "run <i>one</i>") -> tuple[runs.RunRecord, list[runs.QueryResult]]:
    plan = RunPlan(query_set=QS, settings=(search_setting(limit=3),), rerankers=(LOCAL,), k=10)
    record = runs.RunRecord(run_id="r1", name=name, collection="C", query_set=QS.name, status="finished",
                            plan=plan_to_dict(plan), qrels={q.query_id: {"d1": 1} for q in QS.queries},
                            app_version="0.1.0", server_version="1.38.11", object_count=3)
    rows = []
    for ordering, values in NDCG.items():
        for qid, value in values.items():
            metrics = {m: value for m in record.plan["measures"]}
            rows.append(runs.QueryResult(
                setting=0, query_id=qid, query=QS.queries[int(qid[1]) - 1].text, ordering=ordering, status="done",
                ranking=(("d1", 3.0), ("d2", 2.0), ("d3", None)), metrics=metrics,
                latency_ms=10.0 if ordering == BASELINE else 5.0, tokens=None if ordering == BASELINE else 7,
            ))
    return record, rows


def test_summary_figures_are_the_stats_of_the_saved_values() -> None:
    record, rows = make_run()
    summary = analysis.summarise(record, rows, n_resamples=999)
    setting = summary.settings[0]
    assert summary.complete and (summary.expected, summary.saved) == (6, 6)
    assert setting.ci(LOCAL.label, "nDCG@10") == mean_ci(NDCG[LOCAL.label], measure="nDCG@10",
                                                          ordering=LOCAL.label, n_resamples=999)
    test = next(t for t in setting.tests if t.measure == "nDCG@10")
    expected = paired_test(NDCG[LOCAL.label], NDCG[BASELINE], measure="nDCG@10", a_name=LOCAL.label, b_name=BASELINE,
                           n_resamples=999)
    assert (test.randomization_p, test.t_p, test.wins, test.ties, test.losses) == (
        expected.randomization_p, expected.t_p, 1, 1, 1)
    assert not any(t.measure.startswith("Judged@") for t in setting.tests)
    cost = {c.ordering: c for c in setting.costs}
    assert cost[BASELINE].mean_latency_ms == 10.0 and cost[BASELINE].mean_rerank_ms is None
    assert cost[LOCAL.label].mean_latency_ms == 15.0 and cost[LOCAL.label].mean_rerank_ms == 5.0  # search + rerank
    assert (cost[LOCAL.label].mean_tokens, cost[LOCAL.label].total_tokens) == (7, 21)
    table = analysis.per_query_table(setting, "nDCG@10")
    assert table[f"Δ {LOCAL.label}"].tolist() == pytest.approx([0.4, -0.1, 0.0])


def test_missing_rows_make_an_incomplete_summary_and_failures_are_listed() -> None:
    record, rows = make_run()
    failed = runs.QueryResult(setting=0, query_id="q3", query="third", ordering=LOCAL.label, status="failed",
                              error="HTTP 500", attempts=4)
    rows = [r for r in rows if r.key != (0, "q3", LOCAL.label) and r.key != (0, "q2", LOCAL.label)] + [failed]
    summary = analysis.summarise(record, rows, n_resamples=999)
    assert not summary.complete
    setting = summary.settings[0]
    assert setting.failures == (failed,)
    assert setting.ci(LOCAL.label, "nDCG@10").n == 1
    assert "incomplete" in report.html_report(summary)


def test_diff_of_two_runs() -> None:
    a = analysis.summarise(*make_run("A"), n_resamples=999)
    b = analysis.summarise(*make_run("B"), n_resamples=999)
    diff = analysis.diff_runs(a, b, ordering_a=LOCAL.label, ordering_b=BASELINE)
    assert (diff.better, diff.worse, diff.same) == (1, 1, 1)
    assert diff.table["delta"].tolist() == pytest.approx([-0.1, 0.0, 0.4])  # worst first
    assert diff.a == f"A · {LOCAL.label}" and diff.b == f"B · {BASELINE}"


def test_trec_run_keeps_the_saved_order() -> None:
    _, rows = make_run()
    text = report.trec_run(rows, 0, BASELINE)
    lines = text.splitlines()
    # a missing score: the whole query gets rank-derived scores so trec_eval keeps the order
    assert lines[:3] == ["q1 Q0 d1 1 3 no_rerank", "q1 Q0 d2 2 2 no_rerank", "q1 Q0 d3 3 1 no_rerank"]
    assert len(lines) == 9


def test_html_report_escapes_untrusted_text_and_inlines_plotly_once() -> None:
    record, rows = make_run()
    page = report.html_report(analysis.summarise(record, rows, n_resamples=999))
    assert "<i>one</i>" not in page and "&lt;i&gt;one&lt;/i&gt;" in page
    assert "<b>query</b>" not in page and "set <script>" not in page
    assert page.count("Plotly.newPlot") == 2
    assert not re.search(r"<(script|link|img)[^>]*\b(src|href)=", page)
    assert page.count("window.PlotlyConfig") == 1 and len(page) > 3_000_000  # plotly.js inlined, exactly once


def test_depth_sweep_marks_the_knee() -> None:
    from rerank_playground.evaluation.batch_plan import settings_grid

    settings = settings_grid(search_setting(), limits=[50, 10, 25, 100])
    assert [s.limit for s in settings] == [10, 25, 50, 100]
    plan = RunPlan(query_set=QS, settings=settings, rerankers=(LOCAL,), k=10)
    record = runs.RunRecord(run_id="s", name="sweep", collection="C", query_set=QS.name, status="finished",
                            plan=plan_to_dict(plan), qrels={q.query_id: {"d1": 1} for q in QS.queries})
    # reranked means by K: 0.5, 0.8, 0.805, 0.81 -> within 0.01 of the best from K=25 on; baseline flat
    means = {10: 0.5, 25: 0.8, 50: 0.805, 100: 0.81}
    rows = []
    for index, setting in enumerate(settings):
        for q in QS.queries:
            for ordering, value in ((BASELINE, 0.4), (LOCAL.label, means[setting.limit])):
                rows.append(runs.QueryResult(
                    setting=index, query_id=q.query_id, query=q.text, ordering=ordering, status="done",
                    ranking=(("d1", 1.0),), metrics={m: value for m in record.plan["measures"]},
                    latency_ms=float(setting.limit), tokens=None if ordering == BASELINE else setting.limit * 10,
                ))
    summary = analysis.summarise(record, rows, n_resamples=999)
    sweep = analysis.depth_sweep(summary)
    assert sweep is not None and sweep.measure == "nDCG@10"
    assert sweep.knee == {BASELINE: 10, LOCAL.label: 25}
    local = sorted((p for p in sweep.points if p.ordering == LOCAL.label), key=lambda p: p.k)
    assert [p.mean for p in local] == pytest.approx([0.5, 0.8, 0.805, 0.81])
    assert [p.mean_tokens for p in local] == [100, 250, 500, 1000]
    assert [p.mean_latency_ms for p in local] == [20.0, 50.0, 100.0, 200.0]  # search + rerank
    page = report.html_report(summary)
    assert "Depth sweep" in page and "knee K=25" in page
    # a grid over alpha is not a depth sweep
    assert analysis.depth_sweep(analysis.summarise(*make_run(), n_resamples=999)) is None


# ------------------------------------------------------------------------- verdicts, family, methods, alpha

GRID_QS = QuerySet("grid", "C", tuple(SetQuery(f"q{i}", f"query {i}") for i in range(12)))


def grid_run(drops: dict[int, float]) -> tuple[runs.RunRecord, list[runs.QueryResult]]:
    """Two settings (K 20 and K 50, the rerankers reading 'passage'); per setting, the local reranker's nDCG@10 is
    the baseline's minus ``drops[K]`` on every query, plus a little per-query noise."""
    settings = (search_setting(limit=20, text_property="passage"), search_setting(limit=50, text_property="passage"))
    plan = RunPlan(query_set=GRID_QS, settings=settings, rerankers=(LOCAL,), k=10)
    record = runs.RunRecord(run_id="g", name="grid", collection="C", query_set=GRID_QS.name, status="finished",
                            plan=plan_to_dict(plan), qrels={q.query_id: {"d1": 2} for q in GRID_QS.queries})
    rows = []
    for index, setting in enumerate(settings):
        for i, q in enumerate(GRID_QS.queries):
            base = 0.3 + 0.05 * (i % 7)
            for ordering, value in ((BASELINE, base), (LOCAL.label, base - drops[setting.limit] + 0.01 * (i % 3 - 1))):
                rows.append(runs.QueryResult(setting=index, query_id=q.query_id, query=q.text, ordering=ordering,
                                             status="done", ranking=(("d1", 1.0),),
                                             metrics={m: value for m in record.plan["measures"]}))
    return record, rows


def test_one_named_verdict_per_setting_with_the_paired_ci() -> None:
    summary = analysis.summarise(*grid_run({20: 0.1, 50: 0.0}), n_resamples=999)
    verdicts = summary.verdicts()
    assert [v.setting for v in verdicts] == ["hybrid α=0.5 K=20 · reranked on: passage",
                                             "hybrid α=0.5 K=50 · reranked on: passage"]
    worse, same = verdicts
    assert worse.kind == "worse" and same.kind == "no significant difference"
    for v in verdicts:  # each names its reranker, its setting (K, text property) and carries the paired CI
        assert LOCAL.label in v.text and v.setting in v.text and "95% CI" in v.text
        assert v.test.delta_interval() in v.text and "exact" in v.text  # 12 queries: all 2^12 flips
    assert summary.worse_than_baseline() == [worse.test]


def test_holm_corrects_over_every_setting_of_the_grid() -> None:
    summary = analysis.summarise(*grid_run({20: 0.02, 50: 0.03}), n_resamples=999)
    family = [t for s in summary.settings for t in s.tests if t.measure == "nDCG@10"]
    assert len(family) == 2
    raw = [t.randomization_p for t in family]
    assert [t.randomization_p_holm for t in family] == holm(raw)  # one family of two, not two families of one
    assert all(t.randomization_p_holm != t.randomization_p for t in family if t.randomization_p < 0.5)
    assert "the 2 tests of each measure in this run" in summary.family and "each of the 2 settings" in summary.family


def test_report_states_methods_and_uses_the_given_alpha() -> None:
    summary = analysis.summarise(*grid_run({20: 0.1, 50: 0.0}), n_resamples=999)
    strict, usual = report.html_report(summary, alpha=0.0001), report.html_report(summary, alpha=0.05)
    p = summary.verdicts()[0].test.p
    assert p is not None and 0.0001 < p < 0.05
    assert "significantly worse than no rerank" in usual and "significantly worse" not in strict
    for page, alpha in ((strict, "0.0001"), (usual, "0.05")):
        assert f"α = {alpha}" in page and "BCa" in page and "seed 20261130" in page and "two-sided" in page
        assert "Holm" in page and "each of the 2 settings" in page and "rel=2" in page
        assert "mean delta 95% CI" in page
    with pytest.raises(InvalidInput):
        report.html_report(summary, alpha=0)


def test_cli_prints_verdicts_with_paired_ci_and_refuses_a_bad_level(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from rerank_playground import cli
    from rerank_playground.evaluation.stats import ALPHA

    assert cli.ALPHA == ALPHA
    record, rows = grid_run({20: 0.1, 50: 0.0})
    store = open_store(str(tmp_path / "s.sqlite3"))
    try:
        store.create_run(record)
        store.save_results(record.run_id, rows)
    finally:
        store.close()
    db = str(tmp_path / "s.sqlite3")
    assert cli.main(["report", "g", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "WORSE: local" in out and "K=20 · reranked on: passage" in out and "95% CI [" in out
    assert "Methods:" in out and "α = 0.05" in out
    for bad in ("0", "0.5", "-1", "nan"):
        assert cli.main(["report", "g", "--db", db, "--significance", bad]) == 2
        assert "significance level must be above 0 and below 0.5" in capsys.readouterr().err
    assert cli.main(["report", "g", "--db", db, "--significance", "0.0001"]) == 0
    assert "WORSE" not in capsys.readouterr().out
