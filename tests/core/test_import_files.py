"""Every importer (query sets as CSV, JSON, TREC; story files) names every file problem, with its line, and
imports nothing: random and mutated files give a clean import or ``BadImportFile``, never another exception."""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rerank_playground.errors import BadImportFile
from rerank_playground.evaluation import files
from rerank_playground.evaluation.io import (
    MAX_ID_CHARS,
    MAX_QUERIES,
    MAX_QUERY_CHARS,
    parse_csv,
    parse_json,
    parse_trec,
    to_csv,
    to_json,
    to_trec,
)
from rerank_playground.evaluation.judgments import QuerySet, SetQuery
from rerank_playground.presentation import stories

SET = QuerySet(
    "s", "C", (SetQuery("q1", "animal behaviour"), SetQuery("q2", "=SUM(1) <b>"), SetQuery("q3", "écrit 書")), None
)
QRELS = {"q1": {"u1": 3, "u2": 0}, "q3": {"d": 1}}
TOPICS, QRELS_TEXT = to_trec(SET, QRELS)
STORY = stories.story_to_json(stories.demo_story(jina_key_present=False))


def _bytes_importers() -> dict[str, Callable[[bytes], Any]]:
    """Each importer as the app calls it on an uploaded file's bytes."""
    return {
        "csv": lambda b: parse_csv(files.decode(b)),
        "json": lambda b: parse_json(files.decode(b)),
        "trec topics": lambda b: parse_trec(files.decode(b), QRELS_TEXT),
        "trec qrels": lambda b: parse_trec(TOPICS, files.decode(b)),
        "story": stories.story_from_file,
    }


VALID = {
    "csv": to_csv(SET, QRELS).encode(),
    "json": to_json(SET, QRELS).encode(),
    "trec topics": TOPICS.encode(),
    "trec qrels": QRELS_TEXT.encode(),
    "story": STORY.encode(),
}
IMPORTERS = _bytes_importers()


def outcome(kind: str, data: bytes) -> Any:
    """The import's result, or the BadImportFile it raised; any other exception fails the test."""
    try:
        return IMPORTERS[kind](data)
    except BadImportFile as err:
        assert err.line >= 0 and err.problem and "Traceback" not in str(err)
        return err


@pytest.mark.parametrize("kind", list(VALID))
def test_each_importer_takes_its_own_export(kind: str) -> None:
    assert not isinstance(outcome(kind, VALID[kind]), BadImportFile)


# ------------------------------------------------------------------------------------- named problems


@pytest.mark.parametrize("kind", list(VALID))
def test_a_utf8_bom_is_accepted_by_every_importer_and_other_encodings_are_named(kind: str) -> None:
    assert not isinstance(outcome(kind, codecs.BOM_UTF8 + VALID[kind]), BadImportFile)
    for encoding, name in (("utf-16", "UTF-16"), ("utf-32", "UTF-32")):
        err = outcome(kind, VALID[kind].decode().encode(encoding))
        assert isinstance(err, BadImportFile) and name in err.problem and "save it as UTF-8" in err.problem


@pytest.mark.parametrize("kind", list(VALID))
def test_invalid_utf8_names_its_line_and_is_never_replaced(kind: str) -> None:
    lines = VALID[kind].split(b"\n")
    lines[1] = lines[1] + b"\xff\xfe"
    err = outcome(kind, b"\n".join(lines))
    assert isinstance(err, BadImportFile) and err.line == 2 and "not UTF-8" in err.problem


@pytest.mark.parametrize("kind", list(VALID))
@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f"])
def test_nul_and_control_characters_are_refused_with_their_line(kind: str, char: str) -> None:
    lines = VALID[kind].decode().split("\n")
    lines[1] = lines[1][:3] + char + lines[1][3:]
    err = outcome(kind, "\n".join(lines).encode())
    assert isinstance(err, BadImportFile) and err.line == 2 and f"U+{ord(char):04X}" in err.problem


@pytest.mark.parametrize("kind", ["json", "story"])
def test_json_escaped_nul_deep_nesting_and_huge_numbers_are_named(kind: str) -> None:
    text = VALID[kind].decode()
    escaped = text.replace("animal behaviour" if kind == "json" else "Demo", "a\\u0000b", 1)
    err = outcome(kind, escaped.encode())
    assert isinstance(err, BadImportFile) and "control character" in err.problem and err.line >= 1

    deep = "[" * 5_000 + "]" * 5_000
    err = outcome(kind, deep.encode())
    assert isinstance(err, BadImportFile) and f"more than {files.MAX_JSON_DEPTH} levels" in err.problem

    huge = '[{"query": "a", "doc_id": "d", "grade":\n' + "9" * 5_000 + "}]"
    err = outcome(kind, huge.encode())
    assert isinstance(err, BadImportFile) and err.line == 2 and "number longer than" in err.problem


