"""A shared link or a story file cannot put links or images inside the app (issue 24).

Every field a link controls (collection, mode, query, K, N, prop, properties, alpha, fusion, operator,
query-vector source, reranker, model, models) and the story file's name and fields carry Markdown links and
images pointing at a recording listener on 127.0.0.1. The app shows what it cannot use as a note, and story
names in its labels and messages: the browser must fetch nothing from the listener, and the page must hold no
``<a>`` or ``<img>`` pointing there — while the hostile text itself is on screen, as text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from playwright.sync_api import FilePayload, Page

from rerank_playground.presentation import stories
from testkit.recording_listener import RecordingListener
from tests.browser.conftest import assert_no_errors, goto_page, open_app, rerun_and_wait, screenshot

pytestmark = pytest.mark.browser

WORD_JOINER = "\u2060"  # components/safe.py puts one after ":" and "@": invisible, but in innerText


@pytest.fixture
def listener() -> Iterator[RecordingListener]:
    with RecordingListener() as recording:
        yield recording


def hostile(host: str, field: str) -> str:
    """A phishing link, an image, a bare URL, an e-mail autolink, HTML and a Streamlit directive in one value."""
    return (
        f"[Session expired - sign in again](http://{host}/phish-{field}) ![t](http://{host}/track-{field}.png) "
        f"http://{host}/bare-{field} <img src=http://{host}/html-{field}.png> :red[{field}] a@{host}"
    )


def foreign_elements(page: Page, port: int) -> dict[str, list[str]]:
    """Every element whose link, source or style mentions the listener's port."""
    return page.evaluate(
        """(port) => {
            const hit = (v) => (v || '').includes(':' + port);
            return {
                a: [...document.querySelectorAll('a')].map((a) => a.getAttribute('href')).filter(hit),
                img: [...document.querySelectorAll('img, image, source, video, audio, iframe')]
                    .map((e) => e.getAttribute('src') || e.getAttribute('href') || '').filter(hit),
                style: [...document.querySelectorAll('[style]')].map((e) => e.getAttribute('style')).filter(hit),
            };
        }""",
        port,
    )


def file_payload(name: str, data: bytes) -> FilePayload:
    return {"name": name, "mimeType": "application/json", "buffer": data}


def shown_text(page: Page) -> str:
    return page.locator("body").inner_text().replace(WORD_JOINER, "")


def wait_for_shown(page: Page, text: str, timeout_ms: float = 60_000) -> None:
    """Wait until the page shows ``text`` (the upload's rerun draws the message a moment after the file lands)."""
    page.wait_for_function(
        "(t) => document.body.innerText.replaceAll('\\u2060', '').includes(t)", arg=text, timeout=timeout_ms)


def assert_clean(page: Page, listener: RecordingListener, where: str) -> None:
    found = foreign_elements(page, listener.http_port)
    assert found == {"a": [], "img": [], "style": []}, f"{where}: foreign elements {found}"
    assert listener.seen() == [], f"{where}: the browser asked the listener {listener.seen()}"
    assert_no_errors(page, where)


LINK_FIELDS = ("mode", "k", "n", "alpha", "fusion", "operator", "embedder", "reranker", "model", "models")


def test_a_hostile_link_shows_its_values_as_text(page: Page, app_url: str, listener: RecordingListener) -> None:
    host = f"127.0.0.1:{listener.http_port}"
    # 1. An unknown collection (its note quotes it), with every other field hostile too.
    params = {"collection": hostile(host, "collection"), **{f: hostile(host, f) for f in LINK_FIELDS}}
    open_app(page, f"{app_url}/?{urlencode(params)}")
    text = shown_text(page)
    assert f"(http://{host}/phish-collection)" in text, "the unknown collection's note is not on screen as text"
    for field in ("mode", "reranker", "model"):
        assert f"(http://{host}/phish-{field})" in text, f"the note for the link's {field} is not shown as text"
    screenshot(page, "hostile_link_collection", full_page=False)
    assert_clean(page, listener, "search page, hostile collection")

    # 2. A known collection with hostile text and keyword properties (checked against the server), on Search
    # and on Compare (which shows the link notes too).
    for path in ("", "compare"):
        params = {"collection": "DemoWiki", "prop": hostile(host, "prop"), "properties": hostile(host, "properties"),
                  "mode": hostile(host, "mode"), "model": hostile(host, "model")}
        open_app(page, f"{app_url}/{path}?{urlencode(params)}")  # a page load is a new session
        text = shown_text(page)
        assert f"(http://{host}/phish-prop)" in text, f"/{path}: the link's text property is not shown as text"
        assert f"(http://{host}/phish-properties)" in text, f"/{path}: keyword properties not shown as text"
        if path:
            # Streamlit probes /compare/_stcore/health and host-config (404) on a deep link: known, harmless
            # (tests/browser/test_app_shell.py checks those are the only failed loads).
            errors = page._rp_errors  # type: ignore[attr-defined]
            errors.console[:] = [m for m in errors.console if "404 (Not Found)" not in m]
        assert_clean(page, listener, f"/{path} with hostile properties")


def test_a_hostile_story_file_shows_its_name_as_text(
    page: Page, app_url: str, listener: RecordingListener, tmp_path: object
) -> None:
    host = f"127.0.0.1:{listener.http_port}"
    name = f"[Session expired, click](http://{host}/phish-story) ![t](http://{host}/track-story.png)"
    story = stories.Story(name=name, views=stories.demo_story(jina_key_present=False).views[:1])
    good = json.loads(stories.story_to_json(story))
    open_app(page, app_url)
    goto_page(page, "Present")
    main = page.locator('[data-testid="stMain"]')
    main.get_by_test_id("stExpander").get_by_text("Import a story file", exact=True).click()
    uploader = main.locator('[data-testid="stFileUploader"] input[type="file"]')

    # A file that cannot be read: its error quotes the file's text (the version).
    broken = {**good, "version": hostile(host, "version")}
    rerun_and_wait(page, lambda: uploader.set_input_files(
        files=[file_payload("bad.story.json", json.dumps(broken).encode())]))
    wait_for_shown(page, f"(http://{host}/phish-version)")  # the file's error quotes it, as text
    assert f"(http://{host}/phish-version)" in shown_text(page), "the file's error does not quote it as text"
    assert_clean(page, listener, "story file error")

    # A good file: its name is in the import button's label, then in the success message and the story list.
    rerun_and_wait(page, lambda: uploader.set_input_files(
        files=[file_payload("good.story.json", json.dumps(good).encode())]))
    button = main.get_by_role("button").filter(has_text="Import “")
    assert f"(http://{host}/phish-story)" in (button.inner_text().replace(WORD_JOINER, ""))
    assert_clean(page, listener, "story import button")
    rerun_and_wait(page, button.click)
    assert f"(http://{host}/phish-story)" in shown_text(page)
    screenshot(page, "hostile_story", full_page=False)
    assert_clean(page, listener, "story imported")
