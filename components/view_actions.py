"""What a presenter does with a Search or Compare result: add it to a story, send a snapshot, copy it as code.

One compact row of popovers above the results. The snapshot and the code are built on demand (the download
button's data is a function), from the result already on the page: nothing is searched or reranked again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import streamlit as st

from components import feedback, last_run, lifecycle, results_view, safe, state, store_access
from components.last_run import SearchRecord
from rerank_playground import charts, codegen, movement
from rerank_playground.errors import PlaygroundError
from rerank_playground.evaluation.cutoff import Cut
from rerank_playground.outcomes import RerankRun
from rerank_playground.playground import Playground
from rerank_playground.presentation import stories
from rerank_playground.presentation.presenter import PreparedView
from rerank_playground.presentation.snapshot import Versions, app_version, chart_png, snapshot_html
from rerank_playground.presentation.stories import StoryView
from rerank_playground.rerankers.choice import RerankChoice
from rerank_playground.search import needs_query_vector

NEW_STORY = "➕ New story…"


def versions(pg: Playground) -> Versions:
    return Versions(app=app_version(), server=pg.server.version if pg.server else "unknown")


def _suggested_note(collection: str, query: str) -> str:
    match = next((s for s in state.suggestions(collection) if s.query == query.strip()), None)
    return match.why if match else ""


def prepared_from_last(key_prefix: str, n: int | None = None) -> PreparedView | None:
    """This page's last result as a prepared view (what a story, a snapshot or the code are made of)."""
    last = last_run.last_record(key_prefix)
    if last is None or last.search is None:
        return None
    search = last.search
    request = last.request
    if isinstance(last, SearchRecord):
        choice = last.choice
        view = StoryView(request=request, choices=(choice,), top_n=last.n,
                         note=_suggested_note(request.collection, request.query))
        runs = {choice.label: last.run} if last.run is not None else {}
        errors = {choice.label: last.error} if last.error else {}
        return PreparedView(view=view, search=search, runs=runs, errors=errors)
    choices = last.choices
    top_n = int(n or 10)
    view = StoryView(request=request, choices=choices, top_n=top_n,
                     note=_suggested_note(request.collection, request.query))
    compare = last.run
    runs = {}
    errors = {}
    if compare is not None:
        shown = min(top_n, len(search.hits))
        for c in choices:
            if c.label in compare.results:
                result = compare.results[c.label]
                runs[c.label] = RerankRun(search=search, choice=c, result=result,
                                          movement=movement.compute_movement(search.hits, result, shown), top_n=top_n)
            elif c.label in compare.errors:
                errors[c.label] = f"{c.label} did not rerank: {compare.errors[c.label].message}"
    return PreparedView(view=view, search=search, runs=runs, errors=errors)


# ---------------------------------------------------------------------------------------------- pieces


def add_to_story(prepared: PreparedView, key_prefix: str) -> None:
    store = store_access.get_store()
    if store is None:
        store_access.unavailable_note("Stories")
        return
    try:
        names = store.story_names()
    except PlaygroundError as err:
        st.warning(safe.text(err.message))
        return
    options = [*names, NEW_STORY]
    default = stories.DEMO_STORY if stories.DEMO_STORY in names else NEW_STORY
    state.seed(f"{key_prefix}.story_name", st.session_state.get("present.story", default), options)
    chosen = st.selectbox("Story", options, key=f"{key_prefix}.story_name")
    new_name = ""
    if chosen == NEW_STORY:
        new_name = st.text_input("New story name", key=f"{key_prefix}.story_new", max_chars=200)
    note = st.text_area("What to look for (the caption when presenting)", prepared.view.note,
                        key=f"{key_prefix}.story_note", max_chars=stories.MAX_NOTE, height=90)
    # The cut picked on the page goes with the view (issue 23.3), so Present cuts where this page cuts. Read
    # from the widgets' state: the cut control is drawn further down the page in this same run.
    cut, problem = results_view.chosen_cut(key_prefix)
    if problem:
        st.caption(f"The cut's value is not valid ({safe.text(problem)}): the view is saved without a cut.")
    else:
        st.caption(f"Cut kept with the view: {safe.text(cut.label)}." if cut is not None
                   else "No cut: the view shows the whole reranked list.")
    if st.button("Add this view", key=f"{key_prefix}.story_add", type="primary"):
        name = new_name.strip() if chosen == NEW_STORY else chosen
        if not name:
            st.warning("Give the new story a name.")
            return
        view = StoryView(request=prepared.view.request, choices=prepared.view.choices, top_n=prepared.view.top_n,
                         note=note.strip(), cut=cut)
        try:
            story = store.add_story_view(name, view)
        except PlaygroundError as err:
            st.error(safe.text(err))
            return
        st.session_state["present.story"] = story.name
        st.session_state.pop("present.story_select", None)
        st.success(f"Added as view {len(story.views)} of “{safe.md_escape(story.name)}”. "
                   "Present it on the Present page.")


