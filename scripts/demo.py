"""`make demo`: a local Weaviate with the demo collections, and the app on http://127.0.0.1:8501.

1. Reuse a Weaviate that answers (WEAVIATE_URL, or 127.0.0.1:8080) or start the pinned build.
2. Load the demo collections (DemoWiki, DemoJeopardy). Safe to run again: nothing is duplicated.
3. Run the Streamlit app, already pointed at that Weaviate (WEAVIATE_URL, WEAVIATE_GRPC_PORT,
   RERANK_PLAYGROUND_DEMO=1).

Ctrl-C, SIGTERM or SIGHUP (the terminal was closed, also when run through `make demo`) stops the app, and
the Weaviate too if this script started it (never one it reused).

    python -m scripts.demo [--port 8501] [--http-port 8080] [--grpc-port 50051] [--no-app]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rerank_playground.demo.loader import load_demo, wait_until_stable
from rerank_playground.errors import PlaygroundError
from scripts.load_demo import connect, print_reports, tqdm_progress
from weaviate_local.server import ensure_weaviate, port_is_open

ROOT = Path(__file__).resolve().parents[1]

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def say(message: str) -> None:
    # After SIGHUP the terminal is gone and writing to it fails: the cleanup must go on regardless.
    with contextlib.suppress(OSError):
        print(f"[demo] {message}", flush=True)


class Stop(Exception):
    """Raised from the SIGTERM / SIGHUP handler so that cleanup runs the same way as for Ctrl-C."""


def _on_signal(signum: int, frame: object) -> None:
    raise Stop(signal.Signals(signum).name)


def streamlit_command(app: Path, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
    ]


def wait_for_streamlit(proc: subprocess.Popen[bytes], url: str, timeout: float = 90.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise PlaygroundError(f"Streamlit exited with code {proc.returncode} before it was ready.")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/_stcore/health", timeout=1.0).status_code == 200:
                return
        time.sleep(0.25)  # polling: the server answers as soon as it is up
    raise PlaygroundError(f"Streamlit did not answer {url}/_stcore/health within {timeout:.0f}s.")


def stop_process_group(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def load_judged_sets() -> None:
    """The demo's judged query sets into the judgments store; without a store the app still runs."""
    from rerank_playground.errors import StoreUnavailable
    from rerank_playground.evaluation.demo_sets import load_demo_query_sets
    from rerank_playground.store import open_store

    try:
        with open_store() as store:
            for report in load_demo_query_sets(store):
                state = "loaded" if report.loaded else "already there"
                say(f"  {report.name}: {report.queries} queries, {report.judgments} judgements ({state}).")
            say(f"  Judgements are kept in the {store.location} (RERANK_PLAYGROUND_DB overrides).")
            load_story(store)
    except StoreUnavailable as err:
        say(f"  warning: the judged query sets were not loaded: {err}")


