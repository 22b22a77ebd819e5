"""charts.py: the data inside each figure (traces, colours, hover text, axes), at 10 and 200 documents."""

from __future__ import annotations

import math
import random

import plotly.graph_objects as go
import pytest

from rerank_playground import charts
from rerank_playground.charts import (
    GREEN,
    GREY,
    RED,
    bump_chart,
    delta_bars,
    escape,
    score_scatter,
    slope_chart,
)
from rerank_playground.errors import InvalidInput
from rerank_playground.models import Hit, Movement, RankedDoc, RerankResult
from rerank_playground.movement import compute_movement, rank_matrix

NASTY = 'A <b>bold</b> & <script>alert("x")</script> claim'
NASTY_ESCAPED = 'A &lt;b&gt;bold&lt;/b&gt; &amp; &lt;script&gt;alert("x")&lt;/script&gt; claim'


def hits(n: int) -> list[Hit]:
    return [
        Hit(
            rank=i + 1,
            uuid=f"u{i}",
            text=NASTY if i == 0 else f"document number {i}",
            score=1.0 - i / (n + 1),
        )
        for i in range(n)
    ]


def result(order: list[int], model: str = "m") -> RerankResult:
    ranked = tuple(RankedDoc(index=i, score=1.0 - pos / max(len(order), 1)) for pos, i in enumerate(order))
    return RerankResult(reranker="test", model=model, ranked=ranked, latency_ms=1.0)


# 10 documents. Reranked: d3 d0 d1 d2 d5 d4 d6 d9 d8 d7
#   up:   d3 (4->1), d5 (6->5), d9 (10->8)                 = 3
#   down: d0 (1->2), d1 (2->3), d2 (3->4), d4 (5->6), d7 (8->10) = 5
#   same: d6 (7->7), d8 (9->9)                             = 2
# top_n = 3: entered d3 (1 <= 3 < 4); left d2 (3 <= 3 < 4).
ORDER_10 = [3, 0, 1, 2, 5, 4, 6, 9, 8, 7]


def movement_10(top_n: int = 3) -> Movement:
    return compute_movement(hits(10), result(ORDER_10), top_n=top_n)


def movement_200(seed: int = 3) -> Movement:
    order = list(range(200))
    random.Random(seed).shuffle(order)
    return compute_movement(hits(200), result(order[:150]), top_n=10)


def by_class(fig: go.Figure) -> dict[str, go.Scatter]:
    return {trace.meta["class"]: trace for trace in fig.data if trace.meta and "class" in trace.meta}


def points(trace: go.Scatter) -> list[tuple[float, int]]:
    return [(x, y) for x, y in zip(trace.x, trace.y, strict=True) if x is not None]


def reversed_axis(axis: object) -> bool:
    rng = axis.range  # type: ignore[attr-defined]
    return axis.autorange == "reversed" or (rng is not None and rng[0] > rng[1])  # type: ignore[attr-defined]


def test_escape() -> None:
    assert escape(NASTY) == NASTY_ESCAPED
    assert escape("a &lt; b") == "a &amp;lt; b"  # already-escaped text stays literal


# --- slope chart ----------------------------------------------------------------------------------


def test_slope_chart_traces_and_colours() -> None:
    fig = slope_chart(movement_10())
    classes = by_class(fig)
    assert list(classes) == ["up", "down", "same", "entered", "left", "cut"]
    assert classes["up"].line.color == GREEN == "#2e7d32"
    assert classes["down"].line.color == RED == "#c62828"
    assert classes["same"].line.color == GREY == "#9e9e9e"
    # One segment (two points + a None separator) per document of the class.
    assert len(points(classes["up"])) == 2 * 3
    assert len(points(classes["down"])) == 2 * 5
    assert len(points(classes["same"])) == 2 * 2
    assert len(classes["up"].x) == 3 * 3
    # d3: original 4 -> reranked 1 is in the "up" trace, as (0, 4) then (1, 1).
    assert points(classes["up"])[:2] == [(0, 4), (1, 1)]
    # Glyphs, not only colour: the ends carry triangle-up / triangle-down / circle (the right end the larger).
    assert classes["up"].marker.symbol == "triangle-up"
    assert classes["down"].marker.symbol == "triangle-down"
    assert classes["same"].marker.symbol == "circle"
    sizes = list(classes["up"].marker.size)
    assert sizes[1] > sizes[0] > 0 and sizes[2] == 0
    assert "▲" in classes["up"].name and "(3)" in classes["up"].name
    assert "▼" in classes["down"].name and "(5)" in classes["down"].name


