"""The ``rerank-playground eval`` CLI against the real Weaviate and the Jina stand-in: the demo's judged set end to end
with no key, the same numbers as the engine called directly, a self-contained report and TREC files, a run killed with
SIGKILL and resumed equals an uninterrupted one, and --fail-if-worse."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from rerank_playground.cli import main
from rerank_playground.demo.datasets import DEMO_WIKI
from rerank_playground.deployment import rerank_token_bound
from rerank_playground.evaluation import analysis, io
from rerank_playground.evaluation.batch_engine import start_run
from rerank_playground.evaluation.batch_plan import BASELINE, RunPlan, setting_label
from rerank_playground.evaluation.demo_sets import demo_set_name, load_demo_query_sets
from rerank_playground.evaluation.judgments import QuerySet
from rerank_playground.store import Store, open_store
from testkit.jina_stand_in import TEST_JINA_KEY, JinaStandIn
from tests.integration.test_batch_runs import (
    JINA,
    LOCAL,
    SETTING,
    comparable,
    demo_loaded,  # noqa: F401 - fixture
    demo_query_set,
    spec_of,
)
from weaviate_local.server import WeaviateEndpoint

pytestmark = pytest.mark.weaviate
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def weaviate_key_in_env(weaviate_server: WeaviateEndpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI takes the Weaviate key from the environment only, like a user's shell."""
    if weaviate_server.api_key:
        monkeypatch.setenv("WEAVIATE_API_KEY", weaviate_server.api_key)


def cli_args(endpoint: WeaviateEndpoint, db: Path, *extra: str) -> list[str]:
    return ["eval", "--url", endpoint.url, "--grpc-port", str(endpoint.grpc_port), "--db", str(db),
            "-K", str(SETTING.limit), "--mode", "hybrid", "--no-progress", *extra]


