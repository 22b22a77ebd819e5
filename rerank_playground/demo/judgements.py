"""The demo's judged query set (qrels): built deterministically from the demo data, kept in ``data/judgements.json``.

``scripts/build_judgements.py`` regenerates the file; the evaluation pages load it
(:mod:`rerank_playground.evaluation.demo_sets`).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rerank_playground.demo.datasets import DEMO_JEOPARDY, DEMO_WIKI, DemoObject, jeopardy_objects, wiki_objects

JUDGEMENTS_FILE = Path(__file__).resolve().parents[1] / "data" / "judgements.json"
JUDGEMENTS_SEED = 20261126
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class Judgement:
    query: str
    collection: str
    doc_id: str  # the object's uuid
    grade: int  # 0..3


def load_judgements(path: Path = JUDGEMENTS_FILE) -> list[Judgement]:
    return [Judgement(**row) for row in json.loads(path.read_text(encoding="utf-8"))]


def _leaf(section: str) -> str:
    return section.split(" > ")[-1]


def _wiki_judgements(rng: random.Random, n_queries: int) -> Iterator[dict[str, Any]]:
    """Known-item queries from section headings: '<title> <section>'.

    Grade 3: passages of that exact section. Grade 2: passages of a parent, child or sibling section
    (same top-level section). Grade 1: other passages of the same article.
    """
    by_article: dict[str, list[DemoObject]] = {}
    for obj in wiki_objects():
        by_article.setdefault(obj.properties["title"], []).append(obj)
    candidates: list[tuple[str, str]] = []
    for title, objs in by_article.items():
        sections = sorted({o.properties["section"] for o in objs})
        for section in sections:
            leaf = _leaf(section)
            if section == "Introduction" or leaf.casefold() == title.casefold() or len(leaf) < 4:
                continue
            candidates.append((title, section))
    rng.shuffle(candidates)
    used_articles: set[str] = set()
    picked = 0
    for title, section in candidates:
        if picked >= n_queries:
            break
        if title in used_articles:  # one query per article keeps the set varied
            continue
        used_articles.add(title)
        picked += 1
        query = f"{title} {_leaf(section)}"
        top = section.split(" > ")[0]
        for obj in by_article[title]:
            other = obj.properties["section"]
            if other == section:
                grade = 3
            elif other.split(" > ")[0] == top:
                grade = 2
            else:
                grade = 1
            yield {"query": query, "collection": DEMO_WIKI.name, "doc_id": obj.uuid, "grade": grade}


_PAREN = re.compile(r"\([^)]*\)")


def _clean_answer(answer: str) -> str:
    text = _PAREN.sub(" ", answer).replace('"', " ")
    text = re.sub(r"^(a|an|the)\s+", "", _WS.sub(" ", text).strip(), flags=re.IGNORECASE)
    return text.strip(" ,.")


def _jeopardy_judgements(rng: random.Random, n_queries: int) -> Iterator[dict[str, Any]]:
    """Query = the answer and the category; grade 3 for that question, 2 for others with the same answer."""
    objs = list(jeopardy_objects())
    by_answer: dict[str, list[DemoObject]] = {}
    for obj in objs:
        by_answer.setdefault(_clean_answer(obj.properties["answer"]).casefold(), []).append(obj)
    pool = [
        o
        for o in objs
        if len(_clean_answer(o.properties["answer"])) >= 4
        and not re.search(r"\b(seen|shown|heard) here\b|clue crew|video", o.properties["question"], re.I)
    ]
    rng.shuffle(pool)
    seen_queries: set[str] = set()
    picked = 0
    for obj in pool:
        if picked >= n_queries:
            break
        answer = _clean_answer(obj.properties["answer"])
        query = f"{answer} {obj.properties['category'].lower()}"
        if query in seen_queries:
            continue
        seen_queries.add(query)
        picked += 1
        yield {"query": query, "collection": DEMO_JEOPARDY.name, "doc_id": obj.uuid, "grade": 3}
        for other in by_answer[answer.casefold()]:
            if other.uuid != obj.uuid:
                yield {"query": query, "collection": DEMO_JEOPARDY.name, "doc_id": other.uuid, "grade": 2}


def build_judgements(
    seed: int = JUDGEMENTS_SEED, wiki_queries: int = 25, jeopardy_queries: int = 25
) -> list[dict[str, Any]]:
    """The judged query set, deterministically: same seed and data, same list."""
    rows = list(_wiki_judgements(random.Random(seed), wiki_queries))
    rows += list(_jeopardy_judgements(random.Random(seed + 1), jeopardy_queries))
    return rows


def judgements_json(rows: list[dict[str, Any]]) -> str:
    """The exact text written to ``judgements.json`` (one row per line, stable across runs)."""
    lines = ",\n".join("  " + json.dumps(row, ensure_ascii=False, sort_keys=True) for row in rows)
    return "[\n" + lines + "\n]\n"