def test_slope_chart_top_n_marks() -> None:
    fig = slope_chart(movement_10(top_n=3))
    classes = by_class(fig)
    # entered: d3 drawn 4 -> 1 with a star at the reranked end; left: d2 drawn 3 -> 4 with an x at the start.
    assert points(classes["entered"]) == [(0, 4), (1, 1)]
    assert classes["entered"].marker.symbol == charts.ENTERED_SYMBOL
    assert list(classes["entered"].marker.size)[:2][0] == 0  # the star at the reranked end only
    assert points(classes["left"]) == [(0, 3), (1, 4)]
    assert classes["left"].marker.symbol == charts.LEFT_SYMBOL
    assert list(classes["left"].marker.size)[1] == 0  # the cross at the original end only
    cut = classes["cut"]
    assert list(cut.y) == [3 + 0.5, 3 + 0.5]
    assert cut.line.dash == "dash"
    # top_n overrides the movement's own.
    wider = by_class(slope_chart(movement_10(top_n=3), top_n=5))
    # top 5: d5 went 6 -> 5 (entered), d4 went 5 -> 6 (left)
    assert points(wider["entered"]) == [(0, 6), (1, 5)]
    assert points(wider["left"]) == [(0, 5), (1, 6)]


def test_slope_chart_no_cut_line_when_everything_is_shown() -> None:
    assert "cut" not in by_class(slope_chart(movement_10(top_n=10)))


def test_slope_chart_hover_escapes_text() -> None:
    fig = slope_chart(movement_10())
    down = by_class(fig)["down"]  # d0 (the nasty text) fell 1 -> 2
    rows = [row for row in down.customdata if row[0]]
    nasty = [row for row in rows if row[0] == "1"][0]
    assert nasty[5] == NASTY_ESCAPED
    assert list(nasty[:3]) == ["1", "2", "▼ 1"]
    assert "<script>" not in str(fig.to_dict())  # never raw in any label, hover or legend
    assert "customdata[5]" in down.hovertemplate and "rerank score" in down.hovertemplate
    # Side labels (tick text of the left and right rank axes) are drawn at n = 10 and are escaped too:
    # d0 is rank 1 on the left (original) and rank 2 on the right (reranked, ▼ in red).
    left, right = fig.layout.yaxis, fig.layout.yaxis2
    # The text sits in a Unicode isolate (U+2068 ... U+2069), so right-to-left text keeps the rank beside it.
    assert left.ticktext[0] == "\u2068" + charts.safe_snippet(NASTY, charts.SIDE_LABEL_SNIPPET) + "\u2069  1"
    assert left.ticktext[0].startswith("\u2068A &lt;b&gt;bold&lt;/b&gt; &amp; &lt;script&gt;")
    assert right.ticktext[1].startswith(f'2 <span style="color:{RED}">▼</span> \u2068A &lt;b&gt;')


def test_slope_chart_layout() -> None:
    fig = slope_chart(movement_10())
    assert reversed_axis(fig.layout.yaxis)
    assert list(fig.layout.xaxis.ticktext) == ["Original", "Reranked"]
    assert fig.layout.title.text and fig.layout.yaxis.title.text
    assert not fig.layout.xaxis.title.text  # the column heads say it; no axis title between them and the subtitle
    assert "3 ▲ up, 5 ▼ down, 2 ● unchanged" in fig.layout.title.text
    assert fig.layout.yaxis.type == "linear"
    # Every rank is labelled on both sides; the right axis mirrors the left one.
    assert list(fig.layout.yaxis.tickvals) == list(range(1, 11)) == list(fig.layout.yaxis2.tickvals)
    assert fig.layout.yaxis2.overlaying == "y" and fig.layout.yaxis2.side == "right"
    assert list(fig.layout.yaxis2.range) == list(fig.layout.yaxis.range)
    # ROW_PX pixels per rank (plus title and legend room); the legend lies under the plot.
    margin = fig.layout.margin
    assert fig.layout.height - margin.t - margin.b == charts.ROW_PX * 10
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.y < 0


