"""Issue 20.1 and 19.3/19.4 in a real browser: on Search and Compare a click reruns the results, not the page;
the answer (headline numbers and the first chart) is in the first screen; the first grade moves nothing; the
line that describes the results is the run's own; no visible text is clipped.

"The results, not the page" is read from the websocket: every element the server sends carries the id of the
fragment that drew it, and an element drawn by the page itself (the title, the inputs, the sidebar) has none.
A click that reran only the results sends no element without a fragment id.

The first chart on Search is the stage chart (issue 19.1/19.3): its whole figure and the headline cards are
inside the viewport after a click, and no two of its labels overlap, in the top-N and the full-K views.

Screenshots: ``artifacts/screenshots/answer-*.png`` and ``search-stage-*.png`` at 1280x720 and 1920x1080.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from components.fold import settings_summary
from rerank_playground.demo.suggestions import SUGGESTED_QUERIES
from rerank_playground.evaluation.judgments import normalise_query
from rerank_playground.models import SearchMode, SearchRequest
from rerank_playground.rerankers.choice import RerankChoice
from rerank_playground.store import open_store
from testkit.jina_stand_in import TEST_JINA_KEY
from tests.browser.conftest import StreamlitApp, assert_no_errors, open_app, rerun_and_wait, screenshot, wait_idle
from tests.browser.test_newcomer_path import click_segment, open_settings, sidebar
from tests.browser.test_present_stage import MEASURE_CHART

pytestmark = pytest.mark.browser

SIZES = {"1280x720": (1280, 720), "1920x1080": (1920, 1080)}
# Present's measurement (every annotation's box, the overlapping pairs, the chart's and its texts' extent), on
# Search's stage chart.
MEASURE_STAGE = MEASURE_CHART.replace('[class*="st-key-present-stage-"]', ".st-key-search-stage")
assert MEASURE_STAGE != MEASURE_CHART
MEASURE_COMPARE_STAGE = MEASURE_CHART.replace('[class*="st-key-present-stage-"]', ".st-key-compare-stage")


@dataclass
class Frames:
    """Elements the server sent since :meth:`reset`: drawn by the page itself vs inside a fragment."""

    page_elements: int = 0
    fragment_elements: int = 0
    finished: int = 0
    seen: list[str] = field(default_factory=list)
    fragments: set[str] = field(default_factory=set)  # ids of the fragments that drew them

    def reset(self) -> None:
        self.page_elements = self.fragment_elements = self.finished = 0
        self.fragments = set()


def watch(page: Page) -> Frames:
    frames = Frames()

    def on_frame(payload: str | bytes) -> None:
        if not isinstance(payload, bytes):
            return
        with contextlib.suppress(Exception):  # not every frame need be a ForwardMsg
            msg = ForwardMsg.FromString(payload)
            kind = msg.WhichOneof("type")
            if kind == "script_finished":
                frames.finished += 1
            elif kind == "delta" and msg.delta.WhichOneof("type") in ("new_element", "add_block"):
                if msg.delta.fragment_id:
                    frames.fragment_elements += 1
                    frames.fragments.add(msg.delta.fragment_id)
                else:
                    frames.page_elements += 1

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    return frames


def main(page: Page) -> Locator:
    return page.locator('[data-testid="stMain"]')


@contextlib.contextmanager
def only_the_results_rerun(page: Page, frames: Frames, what: str) -> Iterator[None]:
    page.evaluate("() => 0")  # a round trip: frames of earlier runs are counted before the reset
    frames.reset()
    yield
    page.evaluate("() => 0")
    assert frames.finished >= 1, f"{what}: no script run finished"
    assert frames.fragment_elements > 0, f"{what}: the results were not redrawn"
    assert frames.page_elements == 0, f"{what}: the page outside the results ran ({frames.page_elements} elements)"


def box_inside(page: Page, locator: Locator, height: int, what: str) -> dict[str, float]:
    box = locator.bounding_box()
    assert box is not None, f"{what}: not drawn"
    assert box["y"] >= 0 and box["y"] + box["height"] <= height, f"{what}: {box} is not inside the {height} px screen"
    return box


JS_CLIPPED = """() => {
  const out = [];
  for (const el of document.querySelectorAll('[data-testid="stMain"] *')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.closest('.js-plotly-plot, [data-testid="stDataFrame"], [data-testid="stCode"]')) continue;
    if (el.closest('[data-testid="stIconMaterial"], [aria-hidden="true"]')) continue;  // an icon's ligature
    const box = el.getBoundingClientRect();
    if (box.width <= 2 || box.height <= 2) continue;  // not drawn, or visually hidden text for screen readers
    if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0) out.push(el.textContent.trim().slice(0, 80));
  }
  return out;
}"""


def clipped_text(page: Page) -> list[str]:
    """Visible text whose element is narrower than the text (scrollWidth > clientWidth): cut off or ellipsed."""
    return page.evaluate(JS_CLIPPED)


def shown_line(page: Page) -> str:
    return main(page).get_by_text(re.compile(r"^Shown: ")).inner_text().removeprefix("Shown: ").strip()


def expected_summary(page: Page) -> str:
    """The summary of the run that the URL describes (the app writes its inputs there before running)."""
    params = {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}
    mode = SearchMode(params["mode"])
    request = SearchRequest(params["collection"], params["query"], mode=mode, limit=int(params["k"]),
                            alpha=float(params.get("alpha", 0.5)))
    return settings_summary(request, [RerankChoice(params["reranker"], params["model"])], int(params["n"]))


def open_list(page: Page, select: Locator) -> None:
    """Open a selectbox's list. Under heavy load the first click sometimes leaves it closed: the list showing
    is what the click must cause, so wait for that, and click again (after Escape) when it did not happen."""
    for attempt in range(3):
        select.locator('[role="combobox"], input').first.click()
        try:
            page.get_by_role("option").first.wait_for(state="visible", timeout=20_000)
            return
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")


def stage_on_screen(page: Page, width: int, height: int, where: str, prefix: str = "search") -> dict[str, Any]:
    """The stage chart's labels, figure and texts measured in the page: no overlapping labels, all inside the
    viewport and inside the figure. ``prefix``: the page's ("search" or "compare")."""
    page.locator(f".st-key-{prefix}-stage .js-plotly-plot g.annotation").first.wait_for()
    found: dict[str, Any] | None = page.evaluate(MEASURE_STAGE if prefix == "search" else MEASURE_COMPARE_STAGE)
    assert found is not None, f"{where}: no stage chart"
    assert found["labels"] >= 10, f"{where}: only {found['labels']} labels"
    assert found["overlaps"] == [], f"{where}: labels overlap: {found['overlaps']}"
    chart = found["chart"]
    assert chart["top"] >= 0 and chart["bottom"] <= height and chart["right"] <= width, f"{where}: chart {chart}"
    assert chart["top"] - 1 <= found["textTop"] and found["textBottom"] <= chart["bottom"] + 1, f"{where}: {found}"
    assert chart["left"] - 1 <= found["textLeft"] and found["textRight"] <= chart["right"] + 1, f"{where}: {found}"
    return found


