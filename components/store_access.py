"""The evaluation store, one per app process, opened on first use.

The store holds judgments and query sets, never a key, so one process-wide instance (``st.cache_resource``)
serves every session. Its location comes from ``RERANK_PLAYGROUND_DB`` (a path or a database URL) or the
per-user default; the cache is keyed by that URL, so pointing the variable elsewhere opens another store.

A store that cannot be opened (read-only disk, bad URL, PostgreSQL down) is not an error of the page: the
evaluation parts show a calm note and the rest of the app works on. The failure is remembered for this
session for ``RETRY_AFTER_S`` seconds, so an unreachable database is not waited on at every rerun.
"""

from __future__ import annotations

import logging
import time

import streamlit as st

from components import feedback
from rerank_playground.errors import StoreUnavailable
from rerank_playground.store import Store, open_store
from rerank_playground.store.engine import default_store_url

log = logging.getLogger("rerank_playground.app")

RETRY_AFTER_S = 30.0
_FAILED = "_store_failed"  # session state: (url, message, monotonic time of the failure)


def _close(store: Store) -> None:
    try:
        store.close()
    except Exception:  # noqa: BLE001 - closing on release must never raise
        log.warning("Could not close the evaluation store cleanly.")


@st.cache_resource(show_spinner=False, on_release=_close)
def _open(url: str) -> Store:
    return open_store(url)


def get_store() -> Store | None:
    """The process's store, or None (with the reason kept for :func:`unavailable_note`) when it cannot open."""
    url = default_store_url()
    failed = st.session_state.get(_FAILED)
    if failed is not None and failed[0] == url and time.monotonic() - failed[2] < RETRY_AFTER_S:
        return None
    try:
        store = _open(url)
    except StoreUnavailable as err:
        st.session_state[_FAILED] = (url, str(err), time.monotonic())
        return None
    except Exception as exc:  # noqa: BLE001 - the rest of the app keeps working whatever the store does
        feedback.log_unexpected(exc, "opening the evaluation store")
        st.session_state[_FAILED] = (url, "The judgments store could not be opened.", time.monotonic())
        return None
    st.session_state.pop(_FAILED, None)
    return store


def unavailable_note(what: str = "Grades and relevance metrics") -> None:
    """A calm note where the evaluation parts would be: what is off, why, and that the rest still works."""
    failed = st.session_state.get(_FAILED)
    reason = failed[1] if failed else "The judgments store could not be opened."
    st.info(f"{what} are unavailable right now. {reason} Searching and reranking work as usual.", icon="ℹ️")