def test_slope_chart_200_is_bounded_and_readable() -> None:
    mv = movement_200()
    fig = slope_chart(mv)
    assert len(fig.data) <= 7  # grouped traces, not one per document (+ an empty one that draws the right axis)
    classes = by_class(fig)
    total = sum(len(points(classes[c])) for c in ("up", "down", "same"))
    assert total == 2 * 200
    assert all(classes[c].mode == "lines+markers" for c in ("up", "down", "same"))
    assert classes["up"].line.width < slope_chart(movement_10()).data[0].line.width
    assert classes["up"].opacity < 0.9
    assert charts.MIN_HEIGHT <= fig.layout.height <= charts.MAX_HEIGHT
    assert fig.layout.height > slope_chart(movement_10()).layout.height
    assert fig.layout.yaxis.type == "log" and reversed_axis(fig.layout.yaxis)
    assert fig.layout.yaxis2.type == "log"
    # Only the top N (10) carry text; deeper ticks are plain rank numbers.
    ticks = list(fig.layout.yaxis.tickvals)
    assert ticks[:10] == list(range(1, 11)) and 200 in ticks
    texts = dict(zip(ticks, fig.layout.yaxis.ticktext, strict=True))
    assert texts[10].endswith("  10") and len(texts[10]) > 4
    assert texts[200] == "200" and texts[20] == "20"
    linear = slope_chart(mv, log_ranks=False)
    assert linear.layout.yaxis.type == "linear" and reversed_axis(linear.layout.yaxis)
    fig.to_json()  # serialises


def test_slope_chart_switches_to_log_above_20() -> None:
    """Up to LABEL_LIMIT = LOG_FROM = 20 documents: linear, all labelled; from 21: logarithmic, top N labelled."""
    order = list(range(21))[::-1]
    at_21 = slope_chart(compute_movement(hits(21), result(order), top_n=5))
    at_20 = slope_chart(compute_movement(hits(20), result(order[1:]), top_n=5))
    assert at_20.layout.yaxis.type == "linear" and len(at_20.layout.yaxis.tickvals) == 20
    assert at_21.layout.yaxis.type == "log"
    assert list(at_21.layout.yaxis.tickvals) == [1, 2, 3, 4, 5, 10, 21]  # 20 would crowd 21
    assert at_21.layout.height == charts.LOG_HEIGHT


def test_rank_axis_log_ticks_do_not_crowd() -> None:
    assert charts.rank_axis(21, True, (10,))["tickvals"] == [1, 2, 3, 5, 10, 21]
    assert charts.rank_axis(200, True, (10,))["tickvals"] == [1, 2, 3, 5, 10, 20, 30, 50, 100, 200]
    assert charts.rank_axis(22, True, (20,))["tickvals"] == [1, 2, 3, 5, 10, 20]  # the top-N cut wins over n


def test_slope_chart_bad_top_n() -> None:
    with pytest.raises(InvalidInput):
        slope_chart(movement_10(), top_n=0)


def test_slope_chart_empty() -> None:
    fig = slope_chart(compute_movement([], result([]), top_n=5))
    assert all(len(points(t)) == 0 for t in fig.data)


# --- bump chart -----------------------------------------------------------------------------------


def test_bump_chart_small() -> None:
    cands = hits(10)
    matrix = rank_matrix(cands, {"a": result(ORDER_10, "a"), "b": result(list(range(10))[::-1], "b")})
    fig = bump_chart(matrix, [h.text for h in cands])
    assert len(fig.data) == 10  # one coloured line per document, no grey trace
    assert list(fig.layout.xaxis.ticktext) == ["retrieval", "a", "b"]
    # Coloured in the order of the first model ("a"): d3 is its #1, d0 its #2.
    assert [t.meta["document"] for t in fig.data] == ORDER_10
    first, nasty = fig.data[0], fig.data[1]
    assert list(first.y) == [4, 1, 7]  # d3: retrieval 4, a 1, b 7
    assert list(nasty.y) == [1, 2, 10]  # d0: retrieval 1, a 2, b 10
    assert nasty.customdata[0][0] == NASTY_ESCAPED
    assert "&lt;b&gt;" in nasty.name
    assert len({t.line.color for t in fig.data}) == 10
    # No legend: each line is labelled at its right end, in its colour, with its rank under "a".
    assert fig.layout.showlegend is False
    labels = {a.text: a for a in fig.layout.annotations}
    assert len(labels) == 10
    label = next(a for text, a in labels.items() if text.startswith("#2 \u2068A &lt;b&gt;"))
    assert label.x == 2 and label.y == 10 and label.font.color == nasty.line.color
    assert "<script>" not in str(fig.to_dict())
    assert reversed_axis(fig.layout.yaxis)
    assert fig.layout.title.text and fig.layout.yaxis.title.text
    assert not fig.layout.xaxis.title.text


