"""Figures and the report section of "where to cut" (pure builders: ``evaluation.cutoff`` results in, figures out).

- ``reliability_chart``: per model, the share of judged documents that are relevant in each score bin (Wilson 95%
  CI bars, the count on each point), one panel per model with its own score axis;
- ``score_distributions``: each model's scores of relevant, not relevant and unjudged documents, side by side,
  saying plainly that scores of different models are not on one scale;
- ``cut_curves_chart``: the metric means against the cut for each family, the chosen cut marked.

Every label that came from a run (model names, setting labels) is escaped for plotly.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rerank_playground.charts import escape
from rerank_playground.evaluation import cutoff
from rerank_playground.evaluation.cutoff import Calibration, Choice, ModelLists
from rerank_playground.evaluation.runs import QueryResult, RunRecord

COLOURS = {"precision": "#1565c0", "recall": "#2e7d32", "ndcg": "#6a1b9a", "returned": "#ef6c00"}
GROUPS = (("relevant", "#2e7d32"), ("not relevant", "#c62828"), ("unjudged", "#9e9e9e"))  # colours by group
DEFAULT_REPORT_CONSTRAINT = "precision>=0.5"
X_TITLES = {"threshold": "score threshold t (keep while score ≥ t)", "top_k": "k (keep the first k of N)",
            "relative": "f (stop at the first drop > f of the list's score range)"}


# Line lengths that fit a Runs page chart at 1280 px (~760 px beside the sidebar): titles at ~17 px, notes (<sup>)
# at ~10 px. Plotly never wraps a title itself: a longer line runs off the chart.
TITLE_CHARS = 90
NOTE_CHARS = 140


def _wrap(text: str, width: int = 34) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "<br>".join(escape(x) for x in lines)


def bin_spans(bins: Sequence[cutoff.CalibrationBin]) -> list[tuple[float, float]]:
    """The stretch of the score axis each bin's count bar covers: the bins tile the axis from the lowest score to
    the highest, meeting halfway between one bin's highest score and the next one's lowest, so a bar is as wide as
    its bin (bars at the bin means took the width of the two closest means: about a pixel in some panels).

    A bin narrower than a quarter of an average bin (equal-count bins where scores crowd, or one repeated score)
    is widened to that around its centre, so every count stays readable; it may then overlap a neighbour a little.
    A panel whose scores are all one value gets a bar 0.1 score units wide."""
    if not bins:
        return []
    edges = [bins[0].low]
    edges += [(a.high + b.low) / 2 for a, b in zip(bins, bins[1:], strict=False)]
    edges.append(bins[-1].high)
    spans = list(zip(edges, edges[1:], strict=False))
    floor = (edges[-1] - edges[0]) / (4 * len(bins)) if edges[-1] > edges[0] else 0.1
    return [(low, high) if high - low >= floor else ((low + high - floor) / 2, (low + high + floor) / 2)
            for low, high in spans]


def reliability_chart(calibrations: Sequence[Calibration], *, scope: str = "") -> go.Figure:
    """Share judged relevant per score bin (top row, Wilson 95% CI bars) and the judged documents in each bin
    (bottom row: relevant / not relevant), one column per model with its own score axis."""
    cals = list(calibrations)
    columns = max(1, len(cals))
    fig = make_subplots(rows=2, cols=columns, shared_yaxes="rows", shared_xaxes="columns", row_heights=[0.7, 0.3],
                        vertical_spacing=0.06, horizontal_spacing=0.05,
                        subplot_titles=[_wrap(c.ordering) for c in cals] + [""] * len(cals) or [""])
    for col, cal in enumerate(cals, start=1):
        bins = cal.bins
        xs = [b.mean_score for b in bins]
        fig.add_trace(go.Scatter(
            x=xs, y=[b.share for b in bins], mode="lines+markers",
            error_y={"type": "data", "symmetric": False, "array": [b.ci_high - b.share for b in bins],
                     "arrayminus": [b.share - b.ci_low for b in bins]},
            marker={"size": 9, "color": "#1565c0"}, line={"color": "#1565c0"}, name="share judged relevant",
            legendgroup="share", showlegend=col == 1,
            customdata=[[b.low, b.high, b.relevant, b.n, b.ci_low, b.ci_high] for b in bins],
            hovertemplate="scores %{customdata[0]:.4g} – %{customdata[1]:.4g}<br>%{customdata[2]} of "
                          "%{customdata[3]} judged relevant (%{y:.0%})<br>95% CI %{customdata[4]:.0%} – "
                          "%{customdata[5]:.0%}<extra></extra>",
        ), row=1, col=col)
        level = cal.relevant_from
        spans = bin_spans(bins)
        centres = [(low + high) / 2 for low, high in spans]
        widths = [high - low for low, high in spans]
        for name, colour, counts in ((f"grade ≥ {level}", "#2e7d32", [b.relevant for b in bins]),
                                     (f"grade < {level}", "#c62828", [b.n - b.relevant for b in bins])):
            fig.add_trace(go.Bar(x=centres, y=counts, width=widths, name=f"judged, {name} (count)",
                                 marker={"color": colour, "line": {"color": "white", "width": 1}}, opacity=0.9,
                                 legendgroup=name, showlegend=col == 1,
                                 customdata=[[b.low, b.high] for b in bins],
                                 hovertemplate=f"%{{y}} judged, {name}<br>scores %{{customdata[0]:.4g}} – "
                                               "%{customdata[1]:.4g}<extra></extra>"), row=2, col=col)
        fig.update_xaxes(title_text=_wrap(f"score (points at the bin mean, bars over the bin) · {cal.judged} judged, "
                                          f"{cal.unjudged} unjudged left out", 36), row=2, col=col)
    relevant_from = cals[0].relevant_from if cals else 1
    fig.update_yaxes(title_text=f"share relevant (grade ≥ {relevant_from})", range=[-0.02, 1.05], row=1, col=1)
    tallest = max((b.n for c in cals for b in c.bins), default=1)
    # an explicit range: with rows of shared axes, the counts' automatic range came out as the first bar's
    fig.update_yaxes(title_text="judged docs", range=[0, tallest * 1.05], row=2, col=1)
    fig.update_yaxes(automargin=True)
    title = ("Reliability: does a higher score mean more often relevant? (equal-count bins, Wilson 95% CI; no model's "
             "score is a probability)")
    fig.update_layout(
        title={"text": f"{_wrap(title, TITLE_CHARS)}<br><sup>{_wrap(scope, NOTE_CHARS)}<br>"
                       f"{_wrap(cutoff.SCALE_NOTE, NOTE_CHARS)}</sup>"},
        height=660, template="plotly_white", margin={"t": 170, "l": 90}, barmode="stack",
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def score_distributions(calibrations: Sequence[Calibration], *, scope: str = "") -> go.Figure:
    """Each model's score distribution by judgment, in its own panel (scores are not on one scale)."""
    cals = list(calibrations)
    fig = make_subplots(rows=1, cols=max(1, len(cals)), horizontal_spacing=0.06,
                        subplot_titles=[_wrap(c.ordering) for c in cals] or [""])
    for col, cal in enumerate(cals, start=1):
        groups = (cal.scores_relevant, cal.scores_not_relevant, cal.scores_unjudged)
        names = (f"grade ≥ {cal.relevant_from}", f"judged, grade < {cal.relevant_from}", "unjudged")
        for (_, colour), name, scores in zip(GROUPS, names, groups, strict=True):
            if not scores:
                continue
            fig.add_trace(go.Box(
                y=list(scores), name=f"{name} ({len(scores)})", marker_color=colour, boxpoints="outliers",
                legendgroup=name, showlegend=False,
            ), row=1, col=col)
        fig.update_yaxes(title_text="score" if col == 1 else None, row=1, col=col)
    fig.update_layout(
        title={"text": "Score distributions per model, by judgment<br>"
                       f"<sup>{_wrap(f'{cutoff.SCALE_NOTE} {scope}', NOTE_CHARS)}</sup>"},
        height=480, template="plotly_white", margin={"t": 130},
    )
    return fig


