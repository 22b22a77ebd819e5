"""``rerank-playground load`` against the real Weaviate: a generated BEIR folder goes in with no key typed (the CLI
finds the local server's per-install key as the app does); the collection equals the same objects imported with a
bare weaviate-client (count and a BM25 query's order and scores); the query set's judgments are the qrels; a load
killed with SIGKILL and run again holds every document once; a batch evaluation on it runs from the CLI; a resumed run
goes back to the endpoints it was started with; a collection with another schema is refused untouched."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import weaviate
from weaviate.classes.config import DataType, Property
from weaviate.classes.data import DataObject
from weaviate.classes.query import MetadataQuery
from weaviate.exceptions import WeaviateQueryError
from weaviate.util import generate_uuid5

from rerank_playground.cli import main
from rerank_playground.dataset_load import DOC_ID_PROPERTY
from rerank_playground.store import open_store
from testkit.beir import ODD_ID, BeirFixture, write_beir, write_corpus
from testkit.weaviate_data import connect, unique_collection_name
from weaviate_local.server import WeaviateEndpoint

pytestmark = pytest.mark.weaviate
ROOT = Path(__file__).resolve().parents[2]


def _env(endpoint: WeaviateEndpoint) -> dict[str, str]:
    """A user's shell pointed at the server: WEAVIATE_URL and its gRPC port, and no key anywhere in it."""
    env = {k: v for k, v in os.environ.items() if k not in ("WEAVIATE_API_KEY", "JINAAI_APIKEY")}
    env.update(WEAVIATE_URL=endpoint.url, WEAVIATE_GRPC_PORT=str(endpoint.grpc_port), PYTHONPATH=str(ROOT))
    return env