def test_bump_chart_labels_do_not_overlap() -> None:
    """Line ends on neighbouring ranks get labels at least LABEL_GAP_PX apart."""
    cands = hits(10)
    matrix = rank_matrix(cands, {"a": result(list(range(10)), "a")})
    fig = bump_chart(matrix, [h.text for h in cands])
    plot_px = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    rng = fig.layout.yaxis.range
    tails = sorted((a.y - rng[1]) / (rng[0] - rng[1]) * plot_px + a.ay for a in fig.layout.annotations)
    assert all(b - a >= charts.LABEL_GAP_PX - 1e-9 for a, b in zip(tails, tails[1:], strict=False))
    assert charts._spread([0, 0, 0], 10, 0, 100) == [0, 10, 20]
    assert charts._spread([100, 100], 10, 0, 100) == [90, 100]  # pushed back up from the bottom


def test_bump_chart_200_is_bounded() -> None:
    cands = hits(200)
    rng = random.Random(5)
    results = {}
    for name in ("a", "b", "c"):
        order = list(range(200))
        rng.shuffle(order)
        results[name] = result(order, name)
    matrix = rank_matrix(cands, results)
    fig = bump_chart(matrix, [h.text for h in cands], highlight=20)
    assert len(fig.data) == charts.MAX_HIGHLIGHT + 1 == 11  # at most 10 coloured lines, whatever is asked
    grey = fig.data[0]  # drawn first, under the coloured lines
    assert grey.line.color == GREY and grey.showlegend is False
    assert sum(y is not None for y in grey.y) == 190 * 4
    coloured = fig.data[1:]
    assert [int(matrix.iloc[t.meta["document"]]["a"]) for t in coloured] == list(range(1, 11))  # a's top 10
    assert len(fig.layout.annotations) == 10
    assert fig.layout.yaxis.type == "log"
    # On a log axis annotations take log10 positions.
    assert fig.layout.annotations[0].y == pytest.approx(math.log10(coloured[0].y[-1]))
    by_c = bump_chart(matrix, [h.text for h in cands], highlight=5, by="c")
    assert [int(matrix.iloc[t.meta["document"]]["c"]) for t in by_c.data[1:]] == [1, 2, 3, 4, 5]
    with pytest.raises(InvalidInput):
        bump_chart(matrix, [h.text for h in cands], by="nope")


def test_bump_chart_texts_must_match() -> None:
    with pytest.raises(InvalidInput):
        bump_chart(rank_matrix(hits(3), {}), ["only one"])


# --- delta bars and score scatter -----------------------------------------------------------------


def test_delta_bars() -> None:
    fig = delta_bars(movement_10())
    classes = by_class(fig)
    assert [classes[c].marker.color for c in ("up", "down", "same")] == [GREEN, RED, GREY]
    assert all(t.orientation == "h" for t in fig.data)
    assert list(classes["up"].x) == [4 - 1, 6 - 5, 10 - 8]  # sorted by new rank: d3, d5, d9
    assert list(classes["up"].y) == [1, 5, 8]
    assert list(classes["down"].x) == [1 - 2, 2 - 3, 3 - 4, 5 - 6, 8 - 10]
    assert list(classes["up"].text) == ["▲ 3", "▲ 1", "▲ 2"]
    assert reversed_axis(fig.layout.yaxis)
    assert any("&lt;b&gt;" in t for t in fig.layout.yaxis.ticktext)
    assert fig.layout.title.text and fig.layout.xaxis.title.text
    big = delta_bars(movement_200())
    assert len(big.data) == 3
    assert sum(len(t.x) for t in big.data) == 200


def test_score_scatter() -> None:
    fig = score_scatter(movement_10())
    classes = by_class(fig)
    assert [classes[c].marker.symbol for c in ("up", "down", "same")] == [
        "triangle-up",
        "triangle-down",
        "circle",
    ]
    # d3 moved up: retrieval score 1 - 3/11, rerank score 1 - 0/10.
    assert classes["up"].x[0] == pytest.approx(1 - 3 / 11)
    assert classes["up"].y[0] == pytest.approx(1 - 0 / 10)
    assert fig.layout.title.text and fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    # 200 candidates, 150 returned by the reranker: 50 have no rerank score and are left out.
    big = score_scatter(movement_200())
    assert len(big.data) == 3
    assert sum(len(t.x) for t in big.data) == 150
    assert "50 without one" in big.layout.title.subtitle.text


def test_slope_chart_subtitle_states_each_figures_scope() -> None:
    """With N = 3 the overlap is the shown top 3 (the page's figure), not a fixed top 10; τ names all K."""
    mv = movement_10(top_n=3)
    subtitle = charts.slope_chart(mv).layout.title.subtitle.text
    s = mv.summary
    assert f"top-3 overlap {round(s.overlap_at_n * 3)}/3 (shown N)" in subtitle
    assert "Kendall τ = " in subtitle and "(all 10)" in subtitle
    assert "top-10 overlap" not in subtitle
    assert "all 10 candidates" in charts.slope_chart(mv).layout.title.text


