"""The demo datasets, computed without a server: passages, questions, UUIDs, specs, fingerprints."""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import pytest
from weaviate.util import generate_uuid5

from rerank_playground.demo import datasets
from rerank_playground.demo.datasets import (
    DEMO_COLLECTIONS,
    DEMO_MARKER,
    PASSAGE_HARD_LIMIT_WORDS,
    data_fingerprint,
    demo_description,
    demo_objects,
    is_demo_description,
    jeopardy_objects,
    wiki_objects,
)
from rerank_playground.errors import CatalogError

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
    sections = datasets._parse_article(text)
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
    passages = datasets._pack_passages([f"{sentence} {sentence} {sentence}"])
    # 50 + 50 = 100 <= 120 fits; a third would make 150: it starts the next passage
    assert [len(p.split()) for p in passages] == [100, 50]
    assert all(p.endswith(".") for p in passages)


def test_pack_passages_merges_a_short_tail_and_splits_run_ons() -> None:
    long = " ".join(["w"] * 110) + ". Short end."
    assert len(datasets._pack_passages([long])) == 1  # the 2-word tail joins the passage before it
    run_on = " ".join(["x"] * (PASSAGE_HARD_LIMIT_WORDS + 30))
    parts = datasets._pack_passages([run_on])
    assert sum(len(p.split()) for p in parts) == PASSAGE_HARD_LIMIT_WORDS + 30
    assert max(len(p.split()) for p in parts) <= PASSAGE_HARD_LIMIT_WORDS


def test_clean_removes_tags_and_entities() -> None:
    assert datasets._clean('Seen <a href="http://x/y.jpg" target="_blank">here</a>, C<sub>2</sub>H &amp; co') == (
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
        assert set(p) == {"text", "title", "section", "passage", "chunk_no", "article_id"}
        assert p["text"] == f"{p['title']}. {p['section']}. {p['passage']}" == o.text
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
        assert p["text"] == f"{p['category'].title()}. {p['question']} Answer: {p['answer']}" == o.text
    first = objs[0].properties
    assert first["answer"].startswith("Ford's Theatre")


def test_data_is_identical_on_every_call_and_fingerprints_differ() -> None:
    datasets.wiki_objects.cache_clear()
    again = datasets.wiki_objects()
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
        # one text everything reads: first property, the only one BM25 searches, the rerank property
        assert spec.properties[0].name == spec.rerank_property == spec.text_property == "text"
        assert [p.name for p in spec.properties if p.searchable] == [spec.rerank_property]
        assert spec.keyword_properties == (spec.rerank_property,)
    with pytest.raises(CatalogError):
        demo_objects("NotADemo")

