"""The app on a 3-node Weaviate cluster vs one node, measured side by side in one run (not part of the suite).

    .venv/bin/python -m benchmarks.cluster [--objects 2000] [--queries 40]

1. Search p50/p95 through the app's core (``Playground.search``, cache bypassed, query embedded locally)
   on one node vs a 3-node cluster (replication factor 3), the same objects and the same queries, rounds
   alternating between the two so machine load hits both alike. The app talks to node1 of the cluster.
2. One node of the cluster killed (SIGKILL): time from the kill to the first search that answers, and how
   many searches failed before it; time until the server reports the node down (``/v1/nodes``) and until
   the app's server info carries the note; search p50 with the node down.
3. The node restarted with its data: time until every node reports every other one healthy again, and
   whether counts and results equal the before.

All servers run on this machine (loopback), so these figures show the cluster's own overhead
(replica coordination), not network latency between machines.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

import weaviate
import weaviate.classes.config as wc
from weaviate.classes.data import DataObject

from rerank_playground.connection import ConnectionSpec
from rerank_playground.embedders import get_local_embedder
from rerank_playground.errors import PlaygroundError
from rerank_playground.models import SearchMode, SearchRequest
from rerank_playground.playground import Playground
from weaviate_local.cluster import start_cluster
from weaviate_local.server import WeaviateEndpoint, start_weaviate

COLLECTION = "BenchCluster"
VICTIM = "node3"
WORDS = [
    "cat", "dog", "market", "river", "mountain", "apple", "recipe", "train", "music", "garden", "winter", "summer",
    "city", "ocean", "forest", "book", "history", "science", "engine", "coffee", "bread", "storm", "island",
    "bridge", "castle", "rocket", "planet", "doctor", "school", "film", "paint", "window", "kitchen", "road",
    "harbor", "desert", "valley", "festival", "language", "number", "camera",
]
MODES = (SearchMode.VECTOR, SearchMode.KEYWORD, SearchMode.HYBRID)


def say(message: str) -> None:
    print(message, flush=True)


def texts(n: int, rng: random.Random) -> list[str]:
    return [" ".join(rng.choices(WORDS, k=rng.randint(6, 18))) for _ in range(n)]


def load(endpoint: WeaviateEndpoint, bodies: list[str], factor: int) -> None:
    client = weaviate.connect_to_local(host=endpoint.host, port=endpoint.http_port, grpc_port=endpoint.grpc_port,
                                       skip_init_checks=True,
                                       auth_credentials=weaviate.auth.AuthApiKey(endpoint.api_key or ""))
    try:
        client.collections.create(
            COLLECTION,
            properties=[wc.Property(name="body", data_type=wc.DataType.TEXT)],
            vector_config=wc.Configure.Vectors.self_provided(),
            replication_config=wc.Configure.replication(factor=factor),
        )
        vectors = get_local_embedder().embed(bodies)
        collection = client.collections.use(COLLECTION)
        for start in range(0, len(bodies), 500):
            batch = [DataObject(properties={"body": b}, uuid=uuid.uuid5(uuid.NAMESPACE_URL, f"bench/{i}"),
                                vector=vectors[i].tolist()) for i, b in enumerate(bodies[start:start + 500], start)]
            result = collection.data.insert_many(batch)
            if result.has_errors:
                raise SystemExit(f"import failed: {list(result.errors.values())[:1]}")
    finally:
        client.close()


def playground(endpoint: WeaviateEndpoint) -> Playground:
    pg = Playground(ConnectionSpec(http_host=endpoint.host, http_port=endpoint.http_port,
                                   grpc_port=endpoint.grpc_port, weaviate_api_key=endpoint.api_key))
    pg.connect()
    return pg


def timed_search(pg: Playground, request: SearchRequest) -> tuple[float, list[str]]:
    started = time.perf_counter()
    result = pg.search(request, force=True)
    return (time.perf_counter() - started) * 1000, [hit.uuid for hit in result.hits]


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=40, help="queries per search mode")
    args = parser.parse_args()
    rng = random.Random(7)
    bodies = texts(args.objects, rng)
    queries = [" ".join(rng.choices(WORDS, k=3)) for _ in range(args.queries)]
    get_local_embedder().embed(["warm up"])

    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        started = time.monotonic()
        single = start_weaviate(data_dir=Path(tmp) / "single", log_path=Path(tmp) / "single.log", progress=say)
        single_ready = time.monotonic() - started
        started = time.monotonic()
        cluster = start_cluster(3, root=Path(tmp) / "cluster", progress=say)
        cluster_ready = time.monotonic() - started
        with single, cluster:
            load(single.endpoint, bodies, factor=1)
            load(cluster.endpoint, bodies, factor=3)
            one, three = playground(single.endpoint), playground(cluster.endpoint)
            base = SearchRequest(COLLECTION, "x", text_property="body", embedder="local", limit=20)
            requests = [replace(base, query=q, mode=m) for m in MODES for q in queries]
            for pg in (one, three):  # warm both: first gRPC call, embedder, caches on the server
                for request in requests[:: max(1, len(requests) // 10)]:
                    timed_search(pg, request)

            latency: dict[str, dict[SearchMode, list[float]]] = {"1 node": {}, "3 nodes": {}}
            answers: dict[SearchRequest, list[str]] = {}
            for i, request in enumerate(requests):  # alternate which setup goes first
                order = [("1 node", one), ("3 nodes", three)] if i % 2 == 0 else [("3 nodes", three), ("1 node", one)]
                for label, pg in order:
                    ms, found = timed_search(pg, request)
                    latency[label].setdefault(request.mode, []).append(ms)
                    if label == "3 nodes":
                        answers[request] = found

            counts_before = {c.name: c.count for c in three.collections()}

            # 2. kill a node
            three.liveness_check_after_s = 3600.0  # measure the search itself, not the app's idle re-check
            killed = time.monotonic()
            cluster.kill(VICTIM)
            failures, first_answer = 0, None
            while first_answer is None:
                try:
                    timed_search(three, requests[0])
                    first_answer = time.monotonic() - killed
                except PlaygroundError:
                    failures += 1
            cluster.wait_reported_down(VICTIM, via="node1")
            reported_down = time.monotonic() - killed
            note_after = None
            while note_after is None:
                info = three.check_nodes(max_age_s=0)
                if info is not None and info.cluster_note:
                    note_after = time.monotonic() - killed
            down_ms: list[float] = []
            down_mismatch = 0
            for request in requests:
                ms, found = timed_search(three, request)
                down_ms.append(ms)
                down_mismatch += found != answers[request]

            # 3. bring it back
            back_after = cluster.restart(VICTIM)
            back = playground(cluster.node(VICTIM).endpoint)
            counts_after = {c.name: c.count for c in back.collections()}
            after_mismatch = sum(timed_search(back, r)[1] != answers[r] for r in requests)
            entry_mismatch = sum(timed_search(three, r)[1] != answers[r] for r in requests)
            for pg in (one, three, back):
                pg.shutdown()

    say("")
    say(f"Setup: {args.objects} objects, {args.queries} queries per mode, K=20, query embedded locally "
        f"(WordLlama); all on 127.0.0.1, {len(requests)} searches per setup.")
    say(f"Start-up: 1 node ready in {single_ready:.1f}s; 3-node cluster healthy in {cluster_ready:.1f}s.")
    say(f"{'search latency (ms)':<24}{'1 node p50':>12}{'3 nodes p50':>13}{'ratio':>8}{'1 node p95':>12}"
        f"{'3 nodes p95':>13}")
    for mode in (*MODES, None):
        a = [v for m, vs in latency["1 node"].items() if mode in (None, m) for v in vs]
        b = [v for m, vs in latency["3 nodes"].items() if mode in (None, m) for v in vs]
        name = mode.value if mode else "all modes"
        say(f"{name:<24}{statistics.median(a):>12.1f}{statistics.median(b):>13.1f}"
            f"{statistics.median(b) / statistics.median(a):>8.2f}{pct(a, 95):>12.1f}{pct(b, 95):>13.1f}")
    say(f"Kill {VICTIM} (SIGKILL): first search answered {first_answer * 1000:.0f} ms after the kill "
        f"({failures} searches failed before it); the server reported it down after {reported_down:.1f}s; "
        f"the app's note appeared after {note_after:.1f}s.")
    say(f"With {VICTIM} down: search p50 {statistics.median(down_ms):.1f} ms, p95 {pct(down_ms, 95):.1f} ms; "
        f"{down_mismatch} of {len(requests)} result lists differed from the healthy cluster's.")
    say(f"Restart {VICTIM} with its data: all nodes healthy again after {back_after:.1f}s; collection counts "
        f"{'equal' if counts_after == counts_before else f'DIFFER {counts_before} vs {counts_after}'}; "
        f"result lists that differed from the healthy cluster's: {entry_mismatch} of {len(requests)} asked through "
        f"node1, {after_mismatch} of {len(requests)} asked through {VICTIM} itself.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
