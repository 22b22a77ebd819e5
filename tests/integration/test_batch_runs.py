"""Batch runs against the real Weaviate (demo collection) and the Jina stand-in: faults lose no query, cancel + resume
equals an uninterrupted run, bad plans are refused before anything is saved, and the saved run summarises to the
same figures as a direct computation."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import weaviate
from weaviate.classes.config import Configure, DataType, Property

from rerank_playground.connection import ConnectionSpec
from rerank_playground.demo.datasets import DEMO_WIKI
from rerank_playground.demo.judgements import load_judgements
from rerank_playground.demo.loader import load_demo, wait_until_stable
from rerank_playground.errors import CollectionNotFound, KeyRequired, RunRefused
from rerank_playground.evaluation import analysis, runs
from rerank_playground.evaluation.batch_engine import EngineOptions, resume_run, start_run
from rerank_playground.evaluation.batch_plan import BASELINE, RunPlan, search_setting
from rerank_playground.evaluation.judgments import QuerySet, SetQuery
from rerank_playground.evaluation.metrics import evaluate_run
from rerank_playground.keys import ProviderKeys
from rerank_playground.models import SearchMode
from rerank_playground.rerankers.choice import RerankChoice, parse_choice
from rerank_playground.store import Store, open_store
from testkit.jina_stand_in import TEST_JINA_KEY, Fault, JinaStandIn
from testkit.postgres import ThrowawayPostgres
from testkit.weaviate_data import connect
from weaviate_local.server import WeaviateEndpoint

pytestmark = pytest.mark.weaviate

LOCAL = RerankChoice("local", "local-wordllama")
JINA = RerankChoice("jina", "jina-reranker-v2-base-multilingual")
QUERIES = 10
SETTING = search_setting(mode=SearchMode.HYBRID, limit=20)


def spec_of(endpoint: WeaviateEndpoint) -> ConnectionSpec:
    return ConnectionSpec(http_host=endpoint.host, http_port=endpoint.http_port, grpc_port=endpoint.grpc_port,
                          weaviate_api_key=endpoint.api_key)


def keys_of(jina_key: str | None = None) -> ProviderKeys:
    return ProviderKeys.of(JINAAI_APIKEY=jina_key)


@pytest.fixture(scope="module")
def demo_loaded(weaviate_server: WeaviateEndpoint) -> Iterator[None]:
    client = connect(weaviate_server)
    try:
        reports = load_demo(client, collections=[DEMO_WIKI.name])
        wait_until_stable(client, reports, written_at=time.monotonic())  # ready means stable
    finally:
        client.close()
    yield


def demo_query_set(store: Store, name: str = "demo-wiki", n: int = QUERIES) -> QuerySet:
    """The first ``n`` judged DemoWiki queries of the demo's judgement file, imported as a query set."""
    rows = [j for j in load_judgements() if j.collection == DEMO_WIKI.name]
    texts = list(dict.fromkeys(j.query for j in rows))[:n]
    qs = QuerySet(name=name, collection=DEMO_WIKI.name,
                  queries=tuple(SetQuery(f"q{i:02d}", text) for i, text in enumerate(texts)))
    store.import_query_set(qs, [(j.query, j.doc_id, j.grade) for j in rows if j.query in texts])
    return store.query_set(name)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(str(tmp_path / "store.sqlite3"))
    yield s
    s.close()


def comparable(results: list[runs.QueryResult]) -> dict[tuple[int, str, str], tuple[object, ...]]:
    """What must be identical between two runs of the same plan (not timings)."""
    return {r.key: (r.status, r.doc_ids, r.metrics) for r in results}


