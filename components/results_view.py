"""Run a search + rerank and show what reranking changed: lists, charts, summary, notes, downloads.

The last run is kept in session state as a :class:`~components.last_run.SearchRecord`. Coming back to the page
shows it again without calling Weaviate or Jina; clicking again with the same inputs is served from the
Playground's caches.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components import feedback, grades_view, last_run, state, viewport
from components.last_run import SearchRecord
from components.safe import md_escape
from rerank_playground import charts, tables
from rerank_playground import stage_chart as stage
from rerank_playground.errors import PlaygroundError
from rerank_playground.evaluation.cutoff import Cut
from rerank_playground.models import Hit, Move, Movement, SearchRequest, SearchResult
from rerank_playground.outcomes import RerankRun
from rerank_playground.playground import Playground
from rerank_playground.presentation.snapshot import path_label
from rerank_playground.rerankers.choice import RerankChoice
from rerank_playground.store import Store

PLOTLY_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}
TEXT_COLUMN = st.column_config.TextColumn("text", width="large")
SCORE_FORMAT = "%.4f"
FIGURES = "figures"  # the memo entry of the charts built with the run


def run_key(request: SearchRequest, choice: RerankChoice, n: int) -> tuple[SearchRequest, RerankChoice, int]:
    return (request, choice, n)


def run_search_and_rerank(
    pg: Playground, request: SearchRequest, choice: RerankChoice, n: int, key_prefix: str, *, force: bool = False
) -> None:
    """Search, then rerank every candidate; store the outcome (or the first error) as the last run.
    ``force``: ask Weaviate and the reranker again instead of the session's caches."""
    run: RerankRun | None = None
    with st.spinner("Searching and reranking…"):
        search, error = feedback.call_safely(lambda: pg.search(request, force=force), "search")
        if search is not None:
            run, error = feedback.call_safely(lambda: pg.rerank(search, choice, n, force=force), "rerank")
    last_run.keep(key_prefix, SearchRecord(request, choice, n, search=search, run=run, error=error))


def _ask_run_again(key_prefix: str) -> None:
    st.session_state[f"{key_prefix}.run_again"] = True


def run_again_if_asked(pg: Playground, key_prefix: str) -> bool:
    """The "Run again" button under a cached result: re-run the shown run's own inputs, bypassing the caches."""
    if not st.session_state.pop(f"{key_prefix}.run_again", False):
        return False
    last = last_run.search_record(key_prefix)
    if last is None:
        return False
    run_search_and_rerank(pg, last.request, last.choice, last.n, key_prefix, force=True)
    return True


def clock(timestamp: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(timestamp))


def cached_note(search: SearchResult, run: RerankRun | None) -> str | None:
    """What on screen came from the session's cache, and from when (None when everything is fresh)."""
    parts = []
    if search.cached:
        parts.append(f"search cached (from {clock(search.computed_at)})")
    if run is not None and run.result.cached:
        parts.append(f"rerank cached (from {clock(run.result.computed_at)})")
    if not parts:
        return None
    return (
        "Served from this session's cache, nothing was asked again: " + "; ".join(parts) + ". Latency and "
        "tokens shown are those of that earlier run."
    )


def cache_banner(search: SearchResult, run: RerankRun | None, key_prefix: str) -> None:
    note = cached_note(search, run)
    if note is None:
        return
    text, button = st.columns([5, 1], vertical_alignment="center")
    text.info(note, icon=":material/history:")
    button.button("Run again", key=f"{key_prefix}.run_again_button", on_click=_ask_run_again, args=(key_prefix,),
                  help="Ask Weaviate and the reranker again, for real, with these same inputs.")


def run_search_only(
    pg: Playground, request: SearchRequest, choice: RerankChoice, n: int, key_prefix: str
) -> None:
    """Only the (free) search: the last run then shows the results not reranked yet."""
    with st.spinner("Searching…"):
        search, error = feedback.call_safely(lambda: pg.search(request), "search")
    last_run.keep(key_prefix, SearchRecord(request, choice, n, search=search, error=error))


MAX_SLOPE_HEIGHT = 600  # the first chart: its whole height in the first screen at 1920x1080


def build_figure(run: RerankRun, name: str) -> go.Figure:
    """One of the run's charts (``CHARTS``), built only when it is shown."""
    if name == "delta":
        return charts.delta_bars(run.movement)
    if name == "scatter":
        return charts.score_scatter(run.movement)
    slope = charts.slope_chart(run.movement)
    if (slope.layout.height or 0) > MAX_SLOPE_HEIGHT:
        slope.update_layout(height=MAX_SLOPE_HEIGHT)  # the page shows it full width, above the reader
    return slope


