"""Demo collections: their status on this server, and loading them when the user asks."""

from __future__ import annotations

import threading

import streamlit as st

from components import feedback
from rerank_playground.demo import loader
from rerank_playground.playground import Playground

STATUS_TEXT = {
    "ready": "ready",
    "missing": "not loaded",
    "incomplete": "incomplete (loading again completes it)",
    "foreign": "a collection with this name exists but was not created by the demo (left untouched)",
}


def demo_status(pg: Playground, *, refresh: bool = False) -> dict[str, str] | None:
    cached = st.session_state.get("_demo_status")
    if not refresh and cached is not None and cached[0] is pg.server:
        return dict(cached[1])
    status, error = feedback.call_safely(lambda: loader.demo_status(pg.client), "demo status")
    if status is None:
        st.warning(error or "Could not read the demo collections' status.")
        return None
    st.session_state["_demo_status"] = (pg.server, dict(status))
    return status


def _load(pg: Playground) -> None:
    main_thread = threading.current_thread()
    with st.status("Loading the demo collections…", expanded=True) as box:
        bar = st.progress(0.0, text="Starting…")

        def progress(name: str, done: int, total: int) -> None:
            if threading.current_thread() is main_thread and total:
                bar.progress(min(done / total, 1.0), text=f"{name}: {done:,} of {total:,} objects")

        reports, error = feedback.call_safely(
            lambda: loader.load_demo(pg.client, jina_key_present=pg.has_jina_key, progress=progress), "demo load"
        )
        if reports is None:
            box.update(label="Loading the demo collections failed.", state="error")
            feedback.flash(error or "Loading the demo collections failed.", "error", "demo")
            return
        box.update(label="Demo collections ready.", state="complete", expanded=False)
    lines = [f"{r.collection}: {r.count:,} objects ({r.action})" for r in reports]
    feedback.flash("Demo collections ready — " + "; ".join(lines), "success", "demo")
    pg.forget_collections()
    st.session_state.pop("_demo_status", None)
    st.rerun()


def demo_panel(pg: Playground, key_prefix: str) -> None:
    """Status of DemoWiki / DemoJeopardy and a button to load what is missing (only ever into its own
    marked collections; a foreign collection of the same name is refused untouched)."""
    feedback.show_flash("demo")
    status = demo_status(pg)
    if status is None:
        return
    for name, state in status.items():
        st.text(f"{name}: {STATUS_TEXT.get(state, state)}")
    if all(state == "ready" for state in status.values()):
        return
    if any(state == "foreign" for state in status.values()):
        st.warning(
            "A collection with a demo name already exists and was not created by the demo. It is left "
            "untouched; connect to another Weaviate to load the demo."
        )
        return
    st.caption(
        "Loads about 8,400 objects (Wiki100 passages and 1,000 Jeopardy! questions) with vectors computed "
        "offline. It writes only to the two demo collections. Takes about 15 seconds."
    )
    if st.button("Load demo collections", key=f"{key_prefix}.load_demo"):
        _load(pg)
