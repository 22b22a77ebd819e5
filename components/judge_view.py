"""The Judge view: grade the documents of the current Search or Compare run one at a time, by keyboard.

The pool is the top N of the retrieval order and of every reranked order of that run, the documents the
orderings disagree on most first (:func:`rerank_playground.evaluation.pooling.judge_queue`). Keys ``0``–``3`` grade the
document in view and move on to the next unjudged one; ``←``/``→`` step back and forth through the pool.
Grades are written to the store at once (in the buttons' callbacks, before the page is drawn again).

Layout (issue 19): at 1280×720 the grade buttons and the start of the document are in the first screen. One status
line above the buttons always holds a sentence — what was saved last ("Saved: ■ 2 relevant for document 3 of 20"),
or how to start — so giving a grade never moves the buttons or the document.

Session state: ``judge.at`` = ``(scope, uuid)``, the document in view for a scope (collection, normalised
query, run, depth); ``judge.saved`` = ``(scope, uuid, grade, position, total)``, the last grade saved in that scope;
``_judge_name`` the optional name saved with each grade (kept across pages).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from components import feedback, grades_view, last_run, state, store_access
from components.safe import md_escape
from rerank_playground import judging, tables
from rerank_playground.evaluation.judgments import normalise_query
from rerank_playground.evaluation.pooling import judge_queue
from rerank_playground.models import Hit, SearchResult
from rerank_playground.store import Store

RUNS = {"search": "Search page", "compare": "Compare page"}
GRADE_KEYS = (0, 1, 2, 3)
MAX_DEPTH = 100


@dataclass(frozen=True)
class JudgeRun:
    """A run to judge: its search and the orderings it produced (name -> uuids, retrieval first)."""

    page: str  # "search" or "compare"
    search: SearchResult
    ranked: dict[str, list[str]] = field(hash=False)
    n: int  # the shown N of that page: the default pool depth

    @property
    def collection(self) -> str:
        return self.search.request.collection

    @property
    def query(self) -> str:
        return self.search.request.query


def runs() -> dict[str, JudgeRun]:
    """The runs of this session that can be judged: the last search + rerank, the last comparison."""
    out: dict[str, JudgeRun] = {}
    searched = last_run.search_record("search")
    if searched is not None and searched.run is not None:
        run = searched.run
        ranked = searched.derived(
            "orderings", lambda: judging.orderings(run.search.hits, {run.choice.label: run.result})
        )
        out["search"] = JudgeRun("search", run.search, ranked, run.movement.summary.top_n)
    compared = last_run.compare_record("compare")
    if compared is not None and compared.run is not None and compared.run.results:
        crun = compared.run
        ranked = compared.derived("orderings", lambda: judging.orderings(crun.search.hits, crun.results))
        n = int(state.inputs().n or 10)
        out["compare"] = JudgeRun("compare", crun.search, ranked, min(n, len(crun.search.hits)))
    return out


def _label(name: str, run: JudgeRun) -> str:
    return grades_view.ordering_label(name, run.search.request.mode.value)


def _next_unjudged(queue: Sequence[str], grades: dict[str, int], after: int) -> int | None:
    """Index of the first unjudged document after ``after`` (wrapping round), or None when all are judged."""
    for step in range(1, len(queue) + 1):
        i = (after + step) % len(queue)
        if queue[i] not in grades:
            return i
    return None


# ---------------------------------------------------------------------------------------------- callbacks


def _grade(store: Store, run: JudgeRun, scope: tuple[Any, ...], queue: list[str], doc: str, grade: int) -> None:
    query = normalise_query(run.query)

    def save() -> dict[str, int]:
        store.set_grade(run.collection, query, doc, grade, judge=grades_view.judge_name())
        return store.grades(run.collection, query)

    grades, error = feedback.call_safely(save, "saving a grade")
    if error or grades is None:
        feedback.flash(f"The grade was not saved: {error}", "error", channel="judge")
        return
    following = _next_unjudged(queue, grades, queue.index(doc))
    st.session_state["judge.at"] = (scope, doc if following is None else queue[following])
    st.session_state["judge.saved"] = (scope, doc, grade, queue.index(doc), len(queue))


def saved_line(saved: tuple[Any, ...] | None, scope: tuple[Any, ...]) -> str:
    """The status line: the last grade saved in this scope, with the document's position; else how to start."""
    if saved is not None and saved[0] == scope:
        _, _, grade, position, count = saved
        return f"✓ Saved: {tables.grade_badge(grade)} for document {position + 1} of {count}"
    return "Press 0–3 to grade the document below (saved at once), ← → to step"


def _step(scope: tuple[Any, ...], queue: list[str], doc: str, delta: int) -> None:
    i = min(max(queue.index(doc) + delta, 0), len(queue) - 1)
    st.session_state["judge.at"] = (scope, queue[i])


def _keep_name() -> None:
    st.session_state["_judge_name"] = str(st.session_state.get("judge.name") or "")[:100]


# ---------------------------------------------------------------------------------------------- rendering