# ---------------------------------------------------------------------------------------------- tables


def before_table(run: RerankRun, moves: pd.DataFrame) -> pd.DataFrame:
    """The original (retrieval) top N, with where each document went: rank, move, now at, text, its score."""
    frame = moves.sort_values("original rank").head(run.movement.summary.top_n)
    return frame[["original rank", "move", "new rank", "text", "retrieval score"]].rename(
        columns={"original rank": "rank", "new rank": "now at"}
    )


def after_table(run: RerankRun, moves: pd.DataFrame) -> pd.DataFrame:
    """The reranked top N, with where each document came from: rank, move, was, text, its score."""
    frame = moves.head(run.movement.summary.top_n)
    return frame[["new rank", "move", "original rank", "text", "rerank score"]].rename(
        columns={"new rank": "rank", "original rank": "was"}
    )


# Narrow columns get fixed widths; the text column gets what is left of a half-width table at a 1440 px wide
# window (Streamlit spreads any extra room over all columns). The whole cell is then in view, so right-to-left
# text (Arabic, Hebrew), which the grid aligns right, shows instead of hiding past the table's right border.
NARROW_COLUMNS = {
    "rank": 48, "move": 60, "now at": 56, "was": 48, "top-N": 66, "original rank": 70, "new rank": 70, "delta": 56,
}
SCORE_WIDTH = 72
TEXT_WIDTH = 250
TextWidth = int | Literal["small", "medium", "large"]
TableHeight = int | Literal["auto", "stretch", "content"]


def _column_config(text_width: TextWidth = "large") -> dict[str, Any]:
    config: dict[str, Any] = {
        name: st.column_config.Column(name, width=width) for name, width in NARROW_COLUMNS.items()
    }
    for name in ("retrieval score", "rerank score", "score", "distance"):
        config[name] = st.column_config.NumberColumn(
            name.replace(" score", ""), format=SCORE_FORMAT, width=SCORE_WIDTH, help=f"{name}"
        )
    config["text"] = st.column_config.TextColumn("text", width=text_width)
    return config


def show_table(
    frame: pd.DataFrame,
    key: str | None = None,
    height: TableHeight = "auto",
    row_height: int | None = None,
    text_width: TextWidth = "large",
    kept: int | None = None,
) -> None:
    st.dataframe(
        grades_view.greyed_after(frame, kept), hide_index=True, column_config=_column_config(text_width), key=key,
        height=height, row_height=row_height, placeholder="",
    )


def before_uuids(run: RerankRun, moves: pd.DataFrame) -> list[str]:
    """The documents of :func:`before_table`'s rows, in its order."""
    return list(moves.sort_values("original rank").head(run.movement.summary.top_n)["uuid"])


def after_uuids(run: RerankRun, moves: pd.DataFrame) -> list[str]:
    """The documents of :func:`after_table`'s rows, in its order."""
    return list(moves.head(run.movement.summary.top_n)["uuid"])


# ---------------------------------------------------------------------------------------------- relevance


def results_table(
    frame: pd.DataFrame, uuids: list[str], grades: dict[str, int] | None, key_prefix: str, name: str,
    kept: int | None = None,
) -> None:
    """A before/after table: with a grade column to edit when the store is there, read-only otherwise. ``kept``:
    the rows a cut keeps; the rows after them are greyed."""
    if grades is None:
        show_table(frame, key=f"{key_prefix}.{name}", text_width=TEXT_WIDTH, kept=kept)
    else:
        grades_view.grade_table(
            frame, uuids, grades, grades_view.editor_key(key_prefix, name), _column_config(TEXT_WIDTH), kept=kept
        )


CUT_KINDS = {"none": "No cut", "threshold": "Score ≥ t", "top_k": "Top k", "relative": "Relative drop f"}
CUT_DEFAULTS = {"threshold": 0.5, "top_k": 5.0, "relative": 0.3}


def chosen_cut(key_prefix: str) -> tuple[Cut | None, str | None]:
    """The cut picked on the page (from the widgets' state, so the Copy-as-code popover drawn before them in
    the same run agrees), or None; and the message when the value is not a valid cut."""
    kind = st.session_state.get(f"{key_prefix}.cut_kind") or "none"
    if kind not in CUT_DEFAULTS:
        return None, None
    value = st.session_state.get(f"{key_prefix}.cut_{kind}", CUT_DEFAULTS[kind])
    try:
        return Cut(kind, float(value)), None
    except PlaygroundError as err:
        return None, f"{err.message} {err.hint}".strip()


