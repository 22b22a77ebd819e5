"""The stage chart: a rank-movement view made to be read from the back of a room (Present, and the first chart
after a click on Search). Pure: core objects in, a ``plotly.graph_objects.Figure`` out; no streamlit.

What makes it a *stage* chart (design.md, "On stage"):

- **Linear top-N axis by default.** Rows ``1..N`` are the shown top N, one row per rank, equally spaced. A
  document that *entered* the top N comes in from below a dashed border, on the left, labelled "from #49"; one
  that *left* goes out below the border on the right, labelled "to #31". Every document keeps one line.
- **Full-K log view one key away** (``full=True``): every candidate on a logarithmic rank axis; labels are kept
  only where a row of text fits, the rest are reachable by hover.
- **Labels never overlap, by construction.** Every label sits on a fixed row grid (:func:`stage_rows`) whose row
  pitch is at least :data:`ROW_PITCH` times the font size; when the edge rows would not fit, the last edge row
  pools the rest ("+3 more, from #12–#49") instead of squeezing the grid.
- **Type scales with the viewport** (:func:`stage_font_px`): 18 px at 1280×720, 27 px at 1920×1080.
- **Highlighted passages** (``highlight``: the uuids the story's note talks about) get a thick gold band
  behind their line and a "★" before their label.
- Colour is never the only signal: ▲ / ▼ / ● glyphs beside each right-hand label, marker shapes on the lines.
- **A cut** (``kept``: how many of the reranked list a cut keeps, issue 23.3): the right-hand labels below it are
  greyed and a dotted line under the last kept one crosses the right-hand column (the page says "kept X of K").

Document text is untrusted: every label and hover goes through :func:`charts.escape` (plotly renders a subset
of HTML in annotations) and :func:`charts.isolate` (right-to-left text keeps the rank number in place).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import plotly.graph_objects as go

from rerank_playground.charts import CLASS_COLORS, CLASS_NAMES, CLASS_SYMBOLS, CLASSES, escape, isolate
from rerank_playground.errors import InvalidInput
from rerank_playground.models import Move, Movement
from rerank_playground.tables import ARROWS, GRADE_GLYPHS, move_class, snippet

MIN_FONT_PX = 18  # the smallest chart text on a 1280x720 screen (design.md "On stage")
FLOOR_FONT_PX = 11  # a top N too long for the height shrinks the type, never below this
ROW_PITCH = 1.35  # row height / font size: a label's box (about 1.2 x the font size) never reaches the next row
HIGHLIGHT = "#f9a825"  # the note's passage(s): a gold band behind the line
BORDER = "#616161"
LINE_FRACTION = 0.26  # of the plot width, between the two label columns (a narrow chart passes less)
CUT_LINE = "#6a1b9a"  # the cut's line: not a movement colour (green / red / grey) nor the border's grey
CUT_GREY = "#9e9e9e"  # right-hand labels below the cut
_CHAR_EM = 0.52  # character width of the label font, in ems, with room (measured: ~0.47 on average)


def stage_font_px(viewport_width: int, viewport_height: int) -> int:
    """Chart text size for a browser viewport: 18 px at 1280x720, growing in proportion with the smaller of
    the two scale factors (27 px at 1920x1080), never below :data:`MIN_FONT_PX`."""
    scale = min(viewport_width / 1280, viewport_height / 720)
    return max(MIN_FONT_PX, round(MIN_FONT_PX * scale))


@dataclass(frozen=True)
class StageRow:
    """One label on the grid. ``side`` is "left" (before reranking) or "right" (after); ``row`` is its y
    position (rank ``r`` of the top N sits on row ``r``; edge rows follow the border row ``N + 1``)."""

    side: str
    row: float
    text: str  # plain text (not escaped): what the label says
    uuids: tuple[str, ...]  # the document(s) the label stands for (several only on a pooled edge row)
    edge: bool = False  # an entered / left document outside the top N


@dataclass(frozen=True)
class StageLayout:
    rows: tuple[StageRow, ...]
    ends: Mapping[str, tuple[float, float]]  # uuid -> (left row, right row) of its line
    shown: int  # N, capped at the number of candidates
    edge_rows: int  # rows below the border used by entered / left documents
    border: float | None  # y of the dashed top-N border (None: nothing entered or left)
    total_rows: float  # the last row's y (the axis runs from 0.3 to total_rows + 0.7)


def _pooled(moves: Sequence[Move], rank: str, word: str) -> str:
    ranks = sorted(getattr(m, rank) for m in moves)
    span = f"#{ranks[0]}" if len(ranks) == 1 else f"#{ranks[0]}–#{ranks[-1]}"
    return f"+{len(moves)} more, {word} {span}"


def stage_rows(
    moves: Sequence[Move], top_n: int, *, max_rows: int | None = None, label_chars: int = 40,
    bold: Collection[str] = (),
) -> StageLayout:
    """Lay the linear top-N view's labels on a fixed row grid (pure; the figure only draws this).

    Rows ``1..N``: left the original top N at their original rank, right the reranked top N at their new rank.
    Row ``N + 1`` is the border. Below it, one edge row per document that entered (left side, "from #49") and
    per document that left (right side, "to #31"); as many enter as leave, so both sides share the edge rows.
    With ``max_rows`` (the rows that fit the height), edge rows beyond it are pooled into the last one.
    Labels of ``bold`` documents (drawn bold) hold fewer characters, so they take the same width.
    """
    if top_n < 1:
        raise InvalidInput(f"top N must be at least 1 (got {top_n}).")
    n = len(moves)
    shown = min(top_n, n)
    entered = sorted((m for m in moves if m.new_rank <= shown < m.original_rank), key=lambda m: m.new_rank)
    left = sorted((m for m in moves if m.original_rank <= shown < m.new_rank), key=lambda m: m.new_rank)
    edges = max(len(entered), len(left))
    room = edges if max_rows is None else max(1, min(edges, max_rows - shown - 1))
    rows: list[StageRow] = []
    ends: dict[str, list[float]] = {}
    for m in moves:
        chars = int(label_chars * BOLD_CHARS) if m.uuid in bold else label_chars
        if m.original_rank <= shown:
            ends.setdefault(m.uuid, [0.0, 0.0])[0] = float(m.original_rank)
            rows.append(StageRow("left", float(m.original_rank), _left_text(m, chars), (m.uuid,)))
        if m.new_rank <= shown:
            ends.setdefault(m.uuid, [0.0, 0.0])[1] = float(m.new_rank)
            rows.append(StageRow("right", float(m.new_rank), _right_text(m, chars), (m.uuid,)))
    for side, group, rank, word in (("left", entered, "original_rank", "from"), ("right", left, "new_rank", "to")):
        for i, m in enumerate(group):
            slot = min(i, room - 1)
            y = float(shown + 2 + slot)
            ends[m.uuid][0 if side == "left" else 1] = y
            if i < room - 1 or len(group) <= room:
                prefix = f"{word} #{getattr(m, rank)} · "
                chars = int(label_chars * BOLD_CHARS) if m.uuid in bold else label_chars
                text = prefix + snippet(m.text, max(6, chars - len(prefix)))
                rows.append(StageRow(side, y, text, (m.uuid,), edge=True))
        if len(group) > room:
            pooled = group[room - 1:]
            rows.append(StageRow(side, float(shown + 1 + room), _pooled(pooled, rank, word),
                                 tuple(m.uuid for m in pooled), edge=True))
    used = min(edges, room)
    return StageLayout(
        rows=tuple(rows),
        ends={uuid: (a, b) for uuid, (a, b) in ends.items()},
        shown=shown,
        edge_rows=used,
        border=float(shown + 1) if used else None,
        total_rows=float(shown + 1 + used) if used else float(shown),
    )


BOLD_CHARS = 0.88  # a bold label holds this share of the characters of a regular one in the same width


def _marks_chars(grades: Mapping[str, int] | None, highlight: Collection[str]) -> int:
    """Characters a label's marks take: a grade glyph and its space when graded, "★ " when anything is
    highlighted (room kept only for the marks the chart draws)."""
    return (2 if grades is not None else 0) + (2 if highlight else 0)


def _left_text(m: Move, chars: int) -> str:
    """``chars`` is the whole label's budget: the rank number's room comes off the snippet."""
    rank = f"  #{m.original_rank}"
    return f"{snippet(m.text, max(6, chars - len(rank)))}{rank}"


def _right_text(m: Move, chars: int) -> str:
    prefix = f"#{m.new_rank} {ARROWS[move_class(m)]} "
    return f"{prefix}{snippet(m.text, max(6, chars - len(prefix)))}"


def _label_html(row: StageRow, moves: Mapping[str, Move], grades: Mapping[str, int] | None,
                highlight: Collection[str]) -> str:
    """Escaped label text; the glyph of a right-hand label in its class colour; ★ marks a highlighted passage,
    and a grade glyph a judged one."""
    text = escape(row.text)
    first = moves[row.uuids[0]]
    if len(row.uuids) == 1 and not row.edge:
        parts = text.split(" ", 2) if row.side == "right" else []
        if len(parts) == 3:
            cls = move_class(first)
            text = f'{parts[0]} <span style="color:{CLASS_COLORS[cls]}">{parts[1]}</span> {isolate(parts[2])}'
        elif row.side == "left":
            body, _, rank = text.rpartition("  ")
            text = f"{isolate(body)}  {rank}"
    marks = ""
    if grades is not None and len(row.uuids) == 1:
        marks += GRADE_GLYPHS[grades.get(first.uuid)] + " "
    if any(u in highlight for u in row.uuids):
        marks = "★ " + marks
        text = f"<b>{text}</b>"  # bold runs wider: the row's text was cut shorter for it (stage_rows)
    return f"{marks}{text}" if row.side == "right" else f"{text} {marks}".rstrip()


def stage_chart(
    movement: Movement,
    *,
    top_n: int | None = None,
    grades: Mapping[str, int] | None = None,
    highlight: Collection[str] = (),
    width_px: int = 1200,
    height_px: int = 520,
    font_px: int = MIN_FONT_PX,
    full: bool = False,
    before_label: str = "before: retrieval order",
    after_label: str = "after reranking",
    line_fraction: float = LINE_FRACTION,
    kept: int | None = None,
) -> go.Figure:
    """The stage chart of ``movement`` (see the module docstring).

    - ``top_n``: the N shown (default: the movement's own ``summary.top_n``); capped at the candidates.
    - ``grades``: uuid -> TREC grade; judged documents carry the grade's glyph beside their label.
    - ``highlight``: uuids of the passage(s) the note talks about (gold band, "★", bold label).
    - ``width_px`` / ``height_px``: the figure's size (the page sizes it from the browser viewport);
      ``font_px``: its text size (:func:`stage_font_px`). Rows that would not fit shrink the type, never
      below :data:`FLOOR_FONT_PX`; a top N too long even for that makes the figure taller than asked.
    - ``full``: the full-K view on a logarithmic rank axis instead of the linear top N.
    - ``before_label`` / ``after_label``: the column headings (blind A/B passes neutral words).
    - ``line_fraction``: the share of the width between the two label columns (where the lines run); a chart
      drawn beside other things passes less, so its labels keep more of their text.
    - ``kept``: documents of the reranked list a cut keeps (None: no cut); the rest are greyed on the right.
    """
    if kept is not None and kept < 0:
        raise InvalidInput(f"A cut keeps zero or more documents (got {kept}).")
    moves = movement.moves
    if not moves:
        raise InvalidInput("There is nothing to chart: no candidates.")
    n_top = movement.summary.top_n if top_n is None else top_n
    margin_top = round(font_px * 2 * ROW_PITCH + 16)
    plot_h = max(height_px - margin_top - 8, 100)
    if full:
        return _full_chart(movement, min(n_top, len(moves)), grades, set(highlight), width_px, height_px, font_px,
                           margin_top, before_label, after_label, line_fraction, kept)
    shown = min(n_top, len(moves))
    # Rows available at this type size: N rows, the border, edge rows, and half a row of air at each end.
    font = font_px
    while font > FLOOR_FONT_PX and plot_h / (shown + 2.4) < font * ROW_PITCH:  # N rows, border, one edge row
        font -= 1
    if plot_h / (shown + 2.4) < font * ROW_PITCH:
        # Even the smallest type does not fit N rows in this height: the chart grows (the page scrolls)
        # rather than letting two labels touch.
        plot_h = math.ceil((shown + 2.4) * font * ROW_PITCH)
        height_px = plot_h + margin_top + 8
    max_rows = max(shown + 2, int(plot_h / (font * ROW_PITCH) - 0.4))
    label_px = width_px * (1 - line_fraction) / 2 - font
    chars = max(14, int(label_px / (font * _CHAR_EM)) - _marks_chars(grades, highlight))
    layout = stage_rows(moves, shown, max_rows=max_rows, label_chars=chars, bold=set(highlight))
    by_uuid = {m.uuid: m for m in moves}
    fig = go.Figure()
    # Collected and set once: plotly copies and validates every annotation on each add_annotation (O(n²)).
    notes: list[dict[str, Any]] = []
    shapes: list[dict[str, Any]] = []
    _lines(fig, [(by_uuid[u], ends) for u, ends in layout.ends.items()], set(highlight), font)
    for row in layout.rows:
        cut_off = row.side == "right" and kept is not None and row.row > kept  # edge rows lie below any cut ≤ N
        notes.append(dict(
            x=-0.04 if row.side == "left" else 1.04, y=row.row, xref="x", yref="y",
            xanchor="right" if row.side == "left" else "left", yanchor="middle", showarrow=False,
            text=_label_html(row, by_uuid, grades, set(highlight)),
            font={"size": font, "color": CUT_GREY if cut_off else "#424242" if row.edge else "#212121"},
            name=f"rank-label-{row.side}",
        ))
    if kept is not None and kept < shown:
        shapes.append(_cut_line(kept + 0.5, line_fraction))
    if layout.border is not None:
        shapes.append(dict(type="line", x0=-0.04, x1=1.04, y0=layout.border, y1=layout.border, xref="x", yref="y",
                      line={"color": BORDER, "width": 2, "dash": "dash"}))
        notes.append(dict(x=0.5, y=layout.border, xref="x", yref="y", showarrow=False, yanchor="middle",
                           text=f"outside the top {shown}", bgcolor="white", font={"size": font, "color": BORDER},
                           name="border-label"))
    _frame(fig, notes, shapes, width_px, height_px, font, margin_top, before_label, after_label, line_fraction)
    fig.update_yaxes(range=[layout.total_rows + 0.7, 0.3])
    fig.update_layout(meta={"view": "top", "shown": shown, "font_px": font, "edge_rows": layout.edge_rows,
                            "kept": kept})
    return fig


def _cut_line(y: float, line_fraction: float) -> dict[str, Any]:
    """The cut, under the last kept document: across the right-hand (reranked) column only, from the lines' end
    to the plot's edge (the retrieval order is not cut)."""
    reach = (1 - line_fraction) / 2 / line_fraction
    return dict(type="line", x0=1.0, x1=1 + reach, y0=y, y1=y, xref="x", yref="y",
                line={"color": CUT_LINE, "width": 3, "dash": "dot"}, name="cut-line")


def _lines(fig: go.Figure, items: Sequence[tuple[Move, tuple[float, float]]], highlight: set[str],
           font: int) -> None:
    """One trace per class (segments joined by None), a gold band under highlighted ones, end markers."""
    marked = [(m, e) for m, e in items if m.uuid in highlight]
    if marked:
        xs: list[float | None] = []
        ys: list[float | None] = []
        for _, (a, b) in marked:
            xs += [0, 1, None]
            ys += [a, b, None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": HIGHLIGHT, "width": font * 0.9},
                                 opacity=0.55, name="★ the passage the note is about", hoverinfo="skip"))
    width = 3.5 if len(items) <= 30 else 1.5 if len(items) <= 200 else 1.0
    for cls in CLASSES:
        xs, ys, hover = [], [], []
        for m, (a, b) in items:
            if move_class(m) != cls:
                continue
            text = escape(snippet(m.text, 120))
            tip = f"<b>{text}</b><br>rank {m.original_rank} → {m.new_rank} ({ARROWS[cls]} {abs(m.delta)})"
            xs += [0, 1, None]
            ys += [a, b, None]
            hover += [tip, tip, ""]
        if not xs:
            continue
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines+markers", name=CLASS_NAMES[cls],
            line={"color": CLASS_COLORS[cls], "width": width},
            marker={"symbol": CLASS_SYMBOLS[cls], "size": max(8, round(font * 0.6)), "color": CLASS_COLORS[cls]},
            hovertext=hover, hovertemplate="%{hovertext}<extra></extra>", connectgaps=False,
        ))


