"""Pure plotly figure builders: core objects in, ``plotly.graph_objects.Figure`` out. No streamlit.

Conventions shared by every chart:

- green ``#2e7d32`` = climbed, red ``#c62828`` = fell, grey ``#9e9e9e`` = unchanged, and a glyph / marker
  symbol for each (▲ triangle-up, ▼ triangle-down, ● circle) so colour is never the only signal;
- rank axes are reversed (rank 1 at the top);
- traces are grouped (one per colour class, points joined with ``None`` separators), so a chart of 200
  candidates has as few traces as a chart of 10;
- text from the database is untrusted: plotly renders a subset of HTML in hover text, labels and legend
  names, so every document text goes through :func:`escape` first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from rerank_playground.errors import InvalidInput
from rerank_playground.models import Move, Movement
from rerank_playground.tables import ARROWS, arrow, move_class, snippet

GREEN = "#2e7d32"
RED = "#c62828"
GREY = "#9e9e9e"
CLASS_COLORS = {"up": GREEN, "down": RED, "same": GREY}
CLASS_SYMBOLS = {"up": "triangle-up", "down": "triangle-down", "same": "circle"}
CLASS_NAMES = {"up": "▲ moved up", "down": "▼ moved down", "same": "● unchanged"}
CLASSES = ("up", "down", "same")
ENTERED_SYMBOL = "star"
LEFT_SYMBOL = "x"

LABEL_LIMIT = 30  # draw text labels only up to this many documents
HOVER_SNIPPET = 160
LABEL_SNIPPET = 28
MIN_HEIGHT = 420
MAX_HEIGHT = 1400


def escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` so plotly shows the text instead of interpreting tags."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def safe_snippet(text: str | None, max_chars: int) -> str:
    return escape(snippet(text, max_chars))


def chart_height(n: int, per_row: int = 24, base: int = 220) -> int:
    """Grows with the number of documents, between ``MIN_HEIGHT`` and ``MAX_HEIGHT`` pixels."""
    return max(MIN_HEIGHT, min(MAX_HEIGHT, base + per_row * n))


def _line_style(n: int) -> tuple[float, float, int]:
    """(line width, trace opacity, marker size) for ``n`` documents."""
    if n <= LABEL_LIMIT:
        return 2.5, 0.95, 10
    if n <= 100:
        return 1.5, 0.75, 7
    return 1.0, 0.55, 5


LOG_FROM = 50  # rank axes turn logarithmic above this many documents (unless asked otherwise)
_LOG_TICKS = (1, 2, 3, 5, 10, 20, 30, 50, 100, 200, 300, 500, 1000, 2000, 5000, 10000)


def rank_axis(n: int, log: bool, extra_ticks: Sequence[int] = ()) -> dict[str, Any]:
    """y-axis settings for ranks ``1..n``: reversed (1 at the top), optionally logarithmic.

    A log axis gives the top of a long list (where the top N lives) most of the height.
    """
    n = max(n, 1)
    if log:
        ticks = sorted({t for t in (*_LOG_TICKS, *extra_ticks, n) if 1 <= t <= n})
        return {
            "type": "log",
            "range": [math.log10(n * 1.08), math.log10(0.8)],
            "tickvals": ticks,
            "ticktext": [str(t) for t in ticks],
        }
    axis: dict[str, Any] = {"type": "linear", "range": [n + 0.7, 0.3]}
    if n <= LABEL_LIMIT:
        axis["dtick"] = 1
    else:
        step = 10 if n <= 100 else 25 if n <= 250 else 100 if n <= 1000 else 500
        ticks = sorted({1, *(t for t in extra_ticks if 1 <= t <= n), *range(step, n + 1, step)})
        axis["tickvals"] = ticks
        axis["ticktext"] = [str(t) for t in ticks]
    return axis


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _hover_row(move: Move) -> list[str]:
    """customdata for one document: the hover template reads these by position."""
    if move.rerank_score is None:
        rerank = "not scored (outside the reranker's top N)"
    else:
        rerank = _fmt(move.rerank_score)
    note = ""
    if move.entered_top_n:
        note = "<br>★ entered the top N"
    elif move.left_top_n:
        note = "<br>✕ left the top N"
    return [
        str(move.original_rank),
        str(move.new_rank),
        arrow(move.delta),
        _fmt(move.retrieval_score),
        rerank,
        safe_snippet(move.text, HOVER_SNIPPET),
        note,
    ]


_EMPTY_ROW = [""] * 7
MOVE_HOVER = (
    "<b>%{customdata[5]}</b><br>"
    "rank %{customdata[0]} → %{customdata[1]} (%{customdata[2]})<br>"
    "retrieval score: %{customdata[3]}<br>"
    "rerank score: %{customdata[4]}"
    "%{customdata[6]}<extra></extra>"
)


def _base_layout(fig: go.Figure, title: str, subtitle: str, height: int, top: int = 100) -> None:
    fig.update_layout(
        title={"text": title, "subtitle": {"text": subtitle}, "x": 0.01, "xanchor": "left"},
        height=height,
        template="plotly_white",
        hovermode="closest",
        legend={"orientation": "v", "yanchor": "top", "y": 1, "xanchor": "left", "x": 1.02},
        margin={"l": 60, "r": 30, "t": top, "b": 60},
    )


def _segments(
    moves: Sequence[Move], left_symbol: str, right_symbol: str, left_size: int, right_size: int, labels: bool
) -> dict[str, Any]:
    """Scatter data drawing each move as a segment (original rank at x=0 -> new rank at x=1).

    Segments are joined into one trace with ``None`` separators; markers, hover rows and labels are per point.
    """
    xs: list[float | None] = []
    ys: list[int | None] = []
    symbols: list[str] = []
    sizes: list[int] = []
    custom: list[list[str]] = []
    text: list[str] = []
    positions: list[str] = []
    for move in moves:
        row = _hover_row(move)
        xs += [0, 1, None]
        ys += [move.original_rank, move.new_rank, None]
        symbols += [left_symbol, right_symbol, "circle"]
        sizes += [left_size, right_size, 0]
        custom += [row, row, _EMPTY_ROW]
        short = safe_snippet(move.text, LABEL_SNIPPET)
        text += [short, f"{ARROWS[move_class(move)]} {short}", ""]
        positions += ["middle left", "middle right", "middle center"]
    data: dict[str, Any] = {
        "x": xs,
        "y": ys,
        "marker": {"symbol": symbols, "size": sizes},
        "customdata": custom,
        "hovertemplate": MOVE_HOVER,
        "connectgaps": False,
    }
    if labels:
        data["text"] = text
        data["textposition"] = positions
        data["textfont"] = {"size": 11, "color": "#333333"}
    return data


def slope_chart(
    movement: Movement, top_n: int | None = None, *, title: str | None = None, log_ranks: bool | None = None
) -> go.Figure:
    """Original rank (left) joined to reranked rank (right), one line per document.

    Traces, in order: one per move class (green up, red down, grey unchanged; ▲ ▼ ● markers on the right
    end), then the documents that entered the top N drawn again thicker with a ★ at their new rank, those
    that left it with a ✕ at their old rank, and a dashed line under rank ``top_n`` (when ``top_n < n``).
    So the trace count never depends on the number of documents. ``top_n`` defaults to the one the
    movement was computed with. Text labels beside the ends are drawn only up to ``LABEL_LIMIT``
    documents; the rank axis is logarithmic above ``LOG_FROM`` documents unless ``log_ranks`` says otherwise.
    """
    moves = sorted(movement.moves, key=lambda m: m.new_rank)
    n = len(moves)
    if top_n is None:
        top_n = movement.summary.top_n
    if top_n < 1:
        raise InvalidInput(f"top N must be at least 1 (got {top_n}).")
    log = n > LOG_FROM if log_ranks is None else log_ranks
    width, opacity, size = _line_style(n)
    labels = n <= LABEL_LIMIT
    small = max(3, size - 4)
    fig = go.Figure()

    counts = {cls: 0 for cls in CLASSES}
    for cls in CLASSES:
        chosen = [m for m in moves if move_class(m) == cls]
        counts[cls] = len(chosen)
        data = _segments(chosen, "circle", CLASS_SYMBOLS[cls], small, size, labels)
        data["marker"]["color"] = CLASS_COLORS[cls]
        fig.add_trace(
            go.Scatter(
                **data,
                name=f"{CLASS_NAMES[cls]} ({counts[cls]})",
                legendgroup=cls,
                mode="lines+markers+text" if labels else "lines+markers",
                line={"color": CLASS_COLORS[cls], "width": width},
                opacity=opacity,
                meta={"class": cls},
            )
        )

    entered = [m for m in moves if m.new_rank <= top_n < m.original_rank]
    left = [m for m in moves if m.original_rank <= top_n < m.new_rank]
    emphasis = width + 1.5
    for cls, chosen, symbols, colour, name in (
        ("entered", entered, ("circle", ENTERED_SYMBOL), GREEN, f"★ entered top {top_n} ({len(entered)})"),
        ("left", left, (LEFT_SYMBOL, "circle"), RED, f"✕ left top {top_n} ({len(left)})"),
    ):
        big = size + 6
        sizes = (0, big) if cls == "entered" else (big, 0)  # keep the class glyph visible at the other end
        data = _segments(chosen, symbols[0], symbols[1], sizes[0], sizes[1], labels=False)
        data["marker"].update(color=colour, line={"color": "#1b1b1b", "width": 1})
        fig.add_trace(
            go.Scatter(
                **data,
                name=name,
                mode="lines+markers",
                line={"color": colour, "width": emphasis},
                meta={"class": cls},
            )
        )

    x_range = [-1.0, 2.0] if labels else [-0.15, 1.15]
    if 0 < top_n < n:
        fig.add_trace(
            go.Scatter(
                x=x_range,
                y=[top_n + 0.5, top_n + 0.5],
                name=f"top {top_n} cut",
                mode="lines",
                line={"dash": "dash", "color": "#555555", "width": 1.5},
                hoverinfo="skip",
                meta={"class": "cut"},
            )
        )

    s = movement.summary
    overlap_k = 10 if 10 in s.overlap_at_k else (max(s.overlap_at_k) if s.overlap_at_k else None)
    parts = [f"Kendall τ = {s.kendall_tau:.2f}"]
    if overlap_k is not None and n:
        shown = min(overlap_k, n)
        parts.append(f"top-{shown} overlap {round(s.overlap_at_k[overlap_k] * shown)}/{shown}")
    parts.append(f"{len(entered)} entered / {len(left)} left the top {top_n}")
    if log:
        parts.append("rank axis is logarithmic")
    _base_layout(
        fig,
        title or f"Rank movement: {counts['up']} ▲ up, {counts['down']} ▼ down, {counts['same']} ● unchanged",
        " · ".join(parts),
        min(900, chart_height(n)) if log else chart_height(n),
        top=150,
    )
    fig.update_xaxes(
        title_text="Ranking",
        tickvals=[0, 1],
        ticktext=["Original", "Reranked"],
        side="top",
        range=x_range,
        showgrid=False,
        zeroline=False,
    )
    fig.update_yaxes(
        title_text="Rank (1 = best)",
        zeroline=False,
        showgrid=n <= LABEL_LIMIT,
        **rank_axis(n, log, extra_ticks=(top_n,)),
    )
    return fig


def bump_chart(
    rank_matrix: pd.DataFrame, texts: Sequence[str], *, highlight: int = 10, log_ranks: bool | None = None
) -> go.Figure:
    """Rank of each document under retrieval and each model (``rank_matrix`` columns), one line per document.

    ``texts[i]`` is the text of row ``i``. Up to ``LABEL_LIMIT`` documents every line gets its own colour and
    legend entry; beyond that, only documents ranked in the top ``highlight`` by at least one ordering do,
    and the rest share one grey trace (so the trace count stays bounded by ``highlight * columns + 1``).
    The rank axis is logarithmic above ``LOG_FROM`` documents unless ``log_ranks`` says otherwise.
    """
    n = len(rank_matrix)
    if len(texts) != n:
        raise InvalidInput(f"bump chart: {len(texts)} texts for {n} documents.")
    columns = [str(c) for c in rank_matrix.columns]
    if not columns:
        raise InvalidInput("bump chart: no orderings to compare.")
    xs = list(range(len(columns)))
    palette = qualitative.Dark24
    fig = go.Figure()
    width, opacity, size = _line_style(n)
    best = rank_matrix.min(axis=1).tolist() if n else []
    own = [i for i in range(n) if n <= LABEL_LIMIT or best[i] <= highlight]
    own_set = set(own)

    for colour_index, i in enumerate(own):
        ranks = [int(v) for v in rank_matrix.iloc[i].tolist()]
        short = safe_snippet(texts[i], LABEL_SNIPPET)
        full = safe_snippet(texts[i], HOVER_SNIPPET)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ranks,
                name=f"#{ranks[0]} {short}",
                mode="lines+markers",
                line={"color": palette[colour_index % len(palette)], "width": max(width, 2.0)},
                marker={"size": size},
                customdata=[[full, col] for col in columns],
                hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]}: rank %{y}<extra></extra>",
                meta={"document": i},
            )
        )

    rest = [i for i in range(n) if i not in own_set]
    if rest:
        gx: list[int | None] = []
        gy: list[int | None] = []
        custom: list[list[str]] = []
        for i in rest:
            full = safe_snippet(texts[i], HOVER_SNIPPET)
            gx += [*xs, None]
            gy += [*(int(v) for v in rank_matrix.iloc[i].tolist()), None]
            custom += [[full, col] for col in columns] + [["", ""]]
        fig.add_trace(
            go.Scatter(
                x=gx,
                y=gy,
                name=f"other documents, never in a top {highlight} ({len(rest)})",
                mode="lines",
                line={"color": GREY, "width": 1},
                opacity=0.35,
                customdata=custom,
                hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]}: rank %{y}<extra></extra>",
                meta={"document": "rest"},
            )
        )

    log = n > LOG_FROM if log_ranks is None else log_ranks
    subtitle = f"{n} candidates · one line per document · 1 = best"
    if log:
        subtitle += " · rank axis is logarithmic"
    height = chart_height(n, per_row=18)
    _base_layout(
        fig, "Rank of each document under each model", subtitle, min(900, height) if log else height, top=150
    )
    fig.update_xaxes(
        title_text="Ordering",
        tickvals=xs,
        ticktext=[escape(c) for c in columns],
        side="top",
        range=[-0.2, len(columns) - 0.8],
        showgrid=False,
    )
    fig.update_yaxes(
        title_text="Rank (1 = best)", zeroline=False, **rank_axis(n, log, extra_ticks=(highlight,))
    )
    return fig


def delta_bars(movement: Movement) -> go.Figure:
    """Horizontal bars of ``delta`` (places climbed) per document, sorted by new rank (rank 1 at the top)."""
    moves = sorted(movement.moves, key=lambda m: m.new_rank)
    n = len(moves)
    labels = n <= LABEL_LIMIT
    fig = go.Figure()
    for cls in CLASSES:
        chosen = [m for m in moves if move_class(m) == cls]
        fig.add_trace(
            go.Bar(
                x=[m.delta for m in chosen],
                y=[m.new_rank for m in chosen],
                orientation="h",
                name=f"{CLASS_NAMES[cls]} ({len(chosen)})",
                marker={"color": CLASS_COLORS[cls]},
                text=[arrow(m.delta) for m in chosen] if labels else None,
                textposition="outside" if labels else None,
                cliponaxis=False,
                customdata=[_hover_row(m) for m in chosen],
                hovertemplate=MOVE_HOVER,
                meta={"class": cls},
            )
        )
    _base_layout(
        fig,
        "How far each document moved",
        "bars right = climbed, left = fell · sorted by reranked position",
        chart_height(n, per_row=20 if labels else 7),
    )
    fig.update_layout(barmode="overlay", bargap=0.25 if labels else 0.05)
    max_abs = max((abs(m.delta) for m in moves), default=0)
    pad = max(1.0, max_abs * 0.15)
    fig.update_xaxes(
        title_text="Places moved (positive = climbed)",
        zeroline=True,
        zerolinecolor="#555555",
        range=[-max_abs - pad, max_abs + pad],
    )
    y_axis: dict[str, Any] = {"title_text": "Reranked position", **rank_axis(n, log=False)}
    if labels:
        y_axis["tickvals"] = [m.new_rank for m in moves]
        y_axis["ticktext"] = [f"{safe_snippet(m.text, LABEL_SNIPPET)} #{m.new_rank}" for m in moves]
        y_axis["title_text"] = ""
        fig.update_layout(margin={"l": 220})
    fig.update_yaxes(**y_axis)
    return fig


def score_scatter(movement: Movement) -> go.Figure:
    """Retrieval score (x) against rerank score (y), one trace per move class.

    Documents without one of the two scores (e.g. not returned by the reranker) are left out and
    counted in the subtitle.
    """
    moves = sorted(movement.moves, key=lambda m: m.new_rank)
    scored = [m for m in moves if m.retrieval_score is not None and m.rerank_score is not None]
    _, _, size = _line_style(len(moves))
    fig = go.Figure()
    for cls in CLASSES:
        chosen = [m for m in scored if move_class(m) == cls]
        fig.add_trace(
            go.Scatter(
                x=[m.retrieval_score for m in chosen],
                y=[m.rerank_score for m in chosen],
                name=f"{CLASS_NAMES[cls]} ({len(chosen)})",
                mode="markers",
                marker={
                    "color": CLASS_COLORS[cls],
                    "symbol": CLASS_SYMBOLS[cls],
                    "size": size + 2,
                    "opacity": 0.85,
                    "line": {"color": "white", "width": 0.5},
                },
                customdata=[_hover_row(m) for m in chosen],
                hovertemplate=MOVE_HOVER,
                meta={"class": cls},
            )
        )
    missing = len(moves) - len(scored)
    subtitle = f"{len(scored)} documents with both scores"
    if missing:
        subtitle += f" · {missing} without one are not shown"
    _base_layout(fig, "Retrieval score vs rerank score", subtitle, 520)
    fig.update_xaxes(title_text="Retrieval score (vector search: 1 − distance)")
    fig.update_yaxes(title_text="Rerank score")
    return fig