def cut_control(key_prefix: str, candidates: int) -> tuple[Cut | None, Any]:
    """Where to cut a reranked list (issue 23.3): none, a score threshold, top k or a relative drop, drawn for
    Search and Compare alike. Returns the cut (None without one, or when its value is not valid: the message is
    shown) and the cell beside the widgets where the page says what the cut keeps."""
    # the four choices whole at 1280 px (the first column ~420 px; at 3 : 1.4 : 3 the last one was clipped)
    row = st.columns([4, 1.2, 3], vertical_alignment="bottom")
    kind = row[0].segmented_control(
        "Where to cut the reranked list", list(CUT_KINDS), format_func=CUT_KINDS.__getitem__,
        key=f"{key_prefix}.cut_kind", default="none", required=True,
        help="Keep only the reranked documents a cut keeps, as an application would (the Runs page's "
        "“Where to cut” view finds a cut from judgments). Copy as code includes it.",
    )
    if kind in CUT_DEFAULTS:
        if kind == "top_k":
            row[1].number_input("k", min_value=1, max_value=max(1, candidates), step=1,
                                value=int(CUT_DEFAULTS["top_k"]), key=f"{key_prefix}.cut_top_k")
        elif kind == "relative":
            row[1].number_input("f", min_value=0.0, max_value=1.0, step=0.05, value=CUT_DEFAULTS["relative"],
                                key=f"{key_prefix}.cut_relative")
        else:
            row[1].number_input("t", step=0.05, value=CUT_DEFAULTS["threshold"], format="%.4g",
                                key=f"{key_prefix}.cut_threshold")
    cut, problem = chosen_cut(key_prefix)
    if problem:
        row[2].warning(problem)
    return cut, row[2]


def set_cut(key_prefix: str, cut: Cut) -> None:
    """Pick ``cut`` in the page's cut widgets (drawn later, on that page: the Runs page's "Use this cut on
    Search")."""
    st.session_state[f"{key_prefix}.cut_kind"] = cut.kind
    st.session_state[f"{key_prefix}.cut_{cut.kind}"] = int(cut.value) if cut.kind == "top_k" else float(cut.value)


def cut_input(moves: pd.DataFrame, key_prefix: str) -> int | None:
    """Search's cut: how many documents it keeps (of all K, in reranked order), None without a cut."""
    cut, say = cut_control(key_prefix, len(moves))
    if cut is None:
        return None
    scores = [float(v) for v in moves["rerank score"]]  # the reranked list, best first
    kept = cut.kept(scores)
    say.markdown(f"**Cut {md_escape(cut.label)}: kept {kept} of {len(scores)}** · rows below it are greyed")
    return kept


def graded_slope(last: SearchRecord, run: RerankRun, grades: dict[str, int]) -> go.Figure:
    """The slope chart with grade markers, rebuilt only when the grades changed (the latest one is kept)."""
    signature = tuple(sorted(grades.items()))
    kept: tuple[tuple[tuple[str, int], ...], go.Figure] | None = last.memo.get("graded_slope")
    if kept is None or kept[0] != signature:
        figure = charts.slope_chart(run.movement, grades=grades)
        if (figure.layout.height or 0) > MAX_SLOPE_HEIGHT:
            figure.update_layout(height=MAX_SLOPE_HEIGHT)
        kept = (signature, figure)
        last.memo["graded_slope"] = kept
    return kept[1]


# ---------------------------------------------------------------------------------------------- pieces


def _fmt_ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


