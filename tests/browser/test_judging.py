"""Issue 13's done-when, in a real browser: on the demo data with no key, run a suggested query, grade its
results in the Judge view with the keyboard, see nDCG@10 of the retrieval order against the local baseline,
and find the judgments still there after the app restarts (a new streamlit process on the same store file).

The test starts its own app on a temporary store file, so the restart is a real one. It prints how long
judging 20 documents by keyboard took (for the issue's closing note; no assertion on time). Screenshots at
1280x720 and 1920x1080: ``artifacts/screenshots/judge-*.png``.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from rerank_playground.demo.suggestions import SUGGESTED_QUERIES
from rerank_playground.evaluation.judgments import normalise_query
from rerank_playground.evaluation.metrics import query_metrics
from rerank_playground.store import open_store
from testkit.jina_stand_in import JinaStandIn
from tests.browser.conftest import (
    VIEWPORT,
    StreamlitApp,
    assert_no_errors,
    goto_page,
    open_app,
    rerun_and_wait,
    resize,
    screenshot,
    start_streamlit,
    stop_streamlit,
)
from weaviate_local.server import WeaviateEndpoint

pytestmark = pytest.mark.browser

QUERY = SUGGESTED_QUERIES["DemoWiki"][0].query
TO_JUDGE = 20
GRADES = [2, 0, 3, 1, 0]  # the keys pressed, in turn: a judge's mix of relevant and not
SIZES = {"1280x720": {"width": 1280, "height": 720}, "1920x1080": {"width": 1920, "height": 1080}}
RETRIEVAL_CARD = "nDCG@10 · retrieval order (hybrid search)"
BASELINE_CARD = "nDCG@10 · local baseline (WordLlama)"


def main(page: Page) -> Locator:
    return page.locator('[data-testid="stMain"]')


def run_search(page: Page) -> None:
    expect(main(page).get_by_role("textbox", name="Query", exact=True)).to_have_value(QUERY, timeout=20_000)
    rerun_and_wait(page, main(page).get_by_role("button", name="Search & rerank", exact=True).click)
    page.wait_for_selector('[data-testid="stMain"] .js-plotly-plot')


def metric(page: Page, label: str) -> str:
    """The value of the metric card labelled ``label``."""
    card = main(page).locator('[data-testid="stMetric"]').filter(has_text=label)
    expect(card).to_have_count(1)
    return card.locator('[data-testid="stMetricValue"]').inner_text().strip()


def shown_orderings(page: Page) -> dict[str, list[str]]:
    """The retrieval and reranked orders of the run on screen, from the app's own movements download."""
    with page.expect_download() as download:
        main(page).get_by_role("button", name="Download movements (JSON)").click()
    rows = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))["movements"]
    return {
        "retrieval": [r["uuid"] for r in sorted(rows, key=lambda r: r["original rank"])],
        "reranked": [r["uuid"] for r in sorted(rows, key=lambda r: r["new rank"])],
    }


def assert_metrics_match_the_store(page: Page, store_file: Path) -> tuple[str, str]:
    """The nDCG@10 cards equal ir-measures' nDCG@10 of the shown orders against the stored grades."""
    with open_store(str(store_file)) as store:
        grades = store.grades("DemoWiki", normalise_query(QUERY))
    ranked = shown_orderings(page)
    shown = metric(page, RETRIEVAL_CARD), metric(page, BASELINE_CARD)
    for value, name in zip(shown, ("retrieval", "reranked"), strict=True):
        expected = query_metrics(grades, ranked[name], 10)
        assert value == f"{expected.ndcg:.3f}", f"{name}: shows {value}, the store's grades give {expected.ndcg}"
    captions = [
        f"judged@10 = {query_metrics(grades, ranked[name], 10).judged}/10" for name in ("retrieval", "reranked")
    ]
    assert judged_captions(page) == captions
    return shown


def judged_captions(page: Page) -> list[str]:
    return main(page).get_by_text(re.compile(r"^judged@10 = \d+/10$")).all_inner_texts()


def shots(page: Page, name: str) -> None:
    for size, viewport in SIZES.items():
        resize(page, viewport)
        page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
        screenshot(page, f"{name}-{size}", full_page=False)
    resize(page, VIEWPORT)


