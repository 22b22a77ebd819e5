"""Load: many concurrent user sessions against one Weaviate and one Jina stand-in (not part of the test suite).

    .venv/bin/python -m benchmarks.load [--sessions 20] [--rounds 5] [--candidates 50] [--jina-latency-ms 0]

Each session is one simulated browser tab: its own ``Playground``, its own Jina key, its own rerank cache
and HTTP client, in its own thread. Per round it runs a search (hybrid or keyword, alternating, with the
local query embedder), a rerank (alternating the offline baseline and a Jina model through the stand-in) and
a compare (two Jina models + the baseline). Every query carries a tag unique to its session.

1. Alone: each session's script runs by itself, one after another, on a fresh Playground — the reference
   answers (uuids in reranked order, per step).
2. Together: fresh Playgrounds, all sessions released at once by a barrier.

Checks: every action succeeds; each session's answers together equal its answers alone; every request the
stand-in received carries the key of the session whose tagged query it was; no session's cache holds another
session's query. Prints p50/p95 per action for both passes, and the totals. Exits 1 if a check fails.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import weaviate

from rerank_playground.connection import ConnectionSpec
from rerank_playground.demo.datasets import get_spec
from rerank_playground.demo.judgements import load_judgements
from rerank_playground.demo.loader import load_demo
from rerank_playground.demo.suggestions import SUGGESTED_QUERIES
from rerank_playground.jina_http import make_client
from rerank_playground.keys import ProviderKeys
from rerank_playground.models import SearchMode, SearchRequest
from rerank_playground.playground import Playground
from rerank_playground.rerankers.choice import RerankChoice
from testkit.jina_stand_in import JinaStandIn
from weaviate_local.server import WeaviateEndpoint, start_weaviate

JINA_MODELS = ("jina-reranker-v2-base-multilingual", "jina-reranker-v3", "jina-reranker-v1-tiny-en")
LOCAL = RerankChoice("local", "local-wordllama")


class MultiKeyStandIn(JinaStandIn):
    """The Jina stand-in accepting one key per session; its request log keeps what each request sent."""

    def __init__(self, keys: set[str]) -> None:
        super().__init__(api_key=f"bench-{uuid.uuid4().hex}")
        self.keys = keys

    def _answer(self, method: str, path: str, headers: dict[str, str], raw: bytes, body: Any, fault: Any) -> Any:
        if headers.get("authorization", "").removeprefix("Bearer ") in self.keys:
            headers = {**headers, "authorization": f"Bearer {self.api_key}"}
        return super()._answer(method, path, headers, raw, body, fault)


@dataclass(frozen=True)
class Step:
    request: SearchRequest
    rerank: RerankChoice
    compare: tuple[RerankChoice, ...]


@dataclass
class Outcome:
    answers: list[tuple[str, ...]] = field(default_factory=list)
    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # action -> ms
    errors: list[str] = field(default_factory=list)


def query_pool() -> list[tuple[str, str]]:
    """(collection, query) pairs from the demo's suggested queries and relevance judgements."""
    pool = [(q.collection, q.query) for items in SUGGESTED_QUERIES.values() for q in items]
    pool += list(dict.fromkeys((j.collection, j.query) for j in load_judgements()))
    return list(dict.fromkeys(pool))


def script(index: int, tag: str, rounds: int, candidates: int, pool: list[tuple[str, str]]) -> list[Step]:
    steps = []
    for r in range(rounds):
        collection, query = pool[(index * rounds + r) % len(pool)]
        mode = SearchMode.HYBRID if (index + r) % 2 == 0 else SearchMode.KEYWORD
        request = SearchRequest(collection, f"{query} {tag}", mode=mode, limit=candidates, embedder="local",
                                text_property=get_spec(collection).text_property)
        jina = RerankChoice("jina", JINA_MODELS[(index + r) % len(JINA_MODELS)])
        steps.append(Step(request, LOCAL if r % 2 == 0 else jina,
                          (RerankChoice("jina", JINA_MODELS[0]), RerankChoice("jina", JINA_MODELS[1]), LOCAL)))
    return steps


