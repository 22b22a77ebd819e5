"""Compare models: the same candidates reranked by several models at once."""

from __future__ import annotations

import streamlit as st

from components import compare_view, fold, search_form, session, view_actions


def body() -> None:
    st.title("Compare models")
    if fold.last_summary("compare") is None and not fold.will_run("compare"):
        st.caption(
            "The same search, reranked by several models side by side. The search is shared with the Search page."
        )
    autorun = session.consume_autorun()
    pg = session.connected_playground()
    if pg is None:
        return
    with fold.folded_inputs("compare", running=autorun):
        form = search_form.search_inputs(pg, "compare", show_n=True)
        if form is None:
            return
        choices = compare_view.model_picker(pg, form.info, "compare")
    params = search_form.url_params(form)
    params["models"] = ",".join(session.choice_id(c) for c in choices)
    session.write_query_params(params)
    row = st.container(horizontal=True, vertical_alignment="bottom")
    clicked = row.button("Compare models", type="primary", key="compare.run")
    suggested = st.session_state.pop("compare.autorun", False)
    current = compare_view.compare_key(form.request, choices)
    if clicked or suggested or autorun:
        compare_view.run_compare(pg, form.request, choices, "compare")
    view_actions.compare_actions(pg, "compare", form.n, row)
    compare_view.render_last("compare", form.n, current)


session.guarded(body, "compare page")
