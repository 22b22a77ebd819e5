"""Regenerate rerank_playground/data/judgements.json, the judged query sets (qrels) of the demo collections.

The queries and the grade rule are offline and deterministic (rerank_playground.demo.judgements); the grade-0 rows
come from pooling, which searches a Weaviate loaded with the demo (keyword, vector, hybrid and the local baseline,
top 20 of each). The same seed, data and server version give byte-identical output.

    python -m scripts.build_judgements                    # needs the demo loaded (WEAVIATE_URL, default :8080)
    python -m scripts.build_judgements --check            # exit 1 if the file is out of date
    python -m scripts.build_judgements --out /tmp/j.json --seed 7
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

from rerank_playground.demo.judgements import (
    JUDGEMENTS_FILE,
    JUDGEMENTS_SEED,
    build_judgements,
    build_queries,
    judgements_json,
    pool_for,
)
from scripts.load_demo import connect


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=JUDGEMENTS_FILE)
    parser.add_argument("--seed", type=int, default=JUDGEMENTS_SEED)
    parser.add_argument("--url", default=os.environ.get("WEAVIATE_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--grpc-port", type=int, default=int(os.environ.get("WEAVIATE_GRPC_PORT", "50051")))
    parser.add_argument("--check", action="store_true", help="only compare with the existing file")
    args = parser.parse_args(argv)

    queries = build_queries(seed=args.seed)
    client = connect(args.url, args.grpc_port)
    try:
        pools = {q.text: pool_for(client, q) for q in queries}
    finally:
        client.close()
    rows = build_judgements(queries, pools)
    text = judgements_json(rows)
    per_grade = Counter(r["grade"] for r in rows)
    summary = f"{len(queries)} queries, grades " + ", ".join(f"{g}: {n}" for g, n in sorted(per_grade.items()))
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date; run: python -m scripts.build_judgements", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date ({len(rows)} judgements; {summary}).")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"Wrote {len(rows)} judgements ({summary}) to {args.out}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
