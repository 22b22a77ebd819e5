"""The one Streamlit-internals workaround (``components/app_shell.py``), checked against the installed Streamlit.

If a Streamlit upgrade changes what it relies on, these fail and say what to do: the first tells that Streamlit
no longer starts in its legacy ``pages/`` mode (the workaround can go), the last that a first deep link runs a
page without app.py's navigation and sidebar again (the workaround no longer works).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit.runtime.pages_manager import PagesManager

from components import app_shell
from rerank_playground.rerankers.model_catalog import LOCAL_MODEL
from testkit.jina_stand_in import TEST_JINA_KEY
from tests.app.conftest import AppEnv
from tests.app.helpers import APP, assert_healthy, widget_values


@pytest.fixture
def fresh_server_flag() -> Iterator[None]:
    """As after a server start: Streamlit has not decided yet (AppTest resets it the same way on every run)."""
    saved = PagesManager.uses_pages_directory
    PagesManager.uses_pages_directory = None
    try:
        yield
    finally:
        PagesManager.uses_pages_directory = saved


def test_streamlit_starts_in_legacy_pages_mode_beside_a_pages_folder(fresh_server_flag: None) -> None:
    PagesManager(APP)
    assert app_shell.in_legacy_pages_mode(), (
        "Streamlit no longer starts in its legacy pages/ mode when app.py has a pages/ folder beside it: "
        "components/app_shell.py may no longer be needed (check a first deep link after a server start)."
    )


def test_leaving_the_mode_is_what_st_navigation_does(app_env: AppEnv) -> None:
    """app.py's own st.navigation clears the flag: the workaround only does it one run earlier."""
    at = app_env.new_app()
    at.run()
    assert_healthy(at)
    assert not app_shell.in_legacy_pages_mode()


def test_a_first_deep_link_runs_inside_app_py(app_env: AppEnv) -> None:
    """A shared Compare link is the session's first request (AppTest starts each run like a fresh server):
    the page has app.py's sidebar and navigation, and the link's inputs, and the free model ran by itself."""
    at = app_env.new_app()
    at.query_params.update(collection="DemoJeopardy", mode="keyword", query="largest planet", k="20", n="4",
                           models=f"local:{LOCAL_MODEL}")
    at.switch_page("pages/compare.py").run()
    assert_healthy(at)
    assert [t.value for t in at.title] == ["Compare models"]
    sidebar = [str(e.value) for e in at.sidebar.success]
    assert any(text.startswith("Connected:") for text in sidebar), (
        f"app.py's sidebar is missing on a first deep link (sidebar successes: {sidebar}): Streamlit ran the page "
        "file alone; components/app_shell.py no longer gets it into app.py's navigation."
    )
    assert not app_shell.in_legacy_pages_mode()
    assert widget_values(at, "compare", ("collection", "mode", "query", "k", "n", "models")) == {
        "collection": "DemoJeopardy", "mode": "keyword", "query": "largest planet", "k": 20, "n": 4,
        "models": [f"local:{LOCAL_MODEL}"],
    }
    record = at.session_state["compare.last"]
    assert record.run is not None and list(record.run.results) == ["local baseline (WordLlama)"]


def test_a_first_deep_link_never_spends_the_operators_tokens(app_env: AppEnv) -> None:
    app_env.use_jina_key(TEST_JINA_KEY)
    asked_before = len(app_env.jina.rerank_requests())
    at = app_env.new_app()
    at.query_params.update(collection="DemoWiki", query="how did writing begin", reranker="jina",
                           model="jina-reranker-v3.5")
    at.switch_page("pages/search.py").run()
    assert_healthy(at)
    assert any(str(e.value).startswith("Connected:") for e in at.sidebar.success)
    record = at.session_state["search.last"]
    assert record.search is not None and record.run is None  # the free search ran; the rerank waits for a click
    assert len(app_env.jina.rerank_requests()) == asked_before