def timed(outcome: Outcome, action: str, fn: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = fn()
    outcome.timings[action].append((time.perf_counter() - started) * 1000)
    return result


def run_session(pg: Playground, steps: list[Step], start: threading.Barrier | None = None) -> Outcome:
    outcome = Outcome()
    if start is not None:
        start.wait(timeout=120)
    for step in steps:
        try:
            search = timed(outcome, "search", lambda s=step: pg.search(s.request))
            outcome.answers.append(tuple(h.uuid for h in search.hits))
            action = f"rerank ({step.rerank.reranker})"
            run = timed(outcome, action, lambda s=step, r=search: pg.rerank(r, s.rerank, 10))
            outcome.answers.append(tuple(m.uuid for m in run.movement.moves))
            both = timed(outcome, "compare", lambda s=step, r=search: pg.compare(r, list(s.compare)))
            if both.errors:
                outcome.errors += [f"{label}: {err}" for label, err in both.errors.items()]
            for result in both.results.values():
                outcome.answers.append(tuple(search.hits[i].uuid for i in result.order))
        except Exception as err:  # noqa: BLE001 - a benchmark reports every failure, whatever it is
            outcome.errors.append(f"{type(err).__name__}: {err}")
    return outcome


def new_session(endpoint: WeaviateEndpoint, key: str, jina_url: str) -> Playground:
    """A session with its own key, cache and HTTP client (closed by ``end_session``)."""
    pg = Playground(ConnectionSpec(http_host=endpoint.host, http_port=endpoint.http_port,
                                   grpc_port=endpoint.grpc_port,
                                   weaviate_api_key=endpoint.api_key),
                    keys=ProviderKeys.of(JINAAI_APIKEY=key), jina_base_url=jina_url, http_client=make_client())
    pg.connect()
    return pg


def end_session(pg: Playground) -> None:
    pg.close()
    pg._http.close()  # Playground.close() closes the Weaviate client only


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def report(title: str, outcomes: list[Outcome], wall_s: float) -> None:
    merged: dict[str, list[float]] = defaultdict(list)
    for outcome in outcomes:
        for action, values in outcome.timings.items():
            merged[action] += values
    print(f"\n{title}: {len(outcomes)} sessions, wall {wall_s:.2f} s")
    print(f"  {'action':<16}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    total = 0
    for action in sorted(merged):
        values = merged[action]
        total += len(values)
        print(f"  {action:<16}{len(values):>6}{statistics.median(values):>10.1f}{percentile(values, 95):>10.1f}"
              f"{max(values):>10.1f}")
    print(f"  total: {total} actions, {total / wall_s:.1f} actions/s, "
          f"{sum(len(o.errors) for o in outcomes)} errors")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--jina-latency-ms", type=float, default=0.0, help="added to every stand-in reply")
    args = parser.parse_args()

    tags = [f"zq{i:02d}x{uuid.uuid4().hex[:4]}" for i in range(args.sessions)]  # a token no document has
    keys = {tag: f"jina_bench_{tag}_{uuid.uuid4().hex}" for tag in tags}
    pool = query_pool()
    scripts = {tag: script(i, tag, args.rounds, args.candidates, pool) for i, tag in enumerate(tags)}
    failures: list[str] = []

    with tempfile.TemporaryDirectory(prefix="rp-load-") as tmp, MultiKeyStandIn(set(keys.values())) as jina:
        jina.latency_s = args.jina_latency_ms / 1000
        print("Starting Weaviate and loading the demo data...", flush=True)
        started = time.perf_counter()
        with start_weaviate(data_dir=Path(tmp) / "data", log_path=Path(tmp) / "weaviate.log",
                            progress=lambda _: None) as server:
            client = weaviate.connect_to_local(host=server.endpoint.host, port=server.endpoint.http_port,
                                               grpc_port=server.endpoint.grpc_port, skip_init_checks=True,
                                               auth_credentials=weaviate.auth.AuthApiKey(server.endpoint.api_key))
            try:
                loaded = load_demo(client)
            finally:
                client.close()
            print("  " + ", ".join(f"{r.collection}: {r.count} objects" for r in loaded)
                  + f" ({time.perf_counter() - started:.1f} s)")

            # 1. each session alone, one after another
            alone: dict[str, Outcome] = {}
            t0 = time.perf_counter()
            for tag in tags:
                pg = new_session(server.endpoint, keys[tag], jina.url)
                try:
                    alone[tag] = run_session(pg, scripts[tag])
                finally:
                    end_session(pg)
            alone_wall = time.perf_counter() - t0
            jina.reset()
            jina.latency_s = args.jina_latency_ms / 1000  # reset() clears it

            # 2. all sessions together
            sessions = {tag: new_session(server.endpoint, keys[tag], jina.url) for tag in tags}
            try:
                barrier = threading.Barrier(len(tags))
                t0 = time.perf_counter()
                with ThreadPoolExecutor(max_workers=len(tags)) as pool_:
                    futures = {tag: pool_.submit(run_session, sessions[tag], scripts[tag], barrier) for tag in tags}
                    together = {tag: f.result() for tag, f in futures.items()}
                together_wall = time.perf_counter() - t0
                cached = {tag: [r.reranker for r in list(pg.cache._data.values())] for tag, pg in sessions.items()}
            finally:
                for pg in sessions.values():
                    end_session(pg)

    report("Alone (sessions one after another)", list(alone.values()), alone_wall)
    report(f"Together ({len(tags)} concurrent sessions)", list(together.values()), together_wall)

    # -- checks ---------------------------------------------------------------------------------------------
    for tag in tags:
        for name, outcome in (("alone", alone[tag]), ("together", together[tag])):
            failures += [f"{tag} {name}: {e}" for e in outcome.errors]
        if together[tag].answers != alone[tag].answers:
            failures.append(f"{tag}: answers together differ from its answers alone")
    owner = {f"Bearer {key}": tag for tag, key in keys.items()}
    requests = jina.rerank_requests()
    for request in requests:
        tag = owner.get(request.headers.get("authorization", ""))
        if tag is None or not request.json["query"].endswith(tag):
            failures.append(f"a request for {request.json['query'][-12:]!r} carried another session's key")
    expected_calls = sum(  # a compare model already asked for by the step's rerank comes from the cache
        (s.rerank.reranker == "jina") + sum(c.reranker == "jina" and c != s.rerank for c in s.compare)
        for steps in scripts.values() for s in steps
    )
    if len(requests) != expected_calls:
        failures.append(f"the stand-in got {len(requests)} rerank calls, expected {expected_calls}")
    for tag, rerankers in cached.items():
        expected = sum(1 + len(s.compare) for s in scripts[tag]) - sum(
            s.rerank in s.compare for s in scripts[tag])
        if len(rerankers) != expected:
            failures.append(f"{tag}: its cache holds {len(rerankers)} results, expected {expected} (its own)")

    print(f"\nJina stand-in: {len(requests)} rerank calls, each with its own session's key: "
          f"{'yes' if not any('key' in f for f in failures) else 'NO'}")
    print(f"Answers together == answers alone for every session: "
          f"{'yes' if not any('differ' in f for f in failures) else 'NO'}")
    if failures:
        print(f"\nFAILED ({len(failures)}):")
        for failure in failures[:20]:
            print("  - " + failure)
        return 1
    print("All checks passed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