def _frame(fig: go.Figure, notes: list[dict[str, Any]], shapes: list[dict[str, Any]], width_px: int,
           height_px: int, font: int, margin_top: int, before_label: str,
           after_label: str, line_fraction: float, middle: str = "") -> None:
    """Size, axes (no ticks: every rank is in its label), column headings and the legend above the plot."""
    reach = (1 - line_fraction) / 2 / line_fraction
    fig.update_layout(
        width=width_px, height=height_px, hovermode="closest", showlegend=True,
        # No template: the axes are hidden, so plotly_white would only add white backgrounds and a text colour,
        # and copying it cost ~17 ms of every click's chart (and ~10 kB of its JSON).
        template="none", paper_bgcolor="white", plot_bgcolor="white",
        font={"size": font, "family": "Source Sans Pro, Arial, sans-serif", "color": "#2a3f5f"},
        margin={"l": 4, "r": 4, "t": margin_top, "b": 8},
        legend={"orientation": "h", "x": 0.5, "xanchor": "center", "y": 1, "yanchor": "bottom",
                "yref": "container", "font": {"size": font}, "itemsizing": "constant"},
        hoverlabel={"font": {"size": font}},
    )
    fig.update_layout(legend={"y": 1 - 2 / max(height_px, 1), "yanchor": "top"})
    fig.update_xaxes(range=[-reach, 1 + reach], visible=False, fixedrange=True)
    fig.update_yaxes(visible=False, fixedrange=True)
    heading_y = 1 + 6 / max(height_px, 1)
    # A heading never runs past its column (a long model name is cut with "…"; the hover of the lines and
    # the page's caption say it in full).
    chars = max(10, int(width_px * (1 - line_fraction) / 2 / (font * _CHAR_EM * 1.1)) - 2)
    for x, anchor, text in ((-0.04, "right", before_label), (1.04, "left", after_label)):
        notes.append(dict(x=x, y=heading_y, xref="x", yref="paper", xanchor=anchor, yanchor="bottom",
                           showarrow=False, text=f"<b>{escape(snippet(text, chars))}</b>", font={"size": font},
                           name="column-heading"))
    if middle:
        notes.append(dict(x=0.5, y=heading_y, xref="x", yref="paper", xanchor="center", yanchor="bottom",
                           showarrow=False, text=escape(middle), font={"size": font, "color": BORDER},
                           name="column-heading"))
    fig.update_layout(annotations=notes, shapes=shapes)