def test_judge_by_keyboard_then_ndcg_survives_a_restart(
    page: Page, demo_weaviate: WeaviateEndpoint, jina_server: JinaStandIn, tmp_path: Path
) -> None:
    store_file = tmp_path / "store.sqlite3"
    first = start_streamlit(tmp_path / "first", demo_weaviate, jina_server, store_file)
    try:
        open_app(page, first.url)
        run_search(page)
        expect(main(page).get_by_text("Reranked with local baseline (WordLlama)")).to_be_visible()
        expect(main(page).get_by_text(re.compile(r"^No grades for this query yet"))).to_be_visible()

        goto_page(page, "Judge")
        expect(page.get_by_role("heading", name="Judge", exact=True)).to_be_visible()
        depth = main(page).get_by_role("spinbutton", name="Pool: top N of each ordering")
        depth.fill(str(TO_JUDGE))
        rerun_and_wait(page, lambda: depth.press("Enter"))
        page.evaluate("() => document.activeElement && document.activeElement.blur()")  # keys go to the page
        progress = main(page).get_by_text(re.compile(r"^Judged \d+ of \d+$"))
        expect(progress).to_have_text(re.compile(r"^Judged 0 of \d+$"))
        pool = int(progress.inner_text().split(" of ")[1])
        assert pool >= TO_JUDGE
        shots(page, "judge-start")

        # 20 documents, one key press each: the grade is saved and the next unjudged document comes up.
        seen: list[str] = []
        started = time.perf_counter()
        for i in range(TO_JUDGE):
            seen.append(main(page).get_by_text(re.compile(r"^uuid ")).inner_text())
            rerun_and_wait(page, lambda i=i: page.keyboard.press(str(GRADES[i % len(GRADES)])))
            expect(progress).to_have_text(f"Judged {i + 1} of {pool}")
        elapsed = time.perf_counter() - started
        print(
            f"\njudging {TO_JUDGE} documents by keyboard took {elapsed:.1f} s "
            f"({elapsed / TO_JUDGE:.2f} s per document, key press to the next document shown)"
        )
        assert len(set(seen)) == TO_JUDGE  # each press moved on to a new document
        # ← steps back to the last graded document, → forward again.
        rerun_and_wait(page, lambda: page.keyboard.press("ArrowLeft"))
        expect(main(page).get_by_text(re.compile(r"^uuid "))).to_have_text(seen[-1])
        last_grade = GRADES[(TO_JUDGE - 1) % len(GRADES)]
        expect(main(page).get_by_text(re.compile(r"your grade: "))).to_contain_text(f"{last_grade} ")
        rerun_and_wait(page, lambda: page.keyboard.press("ArrowRight"))
        assert_no_errors(page, "judge view")
        shots(page, "judge-after-20")

        with open_store(str(store_file)) as store:
            saved = store.grades("DemoWiki", normalise_query(QUERY))
        assert saved == {uuid.removeprefix("uuid "): GRADES[i % len(GRADES)] for i, uuid in enumerate(seen)}

        # Back on Search: nDCG@10 of the retrieval order against the local baseline, judged@10 beside each.
        goto_page(page, "Search & Rerank")
        page.wait_for_selector('[data-testid="stMain"] .js-plotly-plot')
        retrieval, baseline = assert_metrics_match_the_store(page, store_file)
        print(f"nDCG@10 on {QUERY!r}: retrieval order {retrieval}, local baseline {baseline}")
        expect(main(page).get_by_text(re.compile(r"^Scope: this query only"))).to_be_visible()
        assert_no_errors(page, "search with grades")
        main(page).get_by_text("Relevance of the top 10").scroll_into_view_if_needed()
        shots(page, "judge-search-metrics")
        screenshot(page, "judge-search-full")

        # Compare: the same metrics per model, grade badges in the top-N table, grade markers on the bump chart.
        goto_page(page, "Compare models")
        rerun_and_wait(page, main(page).get_by_role("button", name="Compare models", exact=True).click)
        page.wait_for_selector('[data-testid="stMain"] .js-plotly-plot')
        assert metric(page, RETRIEVAL_CARD) == retrieval and metric(page, BASELINE_CARD) == baseline  # same run
        assert_no_errors(page, "compare with grades")
        screenshot(page, "judge-compare-full")
    finally:
        stop_streamlit(first)

    # A new app process on the same store file: the judgments are still there.
    second = start_streamlit(tmp_path / "second", demo_weaviate, jina_server, store_file)
    try:
        open_app(page, second.url)
        # The old page lost its server on purpose: its reconnect attempts until it left are errors this test caused.
        page._rp_errors.console.clear()  # type: ignore[attr-defined]
        run_search(page)
        # The same grades, read by a new process. (The numbers are checked against the orders this run shows:
        # the search engine may order near-tied candidates differently from the first run.)
        expect(main(page).get_by_text(re.compile(r"^No grades for this query yet"))).to_have_count(0)
        after_restart = assert_metrics_match_the_store(page, store_file)
        print(f"after the restart: retrieval order {after_restart[0]}, local baseline {after_restart[1]}")
        goto_page(page, "Judge")
        depth = main(page).get_by_role("spinbutton", name="Pool: top N of each ordering")
        depth.fill(str(TO_JUDGE))
        rerun_and_wait(page, lambda: depth.press("Enter"))
        with open_store(str(store_file)) as store:
            assert len(store.grades("DemoWiki", normalise_query(QUERY))) == TO_JUDGE
        expect(main(page).get_by_text(re.compile(r"^Judged \d+ of \d+$"))).to_have_text(
            re.compile(r"^Judged [1-9]\d* of \d+$")  # the pool is rebuilt from this run's orders
        )
        assert_no_errors(page, "after the restart")

        # "Add this query to a set" from the Search page, then the set on the Query sets page.
        goto_page(page, "Search & Rerank")
        page.wait_for_selector('[data-testid="stMain"] .js-plotly-plot')
        main(page).get_by_role("button", name=re.compile("Add this query to a set")).click()
        popover = page.locator('[data-testid="stPopoverBody"]')
        name_box = popover.get_by_role("textbox", name="Name of the new set")
        name_box.fill("writing demo")
        rerun_and_wait(page, lambda: name_box.press("Enter"))
        rerun_and_wait(page, popover.get_by_role("button", name="Add", exact=True).click)
        expect(popover.get_by_text("Added to “writing demo” as query q1.")).to_be_visible()
        goto_page(page, "Query sets")
        expect(page.get_by_role("heading", name="Query sets", exact=True)).to_be_visible()
        cells = main(page).locator('[role="gridcell"]')
        expect(cells.filter(has_text=re.compile(r"^writing demo$")).first).to_be_attached()
        expect(cells.filter(has_text=QUERY).first).to_be_attached()
        assert_no_errors(page, "query sets page")
        shots(page, "judge-query-sets")
    finally:
        stop_streamlit(second)


