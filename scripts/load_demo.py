"""Load the demo collections (DemoWiki, DemoJeopardy) into a running Weaviate. Safe to run again.

python -m scripts.load_demo                      # http://127.0.0.1:8080, gRPC 50051
WEAVIATE_URL=http://127.0.0.1:8081 WEAVIATE_GRPC_PORT=50052 python scripts/load_demo.py
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable

from rerank_playground.demo.loader import DemoLoadReport, load_demo, wait_until_stable
from rerank_playground.errors import PlaygroundError


def tqdm_progress() -> tuple[Callable[[str, int, int], None], Callable[[], None]]:
    """A ``progress(collection, done, total)`` callback drawing one tqdm bar per collection."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def progress(name: str, done: int, total: int) -> None:
        bar = bars.get(name)
        if bar is None:
            bar = bars[name] = tqdm(total=total, desc=f"  {name}", unit="obj", leave=True)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    def close() -> None:
        for bar in bars.values():
            bar.close()

    return progress, close


def print_reports(reports: list[DemoLoadReport], elapsed: float) -> None:
    for r in reports:
        verb = {"skipped": "already loaded", "created": "loaded", "recreated": "reloaded"}[r.action]
        line = f"  {r.collection}: {r.count:,} objects, {verb} ({r.seconds:.1f}s)"
        line += f"; reranker: {r.reranker}" if r.reranker else "; no server-side reranker"
        print(line)
        for note in r.notes:
            print(f"    note: {note}")
    print(f"Demo data ready in {elapsed:.1f}s.")


def connect(url: str, grpc_port: int):  # -> weaviate.WeaviateClient
    import weaviate
    from weaviate.classes.init import AdditionalConfig, Auth, Timeout

    from weaviate_local.server import endpoint_from_url

    endpoint = endpoint_from_url(url, grpc_port)  # the key: WEAVIATE_API_KEY, else the local per-install key
    return weaviate.connect_to_local(
        host=endpoint.host,
        port=endpoint.http_port,
        grpc_port=endpoint.grpc_port,
        skip_init_checks=True,
        auth_credentials=Auth.api_key(endpoint.api_key) if endpoint.api_key else None,
        additional_config=AdditionalConfig(timeout=Timeout(init=10, query=60, insert=120)),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("WEAVIATE_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--grpc-port", type=int, default=int(os.environ.get("WEAVIATE_GRPC_PORT", "50051")))
    args = parser.parse_args(argv)

    print(f"Loading the demo collections into {args.url} (gRPC {args.grpc_port})...")
    started = time.perf_counter()
    progress, close = tqdm_progress()
    try:
        client = connect(args.url, args.grpc_port)
        try:
            from rerank_playground.embedders import get_local_embedder

            get_local_embedder()  # loading it configures logging; keep httpx request lines out of the output
            logging.getLogger("httpx").setLevel(logging.WARNING)
            reports = load_demo(client, jina_key_present=bool(os.environ.get("JINAAI_APIKEY")), progress=progress)
            written_at = time.monotonic()
            close()
            # "ready" means identical searches answer identically (see wait_until_stable)
            wait_until_stable(client, reports, written_at=written_at, progress=lambda m: print(f"  {m}", flush=True))
        finally:
            client.close()
    except PlaygroundError as err:
        close()
        print(f"error: {err}", file=sys.stderr)
        return 1
    except Exception as err:  # noqa: BLE001 - a connection problem from weaviate-client
        close()
        print(f"error: could not load the demo into {args.url}: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    close()
    print_reports(reports, time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