def cut_curves_chart(choice: Choice) -> go.Figure:
    """Precision, recall, nDCG@k and documents returned against the cut, per family; the chosen cut starred."""
    lists = choice.lists
    kinds = list(choice.curves)
    fig = make_subplots(rows=2, cols=len(kinds), shared_xaxes="columns", vertical_spacing=0.08,
                        horizontal_spacing=0.07, row_heights=[0.65, 0.35],
                        subplot_titles=[cutoff.KIND_LABELS[k] for k in kinds] + [""] * len(kinds))
    names = {"precision": "precision", "recall": "recall", "ndcg": f"nDCG@{lists.k}", "returned": "returned"}
    for col, kind in enumerate(kinds, start=1):
        points = choice.curves[kind].points
        xs = [p.cut.value for p in points]
        shape = "hv" if kind == "top_k" else "linear"
        for metric in ("precision", "recall", "ndcg"):
            fig.add_trace(go.Scatter(
                x=xs, y=[p.get(metric) for p in points], mode="lines", name=names[metric],
                line={"color": COLOURS[metric], "shape": shape}, legendgroup=metric, showlegend=col == 1,
                hovertemplate=f"{names[metric]} %{{y:.3f}} at %{{x:.4g}}<extra></extra>",
            ), row=1, col=col)
        fig.add_trace(go.Scatter(
            x=xs, y=[p.returned for p in points], mode="lines", name="documents returned (mean)",
            line={"color": COLOURS["returned"], "shape": shape}, legendgroup="returned", showlegend=col == 1,
            hovertemplate="%{y:.2f} returned at %{x:.4g}<extra></extra>",
        ), row=2, col=col)
        for constraint in choice.constraints:
            row = 2 if constraint.metric == "returned" else 1
            annotation = {"annotation_text": escape(constraint.label)} if col == 1 else {}
            fig.add_hline(y=constraint.value, line={"dash": "dash", "color": "#616161", "width": 1}, row=row,
                          col=col, **annotation)
        best = choice.best_by_kind.get(kind)
        if best is not None:
            chosen = choice.best is not None and best.cut == choice.best.cut
            marker = {"symbol": "star" if chosen else "circle-open", "size": 16 if chosen else 11,
                      "color": "#000000"}
            label = ("chosen: " if chosen else "best here: ") + best.cut.label
            for metric, row in (("precision", 1), ("recall", 1), ("ndcg", 1), ("returned", 2)):
                value = best.get(metric)
                if value is None:
                    continue
                fig.add_trace(go.Scatter(
                    x=[best.cut.value], y=[value], mode="markers", marker=marker, showlegend=False,
                    hovertemplate=f"{escape(label)}<br>{names[metric]} {value:.3f}<extra></extra>",
                ), row=row, col=col)
        fig.update_xaxes(title_text=_wrap(X_TITLES[kind], 30), row=2, col=col)
    for col in range(1, len(kinds) + 1):
        fig.update_yaxes(range=[-0.02, 1.05], row=1, col=col)
    fig.update_yaxes(title_text="mean over queries", row=1, col=1)
    fig.update_yaxes(title_text="returned", rangemode="tozero", row=2, col=1)
    rules = ", ".join(c.label for c in choice.constraints) or "no constraint"
    chosen_text = choice.best.cut.label if choice.best else "no cut meets it"
    scope = (f"{lists.ordering} · {lists.setting_label} · {len(lists.queries)} judged queries · N = "
             f"{lists.candidates} · {rules} · {choice.objective} → {chosen_text}")
    fig.update_layout(
        title={"text": f"Where to cut: metrics against the cut (★ chosen, ○ best of each family)<br>"
                       f"<sup>{_wrap(scope, NOTE_CHARS)}</sup>"},
        height=640, template="plotly_white", margin={"t": 120}, legend={"orientation": "h", "y": -0.2},
    )
    return fig


