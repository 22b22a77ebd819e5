"""Snapshots to send afterwards: one self-contained HTML file per view or per story, that opens offline.

The file holds plotly.js once (inlined), each chart's figure as inert JSON (``<script type="application/json">``
with ``<``, ``>`` and ``&`` written as ``\\u003c``... so document text cannot close the script), tables and
numbers as escaped HTML, the settings and notes, the app and server versions and the date. It is built only
from views, results and versions: no key is ever passed in, so none can be in it.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata

import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from rerank_playground import charts, tables
from rerank_playground.errors import PngUnavailable
from rerank_playground.presentation.presenter import PreparedView, headline
from rerank_playground.presentation.stories import StoryView, view_to_dict
from rerank_playground.rerankers import find_provider

APP_NAME = "Rerank Playground"


def app_version() -> str:
    try:
        return metadata.version("rerank-playground")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class Versions:
    app: str
    server: str  # the Weaviate version, or "unknown"


_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px;
       color: #1f2430; padding: 0 1rem; }
h1 { font-size: 1.8rem; } h2 { border-top: 2px solid #dde; padding-top: 1.2rem; margin-top: 2.4rem; }
.meta, .note { color: #555; } .note { font-style: italic; font-size: 1.05rem; }
.numbers { display: flex; gap: 2rem; flex-wrap: wrap; margin: 1rem 0; }
.numbers div { min-width: 9rem; } .numbers b { display: block; font-size: 1.8rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.6rem 0; }
td, th { border: 1px solid #dde; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
.problem { color: #8a5a00; background: #fff7e6; padding: 0.4rem 0.6rem; border-radius: 4px; }
details { margin: 0.6rem 0; } .tally { background: #eef4ff; padding: 0.6rem 1rem; border-radius: 4px; }
"""

