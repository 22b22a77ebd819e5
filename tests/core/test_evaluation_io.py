"""evaluation/io.py: CSV / JSON / TREC parsing and export; a bad file names the line and what is wrong."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rerank_playground.errors import BadImportFile, InvalidInput
from rerank_playground.evaluation.io import (
    ParsedJudgment,
    ParsedJudgments,
    parse_csv,
    parse_json,
    parse_trec,
    to_csv,
    to_json,
    to_trec,
)
from rerank_playground.evaluation.judgments import QuerySet, SetQuery

CSV = """query_id,query,doc_id,grade
q1,"Animal behaviour, social",u1,3
q1,"Animal behaviour, social",u2,0
q2,writing history,u3,2
q3,unjudged query,,
"""


def test_parse_csv() -> None:
    parsed = parse_csv(CSV)
    assert parsed.queries == (
        SetQuery("q1", "Animal behaviour, social"),
        SetQuery("q2", "writing history"),
        SetQuery("q3", "unjudged query"),
    )
    assert parsed.judgments == (
        ParsedJudgment("q1", "u1", 3, line=2),
        ParsedJudgment("q1", "u2", 0, line=3),
        ParsedJudgment("q2", "u3", 2, line=4),
    )
    assert parsed.qrels() == {"q1": {"u1": 3, "u2": 0}, "q2": {"u3": 2}, "q3": {}}


def test_parse_csv_accepts_any_column_order_extra_columns_bom_and_blank_lines() -> None:
    text = "\ufeffgrade,doc_id,note,query,query_id\n\n1,u1,hi,some query,a\n"
    assert parse_csv(text).qrels() == {"a": {"u1": 1}}


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("", 0, "The file is empty."),
        ("id,query,doc,grade\n", 1, "the header lacks query_id, doc_id"),
        ("query_id,query,doc_id,grade\n", 0, "The file holds no query."),
        ("query_id,query,doc_id,grade\nq1,x,u1,3\nq1,x,u2\n", 3, "3 fields where the header has 4."),
        ("query_id,query,doc_id,grade\nq1,x,u1,3\nq1,x,u2,4\n", 3, "the grade '4' is not 0, 1, 2 or 3."),
        ("query_id,query,doc_id,grade\nq1,x,u1,high\n", 2, "the grade 'high' is not 0, 1, 2 or 3."),
        ("query_id,query,doc_id,grade\nq1,x,u1,\n", 2, "the grade '(empty)' is not 0, 1, 2 or 3."),
        ("query_id,query,doc_id,grade\nq1,x,,2\n", 2, "the doc_id is empty."),
        ("query_id,query,doc_id,grade\n,x,u1,2\n", 2, "the query id is empty."),
        ("query_id,query,doc_id,grade\nq1, ,u1,2\n", 2, "query 'q1' has no text."),
        ("query_id,query,doc_id,grade\nq1,x,u1,2\nq1,y,u2,2\n", 3, "query 'q1' is 'y' here but 'x' on line 2."),
        ("query_id,query,doc_id,grade\nq1,x,u1,2\nq2, X ,u2,2\n", 3, "query 'q2' repeats the text of query 'q1'"),
        ("query_id,query,doc_id,grade\nq1,x,u1,2\nq1,x,u1,3\n", 3, "document 'u1' is graded 3 for query 'q1' here"),
        ('query_id,query,doc_id,grade\nq1,"x\nmore,u1,2\n', 2, "not valid CSV"),
    ],
)
def test_bad_csv_names_the_line_and_the_problem(text: str, line: int, problem: str) -> None:
    with pytest.raises(BadImportFile) as caught:
        parse_csv(text)
    assert caught.value.line == line
    assert caught.value.problem.startswith(problem)
    assert str(caught.value).startswith(f"Line {line}: " if line else problem)
    assert "Nothing was imported" in str(caught.value)


def test_bad_line_57_of_a_long_csv() -> None:
    rows = [f"q{i},query number {i},doc{i},{i % 4}" for i in range(1, 100)]
    rows[55] = "q56,query number 56,doc56,9"  # file line 57 (the header is line 1)
    with pytest.raises(BadImportFile) as caught:
        parse_csv("query_id,query,doc_id,grade\n" + "\n".join(rows) + "\n")
    assert (caught.value.line, caught.value.problem) == (57, "the grade '9' is not 0, 1, 2 or 3.")


def test_parse_json_rows_with_generated_query_ids_like_the_demo_file() -> None:
    text = json.dumps(
        [
            {"collection": "C", "query": "Alpha", "doc_id": "u1", "grade": 3},
            {"collection": "C", "query": "alpha ", "doc_id": "u2", "grade": 1},
            {"collection": "C", "query": "Beta", "doc_id": "u3", "grade": 2},
            {"query": "Gamma"},
        ],
        indent=1,
    )
    parsed = parse_json(text)
    assert parsed.queries == (SetQuery("q1", "Alpha"), SetQuery("q2", "Beta"), SetQuery("q3", "Gamma"))
    assert parsed.qrels() == {"q1": {"u1": 3, "u2": 1}, "q2": {"u3": 2}, "q3": {}}
    assert (parsed.name, parsed.collection) == (None, "C")


def test_the_demo_file_holds_two_collections_and_says_where_they_meet() -> None:
    from rerank_playground.demo.judgements import JUDGEMENTS_FILE, load_judgements

    first_jeopardy = 2 + next(i for i, r in enumerate(load_judgements()) if r.collection == "DemoJeopardy")
    with pytest.raises(BadImportFile) as caught:
        parse_json(JUDGEMENTS_FILE.read_text(encoding="utf-8"))
    assert caught.value.line == first_jeopardy
    assert caught.value.problem == (
        "this row is for collection 'DemoJeopardy', line 2 for 'DemoWiki'; a query set belongs to one collection: "
        "split the file."
    )


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        (
            '[\n {"query": "a", "doc_id": "u", "grade": 1},\n {"query": "b", "doc_id": "u", "grade": 5}\n]',
            3,
            "the grade '5' is not 0, 1, 2 or 3.",
        ),
        (
            '[\n {"query": "a", "doc_id": "u", "grade": 1},\n\n {"doc_id": "u", "grade": 1}\n]',
            4,
            'the row has no "query" text.',
        ),
        ('[\n {"query": "a", "grade": 1}\n]', 2, '"doc_id" must be a string next to a "grade".'),
        ('[\n {"query": "a", "doc_id": "u", "grade": true}\n]', 2, "the grade 'True' is not 0, 1, 2 or 3."),
        (
            '[\n {"query": "a", "doc_id": "u", "grade": 1},\n {"query": "b" "doc_id": 1}\n]',
            3,
            "not valid JSON: Expecting ',' delimiter",
        ),
        ('[\n {"query": "a"},\n 7\n]', 3, "a row must be an object, not 7."),
        ('"just a string"', 1, 'expected a list of rows, or an object with a "rows" list.'),
        ('{"name": "x"}', 1, 'expected a list of rows, or an object with a "rows" list.'),
    ],
)
def test_bad_json_names_the_line_and_the_problem(text: str, line: int, problem: str) -> None:
    with pytest.raises(BadImportFile) as caught:
        parse_json(text)
    assert (caught.value.line, caught.value.problem[: len(problem)]) == (line, problem)


TOPICS_SGML = """<top>
<num> Number: 401
<title> foreign minorities, Germany

