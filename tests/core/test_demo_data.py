"""The demo data, computed without a server: passages, questions, UUIDs, suggested queries, judgements."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from weaviate.util import generate_uuid5

from rerank_playground import demo
from rerank_playground.demo import (
    DEMO_COLLECTIONS,
    DEMO_JEOPARDY,
    DEMO_MARKER,
    DEMO_WIKI,
    JUDGEMENTS_FILE,
    PASSAGE_HARD_LIMIT_WORDS,
    SUGGESTED_QUERIES,
    SUGGESTED_QUERIES_FILE,
    build_judgements,
    data_fingerprint,
    demo_description,
    demo_objects,
    is_demo_description,
    jeopardy_objects,
    judgements_json,
    load_judgements,
    wiki_objects,
)
from rerank_playground.errors import CatalogError
from rerank_playground.models import SearchMode

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------------------------ parsing


def test_parse_article_keeps_heading_paths_and_bodies() -> None:
    text = (
        "*: Etymology - The word comes from Latin.\n"
        "*: Characteristics - Animals move.\n"
        "More text on the next line.\n"
        "**: Structure - Cells.\n"
        "*: History -\n"
        "Body on its own line.\n"
    )
    sections = demo._parse_article(text)
    assert [s.path for s in sections] == [
        ["Etymology"],
        ["Characteristics"],
        ["Characteristics", "Structure"],
        ["History"],
    ]
    assert sections[1].paragraphs == ["Animals move.", "More text on the next line."]
    assert sections[3].paragraphs == ["Body on its own line."]


def test_pack_passages_keeps_whole_sentences_under_the_target() -> None:
    sentence = " ".join(["word"] * 50) + "."  # 50 words
    passages = demo._pack_passages([f"{sentence} {sentence} {sentence}"])
    # 50 + 50 = 100 <= 120 fits; a third would make 150: it starts the next passage
    assert [len(p.split()) for p in passages] == [100, 50]
    assert all(p.endswith(".") for p in passages)


def test_pack_passages_merges_a_short_tail_and_splits_run_ons() -> None:
    long = " ".join(["w"] * 110) + ". Short end."
    assert len(demo._pack_passages([long])) == 1  # the 2-word tail joins the passage before it
    run_on = " ".join(["x"] * (PASSAGE_HARD_LIMIT_WORDS + 30))
    parts = demo._pack_passages([run_on])
    assert sum(len(p.split()) for p in parts) == PASSAGE_HARD_LIMIT_WORDS + 30
    assert max(len(p.split()) for p in parts) <= PASSAGE_HARD_LIMIT_WORDS


def test_clean_removes_tags_and_entities() -> None:
    assert demo._clean('Seen <a href="http://x/y.jpg" target="_blank">here</a>, C<sub>2</sub>H &amp; co') == (
        "Seen here, C2H & co"
    )


# -------------------------------------------------------------------------------------------- data


def test_wiki_passages() -> None:
    objs = wiki_objects()
    assert 5000 < len(objs) < 10000
    titles = {o.properties["title"] for o in objs}
    assert len(titles) == 101  # every article file in the package has prose
    assert len({o.uuid for o in objs}) == len(objs)
    for o in objs:
        p = o.properties
        assert set(p) == {"title", "section", "passage", "chunk_no", "article_id"}
        assert p["article_id"] == f"wiki100:{p['title']}"
        assert len(p["passage"]) >= 40 and len(p["passage"].split()) <= PASSAGE_HARD_LIMIT_WORDS + 25
        assert o.uuid == str(generate_uuid5(f"DemoWiki|{p['title']}|{p['chunk_no']}"))
    sections = {o.properties["section"].split(" > ")[-1] for o in objs}
    assert not sections & {"References", "See also", "External links", "Further reading"}
    # chunk numbers run 1..n within each article, in order
    by_title: dict[str, list[int]] = defaultdict(list)
    for o in objs:
        by_title[o.properties["title"]].append(o.properties["chunk_no"])
    assert all(nums == list(range(1, len(nums) + 1)) for nums in by_title.values())


def test_jeopardy_questions() -> None:
    objs = jeopardy_objects()
    assert len(objs) == 1000
    assert len({o.uuid for o in objs}) == 1000
    assert Counter(o.properties["round"] for o in objs) == {
        "Double Jeopardy!": 538,
        "Jeopardy!": 433,
        "Final Jeopardy!": 29,
    }
    for o in objs:
        p = o.properties
        assert isinstance(p["value"], int)
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", p["air_date"])
        assert "<" not in p["question"] and "&amp;" not in p["question"]
    first = objs[0].properties
    assert first["answer"].startswith("Ford's Theatre")


def test_data_is_identical_on_every_call_and_fingerprints_differ() -> None:
    demo.wiki_objects.cache_clear()
    again = demo.wiki_objects()
    assert [o.uuid for o in again] == [o.uuid for o in wiki_objects()]
    fp_wiki, fp_jeop = data_fingerprint("DemoWiki"), data_fingerprint("DemoJeopardy")
    assert re.fullmatch(r"[0-9a-f]{12}", fp_wiki) and fp_wiki != fp_jeop
    assert data_fingerprint("DemoWiki") == fp_wiki


def test_demo_description_carries_marker_and_fingerprint() -> None:
    for spec in DEMO_COLLECTIONS:
        text = demo_description(spec.name)
        assert is_demo_description(text)
        assert text.startswith(DEMO_MARKER)
        assert f"[data {data_fingerprint(spec.name)}]" in text
    assert not is_demo_description(None)
    assert not is_demo_description("")
    assert not is_demo_description("My own wiki collection")


def test_specs_match_the_objects() -> None:
    for spec in DEMO_COLLECTIONS:
        names = {p.name for p in spec.properties}
        for obj in demo_objects(spec.name)[:50]:
            assert set(obj.properties) == names
        assert spec.text_property in names
        assert set(spec.keyword_properties) <= names
    with pytest.raises(CatalogError):
        demo_objects("NotADemo")


# --------------------------------------------------------------------------------- suggested queries


def test_suggested_queries_parse_and_are_usable() -> None:
    raw = json.loads(SUGGESTED_QUERIES_FILE.read_text(encoding="utf-8"))
    assert set(raw) == {DEMO_WIKI.name, DEMO_JEOPARDY.name}
    assert set(SUGGESTED_QUERIES) == set(raw)
    for spec in DEMO_COLLECTIONS:
        queries = SUGGESTED_QUERIES[spec.name]
        assert 3 <= len(queries) <= 5
        assert len({q.query for q in queries}) == len(queries)
        texts = [" ".join(str(v) for v in o.properties.values()) for o in demo_objects(spec.name)]
        for q in queries:
            assert q.collection == spec.name
            assert q.query.strip() and len(q.why) > 40
            assert SearchMode(q.mode)  # a real mode name
            assert set(q.properties) <= {p.name for p in spec.properties}
            assert isinstance(q.baseline_helps, bool)
            # the object the "why" talks about exists in the data
            assert any(q.look_for.lower() in t.lower() for t in texts), q.look_for


# -------------------------------------------------------------------------------------- judgements


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
    script = ROOT / "scripts" / "build_judgements.py"
    done = subprocess.run([sys.executable, str(script), "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == JUDGEMENTS_FILE.read_bytes()
    check = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    out.write_text("[]\n")
    stale = subprocess.run([sys.executable, str(script), "--check", "--out", str(out)], capture_output=True, text=True)
    assert stale.returncode == 1
