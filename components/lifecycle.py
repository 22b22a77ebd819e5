"""One Playground per browser session: built on the session's first run, auto-connected once, closed at its end.

Session state (non-widget keys, so they survive page switches):

- ``_pg``           the session's :class:`Playground` (holds the keys; never shared between sessions)
- ``_pg_token``     the random id its cache entry is keyed by
- ``_boot``         set once the first run of the session has auto-connected
- ``_connect_note`` why the auto-connect failed (shown on the Connect page), or ``None``
- ``_jina_source``  ``"server"`` (JINAAI_APIKEY from env/secrets), ``"user"`` (pasted), ``"cleared"`` or ``None``

What a session holds that costs memory lives in a :class:`SessionHeld`, built by a session-scoped
``st.cache_resource`` keyed by a random token kept in this session's state (so it is never shared, even where
session ids are not unique, as in AppTest). Streamlit releases a session's entries when its browser session
disconnects (the websocket closes); ``on_release`` then closes the Weaviate and HTTP clients, drops the
Playground's caches and what the pages registered with :func:`release_at_end` (last runs' figures and tables,
the presenter's prepared views, prepared files), and hands the freed memory back to the system. Streamlit keeps
a disconnected session's state for ``server.disconnectedSessionTTL`` seconds so a tab that reconnects finds it;
such a tab gets a new Playground with the old one's connection, keys and spend (:meth:`Playground.reopened`).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import streamlit as st

from components.config import deployment, operator_jina_key
from components.feedback import log_unexpected
from components.url_state import read_query_params
from rerank_playground.deployment import SpendGuard
from rerank_playground.errors import PlaygroundError
from rerank_playground.keys import ApiKey
from rerank_playground.playground import Playground

log = logging.getLogger("rerank_playground.app")
RETURN_MEMORY_AFTER_S = 2.0  # one collection for a burst of sessions ending together (e.g. a class leaving)


@dataclass(eq=False)
class SessionHeld:
    """One browser session's Playground, and the cleanups of what its pages computed (by name: a newer value
    registered under the same name replaces the older one's cleanup)."""

    playground: Playground
    at_end: dict[str, Callable[[], None]] = field(default_factory=dict)

    def release(self) -> None:
        """The session ended: run every cleanup (each on its own: one failing must not keep the rest), then close
        the Playground."""
        cleanups, self.at_end = self.at_end, {}
        for name, cleanup in cleanups.items():
            try:
                cleanup()
            except Exception:  # noqa: BLE001 - releasing a session must never raise
                log.warning("Could not release a session's %s cleanly.", name)
        try:
            self.playground.shutdown()
        except Exception:  # noqa: BLE001
            log.warning("Could not close a session's Weaviate client cleanly.")


def _release(held: SessionHeld) -> None:
    held.release()
    _return_memory_soon()


_memory_lock = threading.Lock()
_memory_timer: threading.Timer | None = None


def _return_memory_soon() -> None:
    """Collect once shortly after sessions end (not once per session: a collection of a large heap stalls
    the server's event loop, which releases run on)."""
    global _memory_timer
    with _memory_lock:
        if _memory_timer is None:
            _memory_timer = threading.Timer(RETURN_MEMORY_AFTER_S, _return_memory)
            _memory_timer.daemon = True
            _memory_timer.start()


def _return_memory() -> None:
    """Free the sessions' object cycles now (a client's threads and locks, figures) rather than at some later
    full collection, then ask glibc to give the freed heap back to the system: without ``malloc_trim`` the
    process keeps the pages and its RSS never falls after sessions end."""
    global _memory_timer
    with _memory_lock:
        _memory_timer = None
    gc.collect()
    libc_name = ctypes.util.find_library("c")
    if libc_name:
        # Not glibc (musl, macOS): no malloc_trim, and the collection is all we can do.
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(libc_name).malloc_trim(0)


@st.cache_resource(scope="session", on_release=_release, show_spinner=False)
def _session_held(token: str, _previous: Playground | None) -> SessionHeld:
    """``token`` is a random id kept in this session's state: one entry per token, never shared.
    ``_previous``: the session's Playground before its entry was released (it reconnected), whose
    connection, keys and spend carry over."""
    if _previous is not None and _previous.released:
        return SessionHeld(_previous.reopened())
    settings = deployment()
    return SessionHeld(Playground(settings.spec, jina_base_url=settings.jina_base_url, policy=settings.policy,
                                  spend=SpendGuard(budgets=settings.budgets)))


def _held() -> SessionHeld:
    token = st.session_state.setdefault("_pg_token", uuid.uuid4().hex)
    previous: Playground | None = st.session_state.get("_pg")
    held = _session_held(token, previous)
    if held.playground is not previous:
        st.session_state["_pg"] = held.playground
        if previous is not None and previous.was_connected:
            _connect(held.playground)  # the session came back after its resources were released
    return held


def release_at_end(name: str, cleanup: Callable[[], None]) -> None:
    """Run ``cleanup`` when this browser session ends (it must not use ``st.*``: it runs outside any script
    run). Use it for what a page keeps in session state that is large and can be rebuilt or dropped."""
    _held().at_end[name] = cleanup


def get_playground() -> Playground:
    """This session's Playground; on the session's first run, set the server key and try to connect once."""
    pg = _held().playground
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
    _connect(pg)


def _connect(pg: Playground) -> None:
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