def test_demo_set_baseline_vs_local_runs_end_to_end(demo_loaded: None, weaviate_server: WeaviateEndpoint,
                                                    store: Store) -> None:
    qs = demo_query_set(store)
    qrels = store.qrels(qs)
    seen: list[runs.QueryResult] = []
    plan = RunPlan(query_set=qs, settings=(SETTING,), rerankers=(LOCAL,), k=10, name="demo baseline vs local")
    handle = start_run(store, plan, spec_of(weaviate_server), qrels=qrels, options=EngineOptions(concurrency=3),
                       on_result=seen.append)
    progress = handle.wait(timeout=240)
    assert progress.state == "finished", progress.message
    assert (progress.total, progress.done, progress.failed, progress.remaining) == (2 * QUERIES, 2 * QUERIES, 0, 0)

    record = store.get_run(handle.run_id)
    assert record.status == "finished" and record.ended_at is not None
    assert record.collection == DEMO_WIKI.name and record.object_count > 0
    # No property chosen: the run records the one the core's rule picks (the demo spec's declared property)
    assert [s["text_property"] for s in record.plan["settings"]] == ["text"]
    assert record.server_version and record.app_version
    saved = store.load_results(handle.run_id)
    assert Counter(r.ordering for r in saved) == {BASELINE: QUERIES, LOCAL.label: QUERIES}
    assert sorted(r.key for r in saved) == sorted(r.key for r in seen)  # every result was saved as it finished
    for r in saved:  # the stored metrics are ir-measures' for the stored ranking against the snapshot qrels
        assert r.status == "done" and r.latency_ms is not None and len(r.ranking) > 0
        expected = evaluate_run({r.query_id: qrels[r.query_id]}, {r.query_id: list(r.doc_ids)},
                                record.plan["measures"])[r.query_id]
        assert r.metrics == expected
    baseline_scores = [score for r in saved if r.ordering == BASELINE for _, score in r.ranking]
    assert all(score is not None for score in baseline_scores)

    summary = analysis.summarise(record, saved)
    setting = summary.settings[0]
    ndcg = {r.query_id: r.metrics["nDCG@10"] for r in saved if r.ordering == BASELINE}
    assert setting.ci(BASELINE, "nDCG@10").mean == pytest.approx(sum(ndcg.values()) / len(ndcg))
    test = next(t for t in setting.tests if t.measure == "nDCG@10" and t.a == LOCAL.label)
    assert test.b == BASELINE and test.n == QUERIES and test.randomization_p is not None
    assert summary.complete


def test_faults_from_jina_lose_no_query(demo_loaded: None, weaviate_server: WeaviateEndpoint, store: Store,
                                         jina_stand_in: JinaStandIn) -> None:
    qs = demo_query_set(store)
    spec, keys = spec_of(weaviate_server), keys_of(TEST_JINA_KEY)
    plan = RunPlan(query_set=qs, settings=(SETTING,), rerankers=(JINA,), k=10)
    clean = start_run(store, plan, spec, keys=keys, qrels=store.qrels(qs), jina_base_url=jina_stand_in.url)
    assert clean.wait(timeout=240).state == "finished"
    clean_results = comparable(store.load_results(clean.run_id))
    jina_stand_in.reset()

    # 429s (with and without Retry-After), 500s and a request that hangs past the client timeout
    jina_stand_in.add_fault(Fault(status=429, retry_after="0", times=4, paths=("/v1/rerank",)))
    jina_stand_in.add_fault(Fault(status=429, times=2, paths=("/v1/rerank",)))
    jina_stand_in.add_fault(Fault(status=500, times=3, paths=("/v1/rerank",)))
    jina_stand_in.add_fault(Fault(hang=True, times=2, paths=("/v1/rerank",)))
    faulty = start_run(store, plan, spec, keys=keys, qrels=store.qrels(qs), jina_base_url=jina_stand_in.url,
                       options=EngineOptions(concurrency=4, request_timeout_s=1.0, backoff_s=0.05, max_attempts=6))
    progress = faulty.wait(timeout=240)
    assert progress.state == "finished", progress.message
    assert (progress.done, progress.failed) == (2 * QUERIES, 0)
    assert faulty.limiter.rate_limited >= 1  # the shared limiter saw the 429s
    # every fault was answered and retried; each query then succeeded exactly once
    assert len(jina_stand_in.rerank_requests()) == QUERIES + 4 + 2 + 3 + 2
    assert comparable(store.load_results(faulty.run_id)) == clean_results
    assert progress.tokens > 0


