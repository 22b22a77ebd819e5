"""Batch evaluation figures, measured in one run (not part of the test suite).

    .venv/bin/python -m benchmarks.batch [--queries 100] [--latency-ms 100] [--concurrency 8] [--big 1000]

On the demo's DemoWiki collection (real weaviate-server) with known-item queries (the first words of a passage;
that passage graded 3), hybrid search, K=50, and the Jina stand-in answering after ``--latency-ms``:

1. ``--queries`` x 2 Jina models: the engine at ``--concurrency`` against the engine at concurrency 1.
   Target: wall-time ratio <= 0.15.
2. Bookkeeping: the engine (plan checks, store writes, metrics, progress) against the same searches and
   rerank calls done by a bare thread pool over the same Playground machinery, same concurrency and granularity
   (a job per search, a job per rerank). Target: <= 5% extra wall time.
3. Peak memory of a ``--big`` x 5-model run (stand-in without latency), in a fresh process: ru_maxrss
   before and after, and tracemalloc's peak of Python allocations during the run.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from rerank_playground.connection import ConnectionSpec
from rerank_playground.demo.datasets import DEMO_WIKI, wiki_objects
from rerank_playground.demo.loader import load_demo
from rerank_playground.evaluation.batch_engine import EngineOptions, JobPool, open_run_connection, start_run
from rerank_playground.evaluation.batch_plan import RunPlan, for_query, search_setting
from rerank_playground.evaluation.judgments import QuerySet, SetQuery
from rerank_playground.keys import ProviderKeys
from rerank_playground.models import SearchMode, SearchResult
from rerank_playground.rerankers.choice import RerankChoice
from rerank_playground.store import open_store
from testkit.jina_stand_in import JinaStandIn
from testkit.weaviate_data import connect
from weaviate_local.server import WeaviateEndpoint, start_weaviate

KEY = "bench-key"
MODELS = ("jina-reranker-v2-base-multilingual", "jina-reranker-v3", "jina-reranker-v1-base-en", "jina-colbert-v2",
          "jina-reranker-m0")
SETTING = search_setting(mode=SearchMode.HYBRID, limit=50)


def known_items(n: int) -> tuple[QuerySet, list[tuple[str, str, int]]]:
    objects = [o for o in wiki_objects() if len(o.properties.get("passage", "").split()) >= 12]
    picked, seen = [], set()
    for obj in objects:
        query = " ".join(obj.properties["passage"].split()[:8])
        if query.casefold() not in seen:
            seen.add(query.casefold())
            picked.append((query, obj.uuid))
        if len(picked) == n:
            break
    qs = QuerySet(f"bench-{n}", DEMO_WIKI.name, tuple(SetQuery(f"q{i}", q) for i, (q, _) in enumerate(picked)))
    return qs, [(q, doc, 3) for q, doc in picked]


def spec_of(endpoint: WeaviateEndpoint) -> ConnectionSpec:
    return ConnectionSpec(http_host=endpoint.host, http_port=endpoint.http_port, grpc_port=endpoint.grpc_port,
                          weaviate_api_key=endpoint.api_key)


KEYS = ProviderKeys.of(JINAAI_APIKEY=KEY)


def engine_run(db: Path, endpoint: WeaviateEndpoint, jina_url: str, n: int, models: int, concurrency: int) -> float:
    with open_store(str(db)) as store:
        qs, grades = known_items(n)
        store.import_query_set(qs, grades)
        plan = RunPlan(query_set=store.query_set(qs.name), settings=(SETTING,),
                       rerankers=tuple(RerankChoice("jina", m) for m in MODELS[:models]), k=10)
        started = time.perf_counter()
        handle = start_run(store, plan, spec_of(endpoint), keys=KEYS, qrels=store.qrels(plan.query_set),
                           jina_base_url=jina_url, options=EngineOptions(concurrency=concurrency))
        progress = handle.wait()
        elapsed = time.perf_counter() - started
        assert progress.state == "finished" and progress.failed == 0, progress
    return elapsed


def bare_run(endpoint: WeaviateEndpoint, jina_url: str, n: int, models: int, concurrency: int) -> float:
    """The same searches and rerank calls, scheduled as the engine does (its ``JobPool``: a job per search, a job
    per rerank of it, reranks first), through the same Playground machinery: no plan checks, no store, no metrics,
    no progress."""
    qs, _ = known_items(n)
    choices = [RerankChoice("jina", m) for m in MODELS[:models]]
    started = time.perf_counter()
    connection = open_run_connection(spec_of(endpoint), EngineOptions(concurrency=concurrency), keys=KEYS,
                                     jina_base_url=jina_url)
    pg = connection.playground

    jobs = JobPool(concurrency, "bare")

    def rerank(choice: RerankChoice, query: SetQuery, search: SearchResult) -> None:
        pg.reranker(choice, search).rerank(query.text, search.hits, choice.model, None)

    def one(query: SetQuery) -> None:
        search = pg.search(for_query(SETTING, qs.collection, query.text))
        for choice in choices:
            jobs.add(JobPool.RERANK, functools.partial(rerank, choice, query, search))

    try:
        for query in qs.queries:
            jobs.add(JobPool.SEARCH, functools.partial(one, query))
        jobs.run()
    finally:
        connection.close()
    return time.perf_counter() - started


def big_child(args: argparse.Namespace) -> int:
    """Runs in a fresh process: peak memory of one big run."""
    endpoint = WeaviateEndpoint(args.host, args.http_port, args.grpc_port, managed=False,
                                api_key=os.environ.get("WEAVIATE_API_KEY") or None)
    # Warm up first (WordLlama's weights for the query vectors, gRPC channels, the demo data in memory), so the
    # figures are the run's own and not the embedder's one-off load.
    engine_run(Path(args.db + ".warm"), endpoint, args.jina_url, 5, 5, args.concurrency)
    known_items(args.big)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    elapsed = engine_run(Path(args.db), endpoint, args.jina_url, args.big, 5, args.concurrency)
    _, peak = tracemalloc.get_traced_memory()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": elapsed, "rss_before_mb": before / 1024, "rss_after_mb": after / 1024,
                      "tracemalloc_peak_mb": peak / 2**20}))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--big", type=int, default=1000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    for name in ("host", "http-port", "grpc-port", "db", "jina-url"):
        parser.add_argument(f"--{name}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.http_port, args.grpc_port = int(args.http_port), int(args.grpc_port)
        return big_child(args)

    with tempfile.TemporaryDirectory() as tmp, \
            start_weaviate(data_dir=Path(tmp) / "data", log_path=Path(tmp) / "weaviate.log",
                           progress=lambda _: None) as proc, JinaStandIn(api_key=KEY) as jina:
        endpoint = proc.endpoint
        client = connect(endpoint)
        try:
            load_demo(client, collections=[DEMO_WIKI.name])
        finally:
            client.close()
        jina.latency_s = args.latency_ms / 1000
        n = args.queries
        engine_run(Path(tmp) / "warm.sqlite3", endpoint, jina.url, 5, 2, 2)  # warm up the embedder and channels
        sequential = engine_run(Path(tmp) / "seq.sqlite3", endpoint, jina.url, n, 2, 1)
        concurrent = engine_run(Path(tmp) / "conc.sqlite3", endpoint, jina.url, n, 2, args.concurrency)
        print(f"1. {n} queries x 2 models, {args.latency_ms:g} ms stand-in latency: sequential {sequential:.2f} s, "
              f"concurrency {args.concurrency} {concurrent:.2f} s, ratio {concurrent / sequential:.3f} "
              f"(target <= 0.15)")
        bare, engine = [], []
        for i in range(3):  # alternate so drift hits both
            bare.append(bare_run(endpoint, jina.url, n, 2, args.concurrency))
            engine.append(engine_run(Path(tmp) / f"book{i}.sqlite3", endpoint, jina.url, n, 2, args.concurrency))
        b, e = sorted(bare)[1], sorted(engine)[1]
        print(f"2. bookkeeping: bare {b:.2f} s, engine {e:.2f} s (medians of 3), overhead {100 * (e / b - 1):+.1f}% "
              f"(target <= 5%)")
        jina.latency_s = 0.0
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.batch", "--child", "--big", str(args.big),
             "--concurrency", str(args.concurrency),
             "--host", endpoint.host, "--http-port", str(endpoint.http_port), "--grpc-port", str(endpoint.grpc_port),
             "--db", str(Path(tmp) / "big.sqlite3"), "--jina-url", jina.url],
            capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[1],
            env={**os.environ, "WEAVIATE_API_KEY": endpoint.api_key or ""},
        )
        big = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"3. {args.big} queries x 5 models ({args.big * 6} orderings): {big['seconds']:.1f} s, peak RSS "
              f"{big['rss_after_mb']:.0f} MB (after warm-up {big['rss_before_mb']:.0f} MB), Python allocations "
              f"during the run peaked at {big['tracemalloc_peak_mb']:.1f} MB (tracemalloc)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
