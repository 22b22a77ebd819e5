"""What a browser session holds is released when the session ends (issue 24.4), and a tab that comes back after
that works again with its connection.

Streamlit releases a session's ``scope="session"`` resources when its websocket disconnects; the public
``st.cache_resource.clear()`` releases them the same way (every entry's ``on_release``), so the test ends the
session with it, against the real test Weaviate.
"""

from __future__ import annotations

import pytest
import streamlit as st

from components.lifecycle import SessionHeld
from rerank_playground.connection import ConnectionSpec
from rerank_playground.playground import Playground
from tests.app.conftest import AppEnv
from tests.app.helpers import assert_healthy

pytestmark = pytest.mark.weaviate


def test_session_end_closes_its_client_and_drops_what_it_computed(app_env: AppEnv) -> None:
    at = app_env.new_app().run()
    at.button(key="search.run").click().run()
    assert_healthy(at)
    pg: Playground = at.session_state["_pg"]
    client = pg.client
    record = at.session_state["search.last"]
    assert pg.connected and client.is_connected()
    assert record.memo and len(pg.cache) and pg._searches  # figures, reranked lists and searches are held

    st.cache_resource.clear()  # what a disconnect does to the session's entries: on_release

    assert pg.released and not pg.connected
    assert not client.is_connected()
    assert not record.memo  # the run's figures, tables and files
    assert not len(pg.cache) and not pg._searches and not pg._infos

    at.run()  # the tab comes back: a new Playground with the same connection, connected again
    assert_healthy(at)
    again: Playground = at.session_state["_pg"]
    assert again is not pg and again.connected
    assert again.spec == pg.spec and again.spend is pg.spend
    at.button(key="search.run").click().run()
    assert_healthy(at)
    assert at.session_state["search.last"].run is not None


def test_one_failing_cleanup_does_not_keep_the_others(app_env: AppEnv) -> None:
    endpoint = app_env.weaviate
    pg = Playground(ConnectionSpec(http_host=endpoint.host, http_port=endpoint.http_port,
                                   grpc_port=endpoint.grpc_port, weaviate_api_key=endpoint.api_key))
    pg.connect()
    client = pg.client
    held = SessionHeld(pg)
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("cannot clean up")

    held.at_end["broken"] = broken
    held.at_end["figures"] = lambda: ran.append("figures")
    held.release()
    assert ran == ["figures"]
    assert not client.is_connected() and pg.released and not held.at_end

