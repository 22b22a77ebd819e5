"""JinaReranker and JinaEmbedder over real HTTP, against the local Jina-compatible stand-in."""

from __future__ import annotations

import logging
import socket
import traceback
from collections.abc import Iterator

import httpx
import pytest

from rerank_playground.errors import (
    AuthRejected,
    BadResponse,
    InvalidInput,
    KeyRequired,
    ProviderError,
    ProviderServerError,
    ProviderTimeout,
    ProviderUnreachable,
    RateLimited,
    RequestRejected,
)
from rerank_playground.jina_embeddings import JinaEmbedder
from rerank_playground.jina_http import RetryPolicy, make_client
from rerank_playground.keys import ProviderKeys
from rerank_playground.models import Hit, RerankResult
from rerank_playground.rerankers.cache import CachedReranker, RerankCache
from rerank_playground.rerankers.jina import JinaReranker
from rerank_playground.rerankers.model_catalog import JINA_MODELS
from testkit.jina_stand_in import TEST_JINA_KEY, Fault, JinaStandIn, stand_in_embedding, stand_in_score

V2 = "jina-reranker-v2-base-multilingual"
CANARY = "canary-Zq81xPlm0Wt4"
QUERY = "red apple pie"
WORDS = ["red", "apple", "pie", "green", "pear", "tart", "kitchen", "table", "window", "oven"]


class SleepRecorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def candidates(n: int) -> list[Hit]:
    """Texts whose stand-in scores vary with i (different query-term coverage and length)."""
    out = []
    for i in range(n):
        words = [WORDS[(i * k + k) % len(WORDS)] for k in range(1, 2 + i % 5)]
        out.append(Hit(rank=i + 1, uuid=f"u{i}", text=" ".join(words) + f" n{i}"))
    return out


def expected(query: str, hits: list[Hit], model: str) -> list[int]:
    return sorted(range(len(hits)), key=lambda i: (-stand_in_score(query, hits[i].text, model), i))


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with make_client(timeout=5.0, connect_timeout=2.0) as c:
        yield c


def make(stand_in: JinaStandIn, client: httpx.Client, key: str | None = TEST_JINA_KEY, **kw) -> JinaReranker:
    kw.setdefault("retry", RetryPolicy(attempts=3, jitter=0.0, sleep=SleepRecorder()))
    return JinaReranker(client, key, base_url=stand_in.url, **kw)


def assert_key_hidden(err: BaseException, *keys: str) -> None:
    rendered = "".join(traceback.format_exception(err))
    for key in keys:
        for text in (str(err), repr(err), rendered):
            assert key not in text


# -- the happy path ------------------------------------------------------------------------------------------


def test_rerank_matches_the_stand_in_scores(jina_stand_in: JinaStandIn, client: httpx.Client) -> None:
    hits = candidates(12)
    result = make(jina_stand_in, client).rerank(QUERY, hits, V2, top_n=5)
    assert list(result.order) == expected(QUERY, hits, V2)[:5]
    for doc in result.ranked:
        assert doc.score == pytest.approx(stand_in_score(QUERY, hits[doc.index].text, V2))
    (request,) = jina_stand_in.rerank_requests()
    assert request.headers["authorization"] == f"Bearer {TEST_JINA_KEY}"
    assert request.headers["content-type"] == "application/json"
    assert request.json["return_documents"] is False and request.json["top_n"] == 5
    assert result.tokens is not None and result.tokens > 0
    assert result.api_calls == 1


@pytest.mark.parametrize("model", [m.name for m in JINA_MODELS])
def test_every_catalog_model_is_accepted(
    jina_stand_in: JinaStandIn, client: httpx.Client, model: str
) -> None:
    hits = candidates(6)
    result = make(jina_stand_in, client).rerank(QUERY, hits, model)
    assert list(result.order) == expected(QUERY, hits, model)


def test_unknown_model_is_a_model_error_quoting_the_server(
    jina_stand_in: JinaStandIn, client: httpx.Client
) -> None:
    with pytest.raises(RequestRejected, match="not supported") as info:
        make(jina_stand_in, client).rerank(QUERY, candidates(3), "jina-reranker-v9")
    assert info.value.model == "jina-reranker-v9"
    assert_key_hidden(info.value, TEST_JINA_KEY)


