"""Judge: grade the current run's documents one by one with the keyboard (0–3, ← →)."""

from __future__ import annotations

import streamlit as st

from components import feedback, judge_view, url_state


def body() -> None:
    st.title("Judge")
    st.caption(
        "Grade your last search's documents one at a time: 0 not relevant, 1 related, 2 relevant, 3 perfect. "
        "Saved at once; they count in nDCG on the Search and Compare pages."
    )
    url_state.consume_autorun()
    judge_view.render("judge")


feedback.guarded(body, "judge page")