def render(key_prefix: str = "judge") -> None:
    store = store_access.get_store()
    if store is None:
        store_access.unavailable_note("Judging and relevance metrics")
        return
    available = runs()
    if not available:
        st.info(
            "Nothing to judge yet. Run a search on the Search page (or a comparison on the Compare page): "
            "this view then walks its results one by one."
        )
        st.page_link("pages/search.py", label="Open the Search page", icon=":material/search:")
        return
    pages = list(available)
    state.seed(f"{key_prefix}.run", pages[0], pages)
    if len(pages) > 1:
        chosen = st.segmented_control(
            "Judge the results of", pages, key=f"{key_prefix}.run", format_func=RUNS.__getitem__
        )
        run = available[chosen or pages[0]]
    else:
        run = available[pages[0]]
    hits = run.search.hits
    # One row: what is judged, the pool depth and the judge's name — so the document starts in the first screen.
    top, pool, name = st.columns([3, 1.3, 1.5], vertical_alignment="bottom")
    with pool:
        most = min(MAX_DEPTH, max(len(hits), 1))
        state.seed(f"{key_prefix}.depth", min(run.n, most))
        if st.session_state[f"{key_prefix}.depth"] > most:  # a deeper pool than this run has
            st.session_state[f"{key_prefix}.depth"] = most
        depth = int(
            st.number_input(
                "Pool: top N of each ordering", min_value=1, max_value=most,
                key=f"{key_prefix}.depth",
                help="The documents to judge: the top N of the retrieval order and of every reranked order.",
            )
        )
    with name:
        state.seed(f"{key_prefix}.name", st.session_state.get("_judge_name", ""))
        st.text_input(
            "Your name (optional)", key=f"{key_prefix}.name", max_chars=100, on_change=_keep_name,
            help="Saved with each grade you give, so a team can tell its judges apart.",
        )
    query = normalise_query(run.query)
    queue = judge_queue(list(run.ranked.values()), (), depth)  # () = the whole pool, judged or not
    grades, error = feedback.call_safely(lambda: store.grades(run.collection, query), "reading grades")
    if error or grades is None:
        st.warning(f"Could not read the grades: {error}")
        return
    orderings = " and ".join(_label(name, run) for name in run.ranked)
    with top:
        st.markdown(f"**“{md_escape(run.query)}”** in {md_escape(run.collection)}")
        st.caption(
            f"Pool: the top {depth} of the {orderings}: {len(queue)} documents, the ones the orderings disagree "
            "on first (their grades decide the comparison)."
        )
    feedback.show_flash("judge")
    if not queue:
        st.info("The run found no documents to judge.")
        return
    judged = sum(1 for doc in queue if doc in grades)
    st.progress(judged / len(queue), text=f"Judged {judged} of {len(queue)}")

    scope = (run.collection, query, run.page, depth, tuple(queue))
    at = st.session_state.get("judge.at")
    if at is None or at[0] != scope or at[1] not in queue:
        first = _next_unjudged(queue, grades, len(queue) - 1)
        at = (scope, queue[first if first is not None else 0])
        st.session_state["judge.at"] = at
    doc = at[1]
    position = queue.index(doc)
    current = grades.get(doc)
    # Always one line here (never a box that comes and goes): a grade confirms itself without moving the layout.
    st.markdown(saved_line(st.session_state.get("judge.saved"), scope))  # our own words only: no escaping needed

    buttons = st.columns([1.1, 1.5, 1.1, 1.2, 1.1, 1.1])
    buttons[0].button(
        "Back", key=f"{key_prefix}.prev", shortcut="Left", icon=":material/arrow_back:", width="stretch",
        disabled=position == 0, on_click=_step, args=(scope, queue, doc, -1),
    )
    for column, grade in zip(buttons[1:5], GRADE_KEYS, strict=True):
        column.button(  # the label is the badge without its digit: the shortcut hint shows the key
            f"{tables.GRADE_GLYPHS[grade]} {tables.GRADE_NAMES[grade]}", key=f"{key_prefix}.grade.{grade}",
            shortcut=str(grade), help=f"Grade {grade}: {tables.GRADE_NAMES[grade]} (key {grade})",
            type="primary" if current == grade else "secondary", width="stretch",
            on_click=_grade, args=(store, run, scope, queue, doc, grade),
        )
    buttons[5].button(
        "Next", key=f"{key_prefix}.next", shortcut="Right", icon=":material/arrow_forward:", width="stretch",
        disabled=position == len(queue) - 1, on_click=_step, args=(scope, queue, doc, 1),
    )
    document_card(run, doc, position, len(queue), current)
    if judged == len(queue):  # below the document: the buttons and the document stay where they were
        st.success(
            f"All {len(queue)} documents of the pool are judged. The ranking quality of each ordering "
            f"(nDCG@{run.n}) is on the "
            f"{RUNS[run.page]}; ← → still step through them to change a grade."
        )
        st.page_link(f"pages/{run.page}.py", label=f"Back to the {RUNS[run.page]}", icon=":material/arrow_back:")


def document_card(run: JudgeRun, doc: str, position: int, total: int, grade: int | None) -> None:
    """The document in view, as plain text (database text is untrusted), with its rank in every ordering."""
    hit: Hit | None = next((h for h in run.search.hits if h.uuid == doc), None)
    with st.container(border=True):
        st.markdown(f"**Document {position + 1} of {total}** · your grade: {tables.grade_badge(grade)}")
        ranks = " · ".join(
            f"{_label(name, run)}: #{order.index(doc) + 1}" for name, order in run.ranked.items() if doc in order
        )
        st.caption(md_escape(ranks, max_chars=500))
        if hit is None:
            st.text("(this document is not among the run's candidates)")
            return
        st.text(hit.text or "(no text in this property)")
        shown = {k: v for k, v in hit.properties.items() if tables.snippet(str(v), None) != tables.snippet(hit.text)}
        if shown:  # as wrapped lines, not a grid: a grid cuts a long value off at its column's edge
            st.caption("  \n".join(
                f"**{md_escape(k, max_chars=80)}**: {md_escape(tables.snippet(str(v), 300), max_chars=300)}"
                for k, v in shown.items()
            ))
        st.caption(f"uuid {md_escape(doc)}")
