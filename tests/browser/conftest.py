"""Browser fixtures: the real app (``streamlit run app.py``) on the real test Weaviate, driven by Debian chromium.

- ``demo_weaviate`` (session): ``weaviate_server`` with the demo collections loaded (``load_demo``).
- ``app_url`` (session): one headless Streamlit server for the whole browser session, started as a
  subprocess in its own process group with ``WEAVIATE_URL`` / ``WEAVIATE_GRPC_PORT`` /
  ``RERANK_PLAYGROUND_DEMO=1`` / ``JINA_BASE_URL=<stand-in>`` / ``RERANK_PLAYGROUND_DB=<a temp file>`` and *no*
  Jina key (the newcomer's zero-key path; a test pastes the key into the sidebar). :func:`start_streamlit`
  starts another one (e.g. to restart the app on the same store file). Waited on through
  ``/_stcore/health``; the process group is killed at the end, also when a test or the start itself fails.
- ``browser`` (session) / ``page`` (function): chromium through Playwright; each test gets its own
  context (= its own Streamlit session). On failure the page is saved to
  ``artifacts/screenshots/failed-<test>.png``.
- Helpers: :func:`open_app`, :func:`rerun_and_wait` (act, then wait until Streamlit ran the script and is
  idle again), :func:`wait_idle`, :func:`goto_page` (sidebar navigation), :func:`assert_no_errors`
  (no "Traceback", no exception box, no uncaught page error), :func:`screenshot`.

Nothing here sleeps to wait: readiness is the health endpoint, the app's ``data-test-script-state``
attribute and Playwright's ``wait_for_*``.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, Playwright, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from testkit.jina_stand_in import JinaStandIn
from testkit.weaviate_data import connect
from weaviate_local.server import WeaviateEndpoint, free_port

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # Only loopback resolves: the page can never reach the outside (fonts, telemetry, api.jina.ai).
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
VIEWPORT = {"width": 1440, "height": 1000}

STARTUP_TIMEOUT_S = 90.0  # streamlit import + first bind on a busy 2-core machine
RUN_TIMEOUT_MS = 90_000  # one script run (search + rerank, or 2-5 models on Compare)
# Jina key variables the app (or a stray shell) might read: removed so the app starts key-less.
KEY_ENV = ("JINAAI_APIKEY", "JINA_API_KEY", "JINAAI_API_KEY")

APP = '[data-testid="stApp"]'
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


# ----------------------------------------------------------------------------------------- servers


@pytest.fixture(scope="session")
def demo_weaviate(weaviate_server: WeaviateEndpoint) -> WeaviateEndpoint:
    """The session Weaviate with DemoWiki and DemoJeopardy loaded (idempotent: a second load skips)."""
    from rerank_playground.demo.loader import load_demo, wait_until_stable

    client = connect(weaviate_server)
    try:
        reports = load_demo(client)
        wait_until_stable(client, reports, written_at=time.monotonic())  # ready means stable
    finally:
        client.close()
    return weaviate_server


@dataclass
class StreamlitApp:
    url: str
    log_path: Path
    proc: subprocess.Popen[bytes]
    env: dict[str, str] = field(repr=False)

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the app's process group, then SIGKILL whatever is left. Only our own group, by its id."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    # Children that outlived the leader (same group id) go too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _wait_healthy(app: StreamlitApp, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(trust_env=False, timeout=2.0) as http:
        while True:
            if app.proc.poll() is not None:
                raise RuntimeError(
                    f"streamlit exited with status {app.proc.returncode} before it was healthy.\n"
                    f"--- {app.log_path} ---\n{app.log_tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if http.get(f"{app.url}/_stcore/health").status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"streamlit did not answer {app.url}/_stcore/health within {timeout_s:.0f}s.\n"
                    f"--- {app.log_path} ---\n{app.log_tail()}"
                )
            time.sleep(0.1)  # poll interval of the readiness probe, not a wait for readiness


def start_streamlit(
    root: Path, weaviate: WeaviateEndpoint, jina: JinaStandIn, store_file: Path
) -> StreamlitApp:
    """Start ``streamlit run app.py`` in ``root`` (its log, an empty secrets file) and wait until it is healthy.

    ``store_file`` is the judgments store (``RERANK_PLAYGROUND_DB``): always a temporary file, never the real
    per-user folder. The caller stops it with :func:`stop_streamlit`; a start that fails is stopped here.
    """
    if not (REPO / "app.py").exists():
        pytest.fail("app.py is missing: the browser suite drives the real app.", pytrace=False)
    root.mkdir(parents=True, exist_ok=True)
    # An empty secrets file replaces ~/.streamlit/secrets.toml and .streamlit/secrets.toml: the environment
    # below is the app's only configuration, so a developer's own key cannot leak into the zero-key path.
    secrets = root / "secrets.toml"
    secrets.write_text("")
    env = {k: v for k, v in os.environ.items() if k not in KEY_ENV and k not in ("HOST", "PORT")}
    env.update(
        WEAVIATE_URL=weaviate.url,
        WEAVIATE_GRPC_PORT=str(weaviate.grpc_port),
        RERANK_PLAYGROUND_DEMO="1",
        RERANK_PLAYGROUND_DB=str(store_file),
        JINA_BASE_URL=jina.url,
        PYTHONUNBUFFERED="1",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    env.pop("WEAVIATE_API_KEY", None)
    port = free_port()
    cmd = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
        "--browser.gatherUsageStats", "false",
        "--secrets.files", str(secrets),
        "--logger.level", "info",
    ]  # fmt: skip
    log_path = root / "streamlit.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    app = StreamlitApp(url=f"http://127.0.0.1:{port}", log_path=log_path, proc=proc, env=env)
    try:
        _wait_healthy(app, STARTUP_TIMEOUT_S)
    except RuntimeError as err:
        _kill_group(proc)
        pytest.fail(str(err), pytrace=False)
    except BaseException:
        _kill_group(proc)
        raise
    return app


def stop_streamlit(app: StreamlitApp) -> None:
    _kill_group(app.proc)


@pytest.fixture(scope="session")
def streamlit_app(
    demo_weaviate: WeaviateEndpoint, jina_server: JinaStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StreamlitApp]:
    root = tmp_path_factory.mktemp("streamlit")
    app = start_streamlit(root, demo_weaviate, jina_server, root / "store.sqlite3")
    try:
        yield app
    finally:
        stop_streamlit(app)


@pytest.fixture(scope="session")
def app_url(streamlit_app: StreamlitApp) -> str:
    return streamlit_app.url


# ----------------------------------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def playwright_session() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_session: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make chromium).", pytrace=False)
    b = playwright_session.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    try:
        yield b
    finally:
        b.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


@dataclass
class PageErrors:
    """Uncaught JavaScript errors and console errors seen by a page."""

    uncaught: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    context.set_default_timeout(RUN_TIMEOUT_MS)
    context.add_init_script(WATCH_RUNS)
    pg = context.new_page()
    count_finished_runs(pg)
    errors = PageErrors()
    pg.on("pageerror", lambda exc: errors.uncaught.append(str(exc)))
    pg.on("console", lambda msg: errors.console.append(msg.text) if msg.type == "error" else None)
    pg._rp_errors = errors  # type: ignore[attr-defined]
    try:
        yield pg
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            with contextlib.suppress(Exception):
                screenshot(pg, f"failed-{request.node.name}")
        context.close()


# ----------------------------------------------------------------------------------------- helpers


def wait_idle(page: Page, timeout_ms: float = RUN_TIMEOUT_MS) -> None:
    """Until the script is not running and the websocket is connected (no "Running..." widget)."""
    page.wait_for_selector(IDLE, state="attached", timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=timeout_ms)


# Installed in every page before any of its scripts run: counts each time the app enters a script run, so
# a run that starts and ends between two polls is still seen (no window where "idle" is the old state).
WATCH_RUNS = """(() => {
  window.__stRuns = 0;
  const seen = (v) => v === 'running' || v === 'rerunRequested';
  new MutationObserver((records) => {
    for (const r of records) {
      if (seen(r.oldValue) || seen(r.target.getAttribute('data-test-script-state'))) window.__stRuns++;
    }
  }).observe(document, {
    subtree: true, attributes: true, attributeOldValue: true,
    attributeFilter: ['data-test-script-state'],
  });
})();"""

_RAN_AND_IDLE = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return window.__stRuns > 0 && app !== null
    && app.getAttribute('data-test-script-state') === 'notRunning'
    && document.querySelector('[data-testid="stStatusWidget"]') === null;
}"""


