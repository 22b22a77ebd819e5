"""Issue 19 in a real browser, for the Runs and the Judge page at 1280×720 and 1920×1080: no visible text is clipped
(every text element's ``scrollWidth <= clientWidth``, measured in the page), every plotly chart title and axis title
on the Runs page lies inside its chart, and on the Judge page the grade buttons and the start of the document are in
the first screen, and a grade is confirmed ("✓ Saved: ■ 2 relevant for document 1 of N") without moving them.

The run on the Runs page is the demo's judged set run from the Evaluate page with no key (as a newcomer does).
Screenshots: ``artifacts/screenshots/legible-runs-<size>.png``, ``legible-runs-full-<size>.png``,
``legible-judge-<size>.png``, ``legible-judge-saved-<size>.png``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from rerank_playground.demo.datasets import DEMO_WIKI
from rerank_playground.demo.suggestions import SUGGESTED_QUERIES
from rerank_playground.evaluation.demo_sets import demo_set_name, load_demo_query_sets
from rerank_playground.store import open_store
from testkit.jina_stand_in import JinaStandIn
from tests.browser.conftest import (
    StreamlitApp,
    assert_no_errors,
    goto_page,
    open_app,
    rerun_and_wait,
    screenshot,
    start_streamlit,
    stop_streamlit,
    wait_idle,
)
from tests.browser.test_newcomer_path import choose_option
from weaviate_local.server import WeaviateEndpoint

pytestmark = pytest.mark.browser

SIZES: dict[str, ViewportSize] = {
    "1280x720": {"width": 1280, "height": 720}, "1920x1080": {"width": 1920, "height": 1080},
}

# Every visible element that holds text of its own (a non-blank text node child) and is laid out as a box: its
# content must fit its box. Elements that scroll on purpose (overflow auto/scroll: code blocks, table frames) show
# all their text by scrolling and are not clipped; boxes of 1 px are visually hidden text for screen readers;
# inline elements have no box of their own (their block parent is
# measured). SVG text is the charts' (measured by CHART_TEXT).
CLIPPED_TEXT = """(root) => {
  const clipped = [];
  let measured = 0;
  for (const el of document.querySelector(root).querySelectorAll('*')) {
    if (el.closest('svg')) continue;
    const field = el.tagName === 'INPUT' && ['text', 'search', ''].includes(el.getAttribute('type') ?? '')
        && el.value.trim() !== '';  // a chosen option or typed value: cut off when wider than its box
    const own = field
        || [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim() !== '');
    if (!own) continue;
    const style = getComputedStyle(el);
    if (style.display === 'inline' || style.display === 'contents' || style.visibility === 'hidden') continue;
    const box = el.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1) continue;  // visually hidden (e.g. the skip link for screen readers)
    if (!field && ['auto', 'scroll'].includes(style.overflowX)) continue;
    measured++;
    if (el.scrollWidth > el.clientWidth + 1) {
      clipped.push(`<${el.tagName.toLowerCase()} data-testid=${el.closest('[data-testid]')?.dataset.testid}> `
        + `"${(field ? el.value : el.textContent).trim().slice(0, 60)}" `
        + `needs ${el.scrollWidth}px, has ${el.clientWidth}px`);
    }
  }
  return {measured, clipped};
}"""

CHART_TEXT = """() => {
  const inside = (box, frame) => box.left >= frame.left - 0.5 && box.right <= frame.right + 0.5
      && box.top >= frame.top - 0.5 && box.bottom <= frame.bottom + 0.5;
  const problems = [];
  let titles = 0;
  const charts = [...document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')];
  for (const [i, chart] of charts.entries()) {
    const frame = chart.querySelector('svg.main-svg').getBoundingClientRect();
    const name = chart.querySelector('.gtitle')?.textContent.slice(0, 40) ?? `chart ${i}`;
    for (const t of chart.querySelectorAll('.gtitle, .g-xtitle text, .g-ytitle text, .g-y2title text')) {
      const box = t.getBoundingClientRect();
      if (box.width === 0) continue;
      titles++;
      if (!inside(box, frame)) problems.push(`${name}: "${t.textContent.slice(0, 50)}" leaves the chart`);
    }
  }
  return {charts: charts.length, titles, problems};
}"""

# After a viewport change every chart has been laid out again at its container's width.
CHARTS_SETTLED = """() => [...document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')].every((c) => {
  const svg = c.querySelector('svg.main-svg');
  return svg && Math.abs(svg.getBoundingClientRect().width - c.getBoundingClientRect().width) <= 2;
})"""


def resize(page: Page, size: str) -> None:
    page.set_viewport_size(SIZES[size])
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.wait_for_function(CHARTS_SETTLED)


def clipped_text(page: Page, where: str, problems: list[str]) -> int:
    """Add the page's clipped text elements to ``problems`` (all pages and sizes are reported together)."""
    result: dict[str, Any] = page.evaluate(CLIPPED_TEXT, '[data-testid="stApp"]')
    assert result["measured"] > 20, f"{where}: too few text elements measured ({result['measured']})"
    problems.extend(f"{where}: clipped {c}" for c in result["clipped"])
    return int(result["measured"])


