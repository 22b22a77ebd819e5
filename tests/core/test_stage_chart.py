"""The stage chart: linear top N by default, entered / left documents at the border, labels on a row grid that
never collide (at any size the page may ask for), the full-K log view, highlighted passages."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rerank_playground.errors import InvalidInput
from rerank_playground.models import Hit, Movement, RankedDoc, RerankResult
from rerank_playground.movement import compute_movement
from rerank_playground.stage_chart import (
    CUT_GREY,
    FLOOR_FONT_PX,
    MIN_FONT_PX,
    ROW_PITCH,
    log_row,
    spaced_labels,
    stage_chart,
    stage_font_px,
    stage_rows,
)


def movement(order: list[int], top_n: int = 10) -> Movement:
    """Candidates 0..len-1 (uuid ``u<i>``, text ``doc <i>``) reranked into ``order`` (best first)."""
    hits = [Hit(i + 1, f"u{i}", f"doc {i}") for i in range(len(order))]
    ranked = tuple(RankedDoc(index, 1.0 - k / 1000) for k, index in enumerate(order))
    return compute_movement(hits, RerankResult("local", "m", ranked, 1.0), top_n)


def labels(fig) -> list:  # type: ignore[no-untyped-def]
    return [a for a in fig.layout.annotations if (a.name or "").startswith("rank-label")]


# Two from outside the top 10 come in (#49 -> #1, #31 -> #4); #9 and #10 go out to #11 and #12... see below.
ORDER_50 = [48, 0, 1, 30, 2, 3, 4, 5, 6, 7, 8, 9] + list(range(10, 30)) + list(range(31, 48)) + [49]


def test_the_default_view_is_the_linear_top_n_with_one_row_per_rank() -> None:
    fig = stage_chart(movement(ORDER_50))
    assert fig.layout.meta["view"] == "top"
    assert fig.layout.yaxis.type in (None, "linear", "-")
    by_side = defaultdict(dict)
    for a in labels(fig):
        by_side[a.name][a.y] = a.text
    # Ranks 1..10 on rows 1..10 on both sides: the right side says the new rank and the glyph.
    assert sorted(y for y in by_side["rank-label-right"] if y <= 10) == list(range(1, 11))
    assert by_side["rank-label-right"][1].startswith("#1 ") and "doc 48" in by_side["rank-label-right"][1]
    assert "#1" in by_side["rank-label-left"][1] and "doc 0" in by_side["rank-label-left"][1]
    assert fig.layout.yaxis.range[0] > fig.layout.yaxis.range[1]  # rank 1 at the top


def test_entered_and_left_documents_sit_at_the_border_with_where_they_came_from_or_went() -> None:
    layout = stage_rows(movement(ORDER_50).moves, 10)
    edge = [r for r in layout.rows if r.edge]
    assert layout.border == 11.0 and layout.edge_rows == 2
    left_side = sorted((r.row, r.text) for r in edge if r.side == "left")
    right_side = sorted((r.row, r.text) for r in edge if r.side == "right")
    # Entered: #49 (now #1) and #31 (now #4), in their new order, below the border.
    assert [(y, t.split(" · ")[0]) for y, t in left_side] == [(12.0, "from #49"), (13.0, "from #31")]
    # Left: original #9 and #10 are now #11 and #12.
    assert [(y, t.split(" · ")[0]) for y, t in right_side] == [(12.0, "to #11"), (13.0, "to #12")]
    assert layout.ends["u48"] == (12.0, 1.0) and layout.ends["u9"] == (10.0, 13.0)
    assert "u20" not in layout.ends  # outside the top N before and after: no line in the top-N view


def test_too_many_entries_pool_into_the_last_edge_row() -> None:
    order = list(range(20, 30)) + list(range(0, 20))  # the whole top 10 is replaced
    layout = stage_rows(movement(order).moves, 10, max_rows=15)  # 10 ranks + border + 4 edge rows
    assert layout.edge_rows == 4 and layout.total_rows == 15.0
    left = [r for r in layout.rows if r.side == "left" and r.edge]
    assert [r.text.split(" · ")[0] for r in left[:3]] == ["from #21", "from #22", "from #23"]
    assert left[3].text == "+7 more, from #24–#30" and len(left[3].uuids) == 7
    assert all(layout.ends[f"u{i}"][0] == 15.0 for i in range(23, 30))


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(1, 120),
    top_n=st.integers(1, 25),
    seed=st.integers(0, 10_000),
    size=st.sampled_from([(1280, 720), (1920, 1080), (1024, 600), (2560, 1440)]),
    full=st.booleans(),
)
def test_labels_never_share_a_row_at_any_size(n: int, top_n: int, seed: int, size: tuple[int, int],
                                              full: bool) -> None:
    order = list(range(n))
    random.Random(seed).shuffle(order)
    width, height = size
    font = stage_font_px(width, height)
    chart_height = int(height * 0.7)
    fig = stage_chart(movement(order, top_n), width_px=width - 40, height_px=chart_height, font_px=font, full=full)
    used_font = fig.layout.meta["font_px"]
    assert FLOOR_FONT_PX <= used_font <= font
    assert fig.layout.height >= chart_height  # taller only when even the smallest type cannot fit N rows
    plot_h = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    low, high = fig.layout.yaxis.range[1], fig.layout.yaxis.range[0]
    px_per_row = plot_h / (high - low)
    for side in ("rank-label-left", "rank-label-right"):
        ys = sorted(a.y for a in labels(fig) if a.name == side)
        assert all(low < y < high for y in ys)
        gaps = [b - a for a, b in zip(ys, ys[1:], strict=False)]
        # Two labels on one side are at least ROW_PITCH font sizes apart, in pixels: their boxes cannot touch.
        assert all(g * px_per_row >= used_font * ROW_PITCH - 1e-6 for g in gaps), (side, ys)


def test_type_is_18px_at_1280x720_and_grows_with_the_screen() -> None:
    assert stage_font_px(1280, 720) == MIN_FONT_PX == 18
    assert stage_font_px(1920, 1080) == 27
    assert stage_font_px(800, 600) == MIN_FONT_PX
    fig = stage_chart(movement(ORDER_50), width_px=1240, height_px=500, font_px=18)
    assert fig.layout.meta["font_px"] == 18
    assert all(a.font.size >= 18 for a in fig.layout.annotations)
    assert fig.layout.legend.font.size >= 18


def test_the_full_view_is_logarithmic_and_keeps_rank_one_labelled() -> None:
    fig = stage_chart(movement(ORDER_50), full=True, width_px=1240, height_px=500)
    assert fig.layout.meta["view"] == "full"
    right = sorted((a.y, a.text) for a in labels(fig) if a.name == "rank-label-right")
    assert right[0][0] == pytest.approx(1.0) and right[0][1].startswith("#1 ")
    assert log_row(1, 50) == 1.0 and log_row(50, 50) == pytest.approx(50.0)
    assert log_row(10, 50) == pytest.approx(1 + 49 * 0.5886, rel=1e-3)  # log(10)/log(50)
    assert spaced_labels([1.0, 1.5, 3.0, 3.2, 5.0], 1.0) == [0, 2, 4]
    # Every candidate has its line in the full view (one point pair per document).
    points = sum(sum(1 for x in trace.x if x is not None) for trace in fig.data if trace.name != "★ the passage "
                 "the note is about")
    assert points == 2 * 50


def test_the_notes_passage_is_marked_and_text_is_escaped() -> None:
    hits = [Hit(1, "a", "<b>bold</b> & co"), Hit(2, "b", "the passage")]
    result = RerankResult("local", "m", (RankedDoc(1, 0.9), RankedDoc(0, 0.1)), 1.0)
    fig = stage_chart(compute_movement(hits, result, 10), highlight={"b"})
    texts = [a.text for a in labels(fig)]
    assert any(t.startswith("★ ") and "<b>#1" in t and "the passage" in t for t in texts)
    assert not any("<b>bold" in t for t in texts) and any("&lt;b&gt;bold&lt;/b&gt; &amp; co" in t for t in texts)
    assert any(trace.name.startswith("★") for trace in fig.data)


def test_nothing_to_chart_is_a_clear_message() -> None:
    empty = Movement(moves=(), summary=movement([0]).summary)
    with pytest.raises(InvalidInput, match="nothing to chart"):
        stage_chart(empty)


def _longest_label(fig) -> int:  # type: ignore[no-untyped-def]
    return max(len(a.text) for a in labels(fig) if a.name == "rank-label-right")


def test_a_narrower_line_band_leaves_the_labels_more_text() -> None:
    """Search and Compare draw the chart beside their numbers, with less room between the label columns."""
    hits = [Hit(i + 1, f"u{i}", f"document number {i} " + "word " * 30) for i in range(50)]
    long_texts = compute_movement(hits, RerankResult("local", "m", tuple(
        RankedDoc(index, 1.0 - k / 1000) for k, index in enumerate(ORDER_50)), 1.0), 10)
    wide = stage_chart(long_texts, width_px=620, height_px=400, font_px=18)
    narrow = stage_chart(long_texts, width_px=620, height_px=400, font_px=18, line_fraction=0.2)
    assert _longest_label(narrow) > _longest_label(wide)
    # The lines still run from x = 0 to x = 1, and the labels stay inside the axis' range.
    assert narrow.layout.xaxis.range[0] < -0.04 and narrow.layout.xaxis.range[1] > 1.04
    reach = (1 - 0.2) / 2 / 0.2
    assert narrow.layout.xaxis.range == (-reach, 1 + reach)


def test_room_for_marks_is_kept_only_for_the_marks_drawn() -> None:
    hits = [Hit(i + 1, f"u{i}", f"document number {i} " + "word " * 30) for i in range(50)]
    moved = compute_movement(hits, RerankResult("local", "m", tuple(
        RankedDoc(index, 1.0 - k / 1000) for k, index in enumerate(ORDER_50)), 1.0), 10)
    plain = stage_chart(moved, width_px=620, height_px=400, font_px=18)
    graded = stage_chart(moved, width_px=620, height_px=400, font_px=18, grades={"u0": 3})
    plain_text = next(a.text for a in labels(plain) if a.name == "rank-label-right" and a.y == 2)
    graded_text = next(a.text for a in labels(graded) if a.name == "rank-label-right" and a.y == 2)
    # The graded label carries "◆ " or "○ " before it, and its text is cut shorter to make room for it; the
    # plain label, with no marks, keeps that room for its text.
    assert graded_text[:2] in ("◆ ", "○ ")
    assert len(graded_text) - 2 < len(plain_text)


def _cut_lines(fig) -> list:  # type: ignore[no-untyped-def]
    return [s for s in fig.layout.shapes if s.name == "cut-line"]


@pytest.mark.parametrize("full", [False, True])
def test_a_cut_greys_the_reranked_labels_below_it_and_draws_a_line_under_the_last_kept(full: bool) -> None:
    """Issue 23.3 on stage: with ``kept`` = 4, the right-hand labels of new ranks 5.. are greyed, the left-hand
    (retrieval order) ones never, and one dotted line crosses the right-hand column between ranks 4 and 5."""
    fig = stage_chart(movement(ORDER_50), kept=4, full=full)
    assert fig.layout.meta["kept"] == 4
    greyed = {a.y for a in labels(fig) if a.font.color == CUT_GREY}
    right = {a.y for a in labels(fig) if a.name == "rank-label-right"}
    if full:
        n = len(ORDER_50)
        # document labels are drawn for the top 10 where a row fits (further down: plain rank numbers, #20, ...)
        labelled_ranks = [r for r in range(1, 11) if log_row(r, n) in right]
        assert greyed == {log_row(r, n) for r in labelled_ranks if r > 4} and greyed
        assert [s.y0 for s in _cut_lines(fig)] == [(log_row(4, n) + log_row(5, n)) / 2]
    else:
        assert greyed == {y for y in right if y > 4} and greyed >= {5.0, 6.0, 10.0}
        assert [s.y0 for s in _cut_lines(fig)] == [4.5]
    line = _cut_lines(fig)[0]
    assert line.x0 >= 1.0  # the reranked column only: the retrieval order is not cut
    assert all(a.font.color != CUT_GREY for a in labels(fig) if a.name == "rank-label-left")


def test_no_cut_or_a_cut_below_the_shown_rows_greys_nothing_shown() -> None:
    plain = stage_chart(movement(ORDER_50))
    assert plain.layout.meta["kept"] is None and not _cut_lines(plain)
    assert all(a.font.color != CUT_GREY for a in labels(plain))
    keeps_more = stage_chart(movement(ORDER_50), kept=30)  # keeps more than the top 10 shown
    assert not _cut_lines(keeps_more)
    assert all(a.font.color != CUT_GREY for a in labels(keeps_more) if not a.text.startswith(("to ", "+")))
    with pytest.raises(InvalidInput):
        stage_chart(movement(ORDER_50), kept=-1)
