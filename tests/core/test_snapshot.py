"""Snapshot HTML: self-contained (plotly.js once), untrusted text inert, no key, numbers and settings present."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from rerank_playground import movement, tables
from rerank_playground.models import Hit, RankedDoc, RerankResult, SearchMode, SearchRequest, SearchResult
from rerank_playground.outcomes import RerankRun
from rerank_playground.presentation.presenter import PreparedView, headline
from rerank_playground.presentation.snapshot import Versions, snapshot_html
from rerank_playground.presentation.stories import StoryView
from rerank_playground.rerankers.choice import RerankChoice

EVIL = '</script><script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"'
CANARY = "jina_CANARY0123456789abcdef"


def prepared(note: str = "Watch the <b>second</b> one") -> PreparedView:
    request = SearchRequest(collection="DemoWiki", query=f"q {EVIL}", mode=SearchMode.KEYWORD, limit=4,
                            text_property="passage")
    hits = tuple(Hit(rank=i + 1, uuid=f"00000000-0000-0000-0000-00000000000{i}", text=f"doc {i} {EVIL}",
                     score=1.0 - i / 10) for i in range(4))
    search = SearchResult(request=request, hits=hits, latency_ms=12.0)
    result = RerankResult("local", "local-wordllama", tuple(RankedDoc(i, 1.0 - r / 10) for r, i in
                                                             enumerate((3, 0, 1, 2))), 5.0)
    choice = RerankChoice("local", "local-wordllama")
    run = RerankRun(search, choice, result, movement.compute_movement(hits, result, 3), 3)
    view = StoryView(request=request, choices=(choice,), top_n=3, note=note)
    return PreparedView(view=view, search=search, runs={choice.label: run}, errors={"x": "Jina was down <b>"})


def test_snapshot_is_one_offline_file_with_plotly_once_and_inert_text() -> None:
    page = snapshot_html("Story <i>1</i>", [prepared(), prepared()], versions=Versions("0.1.0", "1.38.11"),
                         created=datetime(2026, 11, 30, 10, 0, tzinfo=UTC), grades=[{hits_uuid(3): 3}, None])
    assert page.count("Plotly.newPlot") == 1 and page.count("plotly.js v") >= 1
    assert len(re.findall(r'<script type="text/javascript">', page)) == 1  # the library, inlined once
    assert "https://" not in page.split("<body>")[1]  # nothing in the body is fetched from a network
    # Untrusted text never appears as markup: escaped in HTML, \u003c-encoded in the chart data.
    assert "<img src=x" not in page and '<script>alert("x")' not in page
    assert "&lt;/script&gt;&lt;script&gt;alert(&quot;x&quot;)" in page
    assert "Watch the &lt;b&gt;second&lt;/b&gt; one" in page and "Jina was down &lt;b&gt;" in page
    # Each chart's data parses back to a figure.
    blobs = re.findall(r'<script type="application/json" data-plot="([^"]+)">(.*?)</script>', page, re.S)
    assert [b[0] for b in blobs] == ["chart-1-0", "chart-2-0"]
    figure = json.loads(blobs[0][1])
    assert figure["data"] and "<img" not in json.dumps(figure)  # hover text is escaped by the chart builder
    assert "Weaviate 1.38.11" in page and "Rerank Playground 0.1.0" in page and "2026-11-30 10:00" in page
    numbers = headline(prepared().primary)  # type: ignore[arg-type]
    assert f"<b>{tables.fmt_correlation(numbers.kendall_tau)}</b>" in page and f"<b>{numbers.overlap}</b>" in page
    assert "nDCG@3 before → after" in page  # the first view has a grade
    assert CANARY not in page


def hits_uuid(i: int) -> str:
    return f"00000000-0000-0000-0000-00000000000{i}"


def test_a_chart_becomes_a_png_offline() -> None:
    """kaleido drives the local Chromium; nothing is downloaded (the suite's machine has no way out)."""
    from rerank_playground import charts
    from rerank_playground.presentation.snapshot import chart_png

    run = prepared().primary
    assert run is not None
    data = chart_png(charts.slope_chart(run.movement), width=800)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