# ------------------------------------------------------------------------------------------------ report


def _choice_rows(choice: Choice) -> str:
    lists = choice.lists
    cells = []
    for kind, point in choice.best_by_kind.items():
        chosen = "★" if choice.best is not None and point is not None and point.cut == choice.best.cut else ""
        if point is None:
            cells.append(f"<tr><td>{html.escape(lists.ordering)}</td><td>{cutoff.KIND_LABELS[kind]}</td>"
                         "<td colspan='6'>no cut meets the constraint</td></tr>")
            continue
        values = "".join(f"<td>{'–' if point.get(m) is None else f'{point.get(m):.3f}'}</td>"
                         for m in ("precision", "recall", "ndcg", "returned", "judged"))
        cells.append(f"<tr><td>{html.escape(lists.ordering)}</td><td>{cutoff.KIND_LABELS[kind]}</td>"
                     f"<td>{html.escape(point.cut.label)} {chosen}</td>{values}</tr>")
    return "".join(cells)


def _ci_text(choice: Choice) -> str:
    if choice.best is None:
        return (f"<p class='bad'>{html.escape(choice.lists.ordering)}: no cut meets "
                f"{html.escape(', '.join(c.label for c in choice.constraints))}.</p>")
    parts = []
    for metric in ("precision", "recall", "ndcg", "returned"):
        ci = choice.cis[metric]
        if ci.mean is None:
            continue
        interval = f" [{ci.low:.3f}, {ci.high:.3f}]" if ci.low is not None and ci.high is not None else ""
        name = f"nDCG@{choice.lists.k}" if metric == "ndcg" else metric
        parts.append(f"{name} {ci.mean:.3f}{interval}")
    return (f"<p>{html.escape(choice.lists.ordering)}: chosen <b>{html.escape(choice.best.cut.label)}</b> — "
            f"{html.escape('; '.join(parts))} (95% bootstrap CI over queries; chosen on these queries, so a "
            "little optimistic on new ones).</p>")


