"""Collections: what is in the database, and each collection's reranker config."""

from __future__ import annotations

import streamlit as st

from components import collections_view, demo_panel, session


def body() -> None:
    st.title("Collections")
    st.caption("Every collection on the connected Weaviate: size, text properties, vectorizer and reranker.")
    session.consume_autorun()
    pg = session.connected_playground()
    if pg is None:
        return
    collections_view.render_collections(pg, "collections")
    with st.expander("Demo collections"):
        demo_panel.demo_panel(pg, "collections")


session.guarded(body, "collections page")