def headline_metrics(moved: Movement, ndcg: tuple[str, str, str | None] | None = None) -> None:
    """The headline numbers (nDCG, order agreement, how many moved), stacked in the current container: beside
    the first chart, so both are in the first screen and the chart keeps the screen's height for its type.
    ``ndcg``: the card of :func:`grades_view.headline_ndcg` (None without a store); it is there before the
    first grade ("grade to see"), so that grade moves nothing. The scope of each number is in its label."""
    s = moved.summary
    if ndcg:
        label, value, delta = ndcg
        st.metric(
            label, value, delta or "grade to see", delta_color="normal" if delta else "off",
            delta_arrow="auto" if delta else "off",
            help="nDCG of the reranked top N against this query's grades, and its change from the retrieval "
            "order's (unjudged = not relevant; judged@N is in the relevance box under the tables).",
        )
    st.metric(
        f"Kendall τ · all {s.n}", tables.fmt_correlation(s.kendall_tau),
        help="Rank agreement of the two orders over all K candidates (Kendall τ): 1 = unchanged, 0 = unrelated, "
        "−1 = reversed; undefined with fewer than two candidates.",
    )
    st.metric(
        f"Overlap · top {s.shown}", f"{round(s.overlap_at_n * s.shown)}/{s.shown}",
        help=f"How many of the original top {s.shown} are still in the reranked top {s.shown} (the shown N).",
    )
    st.metric(
        f"▲ up / ▼ down · all {s.n}", f"{s.promoted} / {s.demoted}", f"● {s.unchanged} unchanged",
        delta_color="off", delta_arrow="off",
        help=f"Candidates that climbed / fell / kept their rank, over all K. Within the shown top {s.shown}: "
        f"{s.promoted_in_top_n} ▲ promoted, {s.demoted_in_top_n} ▼ demoted, {s.unchanged_in_top_n} ● unchanged.",
    )


def detail_metrics(run: RerankRun) -> None:
    """Latency, tokens and the biggest moves (with their text): under the chart."""
    s = run.movement.summary
    result, search = run.result, run.search
    row = st.columns(5)
    search_cached = f" (cached, from {clock(search.computed_at)})" if search.cached else ""
    rerank_cached = f" (cached, from {clock(result.computed_at)})" if result.cached else ""
    row[0].metric(
        "Search latency" + (" · cached" if search.cached else ""), _fmt_ms(search.latency_ms),
        help="Weaviate search, as measured by the app" + search_cached + ".",
    )
    row[1].metric(
        "Rerank latency" + (" · cached" if result.cached else ""), _fmt_ms(result.latency_ms),
        help="Time of the rerank call" + rerank_cached + ".",
    )
    row[2].metric(
        "Tokens used" + (" · cached" if result.cached else ""), "—" if result.tokens is None else f"{result.tokens:,}",
        help="As reported by the Jina API (none for the local baseline or Weaviate's module)" + rerank_cached
        + (": this run used none" if result.cached else "") + ".",
    )
    for column, label, move in (
        (row[3], f"Biggest climb · all {s.n}", s.biggest_climb),
        (row[4], f"Biggest fall · all {s.n}", s.biggest_fall),
    ):
        with column:
            if move is None or move.delta == 0:
                st.metric(label, "—")
            else:
                st.metric(label, f"#{move.original_rank} → #{move.new_rank}", f"{move.delta:+d} places")
                st.text(tables.snippet(move.text, 90))


def notes(run: RerankRun | None, search: SearchResult | None) -> None:
    items: list[str] = []
    if search is not None:
        items += list(search.notes)
    if run is not None:
        result = run.result
        items += list(result.notes)
        if result.cached:
            items.append("Rerank served from this session's cache: no new API call, no new tokens.")
        if run.movement.summary.tied:
            items.append(
                f"{run.movement.summary.tied} documents share their rerank score with another; among equal "
                "scores the retrieval order is kept (the API's order of ties is not the model's decision)."
            )
        if result.truncated and not any("cut" in note or "truncat" in note for note in result.notes):
            items.append(f"{result.truncated} candidate texts were truncated before reranking.")
    if items:
        with st.container(border=True):
            st.markdown("**Notes**")
            for item in dict.fromkeys(items):
                st.text(f"• {item}")


def reader_moves(run: RerankRun) -> list[Move]:
    """The documents the reader offers: the reranked top N, in reranked order."""
    return sorted(run.movement.moves, key=lambda m: m.new_rank)[: max(run.movement.summary.top_n, 1)]


def full_text_reader(run: RerankRun, key_prefix: str) -> None:
    moves = reader_moves(run)
    hits: dict[str, Hit] = {hit.uuid: hit for hit in run.search.hits}
    with st.container(border=True):
        st.markdown("**Read a document in full**")
        options = list(range(len(moves)))
        state.seed(f"{key_prefix}.doc", 0, options)
        index = st.selectbox(
            "Document (reranked top N)",
            options,
            key=f"{key_prefix}.doc",
            format_func=lambda i: f"#{moves[i].new_rank} (was #{moves[i].original_rank}) "
            f"{tables.snippet(moves[i].text, 90)}",
        )
        move = moves[index]
        st.text(move.text or "(no text in this property)")
        hit = hits.get(move.uuid)
        if hit is not None and hit.properties:
            props = pd.DataFrame(
                [{"property": str(k), "value": tables.snippet(str(v), 500)} for k, v in hit.properties.items()]
            )
            st.dataframe(props, hide_index=True, key=f"{key_prefix}.doc_props")
        st.caption(f"uuid {move.uuid}")