def run_search(page: Page, frames: Frames | None = None) -> None:
    button = main(page).get_by_role("button", name="Search & rerank", exact=True)
    if frames is None:
        rerun_and_wait(page, button.click)
    else:
        with only_the_results_rerun(page, frames, "the run button"):
            rerun_and_wait(page, button.click)
    main(page).locator(".js-plotly-plot").first.wait_for()


@pytest.mark.parametrize("size", list(SIZES))
def test_search_answer_first_and_only_the_results_rerun(page: Page, app_url: str, size: str) -> None:
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    frames = watch(page)
    open_app(page, app_url)
    page.locator(".st-key-viewport-measured").wait_for(state="attached")  # the chart is drawn to this size
    wait_idle(page)
    run_search(page)  # the first run also folds the inputs (a page run)
    assert_no_errors(page, "search")

    # The answer first: the headline numbers (nDCG retrieval -> reranked among them) and the whole stage chart.
    metrics = main(page).locator('[data-testid="stMetric"]')
    expect(metrics.filter(has_text="nDCG@10 · reranked")).to_have_count(1)
    for i in range(4):
        box_inside(page, metrics.nth(i), height, f"headline number {i + 1}")
    found = stage_on_screen(page, width, height, f"search {size}, top N")
    print(f"\n[{size}] stage chart top {found['chart']['top']:.0f} px, lowest pixel {found['chart']['bottom']:.0f} px "
          f"(text {found['textBottom']:.0f} px) of {height}; {found['labels']} labels, "
          f"{len(found['overlaps'])} overlapping pairs; smallest chart font {found['minFont']:.0f} px")
    screenshot(page, f"answer-search-{size}", full_page=False)
    screenshot(page, f"search-stage-{size}", full_page=False)
    # Read from the back of the room: no chart text under 18 px at 1280x720, and the type grows with the screen.
    assert found["minFont"] >= 18, f"chart text of {found['minFont']} px"
    if width >= 1920:
        assert found["minFont"] >= 24, f"the type does not grow with the screen: {found['minFont']} px"
    # The headline numbers stand beside the chart, not above it: both start in the same band of the screen.
    numbers = box_inside(page, main(page).locator(".st-key-search-numbers"), height, "the headline numbers")
    assert numbers["x"] >= found["chart"]["right"] - 1, f"the numbers overlap the chart: {numbers} {found}"
    assert clipped_text(page) == []
    # The full-K log view, one click away: labels still never overlap, the chart still on screen.
    rerun_and_wait(page, main(page).get_by_role("radio", name="All K (log scale)").click)
    expect(main(page).locator(".st-key-search-stage .js-plotly-plot")).to_have_count(1)
    found = stage_on_screen(page, width, height, f"search {size}, all K")
    print(f"[{size}] full view: lowest pixel {found['chart']['bottom']:.0f} px of {height}; "
          f"{len(found['overlaps'])} overlapping pairs; smallest chart font {found['minFont']:.0f} px")
    assert found["minFont"] >= 18, f"full view: chart text of {found['minFont']} px"
    screenshot(page, f"search-stage-full-{size}", full_page=False)
    rerun_and_wait(page, main(page).get_by_role("radio", name="Rank movement · top N").click)

    # The same inputs again: only the results rerun (served from the session's cache).
    run_search(page, frames)
    results_and_chart = set(frames.fragments)  # the results fragment and the chart's, drawn inside it
    # A chart switch: only the chart's own fragment (inside the results), and only the chart in view is on the page.
    with only_the_results_rerun(page, frames, "the chart switch"):
        rerun_and_wait(page, main(page).get_by_role("radio", name="How far each document moved").click)
    assert len(frames.fragments) == 1 and frames.fragments < results_and_chart, (frames.fragments, results_and_chart)
    expect(main(page).locator(".js-plotly-plot")).to_have_count(1)
    expect(main(page).locator(".js-plotly-plot").first).to_contain_text("How far each document moved")
    # A document pick in the reader: only the results (the reader is a fragment inside them).
    with only_the_results_rerun(page, frames, "a document pick"):
        open_list(page, main(page).locator('[data-testid="stSelectbox"]').filter(has_text="Document (reranked top N)"))
        rerun_and_wait(page, page.get_by_role("option").nth(2).click)
    assert_no_errors(page, "search after the reruns")


