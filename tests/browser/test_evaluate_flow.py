"""Batch evaluation in a real browser: run the demo's judged set from the Evaluate page with no key, watch it
finish, open its results on the Runs page, and open the downloaded HTML report offline. Screenshots:
evaluate_running, evaluate_done, runs, report_offline (artifacts/screenshots/)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from rerank_playground.demo.datasets import DEMO_WIKI
from rerank_playground.evaluation.demo_sets import demo_set_name, load_demo_query_sets
from rerank_playground.store import open_store
from tests.browser.conftest import (
    StreamlitApp,
    assert_no_errors,
    goto_page,
    main_text,
    open_app,
    rerun_and_wait,
    screenshot,
    wait_idle,
)
from tests.browser.test_newcomer_path import choose_option

pytestmark = pytest.mark.browser


def test_demo_set_from_the_evaluate_page_to_an_offline_report(page: Page, browser: Browser,
                                                                streamlit_app: StreamlitApp, tmp_path: Path) -> None:
    with open_store(streamlit_app.env["RERANK_PLAYGROUND_DB"]) as store:
        load_demo_query_sets(store)  # what `make demo` does
    open_app(page, streamlit_app.url)
    goto_page(page, "Evaluate")
    choose_option(page, "Query set", demo_set_name(DEMO_WIKI.name))
    rerun_and_wait(page, page.get_by_role("button", name="Start run").click)
    assert_no_errors(page, "evaluate (started)")
    screenshot(page, "evaluate_running")
    # the progress fragment reruns itself until the run is over (no reload, no click)
    page.get_by_role("button", name="Open the results").wait_for(timeout=240_000)
    wait_idle(page)
    assert "Finished." in main_text(page)
    screenshot(page, "evaluate_done")

    rerun_and_wait(page, page.get_by_role("button", name="Open the results").click)
    page.locator(".js-plotly-plot").first.wait_for()
    text = main_text(page)
    assert "local baseline (WordLlama)" in text and "no rerank" in text and "50 of 50 orderings saved" in text
    assert_no_errors(page, "runs")
    screenshot(page, "runs")

    with page.expect_download() as download:
        page.get_by_role("button", name="Download the HTML report (opens offline)").click()
    report = tmp_path / download.value.suggested_filename
    download.value.save_as(report)
    assert report.suffix == ".html"
    offline = browser.new_page(viewport={"width": 1280, "height": 720})  # no outside network (chromium flags)
    errors: list[str] = []
    offline.on("pageerror", lambda err: errors.append(str(err)))
    try:
        offline.goto(report.as_uri())
        offline.locator(".js-plotly-plot").first.wait_for()
        # win/loss, quality vs cost; where to cut: reliability, score distributions, and the cut curves of each
        # ordering (no rerank's fusion scores and the local baseline's)
        assert offline.locator(".js-plotly-plot").count() == 6
        assert errors == []
        screenshot(offline, "report_offline")
    finally:
        offline.close()
