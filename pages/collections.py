"""Collections: what is in the database, and each collection's reranker config."""

from __future__ import annotations

import streamlit as st

from components import collections_view, demo_panel, feedback, lifecycle, load_dataset_view, url_state


def body() -> None:
    st.title("Collections")
    st.caption("Every collection on the connected Weaviate: size, text properties, vectorizer and reranker.")
    url_state.consume_autorun()
    pg = lifecycle.connected_playground()
    if pg is None:
        return
    collections_view.render_collections(pg, "collections")
    with st.expander("Load a dataset", expanded=load_dataset_view.JOB in st.session_state):
        load_dataset_view.load_dataset_panel(pg, "load")
    with st.expander("Demo collections"):
        demo_panel.demo_panel(pg, "collections")


feedback.guarded(body, "collections page")