def test_wrong_key_is_an_auth_error_without_the_key(jina_stand_in: JinaStandIn, client: httpx.Client) -> None:
    with pytest.raises(AuthRejected, match="HTTP 401") as info:
        make(jina_stand_in, client, key=CANARY).rerank(QUERY, candidates(3), V2)
    assert jina_stand_in.rerank_requests()[0].headers["authorization"] == f"Bearer {CANARY}"
    assert_key_hidden(info.value, CANARY)


def test_no_key_makes_no_request(jina_stand_in: JinaStandIn, client: httpx.Client) -> None:
    with pytest.raises(KeyRequired):
        make(jina_stand_in, client, key=None).rerank(QUERY, candidates(3), V2)
    assert jina_stand_in.requests == []


def test_empty_query_makes_no_request(jina_stand_in: JinaStandIn, client: httpx.Client) -> None:
    with pytest.raises(InvalidInput):
        make(jina_stand_in, client).rerank("  ", candidates(3), V2)
    assert jina_stand_in.requests == []


# -- faults from the stand-in --------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["detail_str", "detail_list", "error_message"])
@pytest.mark.parametrize(
    ("status", "error_cls"),
    [
        (400, RequestRejected),
        (401, AuthRejected),
        (403, AuthRejected),
        (422, RequestRejected),
        (429, RateLimited),
        (500, ProviderServerError),
        (502, ProviderServerError),
        (503, ProviderServerError),
    ],
)
def test_status_mapping_for_every_body_shape(
    jina_stand_in: JinaStandIn, client: httpx.Client, status: int, error_cls: type[ProviderError], shape: str
) -> None:
    jina_stand_in.set_fault(Fault(status=status, body_shape=shape, message="the injected reason"))
    with pytest.raises(error_cls) as info:
        make(jina_stand_in, client).rerank(QUERY, candidates(3), V2)
    if status not in (429,) and status < 500:
        assert "the injected reason" in str(info.value)
    retried = status == 429 or status >= 500
    assert len(jina_stand_in.rerank_requests()) == (3 if retried else 1)
    assert_key_hidden(info.value, TEST_JINA_KEY)


def test_429_retry_after_is_honoured_then_succeeds(jina_stand_in: JinaStandIn, client: httpx.Client) -> None:
    sleep = SleepRecorder()
    jina_stand_in.set_fault(Fault(status=429, retry_after="2", times=1))
    result = make(jina_stand_in, client, retry=RetryPolicy(attempts=3, jitter=0.0, sleep=sleep)).rerank(
        QUERY, candidates(4), V2
    )
    assert sleep.waits == [2.0]
    assert result.api_calls == 2 and len(jina_stand_in.rerank_requests()) == 2


def test_429_long_retry_after_is_reported_not_waited(
    jina_stand_in: JinaStandIn, client: httpx.Client
) -> None:
    sleep = SleepRecorder()
    jina_stand_in.set_fault(Fault(status=429, retry_after="120"))
    with pytest.raises(RateLimited) as info:
        make(jina_stand_in, client, retry=RetryPolicy(attempts=3, jitter=0.0, sleep=sleep)).rerank(
            QUERY, candidates(4), V2
        )
    assert info.value.retry_after == 120.0 and sleep.waits == []


def test_transient_5xx_recovers(jina_stand_in: JinaStandIn, client: httpx.Client) -> None:
    sleep = SleepRecorder()
    jina_stand_in.set_fault(Fault(status=503, times=2))
    result = make(jina_stand_in, client, retry=RetryPolicy(attempts=3, jitter=0.0, sleep=sleep)).rerank(
        QUERY, candidates(4), V2
    )
    assert result.api_calls == 3 and sleep.waits == [0.5, 1.0]


def test_hanging_server_times_out(jina_stand_in: JinaStandIn) -> None:
    jina_stand_in.set_fault(Fault(hang=True, times=1))
    with make_client(timeout=0.5, connect_timeout=0.5) as short, pytest.raises(ProviderTimeout, match="0.5 s") as info:
        make(jina_stand_in, short).rerank(QUERY, candidates(3), V2)
    assert len(jina_stand_in.rerank_requests()) == 1 and jina_stand_in.rerank_spans() == []  # never answered
    assert_key_hidden(info.value, TEST_JINA_KEY)


def test_connection_refused_on_a_closed_port(client: httpx.Client) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = JinaReranker(
        client,
        TEST_JINA_KEY,
        base_url=f"http://127.0.0.1:{port}",
        retry=RetryPolicy(attempts=2, jitter=0.0, sleep=lambda s: None),
    )
    with pytest.raises(ProviderUnreachable, match=f"127.0.0.1:{port}") as info:
        r.rerank(QUERY, candidates(3), V2)
    assert_key_hidden(info.value, TEST_JINA_KEY)


