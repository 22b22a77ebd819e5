"""The demo collections against a real weaviate-server: load, reload, search, refuse foreign collections,
and the evidence behind each suggested query. Also the two scripts (scripts.load_demo, scripts.demo)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import weaviate
from weaviate.classes.config import Configure, DataType, Property
from weaviate.classes.query import HybridFusion

from rerank_playground.demo.datasets import (
    DEMO_COLLECTION_NAMES,
    DEMO_JEOPARDY,
    DEMO_MARKER,
    DEMO_WIKI,
    is_demo_description,
    jeopardy_objects,
    wiki_objects,
)
from rerank_playground.demo.judgements import JUDGEMENTS_FILE, load_judgements
from rerank_playground.demo.loader import (
    DEFAULT_JINA_MODEL,
    FLUSH_DIRTY_AFTER_S,
    JINA_RERANKER_MODULE,
    STABILITY_DEPTH,
    DemoCollectionConflict,
    demo_status,
    load_demo,
    search_snapshot,
    wait_until_stable,
)
from rerank_playground.demo.suggestions import SUGGESTED_QUERIES, SuggestedQuery
from rerank_playground.embedders import get_local_embedder
from rerank_playground.models import Hit
from rerank_playground.rerankers.local import LocalReranker
from testkit.weaviate_data import connect
from weaviate_local.server import WeaviateEndpoint, find_binary, free_port, is_ready

pytestmark = pytest.mark.weaviate

WIKI_JUDGEMENTS = sum(j.collection == "DemoWiki" for j in load_judgements())

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = {DEMO_WIKI.name: len(wiki_objects()), DEMO_JEOPARDY.name: len(jeopardy_objects())}


@pytest.fixture(scope="module")
def client(weaviate_server: WeaviateEndpoint) -> Iterator[weaviate.WeaviateClient]:
    c = connect(weaviate_server)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def loaded(client: weaviate.WeaviateClient) -> weaviate.WeaviateClient:
    load_demo(client)  # a no-op when already complete
    return client


def count(client: weaviate.WeaviateClient, name: str) -> int:
    return client.collections.get(name).aggregate.over_all(total_count=True).total_count or 0


def drop_demo_collections(client: weaviate.WeaviateClient) -> None:
    for name in DEMO_COLLECTION_NAMES:
        if client.collections.exists(name):
            assert is_demo_description(client.collections.get(name).config.get().description)
            client.collections.delete(name)


# ----------------------------------------------------------------------------------------- loading


def test_load_demo_into_a_fresh_server(client: weaviate.WeaviateClient) -> None:
    drop_demo_collections(client)
    assert demo_status(client) == {name: "missing" for name in DEMO_COLLECTION_NAMES}
    calls: list[tuple[str, int, int]] = []
    started = time.perf_counter()
    reports = load_demo(client, progress=lambda name, done, total: calls.append((name, done, total)))
    elapsed = time.perf_counter() - started
    print(f"\nload_demo from scratch: {elapsed:.1f}s; " + ", ".join(f"{r.collection} {r.count}" for r in reports))

    assert [r.collection for r in reports] == list(DEMO_COLLECTION_NAMES)
    has_module = JINA_RERANKER_MODULE in client.get_meta()["modules"]
    for report in reports:
        assert report.action == "created"
        assert report.count == EXPECTED[report.collection] == count(client, report.collection)
        config = client.collections.get(report.collection).config.get()
        assert config.description.startswith(DEMO_MARKER)
        assert [v.vectorizer.vectorizer.value for v in config.vector_config.values()] == ["none"]
        if has_module:  # configured key or not: it costs nothing until a query uses it
            assert config.reranker_config is not None
            assert config.reranker_config.reranker.value == JINA_RERANKER_MODULE
            assert config.reranker_config.model["model"] == DEFAULT_JINA_MODEL
            assert report.reranker and DEFAULT_JINA_MODEL in report.reranker
        else:
            assert config.reranker_config is None and report.reranker is None
        # progress went from 0 to the total, monotonically
        mine = [(done, total) for name, done, total in calls if name == report.collection]
        assert mine[0][0] == 0 and mine[-1] == (report.count, report.count)
        assert [d for d, _ in mine] == sorted(d for d, _ in mine)
    assert demo_status(client) == {name: "ready" for name in DEMO_COLLECTION_NAMES}

    # Ready means stable: after the wait `make demo` and the fixtures do, identical searches answer identically in
    # every mode — the first of ten equals the tenth, and the wait covered the memtable flush that moves BM25 scores.
    written_at = time.monotonic()
    waited = wait_until_stable(client, reports, written_at=written_at)
    assert time.monotonic() - written_at >= FLUSH_DIRTY_AFTER_S
    print(f"stable after {waited:.0f}s")
    searches = [{name: search_snapshot(client, name) for name in DEMO_COLLECTION_NAMES} for _ in range(10)]
    for name in DEMO_COLLECTION_NAMES:
        assert set(searches[0][name]) == {"vector", "keyword", "hybrid"}
        assert all(len(top) == STABILITY_DEPTH for top in searches[0][name].values())
        assert searches[9][name] == searches[0][name]


def test_loading_again_duplicates_nothing_and_embeds_nothing(
    loaded: weaviate.WeaviateClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rerank_playground.embedders

    def no_embedding() -> None:
        raise AssertionError("loading complete demo collections again must not embed anything")

    monkeypatch.setattr(rerank_playground.embedders, "get_local_embedder", no_embedding)
    reports = load_demo(loaded, jina_key_present=True)
    assert [r.action for r in reports] == ["skipped", "skipped"]
    assert {r.collection: r.count for r in reports} == EXPECTED
    assert {name: count(loaded, name) for name in DEMO_COLLECTION_NAMES} == EXPECTED
    # the stable UUIDs are the ones computed offline
    sample = jeopardy_objects()[0]
    fetched = loaded.collections.get(DEMO_JEOPARDY.name).query.fetch_object_by_id(sample.uuid)
    assert fetched is not None and fetched.properties["question"] == sample.properties["question"]


def test_an_incomplete_or_outdated_demo_collection_is_recreated(loaded: weaviate.WeaviateClient) -> None:
    jeopardy = loaded.collections.get(DEMO_JEOPARDY.name)
    for obj in jeopardy_objects()[:5]:
        jeopardy.data.delete_by_id(obj.uuid)
    assert count(loaded, DEMO_JEOPARDY.name) == EXPECTED[DEMO_JEOPARDY.name] - 5
    assert demo_status(loaded)[DEMO_JEOPARDY.name] == "incomplete"
    reports = {r.collection: r for r in load_demo(loaded)}
    assert reports[DEMO_JEOPARDY.name].action == "recreated"
    assert reports[DEMO_WIKI.name].action == "skipped"
    assert count(loaded, DEMO_JEOPARDY.name) == EXPECTED[DEMO_JEOPARDY.name]

    # complete, but loaded from other data (another fingerprint): reloaded too
    jeopardy.config.update(description=f"{DEMO_MARKER}: old data. [data 000000000000]")
    assert demo_status(loaded)[DEMO_JEOPARDY.name] == "incomplete"
    reports = {r.collection: r for r in load_demo(loaded, collections=[DEMO_JEOPARDY.name])}
    assert reports[DEMO_JEOPARDY.name].action == "recreated"
    assert demo_status(loaded)[DEMO_JEOPARDY.name] == "ready"


def test_a_foreign_collection_with_a_demo_name_is_refused_untouched(loaded: weaviate.WeaviateClient) -> None:
    wiki = loaded.collections.get(DEMO_WIKI.name)
    wiki_before = (wiki.config.get().description, count(loaded, DEMO_WIKI.name))
    loaded.collections.delete(DEMO_JEOPARDY.name)  # ours: checked by the fixture's load
    try:
        for description in ("Somebody's own quiz questions", None):
            foreign = loaded.collections.create(
                DEMO_JEOPARDY.name,
                description=description,
                properties=[Property(name="question", data_type=DataType.TEXT)],
                vector_config=Configure.Vectors.self_provided(),
            )
            foreign.data.insert_many([{"question": f"my question {i}"} for i in range(3)])
            assert demo_status(loaded)[DEMO_JEOPARDY.name] == "foreign"

            with pytest.raises(DemoCollectionConflict) as err:
                load_demo(loaded)
            assert DEMO_JEOPARDY.name in str(err.value) and "untouched" in str(err.value)

            config = loaded.collections.get(DEMO_JEOPARDY.name).config.get()
            assert config.description == description
            assert [p.name for p in config.properties] == ["question"]
            assert config.reranker_config is None
            assert count(loaded, DEMO_JEOPARDY.name) == 3
            # nothing else was written either: all names are checked before any write
            assert (wiki.config.get().description, count(loaded, DEMO_WIKI.name)) == wiki_before
            loaded.collections.delete(DEMO_JEOPARDY.name)
    finally:
        if loaded.collections.exists(DEMO_JEOPARDY.name):
            loaded.collections.delete(DEMO_JEOPARDY.name)  # only the test's own foreign stand-in
        load_demo(loaded, collections=[DEMO_JEOPARDY.name])
    assert count(loaded, DEMO_JEOPARDY.name) == EXPECTED[DEMO_JEOPARDY.name]


# ------------------------------------------------------------------------------------------ search


def test_each_search_mode_returns_sensible_results(loaded: weaviate.WeaviateClient) -> None:
    embedder = get_local_embedder()
    jeopardy = loaded.collections.get(DEMO_JEOPARDY.name)
    wiki = loaded.collections.get(DEMO_WIKI.name)

    keyword = jeopardy.query.bm25("Giverny water lily pond", limit=5)
    assert "Monet" in keyword.objects[0].properties["answer"]

    query = "Who painted water lilies at his garden?"
    vector = jeopardy.query.near_vector(embedder.embed_query(query), limit=5)
    assert "Monet" in vector.objects[0].properties["answer"]

    query = "how do plants turn sunlight into energy"
    hybrid = wiki.query.hybrid(query, vector=embedder.embed_query(query), alpha=0.5, limit=5)
    assert "photosynth" in hybrid.objects[0].properties["passage"].lower()
    texts = [o.properties["passage"].lower() for o in hybrid.objects]
    assert sum("photosynth" in t or "sunlight" in t for t in texts) >= 3

    query = "tides are caused by the gravity of the Moon"
    near = wiki.query.near_vector(embedder.embed_query(query), limit=5)
    assert any("tide" in o.properties["passage"].lower() for o in near.objects[:3])


def _retrieve(client: weaviate.WeaviateClient, q: SuggestedQuery, limit: int = 50) -> list[Hit]:
    """What the Search page does by default: 50 candidates; hybrid = alpha 0.5, ranked fusion, local vector."""
    collection = client.collections.get(q.collection)
    text_property = DEMO_WIKI.text_property if q.collection == DEMO_WIKI.name else DEMO_JEOPARDY.text_property
    props = list(q.properties) or None
    if q.mode == "keyword":
        result = collection.query.bm25(q.query, query_properties=props, limit=limit)
    elif q.mode == "hybrid":
        vector = get_local_embedder().embed_query(q.query)
        result = collection.query.hybrid(
            q.query, vector=vector, alpha=0.5, fusion_type=HybridFusion.RANKED, query_properties=props, limit=limit
        )
    else:
        result = collection.query.near_vector(get_local_embedder().embed_query(q.query), limit=limit)
    return [
        Hit(rank=i + 1, uuid=str(o.uuid), text=o.properties[text_property], properties=dict(o.properties))
        for i, o in enumerate(result.objects)
    ]


@pytest.mark.parametrize(
    "suggested",
    [q for queries in SUGGESTED_QUERIES.values() for q in queries],
    ids=lambda q: f"{q.collection}:{q.query}",
)
def test_suggested_query_is_visibly_changed_by_reranking(
    loaded: weaviate.WeaviateClient, suggested: SuggestedQuery
) -> None:
    hits = _retrieve(loaded, suggested)
    assert len(hits) == 50
    result = LocalReranker().rerank(suggested.query, hits, LocalReranker.models[0])
    order = list(result.order)
    moved_in_top10 = sum(1 for rank, index in enumerate(order[:10]) if index != rank)
    assert moved_in_top10 >= 5, f"only {moved_in_top10} of the top 10 change place"

    def matches(hit: Hit) -> bool:
        return suggested.look_for.lower() in " ".join(str(v) for v in hit.properties.values()).lower()

    before = next(i for i, h in enumerate(hits) if matches(h))  # must be among the candidates
    after = order.index(before)
    print(
        f"\n{suggested.query!r}: {suggested.look_for!r} rank {before + 1} -> {after + 1} (local baseline), "
        f"{moved_in_top10}/10 of the top 10 moved"
    )
    if suggested.baseline_helps:
        assert after < before
    else:
        assert after > before


# ------------------------------------------------------------------------------------- judgements


def test_judgements_file_is_what_the_builder_makes_on_the_demo(
    loaded: weaviate.WeaviateClient, weaviate_server: WeaviateEndpoint, tmp_path: Path
) -> None:
    """The qrels are reproducible: the same queries, rule and pool (keyword, vector, hybrid, local baseline) on a
    freshly loaded demo give the committed file. Every graded row (the rule over the whole collection) must be
    the same; the grade-0 rows come from pooling the top 20 of each search, and vector search is approximate
    (an HNSW graph built by concurrent inserts differs a little between loads), so a document at the pool's edge
    may come or go: at most 1% of them."""
    env = _script_env(WEAVIATE_URL=weaviate_server.url, WEAVIATE_GRPC_PORT=str(weaviate_server.grpc_port))
    out = tmp_path / "judgements.json"
    done = subprocess.run([sys.executable, "-m", "scripts.build_judgements", "--out", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr

    def rows(path: Path) -> set[tuple[str, str, str, int]]:
        return {(r["collection"], r["query"], r["doc_id"], r["grade"])
                for r in json.loads(path.read_text(encoding="utf-8"))}

    built, committed = rows(out), rows(JUDGEMENTS_FILE)
    assert {r for r in built if r[3] > 0} == {r for r in committed if r[3] > 0}
    pooled_built, pooled_committed = {r for r in built if r[3] == 0}, {r for r in committed if r[3] == 0}
    assert len(pooled_built ^ pooled_committed) <= len(pooled_committed) // 100, pooled_built ^ pooled_committed


# ----------------------------------------------------------------------------------------- scripts


def _script_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("WEAVIATE_URL", "WEAVIATE_GRPC_PORT", "HOST", "PORT")}
    env.update(extra)
    return env


def test_load_demo_script(loaded: weaviate.WeaviateClient, weaviate_server: WeaviateEndpoint) -> None:
    env = _script_env(WEAVIATE_URL=weaviate_server.url, WEAVIATE_GRPC_PORT=str(weaviate_server.grpc_port))
    done = subprocess.run(
        [sys.executable, "-m", "scripts.load_demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert f"{DEMO_WIKI.name}: {EXPECTED[DEMO_WIKI.name]:,} objects, already loaded" in done.stdout
    assert "HTTP Request" not in done.stdout + done.stderr


@pytest.fixture
def stub_app(tmp_path: Path) -> Path:
    app = tmp_path / "app.py"
    app.write_text(
        "import os\nimport streamlit as st\n"
        "st.write(os.environ['WEAVIATE_URL'], os.environ['WEAVIATE_GRPC_PORT'], os.environ['RERANK_PLAYGROUND_DEMO'])\n"
    )
    return app


def _run_demo_until_ready(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "scripts.demo", *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 480  # a fresh import waits for the BM25 flush before it is ready
    while "is running:" not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"python -m scripts.demo did not get ready:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)  # polling the script's own output
    return proc


def test_demo_script_reuses_a_running_weaviate_and_leaves_it_running(
    loaded: weaviate.WeaviateClient, weaviate_server: WeaviateEndpoint, stub_app: Path, tmp_path: Path
) -> None:
    port = free_port()
    env = _script_env(WEAVIATE_URL=weaviate_server.url, WEAVIATE_GRPC_PORT=str(weaviate_server.grpc_port))
    log = tmp_path / "demo.log"
    proc = _run_demo_until_ready(["--port", str(port), "--app", str(stub_app)], env, log)
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=5).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    output = log.read_text(errors="replace")
    assert code == 0, output[-3000:]
    assert "already loaded" in output and "App stopped." in output
    assert f"DemoWiki key-term queries: 25 queries, {WIKI_JUDGEMENTS} judgements" in output  # the sets, in the store
    assert "Weaviate stopped" not in output
    assert is_ready(weaviate_server.url)  # reused, so left running
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
    assert {name: count(loaded, name) for name in DEMO_COLLECTION_NAMES} == EXPECTED


def test_demo_script_stops_the_weaviate_it_started(stub_app: Path, tmp_path: Path) -> None:
    binary = find_binary(progress=lambda _: None, build=False)
    http_port, grpc_port, app_port = free_port(), free_port(), free_port()
    env = _script_env(RERANK_PLAYGROUND_CACHE=str(tmp_path / "cache"), WEAVIATE_BINARY=str(binary))
    log = tmp_path / "demo.log"
    args = [
        "--port",
        str(app_port),
        "--http-port",
        str(http_port),
        "--grpc-port",
        str(grpc_port),
        "--app",
        str(stub_app),
    ]
    proc = _run_demo_until_ready(args, env, log)
    try:
        assert is_ready(f"http://127.0.0.1:{http_port}")
    finally:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        code = proc.wait(timeout=90)
    output = log.read_text(errors="replace")
    assert code == 0, output[-3000:]
    assert "started by this script" in output and "Weaviate stopped" in output
    assert f"{DEMO_WIKI.name}: {EXPECTED[DEMO_WIKI.name]:,} objects, loaded" in output
    assert not is_ready(f"http://127.0.0.1:{http_port}")


def test_closing_the_terminal_of_make_demo_stops_everything(tmp_path: Path) -> None:
    """SIGHUP to the terminal's process group (make and the script, as when the terminal window closes) stops
    the app and the Weaviate the script started, like Ctrl-C. Run through `make demo`, with the install step
    satisfied by a fresh stamp file (nothing is installed) and this interpreter as PY."""
    binary = find_binary(progress=lambda _: None, build=False)
    http_port, grpc_port, app_port = free_port(), free_port(), free_port()
    stub_app = tmp_path / "app.py"
    stub_app.write_text("import streamlit as st\nst.write('stub')\n")
    stamp = tmp_path / "installed"
    stamp.touch()  # newer than pyproject.toml: make has nothing to install
    env = _script_env(RERANK_PLAYGROUND_CACHE=str(tmp_path / "cache"), WEAVIATE_BINARY=str(binary))
    demo_args = f"--port {app_port} --http-port {http_port} --grpc-port {grpc_port} --app {stub_app}"
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "-C", str(ROOT), "demo", f"PY={sys.executable}", f"STAMP={stamp}",
             f"DEMO_ARGS={demo_args}"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,  # its own "terminal" group
        )
    app_url = f"http://127.0.0.1:{app_port}/_stcore/health"
    try:
        _hang_up_make_demo(make, log, app_url, http_port)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(make.pid, signal.SIGKILL)
        for pid in _pids_running(str(stub_app)):  # a failed run must leave nothing: the app has its own session
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


def _pids_running(argument: str) -> list[int]:
    """Processes whose command line holds ``argument`` (here a path unique to one test)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                if argument in (proc / "cmdline").read_bytes().decode(errors="replace").split("\0"):
                    found.append(int(proc.name))
    return found


def _hang_up_make_demo(make: subprocess.Popen[bytes], log: Path, app_url: str, http_port: int) -> None:
    deadline = time.monotonic() + 480  # a fresh import waits for the BM25 flush before it is ready
    while "is running:" not in log.read_text(errors="replace"):
        if make.poll() is not None or time.monotonic() > deadline:
            os.killpg(make.pid, signal.SIGKILL)
            pytest.fail(f"make demo did not get ready:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)  # polling the script's own output
    assert is_ready(f"http://127.0.0.1:{http_port}")
    assert httpx.get(app_url, timeout=5).status_code == 200

    os.killpg(make.pid, signal.SIGHUP)  # what closing the terminal does
    make.wait(timeout=30)
    deadline = time.monotonic() + 90
    while "Weaviate stopped" not in log.read_text(errors="replace"):  # the script goes on after make has gone
        assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
        time.sleep(0.2)  # polling the script's own output
    output = log.read_text(errors="replace")
    assert "App stopped." in output and "started by this script" in output
    assert not is_ready(f"http://127.0.0.1:{http_port}")
    with pytest.raises(httpx.HTTPError):
        httpx.get(app_url, timeout=2)
