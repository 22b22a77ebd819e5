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
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from rerank_playground.errors import InvalidInput
from rerank_playground.models import Move, Movement
from rerank_playground.tables import ARROWS, arrow, grade_badge, move_class, snippet

GREEN = "#2e7d32"
RED = "#c62828"
GREY = "#9e9e9e"
CLASS_COLORS = {"up": GREEN, "down": RED, "same": GREY}
CLASS_SYMBOLS = {"up": "triangle-up", "down": "triangle-down", "same": "circle"}
CLASS_NAMES = {"up": "▲ moved up", "down": "▼ moved down", "same": "● unchanged"}
CLASSES = ("up", "down", "same")
ENTERED_SYMBOL = "star"
LEFT_SYMBOL = "x"

# Documents are marked by their grade with a shape and a size (colour is only a third cue): best first, and
# unjudged drawn as unjudged (an open circle), never as "not relevant". The glyphs are the tables' badges.
GRADE_MARKERS: dict[int | None, dict[str, Any]] = {
    3: {"symbol": "diamond", "size": 17, "color": "#1a237e"},
    2: {"symbol": "square", "size": 13, "color": "#3949ab"},
    1: {"symbol": "square-open", "size": 12, "color": "#5c6bc0"},
    0: {"symbol": "line-ew-open", "size": 12, "color": "#424242"},
    None: {"symbol": "circle-open", "size": 9, "color": "#757575"},
}
GRADE_ORDER: tuple[int | None, ...] = (3, 2, 1, 0, None)
GRADE_OFFSET = 0.055  # slope chart: grade markers sit just outside each end of the lines


def _grade_trace(
    grade: int | None, count: int, xs: list[float | None], ys: list[int | None], texts: list[str], **extra: Any
) -> go.Scatter:
    """One trace of grade markers; ``count`` documents (the legend says how many)."""
    style = GRADE_MARKERS[grade]
    return go.Scatter(
        x=xs,
        y=ys,
        mode="markers",
        name=f"{grade_badge(grade)} ({count})",
        legendgroup="grades",
        marker={
            "symbol": style["symbol"],
            "size": style["size"],
            "color": style["color"],
            "line": {"color": style["color"], "width": 2},
        },
        customdata=hover_rows([[t] for t in texts], 1),
        hovertemplate="<b>%{customdata[0]}</b><br>" + f"{escape(grade_badge(grade))}<extra></extra>",
        meta={"grade": "unjudged" if grade is None else grade},
        **extra,
    )


LABEL_LIMIT = 20  # every document gets a text label up to this many documents (beyond: the top N only)
TOP_LABELS = 10  # beyond LABEL_LIMIT, at most this many top ranks are labelled on each side
HOVER_SNIPPET = 160
LABEL_SNIPPET = 28
SIDE_LABEL_SNIPPET = 32  # the slope chart's side labels: readable, and the lines keep half the width
MIN_HEIGHT = 420
MAX_HEIGHT = 1400
ROW_PX = 35  # vertical room per rank on a linear (small) rank axis
LOG_HEIGHT = 900  # height of a chart whose rank axis is logarithmic


def escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` so plotly shows the text instead of interpreting tags."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def safe_snippet(text: str | None, max_chars: int) -> str:
    return escape(snippet(text, max_chars))


def isolate(text: str) -> str:
    """Wrap ``text`` in Unicode first-strong isolates, so a right-to-left snippet (Arabic, Hebrew) does not
    pull the rank number or arrow next to it into its own reading order."""
    return f"\u2068{text}\u2069"


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


LOG_FROM = 20  # rank axes turn logarithmic above this many documents (unless asked otherwise)
_LOG_TICKS = (1, 2, 3, 5, 10, 20, 30, 50, 100, 200, 300, 500, 1000, 2000, 5000, 10000)


def rank_axis(n: int, log: bool, extra_ticks: Sequence[int] = ()) -> dict[str, Any]:
    """y-axis settings for ranks ``1..n``: reversed (1 at the top), optionally logarithmic.

    A log axis gives the top of a long list (where the top N lives) most of the height.
    """
    n = max(n, 1)
    if log:
        # Extra ticks (the top-N cut) first, then n, then the round numbers: each only when it is not
        # crowding a tick already kept (closer than 20 % in rank, e.g. 20 next to n = 21).
        kept: list[int] = []
        for t in (*extra_ticks, n, *_LOG_TICKS):
            if 1 <= t <= n and all(max(t, k) / min(t, k) >= 1.2 or t < 10 for k in kept if k != t):
                kept.append(t)
        ticks = sorted(set(kept))
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


def hover_rows(rows: Sequence[Sequence[str]], width: int) -> np.ndarray[Any, np.dtype[np.object_]]:
    """Per-point hover strings as one 2-D array: plotly checks an array once, where a list of lists is checked
    (and copied) element by element, the cost that made a K = 1,000 chart take a second to build."""
    table = np.empty((len(rows), width), dtype=object)
    if rows:
        table[:] = rows
    return table


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _hover_row(move: Move) -> list[str]:
    """customdata for one document: the hover template reads these by position."""
    unscored = "not returned by the reranker (placed after the scored ones)"
    rerank = unscored if move.rerank_score is None else _fmt(move.rerank_score)
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


def _segments(moves: Sequence[Move], symbol: str, left_size: int, right_size: int) -> dict[str, Any]:
    """Scatter data drawing each move as a segment (original rank at x=0 -> new rank at x=1).

    Segments are joined into one trace with ``None`` separators. One marker symbol for the trace (the ends
    differ by size: a size of 0 hides one), and the hover rows as one array: plotly validates a per-point
    list element by element, which is what made the chart's cost grow with K.
    """
    xs: list[float | None] = []
    ys: list[int | None] = []
    custom: list[list[str]] = []
    for move in moves:
        row = _hover_row(move)
        xs += [0, 1, None]
        ys += [move.original_rank, move.new_rank, None]
        custom += [row, row, _EMPTY_ROW]
    sizes = np.tile(np.array([left_size, right_size, 0], dtype=np.int16), len(moves))
    return {
        "x": xs,
        "y": ys,
        "marker": {"symbol": symbol, "size": sizes},
        "customdata": hover_rows(custom, len(_EMPTY_ROW)),
        "hovertemplate": MOVE_HOVER,
        "connectgaps": False,
    }


def _side_labels(
    moves: Sequence[Move], n: int, labelled: int, log: bool, top_n: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Tick settings for the left axis (original order) and the right axis (reranked order).

    Ranks ``1..labelled`` carry the document's text beside the rank number (left: ``text  rank``, right:
    ``rank ▲ text`` with the glyph in its class colour); further ticks are plain rank numbers.
    """
    by_original = {m.original_rank: m for m in moves}
    by_new = {m.new_rank: m for m in moves}
    numbers = rank_axis(n, log, extra_ticks=(top_n,)).get("tickvals") or []
    ticks = sorted({*range(1, labelled + 1), *(t for t in numbers if t > labelled)})
    left: list[str] = []
    right: list[str] = []
    for rank in ticks:
        if rank > labelled:
            left.append(str(rank))
            right.append(str(rank))
            continue
        before, after = by_original.get(rank), by_new.get(rank)
        left.append(f"{isolate(safe_snippet(before.text, SIDE_LABEL_SNIPPET))}  {rank}" if before else str(rank))
        if after is None:
            right.append(str(rank))
        else:
            cls = move_class(after)
            glyph = f'<span style="color:{CLASS_COLORS[cls]}">{ARROWS[cls]}</span>'
            right.append(f"{rank} {glyph} {isolate(safe_snippet(after.text, SIDE_LABEL_SNIPPET))}")
    return (
        {"tickvals": ticks, "ticktext": left},
        {"tickvals": ticks, "ticktext": right},
    )


def slope_chart(
    movement: Movement,
    top_n: int | None = None,
    *,
    title: str | None = None,
    log_ranks: bool | None = None,
    grades: Mapping[str, int] | None = None,
) -> go.Figure:
    """Original rank (left) joined to reranked rank (right), one line per document.

    Traces, in order: one per move class (green up, red down, grey unchanged; ▲ ▼ ● markers on the right
    end), then the documents that entered the top N drawn again thicker with a ★ at their new rank, those
    that left it with a ✕ at their old rank, and a dashed line under rank ``top_n`` (when ``top_n < n``).
    So the trace count never depends on the number of documents. ``top_n`` defaults to the one the
    movement was computed with.

    Up to ``LABEL_LIMIT`` documents the rank axis is linear with ``ROW_PX`` pixels per rank and every
    rank is labelled with its text on both sides (left axis: original order, right axis ``y2``: reranked
    order). Above ``LOG_FROM`` documents the axis is logarithmic (unless ``log_ranks`` says otherwise), so
    the top of the list gets most of the height, and only the top ``min(top_n, TOP_LABELS)`` ranks carry
    text. The legend sits under the plot.

    With ``grades`` (document uuid -> TREC grade, this query's judgments) each document is also marked by its
    grade at both ends of its line (``GRADE_MARKERS``: one trace per grade, unjudged included), so a relevant
    document climbing or falling shows at a glance.
    """
    moves = sorted(movement.moves, key=lambda m: m.new_rank)
    n = len(moves)
    if top_n is None:
        top_n = movement.summary.top_n
    if top_n < 1:
        raise InvalidInput(f"top N must be at least 1 (got {top_n}).")
    log = n > LOG_FROM if log_ranks is None else log_ranks
    width, opacity, size = _line_style(n)
    labelled = n if n <= LABEL_LIMIT else min(top_n, TOP_LABELS, n)
    small = max(3, size - 4)
    fig = go.Figure()

    counts = {cls: 0 for cls in CLASSES}
    for cls in CLASSES:
        chosen = [m for m in moves if move_class(m) == cls]
        counts[cls] = len(chosen)
        data = _segments(chosen, CLASS_SYMBOLS[cls], small, size)
        data["marker"]["color"] = CLASS_COLORS[cls]
        fig.add_trace(
            go.Scatter(
                **data,
                name=f"{CLASS_NAMES[cls]} ({counts[cls]})",
                legendgroup=cls,
                mode="lines+markers",
                line={"color": CLASS_COLORS[cls], "width": width},
                opacity=opacity,
                meta={"class": cls},
            )
        )

    entered = [m for m in moves if m.new_rank <= top_n < m.original_rank]
    left = [m for m in moves if m.original_rank <= top_n < m.new_rank]
    emphasis = width + 1.5
    # Markers of the top-N changes: big enough to see, small enough not to pile up on neighbouring ranks.
    big = size + 4 if n <= LABEL_LIMIT else size + 3
    for cls, chosen, symbol, colour, name in (
        ("entered", entered, ENTERED_SYMBOL, GREEN, f"★ entered top {top_n} ({len(entered)})"),
        ("left", left, LEFT_SYMBOL, RED, f"✕ left top {top_n} ({len(left)})"),
    ):
        sizes = (0, big) if cls == "entered" else (big, 0)  # keep the class glyph visible at the other end
        data = _segments(chosen, symbol, sizes[0], sizes[1])
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

    x_range = [-0.04, 1.04]
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

    if grades is not None:
        x_range = [-0.04 - GRADE_OFFSET - 0.03, 1.04 + GRADE_OFFSET + 0.03]
        for grade in GRADE_ORDER:
            marked = [m for m in moves if grades.get(m.uuid) == grade]
            xs: list[float | None] = []
            ys: list[int | None] = []
            texts: list[str] = []
            for m in marked:
                for x, rank in ((-GRADE_OFFSET, m.original_rank), (1 + GRADE_OFFSET, m.new_rank)):
                    # Unjudged ends only within the top N (what the metrics count): below it, a column of
                    # open circles would bury the judged documents.
                    if grade is not None or rank <= top_n:
                        xs.append(x)
                        ys.append(rank)
                        texts.append(safe_snippet(m.text, HOVER_SNIPPET))
            if xs:
                count = len({m.uuid for m in marked if grade is not None or min(m.original_rank, m.new_rank) <= top_n})
                fig.add_trace(_grade_trace(grade, count, xs, ys, texts))

    s = movement.summary
    tau = "undefined" if s.kendall_tau is None else f"{s.kendall_tau:.2f}"
    parts = [f"Kendall τ = {tau} (all {n})"]
    if n:
        parts.append(f"top-{s.shown} overlap {round(s.overlap_at_n * s.shown)}/{s.shown} (shown N)")
    parts.append(f"{len(entered)} entered / {len(left)} left the top {top_n}")
    if log:
        parts.append("rank axis is logarithmic")
    if grades is not None:
        judged = sum(1 for m in moves if m.uuid in grades)
        parts.append(f"grades: {judged}/{n} judged (○ unjudged, top {top_n})")
    top, bottom = 120, 70
    height = LOG_HEIGHT if log else max(MIN_HEIGHT, min(MAX_HEIGHT, top + bottom + ROW_PX * max(n, 1)))
    _base_layout(
        fig,
        title or f"Rank movement of all {n} candidates: {counts['up']} ▲ up, {counts['down']} ▼ down, "
        f"{counts['same']} ● unchanged",
        " · ".join(parts),
        height,
        top=top,
    )
    fig.update_layout(
        legend={"orientation": "h", "yanchor": "top", "y": -0.02, "xanchor": "left", "x": 0},  # under the plot
        margin={"l": 20, "r": 20, "t": top, "b": bottom},
    )
    fig.update_xaxes(
        tickvals=[0, 1],
        ticktext=["Original", "Reranked"],
        tickfont={"weight": "bold"},
        side="top",
        range=x_range,
        showgrid=False,
        zeroline=False,
    )
    axis = rank_axis(n, log, extra_ticks=(top_n,))
    left_ticks, right_ticks = _side_labels(moves, n, labelled, log, top_n) if n else ({}, {})
    fig.update_yaxes(
        title_text="Rank (1 = best)",
        zeroline=False,
        showgrid=n <= LABEL_LIMIT,
        automargin=True,
        **{**axis, **left_ticks},
    )
    fig.update_layout(
        yaxis2={
            **{k: v for k, v in axis.items() if k in ("type", "range")},
            **right_ticks,
            "overlaying": "y",
            "side": "right",
            "matches": "y",
            "showgrid": False,
            "zeroline": False,
            "automargin": True,
        }
    )
    # An empty trace on the right axis, so plotly draws that axis (and its labels).
    fig.add_trace(go.Scatter(x=[], y=[], yaxis="y2", showlegend=False, hoverinfo="skip"))
    return fig


BUMP_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#9467bd",
    "#17becf",
    "#e377c2",
    "#8c564b",
    "#a09a1a",
    "#393b79",
    "#2ca02c",
    "#d62728",
)
MAX_HIGHLIGHT = len(BUMP_COLOURS)  # coloured, labelled lines in a bump chart; the rest are thin grey
LABEL_GAP_PX = 14  # minimum distance between two line-end labels


def _spread(positions: Sequence[float], gap: float, low: float, high: float) -> list[float]:
    """Move sorted-by-value ``positions`` (pixels, downwards) apart by at least ``gap``, within [low, high]."""
    order = sorted(range(len(positions)), key=lambda i: positions[i])
    placed = [float(positions[i]) for i in order]
    for j in range(1, len(placed)):
        placed[j] = max(placed[j], placed[j - 1] + gap)
    if placed and placed[-1] > high:  # pushed off the bottom: shift back up, keeping the gaps
        placed[-1] = high
        for j in range(len(placed) - 2, -1, -1):
            placed[j] = min(placed[j], placed[j + 1] - gap)
    placed = [max(low, p) for p in placed]
    out = [0.0] * len(positions)
    for slot, i in enumerate(order):
        out[i] = placed[slot]
    return out


def _axis_fraction(rank: float, axis: dict[str, Any]) -> float:
    """Where ``rank`` sits on a reversed rank axis, 0 = top of the plot, 1 = bottom."""
    low, high = float(axis["range"][1]), float(axis["range"][0])  # reversed: range is [bottom, top]
    if axis["type"] == "log":
        return (math.log10(rank) - low) / (high - low)
    return (rank - low) / (high - low)


def _wrap_name(name: str, width: int) -> str:
    """Break a long ordering name into lines of about ``width`` characters, after ``-`` or a space."""
    if len(name) <= width:
        return name
    lines: list[str] = []
    current = ""
    for part in re.split(r"(?<=[- ])", name):
        if current and len(current) + len(part) > width:
            lines.append(current)
            current = ""
        current += part
    lines.append(current)
    return "<br>".join(line.strip() for line in lines)


def bump_chart(
    rank_matrix: pd.DataFrame,
    texts: Sequence[str],
    *,
    highlight: int = 10,
    log_ranks: bool | None = None,
    by: str | None = None,
    grades: Sequence[int | None] | None = None,
) -> go.Figure:
    """Rank of each document under retrieval and each model (``rank_matrix`` columns), one line per document.

    ``texts[i]`` is the text of row ``i``. The top ``min(highlight, MAX_HIGHLIGHT)`` documents under the
    ordering ``by`` (default: the first model, i.e. the second column, or retrieval when it is alone) get
    their own colour and a label at the right end of their line, in rank order; every other document is a
    thin grey line in one shared trace. So there are at most ``MAX_HIGHLIGHT + 1`` traces and no legend.
    The rank axis is logarithmic above ``LOG_FROM`` documents unless ``log_ranks`` says otherwise.

    With ``grades`` (``grades[i]`` the TREC grade of row ``i`` for this query, ``None`` = unjudged) every judged
    document is marked by its grade at each of its points (``GRADE_MARKERS``, one trace per grade, with a
    legend under the plot), and so are the unjudged coloured lines, as unjudged.
    """
    n = len(rank_matrix)
    if len(texts) != n:
        raise InvalidInput(f"bump chart: {len(texts)} texts for {n} documents.")
    if grades is not None and len(grades) != n:
        raise InvalidInput(f"bump chart: {len(grades)} grades for {n} documents.")
    columns = [str(c) for c in rank_matrix.columns]
    if not columns:
        raise InvalidInput("bump chart: no orderings to compare.")
    if by is None:
        by = columns[1] if len(columns) > 1 else columns[0]
    if by not in columns:
        raise InvalidInput(f"bump chart: no ordering named {by!r}.")
    xs = list(range(len(columns)))
    width, _, size = _line_style(n)
    k = max(0, min(highlight, MAX_HIGHLIGHT, n))
    key_ranks = rank_matrix.iloc[:, columns.index(by)].tolist()
    own = sorted(range(n), key=lambda i: (key_ranks[i], i))[:k]
    own_set = set(own)
    log = n > LOG_FROM if log_ranks is None else log_ranks
    axis = rank_axis(n, log, extra_ticks=(k,) if k else ())
    fig = go.Figure()
    hover = "<b>%{customdata[0]}</b><br>%{customdata[1]}: rank %{y}<extra></extra>"

    rank_rows = [[int(v) for v in row] for row in rank_matrix.to_numpy().tolist()]  # row access by iloc: slow
    rest = [i for i in range(n) if i not in own_set]
    if rest:  # drawn first, so the coloured lines are on top
        gx: list[int | None] = []
        gy: list[int | None] = []
        custom: list[list[str]] = []
        for i in rest:
            full = safe_snippet(texts[i], HOVER_SNIPPET)
            gx += [*xs, None]
            gy += [*rank_rows[i], None]
            custom += [[full, col] for col in columns] + [["", ""]]
        fig.add_trace(
            go.Scatter(
                x=gx,
                y=gy,
                name=f"other documents ({len(rest)})",
                mode="lines",
                line={"color": GREY, "width": 1},
                opacity=0.45,
                customdata=hover_rows(custom, 2),
                hovertemplate=hover,
                showlegend=False,
                meta={"document": "rest"},
            )
        )

    top, bottom = 120, 40 if grades is None else 80  # room for the grade legend under the plot
    height = LOG_HEIGHT if log else max(MIN_HEIGHT, min(MAX_HEIGHT, top + bottom + ROW_PX * max(n, 1)))
    plot_px = height - top - bottom
    ends: list[float] = []
    for colour_index, i in enumerate(own):
        ranks = [int(v) for v in rank_matrix.iloc[i].tolist()]
        short = safe_snippet(texts[i], LABEL_SNIPPET)
        full = safe_snippet(texts[i], HOVER_SNIPPET)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ranks,
                name=f"#{key_ranks[i]} {short}",
                mode="lines+markers",
                line={"color": BUMP_COLOURS[colour_index], "width": max(width, 2.5)},
                marker={"size": max(size, 7)},
                customdata=[[full, col] for col in columns],
                hovertemplate=hover,
                showlegend=False,
                meta={"document": i},
            )
        )
        ends.append(_axis_fraction(ranks[-1], axis) * plot_px)
    # Direct labels at the right end of each coloured line, nudged apart so none overlap.
    placed = _spread(ends, LABEL_GAP_PX, 0.0, float(plot_px))
    for colour_index, (i, end, at) in enumerate(zip(own, ends, placed, strict=True)):
        last = int(rank_matrix.iloc[i].tolist()[-1])
        colour = BUMP_COLOURS[colour_index]
        fig.add_annotation(
            x=xs[-1],
            y=math.log10(last) if log else last,  # annotations on a log axis take log10 positions
            xref="x",
            yref="y",
            text=f"#{key_ranks[i]} {isolate(safe_snippet(texts[i], LABEL_SNIPPET))}",
            showarrow=True,
            arrowhead=0,
            arrowwidth=1,
            arrowcolor=colour,
            ax=26,
            ay=at - end,
            axref="pixel",
            ayref="pixel",
            xanchor="left",
            font={"size": 11, "color": colour},
        )

    if grades is not None:
        for grade in GRADE_ORDER:
            # Unjudged markers only on the coloured lines: on 200 grey lines they would bury the judged ones.
            rows = [i for i in range(n) if grades[i] == grade and (grade is not None or i in own_set)]
            if not rows:
                continue
            mx: list[float | None] = []
            my: list[int | None] = []
            mt: list[str] = []
            for i in rows:
                ranks = [int(v) for v in rank_matrix.iloc[i].tolist()]
                mx += [*xs, None]
                my += [*ranks, None]
                mt += [safe_snippet(texts[i], HOVER_SNIPPET)] * len(xs) + [""]
            fig.add_trace(_grade_trace(grade, len(rows), mx, my, mt, showlegend=True))

    subtitle = f"{n} candidates · 1 = best"
    if k:
        subtitle += f" · in colour: the top {k} under {escape(by)}, labelled with their rank there"
        if rest:
            subtitle += f" · grey: the other {len(rest)}"
    if log:
        subtitle += " · rank axis is logarithmic"
    if grades is not None:
        judged = sum(1 for g in grades if g is not None)
        subtitle += f" · grades: {judged}/{n} judged"
    _base_layout(fig, "Rank of each document under each model", subtitle, height, top=top)
    fig.update_layout(showlegend=False, margin={"l": 70, "r": 250, "t": top, "b": bottom})
    if grades is not None:
        fig.update_layout(
            showlegend=True,
            legend={"orientation": "h", "yanchor": "top", "y": -0.02, "xanchor": "left", "x": 0},
        )
    fig.update_xaxes(
        tickvals=xs,
        ticktext=[_wrap_name(escape(c), 34 if len(columns) <= 4 else 18) for c in columns],
        tickfont={"weight": "bold"},
        side="top",
        range=[-0.15, len(columns) - 0.85],
        showgrid=False,
    )
    fig.update_yaxes(title_text="Rank (1 = best)", zeroline=False, **axis)
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
                customdata=hover_rows([_hover_row(m) for m in chosen], len(_EMPTY_ROW)),
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
        y_axis["ticktext"] = [f"{isolate(safe_snippet(m.text, LABEL_SNIPPET))} #{m.new_rank}" for m in moves]
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
                customdata=hover_rows([_hover_row(m) for m in chosen], len(_EMPTY_ROW)),
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
