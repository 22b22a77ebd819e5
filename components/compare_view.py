"""Several rerankers on the same candidates: pick models, run them concurrently, compare the orders.

The last comparison is kept in session state as a :class:`~components.last_run.CompareRecord`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components import feedback, grades_view, last_run, results_view, safe, spend_note, state, viewport
from components.last_run import CompareRecord
from components.results_view import PLOTLY_CONFIG, TEXT_COLUMN, Download, _fmt_ms
from components.safe import md_escape
from rerank_playground import charts, movement, tables
from rerank_playground.errors import ProviderError
from rerank_playground.evaluation import cutoff
from rerank_playground.limits import MAX_COMPARED
from rerank_playground.models import CollectionInfo, RerankResult, SearchRequest
from rerank_playground.outcomes import CompareRun
from rerank_playground.playground import Playground
from rerank_playground.presentation.snapshot import path_label
from rerank_playground.rerankers import get_provider
from rerank_playground.rerankers.choice import RerankChoice, choice_id


def available_choices(pg: Playground, info: CollectionInfo) -> list[RerankChoice]:
    return pg.offered_choices(info)


def default_ids(pg: Playground, info: CollectionInfo) -> list[str]:
    return [choice_id(c) for c in pg.default_choices(info)]


def _on_models_change(widget_key: str) -> None:
    state.update_inputs(models=tuple(st.session_state.get(widget_key) or ()))


def model_picker(pg: Playground, info: CollectionInfo, key_prefix: str) -> list[RerankChoice]:
    values = state.inputs()
    by_id = {choice_id(c): c for c in available_choices(pg, info)}
    wanted = values.models if values.models is not None else default_ids(pg, info)
    chosen = [i for i in wanted if i in by_id][:MAX_COMPARED]
    widget_key = f"{key_prefix}.models"
    current = st.session_state.get(widget_key)
    if current is None or any(i not in by_id for i in current) or values.models is None:
        st.session_state[widget_key] = chosen

    def label(choice_id: str) -> str:
        choice = by_id[choice_id]
        provider = get_provider(choice.reranker)
        if pg.key_missing(provider):
            return f"{choice.label} ({provider.key_hint})"
        if provider.collection_models is not None:  # the model is the one set in the collection's config
            return f"{choice.label} (configured on {info.name})"
        return choice.label

    ids = st.multiselect(
        "Models to compare",
        list(by_id),
        # The stored value as the default too (see state.seed): a browser redraw without widget state fell
        # back to an empty pick and dropped a link's models.
        default=st.session_state[widget_key],
        key=widget_key,
        format_func=label,
        max_selections=MAX_COMPARED,
        on_change=_on_models_change,
        args=(widget_key,),
        help="Up to five rerankers reorder the same candidates. Each one failing leaves the others shown.",
    )
    if values.models is not None:
        state.update_inputs(models=tuple(ids))
    offered = list(dict.fromkeys(get_provider(c.reranker) for c in by_id.values()))
    for provider in offered:
        if pg.key_missing(provider):
            st.caption(f"Each {provider.model_prompt} {provider.key_hint} (paste it in the sidebar).")
    chosen_providers = {by_id[i].reranker for i in ids}
    for provider in offered:
        if provider.key_optional and provider.name in chosen_providers:
            if pg.no_key_known(provider):
                st.warning(spend_note.needs_a_key(provider), icon=":material/lock:")
            else:
                st.caption(f"{provider.short_label}: {spend_note.module_payer(pg)}")
    return [by_id[i] for i in ids]


def compare_key(
    request: SearchRequest, choices: list[RerankChoice]
) -> tuple[SearchRequest, tuple[RerankChoice, ...]]:
    return (request, tuple(choices))


def _ask_run_again(key_prefix: str) -> None:
    st.session_state[f"{key_prefix}.run_again"] = True


def run_again_if_asked(pg: Playground, key_prefix: str) -> bool:
    """The "Run again" button under a cached comparison: the same inputs, asked again for real."""
    if not st.session_state.pop(f"{key_prefix}.run_again", False):
        return False
    last = last_run.compare_record(key_prefix)
    if last is None:
        return False
    run_compare(pg, last.request, list(last.choices), key_prefix, force=True)
    return True


def run_compare(
    pg: Playground, request: SearchRequest, choices: list[RerankChoice], key_prefix: str, *, force: bool = False
) -> None:
    # Kept at every step, like the page shows it: a run stopped half-way (a new click) leaves what it had.
    record = CompareRecord(request, tuple(choices))
    last_run.keep(key_prefix, record)
    if not choices:
        last_run.keep(key_prefix, replace(record, error="Pick at least one model to compare."))
        return
    search, error = feedback.call_safely(lambda: pg.search(request, force=force), "compare search")
    record = replace(record, search=search, error=error)
    last_run.keep(key_prefix, record)
    if search is None:
        return
    main_thread = threading.current_thread()
    total = len(choices)
    with st.status(f"Reranking {len(search.hits)} candidates with {total} models…", expanded=True) as status:
        bar = st.progress(0.0, text=f"0 of {total} models done")
        done: list[str] = []

        def on_done(choice: RerankChoice, outcome: RerankResult | ProviderError) -> None:
            done.append(choice.label)
            if threading.current_thread() is not main_thread:
                return  # called from a worker: the summary below is drawn after compare returns
            if isinstance(outcome, ProviderError):
                st.text(f"✖ {choice.label}: failed")
            else:
                extra = " (from cache)" if outcome.cached else ""
                st.text(f"✔ {choice.label}: {_fmt_ms(outcome.latency_ms)}{extra}")
            bar.progress(len(done) / total, text=f"{len(done)} of {total} models done")

        run, error = feedback.call_safely(lambda: pg.compare(search, choices, on_done=on_done, force=force), "compare")
        last_run.keep(key_prefix, replace(record, run=run, error=error))
        if run is None:
            status.update(label="The comparison failed.", state="error", expanded=False)
            return
        bar.progress(1.0, text=f"{total} of {total} models done")
        failed = len(run.errors)
        label = f"Compared {total} model{'s' if total != 1 else ''}: {total - failed} done, {failed} failed."
        state: Literal["complete", "error"] = "error" if failed == total else "complete"
        status.update(label=label, state=state, expanded=False)


# ---------------------------------------------------------------------------------------------- rendering


def model_table(run: CompareRun, choices: Sequence[RerankChoice]) -> pd.DataFrame:
    rows = []
    for choice in choices:
        label = run.shown_as.get(choice.label, choice.label)  # the model that really ranked
        result = run.results.get(label)
        error = run.errors.get(choice.label)
        rows.append(
            {
                "model": label,
                "path": path_label(choice.reranker),
                "status": "ok" if result is not None else "failed",
                "latency ms": None if result is None else round(result.latency_ms, 1),
                "tokens": None if result is None else result.tokens,
                "API calls": None if result is None else result.api_calls,
                "from cache": None if result is None else result.cached,
                "answered at": None if result is None else results_view.clock(result.computed_at),
                "error": "" if error is None else str(error),
            }
        )
    return pd.DataFrame(rows)


def model_display_table(models: pd.DataFrame) -> pd.DataFrame:
    """``model_table`` as shown on the page: a cached result has no latency of its own ("— (cache)"), and a
    missing number (the local baseline's tokens, a failed model's latency) reads "—", not "None"."""
    shown = models.copy()

    def latency(row: pd.Series) -> str:
        cached = row["from cache"]
        if cached is not None and not pd.isna(cached) and bool(cached):
            return "— (cache)"
        value = row["latency ms"]
        return "—" if value is None or pd.isna(value) else f"{value:,.1f}"

    def number(value: Any) -> str:
        return "—" if value is None or pd.isna(value) else f"{int(value):,}"

    def tokens(row: pd.Series) -> str:
        cached = row["from cache"]
        text = number(row["tokens"])
        return f"{text} (cached)" if text != "—" and cached is not None and not pd.isna(cached) and cached else text

    shown["latency ms"] = shown.apply(latency, axis=1) if len(shown) else shown["latency ms"]
    shown["tokens"] = shown.apply(tokens, axis=1) if len(shown) else shown["tokens"]
    shown["API calls"] = shown["API calls"].map(number)
    return shown


def top_n_table(run: CompareRun, n: int, grades: dict[str, int] | None = None) -> pd.DataFrame:
    """Rank 1..n; one column per ordering (retrieval first), each cell the text snippet at that rank.

    With ``grades`` (this query's judgments) each cell starts with the document's grade badge.
    """
    hits = run.search.hits
    n = min(n, len(hits))
    columns: dict[str, list[str]] = {"rank": [str(i) for i in range(1, n + 1)]}
    for name in run.rank_matrix.columns:
        order = run.rank_matrix[name].sort_values(kind="stable").index[:n]
        columns[str(name)] = [
            tables.snippet(hits[i].text, 80) if grades is None
            else f"{tables.grade_badge(grades.get(hits[i].uuid))} · {tables.snippet(hits[i].text, 80)}"
            for i in order
        ]
    return pd.DataFrame(columns)


def kept_by_model(run: CompareRun, key_prefix: str) -> dict[str, int]:
    """The cut picked above the top-N table (Search's control; Copy as code takes it too): how many documents of
    each model's reranked list it keeps, said beside the control. The retrieval order is not cut."""
    cut, _ = results_view.cut_control(key_prefix, len(run.search.hits))
    if cut is None:
        return {}
    kept = {label: cut.kept([d.score for d in result.ranked]) for label, result in run.results.items()}
    counts = " · ".join(f"{md_escape(label)} **{kept[label]} of {len(result.ranked)}**"
                        for label, result in run.results.items())
    # under the control, full width: one count per model does not fit beside it
    st.markdown(f"**Cut {md_escape(cut.label)}**: kept {counts} · rows below it are greyed")
    if cut.kind == "threshold" and len(kept) > 1:
        st.caption(cutoff.SCALE_NOTE)
    return kept


def graded_bump(
    last: CompareRecord, run: CompareRun, n: int, grades: dict[str, int]
) -> tuple[go.Figure | None, str | None]:
    """The bump chart with grade markers, rebuilt only when the grades or N changed (the latest one is kept)."""
    signature = (n, tuple(sorted(grades.items())))
    kept = last.memo.get("graded_bump")
    if kept is None or kept[0] != signature:
        texts = [hit.text for hit in run.search.hits]
        row_grades = [grades.get(hit.uuid) for hit in run.search.hits]
        built = feedback.call_safely(
            lambda: charts.bump_chart(run.rank_matrix, texts, highlight=min(n, len(texts)), grades=row_grades),
            "bump chart",
        )
        kept = (signature, built)
        last.memo["graded_bump"] = kept
    figure_or_error: tuple[go.Figure | None, str | None] = kept[1]
    return figure_or_error


def agreement_at(run: CompareRun, n: int) -> pd.DataFrame:
    """Agreement of every pair of orderings: correlations over all K candidates, overlap over the shown
    top N (the same N as the top-N table beside it), so the two tables on the page speak of the same list."""
    shown = max(1, min(n, len(run.search.hits)))
    return movement.pairwise_agreement(run.results, run.search.hits, k=shown)


def agreement_table(agreement: pd.DataFrame, candidates: int) -> pd.DataFrame:
    frame = agreement.copy()
    for column in ("kendall_tau", "spearman_rho"):
        frame[column] = [tables.fmt_correlation(None if pd.isna(v) else float(v), 3) for v in frame[column]]
    overlap = next(c for c in frame.columns if str(c).startswith("overlap@"))
    top = overlap.removeprefix("overlap@")
    return frame.rename(columns={"a": "ordering A", "b": "ordering B",
                                 "kendall_tau": f"Kendall τ (all {candidates})",
                                 "spearman_rho": f"Spearman ρ (all {candidates})",
                                 overlap: f"overlap (top {top})"})


def render_last(
    key_prefix: str, n: int, current_key: tuple[SearchRequest, tuple[RerankChoice, ...]] | None, notes_px: int = 0
) -> None:
    """The last comparison. ``notes_px``: the height of what the page drew above it besides the usual rows (a
    spend note), so the first chart still ends inside the first screen."""
    last = last_run.compare_record(key_prefix)
    if last is None:
        st.info("Pick one to five models and click **Compare models**.")
        return
    if current_key is not None and last.key != current_key:
        st.caption("These results are from your last comparison. Inputs changed since: click Compare models to update.")
    if last.error:
        st.error(last.error)
    run = last.run
    if run is None:
        return
    for label, err in run.errors.items():
        st.error(f"{md_escape(label)}: {safe.text(err)}")
    if not run.results:
        _describe(run, key_prefix)
        _models_and_notes(last, run, key_prefix)
        return
    shown = min(n, len(run.search.hits))
    texts = [hit.text for hit in run.search.hits]
    store, grades = grades_view.current_grades(run.search, key_prefix)
    stale = current_key is not None and last.key != current_key
    first_chart(last, run, n, grades or {}, key_prefix, judged=store is not None,
                notes_px=notes_px + (results_view.STALE_NOTE_PX if stale else 0) + ERROR_PX * len(run.errors))
    _describe(run, key_prefix)  # what the chart above shows, said under it: the answer comes first in the screen
    models = _models_and_notes(last, run, key_prefix)
    kept = kept_by_model(run, key_prefix)
    st.markdown(f"**Top {shown} under each ordering**")
    top = top_n_table(run, n, grades or None)
    st.dataframe(
        grades_view.greyed_below(top, kept), hide_index=True, key=f"{key_prefix}.top_table",
        column_config={c: st.column_config.TextColumn(c, width="medium") for c in top.columns if c != "rank"},
    )
    if store is not None and grades is not None:
        grades_view.relevance_panel(last, run.search, run.results, shown, key_prefix, store, grades)
    agreement = last.derived(f"agreement@{shown}", lambda: agreement_at(run, shown))
    st.markdown(
        f"**Agreement between orderings** (1 = identical order; correlations over all {len(texts)} candidates, "
        f"overlap over the top {shown} shown above)"
    )
    st.dataframe(agreement_table(agreement, len(texts)), hide_index=True, key=f"{key_prefix}.agreement")
    if st.toggle(f"Rank of every candidate under each ordering (all {len(texts)})", key=f"{key_prefix}.show_matrix",
                 help="Built only when shown: a K-row table."):
        matrix = run.rank_matrix.copy()
        matrix.insert(0, "text", texts)
        st.dataframe(matrix, hide_index=True, key=f"{key_prefix}.matrix", column_config={"text": TEXT_COLUMN})

    files = last.derived(f"downloads@{shown}", lambda: compare_downloads(run, models, texts, agreement))
    cols = st.columns(3)
    for col, (label, build, name, mime, key) in zip(cols, files, strict=True):
        col.download_button(label, build, name, mime, key=f"{key_prefix}.{key}", on_click="ignore")


def _describe(run: CompareRun, key_prefix: str) -> None:
    """The comparison's own description, and the note (with "Run again") when it came from the cache."""
    request = run.search.request
    st.markdown(
        f"**Model comparison** · {len(run.search.hits)} candidates for “{md_escape(request.query)}” in "
        f"{md_escape(request.collection)} ({request.mode.value} search), search {_fmt_ms(run.search.latency_ms)} · "
        f"reranked on: {md_escape(request.text_property or '—')}"
    )
    cached = [r for r in run.results.values() if r.cached]
    if run.search.cached or cached:
        parts = [f"search from {results_view.clock(run.search.computed_at)}"] if run.search.cached else []
        parts += [f"{md_escape(r.model)} from {results_view.clock(r.computed_at)}" for r in cached]
        text, button = st.columns([5, 1], vertical_alignment="center")
        text.info("Served from this session's cache, nothing was asked again: " + "; ".join(parts)
                  + ". Their latency and tokens are those of that earlier run.", icon=":material/history:")
        button.button("Run again", key=f"{key_prefix}.run_again_button", on_click=_ask_run_again,
                      args=(key_prefix,), help="Ask Weaviate and every model again, for real, with these inputs.")


# Compare's first chart: the stage chart of retrieval vs one model (the user picks which), the full-K log view
# and the bump chart of every ordering one click away.
CHARTS = {
    "stage": "Rank movement · top N",
    "stage_full": "All K (log scale)",
    "bump": "Every model (bump chart)",
}
# What the Compare page draws above the first chart once the inputs are folded (title, folded inputs, the
# Shown line, the run row, the chart switch and the model picker), measured in Chromium: the chart's top at
# 318 px (1920x1080, one model), about 22 px lower when the Shown line names three models and wraps at 1280 px.
ABOVE_STAGE_PX = 334
ERROR_PX = 64  # one model's error box above the chart, and its gap


def _pick_model(run: CompareRun, key_prefix: str, row: Any) -> str:
    """The model the stage chart and the numbers beside it are about (default: the first that ran)."""
    labels = list(run.results)
    widget_key = f"{key_prefix}.stage_model"
    index = state.seeded_index(widget_key, labels[0], labels)
    with row, st.container(key=f"{key_prefix}-model-picker", width="content"):
        picked = st.selectbox(
            "Model on the chart", labels, index=index, key=widget_key,
            format_func=lambda label: f"retrieval vs {label}", label_visibility="collapsed", width=320,
            help="The stage chart and the numbers beside it: how this model reordered the retrieval order.",
        )
    return str(picked) if picked in run.results else labels[0]


@st.fragment
def first_chart(
    last: CompareRecord, run: CompareRun, n: int, grades: dict[str, int], key_prefix: str, *, judged: bool = False,
    notes_px: int = 0,
) -> None:
    """The first chart after a click, with the headline numbers of the picked model beside it: the stage chart
    of retrieval vs that model by default (a linear top N, sized to the screen), the full-K log view and the
    bump chart of every ordering one click away. Only the chart picked is built. A fragment inside the results:
    a switch or another model reruns only the chart and its numbers (no server call). ``judged``: the store is
    there, so the nDCG card is drawn (before the first grade too, so that grade moves nothing)."""
    state.seed(f"{key_prefix}.chart", "stage", list(CHARTS))
    row = st.container(horizontal=True, vertical_alignment="center")
    with row:
        picked = st.segmented_control(
            "Chart", list(CHARTS), format_func=CHARTS.__getitem__, key=f"{key_prefix}.chart",
            required=True, label_visibility="collapsed",
        )
    name = picked or "stage"
    model = _pick_model(run, key_prefix, row)
    shown = min(n, len(run.search.hits))
    moved = last.derived(
        f"movement@{model}@{shown}", lambda: movement.compute_movement(run.search.hits, run.results[model], shown)
    )
    ndcg = None
    if judged:
        label, value, delta = grades_view.headline_ndcg(last, run.search, run.results, shown, grades, model=model)
        ndcg = (label.replace(" · reranked", f" of {model}"), value, delta)
    chart_col = results_view.chart_and_numbers(key_prefix, lambda: results_view.headline_metrics(moved, ndcg))
    with chart_col:
        if name in results_view.STAGE_VIEWS:
            box = results_view.stage_box(viewport.known(), notes_px, shown=shown, above_px=ABOVE_STAGE_PX)
            # The model's own name as the right-hand heading: whole at 1280x720 ("after: " would push it past
            # its column), and the picker above says "retrieval vs" it.
            figure = results_view.stage_figure(last.memo, moved, grades, results_view.STAGE_VIEWS[name], model, box)
            if figure is not None:
                results_view.show_stage(figure, key_prefix, name)
            return
        _bump(last, run, n, grades, key_prefix)


def _bump(last: CompareRecord, run: CompareRun, n: int, grades: dict[str, int], key_prefix: str) -> None:
    """The bump chart of every ordering (built once per run and N; with grade markers once graded)."""
    texts = [hit.text for hit in run.search.hits]
    if grades:
        figure, error = graded_bump(last, run, n, grades)
    else:
        figure, error = last.derived(
            f"bump@{n}",
            lambda: feedback.call_safely(
                lambda: charts.bump_chart(run.rank_matrix, texts, highlight=min(n, len(texts))), "bump chart"
            ),
        )
    if figure is not None:
        st.plotly_chart(figure, key=f"{key_prefix}.bump", theme=None, config=PLOTLY_CONFIG)
    elif error:
        st.error(error)


def _models_and_notes(last: CompareRecord, run: CompareRun, key_prefix: str) -> pd.DataFrame:
    """The per-model table (latency, tokens, errors) and each model's notes."""
    model_notes = list(dict.fromkeys(f"{label}: {note}" for label, r in run.results.items() for note in r.notes))
    if model_notes:
        with st.container(border=True):
            st.markdown("**Notes** (limits of each model's run)")
            for note in model_notes:
                st.text(f"• {note}")
    models: pd.DataFrame = last.derived("models", lambda: model_table(run, last.choices))
    st.dataframe(
        model_display_table(models), hide_index=True, key=f"{key_prefix}.models_table",
        column_config={
            "latency ms": st.column_config.TextColumn("latency ms", alignment="right"),
            "tokens": st.column_config.TextColumn("tokens", alignment="right"),
            "API calls": st.column_config.TextColumn("API calls", alignment="right"),
            "error": st.column_config.TextColumn("error", width="large"),
        },
    )
    return models


def compare_downloads(run: CompareRun, models: Any, texts: list[str], agreement: pd.DataFrame) -> list[Download]:
    """Each download, made only when its button is clicked (see ``results_view.download_files``).
    ``agreement`` is the one on the page (overlap at the shown N), so the file and the screen agree."""
    request = run.search.request
    stem = f"{request.collection}-compare".lower()

    def ranks() -> pd.DataFrame:
        matrix = run.rank_matrix.copy()
        matrix.insert(0, "uuid", [hit.uuid for hit in run.search.hits])
        matrix.insert(1, "text", texts)
        return matrix

    def payload() -> dict[str, Any]:
        return {
            "collection": request.collection,
            "query": request.query,
            "mode": request.mode.value,
            "candidates": request.limit,
            "models": models,
            "agreement_scope": "kendall_tau and spearman_rho over all candidates; overlap over the shown top N",
            "agreement": agreement,
            "ranks": ranks(),
        }

    return [
        ("Download ranks (CSV)", lambda: tables.to_csv_bytes(ranks()), f"{stem}-ranks.csv", "text/csv", "dl_ranks"),
        ("Download agreement (CSV)", lambda: tables.to_csv_bytes(agreement), f"{stem}-agreement.csv", "text/csv",
         "dl_agreement"),
        ("Download comparison (JSON)", lambda: tables.to_json_bytes(payload()), f"{stem}.json", "application/json",
         "dl_json"),
    ]