_EARLY_FOR_RERUN = ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN


def count_finished_runs(page: Page) -> None:
    """Count the server's "script finished" messages on this page's websocket (``page._rp_finished``).

    The DOM watcher above can miss a run: React may draw ``running`` and ``notRunning`` in one commit, so the
    attribute never changes. The server's own message that a run finished cannot be missed.
    """
    page._rp_finished = 0  # type: ignore[attr-defined]

    def on_frame(payload: str | bytes) -> None:
        if isinstance(payload, bytes):
            with contextlib.suppress(Exception):  # not every frame need be a ForwardMsg
                message = ForwardMsg.FromString(payload)
                # A run stopped for a rerun it asked for (st.rerun: the inputs fold after the first results) is
                # not the end of what the action causes: its rerun follows. Count only runs that ran to the end.
                if message.WhichOneof("type") == "script_finished" and message.script_finished != _EARLY_FOR_RERUN:
                    page._rp_finished += 1  # type: ignore[attr-defined]

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))


def rerun_and_wait(page: Page, action: Callable[[], object], timeout_ms: float = RUN_TIMEOUT_MS) -> None:
    """Do ``action`` (a click, Enter in a field...), then wait until Streamlit ran the script and is idle."""
    mark = run_mark(page)
    action()
    wait_for_run(page, mark, timeout_ms)


