"""Present mode in the real app: the demo story stepped through by keyboard at 1280x720 and 1920x1080, results in
view after a Search run, a snapshot opened offline, blind A/B picks, a broken step, and no key anywhere.

Prints the time from a key press to the next view shown, with the view prepared ahead and without (for the
issue's closing note; no assertion on it).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from rerank_playground.presentation import stories
from rerank_playground.presentation.stories import Story
from rerank_playground.store import Store, open_store
from testkit.jina_stand_in import TEST_JINA_KEY
from tests.browser.conftest import (
    SCREENSHOTS,
    WATCH_RUNS,
    StreamlitApp,
    assert_no_errors,
    count_finished_runs,
    goto_page,
    main_text,
    open_app,
    rerun_and_wait,
    run_mark,
    screenshot,
    wait_for_run,
    wait_idle,
)

SIZES = [(1280, 720), (1920, 1080)]
DEMO_VIEWS = stories.demo_story(jina_key_present=False).views


@pytest.fixture
def store(streamlit_app: StreamlitApp) -> Iterator[Store]:
    """The app's own store file, with the demo story as ``make demo`` leaves it."""
    with open_store(streamlit_app.env["RERANK_PLAYGROUND_DB"]) as opened:
        if stories.DEMO_STORY in opened.story_names():
            opened.delete_story(stories.DEMO_STORY)
        opened.save_story_if_new(stories.demo_story(jina_key_present=False))
        yield opened


def start_presenting(page: Page, url: str, story: str = stories.DEMO_STORY, *, prefetch: bool = True) -> None:
    open_app(page, url)
    goto_page(page, "Present")
    if story != stories.DEMO_STORY:  # the demo story is the one chosen first
        page.locator('[data-testid="stMain"] [data-testid="stSelectbox"]').first.click()
        rerun_and_wait(page, page.get_by_role("option", name=story).click)
    if not prefetch:
        rerun_and_wait(page, page.get_by_text("Prepare the next view ahead").click)
    rerun_and_wait(page, page.get_by_role("button", name="Present", exact=True).click)
    page.locator(".js-plotly-plot").first.wait_for()


def heading(page: Page) -> str:
    return page.locator('[data-testid="stMain"] h2').first.inner_text().strip()


def wait_next_prepared(page: Page) -> None:
    page.get_by_text(re.compile(r"next view prepared$")).wait_for()
    wait_idle(page)


def step(page: Page, key: str, expected_query: str) -> tuple[float, float]:
    """Press ``key``; seconds until the expected view's heading is shown, and until its chart is drawn and the
    script run is over."""
    mark = run_mark(page)
    started = time.perf_counter()
    page.keyboard.press(key)
    page.locator('[data-testid="stMain"] h2').filter(has_text=expected_query).wait_for()
    shown = time.perf_counter() - started
    wait_for_run(page, mark)  # the DOM watcher alone can miss a run (see count_finished_runs)
    page.locator(".js-plotly-plot .main-svg").first.wait_for()
    return shown, time.perf_counter() - started


def _fmt(timings: list[tuple[float, float]]) -> str:
    shown = sorted(t[0] for t in timings)
    done = sorted(t[1] for t in timings)
    return (f"heading shown {', '.join(f'{t[0]:.2f}' for t in timings)} s (median {shown[len(shown) // 2]:.2f}); "
            f"chart drawn and run over {', '.join(f'{t[1]:.2f}' for t in timings)} s "
            f"(median {done[len(done) // 2]:.2f})")


