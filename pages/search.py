"""Search & Rerank: one search, one reranker, and what reranking changed."""

from __future__ import annotations

import streamlit as st

from components import (
    feedback,
    fold,
    lifecycle,
    reranker_picker,
    results_view,
    search_form,
    spend_note,
    url_state,
    view_actions,
)
from rerank_playground.playground import unclicked_run


def body() -> None:
    st.title("Search & Rerank")
    if fold.last_summary("search") is None and not fold.will_run("search"):
        st.caption("Search a collection, rerank the candidates, and see which documents moved up or down.")
    autorun = url_state.consume_autorun()
    pg = lifecycle.connected_playground()
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
    url_state.write_query_params(params)
    # Folded, the run button stays in view, in the row of the result's actions; open, it sits by the reranker.
    row = st.container(horizontal=True, vertical_alignment="center") if folded else None
    clicked = (row or button_slot).button("Search & rerank", type="primary", key="search.run",
                                          width="content" if folded else "stretch")
    suggested = st.session_state.pop("search.autorun", False)
    current = results_view.run_key(form.request, choice, form.n)
    unclicked = unclicked_run(form.request, form.info, [choice])  # what may run without a click
    if autorun and not (clicked or suggested) and not unclicked.search:
        st.info("Opened from a link: this search has the query embedded by a paid API (the collection's vectorizer "
                "or the Jina embeddings API), so it waits for "
                "your click on **Search & rerank**.")
    elif autorun and not (clicked or suggested) and unclicked.waiting:
        # A shared link never spends anyone's Jina tokens by itself: it runs the free search only.
        results_view.run_search_only(pg, form.request, choice, form.n, "search")
        st.info(f"Opened from a link: the search ran. Reranking with {choice.label} uses Jina tokens, so it "
                "waits for your click on **Search & rerank**.")
    elif clicked or suggested or autorun:
        results_view.run_search_and_rerank(pg, form.request, choice, form.n, "search")
    else:
        results_view.run_again_if_asked(pg, "search")
    spend_note.expected_tokens(pg, form.request, [choice])
    view_actions.search_actions(pg, "search", row)
    results_view.render_last("search", current)


feedback.guarded(body, "search page")
