"""Connect: choose a Weaviate and see what it can do."""

from __future__ import annotations

import streamlit as st

from components import connection_panel, session


def body() -> None:
    st.title("Connect")
    st.caption("Pick a Weaviate. If connecting fails, the current connection stays as it is.")
    pg = session.get_playground()
    session.consume_autorun()
    connection_panel.render_connect(pg, "connect")


session.guarded(body, "connect page")
