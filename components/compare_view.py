"""Several rerankers on the same candidates: pick models, run them concurrently, compare the orders.

The last comparison is kept in ``st.session_state[f"{key_prefix}.last"]``: ``key``, ``search``, ``run``
(CompareRun or None), ``choices`` and ``error``.
"""

from __future__ import annotations

import threading
from typing import Any

import pandas as pd
import streamlit as st

from components import grades_view, session, spend_note
from components.reranker_picker import NEEDS_KEY, module_model
from components.results_view import PLOTLY_CONFIG, TEXT_COLUMN, _fmt_ms
from components.safe import md_escape
from rerank_playground import charts, tables
from rerank_playground.errors import RerankError
from rerank_playground.models import CollectionInfo, RerankResult, SearchRequest
from rerank_playground.playground import CompareRun, Playground, RerankChoice
from rerank_playground.rerankers import LABELS
from rerank_playground.rerankers.catalog import LOCAL_MODEL, models_for

MAX_MODELS = 5
LOCAL_ID = f"local:{LOCAL_MODEL}"


def available_choices(pg: Playground, info: CollectionInfo) -> list[RerankChoice]:
    choices = [RerankChoice("local", LOCAL_MODEL)]
    choices += [RerankChoice("jina", m.name) for m in models_for("jina")]
    configured = module_model(info)
    if configured is not None and (pg.server is None or pg.server.jina_reranker_available):
        choices.append(RerankChoice("weaviate_module", configured))
    return choices


def default_ids(pg: Playground) -> list[str]:
    if pg.has_jina_key:
        return [LOCAL_ID, "jina:jina-reranker-v2-base-multilingual", "jina:jina-reranker-v3"]
    return [LOCAL_ID]


def _on_models_change(widget_key: str) -> None:
    session.inputs()["models"] = list(st.session_state.get(widget_key) or [])


def model_picker(pg: Playground, info: CollectionInfo, key_prefix: str) -> list[RerankChoice]:
    values = session.inputs()
    by_id = {session.choice_id(c): c for c in available_choices(pg, info)}
    wanted = values.get("models") if values.get("models") is not None else default_ids(pg)
    chosen = [i for i in wanted if i in by_id][:MAX_MODELS]
    widget_key = f"{key_prefix}.models"
    current = st.session_state.get(widget_key)
    if current is None or any(i not in by_id for i in current) or values.get("models") is None:
        st.session_state[widget_key] = chosen

    def label(choice_id: str) -> str:
        choice = by_id[choice_id]
        if choice.reranker == "jina" and not pg.has_jina_key:
            return f"{choice.label} ({NEEDS_KEY})"
        if choice.reranker == "weaviate_module":
            return f"{choice.label} (configured on {info.name})"
        return choice.label

    ids = st.multiselect(
        "Models to compare",
        list(by_id),
        key=widget_key,
        format_func=label,
        max_selections=MAX_MODELS,
        on_change=_on_models_change,
        args=(widget_key,),
        help="Up to five rerankers reorder the same candidates. Each one failing leaves the others shown.",
    )
    if values.get("models") is not None:
        values["models"] = list(ids)
    if not pg.has_jina_key:
        st.caption(f"Each Jina model {NEEDS_KEY} (paste it in the sidebar).")
    if any(by_id[i].reranker == "weaviate_module" for i in ids):
        st.caption(f"Weaviate module: {spend_note.module_payer(pg)}")
    return [by_id[i] for i in ids]


def compare_key(request: SearchRequest, choices: list[RerankChoice]) -> tuple[Any, ...]:
    return (request, tuple(choices))