def test_a_grade_picked_in_the_results_table_is_saved(page: Page, streamlit_app: StreamlitApp) -> None:
    """The inline grade control, driven as a person does: double-click a grade cell, pick a badge."""
    try:
        _grade_in_the_results_table(page, streamlit_app)
    finally:  # the app's store is shared by the session's tests: leave this query unjudged, as found
        with open_store(streamlit_app.env["RERANK_PLAYGROUND_DB"]) as store:
            for doc in store.grades("DemoWiki", normalise_query(QUERY)):
                store.clear_grade("DemoWiki", normalise_query(QUERY), doc)


def _grade_in_the_results_table(page: Page, streamlit_app: StreamlitApp) -> None:
    open_app(page, streamlit_app.url)
    run_search(page)
    grid = main(page).locator('[data-testid="stDataFrame"]').first  # "Before: retrieval order"
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None
    # The grid is a canvas: its header and rows are 35 px high, the rank column 48 px wide, grade comes next.
    page.mouse.dblclick(box["x"] + 48 + 50, box["y"] + 35 + 35 + 17)  # row 2's grade cell
    option = page.get_by_text("◆ 3 perfect", exact=True).last
    expect(option).to_be_visible()
    rerun_and_wait(page, option.click)
    expect(main(page).get_by_text("judged@10 = 1/10").first).to_be_visible()
    with open_store(streamlit_app.env["RERANK_PLAYGROUND_DB"]) as store:
        judgments = store.judgments("DemoWiki", normalise_query(QUERY))
    assert [(j.grade, j.source) for j in judgments] == [(3, "person")]
    assert_no_errors(page, "inline grade")
