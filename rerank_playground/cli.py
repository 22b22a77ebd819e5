"""``rerank-playground``: the batch evaluation from a terminal or CI, with the same engine and numbers as the UI.

    rerank-playground eval --collection DemoWiki --query-set demo-wiki --rerank local --report run.html
    rerank-playground eval --resume RUN_ID            # finish a cancelled or killed run
    rerank-playground runs                            # list saved runs
    rerank-playground report RUN_ID --report run.html --trec-dir runs/
    rerank-playground load ~/data/scifact --collection SciFact   # a BEIR folder / .zip, or a CSV/JSONL of documents

Weaviate is found as the app finds it: ``--url``, else ``WEAVIATE_URL`` (environment, then
``.streamlit/secrets.toml``), else the local server; a Weaviate on this machine gets the per-install key of the
local server that ``make demo`` runs.

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
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rerank_playground import cutoff_cli
from rerank_playground.errors import PlaygroundError
from rerank_playground.jina_http import API_KEY_ENV
from rerank_playground.keys import ProviderKeys
from rerank_playground.models import Fusion, Operator, SearchMode, SearchRequest

if TYPE_CHECKING:  # the evaluation stack is imported lazily, so `--help` stays fast
    from rerank_playground.connection import ConnectionSpec
    from rerank_playground.deployment import SpendGuard
    from rerank_playground.evaluation.analysis import RunSummary
    from rerank_playground.evaluation.batch_engine import BatchRun, Progress
    from rerank_playground.evaluation.judgments import QuerySet
    from rerank_playground.store import Store

ALPHA = 0.05  # = evaluation.stats.ALPHA (a test checks), not imported: scipy would slow `--help`
EXIT_OK, EXIT_WORSE, EXIT_BAD_INPUT, EXIT_INCOMPLETE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rerank-playground", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", help="store: a path or database URL (default: $RERANK_PLAYGROUND_DB or the per-user "
                                    "SQLite file)")

    def significance(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
        p.add_argument("--significance", type=float, default=ALPHA, metavar="ALPHA",
                       help=f"significance level α of every verdict, the report and --fail-if-worse, above 0 and "
                            f"below 0.5 (default {ALPHA})")

    ev = sub.add_parser("eval", help="run a query set through search and rerankers, save it, write a report")
    common(ev)
    connection_options(ev)
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
    what.add_argument("--text-property", help="property the rerankers read (default: the same rule as the app: a "
                      "demo collection's declared property, else the most text-like name, e.g. text or passage "
                      "before title)")
    what.add_argument("--operator", choices=[o.value for o in Operator], default=Operator.OR.value)
    what.add_argument("--where", action="append", default=[], metavar="FILTER",
                      help="a property filter, e.g. 'category = Science', 'year > 1990', 'title like sci*', "
                           "'tags contains any a, b' (operators: = != > < like, contains any); repeat: all must hold")
    what.add_argument("--embedder", default="auto", help="query vectors: auto, server, local or jina:<model>")
    what.add_argument("--rerank", action="append", default=[],
                      help="local, jina:<model> or weaviate_module:<model>; repeat (at most 5). 'no rerank' is "
                           "always included as the baseline")
    what.add_argument("-k", "--depth", type=int, default=10, help="metric depth k (nDCG@k, P@k, R@k, Judged@k)")
    what.add_argument("--relevance-level", type=int, default=None,
                      help="grade from which P, R, RR and AP count a document as relevant, as trec_eval -l "
                           "(default 2: 'relevant' and 'perfect' on the 0-3 scale)")
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
    out.add_argument("--trec-dir", type=Path, help="write one TREC run file per setting and ordering here, and the "
                                                   "run's qrels: trec_eval on them gives the tool's figures")
    out.add_argument("--fail-if-worse", action="store_true",
                     help="exit 1 when a reranker is significantly worse than the baseline (Holm-adjusted "
                          "randomization test on nDCG@k)")
    significance(out)

    _load_parser(sub, common)

    ls = sub.add_parser("runs", help="list saved runs")
    common(ls)
    rp = sub.add_parser("report", help="write the HTML report / TREC files of a saved run")
    common(rp)
    rp.add_argument("run_id")
    rp.add_argument("--report", type=Path)
    rp.add_argument("--trec-dir", type=Path)
    significance(rp)
    cutoff_cli.register(sub, common)
    return parser


def connection_options(p: argparse.ArgumentParser) -> None:
    conn = p.add_argument_group("connection (as the app finds it; keys only from the environment or "
                                ".streamlit/secrets.toml)")
    conn.add_argument("--url", default=None, help="Weaviate URL (default $WEAVIATE_URL, the secrets file's, or "
                                                  "the local server http://127.0.0.1:8080)")
    conn.add_argument("--grpc-port", type=int, default=None, help="Weaviate gRPC port (default "
                                                                  "$WEAVIATE_GRPC_PORT or 50051)")
    conn.add_argument("--jina-base-url", default=None, help="Jina API base URL (default $JINA_BASE_URL or api.jina.ai)")


def _load_parser(sub: Any, common: Any) -> None:
    ld = sub.add_parser("load", help="load a judged dataset (BEIR folder or .zip, or a CSV/JSONL of documents) into "
                                     "a collection, with its query set")
    common(ld)
    connection_options(ld)
    ld.add_argument("path", type=Path, help="a BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv), its "
                                            ".zip, or a .csv / .jsonl of documents (an id column + text columns)")
    ld.add_argument("--collection", required=True, help="the collection to create (or resume loading into)")
    ld.add_argument("--split", default="test", help="BEIR qrels split (qrels/<split>.tsv; default test)")
    ld.add_argument("--queries", type=Path, help="with a CSV/JSONL of documents: a query set file (.csv "
                                                 "query_id,query,doc_id,grade or .json) whose doc_id is the id column")
    ld.add_argument("--set-name", help="name of the query set (default: '<collection> <split>')")
    ld.add_argument("--vectors", default="local", help="document vectors: local (WordLlama, offline; default), "
                                                       "jina:<model> (needs JINAAI_APIKEY) or server:<module> "
                                                       "(the collection's vectorizer, e.g. server:text2vec-jinaai)")
    ld.add_argument("--batch-size", type=int, default=200, help="objects per batch request")
    ld.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                    help="progress bar (default: when stderr is a terminal)")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if hasattr(args, "significance"):  # refused before any work: a level of 0 would pass any reranker
            from rerank_playground.evaluation.stats import check_alpha

            check_alpha(args.significance)
        if args.command == "runs":
            return _list_runs(args)
        if args.command == "report":
            return _write_outputs(args, args.run_id)
        if args.command == "cutoff":
            return cutoff_cli.main(args, _open_store)
        if args.command == "load":
            return _load(args)
        return _eval(args)
    except PlaygroundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _open_store(args: argparse.Namespace) -> Store:
    from rerank_playground.store import open_store

    return open_store(args.db)


def _list_runs(args: argparse.Namespace) -> int:

    store = _open_store(args)
    try:
        for r in store.list_runs():
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
    # The cap applies to whichever key the run uses: the environment's key is bound to the configured endpoints
    # (an operator key, as in the app) and a run has one session, so every meter gets the same cap.
    return SpendGuard(budgets=Budgets(session=cap, deployment=cap, own=cap), session=TokenMeter("run's"),
                      deployment=TokenMeter("run's"))


# The CLI flag of each field of a search, so a refusal names what the user typed.
FLAG_OF = {"limit": "-K/--candidates", "alpha": "--alpha", "properties": "--properties",
           "text_property": "--text-property", "embedder": "--embedder"}


def _search_setting(args: argparse.Namespace) -> SearchRequest:
    """The base search setting of ``eval``, read through the one search codec (``SearchRequest.from_dict``)."""
    from rerank_playground.errors import InvalidInput
    from rerank_playground.filters import parse_filter

    data = {
        "limit": (args.candidates or [50])[0], "fusion": args.fusion, "operator": args.operator,
        "properties": [p.strip() for p in args.properties.split(",") if p.strip()],
        "text_property": args.text_property, "embedder": args.embedder, "alpha": (args.alpha or [0.5])[0],
        "filters": [parse_filter(text).to_dict() for text in args.where],
    }
    try:
        return SearchRequest.from_dict(data, settings_only=True)
    except InvalidInput as err:
        message = err.message
        for name, flag in FLAG_OF.items():
            message = message.replace(f'"{name}"', flag)
        raise InvalidInput(message, hint=err.hint) from None


def _eval(args: argparse.Namespace) -> int:
    from rerank_playground.evaluation import batch_engine, batch_plan
    from rerank_playground.rerankers.choice import parse_choice

    stored = _stored_endpoints(args) if args.resume else {}
    spec, keys, jina_base_url = connection_from(args, stored)
    options = batch_engine.EngineOptions(concurrency=args.concurrency, requests_per_second=args.requests_per_second,
                                         request_timeout_s=args.timeout)
    choices = tuple(dict.fromkeys(parse_choice(c) for c in args.rerank))  # cheap checks first
    spend = _spend_guard(args.token_budget)
    store = _open_store(args)
    try:
        if args.resume:
            handle = batch_engine.resume_run(store, args.resume, spec, keys=keys, jina_base_url=jina_base_url,
                                             options=options, retry_failed=args.retry_failed, spend=spend)
        else:
            qs = _query_set(args, store)
            base = _search_setting(args)
            modes = tuple(SearchMode(m) for m in (args.mode or []))
            settings = batch_plan.settings_grid(base, alphas=args.alpha or (), modes=modes or (SearchMode.HYBRID,),
                                                limits=args.candidates or ())
            level = {} if args.relevance_level is None else {"relevance_level": args.relevance_level}
            plan = batch_plan.RunPlan(query_set=qs, settings=settings, rerankers=choices, k=args.depth, name=args.name,
                                      **level)
            handle = batch_engine.start_run(store, plan, spec, keys=keys, qrels=store.qrels(qs),
                                            jina_base_url=jina_base_url, options=options, spend=spend)
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


def connection_from(args: argparse.Namespace, stored: dict[str, Any] | None = None,
                    env: dict[str, str] | None = None) -> tuple[ConnectionSpec, ProviderKeys, str]:
    """The Weaviate spec, provider keys and Jina base URL, found as the app finds them (environment over the
    secrets file, the local server's per-install key for a Weaviate on this machine), with ``--url`` /
    ``--grpc-port`` / ``--jina-base-url`` first, then a resumed run's ``stored`` endpoints.

    Keys stay bound to the endpoints they were configured for: a stored endpoint (the store may be a team's)
    gets a configured key only when it is that key's endpoint, and otherwise only the per-install key of a
    Weaviate on this machine."""
    from rerank_playground.deployment import deployment_from_settings, settings_outside_app
    from rerank_playground.local_weaviate import with_local_key

    settings = settings_outside_app(dict(os.environ if env is None else env))
    flags = {"WEAVIATE_URL": args.url, "WEAVIATE_GRPC_PORT": args.grpc_port, "JINA_BASE_URL": args.jina_base_url}
    settings.update({name: str(value) for name, value in flags.items() if value})
    names = {"url": "WEAVIATE_URL", "grpc_port": "WEAVIATE_GRPC_PORT", "jina_base_url": "JINA_BASE_URL"}
    from_store = {names[k]: str(v) for k, v in (stored or {}).items() if k in names and v and not flags[names[k]]}
    try:
        configured = deployment_from_settings(with_local_key(settings))
        if not from_store:
            return configured.spec, ProviderKeys.of(**{API_KEY_ENV: configured.jina_key}), configured.jina_base_url
        unkeyed = {k: v for k, v in settings.items() if k not in ("WEAVIATE_API_KEY", API_KEY_ENV)}
        resumed = deployment_from_settings(with_local_key({**unkeyed, **from_store}))
    except ValueError:
        from rerank_playground.errors import InvalidInput

        raise InvalidInput("The Weaviate URL or gRPC port is not valid.",
                           hint="Use e.g. --url http://127.0.0.1:8080 --grpc-port 50051.") from None
    key = configured.spec.weaviate_key
    if key is None or key.value_for(*resumed.spec.endpoints) is None:
        key = resumed.spec.weaviate_key
    spec = replace(resumed.spec, weaviate_api_key=key)
    # the configured Jina key keeps its binding: it goes to a stored Jina URL only if that is the configured one
    return spec, ProviderKeys.of(**{API_KEY_ENV: configured.jina_key}), resumed.jina_base_url


def _stored_endpoints(args: argparse.Namespace) -> dict[str, Any]:
    from rerank_playground.evaluation import batch_plan

    store = _open_store(args)
    try:
        return batch_plan.stored_endpoints(store.get_run(args.resume))
    finally:
        store.close()


def _load(args: argparse.Namespace) -> int:
    """``rerank-playground load``: check the whole dataset, then import it with a progress bar; Ctrl-C stops
    between chunks (run the same command again to resume)."""
    from rerank_playground import dataset_load as dl
    from rerank_playground.connection import connect

    vectors = dl.Vectors.parse(args.vectors)
    dl.check_collection_name(args.collection)
    source = dl.open_source(args.path, split=args.split, query_file=args.queries)
    show = sys.stderr.isatty() if args.progress is None else args.progress
    spec, keys, jina_base_url = connection_from(args)
    embed = _document_embedder(vectors, keys, jina_base_url)
    store = _open_store(args)
    try:
        job = dl.LoadJob(source, args.collection, connect=lambda: connect(spec, keys), vectors=vectors, embed=embed,
                         store=store, set_name=args.set_name, batch_size=args.batch_size,
                         secrets=(*spec.secrets, *keys.secrets)).start()
        interrupted = _follow_load(job, show)
    finally:
        store.close()
    if isinstance(job.exception, PlaygroundError):
        raise job.exception
    if job.error is not None:
        print(f"error: {job.error}", file=sys.stderr)
        return EXIT_INCOMPLETE
    if job.report is None:  # cancelled while checking
        print("Interrupted while checking the dataset; nothing was written.", file=sys.stderr)
        return EXIT_INTERRUPTED
    return _print_load(args, job.report, vectors, interrupted)


def _document_embedder(vectors: Any, keys: ProviderKeys, jina_base_url: str) -> Any:
    from rerank_playground.errors import KeyRequired
    from rerank_playground.keys import http_endpoint

    if vectors.kind == "server":
        return None
    if vectors.kind == "local":
        from rerank_playground.embedders import get_local_embedder

        return get_local_embedder().embed
    from rerank_playground.jina_embeddings import JinaEmbedder
    from rerank_playground.jina_http import make_client

    key = keys.secret_for(API_KEY_ENV, http_endpoint(jina_base_url))
    if not key:
        raise KeyRequired(f"Document vectors from {vectors.model} need a Jina API key.",
                          hint=f"Set {API_KEY_ENV}, or use --vectors local.", provider="jina", model=vectors.model)
    embedder = JinaEmbedder(make_client(), key, base_url=jina_base_url, model=vectors.model)
    return lambda texts: embedder.embed(texts, task="retrieval.passage")


def _follow_load(job: Any, show: bool) -> bool:
    """A tqdm bar over the load (documents checked, then imported, with the rate); Ctrl-C asks the job to stop
    after its current chunk. True when interrupted."""
    from tqdm import tqdm

    progress = job.progress
    bar: Any = None
    phase = ""

    def advance() -> None:  # the open bar to the figures of its phase
        if bar is not None:
            bar.update((progress.checked if phase == "checking" else progress.processed) - bar.n)  # tqdm's rate
            if phase == "importing":
                bar.set_postfix(new=progress.sent, skipped=progress.skipped, failed=progress.failed)

    interrupted = False
    while job.running:
        try:
            job.wait(0.2)
        except KeyboardInterrupt:
            interrupted = True
            job.cancel()
            print("\nStopping after the current chunk…", file=sys.stderr)
            continue
        advance()
        if progress.phase != phase:
            if bar is not None:
                bar.close()
            phase = progress.phase
            total = progress.total if phase == "importing" else None
            bar = tqdm(total=total, unit="doc", desc=phase, disable=not show, file=sys.stderr,
                       dynamic_ncols=True) if phase in ("checking", "importing") else None
            advance()
    if bar is not None:
        bar.close()
    return interrupted


def _print_load(args: argparse.Namespace, report: Any, vectors: Any, interrupted: bool) -> int:
    out = sys.stderr
    print(f"{report.collection}: {report.sent:,} objects imported, {report.skipped:,} already there, "
          f"{len(report.failed):,} failed, in {report.seconds:.1f} s ({report.rate:,.0f} objects/s; "
          f"{report.embed_seconds:.1f} s of it computing vectors); "
          f"the collection holds {report.count:,} objects ({report.documents:,} documents in the corpus).", file=out)
    if report.complete and report.count < report.documents:
        print(f"note: {report.documents - report.count:,} corpus lines repeat an earlier document id (the later line "
              "replaced the earlier).", file=out)
    for failure in report.failed:
        print(f"failed: {failure.doc_id}: {failure.reason}", file=out)
    again = f"rerank-playground load {args.path} --collection {args.collection}"
    if report.cancelled or interrupted:
        print(f"Interrupted. Run the same command again to resume: {again}", file=out)
        return EXIT_INTERRUPTED
    if report.failed:
        print(f"{len(report.failed):,} objects failed; no query set was saved. Fix the cause and run the same "
              f"command again (what is in stays): {again}", file=out)
        return EXIT_INCOMPLETE
    if report.query_set is not None:
        qs = report.query_set
        print(f"query set {qs.name!r}: {len(qs.queries):,} queries, {report.judgments:,} judgments.", file=out)
        embedder = "" if vectors.query_embedder == "local" else f" --embedder {vectors.query_embedder}"
        print(f"Evaluate it: rerank-playground eval --query-set {_quote(qs.name)} --rerank local{embedder} "
              "--report report.html", file=out)
    return EXIT_OK


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


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
    from rerank_playground.evaluation import analysis, report

    own = store is None
    store = store or _open_store(args)
    try:
        record = store.get_run(run_id)
        results = store.load_results(run_id)
        summary = analysis.summarise(record, results)
        alpha = args.significance
        print(_text_summary(summary, alpha))
        if args.report is not None:
            args.report.parent.mkdir(parents=True, exist_ok=True)
            args.report.write_text(report.html_report(summary, alpha=alpha, cut_results=results), encoding="utf-8")
            print(f"report: {args.report}", file=sys.stderr)
        if args.trec_dir is not None:
            args.trec_dir.mkdir(parents=True, exist_ok=True)
            (args.trec_dir / f"{run_id[:8]}.qrels").write_text(report.trec_qrels(record.qrels), encoding="utf-8")
            for setting in summary.settings:
                for ordering in setting.orderings:
                    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in ordering)
                    path = args.trec_dir / f"{run_id[:8]}.s{setting.setting}.{safe}.run"
                    path.write_text(report.trec_run(results, setting.setting, ordering), encoding="utf-8")
            level = summary.relevance_level
            print(f"TREC run files and qrels: {args.trec_dir} (ids with spaces or % are %-encoded in both; "
                  f"binary measures at trec_eval -l {level or 1})", file=sys.stderr)
        if getattr(args, "fail_if_worse", False):
            worse = [v for v in summary.verdicts(alpha) if v.kind == "worse"]
            for v in worse:
                print(f"WORSE: {v.text}", file=sys.stderr)
            if worse:
                return EXIT_WORSE
        return EXIT_OK
    finally:
        if own:
            store.close()


def _text_summary(summary: RunSummary, alpha: float) -> str:
    from rerank_playground.evaluation.batch_plan import BASELINE

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
                f"  Δ {test.mean_delta:+.4f} {test.delta_interval(4)}  p(Holm) {test.randomization_p_holm:.4g}")
            lines.append(f"    {ordering:<40} {primary} {mean}{interval}  n={ci.n}{p}")
    verdicts = summary.verdicts(alpha)
    if verdicts:
        lines.append(f"Verdicts ({primary}, one per setting and reranker):")
        lines.extend(f"  {v.kind.upper() if v.kind in ('better', 'worse') else '–'}: {v.text}" for v in verdicts)
    lines.append(summary.methods(alpha))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
