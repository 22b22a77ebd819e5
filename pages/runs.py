"""Runs: every saved batch run, its results with confidence intervals and significance, and diffs of two runs."""

from __future__ import annotations

import streamlit as st

from components import cutoff_view, feedback, runs_view, store_access, url_state


def body() -> None:
    st.title("Runs")
    st.caption("Saved batch runs with everything needed to trust them later: settings, versions, per-query "
               "rankings, metrics, latency, tokens and errors.")
    url_state.consume_autorun()
    store = store_access.get_store()
    if store is None:
        store_access.unavailable_note("Saved runs")
        return
    record = runs_view.render_list(store, "runs")
    if record is None:
        return
    runs_view.render_run(store, record, "runs")
    st.divider()
    cutoff_view.render(store, record, "runs")
    st.divider()
    runs_view.render_diff(store, "runs")


feedback.guarded(body, "runs page")
