"""The newcomer's path (design.md), in a real browser against the real app, Weaviate and Jina stand-in.

One journey per test, one page load each: the suite stays lean on a shared 2-core machine.
Screenshots land in ``artifacts/screenshots/`` (search, search_jina, search_k200, compare, collections,
connect) so a person can look at what a newcomer sees.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from rerank_playground.demo.suggestions import SUGGESTED_QUERIES
from testkit.jina_stand_in import TEST_JINA_KEY, JinaStandIn
from tests.browser.conftest import (
    assert_no_errors,
    commit_field,
    goto_page,
    open_app,
    rerun_and_wait,
    screenshot,
)

pytestmark = pytest.mark.browser

JINA_MODEL = "jina-reranker-v3"
CONNECTED = re.compile(r"Connected: .*Weaviate.* \d+\.\d+\.\d+, \d+ collections?")


# ----------------------------------------------------------------------------------------- helpers


def sidebar(page: Page) -> Locator:
    return page.locator('[data-testid="stSidebar"]')


def query_box(page: Page) -> Locator:
    return page.locator('[data-testid="stMain"]').get_by_role("textbox", name="Query", exact=True)


def choose_option(page: Page, label: str, option: str) -> None:
    """Pick ``option`` in the Streamlit selectbox labelled ``label`` (opens the list, clicks the option)."""
    open_settings(page)
    box = page.locator('[data-testid="stSelectbox"]').filter(has=page.get_by_text(label, exact=True))
    if box.get_by_text(option, exact=True).count():
        return  # already chosen: clicking it again starts no run, so there would be none to wait for
    wanted = page.get_by_role("option", name=option, exact=True)
    for _ in range(3):  # a rerun landing just after the click closes the list again: then open it again
        box.locator('[role="combobox"], input').first.click()
        try:
            wanted.wait_for(state="visible", timeout=15_000)
            break
        except PlaywrightTimeoutError:
            continue
    rerun_and_wait(page, wanted.click)


def open_settings(page: Page) -> None:
    """After a run the inputs fold into one "Settings (…)" line: open it (one click) before using an input."""
    details = page.locator('[data-testid="stMain"] [data-testid="stExpander"] details').filter(
        has=page.get_by_text(re.compile(r"^Settings \("))
    )
    if details.count() and details.first.get_attribute("open") is None:
        details.first.locator("summary").click()
        details.first.locator('[data-testid="stExpanderDetails"]').wait_for(state="visible")


def click_segment(page: Page, group_label: str, segment: str) -> None:
    """Choose ``segment`` in the ``st.segmented_control`` labelled ``group_label`` (a radiogroup)."""
    open_settings(page)
    radio = page.get_by_role("radiogroup", name=group_label, exact=True).get_by_role("radio", name=segment, exact=True)
    if radio.is_checked():
        return
    rerun_and_wait(page, radio.click)


def slope_data(page: Page) -> str:
    """The slope chart's traces (plotly keeps them on the graph div), as JSON, to tell two runs apart."""
    return page.evaluate(
        """() => {
            const gd = document.querySelector('[data-testid="stMain"] .js-plotly-plot');
            return JSON.stringify((gd && gd.data || []).map((t) => [t.name, t.x, t.y, t.customdata]));
        }"""
    )


def show_slope_chart(page: Page) -> None:
    """Switch Search's first chart to the slope chart (the stage chart is the default): one click, the results
    rerun and only the picked chart is on the page."""
    radio = page.locator('[data-testid="stMain"]').get_by_role("radio", name="Slope chart", exact=True)
    if not radio.is_checked():
        rerun_and_wait(page, radio.click)
    expect(page.locator('[data-testid="stMain"] .js-plotly-plot')).to_have_count(1)
    expect(page.locator('[data-testid="stMain"] .js-plotly-plot g.scatterlayer').first).to_be_attached()


def run_search(page: Page) -> None:
    rerun_and_wait(page, page.get_by_role("button", name="Search & rerank", exact=True).click)
    page.wait_for_selector('[data-testid="stMain"] .js-plotly-plot')