def run_compare(pg: Playground, request: SearchRequest, choices: list[RerankChoice], key_prefix: str) -> None:
    last: dict[str, Any] = {
        "key": compare_key(request, choices), "search": None, "run": None, "error": None, "choices": choices
    }
    st.session_state[f"{key_prefix}.last"] = last
    if not choices:
        last["error"] = "Pick at least one model to compare."
        return
    search, error = session.call_safely(lambda: pg.search(request), "compare search")
    last["search"], last["error"] = search, error
    if search is None:
        return
    main_thread = threading.current_thread()
    total = len(choices)
    with st.status(f"Reranking {len(search.hits)} candidates with {total} models…", expanded=True) as status:
        bar = st.progress(0.0, text=f"0 of {total} models done")
        done: list[str] = []

        def on_done(choice: RerankChoice, outcome: RerankResult | RerankError) -> None:
            done.append(choice.label)
            if threading.current_thread() is not main_thread:
                return  # called from a worker: the summary below is drawn after compare returns
            if isinstance(outcome, RerankError):
                st.text(f"✖ {choice.label}: failed")
            else:
                extra = " (from cache)" if outcome.cached else ""
                st.text(f"✔ {choice.label}: {_fmt_ms(outcome.latency_ms)}{extra}")
            bar.progress(len(done) / total, text=f"{len(done)} of {total} models done")

        run, error = session.call_safely(lambda: pg.compare(search, choices, on_done=on_done), "compare")
        last["run"], last["error"] = run, error
        if run is None:
            status.update(label="The comparison failed.", state="error", expanded=False)
            return
        bar.progress(1.0, text=f"{total} of {total} models done")
        failed = len(run.errors)
        state = "error" if failed == total else "complete"
        status.update(
            label=f"Compared {total} model{'s' if total != 1 else ''}: {total - failed} done, {failed} failed.",
            state=state,
            expanded=False,
        )


# ---------------------------------------------------------------------------------------------- rendering