def test_search_first_grade_moves_nothing(page: Page, streamlit_app: StreamlitApp) -> None:
    query = normalise_query(SUGGESTED_QUERIES["DemoWiki"][0].query)
    with open_store(streamlit_app.env["RERANK_PLAYGROUND_DB"]) as store:  # shared by the session's tests
        assert store.grades("DemoWiki", query) == {}, "an earlier test left grades on this query in the store"
    try:
        _first_grade_moves_nothing(page, streamlit_app.url)
    finally:  # leave this query unjudged, as found
        with open_store(streamlit_app.env["RERANK_PLAYGROUND_DB"]) as store:
            for doc in store.grades("DemoWiki", query):
                store.clear_grade("DemoWiki", query, doc)


def _first_grade_moves_nothing(page: Page, app_url: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 720})
    frames = watch(page)
    open_app(page, app_url)
    expect(main(page).get_by_role("textbox", name="Query", exact=True)).to_have_value(
        SUGGESTED_QUERIES["DemoWiki"][0].query, timeout=20_000)
    run_search(page)
    heading = main(page).get_by_text(re.compile(r"^Before: retrieval order"))
    grid = main(page).locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    before = (heading.bounding_box(), grid.bounding_box())
    assert before[0] is not None and before[1] is not None
    card = main(page).locator('[data-testid="stMetric"]').filter(has_text="nDCG@10 · reranked")
    assert card.locator('[data-testid="stMetricValue"]').inner_text().strip() == "—"
    box = before[1]
    page.mouse.dblclick(box["x"] + 48 + 50, box["y"] + 35 + 35 + 17)  # row 2's grade cell (see test_judging)
    option = page.get_by_text("◆ 3 perfect", exact=True).last
    expect(option).to_be_visible()
    with only_the_results_rerun(page, frames, "a grade"):
        rerun_and_wait(page, option.click)
    expect(main(page).get_by_text("judged@10 = 1/10").first).to_be_attached()
    after = (heading.bounding_box(), grid.bounding_box())
    assert after[0] is not None and after[1] is not None
    assert abs(after[0]["y"] - before[0]["y"]) <= 1 and abs(after[1]["y"] - before[1]["y"]) <= 1, (before, after)
    assert re.fullmatch(r"\d\.\d{3}", card.locator('[data-testid="stMetricValue"]').inner_text().strip())
    screenshot(page, "answer-search-graded-1280x720", full_page=False)
    # Back at the top: the graded numbers (a delta under the nDCG) still stand beside the chart, inside the screen.
    page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollTo(0, 0)")
    found = stage_on_screen(page, 1280, 720, "search after a grade")
    numbers = box_inside(page, main(page).locator(".st-key-search-numbers"), 720, "the graded headline numbers")
    assert numbers["y"] + numbers["height"] <= found["chart"]["bottom"] + 1, (numbers, found["chart"])
    assert found["minFont"] >= 18
    screenshot(page, "search-stage-graded-1280x720", full_page=False)
    assert_no_errors(page, "search after a grade")


