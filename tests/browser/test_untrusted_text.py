"""Text from the database is untrusted: the app must show it as text, never run or render it as HTML/markdown.

A throwaway collection holds script tags, an ``onerror`` image, markdown with a ``javascript:`` link, emoji,
right-to-left (Arabic, Hebrew) and CJK text. The test searches it in the real app and checks, in the browser:
nothing ran (``window.__pwned`` stays undefined), no live ``<img>``/``<script>``/``javascript:`` link came
from the data, and the raw strings show up verbatim in the result tables, the chart labels and the hover.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from testkit.weaviate_data import connect, unique_collection_name
from tests.browser.conftest import assert_no_errors, commit_field, open_app, rerun_and_wait, screenshot
from weaviate_local.server import WeaviateEndpoint

pytestmark = pytest.mark.browser

WORD = "playground"  # in every object: BM25 and the hybrid search find them all
SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=1">'
MARKDOWN = "**bold** [link](javascript:alert(1))"
TEXTS = [
    f"{SCRIPT} {WORD} script tag",
    f"{IMG} {WORD} image tag",
    f"{MARKDOWN} {WORD} markdown",
    f'<a href="javascript:window.__pwned=1">click me</a> <b>html bold</b> {WORD}',
    f"{WORD} 🎉🚀 emoji 👩‍💻 family 👨‍👩‍👧",
    f"ملعب {WORD} إعادة الترتيب للنتائج",
    f"מגרש משחקים {WORD} דירוג מחדש",
    f"重排序 {WORD} 検索結果 검색 결과",
    f"$x^2$ :red[colour] {WORD} `code` <!-- comment --> &lt;entity&gt;",
]


@pytest.fixture
def untrusted_collection(demo_weaviate: WeaviateEndpoint) -> Iterator[str]:
    """A collection (bring-your-own vectors, like the demo) whose texts try to break out of the page."""
    from weaviate.classes.config import Configure, DataType, Property
    from weaviate.classes.data import DataObject

    from rerank_playground.embedders import get_local_embedder

    name = unique_collection_name("Untrusted")
    client = connect(demo_weaviate)
    try:
        collection = client.collections.create(
            name,
            properties=[
                Property(name="body", data_type=DataType.TEXT),
                Property(name="title", data_type=DataType.TEXT),
            ],
            vector_config=Configure.Vectors.self_provided(),
        )
        vectors = get_local_embedder().embed(TEXTS)
        result = collection.data.insert_many(
            [
                DataObject(properties={"body": text, "title": f"{SCRIPT} title {i}"}, vector=vectors[i].tolist())
                for i, text in enumerate(TEXTS)
            ]
        )
        assert not result.has_errors, result.errors
        yield name
    finally:
        try:
            client.collections.delete(name)
        finally:
            client.close()


# Viewport coordinates of a slope-chart point whose hover row is the script-tag document (plotly keeps the
# figure and its axes on the graph div).
POINT_OF_SCRIPT_DOC = """() => {
    const gd = document.querySelector('[data-testid="stMain"] .js-plotly-plot');
    const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
    const box = gd.getBoundingClientRect();
    for (const t of gd.data) {
        for (let i = 0; i < (t.x || []).length; i++) {
            const cd = t.customdata && t.customdata[i];
            if (t.x[i] === null || !cd || !JSON.stringify(cd).includes('script&gt;window')) continue;
            return {x: box.left + xa._offset + xa.d2p(t.x[i]), y: box.top + ya._offset + ya.d2p(t.y[i])};
        }
    }
    return null;
}"""


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_untrusted_text_is_shown_as_text(page: Page, app_url: str, untrusted_collection: str) -> None:
    open_app(page, app_url)
    main = page.locator('[data-testid="stMain"]')

    # Pick the collection (its defaults apply), then type the query and run.
    collection_box = main.locator('[data-testid="stSelectbox"]').filter(has=page.get_by_text("Collection", exact=True))
    collection_box.get_by_role("combobox").click()
    rerun_and_wait(page, page.get_by_role("option", name=re.compile(rf"^{untrusted_collection}\b")).click)
    prop_box = main.locator('[data-testid="stSelectbox"]').filter(
        has=page.get_by_text("Text shown and reranked", exact=True)
    )
    # The collection's own inputs replace the previous collection's (a stale one can linger for a moment).
    expect(prop_box.get_by_role("combobox")).to_have_count(1)
    if prop_box.get_by_role("combobox").input_value() != "body":
        prop_box.get_by_role("combobox").click()
        rerun_and_wait(page, page.get_by_role("option", name="body", exact=True).click)
    commit_field(page, main.get_by_role("textbox", name="Query", exact=True), "query", WORD)
    rerun_and_wait(page, main.get_by_role("button", name="Search & rerank", exact=True).click)
    page.wait_for_selector('[data-testid="stMain"] .js-plotly-plot')
    expect(main.get_by_text(f"{len(TEXTS)} candidates for")).to_be_visible()
    assert_no_errors(page, "untrusted collection results")

    # 1. The raw strings are visible as text in the result tables. st.dataframe draws on a canvas and mirrors
    # the cells in an accessible grid, rendered after the canvas: wait for the mirror, then compare.
    wanted = [_flat(t) for t in TEXTS]
    with contextlib.suppress(PlaywrightTimeoutError):
        page.wait_for_function(
            """(wanted) => {
                const cells = [...document.querySelectorAll('[data-testid="stMain"] [role="gridcell"]')];
                const text = cells.map((c) => c.textContent).join('\\n');
                return wanted.every((w) => text.includes(w));
            }""",
            arg=wanted,
            timeout=15_000,
        )
    cells = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stMain"] [role="gridcell"]')].map((c) => c.textContent)"""
    )
    cell_text = "\n".join(cells)
    for text in wanted:
        assert text in cell_text, f"{text!r} is not shown verbatim in the result tables; cells: {cells[:40]}"

    # 2. Nothing ran (checked once the tables and the chart are drawn), and no live element came from the data.
    assert page.evaluate("() => typeof window.__pwned") == "undefined"
    live = page.evaluate(
        """() => ({
            img: document.querySelectorAll('img[src="x"], img[onerror]').length,
            script: [...document.querySelectorAll('script')].filter((s) => s.textContent.includes('__pwned')).length,
            jsLinks: [...document.querySelectorAll('a[href], [*|href]')]
                .filter((a) => (a.getAttribute('href') || a.getAttribute('xlink:href') || '')
                .trim().toLowerCase().startsWith('javascript:')).length,
            bold: [...document.querySelectorAll('[data-testid="stMain"] strong, [data-testid="stMain"] b')]
                .filter((b) => b.textContent.includes('bold')).length,
        })"""
    )
    assert live == {"img": 0, "script": 0, "jsLinks": 0, "bold": 0}, f"live elements from the data: {live}"

    # 3. Chart labels (SVG text, drawn for small K) that mention the payload keep its tags as literal text:
    # plotly did not swallow them as markup. First in the chart a user sees after the click (the stage chart),
    # then in the slope chart, one click away in the chart switch.
    chart = main.locator(".js-plotly-plot").first
    expect(main.locator(".st-key-search-stage .js-plotly-plot")).to_have_count(1)  # the default: the stage chart
    for which in ("stage chart", "slope chart"):
        if which == "slope chart":
            rerun_and_wait(page, main.get_by_role("radio", name="Slope chart", exact=True).click)
            expect(main.locator(".st-key-search-stage")).to_have_count(0)
            expect(chart.locator("g.scatterlayer")).to_be_attached()
        # Labels are cut to fit their column ("<script>window.__pwne…"): look for the parts that survive a cut
        # and would survive markup too; the tags before them must still be there as text.
        labels = [t for t in chart.locator("text").all_text_contents() if "window.__" in t or "src=x" in t]
        assert labels, f"no {which} label mentions the payload: labels are drawn for this small K, so it was lost"
        assert all("<" in t for t in labels), f"{which} labels lost the literal tags: {labels}"
        assert page.evaluate("() => typeof window.__pwned") == "undefined"

    screenshot(page, "untrusted_text")

    # 4. Hover over the end point of the script-tag document in the slope chart: the tooltip shows the tag as text.
    chart.scroll_into_view_if_needed()
    point = page.evaluate(POINT_OF_SCRIPT_DOC)
    assert point is not None, "no chart point carries the script-tag document"
    page.mouse.move(point["x"], point["y"])
    hover = chart.locator(".hoverlayer .hovertext")
    expect(hover.first).to_be_attached()
    assert SCRIPT in _flat(hover.first.text_content() or ""), hover.first.text_content()
    assert page.evaluate("() => typeof window.__pwned") == "undefined"
    screenshot(page, "untrusted_text_hover", full_page=False)