def model_table(run: CompareRun, choices: list[RerankChoice]) -> pd.DataFrame:
    rows = []
    for choice in choices:
        result = run.results.get(choice.label)
        error = run.errors.get(choice.label)
        rows.append(
            {
                "model": choice.label,
                "path": LABELS.get(choice.reranker, choice.reranker),
                "status": "ok" if result is not None else "failed",
                "latency ms": None if result is None else round(result.latency_ms, 1),
                "tokens": None if result is None else result.tokens,
                "API calls": None if result is None else result.api_calls,
                "from cache": None if result is None else result.cached,
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

    shown["latency ms"] = shown.apply(latency, axis=1) if len(shown) else shown["latency ms"]
    for column in ("tokens", "API calls"):
        shown[column] = shown[column].map(number)
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


def graded_bump(last: dict[str, Any], run: CompareRun, n: int, grades: dict[str, int]) -> Any:
    """The bump chart with grade markers, rebuilt only when the grades or N changed (the latest one is kept)."""
    signature = (n, tuple(sorted(grades.items())))
    kept = last.get("graded_bump")
    if kept is None or kept[0] != signature:
        texts = [hit.text for hit in run.search.hits]
        row_grades = [grades.get(hit.uuid) for hit in run.search.hits]
        built = session.call_safely(
            lambda: charts.bump_chart(run.rank_matrix, texts, highlight=min(n, len(texts)), grades=row_grades),
            "bump chart",
        )
        kept = (signature, built)
        last["graded_bump"] = kept
    return kept[1]


def agreement_table(run: CompareRun) -> pd.DataFrame:
    frame = run.agreement.copy()
    return frame.rename(columns={"a": "ordering A", "b": "ordering B", "kendall_tau": "Kendall τ",
                                 "spearman_rho": "Spearman ρ"})


def render_last(key_prefix: str, n: int, current_key: tuple[Any, ...] | None) -> None:
    last = st.session_state.get(f"{key_prefix}.last")
    if last is None:
        st.info("Pick two to five models and click **Compare models**.")
        return
    if current_key is not None and last["key"] != current_key:
        st.caption("These results are from your last comparison. Inputs changed since: click Compare models to update.")
    if last["error"]:
        st.error(last["error"])
    run: CompareRun | None = last["run"]
    if run is None:
        return
    request = run.search.request
    st.subheader("Model comparison")
    st.caption(
        f"{len(run.search.hits)} candidates for “{md_escape(request.query)}” in {md_escape(request.collection)} "
        f"({request.mode.value} search), search {_fmt_ms(run.search.latency_ms)}."
    )
    for label, err in run.errors.items():
        st.error(f"{md_escape(label)}: {err}")
    models = session.derived(last, "models", lambda: model_table(run, last["choices"]))
    st.dataframe(
        model_display_table(models), hide_index=True, key=f"{key_prefix}.models_table",
        column_config={
            "latency ms": st.column_config.TextColumn("latency ms", alignment="right"),
            "tokens": st.column_config.TextColumn("tokens", alignment="right"),
            "API calls": st.column_config.TextColumn("API calls", alignment="right"),
            "error": st.column_config.TextColumn("error", width="large"),
        },
    )
    if not run.results:
        return
    grades = grades_view.relevance_section(last, run.search, run.results, min(n, len(run.search.hits)), key_prefix)
    texts = [hit.text for hit in run.search.hits]
    if grades:
        figure, error = graded_bump(last, run, n, grades)
    else:
        figure, error = session.derived(
            last,
            f"bump@{n}",
            lambda: session.call_safely(
                lambda: charts.bump_chart(run.rank_matrix, texts, highlight=min(n, len(texts))), "bump chart"
            ),
        )
    if figure is not None:
        st.plotly_chart(figure, key=f"{key_prefix}.bump", theme=None, config=PLOTLY_CONFIG)
    elif error:
        st.error(error)
    st.markdown(f"**Top {min(n, len(texts))} under each ordering**")
    top = top_n_table(run, n, grades or None)
    st.dataframe(
        top, hide_index=True, key=f"{key_prefix}.top_table",
        column_config={c: st.column_config.TextColumn(c, width="medium") for c in top.columns if c != "rank"},
    )
    st.markdown("**Agreement between orderings** (1 = identical order)")
    agreement = agreement_table(run)
    st.dataframe(agreement, hide_index=True, key=f"{key_prefix}.agreement")
    with st.expander("Rank of every candidate under each ordering"):
        matrix = run.rank_matrix.copy()
        matrix.insert(0, "text", texts)
        st.dataframe(matrix, hide_index=True, key=f"{key_prefix}.matrix", column_config={"text": TEXT_COLUMN})

    files = session.derived(last, "downloads", lambda: compare_downloads(run, models, texts))
    cols = st.columns(3)
    for col, (label, data, name, mime, key) in zip(cols, files, strict=True):
        col.download_button(label, data, name, mime, key=f"{key_prefix}.{key}", on_click="ignore")


def compare_downloads(run: CompareRun, models: Any, texts: list[str]) -> list[tuple[str, bytes, str, str, str]]:
    """(label, data, file name, mime type, key suffix) for each download, built once per comparison."""
    request = run.search.request
    stem = f"{request.collection}-compare".lower()
    matrix = run.rank_matrix.copy()
    matrix.insert(0, "uuid", [hit.uuid for hit in run.search.hits])
    matrix.insert(1, "text", texts)
    payload = {
        "collection": request.collection,
        "query": request.query,
        "mode": request.mode.value,
        "candidates": request.limit,
        "models": models,
        "agreement": run.agreement,
        "ranks": matrix,
    }
    return [
        ("Download ranks (CSV)", tables.to_csv_bytes(matrix), f"{stem}-ranks.csv", "text/csv", "dl_ranks"),
        ("Download agreement (CSV)", tables.to_csv_bytes(run.agreement), f"{stem}-agreement.csv", "text/csv",
         "dl_agreement"),
        ("Download comparison (JSON)", tables.to_json_bytes(payload), f"{stem}.json", "application/json", "dl_json"),
    ]
