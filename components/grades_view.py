"""Grades and per-query metrics on the Search and Compare pages.

- Grade tables: the before/after tables as ``st.data_editor`` with one editable column, ``grade`` (a badge,
  ``◆ 3 perfect`` ... ``○ unjudged``). An edit is written to the store at the start of the next run, before
  anything is drawn, so the metrics and charts of that run already count it; the editor then gets a new key
  (``{key_prefix}.grades.{table}.{version}``) so it shows the store's grades, never a stale edit of its own.
- Metrics: nDCG@N, RR@N, P@N, R@N (binary ones at the stated relevance level) and judged@N of every
  ordering, with the change against the retrieval order, as soon as the query has a grade.
- "Add this query to a set".

Judgments are keyed by (collection, normalised query, Weaviate uuid).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from components import feedback, store_access
from components.last_run import LastRun
from components.safe import md_escape
from rerank_playground import tables
from rerank_playground.errors import InvalidInput
from rerank_playground.evaluation.judgments import RELEVANCE_LEVEL, QuerySet, normalise_query, relevance_note
from rerank_playground.judging import RETRIEVAL, metrics_table, ordering_metrics, orderings
from rerank_playground.models import RerankResult, SearchResult
from rerank_playground.store import Store

GRADE_HELP = (
    "Your grade for this document and this query, saved at once: ◆ 3 perfect, ■ 2 relevant, □ 1 related, "
    "— 0 not relevant; ○ unjudged clears it. Keys 0–3 grade faster in the Judge view."
)
GRADE_WIDTH = 128


def _version_key(key_prefix: str) -> str:
    return f"{key_prefix}.grades_version"


def editor_key(key_prefix: str, table: str) -> str:
    return f"{key_prefix}.grades.{table}.{st.session_state.get(_version_key(key_prefix), 0)}"


def grades_for(store: Store, collection: str, query: str) -> dict[str, int] | None:
    """This query's grades (uuid -> grade); None (with an error shown) if the store failed."""
    grades, error = feedback.call_safely(lambda: store.grades(collection, normalise_query(query)), "reading grades")
    if error:
        st.warning(f"Could not read the grades: {error}")
        return None
    return dict(grades or {})


def _edited_rows(state: Any) -> dict[int, dict[str, Any]]:
    rows = state.get("edited_rows") if isinstance(state, Mapping) else None
    if not isinstance(rows, Mapping):
        return {}
    return {int(row): dict(change) for row, change in rows.items() if isinstance(change, Mapping)}


def apply_grade_edits(
    store: Store, collection: str, query: str, editors: Mapping[str, Sequence[str]], key_prefix: str
) -> None:
    """Write the grades edited in the tables since the last run (``editors``: table name -> uuid per row)."""
    changed = False
    for table, uuids in editors.items():
        for row, change in _edited_rows(st.session_state.get(editor_key(key_prefix, table))).items():
            if "grade" not in change or not 0 <= row < len(uuids):
                continue
            try:
                grade = tables.grade_of_badge(change["grade"])
            except ValueError:
                continue  # not one of the offered badges: nothing to save
            doc = uuids[row]

            def write(doc: str = doc, grade: int | None = grade) -> None:
                if grade is None:
                    store.clear_grade(collection, normalise_query(query), doc)
                else:
                    store.set_grade(collection, normalise_query(query), doc, grade, judge=judge_name())

            _, error = feedback.call_safely(write, "saving a grade")
            if error:
                st.error(f"The grade was not saved: {error}")
            changed = True
    if changed:  # a fresh editor shows the store's grades; the old one's edit state is dropped with its key
        st.session_state[_version_key(key_prefix)] = st.session_state.get(_version_key(key_prefix), 0) + 1