def grade_buttons(run: RerankRun, key_prefix: str, store: Store, grades: dict[str, int]) -> None:
    """One click (or key 0–3) grades the document being read; the headline nDCG, the tables and the chart's
    grade marks follow in the same results run."""
    moves = reader_moves(run)
    request = run.search.request

    def give(grade: int) -> None:
        index = st.session_state.get(f"{key_prefix}.doc", 0)
        move = moves[index if isinstance(index, int) and 0 <= index < len(moves) else 0]
        grades_view.save_grade(store, request.collection, request.query, move.uuid, grade, key_prefix)

    index = st.session_state.get(f"{key_prefix}.doc", 0)
    current = grades.get(moves[index].uuid) if isinstance(index, int) and 0 <= index < len(moves) else None
    row = st.container(horizontal=True, vertical_alignment="center")
    row.markdown("**Grade it:**")
    for grade in (3, 2, 1, 0):
        row.button(  # the label is the badge without its digit: the shortcut hint shows the key
            f"{tables.GRADE_GLYPHS[grade]} {tables.GRADE_NAMES[grade]}", key=f"{key_prefix}.grade_key.{grade}",
            shortcut=str(grade), help=f"Grade the document being read {grade}: {tables.GRADE_NAMES[grade]} "
            f"(key {grade})", type="primary" if current == grade else "secondary", on_click=give, args=(grade,),
        )


@st.fragment
def reader_fragment(run: RerankRun, key_prefix: str) -> None:
    """The reader reruns on its own: picking another document redraws only this box (no charts, tables or
    downloads rebuilt, no server call)."""
    full_text_reader(run, key_prefix)


Download = tuple[str, Callable[[], bytes], str, str, str]  # label, build, file name, mime type, key suffix


def download_files(run: RerankRun | None, search: SearchResult) -> list[Download]:
    """Each download, with a ``build`` that makes the file only when its button is clicked (Streamlit's deferred
    download): built on every run, the four files took ~0.4 s of each click at K = 1,000."""
    request = search.request
    stem = f"{request.collection}-{request.mode.value}".lower()
    meta = {
        "collection": request.collection, "query": request.query, "mode": request.mode.value,
        "candidates": request.limit, "search_latency_ms": search.latency_ms,
    }

    def results() -> pd.DataFrame:
        return tables.results_table(search.hits, snippet_chars=None)

    files: list[Download] = [
        ("Download results (CSV)", lambda: tables.to_csv_bytes(results()), f"{stem}-results.csv", "text/csv",
         "dl_results_csv"),
        ("Download results (JSON)", lambda: tables.to_json_bytes({**meta, "request": request, "results": results()}),
         f"{stem}-results.json", "application/json", "dl_results_json"),
    ]
    if run is None:
        return files
    reranked = run

    def movements() -> pd.DataFrame:
        return tables.movement_table(reranked.movement, snippet_chars=None)

    def payload() -> dict[str, Any]:
        return {
            **meta,
            "reranker": reranked.choice.reranker,
            "model": reranked.result.model,
            "top_n": reranked.movement.summary.top_n,
            "rerank_latency_ms": reranked.result.latency_ms,
            "tokens": reranked.result.tokens,
            "summary": tables.summary_table(reranked.movement.summary),
            "movements": movements(),
        }

    files += [
        ("Download movements (CSV)", lambda: tables.to_csv_bytes(movements()), f"{stem}-movements.csv", "text/csv",
         "dl_moves_csv"),
        ("Download movements (JSON)", lambda: tables.to_json_bytes(payload()), f"{stem}-movements.json",
         "application/json", "dl_moves_json"),
    ]
    return files


def downloads(last: SearchRecord, search: SearchResult, key_prefix: str) -> None:
    files = last.derived("downloads", lambda: download_files(last.run, search))
    cols = st.columns(4)
    for col, (label, build, name, mime, key) in zip(cols, files, strict=False):
        col.download_button(label, build, name, mime, key=f"{key_prefix}.{key}", on_click="ignore")


# ---------------------------------------------------------------------------------------------- page part


