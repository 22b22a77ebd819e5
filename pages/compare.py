"""Compare models: the same candidates reranked by several models at once.

As on Search, the results are a fragment (:func:`results`): the run button, a grade or any widget in the results
reruns only them; a change of an input reruns the page.
"""

from __future__ import annotations

import streamlit as st

from components import (
    compare_view,
    feedback,
    fold,
    last_run,
    lifecycle,
    results_view,
    search_form,
    sidebar,
    spend_note,
    url_state,
    view_actions,
    viewport,
)
from components.search_form import SearchForm
from rerank_playground.autorun import unclicked_run
from rerank_playground.playground import Playground
from rerank_playground.rerankers.choice import RerankChoice
from rerank_playground.search_inputs import models_param

LINK_RUN = "compare.link_run"  # set by a page run opened from a link; taken by the fragment once
LINK_WAITS = "compare.link_waits"  # (inputs, note): what a link's run left waiting for a click


def _taken() -> None:
    """The link's or suggestion's run has happened: later runs of the results do not repeat it."""
    st.session_state.pop(LINK_RUN, None)
    st.session_state.pop("compare.autorun", None)


@st.fragment
def results(pg: Playground, form: SearchForm, choices: list[RerankChoice], folded: bool) -> None:
    shown = st.empty()  # filled after the run below: it describes the run on screen, this click's included
    row = st.container(horizontal=True, vertical_alignment="bottom")
    clicked = row.button("Compare models", type="primary", key="compare.run")
    if clicked:
        search_form.forget_link_notes("compare")
    # Read, not taken: a rerun that interrupts this run (the window-size report's, on a loaded machine) must find
    # them again; they are taken once the run they ask for has happened (``_taken``).
    suggested = st.session_state.get("compare.autorun", False)
    autorun = st.session_state.get(LINK_RUN, False)
    current = compare_view.compare_key(form.request, choices)
    unclicked = unclicked_run(form.request, form.info, choices)  # what may run without a click
    paid = list(unclicked.waiting)
    if clicked or suggested:
        st.session_state.pop(LINK_WAITS, None)
    if autorun and not (clicked or suggested) and not unclicked.search:
        st.session_state[LINK_WAITS] = (
            current, "Opened from a link: this search has the query embedded by a paid API (the collection's "
            "vectorizer or the Jina embeddings API), so it waits for your click on **Compare models**.")
    elif autorun and not (clicked or suggested) and paid:
        # A shared link never spends anyone's Jina tokens by itself: the free models run, the paid ones wait.
        free = list(unclicked.free)
        if free:
            compare_view.run_compare(pg, form.request, free, "compare")
        else:
            feedback.call_safely(lambda: pg.search(form.request), "compare search")
        st.session_state[LINK_WAITS] = (
            current, f"Opened from a link: the search{' and the free models' if free else ''} ran. "
            f"{', '.join(c.label for c in paid)} use{'s' if len(paid) == 1 else ''} Jina tokens, so "
            "they wait for your click on **Compare models**.")
    elif clicked or suggested or autorun:
        compare_view.run_compare(pg, form.request, choices, "compare")
        _taken()
        if not folded:  # the first results: fold the inputs (a page run), so the answer is in the first screen
            st.rerun(scope="app")
    else:
        compare_view.run_again_if_asked(pg, "compare")
    _taken()
    waits = st.session_state.get(LINK_WAITS)
    if waits is not None and waits[0] == current:  # until the click, or inputs that are not the link's (the
        st.info(waits[1])  # window-size report's rerun must not take the note away)
    # After the run: the cache it reads may have changed.
    noted = spend_note.expected_tokens(
        pg, form.request, choices, results_shown=results_view.results_shown(last_run.compare_record("compare"), current)
    )
    with shown:
        fold.shown_line("compare")
    view_actions.compare_actions(pg, "compare", form.n, row)
    compare_view.render_last("compare", form.n, current, notes_px=results_view.SPEND_NOTE_PX if noted else 0)
    sidebar.spend_status_from_fragment(pg)  # this click's tokens counted, without a page run


def body() -> None:
    viewport.viewport()  # the first chart (the stage chart) is sized to the browser window
    st.title("Compare models")
    if fold.last_summary("compare") is None and not fold.will_run("compare"):
        st.caption(
            "The same search, reranked by several models side by side. The search is shared with the Search page."
        )
    autorun = url_state.consume_autorun()
    pg = lifecycle.connected_playground()
    if pg is None:
        return
    folded = fold.is_folded("compare", running=autorun)
    link_notes = st.container()  # what a link asked for that cannot be used: in view, above folded inputs
    with fold.folded_inputs("compare", running=autorun):
        form = search_form.search_inputs(pg, "compare", show_n=True, notes=link_notes)
        if form is None:
            return
        choices = compare_view.model_picker(pg, form.info, "compare")
    params = search_form.url_params(form)
    params["models"] = models_param(choices)
    url_state.write_query_params(params)
    if autorun:
        st.session_state[LINK_RUN] = True
    results(pg, form, choices, folded)


feedback.guarded(body, "compare page")