# ------------------------------------------------------------------------------------------ full K (log)


def log_row(rank: int, n: int) -> float:
    """Rank -> y on the full view's axis: logarithmic, rank 1 at 1, rank ``n`` at ``n`` (same ends as linear)."""
    if n <= 1:
        return 1.0
    return 1.0 + (n - 1) * math.log(rank) / math.log(n)


def spaced_labels(positions: Sequence[float], gap: float) -> list[int]:
    """Indices of ``positions`` (ascending) kept so that no two kept are closer than ``gap``: greedy from the
    top, so rank 1 always keeps its label."""
    kept: list[int] = []
    last = -math.inf
    for i, y in enumerate(positions):
        if y - last >= gap:
            kept.append(i)
            last = y
    return kept


def _full_chart(movement: Movement, shown: int, grades: Mapping[str, int] | None, highlight: set[str],
                width_px: int, height_px: int, font: int, margin_top: int, before_label: str,
                after_label: str, line_fraction: float, kept: int | None = None) -> go.Figure:
    moves = movement.moves
    n = len(moves)
    plot_h = max(height_px - margin_top - 8, 100)
    # The axis runs from a little above rank 1 (room for rank 1's label under the column headings) to n + 0.7.
    top_air_px = font * ROW_PITCH * 0.8
    units_per_px = (n - 0.3) / max(plot_h - top_air_px, 1.0)
    low = 1 - top_air_px * units_per_px
    gap = font * ROW_PITCH * units_per_px
    label_px = width_px * (1 - line_fraction) / 2 - font
    chars = max(14, int(label_px / (font * _CHAR_EM)) - _marks_chars(grades, highlight))
    fig = go.Figure()
    # Collected and set once: plotly copies and validates every annotation on each add_annotation (O(n²)).
    notes: list[dict[str, Any]] = []
    shapes: list[dict[str, Any]] = []
    _lines(fig, [(m, (log_row(m.original_rank, n), log_row(m.new_rank, n))) for m in moves], highlight, font)
    by_uuid = {m.uuid: m for m in moves}
    for side, rank_of, text_of in (("left", "original_rank", _left_text), ("right", "new_rank", _right_text)):
        ordered = sorted(moves, key=attrgetter(rank_of))
        labelled = ordered[:shown]
        ys = [log_row(getattr(m, rank_of), n) for m in labelled]
        for i in spaced_labels(ys, gap):
            m = labelled[i]
            row = StageRow(side, ys[i], text_of(m, int(chars * BOLD_CHARS) if m.uuid in highlight else chars),
                           (m.uuid,))
            cut_off = side == "right" and kept is not None and m.new_rank > kept
            notes.append(dict(
                x=-0.04 if side == "left" else 1.04, y=ys[i], xref="x", yref="y",
                xanchor="right" if side == "left" else "left", yanchor="middle", showarrow=False,
                text=_label_html(row, by_uuid, grades, highlight),
                font={"size": font, **({"color": CUT_GREY} if cut_off else {})},
                name=f"rank-label-{side}",
            ))
        # Plain rank numbers further down (10, 20, 50, ...), where they fit below the labelled ones.
        last = ys[-1] if ys else 0.0
        for r in (20, 30, 50, 100, 200, 300, 500, 1000):
            if shown < r <= n and log_row(r, n) - last >= gap:
                last = log_row(r, n)
                notes.append(dict(x=-0.04 if side == "left" else 1.04, y=last, xref="x", yref="y",
                                   xanchor="right" if side == "left" else "left", yanchor="middle",
                                   showarrow=False, text=f"#{r}", font={"size": font, "color": "#616161"},
                                   name=f"rank-label-{side}"))
    border = (log_row(shown, n) + log_row(shown + 1, n)) / 2 if shown < n else None
    if border is not None:
        shapes.append(dict(type="line", x0=-0.04, x1=1.04, y0=border, y1=border, xref="x", yref="y",
                      line={"color": BORDER, "width": 2, "dash": "dash"}))
    if kept is not None and 0 < kept < n:
        shapes.append(_cut_line((log_row(kept, n) + log_row(kept + 1, n)) / 2, line_fraction))
    _frame(fig, notes, shapes, width_px, height_px, font, margin_top, before_label, after_label, line_fraction,
           middle=f"all {n}, log scale")
    fig.update_yaxes(range=[n + 0.7, low])
    fig.update_layout(meta={"view": "full", "shown": shown, "font_px": font, "edge_rows": 0, "kept": kept})
    return fig