def assert_results_shown(page: Page, where: str) -> None:
    main = page.locator('[data-testid="stMain"]')
    # exact: the stage chart's column titles ("before: retrieval order") say the same words in lower case
    expect(main.get_by_text("Before: retrieval order", exact=True)).to_be_visible()
    expect(main.get_by_text("After: reranked", exact=True)).to_be_visible()
    assert main.locator('[data-testid="stDataFrame"]').count() >= 2, f"{where}: the two result tables are missing"
    expect(main.locator(".js-plotly-plot").first).to_be_visible()
    assert_no_errors(page, where)


def assert_key_not_exposed(page: Page, key: str, where: str) -> None:
    """The key is nowhere in the DOM (a password input's value attribute excepted), the URL or web storage."""
    leaked = page.evaluate(
        """(key) => {
            const doc = document.documentElement.cloneNode(true);
            doc.querySelectorAll('input[type="password"]').forEach((el) => el.removeAttribute('value'));
            const found = [];
            if (doc.outerHTML.includes(key)) found.push('page HTML');
            if (location.href.includes(key) || decodeURIComponent(location.href).includes(key)) found.push('URL');
            for (const [name, store] of [['localStorage', localStorage], ['sessionStorage', sessionStorage]]) {
                for (let i = 0; i < store.length; i++) {
                    const k = store.key(i);
                    if (k.includes(key) || (store.getItem(k) || '').includes(key)) found.push(name);
                }
            }
            return found;
        }""",
        key,
    )
    assert not leaked, f"{where}: the Jina key shows up in {leaked}"
    assert key not in page.url


# ----------------------------------------------------------------------------------------- tests