@pytest.mark.parametrize(
    "fault",
    [
        Fault(malformed_json=True),
        Fault(missing_field="results"),
        Fault(missing_field="relevance_score"),
        Fault(missing_field="index"),
        Fault(wrong_count=True),
        Fault(bad_index=True),
    ],
    ids=["malformed_json", "no_results", "no_score", "no_index", "wrong_count", "bad_index"],
)
def test_damaged_answers_are_bad_responses(
    jina_stand_in: JinaStandIn, client: httpx.Client, fault: Fault
) -> None:
    jina_stand_in.set_fault(fault)
    with pytest.raises(BadResponse) as info:
        make(jina_stand_in, client).rerank(QUERY, candidates(5), V2, top_n=3)
    assert len(jina_stand_in.rerank_requests()) == 1  # a bad body is not retried
    assert_key_hidden(info.value, TEST_JINA_KEY)


# -- chunking and concurrency --------------------------------------------------------------------------------


def test_2500_candidates_go_in_three_calls_and_merge_correctly(
    jina_stand_in: JinaStandIn, client: httpx.Client
) -> None:
    hits = candidates(2500)
    result = make(jina_stand_in, client, max_docs_per_call=1000).rerank(QUERY, hits, V2, top_n=50)
    sizes = sorted(len(r.json["documents"]) for r in jina_stand_in.rerank_requests())
    assert sizes == [500, 1000, 1000]
    assert result.api_calls == 3
    assert list(result.order) == expected(QUERY, hits, V2)[:50]


@pytest.mark.parametrize("k", [64, 65, 100, 1000])
def test_listwise_v3_5_gets_every_candidate_in_one_call_at_any_k(
    jina_stand_in: JinaStandIn, client: httpx.Client, k: int
) -> None:
    """No 64-document limit: at K = 1,000 jina-reranker-v3.5 receives all candidates in one request and every
    one is reranked (the stand-in's order over all of them)."""
    hits = candidates(k)
    result = make(jina_stand_in, client).rerank(QUERY, hits, "jina-reranker-v3.5")
    sent = jina_stand_in.rerank_requests()
    assert len(sent) == 1 and sent[0].json["documents"] == [h.text for h in hits]
    assert list(result.order) == expected(QUERY, hits, "jina-reranker-v3.5")


def test_an_api_refusing_the_size_of_a_listwise_call_says_so_with_its_message(
    jina_stand_in: JinaStandIn, client: httpx.Client
) -> None:
    jina_stand_in.set_fault(Fault(status=413, message="request too large: 1000 documents"))
    with pytest.raises(RequestRejected) as info:
        make(jina_stand_in, client).rerank(QUERY, candidates(1000), "jina-reranker-v3.5")
    assert "HTTP 413" in info.value.message and "request too large: 1000 documents" in info.value.message
    assert len(jina_stand_in.rerank_requests()) == 1  # one call, not retried in smaller pieces


def overlapped(spans: list[tuple[str, float, float]]) -> bool:
    """Every request was received before any was answered: they all ran at the same time."""
    return max(received for _, received, _ in spans) < min(answered for _, _, answered in spans)


def test_playground_compare_runs_the_models_concurrently(jina_stand_in: JinaStandIn, client: httpx.Client) -> None:
    """The path the Compare page uses: Playground.compare runs the models at the same time."""
    from rerank_playground.connection import ConnectionSpec
    from rerank_playground.models import SearchRequest, SearchResult
    from rerank_playground.playground import Playground
    from rerank_playground.rerankers.choice import RerankChoice

    jina_stand_in.gather = 3
    models = [V2, "jina-reranker-v3.5", "jina-reranker-m0"]
    hits = candidates(8)
    search = SearchResult(SearchRequest(collection="C", query=QUERY), tuple(hits), latency_ms=1.0)
    pg = Playground(ConnectionSpec(), keys=ProviderKeys.of(JINAAI_APIKEY=TEST_JINA_KEY),
                    jina_base_url=jina_stand_in.url, http_client=client)
    run = pg.compare(search, [RerankChoice("jina", m) for m in models])
    assert not run.errors
    spans = jina_stand_in.rerank_spans()
    assert sorted(model for model, _, _ in spans) == sorted(models)
    assert overlapped(spans)
    for model in models:
        assert list(run.results[model].order) == expected(QUERY, hits, model)


