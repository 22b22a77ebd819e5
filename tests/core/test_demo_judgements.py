"""The demo's judged query sets: queries from passage content, every grade follows the documented rule on the text
the reranker reads, real grade-0 judgments, and the builder reproduces the queries."""

from __future__ import annotations

from collections import Counter, defaultdict

from rerank_playground.demo.datasets import (
    DEMO_COLLECTIONS,
    DEMO_JEOPARDY,
    DEMO_WIKI,
    DemoObject,
    demo_objects,
)
from rerank_playground.demo.judgements import (
    QUERY_TERMS,
    DemoQuery,
    build_judgements,
    build_queries,
    grade,
    graded_documents,
    key_terms,
    load_judgements,
    words,
)


def _objects() -> dict[str, DemoObject]:
    return {o.uuid: o for spec in DEMO_COLLECTIONS for o in demo_objects(spec.name)}


def test_judgements_parse_and_point_at_real_objects() -> None:
    rows = load_judgements()
    objects = _objects()
    per_query: dict[tuple[str, str], list[int]] = defaultdict(list)
    for row in rows:
        assert row.doc_id in objects and objects[row.doc_id] in demo_objects(row.collection), row
        assert row.grade in (0, 1, 2, 3)
        per_query[(row.collection, row.query)].append(row.grade)
    counts = Counter(collection for collection, _ in per_query)
    assert counts[DEMO_WIKI.name] == 25 and counts[DEMO_JEOPARDY.name] == 25
    for grades in per_query.values():
        assert grades.count(3) == 1  # the source document
        assert 0 in grades and len(grades) >= 20  # real grade-0 judgments; at least a top 20 judged
    assert len({(r.collection, r.query, r.doc_id) for r in rows}) == len(rows)  # no double judgement


def test_queries_do_not_repeat_a_title_heading_answer_or_category() -> None:
    objects = _objects()
    for query in build_queries():
        source = objects[query.source].properties
        assert len(query.terms) == QUERY_TERMS[query.collection] and query.text == " ".join(query.terms)
        given_away = (
            words(f"{source['title']} {source['section']}")
            if query.collection == DEMO_WIKI.name
            else words(f"{source['answer']} {source['category']}")
        )
        assert not words(query.text) & given_away, query
        # every key term is a word of the source's own text, which is what the reranker reads
        assert words(query.text) <= words(objects[query.source].text)


def test_every_row_follows_the_rule_and_every_relevant_document_is_judged() -> None:
    """A reader's check: recompute each grade from the text alone; the file misses no document graded 1+."""
    objects = _objects()
    queries = {(q.collection, q.text): q for q in build_queries()}
    rows = load_judgements()
    by_query: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for row in rows:
        query = queries[(row.collection, row.query)]
        assert grade(query, objects[row.doc_id], objects[query.source]) == row.grade, row
        by_query[(row.collection, row.query)][row.doc_id] = row.grade
    assert set(by_query) == set(queries)
    for key, query in queries.items():
        judged = {d for d, g in by_query[key].items() if g > 0}
        assert judged == set(graded_documents(query))


def test_grade_rule_by_hand() -> None:
    def wiki(uuid: str, text: str, article: str = "wiki100:X") -> DemoObject:
        return DemoObject(uuid, {"text": text, "article_id": article, "answer": "", "category": "", "air_date": ""})

    query = DemoQuery(DEMO_WIKI.name, "ocean heat currents", ("ocean", "heat", "currents"), "src")
    source = wiki("src", "Ocean heat moves with currents.")
    assert grade(query, source, source) == 3
    assert grade(query, wiki("a", "Oceans store heat; the current is slow.", "wiki100:Y"), source) == 2  # s ignored
    assert grade(query, wiki("b", "Heat and ocean.", "wiki100:Y"), source) == 1
    assert grade(query, wiki("c", "Heat alone.", "wiki100:X"), source) == 0  # the article does not matter

    def clue(uuid: str, text: str, answer: str) -> DemoObject:
        return DemoObject(uuid, {"text": text, "answer": answer, "category": "C", "air_date": "2000-01-01"})

    jq = DemoQuery(DEMO_JEOPARDY.name, "painter water lilies", ("painter", "water", "lilies"), "m")
    monet = clue("m", "Art. This painter's water lilies Answer: Monet", "Claude Monet")
    assert grade(jq, clue("m2", "Art. Giverny was home Answer: Monet", "Monet"), monet) == 0  # another answer
    assert grade(jq, clue("m3", "Art. His garden Answer: the Claude Monet", "the Claude Monet"), monet) == 2
    assert grade(jq, clue("x", "Lakes. Water lilies float Answer: ponds", "ponds"), monet) == 1
    assert grade(jq, clue("y", "Lakes. Water Answer: ponds", "ponds"), monet) == 0


def test_key_terms_skip_stopwords_excluded_words_and_out_of_band_words() -> None:
    text = "The oceans store heat and move heat with currents of the ocean"
    terms = key_terms(DEMO_WIKI.name, text, exclude=["ocean"], n=3)
    assert "ocean" not in terms and "oceans" not in terms  # excluded, with or without a final s
    assert "the" not in terms and "with" not in terms
    assert terms.count("heat") <= 1


def test_builder_is_deterministic_and_the_seed_matters() -> None:
    assert build_queries() == build_queries()
    assert build_queries(seed=1) != build_queries()
    queries = build_queries()
    pools = {q.text: [o.uuid for o in demo_objects(q.collection)[:3]] for q in queries}
    assert build_judgements(queries, pools) == build_judgements(queries, pools)