def test_a_persistent_failure_is_recorded_and_retried_alone(demo_loaded: None, weaviate_server: WeaviateEndpoint,
                                                             store: Store, jina_stand_in: JinaStandIn) -> None:
    qs = demo_query_set(store, n=4)
    spec, keys = spec_of(weaviate_server), keys_of(TEST_JINA_KEY)
    plan = RunPlan(query_set=qs, settings=(SETTING,), rerankers=(JINA,), k=10)
    jina_stand_in.set_fault(Fault(status=500, paths=("/v1/rerank",)))  # every rerank call fails
    handle = start_run(store, plan, spec, keys=keys, qrels=store.qrels(qs), jina_base_url=jina_stand_in.url,
                       options=EngineOptions(concurrency=2, backoff_s=0.01, max_attempts=2))
    progress = handle.wait(timeout=120)
    assert (progress.state, progress.done, progress.failed) == ("finished", 4, 4)
    failed = [r for r in store.load_results(handle.run_id) if r.status == "failed"]
    assert {r.ordering for r in failed} == {JINA.label}
    assert all("HTTP 500" in (r.error or "") and r.attempts == 2 for r in failed)

    jina_stand_in.clear_faults()
    before = len(jina_stand_in.rerank_requests())
    one = failed[0].query_id
    retry = resume_run(store, handle.run_id, spec, keys=keys, jina_base_url=jina_stand_in.url, retry_failed=True,
                       only_queries={one})
    progress = retry.wait(timeout=120)
    assert (progress.done, progress.failed, progress.remaining) == (5, 3, 0)
    assert len(jina_stand_in.rerank_requests()) - before == 1  # that query alone, once
    after = {r.key: r for r in store.load_results(handle.run_id)}
    assert after[(0, one, JINA.label)].status == "done" and after[(0, one, JINA.label)].error is None
    again = resume_run(store, handle.run_id, spec, keys=keys, jina_base_url=jina_stand_in.url, retry_failed=True)
    assert again.wait(timeout=120).failed == 0
    assert store.get_run(handle.run_id).status == "finished"


def test_cancel_then_resume_equals_an_uninterrupted_run(demo_loaded: None, weaviate_server: WeaviateEndpoint,
                                                         store: Store, jina_stand_in: JinaStandIn) -> None:
    qs = demo_query_set(store)
    spec, keys = spec_of(weaviate_server), keys_of(TEST_JINA_KEY)
    plan = RunPlan(query_set=qs, settings=(SETTING, search_setting(mode=SearchMode.KEYWORD, limit=20)),
                   rerankers=(JINA, LOCAL), k=10)
    whole = start_run(store, plan, spec, keys=keys, qrels=store.qrels(qs), jina_base_url=jina_stand_in.url)
    assert whole.wait(timeout=240).state == "finished"
    expected = comparable(store.load_results(whole.run_id))
    assert len(expected) == 2 * QUERIES * 3

    jina_stand_in.reset()
    jina_stand_in.latency_s = 0.05
    computed: list[tuple[int, str, str]] = []
    cancelled = threading.Event()
    holder: dict[str, object] = {}

    def cancel_after_seven(result: runs.QueryResult) -> None:
        computed.append(result.key)
        if len(computed) == 7:
            holder["handle"].cancel()  # type: ignore[attr-defined]
            cancelled.set()

    first = start_run(store, plan, spec, keys=keys, qrels=store.qrels(qs), jina_base_url=jina_stand_in.url,
                      options=EngineOptions(concurrency=2), on_result=cancel_after_seven)
    holder["handle"] = first
    progress = first.wait(timeout=240)
    assert cancelled.is_set() and progress.state == "cancelled"
    assert 7 <= progress.done < len(expected)
    assert store.get_run(first.run_id).status == "cancelled"

    # a new engine (another Playground, an empty rerank cache) on the same store finishes the rest
    resumed = resume_run(store, first.run_id, spec, keys=keys, jina_base_url=jina_stand_in.url,
                         on_result=lambda r: computed.append(r.key))
    progress = resumed.wait(timeout=240)
    assert progress.state == "finished" and progress.done == len(expected) and progress.failed == 0
    assert len(computed) == len(set(computed)) == len(expected)  # none twice, none lost
    assert comparable(store.load_results(first.run_id)) == expected


