"""Query sets: named sets of queries of a collection, with their judgments; import, export, delete."""

from __future__ import annotations

import streamlit as st

from components import feedback, lifecycle, query_sets_view, store_access, url_state


def body() -> None:
    st.title("Query sets")
    st.caption(
        "Named sets of queries tied to a collection, with the grades given to their results. Import CSV, JSON "
        "or TREC files (a bad file names its line, and nothing is imported), export them, or delete them."
    )
    url_state.consume_autorun()
    pg = lifecycle.get_playground()
    store = store_access.get_store()
    if store is None:
        store_access.unavailable_note("Query sets")
        return
    query_sets_view.render(store, pg, "sets")


feedback.guarded(body, "query sets page")
