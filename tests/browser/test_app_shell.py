"""A shared link opened as the very first request after a server start (``components/app_shell.py``): Streamlit
starts in its legacy ``pages/`` mode, and the page must still run inside app.py's navigation and sidebar, with
the link's inputs. Its own server, so that no other test's request comes first."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import Page, expect

from rerank_playground.rerankers.model_catalog import LOCAL_MODEL
from testkit.jina_stand_in import JinaStandIn
from tests.browser.conftest import (
    RUN_TIMEOUT_MS,
    PageErrors,
    StreamlitApp,
    assert_no_errors,
    open_app,
    start_streamlit,
    stop_streamlit,
)
from weaviate_local.server import WeaviateEndpoint

pytestmark = pytest.mark.browser

CONNECTED = re.compile(r"Connected: .*Weaviate.* \d+\.\d+\.\d+, \d+ collections?")
NAV_TITLES = ["Search & Rerank", "Compare models", "Judge", "Present", "Query sets", "Evaluate", "Runs",
              "Collections", "Connect"]


@pytest.fixture
def fresh_app(demo_weaviate: WeaviateEndpoint, jina_server: JinaStandIn, tmp_path: Path) -> Iterator[StreamlitApp]:
    app = start_streamlit(tmp_path / "streamlit", demo_weaviate, jina_server, tmp_path / "store.sqlite3")
    try:
        yield app
    finally:
        stop_streamlit(app)


def test_a_compare_link_as_the_first_request_gets_the_app_shell(page: Page, fresh_app: StreamlitApp) -> None:
    link = {"collection": "DemoJeopardy", "mode": "keyword", "query": "largest planet", "k": "20", "n": "4",
            "models": f"local:{LOCAL_MODEL}"}
    failed: list[tuple[int, str]] = []
    page.on("response", lambda r: failed.append((r.status, urlsplit(r.url).path)) if r.status >= 400 else None)
    open_app(page, f"{fresh_app.url}/compare?{urlencode(link)}")
    side = page.locator('[data-testid="stSidebar"]')
    expect(side.get_by_text(CONNECTED)).to_be_visible()
    nav = page.locator('[data-testid="stSidebarNav"] a')
    expect(nav).to_have_text(NAV_TITLES)  # app.py's titles, not the legacy mode's file names
    main = page.locator('[data-testid="stMain"]')
    expect(page.get_by_role("heading", name="Compare models", exact=True)).to_be_visible()
    # The free model runs by itself: wait for what the link must cause (the shell's own rerun and the window-size
    # report's can still be running on a loaded machine), not for a fixed few seconds.
    expect(main.get_by_text("Model comparison", exact=True)).to_be_visible(timeout=RUN_TIMEOUT_MS)
    address = urlsplit(page.url)
    assert address.path == "/compare"
    params = {name: values[-1] for name, values in parse_qs(address.query).items()}
    assert {name: params.get(name) for name in link} == link  # the link's inputs are the page's
    # Streamlit's front end first looks for its server under the page's own path (any deep link, any request,
    # not only the first): those two probes answer 404 before it uses the root. Nothing else may fail.
    assert {path for _, path in failed} <= {"/compare/_stcore/health", "/compare/_stcore/host-config"}, failed
    errors: PageErrors = page._rp_errors  # type: ignore[attr-defined]  # set by the ``page`` fixture
    probes = [m for m in errors.console if m.startswith("Failed to load resource") and "404" in m]
    assert len(probes) == len(failed)
    errors.console = [m for m in errors.console if m not in probes]
    assert_no_errors(page, "first deep link")