def test_bad_plans_are_refused_before_anything_is_saved(demo_loaded: None, weaviate_server: WeaviateEndpoint,
                                                        store: Store, weaviate_client: weaviate.WeaviateClient,
                                                        fresh_collection_name: str) -> None:
    qs = demo_query_set(store)
    spec, keys = spec_of(weaviate_server), keys_of()

    empty = QuerySet(name="empty", collection=DEMO_WIKI.name, queries=())
    with pytest.raises(RunRefused, match="has no queries"):
        start_run(store, RunPlan(query_set=empty), spec, keys=keys, qrels={})

    unjudged = QuerySet(name="unjudged", collection=DEMO_WIKI.name, queries=(SetQuery("x", "nobody graded this"),))
    with pytest.raises(RunRefused, match="No query of the set 'unjudged' has judgments"):
        start_run(store, RunPlan(query_set=unjudged), spec, keys=keys, qrels={})

    with pytest.raises(KeyRequired, match="needs a Jina API key"):
        start_run(store, RunPlan(query_set=qs, rerankers=(JINA,)), spec, keys=keys, qrels=store.qrels(qs))

    with pytest.raises(RunRefused, match="at most 5"):
        choices = tuple(parse_choice(f"jina:{m}") for m in (
            "jina-reranker-v2-base-multilingual", "jina-reranker-v1-base-en", "jina-reranker-v1-tiny-en",
            "jina-colbert-v2", "jina-reranker-v3"))
        start_run(store, RunPlan(query_set=qs, rerankers=(*choices, LOCAL)), spec,
                  keys=keys_of("k"),
                  qrels=store.qrels(qs))

    weaviate_client.collections.create(
        fresh_collection_name, properties=[Property(name="text", data_type=DataType.TEXT)],
        vector_config=Configure.Vectors.self_provided(),
    )
    weaviate_client.collections.get(fresh_collection_name).data.insert({"text": "unrelated"}, vector=[0.1, 0.2])
    elsewhere = QuerySet(name="elsewhere", collection=fresh_collection_name, queries=qs.queries)
    with pytest.raises(RunRefused, match=f"{fresh_collection_name}' holds none of the"):
        start_run(store, RunPlan(query_set=elsewhere), spec, keys=keys, qrels=store.qrels(qs))

    missing = QuerySet(name="missing", collection="NoSuchCollection", queries=qs.queries)
    with pytest.raises(CollectionNotFound):
        start_run(store, RunPlan(query_set=missing), spec, keys=keys, qrels=store.qrels(qs))

    assert store.list_runs() == []


def test_store_gone_mid_run_pauses_and_resume_loses_nothing(demo_loaded: None, weaviate_server: WeaviateEndpoint,
                                                            own_postgres: ThrowawayPostgres,
                                                            jina_stand_in: JinaStandIn) -> None:
    spec, keys = spec_of(weaviate_server), keys_of(TEST_JINA_KEY)
    with open_store(own_postgres.url) as store:
        qs = demo_query_set(store)
        plan = RunPlan(query_set=qs, settings=(SETTING,), rerankers=(JINA,), k=10)
        whole = start_run(store, plan, spec, keys=keys, qrels=store.qrels(qs), jina_base_url=jina_stand_in.url)
        assert whole.wait(timeout=240).state == "finished"
        expected = comparable(store.load_results(whole.run_id))

        jina_stand_in.latency_s = 0.1
        four_saved = threading.Event()
        counted: list[runs.QueryResult] = []

        def count(result: runs.QueryResult) -> None:
            counted.append(result)
            if len(counted) == 4:
                four_saved.set()

        handle = start_run(store, plan, spec, keys=keys, qrels=store.qrels(qs), jina_base_url=jina_stand_in.url,
                           options=EngineOptions(concurrency=2), on_result=count)
        assert four_saved.wait(timeout=120)
        own_postgres.stop()
        progress = handle.wait(timeout=240)
        assert progress.state == "paused"
        assert progress.message.startswith("Paused: The judgments store") and "resume the run" in progress.message
        assert progress.remaining > 0

        own_postgres.start()  # back on the same port
        resumed = resume_run(store, handle.run_id, spec, keys=keys, jina_base_url=jina_stand_in.url)
        progress = resumed.wait(timeout=240)
        assert progress.state == "finished" and progress.failed == 0
        assert comparable(store.load_results(handle.run_id)) == expected


def test_the_rerankers_of_one_query_run_at_the_same_time(demo_loaded: None, weaviate_server: WeaviateEndpoint,
                                                        store: Store, jina_stand_in: JinaStandIn) -> None:
    """A query's rerank calls are jobs of their own: with three Jina models and three workers, all three calls of
    the one query are in flight together (the stand-in holds each until all three have arrived), not one after
    another."""
    qs = demo_query_set(store, "one-query", n=1)
    models = ("jina-reranker-v2-base-multilingual", "jina-reranker-v3", "jina-reranker-m0")
    jina_stand_in.gather = len(models)
    plan = RunPlan(query_set=qs, settings=(SETTING,), rerankers=tuple(RerankChoice("jina", m) for m in models), k=10)
    handle = start_run(store, plan, spec_of(weaviate_server), keys=keys_of(TEST_JINA_KEY), qrels=store.qrels(qs),
                       jina_base_url=jina_stand_in.url, options=EngineOptions(concurrency=len(models)))
    progress = handle.wait(timeout=240)
    assert progress.state == "finished" and progress.done == 1 + len(models), progress.message
    spans = jina_stand_in.rerank_spans()
    assert sorted(model for model, _, _ in spans) == sorted(models)
    assert max(received for _, received, _ in spans) < min(answered for _, _, answered in spans)
