"""In the browser, on an app configured like a team server (the operator's Weaviate and Jina keys set):

- a shared link fills the form and shows the free search; the paid Jina rerank waits for the click, then runs;
- the sidebar counts the session's Jina tokens against the server key's budget;
- the Connect page says, before the click, that a typed address does not get the server's keys.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page

from testkit.jina_stand_in import JinaStandIn
from tests.browser.conftest import (
    KEY_ENV,
    REPO,
    STARTUP_TIMEOUT_S,
    StreamlitApp,
    _kill_group,
    _wait_healthy,
    assert_no_errors,
    goto_page,
    main_text,
    open_app,
    rerun_and_wait,
    resize,
    screenshot,
    wait_idle,
)
from tests.browser.test_newcomer_path import open_settings, query_box
from tests.browser.test_search_answer import run_search, watch
from weaviate_local.server import WeaviateEndpoint, free_port

pytestmark = pytest.mark.browser

OPERATOR_JINA = "jina_OPERATOR_browser_trust_5e4d3c2b1a09"


@pytest.fixture(scope="module")
def team_app(
    demo_weaviate: WeaviateEndpoint, jina_server: JinaStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StreamlitApp]:
    root = tmp_path_factory.mktemp("streamlit-team")
    secrets = root / "secrets.toml"
    secrets.write_text("")
    env = {k: v for k, v in os.environ.items() if k not in KEY_ENV and k not in ("HOST", "PORT")}
    env.update(
        WEAVIATE_URL=demo_weaviate.url, WEAVIATE_GRPC_PORT=str(demo_weaviate.grpc_port),
        WEAVIATE_API_KEY=demo_weaviate.api_key or "", JINAAI_APIKEY=OPERATOR_JINA, JINA_BASE_URL=jina_server.url,
        PYTHONUNBUFFERED="1", NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost",
    )
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port), "--server.fileWatcherType", "none",
           "--browser.gatherUsageStats", "false", "--secrets.files", str(secrets)]
    log_path = root / "streamlit.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    app = StreamlitApp(url=f"http://127.0.0.1:{port}", log_path=log_path, proc=proc, env=env)
    try:
        _wait_healthy(app, STARTUP_TIMEOUT_S)
        yield app
    except RuntimeError as err:
        pytest.fail(str(err), pytrace=False)
    finally:
        _kill_group(proc)


@pytest.fixture
def operator_jina(jina_stand_in: JinaStandIn) -> Iterator[JinaStandIn]:
    old, jina_stand_in.api_key = jina_stand_in.api_key, OPERATOR_JINA
    try:
        yield jina_stand_in
    finally:
        jina_stand_in.api_key = old


def test_a_shared_link_waits_for_the_click_before_a_paid_rerank(
    page: Page, team_app: StreamlitApp, operator_jina: JinaStandIn
) -> None:
    link = {"collection": "DemoWiki", "mode": "keyword", "query": "volcano eruption", "k": "20",
            "reranker": "jina", "model": "jina-reranker-v3"}
    open_app(page, f"{team_app.url}/?{urlencode(link)}")
    wait_idle(page)
    assert_no_errors(page, "link opened")
    text = main_text(page)
    assert "Search results (not reranked)" in text and "waits for your click" in text
    assert "Expected Jina tokens: about" in text
    assert operator_jina.rerank_requests() == []
    assert page.locator(".js-plotly-plot").count() == 0
    resize(page, {"width": 1280, "height": 720})
    screenshot(page, "trust-link-waits-1280", full_page=False)
    resize(page, {"width": 1920, "height": 1080})
    screenshot(page, "trust-link-waits-1920", full_page=False)

    rerun_and_wait(page, page.get_by_role("button", name="Search & rerank", exact=True).click)
    page.wait_for_selector(".js-plotly-plot")
    assert_no_errors(page, "after the click")
    assert len(operator_jina.rerank_requests()) == 1
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    assert "Jina tokens this session:" in sidebar and "Budget for the server's Jina key" in sidebar
    assert sidebar.split("Jina tokens this session:")[1].split()[0] != "0"  # the call was counted
    screenshot(page, "trust-after-click-1920", full_page=False)
    assert "waits for your click" not in main_text(page)


def test_a_paid_click_counts_its_tokens_in_the_sidebar_without_a_page_run(
    page: Page, team_app: StreamlitApp, operator_jina: JinaStandIn
) -> None:
    """Issue 20.1: a click that spends Jina tokens reruns only the results; the sidebar's count still follows it
    (the results fragment draws it), so no page run can swallow a navigation click made meanwhile."""
    page.set_viewport_size({"width": 1280, "height": 720})
    frames = watch(page)
    link = {"collection": "DemoWiki", "mode": "keyword", "query": "volcano eruption", "k": "20",
            "reranker": "jina", "model": "jina-reranker-v3"}
    open_app(page, f"{team_app.url}/?{urlencode(link)}")
    wait_idle(page)
    run_search(page)  # the first results fold the inputs (a page run)
    count = page.locator('[data-testid="stSidebar"]').get_by_text(re.compile(r"^Jina tokens this session: "))

    def tokens() -> int:
        return int(count.inner_text().split(":")[1].split()[0].replace(",", ""))

    first = tokens()
    assert first > 0
    open_settings(page)
    box = query_box(page)
    rerun_and_wait(page, lambda: (box.fill("lava flows and ash"), box.press("Enter")))  # an input: a page run
    run_search(page, frames)  # asserts that only the results reran
    assert len(operator_jina.rerank_requests()) == 2
    second = tokens()
    assert second > first, (first, second)
    assert count.count() == 1  # drawn once: by the results, not by the page's footer as well
    assert_no_errors(page, "after the paid click")


def test_the_connect_page_says_a_typed_address_gets_none_of_the_servers_keys(
    page: Page, team_app: StreamlitApp
) -> None:
    page.set_viewport_size({"width": 1280, "height": 720})
    open_app(page, team_app.url)
    goto_page(page, "Connect")
    custom = page.get_by_role("radiogroup", name="Connection type", exact=True).get_by_role(
        "radio", name="Custom", exact=True)
    rerun_and_wait(page, custom.click)
    port = page.get_by_label("HTTP port")
    rerun_and_wait(page, lambda: (port.fill("18099"), port.press("Enter")))
    text = main_text(page)
    assert "never to an address typed here" in text, text
    assert_no_errors(page, "connect")
    screenshot(page, "trust-connect-typed-host-1280", full_page=False)
    page.set_viewport_size({"width": 1920, "height": 1080})
    screenshot(page, "trust-connect-typed-host-1920", full_page=False)