def test_newcomer_path(page: Page, app_url: str, jina_server: JinaStandIn) -> None:
    jina_server.reset()
    open_app(page, app_url)

    # 1. The sidebar already says "Connected: ...", no key needed.
    expect(sidebar(page).get_by_text(CONNECTED)).to_be_visible()
    assert_no_errors(page, "first load")

    # 2. Search page (the default), a suggested query prefilled.
    expect(page.get_by_role("heading", name="Search & Rerank", exact=True)).to_be_visible()
    # the prefill can land a render after the first idle moment: wait for it (polling, no sleep)
    expect(query_box(page)).not_to_have_value("", timeout=20_000)
    prefilled = query_box(page).input_value()
    suggested = {s.query for queries in SUGGESTED_QUERIES.values() for s in queries}
    assert prefilled in suggested, f"the query box holds {prefilled!r}, not a suggested query"

    # 3. One click: both lists and the rank-movement chart, with the key-less local baseline.
    run_search(page)
    assert_results_shown(page, "search (local baseline)")
    expect(page.get_by_text(re.compile(r"Reranked with local baseline"))).to_be_visible()
    show_slope_chart(page)
    local_chart = slope_data(page)
    assert local_chart != "[]"
    screenshot(page, "search")
    assert not jina_server.rerank_requests(), "the key-less path called the Jina API"

    # 4. Paste the key in the sidebar: the Jina models light up, the same click now reranks with Jina.
    key_field = sidebar(page).get_by_role("textbox", name="Jina API key", exact=True)
    key_field.fill(TEST_JINA_KEY)
    rerun_and_wait(page, sidebar(page).get_by_role("button", name="Use this key").click)
    expect(sidebar(page).get_by_text("Jina API reranking: ready (key set)")).to_be_visible()
    assert_key_not_exposed(page, TEST_JINA_KEY, "after saving the key")
    click_segment(page, "Reranker", "Jina API")
    choose_option(page, "Jina model", JINA_MODEL)
    run_search(page)
    assert_results_shown(page, f"search ({JINA_MODEL})")
    expect(page.get_by_text(f"Reranked with {JINA_MODEL}")).to_be_visible()
    show_slope_chart(page)
    assert slope_data(page) != local_chart, "the slope chart did not change with the Jina model"
    calls = jina_server.rerank_requests()
    assert calls, "the Jina stand-in received no rerank request"
    assert calls[-1].headers.get("authorization") == f"Bearer {TEST_JINA_KEY}"
    assert calls[-1].json["model"] == JINA_MODEL
    assert calls[-1].json["query"] == prefilled
    assert_key_not_exposed(page, TEST_JINA_KEY, "search page with Jina results")
    screenshot(page, "search_jina")

    # 5. Compare: with a key the default set is the local baseline plus two Jina models; one click, a stage
    # chart, and the bump chart of every model one click further.
    jina_server.reset()
    goto_page(page, "Compare models")
    main = page.locator('[data-testid="stMain"]')
    expect(page.get_by_role("heading", name="Compare models", exact=True)).to_be_visible()
    assert_no_errors(page, "compare page")
    rerun_and_wait(page, main.get_by_role("button", name="Compare models", exact=True).click)
    page.wait_for_selector('[data-testid="stMain"] .js-plotly-plot')
    expect(main.get_by_text("Model comparison", exact=True)).to_be_visible()
    assert_no_errors(page, "compare results")
    # The first chart is the stage chart of retrieval vs one model; the bump chart of them all is one click away.
    expect(main.locator(".st-key-compare-stage .js-plotly-plot")).to_have_count(1)
    rerun_and_wait(page, main.get_by_role("radio", name="Every model (bump chart)", exact=True).click)
    expect(main.locator(".st-key-compare-stage")).to_have_count(0)
    expect(main.locator(".js-plotly-plot").first).to_contain_text("Rank of each document under each model")
    orderings = page.evaluate(
        """() => {
            const gd = document.querySelector('[data-testid="stMain"] .js-plotly-plot');
            return (gd.layout.xaxis && gd.layout.xaxis.ticktext) || [];
        }"""
    )
    jina_columns = [o for o in orderings if o.startswith("jina-")]
    assert len(orderings) >= 3 and len(jina_columns) >= 2, f"bump chart orderings: {orderings}"
    # jina-reranker-v3 may come from the session's rerank cache (it ran on the Search page); any model that
    # did reach the API went with the pasted key.
    calls = jina_server.rerank_requests()
    assert calls, "Compare did not call the Jina API"
    assert {r.json["model"] for r in calls} <= {c.split(" ")[0] for c in jina_columns}
    assert all(r.headers.get("authorization") == f"Bearer {TEST_JINA_KEY}" for r in calls)
    assert_key_not_exposed(page, TEST_JINA_KEY, "compare page")
    screenshot(page, "compare")

    # 6. Collections and Connect render for a newcomer without errors.
    goto_page(page, "Collections")
    expect(page.get_by_role("heading", name="Collections", exact=True)).to_be_visible()
    # st.dataframe draws on a canvas; its cells are mirrored in a (hidden) accessible grid.
    cells = page.locator('[data-testid="stMain"] [role="gridcell"]')
    expect(cells.filter(has_text=re.compile(r"^DemoWiki$")).first).to_be_attached()
    expect(cells.filter(has_text=re.compile(r"^DemoJeopardy$")).first).to_be_attached()
    assert_no_errors(page, "collections page")
    assert_key_not_exposed(page, TEST_JINA_KEY, "collections page")
    screenshot(page, "collections")

    goto_page(page, "Connect")
    expect(page.get_by_role("heading", name="Connect", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Current connection")).to_be_visible()
    assert_no_errors(page, "connect page")
    assert_key_not_exposed(page, TEST_JINA_KEY, "connect page")
    screenshot(page, "connect")


def set_candidates(page: Page, k: int) -> None:
    open_settings(page)
    k_field = page.locator('[data-testid="stMain"]').get_by_role("spinbutton", name="Candidates K")
    commit_field(page, k_field, "k", str(k))
    assert k_field.input_value() == str(k)


def deepest_rank(page: Page) -> int:
    """The largest rank the slope chart draws (plotly keeps the traces on the graph div)."""
    return page.evaluate(
        """() => {
            const gd = document.querySelector('[data-testid="stMain"] .js-plotly-plot');
            let deepest = 0;
            for (const t of gd.data || []) for (const y of (t.y || [])) if (y !== null && y > deepest) deepest = y;
            return deepest;
        }"""
    )


def test_slope_chart_at_10_and_200_candidates(page: Page, app_url: str) -> None:
    """K=10 and K=200 on the key-less path: each run completes and the chart draws every candidate."""
    open_app(page, app_url)
    for k in (10, 200):
        set_candidates(page, k)
        run_search(page)
        assert_results_shown(page, f"search with K={k}")
        expect(page.get_by_text(re.compile(rf"· {k} candidates for"))).to_be_visible()
        show_slope_chart(page)
        assert deepest_rank(page) == k, f"K={k}: the slope chart's deepest rank is {deepest_rank(page)}"
        screenshot(page, f"search_k{k}")
