"""``rerank-playground``: the batch evaluation from a terminal or CI, with the same engine and numbers as the UI.

    rerank-playground eval --collection DemoWiki --query-set demo-wiki --rerank local --report run.html
    rerank-playground eval --resume RUN_ID            # finish a cancelled or killed run
    rerank-playground runs                            # list saved runs
    rerank-playground report RUN_ID --report run.html --trec-dir runs/

Keys come only from the environment (``JINAAI_APIKEY``, ``WEAVIATE_API_KEY``), never from arguments (which other
users can read in the process list). Exit status: 0 done; 1 ``--fail-if-worse`` found a reranker significantly
worse than the baseline; 2 bad input or a refused run (the message says what to fix); 3 the run did not complete
(failed queries, cancelled, or the store went away: resume it); 130 interrupted (resume it).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rerank_playground.connection import spec_from_url
from rerank_playground.errors import PlaygroundError
from rerank_playground.jina_http import API_KEY_ENV
from rerank_playground.keys import ProviderKeys
from rerank_playground.models import Fusion, Operator, SearchMode

if TYPE_CHECKING:  # the evaluation stack is imported lazily, so `--help` stays fast
    from rerank_playground.deployment import SpendGuard
    from rerank_playground.evaluation.analysis import RunSummary
    from rerank_playground.evaluation.batch import BatchRun, Progress
    from rerank_playground.evaluation.models import QuerySet
    from rerank_playground.evaluation.store import Store

EXIT_OK, EXIT_WORSE, EXIT_BAD_INPUT, EXIT_INCOMPLETE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rerank-playground", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", help="store: a path or database URL (default: $RERANK_PLAYGROUND_DB or the per-user "
                                    "SQLite file)")

    ev = sub.add_parser("eval", help="run a query set through search and rerankers, save it, write a report")
    common(ev)
    conn = ev.add_argument_group("connection (keys only from JINAAI_APIKEY / WEAVIATE_API_KEY)")
    conn.add_argument("--url", default=os.environ.get("WEAVIATE_URL", "http://127.0.0.1:8080"), help="Weaviate URL")
    conn.add_argument("--grpc-port", type=int, default=None, help="Weaviate gRPC port (default 50051)")
    conn.add_argument("--jina-base-url", default=None, help="Jina API base URL (default $JINA_BASE_URL or api.jina.ai)")
    what = ev.add_argument_group("what to run")
    what.add_argument("--collection", help="collection to search (default: the query set's)")
    what.add_argument("--query-set", help="name of a query set in the store")
    what.add_argument("--queries", type=Path, help="import a query set from a file (.csv query_id,query,doc_id,grade; "
                                                   ".json; or TREC topics with --qrels) and run it")
    what.add_argument("--qrels", type=Path, help="TREC qrels file that goes with TREC topics in --queries")
    what.add_argument("--set-name", help="name for the imported set (default: the file name)")
    what.add_argument("--id-property", help="qrels doc ids are values of this property, not uuids")
    what.add_argument("--mode", action="append", choices=[m.value for m in SearchMode],
                      help="search mode; repeat for a grid (default hybrid)")
    what.add_argument("--alpha", action="append", type=float, help="hybrid alpha; repeat for a grid (default 0.5)")
    what.add_argument("--fusion", choices=[f.value for f in Fusion], default=Fusion.RANKED.value)
    what.add_argument("-K", "--candidates", type=int, action="append",
                      help="candidates retrieved and reranked (K, default 50); repeat for a depth sweep "
                           "(e.g. -K 10 -K 25 -K 50 -K 100 -K 200: nDCG, latency and tokens as K grows, knee marked)")
    what.add_argument("--properties", default="", help="comma-separated properties BM25 searches (default all)")
    what.add_argument("--text-property", help="property sent to the rerankers (default: the first text property)")
    what.add_argument("--operator", choices=[o.value for o in Operator], default=Operator.OR.value)
    what.add_argument("--embedder", default="auto", help="query vectors: auto, server, local or jina:<model>")
    what.add_argument("--rerank", action="append", default=[],
                      help="local, jina:<model> or weaviate_module:<model>; repeat (at most 5). 'no rerank' is "
                           "always included as the baseline")
    what.add_argument("-k", "--depth", type=int, default=10, help="metric depth k (nDCG@k, P@k, R@k, Judged@k)")
    what.add_argument("--name", default="", help="a name for the run")
    run = ev.add_argument_group("running")
    run.add_argument("--concurrency", type=int, default=4)
    run.add_argument("--requests-per-second", type=float, default=None, help="shared cap on Jina requests")
    run.add_argument("--timeout", type=float, default=30.0, help="seconds per Jina request")
    run.add_argument("--token-budget", type=int, default=None, metavar="TOKENS",
                     help="cap on the Jina tokens this run may spend (default: the smaller of "
                     "RERANK_PLAYGROUND_SESSION_TOKEN_BUDGET and RERANK_PLAYGROUND_DEPLOYMENT_TOKEN_BUDGET when set)")
    run.add_argument("--resume", metavar="RUN_ID", help="finish a saved run instead of starting one")
    run.add_argument("--retry-failed", action="store_true", help="with --resume: also retry failed queries")
    run.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="progress bar (default: when stderr is a terminal)")
    out = ev.add_argument_group("output")
    out.add_argument("--report", type=Path, help="write the offline HTML report here")
    out.add_argument("--trec-dir", type=Path, help="write one TREC run file per setting and ordering here")
    out.add_argument("--fail-if-worse", action="store_true",
                     help="exit 1 when a reranker is significantly worse than the baseline (Holm-adjusted "
                          "randomization test on nDCG@k)")
    out.add_argument("--significance", type=float, default=0.05, help="level for --fail-if-worse")

    ls = sub.add_parser("runs", help="list saved runs")
    common(ls)
    rp = sub.add_parser("report", help="write the HTML report / TREC files of a saved run")
    common(rp)
    rp.add_argument("run_id")
    rp.add_argument("--report", type=Path)
    rp.add_argument("--trec-dir", type=Path)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "runs":
            return _list_runs(args)
        if args.command == "report":
            return _write_outputs(args, args.run_id)
        return _eval(args)
    except PlaygroundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _open_store(args: argparse.Namespace) -> Store:
    from rerank_playground.evaluation.store import open_store

    return open_store(args.db)


def _list_runs(args: argparse.Namespace) -> int:
    from rerank_playground.evaluation import runs

    store = _open_store(args)
    try:
        for r in runs.list_runs(store):
            print(f"{r.run_id}  {r.started_at:%Y-%m-%d %H:%M}  {r.status:<11} {r.collection}  {r.name}")
    finally:
        store.close()
    return EXIT_OK


def _query_set(args: argparse.Namespace, store: Store) -> QuerySet:
    from rerank_playground.errors import InvalidInput
    from rerank_playground.evaluation import io

    if args.queries is not None:
        if not args.collection:
            raise InvalidInput("--queries needs --collection (the collection the judgments are for).")
        text = _read(args.queries)
        suffix = args.queries.suffix.lower()
        if args.qrels is not None:
            parsed = io.parse_trec(text, _read(args.qrels))
        elif suffix == ".json":
            parsed = io.parse_json(text)
        else:
            parsed = io.parse_csv(text)
        name = args.set_name or args.queries.stem
        return io.import_judgments(store, args.collection, name, parsed, id_property=args.id_property)
    if not args.query_set:
        raise InvalidInput("Choose a query set: --query-set NAME (stored) or --queries FILE.")
    qs = store.query_set(args.query_set)
    if args.collection and args.collection != qs.collection:
        raise InvalidInput(f"The query set {qs.name!r} is for the collection {qs.collection!r}, not "
                           f"{args.collection!r}.", hint="Drop --collection or pick the set of that collection.")
    return qs


def _read(path: Path) -> str:
    from rerank_playground.errors import InvalidInput

    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"Could not read {path}: {exc.__class__.__name__}.",
                           hint="Check the path and that the file is UTF-8 text.") from None


def _spend_guard(flag: int | None) -> SpendGuard:
    """The run's cap on Jina tokens (on whatever key it uses): ``--token-budget``, else the operator's budget
    settings when set (the CLI is one run, so the smaller of the two applies); none when neither is set."""
    from rerank_playground.deployment import (
        DEPLOYMENT_BUDGET_ENV,
        SESSION_BUDGET_ENV,
        Budgets,
        SpendGuard,
        TokenMeter,
        parse_budget,
    )
    from rerank_playground.errors import InvalidInput

    if flag is not None and flag < 1:
        raise InvalidInput("--token-budget must be at least 1 token.")
    settings = [parse_budget(os.environ.get(name), None, name) for name in (SESSION_BUDGET_ENV, DEPLOYMENT_BUDGET_ENV)]
    caps = [cap for cap in settings if cap is not None]
    cap = flag if flag is not None else min(caps) if caps else None
    # The CLI's key is the user's own (``ProviderKeys.of``): the cap applies to it.
    return SpendGuard(budgets=Budgets(session=None, deployment=None, own=cap), deployment=TokenMeter("run's"))


def _eval(args: argparse.Namespace) -> int:
    from rerank_playground.evaluation import batch

    spec = spec_from_url(args.url, args.grpc_port, kind="local",
                         weaviate_api_key=os.environ.get("WEAVIATE_API_KEY") or None)
    keys = ProviderKeys.of(**{API_KEY_ENV: os.environ.get(API_KEY_ENV)})
    options = batch.EngineOptions(concurrency=args.concurrency, requests_per_second=args.requests_per_second,
                                  request_timeout_s=args.timeout)
    choices = tuple(dict.fromkeys(batch.parse_rerank_choice(c) for c in args.rerank))  # cheap checks first
    spend = _spend_guard(args.token_budget)
    store = _open_store(args)
    try:
        if args.resume:
            handle = batch.resume_run(store, args.resume, spec, keys=keys, jina_base_url=args.jina_base_url,
                                      options=options, retry_failed=args.retry_failed, spend=spend)
        else:
            qs = _query_set(args, store)
            base = batch.SearchSetting(
                limit=(args.candidates or [50])[0], fusion=Fusion(args.fusion),
                properties=tuple(p.strip() for p in args.properties.split(",") if p.strip()),
                text_property=args.text_property, operator=Operator(args.operator), embedder=args.embedder,
                alpha=(args.alpha or [0.5])[0],
            )
            modes = tuple(SearchMode(m) for m in (args.mode or []))
            settings = batch.settings_grid(base, alphas=args.alpha or (), modes=modes or (SearchMode.HYBRID,),
                                           limits=args.candidates or ())
            plan = batch.RunPlan(query_set=qs, settings=settings, rerankers=choices, k=args.depth, name=args.name)
            handle = batch.start_run(store, plan, spec, keys=keys, qrels=store.qrels(qs),
                                     jina_base_url=args.jina_base_url, options=options, spend=spend)
        print(f"run {handle.run_id}", file=sys.stderr)
        interrupted = _watch(handle, args.progress)
        progress = handle.progress()
        print(f"{progress.state}: {progress.done} done, {progress.failed} failed, {progress.remaining} remaining, "
              f"{progress.tokens:,} tokens. {progress.message}", file=sys.stderr)
        if interrupted:
            print(f"Interrupted. Resume with: rerank-playground eval --resume {handle.run_id}", file=sys.stderr)
            return EXIT_INTERRUPTED
        code = _write_outputs(args, handle.run_id, store=store)
        if progress.state != "finished" or progress.failed:
            hint = " --retry-failed" if progress.failed else ""
            print(f"The run is incomplete. Resume with: rerank-playground eval --resume {handle.run_id}{hint}",
                  file=sys.stderr)
            return EXIT_INCOMPLETE if code == EXIT_OK else code
        return code
    finally:
        store.close()


def _watch(handle: BatchRun, show: bool | None) -> bool:
    """Follow the run with a tqdm bar on a terminal; Ctrl-C cancels it cleanly. True when interrupted."""
    from tqdm import tqdm

    show = sys.stderr.isatty() if show is None else show
    bar = tqdm(total=handle.progress().total, unit="ordering", disable=not show, file=sys.stderr, dynamic_ncols=True)
    interrupted = False
    try:
        while handle.running:
            _update(bar, handle.progress())
            time.sleep(0.2)
    except KeyboardInterrupt:
        interrupted = True
        handle.cancel()
        handle.wait()
    _update(bar, handle.wait())
    bar.close()
    return interrupted


def _update(bar: Any, progress: Progress) -> None:
    bar.n = progress.done + progress.failed
    bar.set_postfix(failed=progress.failed, tokens=progress.tokens, refresh=False)
    bar.refresh()


def _write_outputs(args: argparse.Namespace, run_id: str, store: Store | None = None) -> int:
    from rerank_playground.evaluation import analysis, report, runs

    own = store is None
    store = store or _open_store(args)
    try:
        record = runs.get_run(store, run_id)
        results = runs.load_results(store, run_id)
        summary = analysis.summarise(record, results)
        print(_text_summary(summary))
        if args.report is not None:
            args.report.parent.mkdir(parents=True, exist_ok=True)
            args.report.write_text(report.html_report(summary), encoding="utf-8")
            print(f"report: {args.report}", file=sys.stderr)
        if args.trec_dir is not None:
            args.trec_dir.mkdir(parents=True, exist_ok=True)
            for setting in summary.settings:
                for ordering in setting.orderings:
                    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in ordering)
                    path = args.trec_dir / f"{run_id[:8]}.s{setting.setting}.{safe}.run"
                    path.write_text(report.trec_run(results, setting.setting, ordering), encoding="utf-8")
            print(f"TREC run files: {args.trec_dir}", file=sys.stderr)
        if getattr(args, "fail_if_worse", False):
            worse = summary.worse_than_baseline(args.significance)
            for t in worse:
                print(f"WORSE: {t.a} vs {t.b} on {t.measure}: Δ {t.mean_delta:+.4f}, Holm p = "
                      f"{t.randomization_p_holm:.4g}", file=sys.stderr)
            if worse:
                return EXIT_WORSE
        return EXIT_OK
    finally:
        if own:
            store.close()


def _text_summary(summary: RunSummary) -> str:
    from rerank_playground.evaluation.batch import BASELINE

    lines = [f"{summary.record.name}  ({summary.record.run_id})"]
    primary = summary.primary
    for setting in summary.settings:
        lines.append(f"  {setting.label}")
        for ordering in setting.orderings:
            ci = setting.ci(ordering, primary)
            interval = "" if ci.low is None else f" [{ci.low:.4f}, {ci.high:.4f}]"
            mean = "n/a" if ci.mean is None else f"{ci.mean:.4f}"
            test = next((t for t in setting.tests if t.measure == primary and t.a == ordering and t.b == BASELINE),
                        None)
            p = "" if test is None or test.randomization_p_holm is None else (
                f"  Δ {test.mean_delta:+.4f}  p(Holm) {test.randomization_p_holm:.4g}")
            lines.append(f"    {ordering:<40} {primary} {mean}{interval}  n={ci.n}{p}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