def assert_in_view(page: Page, height: int) -> None:
    """The three headline numbers and the top of the chart are inside the window, no scrolling."""
    values = page.locator('[data-testid="stMetricValue"]')
    assert values.count() >= 3
    for i in range(3):
        box = values.nth(i).bounding_box()
        assert box is not None and box["y"] + box["height"] <= height, f"headline number {i} is below the fold"
    chart = page.locator(".js-plotly-plot").first.bounding_box()
    assert chart is not None and chart["y"] + min(chart["height"], 300) <= height, "the chart is below the fold"


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_the_demo_story_by_keyboard(page: Page, app_url: str, store: Store, width: int, height: int) -> None:
    page.set_viewport_size({"width": width, "height": height})
    start_presenting(page, app_url)
    assert heading(page) == DEMO_VIEWS[0].request.query
    assert DEMO_VIEWS[0].note[:40] in main_text(page)
    assert_in_view(page, height)
    screenshot(page, f"present-{width}x{height}-view1", full_page=False)
    timings = []
    for number in range(1, len(DEMO_VIEWS)):
        wait_next_prepared(page)
        key = "ArrowRight" if number % 2 else "PageDown"
        timings.append(step(page, key, DEMO_VIEWS[number].request.query))
        assert f"view {number + 1} of {len(DEMO_VIEWS)}" in main_text(page)
        assert_in_view(page, height)
        assert_no_errors(page, f"view {number + 1}")
        screenshot(page, f"present-{width}x{height}-view{number + 1}", full_page=False)
    step(page, "ArrowLeft", DEMO_VIEWS[-2].request.query)
    step(page, "PageUp", DEMO_VIEWS[-3].request.query)
    rerun_and_wait(page, lambda: page.keyboard.press("s"))  # settings, one keystroke away
    assert f"{DEMO_VIEWS[-3].request.collection} · {DEMO_VIEWS[-3].request.mode.value}" in main_text(page)
    screenshot(page, f"present-{width}x{height}-settings", full_page=False)
    print(f"\n[present {width}x{height}] key press -> next view, prepared ahead: {_fmt(timings)}")


def test_key_press_to_next_view_with_and_without_prefetch(page: Page, browser: Browser, app_url: str,
                                                         store: Store) -> None:
    """Each measured in its own session (its own caches): the same four steps, prepared ahead or not."""
    page.set_viewport_size({"width": 1280, "height": 720})
    start_presenting(page, app_url)
    ahead = []
    for number in range(1, 5):
        wait_next_prepared(page)
        ahead.append(step(page, "ArrowRight", DEMO_VIEWS[number].request.query))
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.add_init_script(WATCH_RUNS)
    try:
        cold = context.new_page()
        count_finished_runs(cold)
        start_presenting(cold, app_url, prefetch=False)
        assert "next view not prepared ahead" in main_text(cold)
        without = [step(cold, "ArrowRight", DEMO_VIEWS[n].request.query) for n in range(1, 5)]
    finally:
        context.close()
    print(f"\n[present 1280x720] key press -> next view, prepared ahead: {_fmt(ahead)}")
    print(f"[present 1280x720] key press -> next view, not prepared ahead: {_fmt(without)}")


def test_search_results_are_in_view_after_a_run(page: Page, app_url: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 720})
    open_app(page, app_url)
    rerun_and_wait(page, page.get_by_role("button", name="Search & rerank").click)
    page.locator(".js-plotly-plot").first.wait_for()
    assert page.get_by_text(re.compile(r"^Settings \(")).is_visible()  # the form folded to one line
    assert page.get_by_text(re.compile(r"^Shown: DemoWiki · ")).is_visible()  # ... and the run says what it is
    values = page.locator('[data-testid="stMetricValue"]')
    box = values.first.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 720
    chart = page.locator(".js-plotly-plot").first.bounding_box()
    assert chart is not None and chart["y"] + 150 <= 720
    screenshot(page, "search-results-in-view-1280x720", full_page=False)
    # One click opens the settings again, with every input where it was.
    page.get_by_text(re.compile(r"^Settings \(")).click()
    page.get_by_label("Query").wait_for()
    assert page.get_by_label("Query").input_value() == DEMO_VIEWS[0].request.query


def test_add_a_search_view_to_a_new_story(page: Page, app_url: str, store: Store) -> None:
    page.set_viewport_size({"width": 1280, "height": 720})
    open_app(page, app_url)
    rerun_and_wait(page, page.get_by_role("button", name="Search & rerank").click)
    page.get_by_role("button", name="Add to story").click()
    popover = page.locator('[data-testid="stPopoverBody"]')
    popover.locator('[data-testid="stSelectbox"]').click()
    rerun_and_wait(page, page.get_by_role("option", name=re.compile("New story")).click)
    popover.get_by_label("New story name").fill("From search")
    rerun_and_wait(page, lambda: popover.get_by_label("New story name").press("Enter"))
    rerun_and_wait(page, popover.get_by_role("button", name="Add this view").click)
    assert "Added as view 1 of “From search”" in popover.inner_text()
    saved = store.load_story("From search")
    assert [(v.request.query, v.choices, v.top_n) for v in saved.views] == [
        (DEMO_VIEWS[0].request.query, DEMO_VIEWS[0].choices, 10)
    ]
    assert saved.views[0].note == DEMO_VIEWS[0].note  # the suggested query's "what to look for"
    store.delete_story("From search")