<desc> Description:
What language and cultural differences impede the integration?
</top>

<top>
<num> Number: 402
<title> behavioral genetics
</top>
"""
QRELS = "401 0 FBIS3-10082 1\n401 0 FBIS3-10169 0\n\n402 0 FT921-1 3\n"


def test_parse_trec_sgml_topics_and_qrels() -> None:
    parsed = parse_trec(TOPICS_SGML, QRELS)
    assert parsed.queries == (SetQuery("401", "foreign minorities, Germany"), SetQuery("402", "behavioral genetics"))
    assert parsed.qrels() == {"401": {"FBIS3-10082": 1, "FBIS3-10169": 0}, "402": {"FT921-1": 3}}


def test_parse_trec_tab_separated_topics() -> None:
    parsed = parse_trec("1\tfirst query\n2\tsecond  query\n", "1 0 d1 2\n")
    assert parsed.queries == (SetQuery("1", "first query"), SetQuery("2", "second  query"))


@pytest.mark.parametrize(
    ("topics", "qrels", "line", "problem"),
    [
        ("1\tfirst\n", "1 0 d1 2\n1 0 d2\n", 2, "qrels: expected 'query_id iteration doc_id grade', found 3"),
        ("1\tfirst\n", "1 0 d1 2\n7 0 d2 1\n", 2, "qrels: query '7' is not among the topics."),
        ("1\tfirst\n", "1 0 d1 -1\n", 1, "qrels: the grade '-1' is not 0, 1, 2 or 3."),
        ("1\tfirst\n2\n", "", 2, "topics: expected 'query_id<TAB>query text'."),
        ("1\tfirst\n1\tfirst\n", "", 2, "topics: topic '1' appears twice."),
        ("<top>\n<title> no number\n</top>\n", "", 1, "topics: this <top> has no <num>."),
        ("", "1 0 d 1\n", 0, "topics: the file holds no topic."),
    ],
)
def test_bad_trec_names_the_line_and_the_problem(topics: str, qrels: str, line: int, problem: str) -> None:
    with pytest.raises(BadImportFile) as caught:
        parse_trec(topics, qrels)
    assert (caught.value.line, caught.value.problem[: len(problem)]) == (line, problem)


SET = QuerySet(
    "s", "C", (SetQuery("q1", 'Quotes "and", commas'), SetQuery("q2", "unjudged"), SetQuery("q3", "écrit")), None
)
SET_QRELS = {"q1": {"u2": 1, "u1": 3}, "q3": {"d": 0}}


def test_exports_list_every_query_best_grade_first() -> None:
    assert to_csv(SET, SET_QRELS) == (
        "query_id,query,doc_id,grade\n"
        'q1,"Quotes ""and"", commas",u1,3\n'
        'q1,"Quotes ""and"", commas",u2,1\n'
        "q2,unjudged,,\n"
        "q3,écrit,d,0\n"
    )
    topics, qrels = to_trec(SET, SET_QRELS)
    assert qrels == "q1 0 u1 3\nq1 0 u2 1\nq3 0 d 0\n"
    assert "<num> Number: q2\n<title> unjudged\n" in topics
    exported = json.loads(to_json(SET, SET_QRELS))
    assert (exported["name"], exported["collection"], exported["id_property"]) == ("s", "C", None)
    assert exported["rows"][2] == {"query_id": "q2", "query": "unjudged"}


@pytest.mark.parametrize("fmt", ["csv", "json", "trec"])
def test_every_format_round_trips(fmt: str) -> None:
    if fmt == "csv":
        parsed = parse_csv(to_csv(SET, SET_QRELS))
    elif fmt == "json":
        parsed = parse_json(to_json(SET, SET_QRELS))
        assert (parsed.name, parsed.collection) == ("s", "C")
    else:
        parsed = parse_trec(*to_trec(SET, SET_QRELS))
    assert parsed.queries == SET.queries
    assert parsed.qrels() == {"q1": {"u1": 3, "u2": 1}, "q2": {}, "q3": {"d": 0}}


_HOSTILE = ["=HYPERLINK(\"http://x\")", "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3", "'=quoted",
            "</top><top><num> Number: q999", "<title> a & b &amp; <", "Topic: kept", "\t=tab"]
_CHARS = st.characters(blacklist_categories=["Cs", "Cc", "Zl", "Zp"])  # control characters are refused on import
_TEXT = st.one_of(
    st.text(_CHARS, min_size=1, max_size=30),
    st.sampled_from(_HOSTILE),
    st.tuples(st.sampled_from(_HOSTILE), st.text(_CHARS, max_size=10)).map("".join),
).filter(lambda t: t.strip())


@given(
    texts=st.lists(_TEXT, min_size=1, max_size=6, unique_by=lambda t: " ".join(t.split()).casefold()),
    grades=st.lists(
        st.tuples(st.integers(0, 5), st.from_regex(r"[A-Za-z0-9:_-]{1,12}", fullmatch=True), st.integers(0, 3)),
        max_size=15,
    ),
)
def test_csv_and_json_round_trip_any_text(texts: list[str], grades: list[tuple[int, str, int]]) -> None:
    query_set = QuerySet("s", "C", tuple(SetQuery(f"q{i}", t.strip()) for i, t in enumerate(texts)), None)
    qrels: dict[str, dict[str, int]] = {}
    for index, doc_id, grade in grades:
        qrels.setdefault(f"q{index % len(texts)}", {})[doc_id] = grade
    for parsed in (parse_csv(to_csv(query_set, qrels)), parse_json(to_json(query_set, qrels))):
        assert isinstance(parsed, ParsedJudgments)
        assert parsed.queries == query_set.queries
        assert {q: d for q, d in parsed.qrels().items() if d} == {q: d for q, d in qrels.items() if d}
    # TREC titles are one line: the text comes back with its white space flattened, nothing else changed.
    parsed = parse_trec(*to_trec(query_set, qrels))
    assert [(q.query_id, q.text) for q in parsed.queries] == [
        (q.query_id, " ".join(q.text.split())) for q in query_set.queries
    ]
    assert {q: d for q, d in parsed.qrels().items() if d} == {q: d for q, d in qrels.items() if d}


def test_csv_export_is_formula_escaped_and_imports_back() -> None:
    texts = ["=HYPERLINK(\"http://evil/\",\"x\")", "+cmd|' /C calc'!A0", "@SUM(1+1)", "-1", "'=already quoted"]
    query_set = QuerySet("s", "C", tuple(SetQuery(f"q{i}", t) for i, t in enumerate(texts)), None)
    exported = to_csv(query_set, {"q0": {"=doc": 2}})
    # A spreadsheet treats a cell starting with = + - @ (after CSV unquoting) as a formula: none does.
    for row in list(csv.reader(io.StringIO(exported)))[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
    parsed = parse_csv(exported)
    assert [q.text for q in parsed.queries] == texts
    assert parsed.qrels()["q0"] == {"=doc": 2}


def test_trec_topics_cannot_inject_a_topic_and_refuse_unwritable_ids() -> None:
    query_set = QuerySet("s", "C", (SetQuery("q1", "a </top><top><num> Number: q999 <title> b"), SetQuery("q2", "x<y")),
                         None)
    topics, _ = to_trec(query_set, {})
    assert topics.count("<top>") == 2 and "q999" in topics
    parsed = parse_trec(topics, "")
    assert [q.query_id for q in parsed.queries] == ["q1", "q2"]
    assert parsed.queries[1].text == "x<y"
    with pytest.raises(InvalidInput, match="cannot be written in TREC"):
        to_trec(QuerySet("s", "C", (SetQuery("q 1", "text"),), None), {})
    with pytest.raises(InvalidInput, match="document id"):
        to_trec(QuerySet("s", "C", (SetQuery("q1", "text"),), None), {"q1": {"doc one": 1}})
