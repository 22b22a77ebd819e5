"""Figures, the self-contained HTML report and TREC run files of a saved run (pure: data in, text/figures out).

The report opens offline: plotly's JavaScript is inlined once (``include_plotlyjs=True`` on the first figure) and
nothing else is fetched. Every text that came from the database or the user (queries, run names, model names) is
HTML-escaped, in the page and in the chart labels.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from rerank_playground.charts import escape, isolate
from rerank_playground.cutoff_charts import report_section
from rerank_playground.errors import InvalidInput
from rerank_playground.evaluation.analysis import (
    DepthSweep,
    RunSummary,
    SettingSummary,
    depth_sweep,
    metrics_table,
    per_query_table,
    tests_table,
)
from rerank_playground.evaluation.batch_plan import BASELINE, setting_label
from rerank_playground.evaluation.judgments import relevance_note
from rerank_playground.evaluation.runs import QueryResult
from rerank_playground.evaluation.stats import ALPHA, check_alpha

UP, DOWN, SAME = "#2e7d32", "#c62828", "#9e9e9e"


def _readable(fig: go.Figure, title: str, subtitle: str, *, height: int) -> go.Figure:
    """Layout every run chart shares, made to read at 1280 px on a half-width column: a short title on the left with
    the details on a second, smaller line (never cut), margins that grow to fit the axis titles and tick labels
    (automargin), and the plot toolbar below the title, not on it."""
    fig.update_layout(
        title={"text": f"{title}<br><span style='font-size:12px;color:#555'>{subtitle}</span>", "x": 0,
               "xref": "paper", "xanchor": "left", "y": 0.985, "yref": "container", "yanchor": "top",
               "pad": {"t": 12}, "font": {"size": 15}, "automargin": True},
        height=height, margin={"t": 80, "l": 10, "r": 20, "b": 10}, template="plotly_white",
        modebar={"orientation": "v"},
    )
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def win_loss_chart(summary: SettingSummary, ordering: str, measure: str) -> go.Figure:
    """Per-query delta of ``ordering`` against the baseline on ``measure``, one horizontal bar per query (the query
    text reads horizontally at any count), sorted: losses at the top, wins at the bottom."""
    table = per_query_table(summary, measure)
    column = f"Δ {ordering}"
    rows = table[["query_id", "query", column]].dropna().sort_values(column, kind="stable")
    deltas = rows[column].tolist()
    colours = [UP if d > 0 else DOWN if d < 0 else SAME for d in deltas]
    wins, losses = sum(d > 0 for d in deltas), sum(d < 0 for d in deltas)
    labels = [isolate(escape(f"{qid} · {_short(str(q), 32)}")) for qid, q in zip(rows["query_id"], rows["query"],
                                                                                   strict=True)]
    fig = go.Figure(go.Bar(
        y=list(range(len(deltas))), x=deltas, orientation="h", marker_color=colours,
        customdata=[escape(q) for q in rows["query"]],
        hovertemplate="%{customdata}<br>Δ " + escape(measure) + " %{x:+.3f}<extra></extra>",
    ))
    shown = len(deltas) <= 60
    fig.update_yaxes(tickmode="array", tickvals=list(range(len(deltas))), ticktext=labels, showticklabels=shown,
                     autorange="reversed", title=None if shown else f"{len(deltas)} queries (hover for the text)")
    fig.update_xaxes(title=f"Δ {escape(measure)} (reranked − {BASELINE})", zeroline=True, zerolinecolor="#444")
    return _readable(
        fig, f"Δ {escape(measure)} per query",
        f"{escape(_short(ordering, 40))} vs {BASELINE}: {wins} better, {len(deltas) - wins - losses} tied, "
        f"{losses} worse<br>{escape(_short(summary.label, 60))}",
        height=max(320, min(1400, 120 + 20 * len(deltas))) if shown else 420,
    )


def quality_cost_chart(summary: SettingSummary, measure: str) -> go.Figure:
    """Mean ``measure`` (with its 95% CI) against mean latency per query; marker text gives tokens per query."""
    fig = go.Figure()
    for cost in summary.costs:
        ci = summary.ci(cost.ordering, measure)
        if ci.mean is None or cost.mean_latency_ms is None:
            continue
        error = None
        if ci.low is not None and ci.high is not None:
            error = {"type": "data", "symmetric": False, "array": [ci.high - ci.mean],
                     "arrayminus": [ci.mean - ci.low]}
        tokens = "no tokens reported" if cost.mean_tokens is None else f"{cost.mean_tokens:,.0f} tokens/query"
        fig.add_trace(go.Scatter(
            x=[cost.mean_latency_ms], y=[ci.mean], error_y=error, mode="markers+text", name=escape(cost.ordering),
            text=[escape(_short(cost.ordering, 24))], textposition="top center", marker={"size": 12},
            cliponaxis=False,
            hovertemplate=f"{escape(cost.ordering)}<br>{escape(measure)} %{{y:.3f}}<br>%{{x:.0f}} ms/query<br>"
                          f"{tokens}<extra></extra>",
        ))
    fig.update_xaxes(title="mean latency per query (ms)<br>search, plus the rerank call for a reranker")
    fig.update_yaxes(title=f"mean {escape(measure)}")
    _readable(fig, "Quality vs cost",
              f"mean {escape(measure)} with 95% CI against latency<br>{escape(_short(summary.label, 60))}",
              height=420)
    fig.update_layout(showlegend=False)
    latencies = [c.mean_latency_ms for c in summary.costs if c.mean_latency_ms is not None]
    if latencies:  # from zero, with room on both sides for the points' labels
        fig.update_xaxes(range=[-max(latencies) * 0.15, max(latencies) * 1.25])
    return fig


def depth_sweep_charts(sweep: DepthSweep) -> tuple[go.Figure, go.Figure]:
    """Quality against K per ordering (95% CI bars, the knee marked), and latency / tokens against K."""
    quality, cost = go.Figure(), go.Figure()
    orderings = list(dict.fromkeys(p.ordering for p in sweep.points))
    for ordering in orderings:
        mine = sorted((p for p in sweep.points if p.ordering == ordering), key=lambda p: p.k)
        ks = [p.k for p in mine]
        quality.add_trace(go.Scatter(
            x=ks, y=[p.mean for p in mine], mode="lines+markers", name=escape(ordering),
            error_y={"type": "data", "symmetric": False,
                     "array": [(p.high - p.mean) if p.high is not None and p.mean is not None else 0 for p in mine],
                     "arrayminus": [(p.mean - p.low) if p.low is not None and p.mean is not None else 0
                                    for p in mine]},
        ))
        knee = sweep.knee.get(ordering)
        if knee is not None:
            at = next(p for p in mine if p.k == knee)
            quality.add_trace(go.Scatter(
                x=[knee], y=[at.mean], mode="markers+text", marker={"symbol": "star", "size": 16},
                text=[f"knee K={knee}"], textposition="bottom right", showlegend=False,
                hovertemplate=f"{escape(ordering)}: more candidates than {knee} stop paying<extra></extra>",
            ))
        cost.add_trace(go.Scatter(x=ks, y=[p.mean_latency_ms for p in mine], mode="lines+markers",
                                  name=f"{escape(ordering)} latency"))
        if any(p.mean_tokens is not None for p in mine):
            cost.add_trace(go.Scatter(x=ks, y=[p.mean_tokens for p in mine], mode="lines+markers", yaxis="y2",
                                      name=f"{escape(ordering)} tokens", line={"dash": "dot"}))
    quality.update_layout(xaxis={"title": "K (candidates retrieved and reranked)", "type": "log"},
                          yaxis_title=f"mean {escape(sweep.measure)}")
    _readable(quality, f"Depth sweep: mean {escape(sweep.measure)} as K grows", "95% CI; ★ the knee", height=420)
    cost.update_layout(xaxis={"title": "K (candidates retrieved and reranked)", "type": "log"},
                       yaxis_title="mean latency per query (ms)",
                       yaxis2={"title": "tokens per query", "overlaying": "y", "side": "right", "automargin": True})
    _readable(cost, "Depth sweep: cost as K grows", "latency: search + rerank; tokens: as the provider reports",
              height=420)
    return quality, cost


# ----------------------------------------------------------------------------------------------- report


def _fmt(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e-3 and value != 0 else f"{value:.3f}"
    return str(value)


def _table(frame: pd.DataFrame) -> str:
    """A table inside its own horizontally scrolling frame (it never pushes the page wider than the window); a
    header with a glossary entry gets its plain-words label under the symbol and the definition as a tooltip."""
    head = "".join(_header(str(c)) for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<div class='frame'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"


def _header(column: str) -> str:
    entry = GLOSSARY.get(column)
    if entry is None:
        return f"<th>{html.escape(column)}</th>"
    plain, definition = entry
    return (f"<th title='{html.escape(definition, quote=True)}'>{html.escape(column)}"
            f"<br><span class='plain'>{html.escape(plain)}</span></th>")


GLOSSARY: dict[str, tuple[str, str]] = {
    "mean delta": ("average change", "Mean over the paired queries of (this ordering − the other) on the measure."),
    "mean delta 95% CI": ("likely range of the change",
                          "95% BCa bootstrap interval of the mean paired difference: if it excludes 0, the change "
                          "is unlikely to be chance."),
    "randomization p": ("paired randomization p",
                        "Two-sided sign-flip test: how often swapping each query's two values at random gives a "
                        "mean difference at least this large."),
    "randomization p (Holm)": ("paired randomization p, corrected for many tests",
                               "The randomization p after Holm's correction over the run's family of tests; "
                               "the verdicts use it."),
    "randomization test": ("how p was computed", "Exact: every sign flip enumerated; Monte Carlo: random flips, "
                                                 "with the p-value's standard error."),
    "t-test p": ("paired t-test p", "Two-sided paired t-test (scipy.stats.ttest_rel)."),
    "t-test p (Holm)": ("paired t-test p, corrected", "The t-test p after Holm's correction over the family."),
    "effect size (d_z)": ("size of the change in standard deviations",
                          "Cohen's d_z: mean paired difference divided by the standard deviation of the differences."),
    "wins": ("queries better", "Queries where this ordering scores higher than the other."),
    "ties": ("queries equal", "Queries where both score the same."),
    "losses": ("queries worse", "Queries where this ordering scores lower than the other."),
}


# The measures' families in plain words (the README's glossary), for column labels and their tooltips.
MEASURE_WORDS: dict[str, tuple[str, str]] = {
    "nDCG": ("ranking quality", "Normalised discounted cumulative gain: the grades of the top k, each discounted by "
                                "its rank, divided by the best possible order of the same grades (0–1)."),
    "RR": ("how soon the first relevant one comes", "Reciprocal rank: 1 / the rank of the first relevant document "
                                                    "in the top k (0 when none is)."),
    "P": ("share of the top k that is relevant", "Precision at k: relevant documents in the top k, divided by k."),
    "R": ("share of the relevant ones found", "Recall at k: relevant documents in the top k, divided by all "
                                              "documents judged relevant for the query."),
    "AP": ("precision over the whole list", "Average precision: precision at the rank of each relevant document, "
                                            "averaged over all judged relevant documents (not cut at k)."),
    "Judged": ("share of the top k graded", "Judged at k: the share of the top k that has a grade; unjudged "
                                            "documents count as not relevant, so a low value means the metric "
                                            "is guessing."),
}


def measure_words(measure: str) -> tuple[str, str] | None:
    """``("ranking quality", definition)`` for ``nDCG@10``, ``P(rel=2)@10``...; None for a name not a measure.
    Binary measures' definitions name their relevance level."""
    family = re.match(r"[A-Za-z]+", measure)
    if family is None or family.group(0) not in MEASURE_WORDS:
        return None
    plain, definition = MEASURE_WORDS[family.group(0)]
    level = re.search(r"rel=(\d)", measure)
    if level is not None:
        definition += f" Relevant means grade ≥ {level.group(1)}."
    return plain, definition


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1400px}
.frame{max-width:100%;overflow-x:auto;margin:.5rem 0 1.5rem}
table{border-collapse:collapse;font-size:.85rem}
.plain{font-weight:normal;color:#555;font-size:.75rem}
th[title]{cursor:help;text-decoration:underline dotted}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
.note{color:#555;font-size:.9rem}.bad{color:#c62828;font-weight:600}.good{color:#2e7d32;font-weight:600}
"""


def html_report(summary: RunSummary, *, alpha: float = ALPHA, cut_results: Sequence[QueryResult] = ()) -> str:
    """The whole run as one offline HTML page; ``alpha`` decides every verdict in it (as the CLI's exit code);
    with the run's saved rows (``cut_results``), also where to cut."""
    check_alpha(alpha)
    record = summary.record
    figures_done = 0
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(record.name)} – Rerank Playground run</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(record.name)}</h1>",
        f"<p class='note'>Run {html.escape(record.run_id)} · state {html.escape(record.status)} · "
        f"{summary.saved} of {summary.expected} orderings saved · started {record.started_at:%Y-%m-%d %H:%M:%S %Z}"
        + (f" · ended {record.ended_at:%Y-%m-%d %H:%M:%S %Z}" if record.ended_at else "") + "</p>",
    ]
    if not summary.complete:
        parts.append("<p class='bad'>This run is incomplete: the figures cover only the saved queries.</p>")
    parts.append(f"<p class='note methods'>{html.escape(summary.methods(alpha))}</p>")
    verdicts = summary.verdicts(alpha)
    if verdicts:
        parts.append(f"<h2>Verdicts on {html.escape(summary.primary)} (one per setting and reranker)</h2><ul>")
        for verdict in verdicts:
            css = {"worse": "bad", "better": "good"}.get(verdict.kind, "note")
            parts.append(f"<li class='{css}'>{html.escape(verdict.text)}</li>")
        parts.append("</ul>")
    for setting in summary.settings:
        parts.append(f"<h2>Setting: {html.escape(setting.label)}</h2>")
        parts.append("<h3>Metrics per ordering (mean over judged queries, 95% bootstrap CI)</h3>")
        parts.append(_table(metrics_table(setting)))
        parts.append("<h3>Paired significance: the mean paired difference with its 95% bootstrap CI, the paired "
                     "randomization p and the paired t-test p (Holm-corrected over the run's family, see Methods); "
                     "effect size Cohen's d_z</h3>")
        parts.append(_table(tests_table(setting)))
        for ordering in setting.orderings:
            if ordering == BASELINE:
                continue
            parts.append(_figure(win_loss_chart(setting, ordering, summary.primary), first=figures_done == 0))
            figures_done += 1
        parts.append(_figure(quality_cost_chart(setting, summary.primary), first=figures_done == 0))
        figures_done += 1
        parts.append(f"<h3>Per query: {html.escape(summary.primary)}</h3>")
        parts.append(_table(per_query_table(setting, summary.primary)))
        if setting.failures:
            parts.append("<h3>Failed</h3>")
            parts.append(_table(pd.DataFrame([
                {"query_id": f.query_id, "query": f.query, "ordering": f.ordering, "attempts": f.attempts,
                 "error": f.error} for f in setting.failures
            ])))
    sweep = depth_sweep(summary)
    if sweep is not None:
        parts.append("<h2>Depth sweep</h2>")
        for fig in depth_sweep_charts(sweep):
            parts.append(_figure(fig, first=figures_done == 0))
            figures_done += 1
        parts.append(_table(pd.DataFrame([
            {"K": p.k, "ordering": p.ordering, f"mean {sweep.measure}": p.mean, "95% CI low": p.low,
             "95% CI high": p.high, "mean latency (ms)": p.mean_latency_ms, "tokens / query": p.mean_tokens,
             "knee": "★" if sweep.knee.get(p.ordering) == p.k else ""}
            for p in sweep.points
        ])))
    if cut_results:
        parts.append(report_section(record, cut_results, include_plotlyjs=figures_done == 0))
    parts.append("<h2>Settings</h2>")
    plan = summary.plan
    facts = {
        "collection": f"{record.collection} ({record.object_count:,} objects)",
        "query set": f"{plan.query_set.name} ({len(record.qrels)} judged queries)",
        "search settings": "; ".join(setting_label(s) for s in plan.settings),
        "rerankers": ", ".join(c.label for c in plan.rerankers) or "none (baseline only)",
        "metric depth k": str(plan.k),
        "measures": ", ".join(summary.measures),
        "relevance level (P, R, RR, AP)": "–" if summary.relevance_level is None
        else relevance_note(summary.relevance_level),
        "significance level α": f"{alpha:g}",
        "app version": record.app_version,
        "Weaviate version": record.server_version,
        "notes": " ".join(record.plan.get("notes", [])) or "–",
    }
    parts.append(_table(pd.DataFrame({"setting": list(facts), "value": list(facts.values())})))
    parts.append("<p class='note'>Unjudged documents count as not relevant in nDCG, P, R, RR and AP; Judged@k shows "
                 "how much of the top k was judged.</p></body></html>")
    return "".join(parts)


