"""Get, run and check the local Weaviate the playground uses.

    weaviate-local build             # find or build the pinned weaviate-server (Go; minutes once)
    weaviate-local ensure [--detach] # reuse a running Weaviate or start one (persistent data)
    weaviate-local start             # a new, throwaway one (foreground, Ctrl-C stops it)
    weaviate-local status            # what answers, which version, which modules
    weaviate-local stop              # stop the one `ensure` started

Environment: WEAVIATE_URL / WEAVIATE_GRPC_PORT (use that Weaviate), WEAVIATE_BINARY (use that binary),
RERANK_PLAYGROUND_CACHE (cache folder, default ~/.cache/rerank-playground).

The servers started here require an API key (anonymous access off): a random key made once per install in
<cache>/weaviate/api-key (mode 0600). The scripts and the app read it from there; clients use it as a
bearer token: `curl -H "Authorization: Bearer $(cat ~/.cache/rerank-playground/weaviate/api-key)" ...`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import httpx

from rerank_playground.errors import LauncherError
from weaviate_local.server import (
    WEAVIATE_VERSION,
    WeaviateProcess,
    cached_binary_path,
    demo_data_dir,
    endpoint_from_url,
    ensure_weaviate,
    find_binary,
    is_ready,
    read_state,
    start_weaviate,
    state_file,
    stop_recorded,
)


def say(message: str) -> None:
    print(f"[weaviate] {message}", flush=True)


def run_foreground(proc: WeaviateProcess) -> int:
    say(f"Running at {proc.endpoint.url} (gRPC {proc.endpoint.grpc_port}). Press Ctrl-C to stop.")
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        say("Stopping...")
        proc.stop()
        say("Stopped.")
        return 0
    say(f"weaviate-server exited with code {code}. Last lines of {proc.log_path}:\n{proc.log_tail(20)}")
    proc.stop()
    return 1


def cmd_build(args: argparse.Namespace) -> int:
    path = find_binary(progress=say, build=True)
    say(f"weaviate-server {WEAVIATE_VERSION}: {path}")
    return 0


def cmd_ensure(args: argparse.Namespace) -> int:
    endpoint, proc = ensure_weaviate(
        http_port=args.http_port, grpc_port=args.grpc_port, progress=say, detach=args.detach
    )
    if proc is None:
        say(f"Weaviate is ready at {endpoint.url} (gRPC {endpoint.grpc_port}); nothing to start.")
        return 0
    if args.detach:
        say(
            f"Running in the background at {endpoint.url} (gRPC {endpoint.grpc_port}), pid {proc.pid}; "
            f"log {proc.log_path}. Stop it with `weaviate-local stop`."
        )
        return 0
    return run_foreground(proc)


def cmd_start(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir) if args.data_dir else None
    proc = start_weaviate(http_port=args.http_port, grpc_port=args.grpc_port, data_dir=data_dir, progress=say)
    return run_foreground(proc)


def cmd_status(args: argparse.Namespace) -> int:
    cached = cached_binary_path()
    binary_env = os.environ.get("WEAVIATE_BINARY")
    say(f"pinned version {WEAVIATE_VERSION}")
    if binary_env:
        say(f"binary: WEAVIATE_BINARY={binary_env}")
    else:
        say(f"binary: {cached} ({'built' if cached.exists() else 'not built yet: run `build`'})")
    state = read_state()
    if state:
        say(
            f"started by ensure: pid {state['pid']} at {state['url']} (gRPC {state['grpc_port']}), "
            f"log {state['log_path']}"
        )
    url = os.environ.get("WEAVIATE_URL") or f"http://127.0.0.1:{args.http_port}"
    if not is_ready(url, timeout=2.0):
        say(f"{url}: not answering /v1/.well-known/ready")
        return 1
    key = endpoint_from_url(url, args.http_port).api_key  # WEAVIATE_API_KEY, else the per-install key
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        with httpx.Client(timeout=5.0, trust_env=False) as client:
            response = client.get(url.rstrip("/") + "/v1/meta", headers=headers)
            if response.status_code in (401, 403):
                say(f"{url}: ready, but it refused our key (set WEAVIATE_API_KEY for a server you run yourself)")
                return 1
            meta = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        say(f"{url}: ready, but /v1/meta failed ({type(exc).__name__})")
        return 1
    modules = sorted((meta.get("modules") or {}).keys())
    jina = [m for m in modules if "jinaai" in m]
    say(f"{url}: ready, Weaviate {meta.get('version')}; Jina modules: {', '.join(jina) or 'none'}")
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    if stop_recorded(progress=say):
        return 0
    say(f"No running Weaviate recorded in {state_file()}; nothing to stop.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="weaviate-local", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="find or build the pinned weaviate-server")
    for name, helptext in (
        ("ensure", "reuse a running Weaviate or start one"),
        ("start", "start a new Weaviate in the foreground"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--http-port", type=int, default=8080)
        p.add_argument("--grpc-port", type=int, default=50051)
        if name == "ensure":
            p.add_argument("--detach", action="store_true", help="leave it running in the background")
        else:
            p.add_argument(
                "--data-dir",
                help="keep data here (default: a temporary folder, removed on stop; "
                f"the demo data lives in {demo_data_dir()})",
            )
    p = sub.add_parser("status", help="what answers, which version and modules")
    p.add_argument("--http-port", type=int, default=8080)
    sub.add_parser("stop", help="stop the Weaviate `ensure` started")
    args = parser.parse_args(argv)
    handler = {
        "build": cmd_build,
        "ensure": cmd_ensure,
        "start": cmd_start,
        "status": cmd_status,
        "stop": cmd_stop,
    }[args.command]
    try:
        return handler(args)
    except LauncherError as err:
        say(f"error: {err}")
        return 2
    except KeyboardInterrupt:
        say("Interrupted.")
        return 130


if __name__ == "__main__":
    sys.exit(main())
