"""Evaluate: run a judged query set through search and rerankers in the background, watch it, cancel or resume."""

from __future__ import annotations

import streamlit as st

from components import evaluate_view, feedback, lifecycle, store_access, url_state


def body() -> None:
    st.title("Evaluate")
    st.caption(
        "Run a whole judged query set: every query through the search settings and up to five rerankers, with "
        "'no rerank' as the baseline. It runs in the background and saves each query as it finishes, so a "
        "cancelled or interrupted run resumes where it stopped."
    )
    url_state.consume_autorun()
    pg = lifecycle.connected_playground()
    if pg is None:
        return
    store = store_access.get_store()
    if store is None:
        store_access.unavailable_note("Batch runs")
        return
    evaluate_view.start_form(pg, store, "evaluate")
    evaluate_view.progress_panel("evaluate")
    evaluate_view.resume_list(pg, store, "evaluate")


feedback.guarded(body, "evaluate page")
