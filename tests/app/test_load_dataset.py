"""Collections → "Load a dataset" through AppTest against the real Weaviate: a BEIR .zip upload loads in the
background, its query set holds the qrels and opens on Evaluate in one click; a malformed line is named on the page
and nothing is written; a long load is cancelled from the page and loading the same file again resumes it."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from components.load_dataset_view import JOB
from rerank_playground.dataset_load import LoadJob
from rerank_playground.store import open_store
from testkit.beir import write_beir, write_corpus
from testkit.weaviate_data import connect, unique_collection_name
from tests.app.conftest import AppEnv
from tests.app.helpers import assert_healthy, values

pytestmark = pytest.mark.weaviate


@pytest.fixture
def names(app_env: AppEnv) -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    client = connect(app_env.weaviate)
    try:
        for name in made:
            client.collections.delete(name)
    finally:
        client.close()


def _open(env: AppEnv) -> AppTest:
    at = env.new_app().run()
    at.switch_page("pages/collections.py").run()
    assert_healthy(at)
    return at


def _upload(at: AppTest, zip_path: Path, collection: str) -> AppTest:
    at.file_uploader(key="load.file").set_value((zip_path.name, zip_path.read_bytes(), "application/zip"))
    at.text_input(key="load.collection").set_value(collection)
    at.run()
    at.button(key="load.start").click().run()
    assert_healthy(at)
    return at


def _job(at: AppTest) -> LoadJob:
    job = at.session_state[JOB]
    assert isinstance(job, LoadJob)
    return job


def test_a_beir_zip_loads_and_its_query_set_opens_on_evaluate(app_env: AppEnv, names: list[str], tmp_path: Path,
                                                               private_store: Path) -> None:
    fixture = write_beir(tmp_path / "mini")
    name = unique_collection_name("Upload")
    names.append(name)
    at = _upload(_open(app_env), fixture.zip(tmp_path / "mini.zip"), name)
    assert _job(at).wait(timeout=240)
    at.run()
    assert_healthy(at)
    assert any(f"{name}: 300 objects imported, 0 already there, 0 failed" in s
               for s in values(at.success))  # the name shown as text
    store = open_store(str(private_store))
    try:
        qs = store.query_set(f"{name} test")
        assert store.qrels(qs) == fixture.qrels
    finally:
        store.close()
    at.button(key="load.evaluate").click().run()
    assert_healthy(at)
    assert at.selectbox(key="evaluate.set").value == f"{name} test"
    assert at.button(key="evaluate.start") is not None


def test_a_malformed_upload_is_named_and_nothing_is_written(app_env: AppEnv, names: list[str],
                                                            tmp_path: Path) -> None:
    fixture = write_beir(tmp_path / "bad", malformed=True)
    name = unique_collection_name("Upload")
    names.append(name)
    at = _upload(_open(app_env), fixture.zip(tmp_path / "bad.zip"), name)
    assert _job(at).wait(timeout=120)
    at.run()
    assert_healthy(at)
    problem = "dataset.zip:bad/corpus.jsonl, line 7: not valid JSON"  # shown as text (values() reads it as shown)
    assert any(problem in s for s in values(at.error))
    client = connect(app_env.weaviate)
    try:
        assert not client.collections.exists(name)
    finally:
        client.close()
    at.text_input(key="load.collection").set_value("not a name").run()
    at.button(key="load.start").click().run()
    assert any("'not a name' is not a collection name Weaviate accepts" in s for s in values(at.error))


def test_a_load_cancelled_from_the_page_resumes_when_loaded_again(app_env: AppEnv, names: list[str],
                                                                   tmp_path: Path) -> None:
    n = 20_000
    folder = tmp_path / "big"
    (folder / "qrels").mkdir(parents=True)
    write_corpus(folder / "corpus.jsonl", n)
    (folder / "queries.jsonl").write_text('{"_id": "q1", "text": "glacier meltwater"}\n', encoding="utf-8")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td0\t2\n", encoding="utf-8")
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for file in folder.rglob("*"):
            if file.is_file():
                z.write(file, file.relative_to(folder).as_posix())
    name = unique_collection_name("Upload")
    names.append(name)
    at = _upload(_open(app_env), archive, name)
    job = _job(at)
    while job.running and job.progress.sent == 0:  # wait until it has sent some objects
        job.wait(0.05)
    assert job.running
    at.button(key="load.cancel").click().run()
    assert job.wait(timeout=240)
    at.run()
    assert_healthy(at)
    report = job.report
    assert report is not None and report.cancelled and 0 < report.count < n
    assert any("Cancelled." in s and "again to resume" in s for s in values(at.warning))

    at.button(key="load.start").click().run()  # the same file, the same collection
    again = _job(at)
    assert again is not job and again.wait(timeout=600)
    at.run()
    assert again.report is not None and again.report.complete
    assert again.report.skipped >= report.count - 512 and again.report.count == n
    assert any(f"the collection holds {n:,} objects" in s for s in values(at.success))
