"""Rerank Playground: page config, navigation and the shared sidebar. Nothing else."""

import streamlit as st

from components.sidebar import render_sidebar, render_sidebar_footer

st.set_page_config(page_title="Rerank Playground", layout="wide")
navigation = st.navigation(
    [
        st.Page("pages/search.py", title="Search & Rerank", default=True),
        st.Page("pages/compare.py", title="Compare models"),
        st.Page("pages/judge.py", title="Judge"),
        st.Page("pages/present.py", title="Present"),
        st.Page("pages/query_sets.py", title="Query sets"),
        st.Page("pages/evaluate.py", title="Evaluate"),
        st.Page("pages/runs.py", title="Runs"),
        st.Page("pages/collections.py", title="Collections"),
        st.Page("pages/connect.py", title="Connect"),
    ]
)
render_sidebar()
navigation.run()
render_sidebar_footer()
