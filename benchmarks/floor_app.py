"""The framework's own floor for benchmarks/latency.py: a text box and a button that draw a 10-line plotly chart.

Nothing else runs here: no connection, no session state, no tables. Whatever the real app takes beyond this
for one click is the app's own doing.
"""

import hashlib

import plotly.graph_objects as go
import streamlit as st

query = st.text_input("Query")
if st.button("Draw"):
    seed = hashlib.blake2b(query.encode(), digest_size=8).digest()
    figure = go.Figure(
        [go.Scatter(x=[0, 1], y=[i, (i + seed[i % 8]) % 10], mode="lines+markers", name=f"line {i}") for i in range(10)]
    )
    figure.update_layout(title=f"Lines for {query!r}", height=400)
    st.plotly_chart(figure, key="floor.chart")
