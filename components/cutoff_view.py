"""Where to cut, for one saved run (the Runs page): calibration of each model's scores, the metrics as a function of
a score threshold / top k / relative drop, and the best cut under a constraint the user types, with its CIs — the
same ``evaluation.cutoff`` figures as ``rerank-playground cutoff`` and the HTML report. The chosen cut can be used
on the Search page (one query of the run, with the run's setting and model) or copied as code (limit=N with rerank,
then the cut in the client)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import feedback, lifecycle, runs_view, safe, state
from components.safe import md_escape
from rerank_playground import codegen, cutoff_charts
from rerank_playground.errors import PlaygroundError
from rerank_playground.evaluation import cutoff, runs
from rerank_playground.evaluation.batch_plan import for_query, plan_from_record
from rerank_playground.models import SearchRequest
from rerank_playground.rerankers.choice import RerankChoice
from rerank_playground.search import needs_query_vector, validate_request
from rerank_playground.store import Store

AUTO = "auto (from the constraint)"


def _lists(store: Store, record: runs.RunRecord) -> tuple[list[cutoff.ModelLists], list[str]]:
    return cutoff.model_lists(record, store.load_results(record.run_id))


@st.cache_data(show_spinner="Choosing the cut (bootstrap CIs)…", max_entries=32)
def _choice(_lists: cutoff.ModelLists, run_id: str, saved: int, setting: int, ordering: str, rules: str,
            objective: str | None, level: int) -> cutoff.Choice:
    """Cached per (run, rows saved, model, constraint, objective, level): a rerun of the page does not resample."""
    return cutoff.choose_cut(_lists, cutoff.parse_constraints(rules), objective=objective, relevant_from=level)


def render(store: Store, record: runs.RunRecord, key_prefix: str) -> None:
    st.subheader("Where to cut")
    st.caption("Weaviate cannot cut on rerank scores (its autocut runs before the reranker): ask for limit=N with "
               "rerank, then cut in the client. Here: how each model's scores relate to the judgments, and the best "
               f"score threshold, top k or relative drop under your constraint. {cutoff.SCALE_NOTE}")
    key = f"{key_prefix}.cut.{record.run_id}"
    available, notes = _lists(store, record)
    for note in notes:
        st.caption(md_escape(note))
    if not available:
        st.info("No ordering of this run has scores for every document, so there is nothing to cut by score.")
        return
    settings = sorted({m.setting for m in available})
    labels = {m.setting: m.setting_label for m in available}
    setting = settings[0]
    if len(settings) > 1:
        state.seed(f"{key}.setting", setting, settings)
        setting = st.selectbox("Search setting", settings, format_func=lambda s: labels[s], key=f"{key}.setting")
    models = [m for m in available if m.setting == setting]
    names = [m.ordering for m in models]
    default = next((n for n in names if n != "no rerank"), names[0])
    state.seed(f"{key}.model", default, names)
    left, mid, right, far = st.columns([2.6, 2.4, 2.8, 1.4])  # "auto (from the constraint)" whole at 1280 px
    name = left.selectbox("Model", names, key=f"{key}.model")
    rules = mid.text_input("Constraint", "precision>=0.8", key=f"{key}.rule",
                           help="e.g. precision>=0.8, returned<=5, recall>=0.9; several joined by commas")
    objective = right.selectbox("Objective", [AUTO, *cutoff.OBJECTIVES], key=f"{key}.objective")
    level = far.selectbox("Relevant =", [1, 2, 3], format_func=lambda g: f"grade ≥ {g}", key=f"{key}.level")
    lists = next(m for m in models if m.ordering == name)
    try:
        cutoff.parse_constraints(rules)  # a bad constraint is a message, before anything is computed
    except PlaygroundError as err:
        st.error(safe.text(err))
        return
    scope = f"{record.name} · {labels[setting]} · judged documents in the top {lists.candidates} of each query"
    cals = [cutoff.calibration(m, relevant_from=level) for m in models]
    st.plotly_chart(cutoff_charts.reliability_chart(cals, scope=scope), key=f"{key}.reliability")
    with st.expander("Calibration table (the numbers of the chart)"):
        st.dataframe(pd.DataFrame([
            {"ordering": c.ordering, "scores from": b.low, "scores to": b.high, "mean score": b.mean_score,
             "judged": b.n, "relevant": b.relevant, "share": b.share, "95% CI low": b.ci_low, "95% CI high": b.ci_high}
            for c in cals for b in c.bins
        ]), hide_index=True, width="stretch")
    st.plotly_chart(cutoff_charts.score_distributions(cals, scope=scope), key=f"{key}.distributions")
    saved = sum(len(m.queries) for m in available)
    choice, error = feedback.call_safely(
        lambda: _choice(lists, record.run_id, saved, setting, name, rules, None if objective == AUTO else objective,
                        level), "cut chooser")
    if choice is None:
        st.error(error or feedback.GENERIC_ERROR)
        return
    st.code("\n".join(cutoff.describe_choice(choice)), language=None)
    st.plotly_chart(cutoff_charts.cut_curves_chart(choice), key=f"{key}.curves")
    st.dataframe(pd.DataFrame([
        {"family": cutoff.KIND_LABELS[kind], "best cut": p.cut.label if p else "none meets the constraint",
         "precision": p.precision if p else None, "recall": p.recall if p else None,
         f"nDCG@{lists.k}": p.ndcg if p else None, "returned": p.returned if p else None,
         "judged": p.judged if p else None}
        for kind, p in choice.best_by_kind.items()
    ]), hide_index=True, width="stretch")
    if choice.best is not None:
        _apply(record, lists, choice.best.cut, key)


def _apply(record: runs.RunRecord, lists: cutoff.ModelLists, cut: cutoff.Cut, key: str) -> None:
    """The chosen cut on one query of the run: on the Search page (its inputs set to the run's setting and this
    model, the cut picked in its cut control), or as code."""
    plan = plan_from_record(record)
    choice = next((c for c in plan.rerankers if c.label == lists.ordering), None)
    if choice is None:
        st.caption("Search and Copy as code cut a reranked list: pick a reranker above to use its cut there.")
        return
    setting = plan.settings[lists.setting]
    queries = {q.query_id: q.text for q in plan.query_set.queries if q.query_id in record.qrels}
    left, right = st.columns([4, 2], vertical_alignment="bottom")
    qid = left.selectbox("Query", list(queries), format_func=lambda q: f"{q}: {queries[q]}", key=f"{key}.query",
                         help="The query Search opens with, and the one the code searches for.")
    if right.button("Use this cut on Search", key=f"{key}.apply", icon=":material/content_cut:",
                    help=f"Open Search with this run's setting and {lists.ordering}, searching the query now, "
                    f"the reranked list cut at {cut.label}."):
        runs_view.show_in_search(record.collection, setting, queries[qid], choice, cut)
    _copy_as_code(record, choice, setting, queries[qid], cut)


def _copy_as_code(record: runs.RunRecord, choice: RerankChoice, setting: SearchRequest, query: str,
                  cut: cutoff.Cut) -> None:
    with st.expander("Copy as code with this cut"):
        pg = lifecycle.connected_playground()
        if pg is None:
            st.info("Connect to the Weaviate of this run (sidebar) to copy it as code.")
            return

        def build() -> str:
            info = pg.collection(record.collection)
            request = validate_request(for_query(setting, record.collection, query), info)
            return codegen.python_code(request, choice, weaviate_url=pg.spec.url, grpc_port=pg.spec.grpc_target[1],
                                       needs_query_vector=needs_query_vector(request, info),
                                       jina_base_url=pg.jina_base_url, cut=cut)

        code, error = feedback.call_safely(build, "copy as code with a cut")
        if code is None:
            st.error(error or feedback.GENERIC_ERROR)
            return
        st.caption(f"Asks for limit={setting.limit} with the reranker, then keeps {md_escape(cut.label)} in the "
                   "client. Keys come from the environment, never the code.")
        st.code(code, language="python", height=360)
