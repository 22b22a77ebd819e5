"""What one chart costs the app per click, for K candidates (issue 20.3): build + hand to Streamlit.

    .venv/bin/python -m benchmarks.figures [--k 10 200 1000 3000] [--repeat 3]

For each chart of the Search and Compare pages, on synthetic candidates (random scores and texts, seeded):

- **build**: the core builder (``charts.slope_chart`` …), the figure the page keeps for the run;
- **send**: what ``st.plotly_chart`` does with it (``plotly.tools.return_figure_from_figure_or_data`` with
  validation, then ``plotly.io.to_json``), i.e. the per-rerun cost of showing it, and the JSON bytes sent.

No Streamlit, no server: the figures alone, so the growth with K is the chart's own.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
import plotly.io
import plotly.tools

from rerank_playground import charts
from rerank_playground.models import Hit, RankedDoc, RerankResult
from rerank_playground.movement import compute_movement

WORDS = ("river", "city", "music", "language", "science", "king", "empire", "art", "film", "church", "island",
         "mountain", "religion", "trade")


def candidates(k: int, seed: int = 3) -> tuple[list[Hit], RerankResult]:
    rng = random.Random(seed)
    hits = [
        Hit(rank=i + 1, uuid=f"{i:08d}-0000-0000-0000-000000000000", text=" ".join(rng.choices(WORDS, k=40)),
            score=1.0 - i / k)
        for i in range(k)
    ]
    order = list(range(k))
    rng.shuffle(order)
    ranked = tuple(RankedDoc(index=i, score=1.0 - j / k) for j, i in enumerate(order))
    return hits, RerankResult(reranker="local", model="bench", ranked=ranked, latency_ms=1.0)


def send(figure: Any) -> int:
    """What ``st.plotly_chart`` does with a figure before it reaches the browser; the JSON's size."""
    spec = plotly.tools.return_figure_from_figure_or_data(figure, validate_figure=True)
    return len(plotly.io.to_json(spec, validate=False))


def timed(action: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    values = []
    out = None
    for _ in range(repeat):
        started = time.perf_counter()
        out = action()
        values.append(time.perf_counter() - started)
    return statistics.median(values), out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, nargs="+", default=[10, 200, 1000, 3000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'chart':<22} {'K':>6} | {'build ms':>9} | {'send ms':>8} | {'JSON kB':>8}")
    for k in args.k:
        hits, result = candidates(k)
        movement = compute_movement(hits, result, 10)
        new_rank = {doc.index: rank for rank, doc in enumerate(result.ranked, start=1)}
        ranks = pd.DataFrame({"retrieval": range(1, k + 1), "a": [new_rank[i] for i in range(k)],
                              "b": list(range(k, 0, -1))})
        texts = [h.text for h in hits]
        grades = {h.uuid: i % 4 for i, h in enumerate(hits[:30])}
        builders: dict[str, Callable[[], Any]] = {
            "slope": lambda m=movement: charts.slope_chart(m),
            "slope (graded)": lambda m=movement, g=grades: charts.slope_chart(m, grades=g),
            "delta bars": lambda m=movement: charts.delta_bars(m),
            "score scatter": lambda m=movement: charts.score_scatter(m),
            "bump (3 orderings)": lambda r=ranks, t=texts: charts.bump_chart(r, t, highlight=10),
        }
        for name, build in builders.items():
            built_s, figure = timed(build, args.repeat)
            sent_s, size = timed(lambda figure=figure: send(figure), args.repeat)
            print(f"{name:<22} {k:>6,} | {built_s * 1000:>9.1f} | {sent_s * 1000:>8.1f} | {size / 1000:>8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
