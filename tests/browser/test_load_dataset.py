"""Load a dataset in a real browser: upload a BEIR .zip on Collections (Playwright ``set_input_files``), watch the
background load finish without a click, then open its query set on Evaluate in one click.
Screenshots: load_dataset_done, load_dataset_evaluate (artifacts/screenshots/)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from testkit.beir import write_beir
from testkit.weaviate_data import connect, unique_collection_name
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
from weaviate_local.server import WeaviateEndpoint

pytestmark = pytest.mark.browser


def test_upload_a_beir_zip_and_evaluate_it(page: Page, streamlit_app: StreamlitApp, demo_weaviate: WeaviateEndpoint,
                                           tmp_path: Path) -> None:
    archive = write_beir(tmp_path / "mini").zip(tmp_path / "mini.zip")
    name = unique_collection_name("Browser")
    try:
        open_app(page, streamlit_app.url)
        goto_page(page, "Collections")
        page.get_by_text("Load a dataset", exact=True).click()
        dropzone = page.locator('[data-testid="stFileUploaderDropzoneInput"]').first
        rerun_and_wait(page, lambda: dropzone.set_input_files(str(archive)))
        page.get_by_text("mini.zip").wait_for()
        field = page.get_by_label("New collection name")
        field.fill(name)
        rerun_and_wait(page, lambda: field.press("Enter"))
        rerun_and_wait(page, page.get_by_role("button", name="Load the dataset").click)
        # the fragment polls the background load until it is over (no reload, no click)
        page.get_by_role("button", name="Evaluate this query set").wait_for(timeout=240_000)
        wait_idle(page)
        text = main_text(page)
        assert "300 objects imported, 0 already there, 0 failed" in text
        assert f"{name} test" in text and "20 queries, 140 judgments" in text
        assert_no_errors(page, "collections (loaded)")
        screenshot(page, "load_dataset_done")

        rerun_and_wait(page, page.get_by_role("button", name="Evaluate this query set").click)
        page.get_by_role("button", name="Start run").wait_for()
        wait_idle(page)
        assert f"20 queries on the collection {name}." in main_text(page)  # the new set is the one chosen
        assert_no_errors(page, "evaluate")
        screenshot(page, "load_dataset_evaluate")
    finally:
        client = connect(demo_weaviate)
        try:
            client.collections.delete(name)
        finally:
            client.close()