def render_last(
    key_prefix: str, current_key: tuple[SearchRequest, RerankChoice, int] | None, notes_px: int = 0
) -> None:
    """The last run of the page. ``notes_px``: the height of what the page drew above it besides the usual rows
    (a spend note), so the first chart still ends inside the first screen."""
    last = last_run.search_record(key_prefix)
    if last is None:
        st.info("Pick a query (or a suggested one) and click **Search & rerank**.")
        return
    stale = current_key is not None and last.key != current_key
    if stale:
        st.caption("These results are from your last run. Inputs changed since: click Search & rerank to update.")
    if last.error:
        st.error(last.error)
    run = last.run
    search = last.search
    if search is None:
        return
    request = search.request
    if run is None:
        st.subheader("Search results (not reranked)")
        st.caption(
            f"{len(search.hits)} candidates for “{md_escape(request.query)}” in {md_escape(request.collection)} "
            f"({request.mode.value}), {_fmt_ms(search.latency_ms)} · shown: {md_escape(request.text_property or '—')}"
        )
        cache_banner(search, None, key_prefix)
        if search.hits:
            show_table(tables.results_table(search.hits[:last.n]), key=f"{key_prefix}.plain_results")
            downloads(last, search, key_prefix)
        return

    moves = last.derived("moves", lambda: tables.movement_table(run.movement))
    editors = {"before": before_uuids(run, moves), "after": after_uuids(run, moves)}
    # Grades edited in the tables are saved before anything is drawn, so the numbers and the chart count them.
    store, grades = grades_view.current_grades(run.search, key_prefix, editors)
    results = {run.choice.label: run.result}
    top_n = run.movement.summary.top_n
    ndcg = None if store is None else grades_view.headline_ndcg(last, run.search, results, top_n, grades)
    first_chart(last, run, grades or {}, key_prefix, numbers=lambda: headline_metrics(run.movement, ndcg),
                notes_px=notes_px + (STALE_NOTE_PX if stale else 0))
    # What the chart and cards above show, said under them: the answer comes first in the screen.
    st.markdown(
        f"**Reranked with {md_escape(run.choice.label)}** · {len(search.hits)} candidates for "
        f"“{md_escape(request.query)}” in {md_escape(request.collection)} ({request.mode.value} search) · top "
        f"{run.movement.summary.top_n} shown · path: {path_label(run.choice.reranker)} · "
        f"reranked on: {md_escape(request.text_property or '—')}"
    )
    cache_banner(search, run, key_prefix)
    s = run.movement.summary
    st.caption(
        f"Scope: Kendall τ, up / down / unchanged and the biggest moves are over all {s.n} candidates (K); the "
        f"overlap and nDCG are over the shown top {s.shown} (N). Within the shown top {s.shown}: "
        f"{s.promoted_in_top_n} ▲ promoted, {s.demoted_in_top_n} ▼ demoted, {s.unchanged_in_top_n} ● unchanged."
    )
    detail_metrics(run)
    if run.movement.summary.n and top_n >= run.movement.summary.n:
        st.caption(
            f"With K = N ({run.movement.summary.n}) every candidate is shown, so nothing can enter or leave the "
            "shown list and the overlap is complete by definition. Raise Candidates K above Shown N to see that."
        )
    kept = cut_input(moves, key_prefix)
    left, right = st.columns(2)
    with left:
        st.markdown(f"**Before: retrieval order** (top {top_n})")
        results_table(before_table(run, moves), editors["before"], grades, key_prefix, "before")
    with right:
        st.markdown(f"**After: reranked** (top {top_n})")
        results_table(after_table(run, moves), editors["after"], grades, key_prefix, "after", kept=kept)
    if store is not None and grades is not None:  # under the tables: a first grade moves nothing above them
        grades_view.relevance_panel(last, run.search, results, top_n, key_prefix, store, grades)
    reader, side = st.columns([3, 2])
    with reader:
        reader_fragment(run, key_prefix)
        if store is not None and grades is not None:
            grade_buttons(run, key_prefix, store, grades)
    with side:
        notes(run, search)
    more_tables(run, moves, key_prefix)
    downloads(last, search, key_prefix)


# ---------------------------------------------------------------------------------------------- in view only

CHARTS = {
    "stage": "Rank movement · top N",
    "stage_full": "All K (log scale)",
    "slope": "Slope chart",
    "delta": "How far each document moved",
    "scatter": "Retrieval vs rerank score",
}
STAGE_VIEWS = {"stage": False, "stage_full": True}  # chart name -> the full-K log view