def report_section(record: RunRecord, results: Sequence[QueryResult], *, constraint: str = DEFAULT_REPORT_CONSTRAINT,
                   include_plotlyjs: bool = False) -> str:
    """The report's "Where to cut" section: calibration, score distributions and cut curves per setting."""
    available, notes = cutoff.model_lists(record, results)
    parts = ["<h2>Where to cut: score calibration, thresholds and top k</h2>",
             "<p class='note'>Weaviate cannot cut on rerank scores (its autocut runs before the reranker): ask for "
             "limit=N with rerank and cut in the client. Below: how each model's scores relate to the judgments, and "
             f"the best cut under <b>{html.escape(constraint)}</b> (set another with <code>rerank-playground cutoff "
             "RUN_ID --constraint ...</code> or on the Runs page).</p>"]
    parts += [f"<p class='note'>{html.escape(n)}</p>" for n in notes]
    if not available:
        parts.append("<p class='note'>No ordering of this run has scores to cut.</p>")
        return "".join(parts)
    constraints = cutoff.parse_constraints(constraint)
    first = include_plotlyjs
    for setting in sorted({m.setting for m in available}):
        models = [m for m in available if m.setting == setting]
        label = models[0].setting_label
        parts.append(f"<h3>{html.escape(label)}</h3>")
        cals = [cutoff.calibration(m) for m in models]
        scope = f"{label} · judged documents in the top {models[0].candidates} of each query"
        for fig in (reliability_chart(cals, scope=scope), score_distributions(cals, scope=scope)):
            parts.append(str(fig.to_html(full_html=False, include_plotlyjs=first)))
            first = False
        rows = []
        for lists in models:
            choice = cutoff.choose_cut(lists, constraints)
            parts.append(_ci_text(choice))
            parts.append(str(cut_curves_chart(choice).to_html(full_html=False, include_plotlyjs=False)))
            rows.append(_choice_rows(choice))
        head = "".join(f"<th>{h}</th>" for h in ("ordering", "cut family", "best cut", "precision", "recall",
                                                 f"nDCG@{models[0].k}", "returned", "judged"))
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    return "".join(parts)


def cli_reliability_chart(record: RunRecord, lists: ModelLists, *, relevant_from: int = 1) -> go.Figure:
    """``rerank-playground cutoff --chart``: the reliability chart of the one ordering the command cuts (its
    ``--model``), scoped to the run, setting and collection."""
    scope = f"run {record.run_id[:8]} · {lists.ordering} · {lists.setting_label} · {record.collection}"
    return reliability_chart([cutoff.calibration(lists, relevant_from=relevant_from)], scope=scope)


def calibrations_for(models: Sequence[ModelLists], *, bins: int = 10, relevant_from: int = 1) -> list[Calibration]:
    return [cutoff.calibration(m, bins=bins, relevant_from=relevant_from) for m in models]