def save_grade(store: Store, collection: str, query: str, doc: str, grade: int, key_prefix: str) -> None:
    """One grade given with a button (a callback: before the run it causes), then fresh table editors."""
    _, error = feedback.call_safely(
        lambda: store.set_grade(collection, normalise_query(query), doc, grade, judge=judge_name()), "saving a grade"
    )
    if error:
        st.error(f"The grade was not saved: {error}")
    st.session_state[_version_key(key_prefix)] = st.session_state.get(_version_key(key_prefix), 0) + 1


def judge_name() -> str | None:
    """The optional name a person gave in the Judge view, recorded with each of their grades."""
    name = str(st.session_state.get("_judge_name") or "").strip()
    return name[:100] or None


def with_grades(frame: pd.DataFrame, uuids: Sequence[str], grades: Mapping[str, int]) -> pd.DataFrame:
    """``frame`` with a ``grade`` badge column after its first column (rows in the order of ``uuids``)."""
    out = frame.reset_index(drop=True).copy()
    out.insert(1, "grade", [tables.grade_badge(grades.get(u)) for u in uuids])
    return out


def grade_table(
    frame: pd.DataFrame,
    uuids: Sequence[str],
    grades: Mapping[str, int],
    key: str,
    column_config: dict[str, Any],
    kept: int | None = None,
) -> None:
    """``frame`` as an editor whose only editable column is the grade badge (rows after ``kept`` greyed)."""
    shown = with_grades(frame, uuids, grades)
    config = dict(column_config)
    config["grade"] = st.column_config.SelectboxColumn(
        "grade", options=list(tables.GRADE_BADGES), required=False, width=GRADE_WIDTH, help=GRADE_HELP
    )
    st.data_editor(
        greyed_after(shown, kept),
        hide_index=True,
        column_config=config,
        disabled=[c for c in shown.columns if c != "grade"],
        num_rows="fixed",
        key=key,
    )


CUT_STYLE = "color: #9e9e9e"  # below a cut: still readable, visibly out


def greyed_after(frame: pd.DataFrame, kept: int | None) -> pd.DataFrame | Styler:
    """``frame`` with its rows after the first ``kept`` greyed (a Styler; the frame itself when nothing is cut).
    Streamlit applies the style to the read-only columns only, so a grade stays editable."""
    if kept is None:
        return frame
    return greyed_below(frame, dict.fromkeys(map(str, frame.columns), kept))


def greyed_below(frame: pd.DataFrame, kept: Mapping[str, int]) -> pd.DataFrame | Styler:
    """``frame`` with each column named in ``kept`` greyed after its first ``kept[column]`` rows (one cut, a
    different count per model on Compare); the frame itself when nothing is greyed."""
    styles = pd.DataFrame("", index=frame.index, columns=frame.columns)
    for position, column in enumerate(frame.columns):
        if str(column) in kept and kept[str(column)] < len(frame):
            styles.iloc[kept[str(column)]:, position] = CUT_STYLE
    if not (styles == CUT_STYLE).to_numpy().any():
        return frame
    return frame.style.apply(lambda _: styles, axis=None)


# ---------------------------------------------------------------------------------------------- metrics


def ordering_label(name: str, mode: str | None = None) -> str:
    if name == RETRIEVAL:
        return f"retrieval order ({mode} search)" if mode else "retrieval order"
    return name


def display_table(frame: pd.DataFrame, mode: str | None) -> pd.DataFrame:
    """:func:`metrics_table` as shown: 3 decimals, signed changes, "—" where a value is undefined or is the
    baseline's own change (never a bare "None" or "nan")."""
    shown = frame.copy()
    shown["ordering"] = [ordering_label(name, mode) for name in shown["ordering"]]
    for column in shown.columns:
        if column == "ordering" or column.startswith("judged"):
            continue
        pattern = "{:+.3f}" if column.startswith("Δ") else "{:d}" if column == "relevant" else "{:.3f}"
        shown[column] = [
            "—" if value is None or pd.isna(value) else pattern.format(int(value) if column == "relevant" else value)
            for value in shown[column]
        ]
    return shown