def snapshot_button(pg: Playground, prepared: PreparedView, key_prefix: str) -> None:
    versions_now = versions(pg)
    grades = _grades(prepared)

    def build() -> bytes:  # runs on click, outside the script run: closes over values only
        return snapshot_html(
            f"{prepared.view.request.collection}: {prepared.view.request.query}", [prepared],
            versions=versions_now, created=datetime.now(UTC), grades=[grades],
        ).encode("utf-8")

    st.download_button(
        "Snapshot (HTML)", build, file_name=f"{prepared.view.request.collection.lower()}-snapshot.html",
        mime="text/html", key=f"{key_prefix}.snapshot", on_click="ignore", icon=":material/download:",
        help="One self-contained file that opens offline: charts, tables, numbers, settings, versions.",
    )


def png_buttons(prepared: PreparedView, key_prefix: str) -> None:
    """Each chart as PNG: made on request (a few seconds: kaleido drives Chromium), then downloaded."""
    made: dict[tuple[Any, str], bytes] = st.session_state.setdefault(f"{key_prefix}.png", {})
    lifecycle.release_at_end(f"{key_prefix}.png", made.clear)
    grades = _grades(prepared)
    for number, (label, run) in enumerate(prepared.runs.items()):
        key = (prepared.view, label)
        if key not in made and st.button(f"Make a PNG of the {label} chart", key=f"{key_prefix}.png_make{number}"):
            def draw(run: RerankRun = run) -> bytes:
                return chart_png(charts.slope_chart(run.movement, grades=grades))

            with st.spinner("Drawing the chart…"):
                data, error = feedback.call_safely(draw, "chart png")
            if data is None:
                st.info(error or feedback.GENERIC_ERROR)
                continue
            made.clear()  # keep only the latest view's images in the session
            made[key] = data
        if key in made:
            st.download_button(f"Download the {label} chart (PNG)", made[key], file_name=f"{_slug(label)}.png",
                               mime="image/png", key=f"{key_prefix}.png_get{number}", on_click="ignore",
                               icon=":material/image:")


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-") or "chart"


def _grades(prepared: PreparedView) -> dict[str, int] | None:
    store = store_access.get_store()
    if store is None:
        return None
    try:
        return store.grades(prepared.view.request.collection, prepared.view.request.query) or None
    except PlaygroundError:
        return None


def code_for(pg: Playground, prepared: PreparedView, choice: RerankChoice, cut: Cut | None = None) -> str:
    search = prepared.search
    assert search is not None
    request = search.request  # the validated request the page ran (text property filled in)
    info = pg.collection(request.collection)
    return codegen.python_code(
        request, choice, weaviate_url=pg.spec.url, grpc_port=pg.spec.grpc_target[1],
        needs_query_vector=needs_query_vector(request, info), jina_base_url=pg.jina_base_url, cut=cut,
    )


def copy_as_code(pg: Playground, prepared: PreparedView, key_prefix: str) -> None:
    choices = list(prepared.view.choices)
    if len(choices) > 1:
        state.seed(f"{key_prefix}.code_choice", 0, list(range(len(choices))))
        index = st.selectbox("Reranker", list(range(len(choices))), format_func=lambda i: choices[i].label,
                             key=f"{key_prefix}.code_choice")
        choice = choices[index]
    else:
        choice = choices[0]
    # The cut picked on the page (Search, or Compare for whichever model is picked here): the script keeps what
    # the page keeps.
    cut, _ = results_view.chosen_cut(key_prefix)
    code, error = feedback.call_safely(lambda: code_for(pg, prepared, choice, cut), "copy as code")
    if error:
        st.error(error)
        return
    st.caption("Runnable as is; keys come from the environment (WEAVIATE_API_KEY, JINAAI_APIKEY), never the code.")
    st.code(code, language="python", height=360)


def action_row(pg: Playground, prepared: PreparedView | None, key_prefix: str, row: Any) -> None:
    """The actions, drawn into ``row`` (a horizontal container)."""
    if prepared is None:
        return
    with row.popover("Add to story", icon=":material/playlist_add:"):
        add_to_story(prepared, key_prefix)
    with row:
        snapshot_button(pg, prepared, key_prefix)
    if prepared.runs:
        with row.popover("Charts (PNG)", icon=":material/image:"):
            png_buttons(prepared, key_prefix)
    if prepared.search is not None:
        with row.popover("Copy as code", icon=":material/code:"):
            copy_as_code(pg, prepared, key_prefix)


def search_actions(pg: Playground, key_prefix: str, row: Any | None = None) -> None:
    """The actions for the Search page's last result, in ``row`` (a new horizontal container when None)."""
    prepared = prepared_from_last(key_prefix)
    if prepared is None:
        return
    action_row(pg, prepared, key_prefix, row if row is not None else st.container(horizontal=True))


def compare_actions(pg: Playground, key_prefix: str, n: int, row: Any) -> None:
    action_row(pg, prepared_from_last(key_prefix, n), key_prefix, row)