def test_a_sequential_client_does_not_count_as_concurrent(jina_stand_in: JinaStandIn, client: httpx.Client) -> None:
    """The check above can fail: one model after another never overlaps, even with the stand-in waiting."""
    jina_stand_in.gather = 2
    jina_stand_in.gather_timeout_s = 0.2
    reranker = make(jina_stand_in, client)
    for model in (V2, "jina-reranker-v1-base-en"):
        reranker.rerank(QUERY, candidates(3), model)
    assert not overlapped(jina_stand_in.rerank_spans())


def test_one_model_failing_leaves_the_others(jina_stand_in: JinaStandIn, client: httpx.Client) -> None:
    from rerank_playground.connection import ConnectionSpec
    from rerank_playground.models import SearchRequest, SearchResult
    from rerank_playground.playground import Playground
    from rerank_playground.rerankers.choice import RerankChoice

    hits = candidates(4)
    search = SearchResult(SearchRequest(collection="C", query=QUERY), tuple(hits), latency_ms=1.0)
    pg = Playground(ConnectionSpec(), keys=ProviderKeys.of(JINAAI_APIKEY=TEST_JINA_KEY),
                    jina_base_url=jina_stand_in.url, http_client=client)
    run = pg.compare(search, [RerankChoice("jina", m) for m in (V2, "jina-reranker-v3")])
    assert list(run.results) == [V2, "jina-reranker-v3"] and not run.errors
    # An unknown model name is refused before any call; the others still rank.
    with_unknown = pg.compare(search, [RerankChoice("jina", V2), RerankChoice("jina", "not-a-model")], force=True)
    assert isinstance(with_unknown.results[V2], RerankResult)
    assert "not-a-model" in with_unknown.errors and "Unknown reranker model" in str(with_unknown.errors["not-a-model"])


# -- cache ---------------------------------------------------------------------------------------------------


def test_cache_second_identical_call_makes_no_request(
    jina_stand_in: JinaStandIn, client: httpx.Client
) -> None:
    r = CachedReranker(make(jina_stand_in, client), RerankCache())
    hits = candidates(6)
    first = r.rerank(QUERY, hits, V2, top_n=3)
    second = r.rerank(QUERY, hits, V2, top_n=3)
    assert len(jina_stand_in.rerank_requests()) == 1
    assert second.cached and second.api_calls == 0 and second.ranked == first.ranked
    r.rerank(QUERY, hits, V2, top_n=4)
    r.rerank(QUERY, hits, "jina-reranker-v3", top_n=3)
    r.rerank(QUERY + " now", hits, V2, top_n=3)
    assert len(jina_stand_in.rerank_requests()) == 4


# -- logs ----------------------------------------------------------------------------------------------------


def test_debug_logs_never_carry_the_key(
    jina_stand_in: JinaStandIn, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    make(jina_stand_in, client).rerank(QUERY, candidates(3), V2)
    with pytest.raises(AuthRejected):
        make(jina_stand_in, client, key=CANARY).rerank(QUERY, candidates(3), V2)
    assert "HTTP Request: POST" in caplog.text  # httpx/httpcore did log at DEBUG
    assert TEST_JINA_KEY not in caplog.text and CANARY not in caplog.text


# -- embeddings ----------------------------------------------------------------------------------------------


def test_embeddings_match_the_stand_in(jina_stand_in: JinaStandIn, client: httpx.Client) -> None:
    e = JinaEmbedder(client, TEST_JINA_KEY, base_url=jina_stand_in.url, dimensions=64)
    assert e.embed_query(QUERY) == pytest.approx(stand_in_embedding(QUERY, 64))
    vecs = e.embed(["green pear", "red apple"])
    assert vecs == [
        pytest.approx(stand_in_embedding("green pear", 64)),
        pytest.approx(stand_in_embedding("red apple", 64)),
    ]
    bodies = [r.json for r in jina_stand_in.embedding_requests()]
    assert [b["task"] for b in bodies] == ["retrieval.query", "retrieval.passage"]


def test_embedding_errors(jina_stand_in: JinaStandIn, client: httpx.Client) -> None:
    bad_key = JinaEmbedder(client, CANARY, base_url=jina_stand_in.url)
    with pytest.raises(AuthRejected) as info:
        bad_key.embed_query(QUERY)
    assert info.value.provider == "jina"
    assert_key_hidden(info.value, CANARY)
    with pytest.raises(RequestRejected, match="not supported"):
        JinaEmbedder(client, TEST_JINA_KEY, base_url=jina_stand_in.url, model="nope").embed_query(QUERY)