def metrics_panel(
    grades: Mapping[str, int],
    ranked: Mapping[str, Sequence[str]],
    k: int,
    *,
    collection: str,
    query: str,
    mode: str | None,
    key_prefix: str,
) -> None:
    """nDCG@k of each ordering as metric cards (with the change and judged@k), then every measure in a table."""
    if not grades:
        st.caption(
            f"No grades for this query yet. Grade results in the tables below, or with keys 0–3 in the Judge "
            f"view, and nDCG@{k} of each ordering appears here."
        )
        st.page_link("pages/judge.py", label="Judge these results", icon=":material/keyboard:")
        return
    metrics, error = feedback.call_safely(lambda: ordering_metrics(grades, ranked, k), "relevance metrics")
    if error or metrics is None:
        st.error(error or "The relevance metrics could not be computed.")
        return
    st.markdown(f"**Relevance of the top {k}** (this query's grades)")
    names = list(metrics)
    base = metrics.get(RETRIEVAL)
    cards = st.columns(max(len(names), 1))
    for column, name in zip(cards, names, strict=True):
        m = metrics[name]
        value = "—" if m.ndcg is None else f"{m.ndcg:.3f}"
        delta, arrow, colour = "baseline", "off", "off"  # the retrieval card: same height as the others
        if name != RETRIEVAL:
            delta, arrow, colour = "not comparable (undefined)", "off", "off"
            if base is not None and m.ndcg is not None and base.ndcg is not None:
                delta, arrow, colour = f"{m.ndcg - base.ndcg:+.3f} vs retrieval", "auto", "normal"
        column.metric(
            f"nDCG@{k} · {ordering_label(name, mode)}",
            value,
            delta,
            delta_color=colour,  # type: ignore[arg-type]
            delta_arrow=arrow,  # type: ignore[arg-type]
            help=(
                f"Normalised discounted cumulative gain of this ordering's top {k} against the grades stored "
                "for this query (ir-measures). Unjudged documents count as not relevant: judged@k says how "
                "many of the top k have a grade."
            ),
        )
        column.caption(f"judged@{k} = {m.judged}/{m.judged_of}")
    frame = display_table(metrics_table(metrics), mode)
    config: dict[str, Any] = {
        column: st.column_config.TextColumn(column, alignment="right") for column in frame.columns[1:]
    }
    config["ordering"] = st.column_config.TextColumn("ordering", width="medium")
    config["relevant"] = st.column_config.TextColumn(
        "relevant known", alignment="right",
        help=f"Documents graded {RELEVANCE_LEVEL} or more for this query (R@k's denominator), ranked or not.",
    )
    st.dataframe(frame, hide_index=True, column_config=config, key=f"{key_prefix}.relevance")
    st.caption(
        f"Scope: this query only (“{md_escape(query)}” in {md_escape(collection)}), the top {k} of each "
        f"ordering, against the {len(grades)} grade{'s' if len(grades) != 1 else ''} stored for it. "
        "Unjudged documents count as not relevant in these numbers; judged@k stands beside them. "
        "Δ = change against the retrieval order; — = undefined (e.g. recall with nothing relevant known). "
        + relevance_note(RELEVANCE_LEVEL)
    )


def current_grades(
    search: SearchResult, key_prefix: str, editors: Mapping[str, Sequence[str]] | None = None
) -> tuple[Store | None, dict[str, int] | None]:
    """The store and this query's grades, grades edited in the run's tables saved first (``editors``: table
    name -> uuid per row). (None, None) when the store is unavailable (a calm note is shown)."""
    store = store_access.get_store()
    if store is None:
        store_access.unavailable_note()
        return None, None
    request = search.request
    if editors:
        apply_grade_edits(store, request.collection, request.query, editors, key_prefix)
    return store, grades_for(store, request.collection, request.query)


