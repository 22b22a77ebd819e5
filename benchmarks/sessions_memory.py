"""The app server's memory with many browser sessions, and after they end (issue 24.4).

    .venv/bin/python -m benchmarks.sessions_memory [--sessions 15] [--after 120] [--arena-max 2] [--json PATH]

One run starts everything it measures: a Weaviate (the launcher) with the demo collections (``load_demo``, then
``wait_until_stable``), the app (``streamlit run app.py``, no Jina key: the local baseline reranker) and Debian
chromium through Playwright. RSS is the app server process's resident set (``VmRSS`` in ``/proc/PID/status``;
the ``streamlit run`` process is the server: no child process serves sessions). The app runs with
``MALLOC_ARENA_MAX=2`` as ``make demo`` starts it (``--arena-max 0``: glibc's default of 8 arenas per core).

Figures (scope: one app process on this machine, demo data, ``--sessions`` browser contexts, each its own
Streamlit session):

- **before**: the server healthy, no session opened yet.
- **warm**: after one session opened the app, ran one search and closed, and ``--after`` seconds passed (modules,
  the local embedder and Streamlit's own caches loaded once per process: the floor sessions return to).
- **with N sessions**: N contexts open at once, each connected to the test Weaviate and holding one
  Search & rerank run (hybrid search on DemoWiki, the local baseline reranker, its charts drawn); all N clicks
  are made before any is waited for, so the runs overlap.
- **after**: the N contexts closed (their websockets gone), then ``--after`` seconds later (Streamlit keeps a
  disconnected session for ``server.disconnectedSessionTTL`` = 120 s so a reconnecting tab finds it; the app
  releases what a session holds when it disconnects).

Measured here (2 shared cores, Streamlit 1.67, MB: before / warm / with 15 / 120 s after): before the release
on session end 70 / 378 / 516 / 516 (glibc default arenas); with it 70 / 366 / 549 / 540 (default arenas) and
70 / 358 / 424 / 418 (``MALLOC_ARENA_MAX=2``). What stays after 120 s: Streamlit keeps each disconnected
session (its state, now without the Playground's caches, figures and clients) in its session storage, which it
reaps only lazily, and the heap pages Python does not hand back.

Also printed: the RSS every 10 s after the sessions closed (the trace), so a figure can be read against when
the memory went.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import BrowserContext, Page, sync_playwright

from rerank_playground.connection import ConnectionSpec
from rerank_playground.demo.loader import load_demo, wait_until_stable
from rerank_playground.playground import Playground
from weaviate_local.server import free_port, start_weaviate

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]  # fmt: skip
RUN_TIMEOUT_MS = 180_000  # 15 overlapping runs on a busy 2-core machine
KEY_ENV = ("JINAAI_APIKEY", "JINA_API_KEY", "JINAAI_API_KEY", "HOST", "PORT", "WEAVIATE_API_KEY")
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
CHART = '[data-testid="stMain"] .js-plotly-plot'
# Distinct queries, so each session's run is its own (no cache shared between sessions could answer it).
QUERIES = [
    "history of the roman empire", "how do vaccines work", "french revolution causes", "black holes and gravity",
    "origins of jazz music", "photosynthesis in plants", "ancient egyptian pyramids", "the cold war",
    "machine learning basics", "volcano eruptions", "olympic games history", "printing press invention",
    "climate of antarctica", "renaissance painters", "the moon landing", "silk road trade", "human genome",
]  # fmt: skip


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


@contextlib.contextmanager
def app_server(env: dict[str, str], log: Path) -> Iterator[tuple[str, int]]:
    """``streamlit run app.py`` in its own process group until the block ends; yields its URL and pid."""
    port = free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
        "--server.address", "127.0.0.1", "--server.port", str(port), "--server.fileWatcherType", "none",
        "--server.runOnSave", "false", "--browser.gatherUsageStats", "false", "--logger.level", "info",
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        with httpx.Client(trust_env=False, timeout=2.0) as http:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"the app exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(f"{url}/_stcore/health").status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the app did not answer {url} in 120 s:\n{log.read_text()[-3000:]}")
                time.sleep(0.1)  # readiness probe interval
        yield url, proc.pid
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def open_session(context: BrowserContext, url: str, query: str) -> Page:
    """A page on the Search page with ``query`` filled in (a shared link: nothing runs before the click)."""
    page = context.new_page()
    page.goto(f"{url}/?collection=DemoWiki&mode=hybrid&reranker=local&query={query.replace(' ', '+')}",
              wait_until="domcontentloaded")
    page.wait_for_selector(IDLE, state="attached", timeout=RUN_TIMEOUT_MS)
    page.get_by_role("button", name="Search & rerank").first.wait_for(timeout=RUN_TIMEOUT_MS)
    return page


def click_run(page: Page) -> None:
    page.get_by_role("button", name="Search & rerank").first.click()


def wait_for_chart(page: Page) -> None:
    page.wait_for_selector(CHART, timeout=RUN_TIMEOUT_MS)
    page.wait_for_selector(IDLE, state="attached", timeout=RUN_TIMEOUT_MS)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=RUN_TIMEOUT_MS)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"sessions": args.sessions, "after_s": args.after}
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sessions-memory-")))
        print("starting Weaviate and loading the demo collections...", flush=True)
        server = stack.enter_context(start_weaviate(data_dir=tmp / "weaviate", progress=lambda m: None))
        endpoint = server.endpoint
        spec = ConnectionSpec(http_host=endpoint.host, http_port=endpoint.http_port, grpc_port=endpoint.grpc_port,
                              weaviate_api_key=endpoint.api_key)
        pg = Playground(spec)
        stack.callback(pg.shutdown)
        pg.connect()
        wait_until_stable(pg.client, load_demo(pg.client), written_at=time.monotonic())
        env = {k: v for k, v in os.environ.items() if k not in KEY_ENV}
        env.update(WEAVIATE_URL=endpoint.url, WEAVIATE_GRPC_PORT=str(endpoint.grpc_port), RERANK_PLAYGROUND_DEMO="1",
                   RERANK_PLAYGROUND_DB=str(tmp / "store.sqlite"), PYTHONUNBUFFERED="1",
                   NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")  # fmt: skip
        if endpoint.api_key:
            env["WEAVIATE_API_KEY"] = endpoint.api_key
        if args.arena_max:
            env["MALLOC_ARENA_MAX"] = str(args.arena_max)
        else:
            env.pop("MALLOC_ARENA_MAX", None)
        log = tmp / "app.log"
        url, pid = stack.enter_context(app_server(env, log))
        result["before_mb"] = rss_mb(pid)
        print(f"before: {result['before_mb']:.0f} MB", flush=True)

        pw = stack.enter_context(sync_playwright())
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        stack.callback(browser.close)

        warm = browser.new_context(viewport={"width": 1440, "height": 1000})
        page = open_session(warm, url, QUERIES[-1])
        click_run(page)
        wait_for_chart(page)
        warm.close()
        time.sleep(args.after)  # the measured interval itself, not a wait for an event
        result["warm_mb"] = rss_mb(pid)
        print(f"warm (one session run and closed, {args.after} s later): {result['warm_mb']:.0f} MB", flush=True)

        contexts = [browser.new_context(viewport={"width": 1440, "height": 1000}) for _ in range(args.sessions)]
        pages = [open_session(c, url, QUERIES[i % len(QUERIES)]) for i, c in enumerate(contexts)]
        started = time.monotonic()
        for page in pages:  # every click before any wait: the N runs overlap
            click_run(page)
        for page in pages:
            wait_for_chart(page)
        result["runs_s"] = time.monotonic() - started
        result["with_sessions_mb"] = rss_mb(pid)
        print(f"with {args.sessions} sessions (all runs done in {result['runs_s']:.1f} s): "
              f"{result['with_sessions_mb']:.0f} MB", flush=True)

        for context in contexts:
            context.close()
        closed_at = time.monotonic()
        trace: list[tuple[float, float]] = []
        while (elapsed := time.monotonic() - closed_at) < args.after:
            trace.append((round(elapsed, 1), round(rss_mb(pid), 1)))
            time.sleep(min(10.0, args.after - elapsed))  # sampling interval of the trace
        result["after_mb"] = rss_mb(pid)
        result["trace"] = trace
        print(f"{args.after} s after they closed: {result['after_mb']:.0f} MB", flush=True)
        print("trace (s since close, MB): " + ", ".join(f"{t:.0f}:{m:.0f}" for t, m in trace), flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=15)
    parser.add_argument("--after", type=float, default=120.0, help="seconds to wait after the sessions close")
    parser.add_argument("--arena-max", type=int, default=2,
                        help="MALLOC_ARENA_MAX for the app, as make demo sets it (0: glibc's default)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    result = measure(args)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