def test_demo_set_from_the_cli_equals_the_engine(demo_loaded: None, weaviate_server: WeaviateEndpoint,  # noqa: F811
                                                 tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "store.sqlite3"
    store = open_store(str(db))
    try:
        load_demo_query_sets(store)  # what `make demo` loads: the demo's judged sets
        qs = store.query_set(demo_set_name(DEMO_WIKI.name))
        engine = start_run(store, RunPlan(query_set=qs, settings=(SETTING,), rerankers=(LOCAL,), k=10),
                           spec_of(weaviate_server), qrels=store.qrels(qs))
        assert engine.wait(timeout=240).state == "finished"
        csv_path = tmp_path / "demo-set.csv"
        csv_path.write_text(io.to_csv(qs, store.qrels(qs)), encoding="utf-8")
    finally:
        store.close()

    report, trec = tmp_path / "out" / "report.html", tmp_path / "trec"
    env_key = os.environ.pop("JINAAI_APIKEY", None)
    try:
        code = main(cli_args(weaviate_server, db, "--query-set", qs.name, "--rerank", "local", "--report",
                             str(report), "--trec-dir", str(trec)))
    finally:
        if env_key is not None:
            os.environ["JINAAI_APIKEY"] = env_key
    out = capsys.readouterr()
    assert code == 0, out.err
    cli_run_id = re.search(r"run ([0-9a-f]{32})", out.err).group(1)  # type: ignore[union-attr]

    store = open_store(str(db))
    try:
        a, b = analysis.load_summary(store, engine.run_id), analysis.load_summary(store, cli_run_id)
        assert comparable(store.load_results(engine.run_id)) == comparable(store.load_results(cli_run_id))
        results = store.load_results(cli_run_id)
    finally:
        store.close()
    sa, sb = a.settings[0], b.settings[0]
    assert sa.cis == sb.cis and sa.tests == sb.tests  # identical figures, CIs and p-values included
    ci = sb.ci(LOCAL.label, "nDCG@10")
    assert f"{ci.mean:.4f} [{ci.low:.4f}, {ci.high:.4f}]" in out.out

    page = report.read_text(encoding="utf-8")
    assert not re.search(r"<(script|link|img)[^>]*\b(src|href)=", page)  # nothing loaded from elsewhere
    # win/loss + quality vs cost; where to cut: reliability, score distributions, one cut chart per scored ordering
    assert page.count("Plotly.newPlot") == 2 + 2 + 2
    assert "Where to cut" in page
    assert len(page) > 3_000_000  # plotly.js itself is inlined (once)
    assert f"{ci.mean:.3f}" in page
    files = sorted(p.name for p in trec.iterdir())
    assert len(files) == 3 and sum(name.endswith(".qrels") for name in files) == 1  # the run files and their qrels
    baseline_file = next(trec.glob("*no_rerank.run"))
    lines = baseline_file.read_text().splitlines()
    # one line per (query, document): passages of one article (the set's id property) count once, at the first
    assert len(lines) == sum(len(dict.fromkeys(r.doc_ids)) for r in results if r.ordering == BASELINE)
    assert len({(line.split()[0], line.split()[2]) for line in lines}) == len(lines)
    first = lines[0].split()
    assert len(first) == 6 and first[1] == "Q0" and first[3] == "1"

    # the saved run is listed, and its report can be written again later from the store alone
    assert main(["runs", "--db", str(db)]) == 0
    listed = capsys.readouterr().out
    assert cli_run_id in listed and engine.run_id in listed
    again = tmp_path / "again.html"
    assert main(["report", cli_run_id, "--db", str(db), "--report", str(again)]) == 0
    assert f"{ci.mean:.3f}" in again.read_text(encoding="utf-8")
    assert main(["report", "nope", "--db", str(db)]) == 2
    assert "No saved run 'nope'" in capsys.readouterr().err

    # a query set from a file (CSV) runs too, under the name of the file
    code = main(cli_args(weaviate_server, db, "--queries", str(csv_path), "--collection", DEMO_WIKI.name,
                         "--rerank", "local"))
    assert code == 0, capsys.readouterr().err


def test_bad_cli_input_is_a_message_not_a_traceback(demo_loaded: None, weaviate_server: WeaviateEndpoint,  # noqa: F811
                                                    tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "store.sqlite3"
    assert main(cli_args(weaviate_server, db, "--query-set", "nope")) == 2
    assert "no query set named 'nope'" in capsys.readouterr().err
    assert main(cli_args(weaviate_server, db, "--queries", str(tmp_path / "missing.csv"), "--collection", "X")) == 2
    assert "Could not read" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("query_id,query,doc_id,grade\nq1,hello,abc,7\n", encoding="utf-8")
    assert main(cli_args(weaviate_server, db, "--queries", str(bad), "--collection", DEMO_WIKI.name)) == 2
    assert "Line 2" in capsys.readouterr().err
    assert main(cli_args(weaviate_server, db, "--query-set", "x", "--rerank", "nonsense:model")) == 2
    assert "Unknown reranker" in capsys.readouterr().err


def _run_cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "rerank_playground.cli", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_killed_cli_run_resumes_to_the_uninterrupted_result(demo_loaded: None,  # noqa: F811
                                                             weaviate_server: WeaviateEndpoint, tmp_path: Path,
                                                             jina_stand_in: JinaStandIn) -> None:
    db = tmp_path / "store.sqlite3"
    store = open_store(str(db))
    qs = demo_query_set(store)
    env = {**os.environ, "JINAAI_APIKEY": TEST_JINA_KEY, "PYTHONPATH": str(ROOT)}
    args = cli_args(weaviate_server, db, "--query-set", qs.name, "--rerank", f"jina:{JINA.model}",
                    "--jina-base-url", jina_stand_in.url, "--concurrency", "2")
    try:
        whole = _run_cli(args, env)
        assert whole.wait(timeout=240) == 0, whole.stderr.read() if whole.stderr else ""
        expected_run = store.list_runs()[0]
        expected = comparable(store.load_results(expected_run.run_id))

        jina_stand_in.reset()
        jina_stand_in.latency_s = 0.2  # slow enough that the kill lands mid-run
        victim = _run_cli(args, env)
        run_id = _wait_for_rows(store, exclude=expected_run.run_id, at_least=6)
        victim.kill()  # SIGKILL: no cleanup, no final status
        victim.wait(timeout=30)
        saved_at_kill = {r.key for r in store.load_results(run_id)}
        assert 6 <= len(saved_at_kill) < len(expected)
        assert store.get_run(run_id).status == "running"  # nobody told the store

        # The resume talks to a second stand-in (it scores identically), so every request it records comes from
        # the resumed process, not from one the killed process had in flight.
        with JinaStandIn(api_key=TEST_JINA_KEY) as second:
            resumed = _run_cli(["eval", "--db", str(db), "--url", weaviate_server.url, "--grpc-port",
                                str(weaviate_server.grpc_port), "--jina-base-url", second.url, "--no-progress",
                                "--resume", run_id], env)
            assert resumed.wait(timeout=240) == 0, resumed.stderr.read() if resumed.stderr else ""
            again = [r.json["query"] for r in second.rerank_requests()]
        assert comparable(store.load_results(run_id)) == expected
        assert store.get_run(run_id).status == "finished"
        # no query finished before the kill was sent to Jina again, and every other one exactly once
        texts = {q.query_id: q.text for q in qs.queries}
        finished_jina = {texts[qid] for (_, qid, ordering) in saved_at_kill if ordering == JINA.label}
        assert not finished_jina & set(again)
        assert sorted(again) == sorted(set(texts.values()) - finished_jina)
    finally:
        store.close()


def _wait_for_rows(store: Store, *, exclude: str, at_least: int) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for record in store.list_runs():
            if record.run_id != exclude and len(store.load_results(record.run_id)) >= at_least:
                return record.run_id
        time.sleep(0.05)
    raise AssertionError("the CLI run saved nothing within 120 s")


def test_fail_if_worse_exits_non_zero(demo_loaded: None, weaviate_server: WeaviateEndpoint,  # noqa: F811
                                      tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Judgments made to favour one side (each in a store of its own, since judgments belong to the collection and
    query): grading the five candidates the local reranker puts last makes it significantly worse than the baseline
    (exit 1); grading its own top five makes it better (exit 0)."""
    store = open_store(str(tmp_path / "probe.sqlite3"))
    try:
        qs = demo_query_set(store, n=25)
        probe = start_run(store, RunPlan(query_set=qs, settings=(SETTING,), rerankers=(LOCAL,), k=10),
                          spec_of(weaviate_server), qrels=store.qrels(qs))
        assert probe.wait(timeout=240).state == "finished"
        rankings = {(r.ordering, r.query_id): r.doc_ids for r in store.load_results(probe.run_id)}
    finally:
        store.close()
    texts = {q.query_id: q.text for q in qs.queries}
    dbs = {}
    for favoured in (BASELINE, LOCAL.label):
        dbs[favoured] = tmp_path / f"{favoured.split()[0]}.sqlite3"
        with open_store(str(dbs[favoured])) as favouring:
            local = {qid: rankings[(LOCAL.label, qid)] for qid in texts}
            picked = {qid: docs[-5:] if favoured == BASELINE else docs[:5] for qid, docs in local.items()}
            grades = [(texts[qid], doc, 3) for qid, docs in picked.items() for doc in docs]
            favouring.import_query_set(QuerySet(name="favoured", collection=DEMO_WIKI.name, queries=qs.queries),
                                       grades)
    capsys.readouterr()

    assert main(cli_args(weaviate_server, dbs[BASELINE], "--query-set", "favoured", "--rerank", "local",
                         "--fail-if-worse")) == 1
    err = capsys.readouterr().err
    # the verdict names its setting, with the text the rerankers read (the demo spec's declared property)
    assert f"WORSE: {LOCAL.label} · {setting_label(replace(SETTING, text_property=DEMO_WIKI.rerank_property))}" in err
    assert f"significantly worse than {BASELINE} on nDCG@10 at α = 0.05" in err and "95% CI [" in err
    assert main(cli_args(weaviate_server, dbs[LOCAL.label], "--query-set", "favoured", "--rerank", "local",
                         "--fail-if-worse")) == 0
    assert "WORSE" not in capsys.readouterr().err


def test_depth_sweep_from_the_cli(demo_loaded: None, weaviate_server: WeaviateEndpoint,  # noqa: F811
                                  tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "store.sqlite3"
    with open_store(str(db)) as store:
        qs = demo_query_set(store, n=5)
    report = tmp_path / "sweep.html"
    args = [a for a in cli_args(weaviate_server, db, "--query-set", qs.name, "--rerank", "local", "--report",
                                str(report)) if a not in ("-K", str(SETTING.limit))]
    assert main([*args, "-K", "20", "-K", "5", "-K", "10"]) == 0, capsys.readouterr().err
    with open_store(str(db)) as store:
        summary = analysis.load_summary(store, store.list_runs()[0].run_id)
    assert [s.limit for s in summary.plan.settings] == [5, 10, 20]
    assert summary.saved == summary.expected == 3 * 5 * 2
    sweep = analysis.depth_sweep(summary)
    assert sweep is not None and set(sweep.knee) == {BASELINE, LOCAL.label}
    assert all(k in (5, 10, 20) for k in sweep.knee.values())
    page = report.read_text(encoding="utf-8")
    assert "Depth sweep" in page and page.count("window.PlotlyConfig") == 1


@pytest.mark.parametrize("how", ["flag", "settings"])
def test_the_cli_honours_a_token_budget(how: str, demo_loaded: None, weaviate_server: WeaviateEndpoint,  # noqa: F811
                                        jina_stand_in: JinaStandIn, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 24: `eval` spent 47,121 tokens with both budgets at 3,000. Now the run stops at the cap: what Jina
    counted stays within it, and the run says it is incomplete (resumable).

    The budget is the upper bound one query's call reserves: that one runs, the queries whose bound is larger are
    refused before any call."""
    db = tmp_path / "store.sqlite3"
    store = open_store(str(db))
    try:
        qs = demo_query_set(store)
    finally:
        store.close()
    monkeypatch.setenv("JINAAI_APIKEY", TEST_JINA_KEY)
    args = cli_args(weaviate_server, db, "--query-set", qs.name, "--rerank", f"jina:{JINA.model}",
                    "--jina-base-url", jina_stand_in.url)
    jina_stand_in.reset()
    assert main(args) == 0, capsys.readouterr().err
    sent = jina_stand_in.rerank_requests()
    calls = len(sent)
    # The smallest query's reservation (the bound of what it sends): that query fits, the larger ones do not.
    budget = min(rerank_token_bound(r.json["query"], [d if isinstance(d, str) else d["text"]
                                                      for d in r.json["documents"]]) for r in sent)
    capsys.readouterr()

    jina_stand_in.reset()
    if how == "flag":
        args += ["--token-budget", str(budget)]
    else:
        monkeypatch.setenv("RERANK_PLAYGROUND_SESSION_TOKEN_BUDGET", str(budget))
        monkeypatch.setenv("RERANK_PLAYGROUND_DEPLOYMENT_TOKEN_BUDGET", str(budget * 10))
    code = main(args)
    out = capsys.readouterr()
    counted = jina_stand_in._tokens_used  # noqa: SLF001
    made = len(jina_stand_in.rerank_requests())
    assert 0 < made < calls, f"{made} of {calls} paid calls were made under a budget of {budget:,}"
    assert counted <= budget, f"Jina counted {counted:,} tokens against a budget of {budget:,}"
    assert code != 0 and "incomplete" in out.err, out.err  # the rest was refused, not silently skipped
    print(f"CLI budget ({how}): Jina counted {counted:,} of {budget:,} ({made} of {calls} calls)")


def test_a_cli_filter_runs_with_the_plan_and_a_bad_one_is_named(demo_loaded: None,  # noqa: F811
                                                                 weaviate_server: WeaviateEndpoint, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "store.sqlite3"
    with open_store(str(db)) as store:
        qs = demo_query_set(store, n=3)
    args = cli_args(weaviate_server, db, "--query-set", qs.name, "--rerank", "local")
    assert main([*args, "--where", "title ~ x"]) == 2
    assert "Cannot read the filter 'title ~ x'" in capsys.readouterr().err
    assert main([*args, "--where", "colour = red"]) == 2
    assert "no property 'colour' to filter on" in capsys.readouterr().err
    assert main([*args, "--where", "title != zzz"]) == 0, capsys.readouterr().err
    with open_store(str(db)) as store:
        summary = analysis.load_summary(store, store.list_runs()[0].run_id)
    (setting,) = summary.plan.settings
    assert [str(f) for f in setting.filters] == ["title != zzz"]
    assert "where title != zzz" in setting_label(setting)
    assert summary.saved == summary.expected == 3 * 2