def headline_ndcg(
    last: LastRun, search: SearchResult, results: Mapping[str, RerankResult], k: int, grades: Mapping[str, int] | None,
    model: str | None = None,
) -> tuple[str, str, str | None]:
    """(label, value, delta) of the headline nDCG card: the reranked order's nDCG, and "+0.126 from 0.412" (its
    change from the retrieval order's) when the query has grades; a dash otherwise. The card is there either
    way, so the first grade moves nothing. ``model``: the ordering of ``results`` the card is about (default:
    the first)."""
    label = f"nDCG@{k} · reranked"
    if not grades:
        return label, "—", None
    ranked = last.derived("orderings", lambda: orderings(search.hits, results))
    metrics, error = feedback.call_safely(lambda: ordering_metrics(grades, ranked, k), "relevance metrics")
    if error or not metrics or RETRIEVAL not in metrics:
        return label, "—", None
    base = metrics[RETRIEVAL].ndcg
    after = (metrics[model].ndcg if model in metrics else None) if model is not None else next(
        (m.ndcg for name, m in metrics.items() if name != RETRIEVAL), None)
    if base is None or after is None:
        return label, "—", None
    return label, f"{after:.3f}", f"{after - base:+.3f} from {base:.3f} (retrieval)"


def relevance_panel(
    last: LastRun,
    search: SearchResult,
    results: Mapping[str, RerankResult],
    k: int,
    key_prefix: str,
    store: Store,
    grades: Mapping[str, int],
) -> None:
    """The relevance box of a Search or Compare run: each ordering's metrics and "add to a set"."""
    request = search.request
    ranked = last.derived("orderings", lambda: orderings(search.hits, results))
    with st.container(border=True):
        metrics_panel(
            grades, ranked, k, collection=request.collection, query=request.query, mode=request.mode.value,
            key_prefix=key_prefix,
        )
        add_to_set(store, request.collection, request.query, key_prefix)


def relevance_section(
    last: LastRun,
    search: SearchResult,
    results: Mapping[str, RerankResult],
    k: int,
    key_prefix: str,
    editors: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, int] | None:
    """:func:`current_grades` then :func:`relevance_panel`. Returns the query's grades, or None when the store
    is unavailable (the rest of the page works as before)."""
    store, grades = current_grades(search, key_prefix, editors)
    if store is None or grades is None:
        return None
    relevance_panel(last, search, results, k, key_prefix, store, grades)
    return grades


# ---------------------------------------------------------------------------------------------- query sets


NEW_SET = "➕ a new set…"


def add_to_set(store: Store, collection: str, query: str, key_prefix: str) -> None:
    """A popover: put this query into an existing query set of the collection, or a new one."""
    with st.popover("Add this query to a set", icon=":material/playlist_add:"):
        sets, error = feedback.call_safely(lambda: store.query_sets(collection), "listing query sets")
        if error:
            st.error(error)
            return
        names = [s.name for s in sets or []]
        choice = st.selectbox(f"Query set of {md_escape(collection)}", [*names, NEW_SET], key=f"{key_prefix}.add_set")
        new_name = ""
        if choice == NEW_SET:
            new_name = st.text_input("Name of the new set", key=f"{key_prefix}.add_set_name", max_chars=100)
        st.text(f"Query: {query}")
        if st.button("Add", key=f"{key_prefix}.add_set_go", type="primary"):
            name = new_name.strip() if choice == NEW_SET else str(choice)
            if not name:
                st.error("Give the new set a name.")
                return

            def add() -> Any:
                if choice == NEW_SET:
                    if name in {s.name for s in store.query_sets()}:
                        raise InvalidInput(
                            f"A query set named “{name}” already exists (perhaps for another collection).",
                            hint="Pick it in the list, or choose another name.",
                        )
                    store.save_query_set(QuerySet(name, collection, (), None))
                return store.add_query(name, query)

            added, error = feedback.call_safely(add, "adding a query to a set")
            if error:
                st.error(error)
            elif added is not None:
                st.success(f"Added to “{md_escape(name)}” as query {md_escape(added.query_id)}.")
