"""One Playground per browser session: built on the session's first run, auto-connected once, closed at its end.

Session state (non-widget keys, so they survive page switches):

- ``_pg``           the session's :class:`Playground` (holds the keys; never shared between sessions)
- ``_pg_token``     the random id its cache entry is keyed by
- ``_boot``         set once the first run of the session has auto-connected
- ``_connect_note`` why the auto-connect failed (shown on the Connect page), or ``None``
- ``_jina_source``  ``"server"`` (JINAAI_APIKEY from env/secrets), ``"user"`` (pasted), ``"cleared"`` or ``None``

The Playground is built by a session-scoped ``st.cache_resource`` keyed by a random token kept in this
session's state (so it is never shared, even where session ids are not unique, as in AppTest); the cache's
``on_release`` closes the Weaviate client when the browser session ends.
"""

from __future__ import annotations

import logging
import uuid

import streamlit as st

from components.config import deployment, operator_jina_key
from components.feedback import log_unexpected
from components.url_state import read_query_params
from rerank_playground.deployment import SpendGuard
from rerank_playground.errors import PlaygroundError
from rerank_playground.keys import ApiKey
from rerank_playground.playground import Playground

log = logging.getLogger("rerank_playground.app")


def _release(playground: Playground) -> None:
    try:
        playground.shutdown()
    except Exception:  # noqa: BLE001 - closing on session end must never raise
        log.warning("Could not close a session's Weaviate client cleanly.")


@st.cache_resource(scope="session", on_release=_release, show_spinner=False)
def _session_playground(token: str) -> Playground:
    """``token`` is a random id kept in this session's state: one Playground per token, never shared."""
    settings = deployment()
    return Playground(settings.spec, jina_base_url=settings.jina_base_url, policy=settings.policy,
                      spend=SpendGuard(budgets=settings.budgets))


def get_playground() -> Playground:
    """This session's Playground; on the session's first run, set the server key and try to connect once."""
    pg: Playground | None = st.session_state.get("_pg")
    if pg is None:
        token = st.session_state.setdefault("_pg_token", uuid.uuid4().hex)
        pg = _session_playground(token)
        st.session_state["_pg"] = pg
    if not st.session_state.get("_boot"):
        st.session_state["_boot"] = True
        _bootstrap(pg)
    return pg


def _bootstrap(pg: Playground) -> None:
    key = operator_jina_key()
    if key and not pg.has_jina_key:
        pg.set_jina_key(key)  # not connected yet: only the spec changes (the key stays bound to its endpoints)
        st.session_state["_jina_source"] = "server"
    read_query_params()
    st.session_state["_connect_note"] = None
    if pg.connected:
        return
    try:
        with st.spinner("Connecting to Weaviate…"):
            pg.connect()
    except PlaygroundError as err:
        st.session_state["_connect_note"] = str(err)
    except Exception as exc:  # noqa: BLE001 - a failed auto-connect must not break the first page
        log_unexpected(exc, "auto-connect")
        st.session_state["_connect_note"] = "Could not connect to Weaviate at startup."


def connected_playground() -> Playground | None:
    """This session's Playground when it is connected; otherwise a pointer to the Connect page and None."""
    pg = get_playground()
    if pg.connected:
        return pg
    st.info("Not connected — open the Connect page to choose a Weaviate.")
    st.page_link("pages/connect.py", label="Open the Connect page", icon=":material/power:")
    return None


def jina_key_source() -> str | None:
    source: str | None = st.session_state.get("_jina_source")
    return source


def set_jina_key(pg: Playground, key: ApiKey | str | None, source: str | None) -> None:
    pg.set_jina_key(key)
    st.session_state["_jina_source"] = source