def test_a_file_over_the_size_limit_is_refused_naming_the_limit() -> None:
    with pytest.raises(BadImportFile, match=f"the limit is {files.MAX_FILE_MB} MB"):
        files.decode(b"x" * (files.MAX_FILE_BYTES + 1))


def test_query_set_limits_are_named_at_import() -> None:
    rows = "\n".join(f"q{i},query number {i},," for i in range(MAX_QUERIES + 1))
    with pytest.raises(BadImportFile, match=f"the limit is {MAX_QUERIES:,} per set"):
        parse_csv("query_id,query,doc_id,grade\n" + rows)
    with pytest.raises(BadImportFile, match=f"the limit is {MAX_QUERY_CHARS:,}") as long_text:
        parse_csv(f"query_id,query,doc_id,grade\nq1,{'a' * (MAX_QUERY_CHARS + 1)},,")
    assert long_text.value.line == 2
    with pytest.raises(BadImportFile, match=f"the limit is {MAX_ID_CHARS}"):
        parse_csv(f"query_id,query,doc_id,grade\nq1,a,{'d' * (MAX_ID_CHARS + 1)},1")


def test_story_limits_are_named_at_import() -> None:
    raw = json.loads(STORY)
    view = raw["views"][0]
    for changed, limit in (
        ({"views": [view] * (stories.MAX_VIEWS + 1)}, f"the limit is {stories.MAX_VIEWS}"),
        ({"name": "n" * (stories.MAX_NAME + 1)}, f"the limit is {stories.MAX_NAME}"),
        ({"views": [{**view, "query": "q" * (stories.MAX_TEXT + 1)}]}, f"more than {stories.MAX_TEXT} characters"),
    ):
        with pytest.raises(BadImportFile, match=limit):
            stories.story_from_json(json.dumps({**raw, **changed}))


# -------------------------------------------------------------------------------- random and mutated files

_MUTATIONS = st.one_of(
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("insert_text"), st.integers(0, 10**6), st.sampled_from(
        ['"', "'", ",", "\n", "\t", "{", "}", "[", "]", "<top>", "</top>", "<num>", "<title>", "\\", "\\u0000", "\x00",
         "\ufeff", "1e999", "-" * 3, "9" * 60, "null", "true", "[" * 40, "é", "\u2028", "\r"])),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 40)),
    st.tuples(st.just("duplicate"), st.integers(0, 10**6), st.integers(1, 80)),
)


def _mutate(data: bytes, mutations: list[tuple[str, int, Any]]) -> bytes:
    for kind, at, arg in mutations:
        at = at % (len(data) + 1)
        if kind == "insert":
            data = data[:at] + arg + data[at:]
        elif kind == "insert_text":
            data = data[:at] + arg.encode() + data[at:]
        elif kind == "delete":
            data = data[:at] + data[at + arg:]
        else:
            data = data[:at] + data[at:at + arg] + data[at:]
    return data


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(kind=st.sampled_from(list(VALID)), mutations=st.lists(_MUTATIONS, min_size=1, max_size=6))
def test_mutated_files_import_cleanly_or_name_the_problem(kind: str, mutations: list[tuple[str, int, Any]]) -> None:
    outcome(kind, _mutate(VALID[kind], mutations))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(kind=st.sampled_from(list(VALID)),
       data=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_random_files_import_cleanly_or_name_the_problem(kind: str, data: bytes) -> None:
    outcome(kind, data)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(value=st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["query", "query_id", "doc_id", "grade", "collection", "rows", "name", "views", "format",
                         "version", "rerankers", "k", "shown_n", "alpha", "properties", "mode", "model", "reranker"]),
        children, max_size=6),
    max_leaves=30,
))
def test_random_json_values_import_cleanly_or_name_the_problem(value: Any) -> None:
    data = json.dumps(value).encode()
    outcome("json", data)
    outcome("story", data)
    story = {"format": stories.FILE_FORMAT, "version": stories.FILE_VERSION, "name": "s", "views": [value]}
    outcome("story", json.dumps(story).encode())
