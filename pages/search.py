"""Search & Rerank: one search, one reranker, and what reranking changed."""

from __future__ import annotations

import streamlit as st

from components import fold, reranker_picker, results_view, search_form, session, view_actions


def body() -> None:
    st.title("Search & Rerank")
    if fold.last_summary("search") is None and not fold.will_run("search"):
        st.caption("Search a collection, rerank the candidates, and see which documents moved up or down.")
    autorun = session.consume_autorun()
    pg = session.connected_playground()
    if pg is None:
        return
    folded = fold.is_folded("search", running=autorun)
    with fold.folded_inputs("search", running=autorun):
        form = search_form.search_inputs(pg, "search", show_n=True)
        if form is None:
            return
        choice, button_slot = reranker_picker.reranker_choice(pg, form.info, "search")
    params = search_form.url_params(form)
    params.update(reranker=choice.reranker, model=choice.model)
    session.write_query_params(params)
    # Folded, the run button stays in view, in the row of the result's actions; open, it sits by the reranker.
    row = st.container(horizontal=True, vertical_alignment="center") if folded else None
    clicked = (row or button_slot).button("Search & rerank", type="primary", key="search.run",
                                          width="content" if folded else "stretch")
    suggested = st.session_state.pop("search.autorun", False)
    current = results_view.run_key(form.request, choice, form.n)
    if clicked or suggested or autorun:
        results_view.run_search_and_rerank(pg, form.request, choice, form.n, "search")
    view_actions.search_actions(pg, "search", row)
    results_view.render_last("search", current)


session.guarded(body, "search page")