@pytest.fixture
def shell(weaviate_server: WeaviateEndpoint, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("WEAVIATE_API_KEY", raising=False)
    monkeypatch.delenv("JINAAI_APIKEY", raising=False)
    monkeypatch.setenv("WEAVIATE_URL", weaviate_server.url)
    monkeypatch.setenv("WEAVIATE_GRPC_PORT", str(weaviate_server.grpc_port))
    monkeypatch.chdir(tmp_path)  # no project secrets file


@pytest.fixture
def client(weaviate_server: WeaviateEndpoint) -> Iterator[weaviate.WeaviateClient]:
    c = connect(weaviate_server)
    names: list[str] = []
    c.test_names = names  # type: ignore[attr-defined]
    try:
        yield c
    finally:
        for name in names:
            c.collections.delete(name)
        c.close()


def _name(client: weaviate.WeaviateClient) -> str:
    name = unique_collection_name("Beir")
    client.test_names.append(name)  # type: ignore[attr-defined]
    return name


def _bare_copy(client: weaviate.WeaviateClient, fixture: BeirFixture) -> str:
    """The same documents imported with weaviate-client alone (no vectors: BM25 does not read them)."""
    name = _name(client)
    client.collections.create(name, properties=[Property(name="text", data_type=DataType.TEXT),
                                                Property(name="title", data_type=DataType.TEXT)])
    rows = [json.loads(line) for line in fixture.corpus.read_text(encoding="utf-8").splitlines()]
    reply = client.collections.use(name).data.insert_many(
        [DataObject(properties={"text": r["text"], "title": r["title"]}, uuid=generate_uuid5(r["_id"])) for r in rows])
    assert not reply.has_errors
    return name


def _bm25(client: weaviate.WeaviateClient, name: str, query: str) -> list[tuple[float, list[tuple[str, str]]]]:
    """The ranking as (score, the documents with that score): the order, with ties (which Weaviate breaks by
    insertion order, and batches insert concurrently) as groups."""
    reply = client.collections.use(name).query.bm25(query, query_properties=["text", "title"], limit=300,
                                                     return_metadata=MetadataQuery(score=True))
    groups: dict[float, list[tuple[str, str]]] = {}
    for o in reply.objects:
        groups.setdefault(round(o.metadata.score or 0.0, 4), []).append((str(o.properties["text"]),
                                                                          str(o.properties["title"])))
    return [(score, sorted(docs)) for score, docs in groups.items()]


def _all_doc_ids(client: weaviate.WeaviateClient, name: str) -> list[str]:
    return [str(o.properties[DOC_ID_PROPERTY]) for o in
            client.collections.use(name).iterator(return_properties=[DOC_ID_PROPERTY])]


def test_load_equals_a_bare_client_import_and_its_query_set_is_the_qrels(
        shell: None, client: weaviate.WeaviateClient, weaviate_server: WeaviateEndpoint, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    fixture = write_beir(tmp_path / "mini")
    name, db = _name(client), tmp_path / "store.sqlite3"

    code = main(["load", str(fixture.zip(tmp_path / "mini.zip")), "--collection", name, "--db", str(db),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "300 objects imported, 0 already there, 0 failed" in err
    assert f"eval --query-set '{name} test' --rerank local" in err

    bare = _bare_copy(client, fixture)
    assert client.collections.use(name).aggregate.over_all(total_count=True).total_count == 300
    assert sorted(_all_doc_ids(client, name)) == sorted(fixture.doc_ids)  # the odd id as written
    for query in ("glacier meltwater", "volcano", "harbor dredging notes", "satellite orbit report"):
        loaded, plain = _bm25(client, name, query), _bm25(client, bare, query)
        assert loaded and loaded == plain

    store = open_store(str(db))
    try:
        qs = store.query_set(f"{name} test")
        assert qs.collection == name and qs.id_property == DOC_ID_PROPERTY
        assert {q.query_id: q.text for q in qs.queries} == fixture.queries  # judged queries only
        assert store.qrels(qs) == fixture.qrels
        assert any(ODD_ID in grades for grades in fixture.qrels.values())
    finally:
        store.close()

    # the same command again: nothing new, nothing doubled
    assert main(["load", str(fixture.folder), "--collection", name, "--db", str(db), "--no-progress"]) == 0
    assert "0 objects imported, 300 already there" in capsys.readouterr().err
    assert client.collections.use(name).aggregate.over_all(total_count=True).total_count == 300

    # a batch evaluation on it, end to end from the CLI, with no key in the environment
    report = tmp_path / "report.html"
    code = main(["eval", "--query-set", f"{name} test", "--rerank", "local", "--db", str(db), "--no-progress",
                 "-K", "30", "--report", str(report)])
    out = capsys.readouterr()
    assert code == 0, out.err
    run_id = re.search(r"run ([0-9a-f]{32})", out.err).group(1)  # type: ignore[union-attr]
    assert re.search(r"no rerank\s+nDCG@10 0\.\d{4} \[", out.out)
    assert report.stat().st_size > 0

    # --resume goes back to the run's endpoints, not to today's environment (keys: still never stored)
    store = open_store(str(db))
    try:
        endpoints = store.get_run(run_id).plan["endpoints"]
    finally:
        store.close()
    assert endpoints["url"] == weaviate_server.url and endpoints["grpc_port"] == weaviate_server.grpc_port
    assert "key" not in json.dumps(endpoints).lower().replace("jina_base_url", "")
    os.environ["WEAVIATE_URL"] = "http://127.0.0.1:9"  # nothing there
    os.environ.pop("WEAVIATE_GRPC_PORT")
    assert main(["eval", "--resume", run_id, "--db", str(db), "--no-progress"]) == 0, capsys.readouterr().err


def test_a_load_killed_mid_way_and_run_again_holds_each_document_once(
        client: weaviate.WeaviateClient, weaviate_server: WeaviateEndpoint, tmp_path: Path) -> None:
    n = 20_000
    folder = tmp_path / "big"
    (folder / "qrels").mkdir(parents=True)
    write_corpus(folder / "corpus.jsonl", n)
    (folder / "queries.jsonl").write_text('{"_id": "q1", "text": "glacier meltwater"}\n', encoding="utf-8")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td0\t2\nq1\td4\t1\n",
                                               encoding="utf-8")
    name = _name(client)
    command = [sys.executable, "-m", "rerank_playground.cli", "load", str(folder), "--collection", name,
               "--db", str(tmp_path / "store.sqlite3"), "--no-progress", "--batch-size", "20"]
    proc = subprocess.Popen(command, cwd=tmp_path, env=_env(weaviate_server), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        count = 0
        while proc.poll() is None and count == 0:  # wait until it has imported some objects
            if client.collections.exists(name):
                try:
                    count = client.collections.use(name).aggregate.over_all(total_count=True).total_count or 0
                except WeaviateQueryError:  # just created: its index may not be there yet (nothing imported)
                    count = 0
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    before = client.collections.use(name).aggregate.over_all(total_count=True).total_count or 0
    assert 0 < before < n  # killed mid-way

    again = subprocess.run(command, cwd=tmp_path, env=_env(weaviate_server), capture_output=True, text=True,
                           timeout=900)
    assert again.returncode == 0, again.stderr
    skipped = int(re.search(r"([\d,]+) already there", again.stderr).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert skipped >= before - 200  # what was in was skipped (the last unsent batch may be missing)
    ids = _all_doc_ids(client, name)
    assert len(ids) == n and len(set(ids)) == n
    assert client.collections.use(name).aggregate.over_all(total_count=True).total_count == n


def test_a_collection_with_another_schema_is_refused_untouched(
        shell: None, client: weaviate.WeaviateClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixture = write_beir(tmp_path / "mini", documents=60)
    name = _name(client)
    client.collections.create(name, properties=[Property(name="body", data_type=DataType.TEXT)])
    client.collections.use(name).data.insert({"body": "keep me"})
    code = main(["load", str(fixture.folder), "--collection", name, "--db", str(tmp_path / "s.sqlite3"),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"The collection '{name}' already exists and its properties are body (text)" in err
    assert "Traceback" not in err
    assert [o.properties for o in client.collections.use(name).iterator()] == [{"body": "keep me"}]


def test_a_malformed_line_is_named_and_nothing_is_written(
        shell: None, client: weaviate.WeaviateClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixture = write_beir(tmp_path / "bad", malformed=True)
    name = _name(client)
    code = main(["load", str(fixture.folder), "--collection", name, "--db", str(tmp_path / "s.sqlite3"),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"error: {fixture.corpus}, line 7: not valid JSON" in err
    assert not client.collections.exists(name)


def test_every_failed_object_is_reported_with_the_servers_reason(
        client: weaviate.WeaviateClient, tmp_path: Path) -> None:
    """Objects the server refuses (here: vectors of the wrong length) are each named with Weaviate's reason, no
    query set is saved, and the same load with good vectors then completes what is missing."""
    from rerank_playground.dataset_load import LoadProgress, Vectors, check_dataset, load_dataset, open_source
    from rerank_playground.embedders import get_local_embedder

    fixture = write_beir(tmp_path / "mini", documents=80)
    plan = check_dataset(open_source(fixture.folder))
    name = _name(client)
    good = get_local_embedder().embed

    def some_too_short(texts: list[str]) -> list[list[float]]:
        return [[0.1, 0.2, 0.3] if "volcano" in text else list(map(float, vector))
                for text, vector in zip(texts, good(texts), strict=True)]

    store = open_store(str(tmp_path / "store.sqlite3"))
    try:
        report = load_dataset(client, plan, name, vectors=Vectors("local"), embed=some_too_short, store=store,
                              progress=LoadProgress())
        volcanic = {json.loads(line)["_id"] for line in fixture.corpus.read_text(encoding="utf-8").splitlines()
                    if "volcano" in line}
        assert volcanic and {f.doc_id for f in report.failed} == volcanic
        assert all("vector" in f.reason.lower() and "length" in f.reason.lower() for f in report.failed)
        assert report.count == 80 - len(volcanic) and report.query_set is None and not report.complete
        assert store.query_sets() == []

        again = load_dataset(client, plan, name, vectors=Vectors("local"), embed=good, store=store)
        assert again.complete and again.sent == len(volcanic) and again.skipped == 80 - len(volcanic)
        assert again.count == 80 and again.query_set is not None
    finally:
        store.close()
