"""Connect: choose a Weaviate and see what it can do."""

from __future__ import annotations

import streamlit as st

from components import connection_panel, feedback, lifecycle, url_state


def body() -> None:
    st.title("Connect")
    st.caption("Pick a Weaviate. If connecting fails, the current connection stays as it is.")
    pg = lifecycle.get_playground()
    url_state.consume_autorun()
    connection_panel.render_connect(pg, "connect")


feedback.guarded(body, "connect page")
