"""Run an N-node Weaviate cluster of the pinned build on 127.0.0.1, in the foreground (Ctrl-C stops it).

    weaviate-local-cluster [--nodes 3] [--data-dir DIR]

Each node gets its own data folder (``DIR/node1/data``, ...; default: a temporary folder removed on stop)
and free ports; the endpoints are printed once every node reports every other one healthy. Point the app
at any node's HTTP and gRPC port (Connect page, or WEAVIATE_URL / WEAVIATE_GRPC_PORT). Create collections
with a replication factor (e.g. ``Configure.replication(factor=3)``) to keep answering with a node down.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rerank_playground.errors import LauncherError
from weaviate_local.cluster import run_foreground, start_cluster


def say(message: str) -> None:
    print(f"[cluster] {message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="weaviate-local-cluster", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=3, help="how many nodes (default 3)")
    parser.add_argument("--data-dir", help="keep each node's data under this folder (default: temporary)")
    args = parser.parse_args(argv)
    try:
        cluster = start_cluster(args.nodes, root=Path(args.data_dir) if args.data_dir else None, progress=say)
    except LauncherError as err:
        say(f"error: {err}")
        return 2
    for node in cluster.nodes:
        say(f"{node.name}: {node.endpoint.url} (gRPC {node.ports.grpc}); data {node.data_dir}; log {node.log_path}")
    say("Press Ctrl-C to stop every node.")
    run_foreground(cluster, say)
    say("Stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