def run_mark(page: Page) -> int | None:
    """Start counting runs from now (both signals); hand the result to :func:`wait_for_run` after the action."""
    page.evaluate("() => { window.__stRuns = 0; }")  # also a round trip: every earlier frame event is counted
    return getattr(page, "_rp_finished", None)


def wait_for_run(page: Page, finished_before: int | None, timeout_ms: float = RUN_TIMEOUT_MS) -> None:
    """Until a script run since :func:`run_mark` is over and the app is idle.

    "Ran" is either signal: the DOM watcher saw a run, or the server said a run finished (see
    :func:`count_finished_runs`); polled in short waits, so the websocket events are handled in between.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        if finished_before is not None and page._rp_finished > finished_before:  # type: ignore[attr-defined]
            wait_idle(page, max(deadline - time.monotonic(), 1.0) * 1000)
            return
        remaining_ms = (deadline - time.monotonic()) * 1000
        try:
            page.wait_for_function(_RAN_AND_IDLE, timeout=max(min(remaining_ms, 500), 1))
            return
        except PlaywrightTimeoutError:
            if remaining_ms <= 500:
                raise


_PARAM_IS = """([name, value]) => new URLSearchParams(window.location.search).get(name) === value"""


def commit_field(page: Page, box: Locator, param: str, value: str, timeout_ms: float = RUN_TIMEOUT_MS) -> None:
    """Type ``value`` into a text or number field and press Enter, then wait for what that must cause: the
    URL's ``param`` holds ``value`` (the app mirrors its inputs there) and the app is idle. Enter alone need
    not start a run (not when the field already held the value), so a wait for a run could wait forever."""
    box.fill(value)
    box.press("Enter")
    page.wait_for_function(_PARAM_IS, arg=[param, value], timeout=timeout_ms)
    wait_idle(page, timeout_ms)


# The page's viewport reporter (components/viewport.py) has not told the server the window's size yet: once it
# has, the app runs again, and its container is keyed "viewport-measured".
_SIZE_REPORTED = """() => document.querySelector('.st-key-viewport-unknown') === null"""


def open_app(page: Page, url: str) -> None:
    """Load the app and wait until it is settled: its first script run is over and, on a page that mounts the
    viewport reporter (Search, Present), so is the run the reporter's first report causes. A click before that
    run can be lost: a navigation click folded into the reporter's pending rerun, which names the old page."""
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_function(_RAN_AND_IDLE, timeout=RUN_TIMEOUT_MS)
    page.wait_for_function(_SIZE_REPORTED, timeout=RUN_TIMEOUT_MS)
    wait_idle(page)
    page.wait_for_selector('[data-testid="stSidebar"]')


