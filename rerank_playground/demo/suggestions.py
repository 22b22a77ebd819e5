"""The suggested queries shown on the Search page for each demo collection (``data/suggested_queries.json``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

SUGGESTED_QUERIES_FILE = Path(__file__).resolve().parents[1] / "data" / "suggested_queries.json"


@dataclass(frozen=True)
class SuggestedQuery:
    collection: str
    query: str
    why: str  # one sentence: what to look for when reranking
    mode: str  # "hybrid" | "keyword" | "vector" — the search mode that shows it best
    properties: tuple[str, ...] = ()  # keyword/hybrid properties (empty = the collection's default)
    # Evidence, checked by tests/integration/test_demo.py against the loaded data (50 candidates, hybrid
    # with alpha 0.5 and ranked fusion): a substring of the object the "why" talks about, and whether the
    # offline WordLlama baseline moves it up (True) or down (False).
    look_for: str = ""
    baseline_helps: bool | None = None


def _load_suggested(path: Path = SUGGESTED_QUERIES_FILE) -> dict[str, list[SuggestedQuery]]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    out: dict[str, list[SuggestedQuery]] = {}
    for collection, items in raw.items():
        out[collection] = [
            SuggestedQuery(
                collection=collection,
                query=item["query"],
                why=item["why"],
                mode=item["mode"],
                properties=tuple(item.get("properties", ())),
                look_for=item.get("look_for", ""),
                baseline_helps=item.get("baseline_helps"),
            )
            for item in items
        ]
    return out


SUGGESTED_QUERIES: dict[str, list[SuggestedQuery]] = _load_suggested()