def box(page: Page, locator: Any) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None
    return found


def run_the_demo_set(page: Page, app: StreamlitApp) -> None:
    with open_store(app.env["RERANK_PLAYGROUND_DB"]) as store:
        load_demo_query_sets(store)  # what `make demo` does
    goto_page(page, "Evaluate")
    choose_option(page, "Query set", demo_set_name(DEMO_WIKI.name))
    rerun_and_wait(page, page.get_by_role("button", name="Start run").click)
    page.get_by_role("button", name="Open the results").wait_for(timeout=240_000)
    wait_idle(page)
    rerun_and_wait(page, page.get_by_role("button", name="Open the results").click)
    page.locator('[data-testid="stMain"] .js-plotly-plot').first.wait_for()


def test_runs_and_judge_pages_show_all_their_text(
    page: Page, demo_weaviate: WeaviateEndpoint, jina_server: JinaStandIn, tmp_path: Path
) -> None:
    # Its own app and store: the run and the grade given here stay out of the session app other tests count on.
    app = start_streamlit(tmp_path / "app", demo_weaviate, jina_server, tmp_path / "store.sqlite3")
    try:
        check_runs_and_judge(page, app)
    finally:
        stop_streamlit(app)


def check_runs_and_judge(page: Page, app: StreamlitApp) -> None:
    open_app(page, app.url)
    run_the_demo_set(page, app)
    main = page.locator('[data-testid="stMain"]')
    problems: list[str] = []
    for size in SIZES:
        resize(page, size)
        measured = clipped_text(page, f"runs page at {size}", problems)
        charts = page.evaluate(CHART_TEXT)
        screenshot(page, f"legible-runs-{size}", full_page=False)
        screenshot(page, f"legible-runs-full-{size}")
        print(f"\nruns page {size}: {measured} text elements, {charts['charts']} charts, {charts['titles']} titles")
        assert charts["charts"] >= 4 and charts["titles"] >= 2 * charts["charts"]  # a title and an axis title each
        problems.extend(f"runs page at {size}: {p}" for p in charts["problems"])
    assert_no_errors(page, "runs page")

    # A search to judge, then the Judge page.
    goto_page(page, "Search & Rerank")
    query = SUGGESTED_QUERIES["DemoWiki"][0].query
    expect(main.get_by_role("textbox", name="Query", exact=True)).to_have_value(query, timeout=20_000)
    rerun_and_wait(page, main.get_by_role("button", name="Search & rerank", exact=True).click)
    page.wait_for_selector('[data-testid="stMain"] .js-plotly-plot')
    goto_page(page, "Judge")
    expect(page.get_by_role("heading", name="Judge", exact=True)).to_be_visible()
    page.evaluate("() => document.activeElement && document.activeElement.blur()")  # keys go to the page
    pool = int(main.get_by_text(re.compile(r"^Judged \d+ of \d+$")).inner_text().split(" of ")[1])
    grade_2 = main.get_by_role("button", name=re.compile(r"^■ relevant"))
    document = main.locator('[data-testid="stText"]').first
    hint = main.get_by_text("Press 0–3 to grade the document below (saved at once), ← → to step", exact=True)
    for i, size in enumerate(SIZES):
        resize(page, size)
        height = SIZES[size]["height"]
        if i == 0:
            expect(hint).to_be_visible()
        clipped_text(page, f"judge page at {size}", problems)
        screenshot(page, f"legible-judge-{size}", full_page=False)
        buttons, text = box(page, grade_2), box(page, document)
        print(f"judge page {size}: grade buttons end at y={buttons['y'] + buttons['height']:.0f}, "
              f"the document starts at y={text['y']:.0f} (viewport height {height})")
        assert buttons["y"] + buttons["height"] <= height  # the grade buttons in the first screen
        assert text["y"] + 3 * 20 <= height  # the document's first lines too
        if i == 0:  # one grade: confirmed in place of the hint, nothing moves
            rerun_and_wait(page, lambda: page.keyboard.press("2"))
            saved = main.get_by_text(f"✓ Saved: ■ 2 relevant for document 1 of {pool}", exact=True)
            expect(saved).to_be_visible()
            expect(hint).to_have_count(0)
            assert box(page, grade_2)["y"] == buttons["y"] and box(page, document)["y"] == text["y"]
            clipped_text(page, f"judge page after a grade at {size}", problems)
            screenshot(page, f"legible-judge-saved-{size}", full_page=False)
    assert_no_errors(page, "judge page")
    assert problems == [], "\n".join(problems)
