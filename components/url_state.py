"""The page address: read the search inputs from a link once per session, mirror the current view into it.

Keys never travel in URLs, in either direction. Session state:

- ``_link_notes``     what a link asked for that could not be used (shown once by the Search or Compare page)
- ``_link_check``     a link was read: its collection and properties are checked once the server is known
- ``_autorun``        the URL carried a query when the session started: the first page shows its results
- ``_typed_secrets``  values typed in this session's password fields: never mirrored into the URL
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from components import state
from components.config import secrets_of
from rerank_playground.keys import looks_like_key
from rerank_playground.search_inputs import from_query_params

PASSWORD_WIDGETS = ("sidebar.jina_key", "connect.api_key")


def remember_typed_secret(value: str | None) -> None:
    """A value typed in a password field: it never goes into the URL, from any field, even after "Clear key"."""
    value = (value or "").strip()
    if value:
        st.session_state.setdefault("_typed_secrets", set()).add(value)


def _url_secrets() -> list[str | None]:
    pg = st.session_state.get("_pg")
    typed = [st.session_state.get(k) for k in PASSWORD_WIDGETS]
    return [*(secrets_of(pg) if pg is not None else ()), *st.session_state.get("_typed_secrets", ()), *typed]


def read_query_params() -> None:
    """Prefill the inputs from the URL (once, at the session's first run). Keys never travel in URLs: a
    key-shaped value in a link is not used (and the URL is rewritten without it).

    Nothing else in a link is ignored silently: a value that cannot be used leaves a note (``link_notes``) that
    the Search and Compare pages show, saying what was used instead. ``properties=*`` means "all text properties".
    """
    secrets = _url_secrets()
    params: dict[str, str] = {}
    for name in st.query_params:
        value = st.query_params.get(name) or ""
        if not looks_like_key(value, secrets):
            params[name] = value
    values, notes = from_query_params(params, state.inputs())
    state.set_inputs(values)
    st.session_state["_link_notes"] = notes
    st.session_state["_link_check"] = True  # collection and properties are checked once the server is known
    st.session_state["_autorun"] = bool(params.get("query"))


def link_notes() -> list[str]:
    """What a link asked for that could not be used (once; see ``read_query_params``)."""
    return list(st.session_state.pop("_link_notes", None) or [])


def consume_link_check() -> bool:
    """True once after a link was read: the page checks its collection and properties against the server."""
    return bool(st.session_state.pop("_link_check", False))


def consume_autorun() -> bool:
    """True once, on the first page rendered in a session opened from a URL that carried a query."""
    return bool(st.session_state.pop("_autorun", False))


def write_query_params(params: Mapping[str, object]) -> None:
    """Mirror the current view in the URL (only when it changed). Never pass a key here.

    A key pasted into the wrong box (it happens in live demos) must not reach the address bar, the
    history or a shared link: any value that looks like a Jina key, or contains a key of this session or one
    typed in a password field, is left out, and the page says so.
    """
    secrets = _url_secrets()
    clean: dict[str, str] = {}
    held_back: list[str] = []
    for name, value in params.items():
        if value is None or str(value) == "":
            continue
        if looks_like_key(str(value), secrets):
            held_back.append(name)
        else:
            clean[name] = str(value)
    if held_back:
        st.warning(
            f"The {', '.join(held_back)} field looks like an API key, so it is kept out of the page address "
            "(a copied link would carry it). If it is a key, paste it in the key field in the sidebar instead."
        )
    if {k: st.query_params.get(k) for k in st.query_params} != clean:
        st.query_params.from_dict(clean)
