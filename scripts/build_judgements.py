"""Regenerate rerank_playground/data/judgements.json, the judged query set (qrels) for the demo collections.

Deterministic: the same seed and the same installed demo data give byte-identical output, so running it
again changes nothing (tests/core/test_demo_judgements.py checks this).

    python -m scripts.build_judgements            # rewrite the file
    python -m scripts.build_judgements --check    # exit 1 if the file is out of date
    python -m scripts.build_judgements --out /tmp/j.json --seed 7
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from rerank_playground.demo.judgements import (
    JUDGEMENTS_FILE,
    JUDGEMENTS_SEED,
    build_judgements,
    judgements_json,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=JUDGEMENTS_FILE)
    parser.add_argument("--seed", type=int, default=JUDGEMENTS_SEED)
    parser.add_argument("--check", action="store_true", help="only compare with the existing file")
    args = parser.parse_args(argv)

    rows = build_judgements(seed=args.seed)
    text = judgements_json(rows)
    queries = Counter(r["collection"] for r in {(r["collection"], r["query"]): r for r in rows}.values())
    summary = ", ".join(f"{n} {c} queries" for c, n in sorted(queries.items()))
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
