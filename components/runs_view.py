"""Saved runs: the list, one run's results (the same ``analysis.summarise`` figures as the CLI and the HTML report),
and the diff of any two runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from components import results_view, safe, state
from components.safe import md_escape
from rerank_playground.errors import InvalidInput
from rerank_playground.evaluation import analysis, report, runs
from rerank_playground.evaluation.batch_plan import BASELINE, plan_from_record, setting_label
from rerank_playground.evaluation.cutoff import Cut
from rerank_playground.evaluation.stats import ALPHA, check_alpha
from rerank_playground.models import SearchRequest
from rerank_playground.rerankers.choice import RerankChoice
from rerank_playground.store import Store

OPEN_RUN = "runs.selected"


def runs_table(records: list[runs.RunRecord]) -> pd.DataFrame:
    return pd.DataFrame([
        {"name": r.name, "started": r.started_at.strftime("%Y-%m-%d %H:%M"), "state": r.status,
         "collection": r.collection, "query set": r.query_set,
         "settings": "; ".join(_setting_labels(r)), "rerankers": ", ".join(c["label"] for c in r.plan["rerankers"]),
         "k": r.plan["k"], "Weaviate": r.server_version, "run id": r.run_id}
        for r in records
    ])


def run_label(record: runs.RunRecord) -> str:
    """The run's name and when it started; once only when the name already says it (the default names do)."""
    started = f"{record.started_at:%Y-%m-%d %H:%M}"
    return record.name if started in record.name else f"{record.name} · {started}"


def _setting_labels(record: runs.RunRecord) -> list[str]:
    plan = plan_from_record(record)
    return [setting_label(s) for s in plan.settings]


@st.cache_data(show_spinner="Computing confidence intervals and tests…", max_entries=16)
def _summary(_store: Store, run_id: str, saved: int, status: str) -> analysis.RunSummary:
    """Cached per (run, rows saved, state): a finished run is summarised once; a running one when it moved on."""
    return analysis.load_summary(_store, run_id)


def summary_of(store: Store, record: runs.RunRecord) -> analysis.RunSummary:
    saved = len(store.load_results(record.run_id))
    return _summary(store, record.run_id, saved, record.status)


def render_list(store: Store, key_prefix: str) -> runs.RunRecord | None:
    records = store.list_runs()
    if not records:
        st.info("No saved run yet. Start one on the Evaluate page, or with `rerank-playground eval` in a terminal.")
        return None
    st.dataframe(runs_table(records), hide_index=True, width="stretch")
    by_id = {r.run_id: r for r in records}
    wanted = st.session_state.pop(OPEN_RUN, None)
    if wanted in by_id:
        st.session_state[f"{key_prefix}.open"] = wanted
    run_id = st.selectbox("Open a run", list(by_id), key=f"{key_prefix}.open",
                          format_func=lambda i: f"{run_label(by_id[i])} · {by_id[i].status}")
    return by_id[run_id]