def resize(page: Page, size: dict[str, int]) -> None:
    """Resize the window. On a page that reports its size (components/viewport.py: Search, Compare, Present) a new
    size must rerun the app (the charts are laid out for it): wait for that run, so it cannot swallow the next
    click (a rerun the app starts in the middle of a click's run replaces it)."""
    if page.viewport_size != size and page.locator(".st-key-viewport-measured").count():
        rerun_and_wait(page, lambda: page.set_viewport_size(size))
    else:
        page.set_viewport_size(size)


def goto_page(page: Page, title: str) -> None:
    """Open a page through the sidebar navigation (a client-side switch: no page load)."""
    link = page.locator('[data-testid="stSidebarNav"] a').filter(has_text=re.compile(rf"^\s*{re.escape(title)}\s*$"))
    rerun_and_wait(page, link.first.click)


def main_text(page: Page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def assert_no_errors(page: Page, where: str) -> None:
    """No Python traceback, no Streamlit exception box, no uncaught JavaScript error on this page."""
    text = page.locator("body").inner_text()
    assert "Traceback" not in text, f"{where}: the page shows a Python traceback:\n{text[:3000]}"
    boxes = page.locator('[data-testid="stException"]')
    assert boxes.count() == 0, f"{where}: exception box(es) shown:\n" + "\n---\n".join(
        boxes.nth(i).inner_text() for i in range(boxes.count())
    )
    errors: PageErrors = page._rp_errors  # type: ignore[attr-defined]  # set by the ``page`` fixture
    assert not errors.uncaught, f"{where}: uncaught JavaScript errors: {errors.uncaught}"
    assert not errors.console, f"{where}: errors in the browser console: {errors.console}"


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save ``artifacts/screenshots/<name>.png`` (git-ignored; CI keeps the folder).

    Streamlit scrolls inside ``stMain``, not the document, so Playwright's ``full_page`` alone would stop at
    the viewport: for a full page the viewport is grown to the content height for the shot, then restored.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    original = page.viewport_size
    if full_page and original is not None:
        # The app's window-size reporter (components/viewport.py) ignores this grown window while the flag is
        # set: otherwise it reruns the app for the tall size and again for the restored one, racing the next click.
        page.evaluate("() => { window.__rpHoldViewport = true; }")
        height = page.evaluate(
            """() => Math.max(
                 document.querySelector('[data-testid="stMain"]')?.scrollHeight ?? 0,
                 document.querySelector('[data-testid="stSidebarContent"]')?.scrollHeight ?? 0,
                 document.scrollingElement.scrollHeight)"""
        )
        page.set_viewport_size({"width": original["width"], "height": min(max(height, original["height"]), 15000)})
        with contextlib.suppress(Exception):  # plotly re-lays out on resize; wait for the frame to settle
            page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    try:
        page.screenshot(path=str(path), full_page=full_page, animations="disabled")
    finally:
        if full_page and original is not None:
            page.set_viewport_size(original)
            page.evaluate("() => { delete window.__rpHoldViewport; }")
    return path