def load_story(store: Any) -> None:
    """The demo story for the Present page (zero key: the local baseline; with a key: a Jina model beside it)."""
    from rerank_playground.presentation.stories import DEMO_STORY, demo_story

    with_key = bool(os.environ.get("JINAAI_APIKEY"))
    if store.save_story_if_new(demo_story(jina_key_present=with_key)):
        kind = "a Jina model with the local baseline beside it" if with_key else "the local baseline (no key)"
        say(f"  Story “{DEMO_STORY}” loaded for the Present page: {kind}.")
    else:
        say(f"  Story “{DEMO_STORY}” already there (kept as it is).")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=int(os.environ.get("RERANK_PLAYGROUND_PORT", "8501")))
    parser.add_argument("--http-port", type=int, default=8080, help="Weaviate HTTP port (default 8080)")
    parser.add_argument("--grpc-port", type=int, default=50051, help="Weaviate gRPC port (default 50051)")
    parser.add_argument("--app", type=Path, default=ROOT / "app.py", help=argparse.SUPPRESS)
    parser.add_argument("--no-app", action="store_true", help="prepare Weaviate and the data, then exit")
    args = parser.parse_args(argv)

    import logging

    # Explicit SIGINT too: Python ignores Ctrl-C when it was started with SIGINT ignored (e.g. from `&`).
    # SIGHUP: closing the terminal sends it to make and to this script; its default would kill this script
    # without stopping the app and Weaviate, which run in sessions of their own.
    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, _on_signal)
    weaviate_proc = None
    app_proc: subprocess.Popen[bytes] | None = None
    code = 0
    try:
        # 1. Weaviate
        say("Step 1/3: a local Weaviate...")
        endpoint, weaviate_proc = ensure_weaviate(
            http_port=args.http_port, grpc_port=args.grpc_port, progress=lambda m: say(f"  {m}")
        )
        for stop_signal in STOP_SIGNALS:  # the launcher may have chained its own handler
            signal.signal(stop_signal, _on_signal)
        owner = "started by this script" if weaviate_proc else "already running; it will be left running"
        say(f"  Weaviate at {endpoint.url} (gRPC {endpoint.grpc_port}), {owner}.")

        # 2. Demo data
        say("Step 2/3: the demo collections...")
        started = time.perf_counter()
        progress, close_bars = tqdm_progress()
        client = connect(endpoint.url, endpoint.grpc_port)
        try:
            from rerank_playground.embedders import get_local_embedder

            get_local_embedder()  # loading it configures logging; keep httpx request lines out of the output
            logging.getLogger("httpx").setLevel(logging.WARNING)
            reports = load_demo(client, jina_key_present=bool(os.environ.get("JINAAI_APIKEY")), progress=progress)
            written_at = time.monotonic()
            close_bars()
            # Ready means stable: identical searches must answer identically (see wait_until_stable).
            waited = wait_until_stable(client, reports, written_at=written_at, progress=lambda m: say(f"  {m}"))
            say(f"  Searches are stable in every mode (checked for {waited:.0f}s).")
        finally:
            close_bars()
            client.close()
        print_reports(reports, time.perf_counter() - started)
        load_judged_sets()

        if args.no_app:
            say("Ready (--no-app: not starting the app).")
            return 0

        # 3. The app
        say("Step 3/3: the app...")
        if not args.app.exists():
            raise PlaygroundError(f"{args.app} does not exist yet; cannot start the app.")
        if port_is_open("127.0.0.1", args.port):
            raise PlaygroundError(
                f"Port {args.port} is already in use (another Streamlit?).",
                hint="Stop it, or run with --port N (or RERANK_PLAYGROUND_PORT=N).",
            )
        env = dict(os.environ)
        # Each session's threads would otherwise get glibc malloc arenas of their own, which keep their pages
        # after the session ends: with 15 sessions the server grew ~3x more (benchmarks/sessions_memory.py).
        env.setdefault("MALLOC_ARENA_MAX", "2")
        env.update(
            WEAVIATE_URL=endpoint.url,
            WEAVIATE_GRPC_PORT=str(endpoint.grpc_port),
            RERANK_PLAYGROUND_DEMO="1",
        )
        app_proc = subprocess.Popen(
            streamlit_command(args.app, args.port), cwd=args.app.parent, env=env, start_new_session=True
        )
        url = f"http://127.0.0.1:{args.port}"
        wait_for_streamlit(app_proc, url)
        say(f"The Rerank Playground is running: {url}   (Ctrl-C stops it)")
        code = app_proc.wait()
        if code != 0:
            say(f"Streamlit exited with code {code}.")
    except (KeyboardInterrupt, Stop):
        say("Stopping...")
    except PlaygroundError as err:
        say(f"error: {err}")
        code = 1
    finally:
        for stop_signal in STOP_SIGNALS:  # a second signal must not interrupt the cleanup
            signal.signal(stop_signal, signal.SIG_IGN)
        if app_proc is not None:
            stop_process_group(app_proc)
            say("App stopped.")
        if weaviate_proc is not None:
            weaviate_proc.stop()
            say("Weaviate stopped (its data is kept for next time).")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
