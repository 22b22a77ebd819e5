"""Write example movement charts to HTML for eyeballing (no Weaviate, no Jina, no network).

    .venv/bin/python -m scripts.render_charts [--out DIR] [--sizes 10 200] [--seed 7]

One self-contained HTML file per size (plotly.js embedded, works offline). PNGs are written too when
``kaleido`` happens to be installed; otherwise open the HTML (or screenshot it with Playwright).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from rerank_playground import charts, tables
from rerank_playground.models import Hit, RankedDoc, RerankResult
from rerank_playground.movement import compute_movement, rank_matrix

WORDS = [
    "vector",
    "search",
    "rerank",
    "hybrid",
    "keyword",
    "query",
    "document",
    "relevance",
    "model",
    "cross",
    "encoder",
    "latency",
    "token",
    "weaviate",
    "jina",
    "collection",
    "property",
    "score",
    "distance",
    "ranking",
    "candidate",
    "passage",
    "answer",
]
NASTY = 'Untrusted <b>bold</b> & <a href="x">link</a> <script>alert(1)</script> text'


def example(n: int, seed: int, top_n: int = 10) -> tuple[list[Hit], dict[str, RerankResult]]:
    rng = random.Random(seed)
    hits = []
    for i in range(n):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30)))
        text = NASTY if i == 2 else words.capitalize()
        hits.append(
            Hit(
                rank=i + 1,
                uuid=f"00000000-0000-0000-0000-{i:012d}",
                text=text,
                score=round(1.0 - i / (n + 1) + rng.uniform(-0.02, 0.02), 4),
            )
        )
    results = {}
    for m, noise in (("jina-reranker-v2-base-multilingual", 0.35), ("jina-reranker-v3", 0.6), ("local", 0.2)):
        # A noisy version of the retrieval order; leave a few identical so "unchanged" shows up.
        keyed = sorted(range(n), key=lambda i, s=noise: i + rng.gauss(0, s * n) * (rng.random() > 0.15))
        returned = keyed if m != "jina-reranker-v3" else keyed[: max(1, n - n // 5)]  # a top_n cut
        ranked = tuple(RankedDoc(index=i, score=round(1 - pos / n, 4)) for pos, i in enumerate(returned))
        results[m] = RerankResult(reranker="example", model=m, ranked=ranked, latency_ms=1.0)
    return hits, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/rerank_charts"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 200])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        import kaleido  # noqa: F401

        png = True
    except ImportError:
        png = False

    for n in args.sizes:
        hits, results = example(n, args.seed)
        top_n = 5 if n <= 10 else 10
        first = next(iter(results.values()))
        movement = compute_movement(hits, first, top_n)
        figures = {
            "slope": charts.slope_chart(movement),
            "delta": charts.delta_bars(movement),
            "scatter": charts.score_scatter(movement),
            "bump": charts.bump_chart(rank_matrix(hits, results), [h.text for h in hits]),
        }
        path = args.out / f"charts_{n}.html"
        parts = [f.to_html(full_html=False, include_plotlyjs=i == 0) for i, f in enumerate(figures.values())]
        page = "<html><head><meta charset='utf-8'></head><body>" + "\n".join(parts) + "</body></html>"
        path.write_text(page, encoding="utf-8")
        (args.out / f"movement_{n}.csv").write_bytes(tables.to_csv_bytes(tables.movement_table(movement)))
        print(f"wrote {path}")
        if png:
            for name, fig in figures.items():
                fig.write_image(args.out / f"{name}_{n}.png", width=1000)


if __name__ == "__main__":
    main()
