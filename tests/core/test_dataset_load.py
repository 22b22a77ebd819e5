"""Reading and checking a dataset before anything is written: BEIR folders and zips, CSV / JSONL tables with a
query-set file, and every refusal (malformed line named by file and line, unknown judged documents counted, an
empty corpus, a missing split, a grade out of range, a column that cannot be a property)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rerank_playground.dataset_load import (
    BadDatasetFile,
    Document,
    UnknownDocuments,
    Vectors,
    check_dataset,
    iter_documents,
    open_source,
)
from rerank_playground.errors import InvalidInput
from testkit.beir import MALFORMED_LINE, ODD_ID, write_beir


def test_a_beir_folder_and_its_zip_read_the_same(tmp_path: Path) -> None:
    fixture = write_beir(tmp_path / "mini")
    folder = check_dataset(open_source(fixture.folder))
    zipped = check_dataset(open_source(fixture.zip(tmp_path / "mini.zip")))
    for plan in (folder, zipped):
        assert plan.documents == 300
        assert plan.text_properties == ("text", "title")
        assert {q.query_id: q.text for q in plan.queries} == fixture.queries  # the unjudged query is left out
        qrels: dict[str, dict[str, int]] = {}
        for query_id, doc_id, grade in plan.judgments:
            qrels.setdefault(query_id, {})[doc_id] = grade
        assert qrels == fixture.qrels
    docs = list(iter_documents(folder.source, folder.text_properties))
    assert [d.doc_id for d in docs] == list(fixture.doc_ids)
    assert docs[5].doc_id == ODD_ID
    first = json.loads(fixture.corpus.read_text(encoding="utf-8").splitlines()[0])
    assert docs[0] == Document(first["_id"], {"text": first["text"], "title": first["title"]}, 1)


def test_a_malformed_line_is_named_by_file_and_line(tmp_path: Path) -> None:
    fixture = write_beir(tmp_path / "bad", malformed=True)
    with pytest.raises(BadDatasetFile) as err:
        check_dataset(open_source(fixture.folder))
    assert (err.value.file, err.value.line) == (str(fixture.corpus), MALFORMED_LINE)
    assert str(err.value).startswith(f"{fixture.corpus}, line {MALFORMED_LINE}: not valid JSON")
    with pytest.raises(BadDatasetFile) as zipped:
        check_dataset(open_source(fixture.zip(tmp_path / "bad.zip")))
    assert (zipped.value.file, zipped.value.line) == ("bad.zip:bad/corpus.jsonl", MALFORMED_LINE)


def test_judgments_of_unknown_documents_are_counted(tmp_path: Path) -> None:
    fixture = write_beir(tmp_path / "mini")
    qrels = fixture.folder / "qrels" / "test.tsv"
    qrels.write_text(qrels.read_text() + "q1\tnot-there\t1\nq2\tnor-this\t2\nq3\tnot-there\t0\n")
    with pytest.raises(UnknownDocuments, match=r"test.tsv names 2 documents that the corpus does not hold "
                                               r"\(e.g. 'nor-this', 'not-there'\)"):
        check_dataset(open_source(fixture.folder))


@pytest.mark.parametrize(("row", "problem"), [
    ("q1\td0001\t5", "line 2: the score '5' is not a grade 0, 1, 2 or 3."),
    ("q1\td0001", "line 2: expected query-id, corpus-id and score separated by tabs."),
    ("q1\td0001\t1\nq1\td0001\t2", "line 3: 'd0001' is graded 2 for 'q1' here but 1 on line 2."),
])
def test_bad_qrels_lines_are_named(tmp_path: Path, row: str, problem: str) -> None:
    fixture = write_beir(tmp_path / "mini")
    (fixture.folder / "qrels" / "test.tsv").write_text(f"query-id\tcorpus-id\tscore\n{row}\n")
    with pytest.raises(BadDatasetFile) as err:
        check_dataset(open_source(fixture.folder))
    assert str(err.value).endswith(problem + " Fix that line (or remove it) and load again.")


def test_an_empty_corpus_and_a_missing_split_are_refused(tmp_path: Path) -> None:
    fixture = write_beir(tmp_path / "mini")
    with pytest.raises(InvalidInput, match=r"has no qrels/dev.tsv \(splits found: test\)"):
        open_source(fixture.folder, split="dev")
    fixture.corpus.write_text("\n")
    with pytest.raises(InvalidInput, match="holds no document"):
        check_dataset(open_source(fixture.folder))


def test_a_query_missing_from_queries_jsonl_is_refused(tmp_path: Path) -> None:
    fixture = write_beir(tmp_path / "mini")
    (fixture.folder / "queries.jsonl").write_text('{"_id": "q1", "text": "glacier meltwater"}\n')
    with pytest.raises(InvalidInput, match=r"judges 19 queries that queries.jsonl does not hold"):
        check_dataset(open_source(fixture.folder))


def test_a_csv_of_documents_with_a_query_set_file(tmp_path: Path) -> None:
    docs = tmp_path / "docs.csv"
    docs.write_text('id,headline,body\nA 1,"Cats, dogs",fur and paws\nB2,Markets,stocks "closed" higher\n')
    queries = tmp_path / "judged.csv"
    queries.write_text("query_id,query,doc_id,grade\nq1,cat fur,A 1,3\nq1,cat fur,B2,0\n")
    plan = check_dataset(open_source(docs, query_file=queries))
    assert plan.text_properties == ("headline", "body") and plan.documents == 2
    assert [(d.doc_id, d.texts) for d in iter_documents(plan.source, plan.text_properties)] == [
        ("A 1", {"headline": "Cats, dogs", "body": "fur and paws"}),
        ("B2", {"headline": "Markets", "body": 'stocks "closed" higher'})]
    assert plan.judgments == (("q1", "A 1", 3), ("q1", "B2", 0))
    queries.write_text("query_id,query,doc_id,grade\nq1,cat fur,C3,3\n")
    with pytest.raises(UnknownDocuments, match="names 1 document that"):
        check_dataset(open_source(docs, query_file=queries))


def test_csv_and_jsonl_problems_are_named(tmp_path: Path) -> None:
    docs = tmp_path / "docs.csv"
    docs.write_text("id,body\nA,one\nB,two,three\n")
    with pytest.raises(BadDatasetFile, match=r"docs.csv, line 3: expected 2 columns"):
        check_dataset(open_source(docs))
    docs.write_text("id,body text\nA,one\n")
    with pytest.raises(BadDatasetFile, match=r"the column 'body text' cannot be a Weaviate property name"):
        check_dataset(open_source(docs))
    lines = tmp_path / "docs.jsonl"
    lines.write_text('{"id": "a", "body": "one"}\n{"id": "", "body": "two"}\n')
    with pytest.raises(BadDatasetFile, match=r"docs.jsonl, line 2: the document id \(id\) is missing or empty"):
        check_dataset(open_source(lines))
    lines.write_text('{"id": "a", "body": "one"}\n{"id": "b", "body": 2}\n')
    with pytest.raises(BadDatasetFile, match=r"line 2: 'body' of 'b' is not text"):
        check_dataset(open_source(lines))
    lines.write_bytes(b'{"id": "a", "body": "one"}\n{"id": "b", "body": "\xff"}\n')
    with pytest.raises(BadDatasetFile, match=r"line 2: the text is not UTF-8"):
        check_dataset(open_source(lines))


def test_vectors_choices() -> None:
    assert Vectors.parse("local") == Vectors("local")
    assert Vectors.parse("jina").model == "jina-embeddings-v3"
    assert Vectors.parse("server:text2vec-jinaai").query_embedder == "server"
    with pytest.raises(InvalidInput, match="Unknown vectors 'server'"):
        Vectors.parse("server")
