"""The Present view read from the back of the room (issue 19), measured in the page at 1280x720 and 1920x1080:

- (a) no two labels of the stage chart overlap (bounding boxes of every annotation, in the top-N and full views);
- (b) the chart (legend included) and the headline numbers are inside the viewport after every step;
- (c) no clipped text: every visible text element's ``scrollWidth <= clientWidth``;
- (d) blind A/B: the page says nothing that names a side (the note, the model or reranker names), and the pick
  buttons and the reveal are in view;
- the chart text is at least 18 px at 1280x720 and larger at 1920x1080; Previous / Next are enabled exactly
  when their key would act; one pair of navigation controls; plain words beside every symbol.

Prints the measured numbers (label overlaps, lowest chart pixel vs viewport height, smallest chart font) for
the issue's closing note.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest
from playwright.sync_api import Page

from rerank_playground.connection import ConnectionSpec
from rerank_playground.demo.suggestions import SUGGESTED_QUERIES
from rerank_playground.evaluation.cutoff import Cut
from rerank_playground.keys import ProviderKeys
from rerank_playground.models import Hit, SearchRequest
from rerank_playground.playground import Playground
from rerank_playground.presentation import stories
from rerank_playground.store import Store
from tests.browser.conftest import assert_no_errors, main_text, rerun_and_wait, screenshot, wait_idle
from tests.browser.test_present import DEMO_VIEWS, SIZES, start_presenting, step, store, wait_next_prepared
from weaviate_local.server import WeaviateEndpoint

__all__ = ["store"]  # the fixture, shared with test_present

# Every annotation of the stage chart (rank labels, column headings, the border label): their boxes, in page
# pixels, and the pairs that overlap by more than half a pixel each way.
MEASURE_CHART = """() => {
  const plot = document.querySelector('[class*="st-key-present-stage-"] .js-plotly-plot');
  if (!plot) return null;
  const boxes = [...plot.querySelectorAll('g.annotation')].map((g) => {
    const r = g.querySelector('text').getBoundingClientRect();
    return {x: r.left, y: r.top, w: r.width, h: r.height, text: g.textContent};
  }).filter((b) => b.w > 0 && b.h > 0);
  const overlaps = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    const dx = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
    const dy = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
    if (dx > 0.5 && dy > 0.5) overlaps.push([a.text, b.text]);
  }
  const sizes = [...plot.querySelectorAll('text')]
    .filter((t) => t.textContent.trim() && t.getBoundingClientRect().width > 0)
    .map((t) => parseFloat(getComputedStyle(t).fontSize));
  const chart = plot.getBoundingClientRect();
  const texts = [...plot.querySelectorAll('text')].map((t) => t.getBoundingClientRect())
    .filter((r) => r.width > 0);
  return {
    labels: boxes.length, overlaps, minFont: Math.min(...sizes),
    chart: {top: chart.top, bottom: chart.bottom, left: chart.left, right: chart.right},
    textBottom: Math.max(...texts.map((r) => r.bottom)), textRight: Math.max(...texts.map((r) => r.right)),
    textLeft: Math.min(...texts.map((r) => r.left)), textTop: Math.min(...texts.map((r) => r.top)),
  };
}"""

# Visible elements that hold text of their own, whose text is cut (wider than their box).
CLIPPED = """() => {
  const out = [];
  for (const el of document.querySelectorAll('[data-testid="stMain"] *')) {
    if (!(el instanceof HTMLElement) || el.closest('.js-plotly-plot')) continue;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.getClientRects().length === 0) continue;
    const style = getComputedStyle(el);
    if (style.display === 'inline' || style.visibility === 'hidden') continue;
    if (el.scrollWidth > el.clientWidth + 1) out.push(el.textContent.trim().slice(0, 80));
  }
  return out;
}"""


def measure(page: Page) -> dict[str, Any]:
    page.locator('[class*="st-key-present-stage-"] .js-plotly-plot g.annotation').first.wait_for()
    found = page.evaluate(MEASURE_CHART)
    assert found is not None, "no stage chart on the page"
    return found


def assert_on_screen(page: Page, width: int, height: int, where: str) -> dict[str, Any]:
    found = measure(page)
    assert found["labels"] >= 10, f"{where}: only {found['labels']} labels"
    assert found["overlaps"] == [], f"{where}: labels overlap: {found['overlaps']}"
    # (b) the chart, its legend and every text of it inside the viewport.
    assert found["chart"]["top"] >= 0 and found["chart"]["bottom"] <= height, f"{where}: chart {found['chart']}"
    assert found["textBottom"] <= height and found["textRight"] <= width and found["textLeft"] >= 0, where
    # ... and no text of the chart runs past the figure's own edges (it would be cut there).
    chart = found["chart"]
    assert chart["left"] - 1 <= found["textLeft"] and found["textRight"] <= chart["right"] + 1, f"{where}: {found}"
    assert chart["top"] - 1 <= found["textTop"] and found["textBottom"] <= chart["bottom"] + 1, f"{where}: {found}"
    values = page.locator('[class*="st-key-present-numbers-"] [data-testid="stMetricValue"]')
    assert values.count() >= 3, where
    for i in range(values.count()):
        box = values.nth(i).bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height, f"{where}: number {i}"
        assert box["x"] + box["width"] <= width, f"{where}: number {i} off the right edge"
    clipped = page.evaluate(CLIPPED)
    assert clipped == [], f"{where}: clipped text {clipped}"
    return found


def nav_state(page: Page) -> tuple[bool, bool]:
    # The visible pair (their names end with the shortcut's hint, e.g. "Next →").
    previous = page.get_by_role("button", name=re.compile(r"^Previous(?! view)")).filter(visible=True)
    following = page.get_by_role("button", name=re.compile(r"^Next(?! view)")).filter(visible=True)
    return previous.is_enabled(), following.is_enabled()


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_the_stage_chart_reads_from_the_back_of_the_room(
    page: Page, app_url: str, store: Store, width: int, height: int
) -> None:
    page.set_viewport_size({"width": width, "height": height})
    start_presenting(page, app_url)
    page.locator(".st-key-viewport-measured").wait_for(state="attached")
    wait_idle(page)
    # One pair of navigation controls; the clicker's keys are shortcuts, not a second pair of buttons.
    assert page.get_by_role("button", name=re.compile(r"^(Previous|Next|Back|Forward)")).filter(
        visible=True).count() == 2
    assert nav_state(page) == (False, True), "view 1: Previous must be off, Next on"
    text = main_text(page)
    for plain in ("rank agreement (Kendall τ)", "still in the top 10 (overlap)", "biggest climb into the top 10"):
        assert plain in text
    assert page.locator('[class*="st-key-present-numbers-"] [data-testid="stTooltipIcon"]').count() >= 3
    lowest, fonts, overlaps = [], [], 0
    for number in range(len(DEMO_VIEWS)):
        if number:
            wait_next_prepared(page)
            step(page, "ArrowRight" if number % 2 else "PageDown", DEMO_VIEWS[number].request.query)
            expected = (True, number < len(DEMO_VIEWS) - 1)
            assert nav_state(page) == expected, f"view {number + 1}: Previous/Next should be {expected}"
        found = assert_on_screen(page, width, height, f"view {number + 1}")
        overlaps += len(found["overlaps"])
        lowest.append(max(found["chart"]["bottom"], found["textBottom"]))
        fonts.append(found["minFont"])
        assert_no_errors(page, f"view {number + 1}")
        if number < 2:
            screenshot(page, f"present-stage-{width}x{height}-view{number + 1}", full_page=False)
    assert min(fonts) >= 18, f"chart text below 18 px: {fonts}"
    if width == 1920:
        assert min(fonts) >= 24, "the type grows with the screen"
    # The note's passage is marked on the first view (the demo suggestion's evidence is among the candidates).
    # Back to the first view: the full-K log view is one key away, and back.
    step(page, "PageUp", DEMO_VIEWS[-2].request.query)
    rerun_and_wait(page, lambda: page.keyboard.press("f"))
    page.get_by_text(re.compile(r"F: back to the top 10")).wait_for()
    found = assert_on_screen(page, width, height, "full view")
    screenshot(page, f"present-stage-{width}x{height}-full", full_page=False)
    rerun_and_wait(page, lambda: page.keyboard.press("f"))
    page.get_by_text(re.compile(r"F: all \d+ \(log scale\)")).wait_for()
    print(f"\n[present stage {width}x{height}] label overlaps: {overlaps + len(found['overlaps'])}; lowest chart "
          f"pixel {max(lowest):.0f} of {height} (per view: {', '.join(f'{y:.0f}' for y in lowest)}); "
          f"smallest chart font {min(fonts):.0f} px")


def test_the_notes_passage_is_highlighted(page: Page, app_url: str, store: Store) -> None:
    page.set_viewport_size({"width": 1280, "height": 720})
    start_presenting(page, app_url)
    measure(page)
    assert "★ the passage the note is about" in main_text(page)
    starred = page.evaluate("""() => [...document.querySelectorAll(
        '[class*="st-key-present-stage-"] g.annotation')].filter((g) => g.textContent.includes('★')).length""")
    assert starred >= 2  # before and after: the passage's label on both sides


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_blind_ab_names_nothing_and_keeps_the_pick_in_view(
    page: Page, app_url: str, store: Store, width: int, height: int
) -> None:
    page.set_viewport_size({"width": width, "height": height})
    start_presenting(page, app_url)
    wait_next_prepared(page)
    rerun_and_wait(page, lambda: page.keyboard.press("v"))
    page.get_by_text("Which list answers the query better?").wait_for()
    view = DEMO_VIEWS[0]
    text = page.locator("body").inner_text()
    names = {view.note[:60], stories.DEMO_STORY}
    for choice in view.choices:
        spec = choice.provider
        names |= {choice.label, choice.model} | ({spec.label} if spec else set())
    names |= {"retrieval", "WordLlama", "baseline", "Jina"}
    assert [n for n in names if n.casefold() in text.casefold()] == []
    assert page.locator(".js-plotly-plot").count() == 0  # no chart: its colours and headings would tell
    for name in ("A is better", "Tie", "B is better"):
        box = page.get_by_role("button", name=name).bounding_box()
        assert box is not None and box["y"] + box["height"] <= height, f"{name} is below the fold"
    assert page.evaluate(CLIPPED) == []
    screenshot(page, f"present-blind-{width}x{height}", full_page=False)
    before = len(store.preferences())
    rerun_and_wait(page, lambda: page.keyboard.press("b"))
    reveal = page.get_by_text(re.compile(r"^Reveal: A was "))
    box = reveal.bounding_box()
    assert box is not None and box["y"] + box["height"] <= height, "the reveal is below the fold"
    pick = store.preferences()[-1]
    assert len(store.preferences()) == before + 1 and pick.picked == "b"
    assert {pick.a_label, pick.b_label} == {"retrieval", view.choices[0].label}  # the order shown, recorded
    screenshot(page, f"present-blind-reveal-{width}x{height}", full_page=False)


def demo_hits(endpoint: WeaviateEndpoint, request: SearchRequest) -> list[Hit]:
    """The hits the app's own search gives for ``request`` on the demo server (to grade some before presenting)."""
    spec = ConnectionSpec(http_host=endpoint.host, http_port=endpoint.http_port,
                          grpc_port=endpoint.grpc_port, weaviate_api_key=endpoint.api_key)
    pg = Playground(spec, keys=ProviderKeys.of())
    pg.connect()
    try:
        return list(pg.search(request).hits)
    finally:
        pg.shutdown()