def test_the_shown_line_is_the_run_on_screen(page: Page, app_url: str) -> None:
    """After a keyword, a vector and a hybrid run in turn, the line describing the results is that run's."""
    page.set_viewport_size({"width": 1280, "height": 720})
    open_app(page, app_url)
    run_search(page)
    for mode in ("Keyword", "Vector", "Hybrid"):
        click_segment(page, "Search mode", mode)
        open_settings(page)
        run_search(page)
        assert shown_line(page) == expected_summary(page), mode
        assert f" · {mode.lower()}" in shown_line(page)
        assert ("α" in shown_line(page)) == (mode == "Hybrid")
    assert clipped_text(page) == []


@pytest.mark.parametrize("size", list(SIZES))
def test_compare_answer_first_and_only_the_results_rerun(page: Page, app_url: str, size: str) -> None:
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    frames = watch(page)
    open_app(page, app_url)
    # With a Jina key (for this browser session only) Compare runs several models, so the stage chart's model
    # can be picked.
    key_field = sidebar(page).get_by_role("textbox", name="Jina API key", exact=True)
    key_field.fill(TEST_JINA_KEY)
    rerun_and_wait(page, sidebar(page).get_by_role("button", name="Use this key").click)
    expect(sidebar(page).get_by_text("Jina API reranking: ready (key set)")).to_be_visible()
    link = page.locator('[data-testid="stSidebarNav"] a').filter(has_text=re.compile(r"^\s*Compare models\s*$"))
    rerun_and_wait(page, link.first.click)
    button = main(page).get_by_role("button", name="Compare models", exact=True)
    rerun_and_wait(page, button.click)
    # The first chart is the stage chart of retrieval vs the first model that ran, with its numbers beside it.
    found = stage_on_screen(page, width, height, f"compare {size}, top N", prefix="compare")
    print(f"\n[compare {size}] stage chart top {found['chart']['top']:.0f} px, lowest pixel "
          f"{found['chart']['bottom']:.0f} px (text {found['textBottom']:.0f} px) of {height}; {found['labels']} "
          f"labels, {len(found['overlaps'])} overlapping pairs; smallest chart font {found['minFont']:.0f} px")
    numbers = box_inside(page, main(page).locator(".st-key-compare-numbers"), height, "the headline numbers")
    assert numbers["x"] >= found["chart"]["right"] - 1, f"the numbers overlap the chart: {numbers} {found}"
    cards = main(page).locator('.st-key-compare-numbers [data-testid="stMetric"]')
    expect(cards.filter(has_text=re.compile(r"^nDCG@10 of "))).to_have_count(1)  # the card is there before grades
    for i in range(cards.count()):
        box_inside(page, cards.nth(i), height, f"compare headline number {i + 1}")
    assert found["minFont"] >= 18, f"compare chart text of {found['minFont']} px"
    if width >= 1920:
        assert found["minFont"] >= 24, f"the type does not grow with the screen: {found['minFont']} px"
    assert shown_line(page).startswith("DemoWiki · ")
    screenshot(page, f"answer-compare-{size}", full_page=False)
    screenshot(page, f"compare-stage-{size}", full_page=False)
    assert clipped_text(page) == []
    # Another model on the chart: one pick in the small selector beside the switch; only the results rerun.
    picker = main(page).locator(".st-key-compare-model-picker")
    first_model = picker.get_by_role("combobox").input_value().removeprefix("retrieval vs ")
    assert first_model == "local baseline (WordLlama)", first_model  # the first model that ran
    with only_the_results_rerun(page, frames, "the model picker"):
        open_list(page, picker)
        options = page.get_by_role("option")
        rerun_and_wait(page, options.filter(has_text="jina-reranker-v3.5").first.click)
    after = picker.get_by_role("combobox").input_value().removeprefix("retrieval vs ")
    assert after == "jina-reranker-v3.5", after
    heading = main(page).locator(".st-key-compare-stage g.annotation").filter(has_text="jina-reranker-v3.5")
    expect(heading).to_have_count(1)  # the right-hand column's heading, whole
    expect(cards.filter(has_text="nDCG@10 of jina-reranker-v3.5")).to_have_count(1)  # the numbers follow the pick
    found = stage_on_screen(page, width, height, f"compare {size}, {after}", prefix="compare")
    assert found["minFont"] >= 18
    screenshot(page, f"compare-stage-model2-{size}", full_page=False)
    # The bump chart of every ordering, one option away.
    with only_the_results_rerun(page, frames, "Compare's chart switch"):
        rerun_and_wait(page, main(page).get_by_role("radio", name="Every model (bump chart)").click)
    expect(main(page).locator(".js-plotly-plot")).to_have_count(1)
    expect(main(page).locator(".js-plotly-plot").first).to_contain_text("Rank of each document under each model")
    rerun_and_wait(page, main(page).get_by_role("radio", name="Rank movement · top N").click)
    stage_on_screen(page, width, height, f"compare {size}, back to the stage chart", prefix="compare")
    with only_the_results_rerun(page, frames, "Compare's run button"):
        rerun_and_wait(page, button.click)
    main(page).locator(".st-key-compare-stage .js-plotly-plot").wait_for()
    assert clipped_text(page) == []
    assert_no_errors(page, "compare")