def _figure(last: SearchRecord, run: RerankRun, name: str) -> go.Figure | None:
    """The run's chart ``name``, built the first time it is shown and kept with the run (``FIGURES`` memo;
    None when building failed: the error is shown, not retried on every rerun)."""
    figures: dict[str, go.Figure | None] = last.memo.setdefault(FIGURES, {})
    if name not in figures:
        built, error = feedback.call_safely(lambda: build_figure(run, name), "charts")
        figures[name] = built
        if error:
            last.memo[f"{FIGURES}.error.{name}"] = error
    error = last.memo.get(f"{FIGURES}.error.{name}")
    if error:
        st.error(error)
    return figures[name]


# What the Search page draws above the first chart once the inputs are folded (title, folded inputs, the Shown
# line, the run row, the chart switch), measured in Chromium: the chart's top at 306 px (1280x720) and 310 px
# (1920x1080), with air. The headline numbers stand beside the chart, so the stage chart gets the rest of the
# first screen's height.
ABOVE_STAGE_PX = 320
STALE_NOTE_PX = 40  # the one-line "Inputs changed since" caption and its gap (39 px measured at 1920x1080)
SPEND_NOTE_PX = 40  # a one-line "Expected Jina tokens" caption and its gap (a warning box is taller: more air)
SIDEBAR_AND_PADDING_PX = 460  # the open sidebar (300 px) and the main column's padding (2 × 80 px)
COLUMN_GAP_PX = 16  # st.columns(gap="small")
CHART_AND_NUMBERS = (7, 2)  # the chart's and the headline numbers' shares of the main column
CHART_SHARE = CHART_AND_NUMBERS[0] / sum(CHART_AND_NUMBERS)
# The lines' share of the chart's width: less than Present's (the chart is narrower, beside the numbers), so the
# labels keep more of their text.
STAGE_LINE_FRACTION = 0.2
STAGE_BEFORE = "before: retrieval"  # whole in the narrower label column at 1280x720 ("… order" was cut)
STAGE_MIN_HEIGHT_PX = 240
STAGE_ROWS_BESIDE_N = 4.4  # rows besides N (headings and legend, border, an edge row, air): stage_chart's budget

# The headline numbers beside the chart: labels wrap instead of being cut, values a little smaller than a
# metric's default so four cards stand beside a 1280x720 chart, and all of it grows with the screen's height
# (like the chart's type). A static style of ours (never built from data).
NUMBERS_STYLE = """<style>
/* Sizes follow the window height up to a 1080 px screen, no further (a full-page screenshot makes "vh" the page). */
[class*="st-key-"][class*="-numbers"] [data-testid="stMetricLabel"],
[class*="st-key-"][class*="-numbers"] [data-testid="stMetricLabel"] *,
[class*="st-key-"][class*="-numbers"] [data-testid="stMetricDelta"],
[class*="st-key-"][class*="-numbers"] [data-testid="stMetricDelta"] * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
}
[class*="st-key-"][class*="-numbers"] [data-testid="stMetricLabel"] p { font-size: clamp(14px, 1.95vh, 22px); }
[class*="st-key-"][class*="-numbers"] [data-testid="stMetricDelta"] { font-size: clamp(14px, 1.8vh, 20px); }
[class*="st-key-"][class*="-numbers"] [data-testid="stMetricValue"] {
  font-size: clamp(1.9rem, 3.8vh, 42px); line-height: 1.2;
}
[class*="st-key-"][class*="-numbers"] [data-testid="stMetricValue"] > div { overflow: visible !important; }
</style>"""


def results_shown(last: last_run.LastRun | None, current_key: object) -> bool:
    """The results on screen are those of the inputs as they are now (the last run's own key, and it ran)."""
    return last is not None and last.run is not None and last.key == current_key


def stage_box(
    screen: viewport.Viewport, notes_px: int = 0, shown: int = 10, above_px: int = ABOVE_STAGE_PX
) -> tuple[int, int, int]:
    """(width, height, font size) of a stage chart drawn as the first chart (Search, Compare): the chart
    column beside the headline numbers, and the height from ``above_px`` (what the page draws above it) to the
    bottom of the first screen, so the whole chart (legend included) ends inside it. ``notes_px``: notes drawn
    above the chart besides the usual rows (the stale-inputs caption). The type is the stage size for this
    screen, or the largest that fits ``shown`` rows in that room (N rows and about 4.4 more of 1.35 × the
    font, see :func:`stage.stage_chart`), never below its floor."""
    height = max(screen.height - above_px - notes_px - 8, STAGE_MIN_HEIGHT_PX)
    # 26: the figure's fixed margins (16 + 8) and the rounding of its top margin
    fits = int((height - 26) / (stage.ROW_PITCH * (max(shown, 1) + STAGE_ROWS_BESIDE_N)))
    font = max(stage.FLOOR_FONT_PX, min(stage.stage_font_px(screen.width, screen.height), fits))
    main = max(screen.width - SIDEBAR_AND_PADDING_PX, 640)
    width = int((main - COLUMN_GAP_PX) * CHART_SHARE) - 8
    return width, height, font