def test_hover_of_a_document_the_reranker_did_not_return_says_only_that() -> None:
    """It may be missing for reasons other than a top-N cut (e.g. it did not come back from the module's
    re-run search): the hover states the fact, not a guessed reason."""
    mv = compute_movement(hits(4), result([2, 0]), top_n=2)
    rows = [row for trace in slope_chart(mv).data if trace.customdata is not None for row in trace.customdata
            if row[0]]
    unreturned = {row[0]: row[4] for row in rows if row[0] in ("2", "4")}
    assert unreturned == {"2": "not returned by the reranker (placed after the scored ones)",
                          "4": "not returned by the reranker (placed after the scored ones)"}
    assert "top N" not in str(unreturned)


# ----------------------------------------------------------------------------------------- grade markers


def grade_traces(fig: go.Figure) -> dict[object, go.Scatter]:
    return {trace.meta["grade"]: trace for trace in fig.data if trace.meta and "grade" in trace.meta}


def test_slope_chart_marks_documents_by_grade() -> None:
    plain = slope_chart(movement_10())
    assert not grade_traces(plain)  # no grades given: the chart is as before
    # d3 (4 -> 1) perfect, d0 (1 -> 2) not relevant, d9 (10 -> 8) related; the other 7 unjudged.
    fig = slope_chart(movement_10(), grades={"u3": 3, "u0": 0, "u9": 1})
    marks = grade_traces(fig)
    assert set(marks) == {3, 0, 1, "unjudged"}  # no trace for a grade nobody has (2)
    assert points(marks[3]) == [(-charts.GRADE_OFFSET, 4), (1 + charts.GRADE_OFFSET, 1)]  # both ends of its line
    assert points(marks[0]) == [(-charts.GRADE_OFFSET, 1), (1 + charts.GRADE_OFFSET, 2)]
    assert points(marks[1]) == [(-charts.GRADE_OFFSET, 10), (1 + charts.GRADE_OFFSET, 8)]
    # Unjudged are marked as unjudged, not as 0, within the top 3 on each side: left d1 d2 (d0 is judged),
    # right d1 (rank 3); d2 falls to 4.
    assert points(marks["unjudged"]) == [(-charts.GRADE_OFFSET, 2), (1 + charts.GRADE_OFFSET, 3),
                                         (-charts.GRADE_OFFSET, 3)]
    # Shape and size carry the grade (colour is not the only cue), and the legend names it.
    assert marks[3].marker.symbol == "diamond" and marks["unjudged"].marker.symbol == "circle-open"
    assert marks[3].marker.size > marks[1].marker.size
    assert len({t.marker.symbol for t in marks.values()}) == 4
    assert marks[3].name == "◆ 3 perfect (1)"  # one document (marked at both ends)
    assert marks["unjudged"].name == "○ unjudged (2)"
    assert "grades: 3/10 judged (○ unjudged, top 3)" in fig.layout.title.subtitle.text
    # The markers sit outside the lines' ends, inside the x range.
    assert fig.layout.xaxis.range[0] < -charts.GRADE_OFFSET and fig.layout.xaxis.range[1] > 1 + charts.GRADE_OFFSET
    # The hover text of a marker is the escaped document text.
    assert marks[0].customdata[0][0] == NASTY_ESCAPED


def test_bump_chart_marks_documents_by_grade() -> None:
    cands = hits(10)
    matrix = rank_matrix(cands, {"a": result(ORDER_10, "a")})
    grades: list[int | None] = [None] * 10
    grades[3], grades[0] = 2, 0
    fig = bump_chart(matrix, [h.text for h in cands], highlight=3, grades=grades)
    marks = grade_traces(fig)
    assert set(marks) == {2, 0, "unjudged"}
    assert [y for y in marks[2].y if y is not None] == [4, 1]  # d3: retrieval 4, a 1, a marker on each
    assert [y for y in marks[0].y if y is not None] == [1, 2]
    # Unjudged markers only on the coloured lines (the top 3 under "a" are d3, d0, d1: only d1 is unjudged).
    assert [y for y in marks["unjudged"].y if y is not None] == [2, 3]
    assert fig.layout.showlegend is True and all(t.showlegend for t in marks.values())
    assert "grades: 2/10 judged" in fig.layout.title.subtitle.text
    with pytest.raises(InvalidInput):
        bump_chart(matrix, [h.text for h in cands], grades=[None])