def render_run(store: Store, record: runs.RunRecord, key_prefix: str) -> None:
    summary = summary_of(store, record)
    st.subheader(md_escape(record.name))
    st.caption(
        f"{md_escape(record.collection)} ({record.object_count:,} objects) · query set {md_escape(record.query_set)} · "
        f"{summary.saved} of {summary.expected} orderings saved · app {record.app_version} · Weaviate "
        f"{record.server_version} · started {record.started_at:%Y-%m-%d %H:%M:%S} UTC"
        + (f" · ended {record.ended_at:%H:%M:%S}" if record.ended_at else "")
    )
    if not summary.complete:
        st.warning("This run is incomplete: the figures cover only the saved queries. Resume it on the Evaluate page.")
    for note in record.plan.get("notes", []):
        st.caption(md_escape(note, max_chars=400))
    alpha = st.number_input(
        "Significance level α", min_value=0.001, max_value=0.499, value=ALPHA, step=0.01, format="%.3f",
        key=f"{key_prefix}.alpha.{record.run_id}",
        help="A difference is called significant when its Holm-adjusted paired randomization p is below α "
             "(above 0, below 0.5). The verdicts and the downloaded report use this level.")
    try:
        alpha = check_alpha(alpha)
    except InvalidInput as err:
        st.error(safe.text(str(err)))
        return
    st.caption(md_escape(summary.methods(alpha), max_chars=2000))
    verdicts = summary.verdicts(alpha)
    for setting in summary.settings:
        with st.container(border=True):
            st.markdown(f"**Setting: {md_escape(setting.label)}**")
            for verdict in (v for v in verdicts if v.setting == setting.label):
                show = {"worse": st.error, "better": st.success}.get(verdict.kind, st.info)
                show(md_escape(verdict.text, max_chars=1000))
            st.caption("Mean over judged queries with 95% bootstrap CI; unjudged documents count as not relevant, "
                       "Judged@k says how much of the top k was judged.")
            metrics = analysis.metrics_table(setting)
            st.dataframe(metrics, hide_index=True, width="stretch", column_config=_measure_columns(metrics.columns))
            st.caption("Each reranker against no rerank, and each pair: the mean paired difference with its own 95% "
                       "bootstrap CI (the interval that answers 'is there a difference'), the paired randomization "
                       "p and the paired t-test p, Holm-corrected over the run's family (see Methods above); "
                       "effect size is Cohen's d_z (mean difference in standard deviations).")
            st.dataframe(analysis.tests_table(setting), hide_index=True, width="stretch",
                         column_config=_glossary_columns())
            rerankers = [o for o in setting.orderings if o != BASELINE]
            # one chart per row: at 1280 px two side by side are ~390 px wide, too narrow for titles and labels
            if rerankers:
                ordering = st.selectbox("Win / tie / loss of", rerankers,
                                        key=f"{key_prefix}.wl.{record.run_id}.{setting.setting}")
                st.plotly_chart(report.win_loss_chart(setting, ordering, summary.primary),
                                key=f"{key_prefix}.wlc.{record.run_id}.{setting.setting}")
            st.plotly_chart(report.quality_cost_chart(setting, summary.primary),
                            key=f"{key_prefix}.qc.{record.run_id}.{setting.setting}")
            table = analysis.per_query_table(setting, summary.primary)
            words = report.measure_words(summary.primary)
            st.markdown(f"Per query: {md_escape(summary.primary)}" + (f" · {words[0]}" if words else ""),
                        help=words[1] if words else None)
            st.dataframe(table, hide_index=True, width="stretch")
            open_in_search(summary, setting.setting, key_prefix=f"{key_prefix}.drill.{record.run_id}.{setting.setting}")
            if setting.failures:
                st.markdown("Failed (retry them on the Evaluate page)")
                st.dataframe(pd.DataFrame([{"query": f.query, "ordering": f.ordering, "attempts": f.attempts,
                                            "error": f.error} for f in setting.failures]), hide_index=True)
    sweep = analysis.depth_sweep(summary)
    if sweep is not None:
        st.markdown("**Depth sweep**: where more candidates stop paying (★ the knee: within 0.01 of the best K)")
        for i, fig in enumerate(report.depth_sweep_charts(sweep)):
            st.plotly_chart(fig, key=f"{key_prefix}.sweep{i}.{record.run_id}")
    # made when clicked (deferred): with the run's rows, the report includes where to cut
    st.download_button("Download the HTML report (opens offline)",
                       lambda: report.html_report(summary, alpha=alpha,
                                                  cut_results=store.load_results(record.run_id)),
                       file_name=f"run-{record.run_id[:8]}.html", mime="text/html",
                       key=f"{key_prefix}.report.{record.run_id}", on_click="ignore")


def _measure_columns(columns: Any) -> dict[str, Any]:
    """Each measure's columns with plain words beside the symbol ("nDCG@10 · ranking quality"), the definition as
    the column's help."""
    config: dict[str, Any] = {}
    for column in map(str, columns):
        words = report.measure_words(column)
        if words is not None:
            plain, definition = words
            ci = column.endswith(" 95% CI")
            config[column] = st.column_config.Column(
                column if ci else f"{column} · {plain}",
                help=f"95% bootstrap interval (BCa) of the mean. {definition}" if ci else definition)
    return config


def _glossary_columns() -> dict[str, Any]:
    """The statistics' columns with plain words beside the symbol and the definition as the column's help."""
    return {column: st.column_config.Column(f"{column} · {plain}", help=definition)
            for column, (plain, definition) in report.GLOSSARY.items()}


