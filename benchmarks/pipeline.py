"""Pipeline overhead, measured side by side in one run (not part of the test suite).

    .venv/bin/python -m benchmarks.pipeline [--objects 10000] [--candidates 100] [--rounds 30]

1. Our search + Jina rerank + movement vs the bare weaviate-client hybrid query plus one bare httpx
   POST, on a 10,000-object collection, top-100 candidates, a zero-latency Jina stand-in. Rounds
   alternate between the two so drift hits both equally; each round uses a new query so no cache helps.
   Target: median ratio <= 1.10.
2. Four models against a stand-in with 200 ms latency: compare() wall time vs the slowest single call.
   Target: <= 1.3x.
3. A repeated identical request: API calls made the second time. Target: 0.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import weaviate
import weaviate.classes.config as wc
from weaviate.classes.query import HybridFusion, MetadataQuery

from rerank_playground.connection import ConnectionSpec
from rerank_playground.keys import ProviderKeys
from rerank_playground.models import SearchMode, SearchRequest
from rerank_playground.playground import Playground
from rerank_playground.rerankers.cache import RerankCache
from rerank_playground.rerankers.choice import RerankChoice
from testkit.jina_stand_in import JinaStandIn
from weaviate_local.server import start_weaviate

KEY = "bench-key"
WORDS = [f"w{i}" for i in range(2000)]
COLLECTION = "BenchDocs"
DIMS = 64


def vector_for(text: str) -> list[float]:
    vec = np.zeros(DIMS, dtype=np.float32)
    for token in text.split():
        vec[int(hashlib.blake2b(token.encode(), digest_size=4).hexdigest(), 16) % DIMS] += 1.0
    norm = float(np.linalg.norm(vec)) or 1.0
    return (vec / norm).tolist()


class HashEmbedder:
    name = "hash-bow-64"

    def embed_query(self, text: str) -> list[float]:
        return vector_for(text)


def load(client: weaviate.WeaviateClient, n: int) -> None:
    if client.collections.exists(COLLECTION):
        client.collections.delete(COLLECTION)
    client.collections.create(
        COLLECTION,
        properties=[wc.Property(name="body", data_type=wc.DataType.TEXT)],
        vector_config=wc.Configure.Vectors.self_provided(),
    )
    rng = random.Random(7)
    col = client.collections.use(COLLECTION)
    with col.batch.fixed_size(1000) as batch:
        for _ in range(n):
            text = " ".join(rng.choices(WORDS, k=30))
            batch.add_object({"body": text}, vector=vector_for(text))
    assert not col.batch.failed_objects, col.batch.failed_objects[:3]
    total = col.aggregate.over_all(total_count=True).total_count
    assert total == n, total


def bare_round(client: weaviate.WeaviateClient, http: httpx.Client, base: str, query: str, k: int) -> float:
    started = time.perf_counter()
    response = client.collections.use(COLLECTION).query.hybrid(
        query=query, vector=vector_for(query), alpha=0.5, fusion_type=HybridFusion.RANKED, limit=k,
        return_metadata=MetadataQuery(score=True, explain_score=True, distance=True),
    )
    docs = [str(o.properties.get("body") or "") for o in response.objects]
    reply = http.post(
        f"{base}/v1/rerank",
        headers={"Authorization": f"Bearer {KEY}"},
        json={"model": "jina-reranker-v2-base-multilingual", "query": query, "documents": docs,
              "top_n": len(docs), "return_documents": False},
    )
    reply.raise_for_status()
    reply.json()
    return time.perf_counter() - started


def ours_round(play: Playground, query: str, k: int) -> float:
    started = time.perf_counter()
    request = SearchRequest(COLLECTION, query, mode=SearchMode.HYBRID, limit=k, embedder="hash")
    result = play.search(request, force=True)
    play.rerank(result, RerankChoice("jina", "jina-reranker-v2-base-multilingual"), top_n=10)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--candidates", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as tmp, start_weaviate(data_dir=Path(tmp) / "data") as server, \
            JinaStandIn(api_key=KEY) as jina:
        endpoint = server.endpoint
        client = weaviate.connect_to_local(endpoint.host, endpoint.http_port, endpoint.grpc_port,
                                           skip_init_checks=True,
                                           auth_credentials=weaviate.auth.AuthApiKey(endpoint.api_key))
        started = time.perf_counter()
        load(client, args.objects)
        print(f"loaded {args.objects:,} objects in {time.perf_counter() - started:.1f} s")
        http = httpx.Client(timeout=30)
        spec = ConnectionSpec(http_host=endpoint.host, http_port=endpoint.http_port, grpc_port=endpoint.grpc_port,
                              weaviate_api_key=endpoint.api_key)
        play = Playground(spec, keys=ProviderKeys.of(JINAAI_APIKEY=KEY), jina_base_url=jina.url,
                          rerank_cache=RerankCache())
        play.connect()
        play.embedder_for = lambda request, info: HashEmbedder()  # type: ignore[method-assign]
        for _ in range(3):  # warm both paths
            q = " ".join(rng.choices(WORDS, k=3))
            bare_round(client, http, jina.url, q, args.candidates)
            ours_round(play, q + " warm", args.candidates)
        bare, ours = [], []
        for i in range(args.rounds):
            q = " ".join(rng.choices(WORDS, k=3))
            pair = [("bare", q), ("ours", q + " x")]
            for kind, query in pair if i % 2 == 0 else reversed(pair):
                if kind == "bare":
                    bare.append(bare_round(client, http, jina.url, query, args.candidates))
                else:
                    ours.append(ours_round(play, query, args.candidates))
        b, o = statistics.median(bare), statistics.median(ours)
        print(f"\n[1] search+rerank+movement, K={args.candidates}, {args.rounds} rounds each")
        print(f"    bare client + 1 POST : median {b * 1000:7.2f} ms")
        print(f"    our pipeline         : median {o * 1000:7.2f} ms")
        print(f"    ratio ours/bare      : {o / b:.3f}  (target <= 1.10)")

        jina.latency_s = 0.2
        request = SearchRequest(COLLECTION, "w1 w2 w3", mode=SearchMode.HYBRID, limit=args.candidates,
                                embedder="hash")
        result = play.search(request, force=True)
        models = ["jina-reranker-v2-base-multilingual", "jina-reranker-v1-base-en", "jina-reranker-v1-tiny-en",
                  "jina-reranker-v3"]
        singles = []
        for model in models:
            play.cache.clear()
            t = time.perf_counter()
            play.rerank(result, RerankChoice("jina", model), top_n=10)
            singles.append(time.perf_counter() - t)
        play.cache.clear()
        t = time.perf_counter()
        run = play.compare(result, [RerankChoice("jina", m) for m in models])
        wall = time.perf_counter() - t
        assert not run.errors, run.errors
        print("\n[2] four models, stand-in latency 200 ms")
        print(f"    slowest single call  : {max(singles) * 1000:7.1f} ms")
        print(f"    compare() wall time  : {wall * 1000:7.1f} ms")
        print(f"    ratio                : {wall / max(singles):.2f}x  (target <= 1.3x)")

        jina.latency_s = 0.0
        before = len(jina.rerank_requests())
        play.rerank(result, RerankChoice("jina", models[0]), top_n=10)
        again = play.rerank(result, RerankChoice("jina", models[0]), top_n=10)
        after = len(jina.rerank_requests())
        print("\n[3] repeated identical request")
        print(f"    API calls for the repeat: {after - before}  (result.cached={again.result.cached}, "
              f"api_calls={again.result.api_calls}; target 0)")
        play.close()
        client.close()
        http.close()


if __name__ == "__main__":
    main()