def test_story_snapshot_opens_offline_with_charts_and_no_key(
    page: Page, browser: Browser, app_url: str, store: Store, tmp_path: Path
) -> None:
    open_app(page, app_url)
    key_box = page.locator('input[aria-label="Jina API key"]')
    key_box.fill(TEST_JINA_KEY)  # a key typed in this session: it must not reach any file
    rerun_and_wait(page, page.get_by_role("button", name="Use this key").click)
    goto_page(page, "Present")
    page.get_by_text("Rename, delete, export, snapshot").click()
    prepare = page.get_by_role("button", name="Prepare a snapshot of the whole story (HTML)")
    prepare.wait_for()
    wait_idle(page)
    prepare.click()
    page.get_by_role("button", name="Snapshot of the whole story (HTML)", exact=True).wait_for(timeout=240_000)
    wait_idle(page)
    with page.expect_download() as html_download:
        page.get_by_role("button", name="Snapshot of the whole story (HTML)", exact=True).click()
    snapshot = tmp_path / "story.html"
    html_download.value.save_as(snapshot)
    with page.expect_download() as json_download:
        page.get_by_role("button", name="Export story (JSON)").click()
    exported = tmp_path / "story.json"
    json_download.value.save_as(exported)
    for path in (snapshot, exported):
        assert TEST_JINA_KEY not in path.read_text(encoding="utf-8")
    assert stories.story_from_json(exported.read_text(encoding="utf-8")) == store.load_story(stories.DEMO_STORY)
    offline = browser.new_context(viewport={"width": 1280, "height": 900}, offline=True)
    try:
        viewer = offline.new_page()
        viewer.goto(snapshot.as_uri())
        viewer.wait_for_function(
            f"() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= {len(DEMO_VIEWS)}"
        )
        assert viewer.locator("h2").count() == len(DEMO_VIEWS)
        viewer.screenshot(path=str(SCREENSHOTS / "snapshot-offline.png"))
    finally:
        offline.close()


def test_blind_pick_is_stored_and_revealed(page: Page, app_url: str, store: Store) -> None:
    start_presenting(page, app_url)
    wait_next_prepared(page)  # no poll of the next view's state is running: the next run is the key press's
    rerun_and_wait(page, lambda: page.keyboard.press("v"))
    page.get_by_text("Which list answers the query better?").wait_for()
    assert "Which list answers the query better?" in main_text(page)
    assert "retrieval" not in main_text(page).split("Which list answers")[1].split("A is better")[0]
    screenshot(page, "present-blind-ab", full_page=False)
    before = len(store.preferences())
    rerun_and_wait(page, lambda: page.keyboard.press("a"))
    reveal = page.get_by_text(re.compile(r"^Reveal: A was ")).inner_text()
    saved = store.preferences()
    assert len(saved) == before + 1
    pick = saved[-1]
    assert pick.picked == "a" and pick.story == stories.DEMO_STORY
    assert pick.query == DEMO_VIEWS[0].request.query.casefold()
    assert reveal == f"Reveal: A was {pick.a_label}, B was {pick.b_label}. The room preferred {pick.a_label}."
    assert {pick.a_label, pick.b_label} == {"retrieval", "local baseline (WordLlama)"}


def test_a_broken_step_does_not_stop_the_story(page: Page, app_url: str, store: Store) -> None:
    good, other = DEMO_VIEWS[0], DEMO_VIEWS[4]
    gone = replace(good, request=replace(good.request, collection="GoneCollection"), title="A deleted collection")
    store.save_story(Story("Broken middle", (good, gone, other)))
    start_presenting(page, app_url, "Broken middle")
    page.evaluate("() => { window.__stRuns = 0; }")
    page.keyboard.press("ArrowRight")
    page.locator('[data-testid="stMain"] h2').filter(has_text="A deleted collection").wait_for()
    wait_idle(page)
    text = main_text(page)
    assert "The search did not run:" in text and "GoneCollection" in text
    assert_no_errors(page, "broken step")
    screenshot(page, "present-broken-step", full_page=False)
    step(page, "ArrowRight", other.request.query)
    assert_no_errors(page, "after the broken step")