def test_a_judged_view_shows_ndcg_with_its_direction_in_view(
    page: Page, app_url: str, store: Store, demo_weaviate: WeaviateEndpoint
) -> None:
    """Grades for the first view's query (the top hit not relevant, the note's passage perfect): the nDCG card
    says before → after with a direction in words, beside the chart, inside 1280x720."""
    view = DEMO_VIEWS[0]
    hits = demo_hits(demo_weaviate, view.request)
    look_for = next(s.look_for for s in SUGGESTED_QUERIES[view.request.collection] if s.query == view.request.query)
    passage = next(h for h in hits if look_for in h.text)
    store.set_grade(view.request.collection, view.request.query, hits[0].uuid, 0)
    store.set_grade(view.request.collection, view.request.query, passage.uuid, 3)
    try:
        page.set_viewport_size({"width": 1280, "height": 720})
        start_presenting(page, app_url)
        found = assert_on_screen(page, 1280, 720, "judged view")
        assert found["overlaps"] == []
        card = page.locator('[class*="st-key-present-numbers-"] [data-testid="stMetric"]').first
        text = card.inner_text()
        assert "ranking quality, top 10 (nDCG@10)" in text and "→" in text
        assert re.search(r"(better|worse|no change)", text), text
        screenshot(page, "present-stage-1280x720-judged", full_page=False)
    finally:
        store.clear_grade(view.request.collection, view.request.query, hits[0].uuid)
        store.clear_grade(view.request.collection, view.request.query, passage.uuid)


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_a_view_with_a_cut_shows_what_it_keeps_in_view(
    page: Page, app_url: str, store: Store, demo_weaviate: WeaviateEndpoint, width: int, height: int
) -> None:
    """Issue 23.3 on stage: a view saved with a cut (top 4) and judged (so five cards: the cut's among them) has
    its "kept 4 of K" card, the greyed labels and the cut's line, all inside the viewport with no overlap."""
    view = replace(DEMO_VIEWS[0], cut=Cut("top_k", 4))
    hits = demo_hits(demo_weaviate, view.request)
    store.set_grade(view.request.collection, view.request.query, hits[0].uuid, 0)
    store.set_grade(view.request.collection, view.request.query, hits[1].uuid, 3)
    store.save_story(stories.Story("Cut on stage", (view,)))
    try:
        page.set_viewport_size({"width": width, "height": height})
        start_presenting(page, app_url, "Cut on stage")
        page.locator(".st-key-viewport-measured").wait_for(state="attached")
        wait_idle(page)
        found = assert_on_screen(page, width, height, "cut view")
        assert page.locator('[class*="st-key-present-numbers-"] [data-testid="stMetricValue"]').count() == 5
        text = main_text(page)
        assert f"kept 4 of {len(hits)}" in text and "kept by the cut (top 4)" in text
        greyed = page.evaluate("""() => [...document.querySelectorAll(
            '[class*="st-key-present-stage-"] g.annotation text')].filter(
            (t) => getComputedStyle(t).fill === 'rgb(158, 158, 158)').map((t) => t.textContent)""")
        ranks = {int(m.group(1)) for t in greyed if (m := re.search(r"#(\d+) [▲▼●]", t))}
        assert ranks == set(range(5, 11)), greyed  # reranked ranks 5..10 of the top 10 shown...
        assert all(re.search(r"#\d+ [▲▼●]|to #|more, to", t) for t in greyed), greyed  # ...and those that left
        assert page.locator('[class*="st-key-present-stage-"] .js-plotly-plot path[style*="106, 27, 154"]').count()
        assert_no_errors(page, "cut view")
        screenshot(page, f"present-cut-{width}x{height}", full_page=False)
        print(f"\n[present cut {width}x{height}] overlaps {len(found['overlaps'])}; lowest chart pixel "
              f"{max(found['chart']['bottom'], found['textBottom']):.0f} of {height}")
    finally:
        store.delete_story("Cut on stage")
        store.clear_grade(view.request.collection, view.request.query, hits[0].uuid)
        store.clear_grade(view.request.collection, view.request.query, hits[1].uuid)