def stage_figure(
    memo: dict[str, Any], movement: Movement, grades: dict[str, int], full: bool, after_label: str,
    box: tuple[int, int, int], name: str = "stage",
) -> go.Figure | None:
    """The stage chart of ``movement`` for this box, view and grades. The latest one built is kept in ``memo``
    under ``name``, so a rerun that changes none of them (a chart switch back, a document pick) builds nothing.
    None when building failed (the error is shown)."""
    width, height, font = box
    signature = (width, height, font, full, after_label, tuple(sorted(grades.items())))
    kept: tuple[object, go.Figure | None, str | None] | None = memo.get(name)
    if kept is None or kept[0] != signature:
        figure, error = feedback.call_safely(lambda: stage.stage_chart(
            movement, grades=grades or None, width_px=width, height_px=height, font_px=font, full=full,
            before_label=STAGE_BEFORE, after_label=after_label, line_fraction=STAGE_LINE_FRACTION,
        ), "stage chart")
        kept = (signature, figure, error)
        memo[name] = kept
    if kept[2]:
        st.error(kept[2])
    return kept[1]


def show_stage(figure: go.Figure, key_prefix: str, name: str) -> None:
    """A stage chart at its own pixel size, in the container browser tests measure (``<prefix>-stage``)."""
    with st.container(key=f"{key_prefix}-stage"):
        st.plotly_chart(figure, key=f"{key_prefix}.{name}", theme=None, config=PLOTLY_CONFIG, width="content")


def chart_and_numbers(key_prefix: str, numbers: Callable[[], None] | None) -> Any:
    """The row of the first chart: the chart's column (returned) and the headline numbers stacked beside it."""
    st.html(NUMBERS_STYLE)
    chart_col, numbers_col = st.columns(list(CHART_AND_NUMBERS), gap="small")
    if numbers is not None:
        with numbers_col, st.container(key=f"{key_prefix}-numbers"):
            numbers()
    return chart_col


@st.fragment
def first_chart(
    last: SearchRecord, run: RerankRun, grades: dict[str, int], key_prefix: str,
    numbers: Callable[[], None] | None = None, notes_px: int = 0,
) -> None:
    """The one chart in view, with the headline numbers (``numbers`` draws them) beside it: the first chart
    after a click. The stage chart (linear top N) by default, the full-K log view one click away; only the
    chart picked in the switch is built into the page. A fragment inside the results: a switch reruns only the
    chart and its numbers (no tables, reader or downloads redrawn, no server call)."""
    state.seed(f"{key_prefix}.chart", "stage", list(CHARTS))
    picked = st.segmented_control(
        "Chart", list(CHARTS), format_func=CHARTS.__getitem__, key=f"{key_prefix}.chart",
        required=True, label_visibility="collapsed",
    )
    name = picked or "stage"
    chart_col = chart_and_numbers(key_prefix, numbers)
    with chart_col:
        if name in STAGE_VIEWS:
            box = stage_box(viewport.known(), notes_px, shown=run.movement.summary.shown)
            figure = stage_figure(last.memo, run.movement, grades, STAGE_VIEWS[name],
                                  f"after: {run.choice.label}", box)
            if figure is not None:
                show_stage(figure, key_prefix, name)
            return
        figure = _figure(last, run, name)
        if figure is None:
            return
        if name == "slope" and grades:
            figure = graded_slope(last, run, grades)
        st.plotly_chart(figure, key=f"{key_prefix}.{name}", theme=None, config=PLOTLY_CONFIG)


MORE_TABLES = {"all": "All candidates (every K row)", "summary": "Summary table"}


def more_tables(run: RerankRun, moves: pd.DataFrame, key_prefix: str) -> None:
    """The K-row table and the summary table, built and sent only when asked for."""
    picked = st.segmented_control(
        "More tables", list(MORE_TABLES), format_func=MORE_TABLES.__getitem__, key=f"{key_prefix}.more_tables",
        help="Built only when shown: the K-row table is the largest thing on the page.",
    )
    if picked == "all":
        show_table(moves, key=f"{key_prefix}.all_moves", height=400)
    elif picked == "summary":
        st.dataframe(tables.summary_table(run.movement.summary), hide_index=True, key=f"{key_prefix}.summary")