_PLOT_ALL = """
document.querySelectorAll('script[type="application/json"][data-plot]').forEach(function (node) {
  var fig = JSON.parse(node.textContent);
  Plotly.newPlot(node.getAttribute('data-plot'), fig.data, fig.layout, {displaylogo: false, responsive: true});
});
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _figure(fig: go.Figure, div_id: str) -> str:
    payload = fig.to_json()
    for char, code in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        payload = payload.replace(char, code)  # JSON strings only: the same data, and it cannot end the script
    return (
        f'<div id="{div_id}" class="chart"></div>\n'
        f'<script type="application/json" data-plot="{div_id}">{payload}</script>\n'
    )


def _table(frame: pd.DataFrame) -> str:
    return str(frame.to_html(index=False, escape=True, border=0, na_rep="—"))


def _settings(view: StoryView) -> str:
    rows = []
    for name, value in view_to_dict(view).items():
        if name in ("note", "title"):
            continue
        if name == "rerankers":
            value = ", ".join(f"{c.label} ({path_label(c.reranker)})" for c in view.choices)
        elif name == "filters":
            value = "; ".join(str(f) for f in view.request.filters)  # as the filter row and the CLI write them
        elif isinstance(value, list):
            value = ", ".join(map(str, value)) or "(all)"
        rows.append(f"<tr><th>{_e(name)}</th><td>{_e('—' if value is None else value)}</td></tr>")
    return "<details><summary>Settings</summary><table>" + "".join(rows) + "</table></details>\n"


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def view_section(
    prepared: PreparedView, number: int, grades: Mapping[str, int] | None = None, blind_lines: Sequence[str] = ()
) -> str:
    view = prepared.view
    out = [f"<section><h2>{number}. {_e(view.heading)}</h2>\n"]
    request = view.request
    out.append(
        f'<p class="meta">“{_e(request.query)}” in {_e(request.collection)} · {_e(request.mode.value)} search · '
        f"{request.limit} candidates · top {view.top_n} shown · reranked on: "
        f"{_e((prepared.search.request if prepared.search else request).text_property or 'the default')}</p>\n"
    )
    if view.note:
        out.append(f'<p class="note">What to look for: {_e(view.note)}</p>\n')
    for problem in prepared.errors.values():
        out.append(f'<p class="problem">{_e(problem)}</p>\n')
    for choice in prepared.waiting:
        out.append(f'<p class="problem">{_e(choice.label)} was not run (it uses Jina tokens and waits for a '
                   "key press).</p>\n")
    for index, (label, run) in enumerate(prepared.runs.items()):
        numbers = headline(run, grades)
        out.append(f"<h3>Reranked with {_e(label)}</h3>\n<div class=\"numbers\">")
        tau = tables.fmt_correlation(numbers.kendall_tau)
        out.append(f"<div>Kendall τ · all {len(run.search.hits)}<b>{tau}</b></div>")
        out.append(f"<div>Overlap · top {numbers.overlap_k}<b>{_e(numbers.overlap)}</b></div>")
        out.append(f"<div>Biggest climb into the top {numbers.overlap_k}<b>{_e(numbers.biggest_climb)}</b></div>")
        if numbers.ndcg_before is not None or numbers.ndcg_after is not None:
            out.append(f"<div>nDCG@{view.top_n} before → after<b>{_fmt(numbers.ndcg_before)} → "
                       f"{_fmt(numbers.ndcg_after)}</b><small>{_e(numbers.judged)}</small></div>")
        out.append(
            f"<div>Latency<b>{run.search.latency_ms:,.0f} + {run.result.latency_ms:,.0f} ms</b>"
            f"<small>search + rerank{' (cached)' if run.result.cached else ''}</small></div>"
        )
        out.append("</div>\n")
        out.append(_figure(charts.slope_chart(run.movement, grades=grades or None), f"chart-{number}-{index}"))
        moves = tables.movement_table(run.movement).head(view.top_n)
        out.append("<details><summary>Reranked top N, with where each document came from</summary>")
        out.append(_table(moves) + "</details>\n")
    if prepared.search is not None and not prepared.runs:
        out.append("<h3>Search results (not reranked)</h3>")
        out.append(_table(tables.results_table(prepared.search.hits[: view.top_n])))
    for line in blind_lines:
        out.append(f'<p class="tally">{_e(line)}</p>\n')
    out.append(_settings(view))
    out.append("</section>\n")
    return "".join(out)


def snapshot_html(
    title: str,
    views: Sequence[PreparedView],
    *,
    versions: Versions,
    created: datetime,
    grades: Sequence[Mapping[str, int] | None] | None = None,
    tally_lines: Sequence[str] = (),
) -> str:
    """The whole file: ``views`` in order (one for a single view, all for a story)."""
    sections = [
        view_section(p, i + 1, grades[i] if grades and i < len(grades) else None) for i, p in enumerate(views)
    ]
    tally = "".join(f'<p class="tally">{_e(line)}</p>' for line in tally_lines)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        f"<title>{_e(title)} · {APP_NAME}</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<style>{_STYLE}</style>\n"
        f'<script type="text/javascript">{get_plotlyjs()}</script>\n'
        "</head><body>\n"
        f"<h1>{_e(title)}</h1>\n"
        f'<p class="meta">{APP_NAME} {_e(versions.app)} · Weaviate {_e(versions.server)} · '
        f"made {_e(created.strftime('%Y-%m-%d %H:%M %Z').strip())} · {len(views)} view(s)</p>\n"
        + (f"<h2>Blind A/B: what the room preferred</h2>{tally}\n" if tally else "")
        + "".join(sections)
        + f"<script>{_PLOT_ALL}</script>\n</body></html>\n"
    )


def chart_png(fig: go.Figure, width: int = 1200) -> bytes:
    """A chart as PNG through kaleido, which drives the local Chromium (no network needed)."""
    try:
        return bytes(fig.to_image(format="png", width=width))
    except Exception as exc:  # noqa: BLE001 - kaleido raises many kinds (no Chrome, no kaleido, a crash)
        raise PngUnavailable(
            "The chart could not be saved as PNG on this machine.",
            hint="PNG export needs the 'kaleido' package and Chromium; the HTML snapshot has the same chart.",
        ) from exc


def path_label(reranker: str) -> str:
    """The provider's one-line label (its registry name when nothing is registered under it)."""
    spec = find_provider(reranker)
    return spec.label if spec else reranker
