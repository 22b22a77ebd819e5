"""The offline HTML report reads at 1280 px, and its charts (the same builders the Runs page draws) at the ~760 px a
Runs page chart gets beside the sidebar: measured in Chromium, every chart title, subtitle, axis title and tick label
lies inside its chart, query labels are horizontal, the plot toolbar does not cover the title, no table pushes the
page wider than the window (wide ones scroll inside their own frame), and statistics carry plain words and a
tooltip."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from rerank_playground.evaluation import analysis, report, runs
from rerank_playground.evaluation.batch_plan import BASELINE, RunPlan, plan_to_dict, search_setting
from rerank_playground.evaluation.judgments import QuerySet, SetQuery
from rerank_playground.rerankers.choice import RerankChoice
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

MODEL = RerankChoice("jina", "jina-reranker-v2-base-multilingual")
QS = QuerySet("layout", "DemoWiki", tuple(
    SetQuery(f"q{i}", f"what does the long-winded question number {i} about ancient river trade routes ask")
    for i in range(30)))


def summary() -> analysis.RunSummary:
    settings = (search_setting(limit=50, text_property="passage"),)
    plan = RunPlan(query_set=QS, settings=settings, rerankers=(MODEL,), k=10)
    record = runs.RunRecord(run_id="layout", name="layout check", collection="DemoWiki", query_set=QS.name,
                            status="finished", plan=plan_to_dict(plan),
                            qrels={q.query_id: {"d1": 2} for q in QS.queries})
    rows = []
    for i, q in enumerate(QS.queries):
        base = 0.2 + 0.02 * (i % 11)
        for ordering, value, ms in ((BASELINE, base, 40.0), (MODEL.label, base + 0.03 * ((i % 5) - 1), 900.0)):
            rows.append(runs.QueryResult(setting=0, query_id=q.query_id, query=q.text, ordering=ordering,
                                         status="done", ranking=(("d1", 1.0),), latency_ms=ms,
                                         tokens=None if ordering == BASELINE else 1200,
                                         metrics={m: value for m in record.plan["measures"]}))
    return analysis.summarise(record, rows, n_resamples=999)


MEASURE = """() => {
  const inside = (box, frame) => box.left >= frame.left - 0.5 && box.right <= frame.right + 0.5
      && box.top >= frame.top - 0.5 && box.bottom <= frame.bottom + 0.5;
  const overlap = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const problems = [];
  const charts = [...document.querySelectorAll('.js-plotly-plot')];
  for (const [i, chart] of charts.entries()) {
    const frame = chart.querySelector('svg.main-svg').getBoundingClientRect();
    const texts = [...chart.querySelectorAll('.gtitle, .xtitle, .ytitle, .y2title, .xtick text, .ytick text')];
    for (const t of texts) {
      const box = t.getBoundingClientRect();
      if (box.width === 0) continue;
      if (!inside(box, frame)) problems.push(`chart ${i}: "${t.textContent.slice(0, 40)}" leaves the chart`);
    }
    for (const t of chart.querySelectorAll('.ytick text, .xtick text')) {
      if ((t.getAttribute('transform') || '').includes('rotate')) problems.push(`chart ${i}: a rotated tick label`);
    }
    const title = chart.querySelector('.gtitle');
    const bar = chart.querySelector('.modebar-container');
    if (title && bar && bar.getBoundingClientRect().width > 0
        && overlap(title.getBoundingClientRect(), bar.getBoundingClientRect())) {
      problems.push(`chart ${i}: the toolbar covers the title`);
    }
  }
  const width = document.scrollingElement.scrollWidth;
  if (width > window.innerWidth) problems.push(`the page is ${width}px wide in a ${window.innerWidth}px window`);
  for (const f of document.querySelectorAll('.frame')) {
    if (f.getBoundingClientRect().right > window.innerWidth + 0.5) problems.push('a table frame leaves the window');
  }
  return {charts: charts.length, problems};
}"""


@pytest.mark.parametrize("width", [1280, 760])
def test_report_charts_and_tables_fit(browser: Browser, tmp_path: Path, width: int) -> None:
    path = tmp_path / "report.html"
    path.write_text(report.html_report(summary()), encoding="utf-8")
    context = browser.new_context(viewport={"width": width, "height": 720}, device_scale_factor=1)
    try:
        page = context.new_page()
        page.goto(path.as_uri())
        page.wait_for_selector(".js-plotly-plot .gtitle")
        page.hover(".js-plotly-plot")  # the toolbar shows on hover: measure it where a reader would see it
        result = page.evaluate(MEASURE)
        screenshot(page, f"report-layout-{width}")
        assert result["charts"] == 2 and result["problems"] == []
        tooltip = page.locator("th[title]", has_text="randomization p (Holm)").first
        assert "Holm" in (tooltip.get_attribute("title") or "")
        assert "paired randomization p, corrected for many tests" in tooltip.inner_text()
        assert "Methods:" in page.locator("p.methods").inner_text()
    finally:
        context.close()