def _figure(fig: go.Figure, *, first: bool) -> str:
    return str(fig.to_html(full_html=False, include_plotlyjs=first))


def trec_id(text: str) -> str:
    """An id as one whitespace-free TREC field: ``%`` and every whitespace or control character become ``%XX``
    of their UTF-8 bytes (``urllib.parse.unquote`` reverses it). Ids without them are written unchanged. The
    qrels and the run files go through the same function, so their ids match."""
    if not text:
        raise InvalidInput("An empty query or document id cannot be written to a TREC file.")
    return "".join(
        "".join(f"%{byte:02X}" for byte in ch.encode("utf-8")) if ch == "%" or ch.isspace() or not ch.isprintable()
        else ch
        for ch in text
    )


def trec_run(results: Sequence[QueryResult], setting: int, ordering: str) -> str:
    """``query_id Q0 doc_id rank score tag`` lines of one ordering, built so that trec_eval scores exactly the
    ranking the tool scored:

    - one line per (query, document): a document the ranking repeats (passages of one article under an id
      property) keeps its first rank, as the tool's metrics count it;
    - trec_eval orders by score (ties broken by document id) and keeps scores as 32-bit floats (3.0000001 and 3.0
      tie there), so the saved scores are written at full precision (``repr`` round-trips a float) only when
      their 32-bit values are finite and strictly decreasing after that deduplication; otherwise (ties, near-ties,
      missing scores) every line of the query gets the rank-derived score n - rank + 1;
    - ids go through :func:`trec_id`, as in :func:`trec_qrels`.
    """
    tag = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in ordering) or "run"
    lines = []
    for result in results:
        if result.setting != setting or result.ordering != ordering or result.status != "done":
            continue
        first: dict[str, float | None] = {}
        for doc, score in result.ranking:
            first.setdefault(doc, score)
        ranking = list(first.items())
        scores = [score for _, score in ranking]
        as_trec_eval = np.array([math.nan if s is None else s for s in scores], dtype=np.float64).astype(np.float32)
        usable = bool(np.all(np.isfinite(as_trec_eval)) and np.all(as_trec_eval[:-1] > as_trec_eval[1:]))
        n = len(ranking)
        qid = trec_id(result.query_id)
        for rank, (doc, score) in enumerate(ranking, start=1):
            value = repr(float(score)) if usable and score is not None else str(n - rank + 1)
            lines.append(f"{qid} Q0 {trec_id(doc)} {rank} {value} {tag}")
    return "\n".join(lines) + ("\n" if lines else "")


def trec_qrels(qrels: Mapping[str, Mapping[str, int]]) -> str:
    """``query_id 0 doc_id grade`` lines of a run's judgments (the snapshot it was scored against), ids through
    :func:`trec_id`: the qrels to evaluate :func:`trec_run` files with."""
    return "".join(f"{trec_id(qid)} 0 {trec_id(doc)} {grade}\n"
                   for qid, docs in qrels.items() for doc, grade in docs.items())