def _setting_label(summary: analysis.RunSummary) -> Callable[[int], str]:
    return lambda index: summary.settings[index].label


def render_diff(store: Store, key_prefix: str) -> None:
    records = store.list_runs()
    if len(records) < 1:
        return
    st.subheader("Diff two runs")
    st.caption("Per-query delta of one ordering of run A against one of run B (queries matched by id); positive "
               "means A is better on that query.")
    by_id = {r.run_id: r for r in records}

    def label(run_id: str) -> str:
        return run_label(by_id[run_id])

    # The runs' names in full width (a name is as long as its author made it), then each side's setting and ordering.
    chosen = {side: st.selectbox(f"Run {side}", list(by_id), key=f"{key_prefix}.diff.{side}", format_func=label,
                                 index=min(1, len(by_id) - 1) if side == "B" else 0) for side in "AB"}
    cols = st.columns(2)
    picks = []
    for side, col in zip("AB", cols, strict=True):
        with col:
            summary = summary_of(store, by_id[chosen[side]])
            setting = st.selectbox(f"Setting {side}", range(len(summary.settings)),
                                   format_func=_setting_label(summary),
                                   key=f"{key_prefix}.diff.{side}.setting")
            ordering = st.selectbox(f"Ordering {side}", summary.settings[setting].orderings,
                                    key=f"{key_prefix}.diff.{side}.ordering")
            picks.append((summary, setting, ordering))
    (a, sa, oa), (b, sb, ob) = picks
    diff = analysis.diff_runs(a, b, ordering_a=oa, ordering_b=ob, setting_a=sa, setting_b=sb)
    better, worse, same, mean = st.columns(4)
    better.metric("Better in A", diff.better)
    worse.metric("Worse in A", diff.worse)
    same.metric("Same", diff.same)
    p = diff.test.randomization_p
    mean.metric(f"Average change (mean Δ) {diff.measure}",
                "—" if diff.test.n == 0 else f"{diff.test.mean_delta:+.3f}",
                help="Mean over the matched queries of (A − B)." + (
                    "" if p is None else f" 95% CI of the mean paired difference {diff.test.delta_interval()}; "
                                         f"paired randomization p = {p:.3g} over {diff.test.n} queries "
                                         "(how often random swaps of A and B give a change this large)."))
    st.dataframe(diff.table, hide_index=True, width="stretch")


def open_in_search(summary: analysis.RunSummary, setting_index: int, key_prefix: str) -> None:
    """Drill down: one query of the run, with the run's search setting and a reranker, on the Search page (slope
    chart, grades) — a fresh search there, so it shows today's collection, not the saved ranking."""
    setting = summary.plan.settings[setting_index]
    queries = summary.settings[setting_index].queries
    left, mid, right = st.columns([4, 3, 1.4], vertical_alignment="bottom")
    qid = left.selectbox("Open a query in Search", list(queries), format_func=lambda q: f"{q}: {queries[q]}",
                         key=f"{key_prefix}.query")
    choices = {c.label: c for c in summary.plan.rerankers}
    label = mid.selectbox("with", list(choices), key=f"{key_prefix}.choice") if choices else None
    if setting.text_property:
        left.caption(f"reranked on: {md_escape(setting.text_property)}")
    if right.button("Open", key=f"{key_prefix}.open"):
        show_in_search(summary.record.collection, setting, queries[qid], choices[label] if label is not None else None)


def show_in_search(collection: str, setting: SearchRequest, query: str, choice: RerankChoice | None,
                   cut: Cut | None = None) -> None:
    """Go to the Search page with a run's search setting, ``query`` and reranker ``choice`` (and ``cut`` picked in
    its cut control), searching at once."""
    # The run's own text property and keyword properties (None: an older run, the collection's defaults).
    state.update_inputs(collection=collection, query=query, mode=setting.mode, alpha=setting.alpha,
                        fusion=setting.fusion, k=setting.limit, operator=setting.operator,
                        prop=setting.text_property, properties=setting.properties or None,
                        filters=setting.filters)
    if choice is not None:
        state.update_inputs(reranker=choice.reranker, model=choice.model)
    if cut is not None:
        results_view.set_cut("search", cut)
    st.session_state["search.autorun"] = True
    st.switch_page("pages/search.py")
