"""Search & Rerank: one search, one reranker, and what reranking changed.

The page draws the inputs; the results are a fragment (:func:`results`): a click on the run button, a grade, a
document pick or a chart switch reruns only the fragment, while the inputs, sidebar and navigation stay. A page
run happens when an input changes (it rewrites the link and the fragment's arguments) or to fold the inputs
after the first results.
"""

from __future__ import annotations

import streamlit as st

from components import (
    feedback,
    fold,
    last_run,
    lifecycle,
    reranker_picker,
    results_view,
    search_form,
    sidebar,
    spend_note,
    url_state,
    view_actions,
    viewport,
)
from components.safe import md_escape
from components.search_form import SearchForm
from rerank_playground.autorun import unclicked_run
from rerank_playground.playground import Playground
from rerank_playground.rerankers.choice import RerankChoice

LINK_RUN = "search.link_run"  # set by a page run opened from a link; taken by the fragment once
# (run key, "search" | "rerank"): what a link's run left waiting for the click. Kept in the session, so the note
# stays over the reruns that follow (the window-size measure reruns the page) until the click or other inputs.
LINK_WAITS = "search.link_waits"


def _taken() -> None:
    """The link's or suggestion's run has happened: later runs of the results do not repeat it."""
    st.session_state.pop(LINK_RUN, None)
    st.session_state.pop("search.autorun", None)


@st.fragment
def results(pg: Playground, form: SearchForm, choice: RerankChoice, folded: bool) -> None:
    shown = st.empty()  # filled after the run below: it describes the run on screen, this click's included
    row = st.container(horizontal=True, vertical_alignment="center")
    clicked = row.button("Search & rerank", type="primary", key="search.run", width="content")
    if clicked:
        search_form.forget_link_notes("search")
    # Read, not taken: a rerun that interrupts this run (the window-size report's, on a loaded machine) must find
    # them again; they are taken once the run they ask for has happened (``_taken``).
    suggested = st.session_state.get("search.autorun", False)
    autorun = st.session_state.get(LINK_RUN, False)
    current = results_view.run_key(form.request, choice, form.n)
    unclicked = unclicked_run(form.request, form.info, [choice])  # what may run without a click
    if clicked or suggested:
        st.session_state.pop(LINK_WAITS, None)
    if autorun and not (clicked or suggested) and not unclicked.search:
        st.session_state[LINK_WAITS] = (current, "search")
    elif autorun and not (clicked or suggested) and unclicked.waiting:
        # A shared link never spends anyone's Jina tokens by itself: it runs the free search only.
        results_view.run_search_only(pg, form.request, choice, form.n, "search")
        st.session_state[LINK_WAITS] = (current, "rerank")
    elif clicked or suggested or autorun:
        results_view.run_search_and_rerank(pg, form.request, choice, form.n, "search")
        _taken()
        if not folded:  # the first results: fold the inputs (a page run), so the answer is in the first screen
            st.rerun(scope="app")
    else:
        results_view.run_again_if_asked(pg, "search")
    _taken()
    waits = st.session_state.get(LINK_WAITS)
    if waits is not None and waits[0] == current:  # until the click, or inputs that are not the link's
        if waits[1] == "search":
            st.info("Opened from a link: this search has the query embedded by a paid API (the collection's "
                    "vectorizer or the Jina embeddings API), so it waits for your click on **Search & rerank**.")
        else:
            st.info(f"Opened from a link: the search ran. Reranking with {md_escape(choice.label)} uses Jina "
                    "tokens, so it waits for your click on **Search & rerank**.")
    with shown:
        fold.shown_line("search")
    view_actions.search_actions(pg, "search", row)
    # After the run: the cache it reads may have changed.
    shown_now = results_view.results_shown(last_run.search_record("search"), current)
    noted = spend_note.expected_tokens(pg, form.request, [choice], results_shown=shown_now)
    results_view.render_last("search", current, notes_px=results_view.SPEND_NOTE_PX if noted else 0)
    sidebar.spend_status_from_fragment(pg)  # this click's tokens counted, without a page run


def body() -> None:
    viewport.viewport()  # the first chart (the stage chart) is sized to the browser window
    st.title("Search & Rerank")
    if fold.last_summary("search") is None and not fold.will_run("search"):
        st.caption("Search a collection, rerank the candidates, and see which documents moved up or down.")
    autorun = url_state.consume_autorun()
    pg = lifecycle.connected_playground()
    if pg is None:
        return
    folded = fold.is_folded("search", running=autorun)
    link_notes = st.container()  # what a link asked for that cannot be used: in view, above folded inputs
    with fold.folded_inputs("search", running=autorun):
        form = search_form.search_inputs(pg, "search", show_n=True, notes=link_notes)
        if form is None:
            return
        choice, _ = reranker_picker.reranker_choice(pg, form.info, "search")
    params = search_form.url_params(form)
    params.update(reranker=choice.reranker, model=choice.model)
    url_state.write_query_params(params)
    if autorun:
        st.session_state[LINK_RUN] = True
    results(pg, form, choice, folded)


feedback.guarded(body, "search page")
