"""The demo's judged query set: it points at real objects, follows the data, and the builder reproduces it."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

from rerank_playground.demo.datasets import (
    DEMO_COLLECTIONS,
    DEMO_JEOPARDY,
    DEMO_WIKI,
    demo_objects,
    jeopardy_objects,
    wiki_objects,
)
from rerank_playground.demo.judgements import JUDGEMENTS_FILE, build_judgements, judgements_json, load_judgements

ROOT = Path(__file__).resolve().parents[2]


def test_judgements_parse_and_point_at_real_objects() -> None:
    rows = load_judgements()
    uuids = {spec.name: {o.uuid for o in demo_objects(spec.name)} for spec in DEMO_COLLECTIONS}
    per_query: dict[tuple[str, str], list[int]] = defaultdict(list)
    for row in rows:
        assert row.doc_id in uuids[row.collection], row
        assert row.grade in (0, 1, 2, 3)
        per_query[(row.collection, row.query)].append(row.grade)
    assert 45 <= len(per_query) <= 60
    counts = Counter(collection for collection, _ in per_query)
    assert counts[DEMO_WIKI.name] >= 20 and counts[DEMO_JEOPARDY.name] >= 20
    for grades in per_query.values():
        assert 3 in grades  # every query has a perfect answer
    assert len({(r.collection, r.query, r.doc_id) for r in rows}) == len(rows)  # no double judgement


def test_wiki_judgements_follow_the_sections() -> None:
    by_uuid = {o.uuid: o.properties for o in wiki_objects()}
    for row in load_judgements():
        if row.collection != DEMO_WIKI.name:
            continue
        props = by_uuid[row.doc_id]
        assert row.query.startswith(props["title"] + " ")  # same article, whatever the grade
        if row.grade == 3:
            assert row.query.endswith(props["section"].split(" > ")[-1])


def test_jeopardy_judgements_query_the_answer() -> None:
    by_uuid = {o.uuid: o.properties for o in jeopardy_objects()}
    for row in load_judgements():
        if row.collection == DEMO_JEOPARDY.name and row.grade == 3:
            props = by_uuid[row.doc_id]
            assert row.query.endswith(props["category"].lower())


def test_judgements_file_is_exactly_what_the_builder_makes() -> None:
    assert JUDGEMENTS_FILE.read_text(encoding="utf-8") == judgements_json(build_judgements())
    assert build_judgements() == build_judgements()
    assert build_judgements(seed=1) != build_judgements()  # the seed matters


def test_build_judgements_script_regenerates_the_file_identically(tmp_path: Path) -> None:
    out = tmp_path / "judgements.json"
    script = [sys.executable, "-m", "scripts.build_judgements"]
    done = subprocess.run([*script, "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == JUDGEMENTS_FILE.read_bytes()
    check = subprocess.run([*script, "--check"], cwd=ROOT, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    out.write_text("[]\n")
    stale = subprocess.run([*script, "--check", "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert stale.returncode == 1
