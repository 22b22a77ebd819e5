"""The Jina stand-in keeps the documented contract and injects each fault as described (no Weaviate)."""

from __future__ import annotations

import json
import math
import ssl
import threading
import time

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from testkit.jina_stand_in import (
    DEFAULT_EMBEDDING_DIMS,
    KNOWN_RERANK_MODELS,
    TEST_JINA_KEY,
    Fault,
    JinaStandIn,
    stand_in_embedding,
    stand_in_score,
)

AUTH = {"Authorization": f"Bearer {TEST_JINA_KEY}"}
TINY = "jina-reranker-v1-tiny-en"
TURBO = "jina-reranker-v1-turbo-en"
DOCS = [
    "the old wooden kitchen table near the window holds a red apple",  # full coverage, long
    "green pears",  # no coverage
    "red apple",  # full coverage, short
    "an apple a day",  # half coverage
]


def rerank(
    server: JinaStandIn, body: dict, headers: dict | None = None, timeout: float = 5.0
) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/rerank", json=body, headers=AUTH if headers is None else headers, timeout=timeout
    )


def embed(server: JinaStandIn, body: dict, headers: dict | None = None) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/embeddings", json=body, headers=AUTH if headers is None else headers, timeout=5.0
    )


def body(model: str = TINY, **extra: object) -> dict:
    return {"model": model, "query": "Red apple", "documents": DOCS, **extra}


# -- the pure functions ----------------------------------------------------------------------------


def test_score_is_coverage_plus_a_model_tie_break() -> None:
    # "red apple" vs "red apple": coverage 1, tiny prefers short docs: 1 / (1 + 2/8)
    assert stand_in_score("Red apple", "red apple", TINY) == round(0.9 * 1 + 0.1 * (1 / (1 + 2 / 8)), 6)
    # half coverage, turbo prefers long docs: n / (n + 8) with n = 4 tokens
    assert stand_in_score("red apple", "an apple a day", TURBO) == round(0.9 * 0.5 + 0.1 * (4 / 12), 6)
    # no overlap and an empty query score only the tie-break
    assert stand_in_score("red apple", "green pears", "jina-reranker-v2-base-multilingual") == 0.0
    assert stand_in_score("", "red apple", "jina-reranker-v2-base-multilingual") == 0.0


def test_models_break_ties_differently() -> None:
    tiny = sorted(DOCS, key=lambda d: -stand_in_score("red apple", d, TINY))
    turbo = sorted(DOCS, key=lambda d: -stand_in_score("red apple", d, TURBO))
    assert tiny[0] == "red apple"
    assert turbo[0] == DOCS[0]
    # coverage still dominates: the half-covered and uncovered docs come last for both
    assert tiny[2:] == turbo[2:] == ["an apple a day", "green pears"]


@given(st.text(max_size=40), st.text(max_size=80), st.sampled_from(KNOWN_RERANK_MODELS))
def test_score_stays_in_unit_interval(query: str, text: str, model: str) -> None:
    assert 0.0 <= stand_in_score(query, text, model) <= 1.0


def test_embedding_is_normalized_stable_and_meaningful() -> None:
    a = stand_in_embedding("a red apple on the table")
    assert len(a) == DEFAULT_EMBEDDING_DIMS
    assert math.isclose(sum(v * v for v in a), 1.0, rel_tol=1e-9)
    assert a == stand_in_embedding("A RED apple on the table!")

    def cos(x: list[float], y: list[float]) -> float:
        return sum(p * q for p, q in zip(x, y, strict=True))

    assert cos(a, stand_in_embedding("red apple")) > cos(
        a, stand_in_embedding("quantum chromodynamics lecture")
    )
    assert len(stand_in_embedding("x", dims=16)) == 16
    assert stand_in_embedding("", dims=4) == [1.0, 0.0, 0.0, 0.0]


# -- rerank contract -------------------------------------------------------------------------------


def test_rerank_sorts_by_score_and_reports_usage(jina_stand_in: JinaStandIn) -> None:
    r = rerank(jina_stand_in, body())
    assert r.status_code == 200
    data = r.json()
    assert data["model"] == TINY and data["object"] == "list"
    expected = sorted(range(len(DOCS)), key=lambda i: (-stand_in_score("Red apple", DOCS[i], TINY), i))
    assert [x["index"] for x in data["results"]] == expected
    assert [x["relevance_score"] for x in data["results"]] == [
        stand_in_score("Red apple", DOCS[i], TINY) for i in expected
    ]
    assert all("document" not in x for x in data["results"])
    assert data["usage"]["total_tokens"] == 2 + sum(len(d.split()) for d in DOCS)
    assert int(r.headers["x-ratelimit-remaining-requests"]) < int(r.headers["x-ratelimit-limit-requests"])
    assert "x-ratelimit-remaining-tokens" in r.headers


def test_ties_are_broken_by_index(jina_stand_in: JinaStandIn) -> None:
    data = rerank(jina_stand_in, {"model": TINY, "query": "q", "documents": ["same", "same", "same"]}).json()
    assert [x["index"] for x in data["results"]] == [0, 1, 2]


def test_documents_as_objects_top_n_and_return_documents(jina_stand_in: JinaStandIn) -> None:
    docs = [{"text": d} for d in DOCS]
    data = rerank(jina_stand_in, body(documents=docs, top_n=2, return_documents=True)).json()
    assert len(data["results"]) == 2
    assert data["results"][0]["document"] == {"text": "red apple"}

    jina_stand_in.document_shape = "string"
    data = rerank(jina_stand_in, body(top_n=1, return_documents=True)).json()
    assert data["results"] == [
        {
            "index": 2,
            "relevance_score": stand_in_score("Red apple", "red apple", TINY),
            "document": "red apple",
        }
    ]


def test_request_log_records_lowercased_headers_and_body(jina_stand_in: JinaStandIn) -> None:
    rerank(jina_stand_in, body(), headers={**AUTH, "Request-Source": "unit-test"})
    (req,) = jina_stand_in.requests
    assert req.path == "/v1/rerank"
    assert req.headers["authorization"] == f"Bearer {TEST_JINA_KEY}"
    assert req.headers["request-source"] == "unit-test"
    assert req.json == body()


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TEST_JINA_KEY}])
def test_rerank_without_the_right_key_is_401(jina_stand_in: JinaStandIn, headers: dict) -> None:
    r = rerank(jina_stand_in, body(), headers=headers)
    assert r.status_code == 401
    assert isinstance(r.json()["detail"], str)
    assert TEST_JINA_KEY not in r.text


@pytest.mark.parametrize(
    "bad",
    [
        {"model": "jina-reranker-v9"},
        {"model": None},
        {"query": None},
        {"documents": "not a list"},
        {"documents": [1, 2]},
        {"top_n": 0},
    ],
)
def test_invalid_rerank_bodies_are_422(jina_stand_in: JinaStandIn, bad: dict) -> None:
    r = rerank(jina_stand_in, {**body(), **bad})
    assert r.status_code == 422
    assert r.json()["detail"]


def test_unknown_model_message_names_the_model(jina_stand_in: JinaStandIn) -> None:
    r = rerank(jina_stand_in, body(model="jina-reranker-v9"))
    assert "jina-reranker-v9" in r.json()["detail"]


def test_unknown_path_is_404(jina_stand_in: JinaStandIn) -> None:
    r = httpx.post(f"{jina_stand_in.url}/v1/nope", json={}, headers=AUTH)
    assert r.status_code == 404


# -- embeddings contract ---------------------------------------------------------------------------


def test_embeddings_return_hashed_vectors(jina_stand_in: JinaStandIn) -> None:
    r = embed(jina_stand_in, {"model": "jina-embeddings-v3", "input": ["red apple", {"text": "green pear"}]})
    assert r.status_code == 200
    data = r.json()
    assert data["object"] == "list" and data["model"] == "jina-embeddings-v3"
    assert [d["index"] for d in data["data"]] == [0, 1]
    assert data["data"][0]["object"] == "embedding"
    assert data["data"][0]["embedding"] == stand_in_embedding("red apple", DEFAULT_EMBEDDING_DIMS)
    assert data["data"][1]["embedding"] == stand_in_embedding("green pear", DEFAULT_EMBEDDING_DIMS)
    assert data["usage"]["total_tokens"] == 4

    r = embed(jina_stand_in, {"model": "jina-embeddings-v3", "input": ["red apple"], "dimensions": 32})
    assert len(r.json()["data"][0]["embedding"]) == 32


def test_embeddings_check_key_and_model(jina_stand_in: JinaStandIn) -> None:
    assert (
        embed(jina_stand_in, {"model": "jina-embeddings-v3", "input": ["x"]}, headers={}).status_code == 401
    )
    assert embed(jina_stand_in, {"model": "nope", "input": ["x"]}).status_code == 422
    assert embed(jina_stand_in, {"model": "jina-embeddings-v3", "input": []}).status_code == 422


# -- faults ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "extract"),
    [
        ("detail_str", lambda j: j["detail"]),
        ("detail_list", lambda j: j["detail"][0]["msg"]),
        ("error_message", lambda j: j["error"]["message"]),
    ],
)
def test_status_fault_in_each_body_shape(jina_stand_in: JinaStandIn, shape: str, extract) -> None:
    jina_stand_in.set_fault(Fault(status=429, body_shape=shape, retry_after="7", message="slow down"))
    r = rerank(jina_stand_in, body())
    assert r.status_code == 429
    assert r.headers["retry-after"] == "7"
    assert extract(r.json()) == "slow down"


def test_unknown_body_shape_is_rejected() -> None:
    with pytest.raises(ValueError, match="body_shape"):
        Fault(status=500, body_shape="html")


def test_fault_times_clears_itself(jina_stand_in: JinaStandIn) -> None:
    jina_stand_in.set_fault(Fault(status=503, times=2))
    assert [rerank(jina_stand_in, body()).status_code for _ in range(3)] == [503, 503, 200]
    assert jina_stand_in.faults == []


def test_fault_paths_limit_where_it_applies(jina_stand_in: JinaStandIn) -> None:
    jina_stand_in.set_fault(Fault(status=500, paths=("/v1/embeddings",)))
    assert rerank(jina_stand_in, body()).status_code == 200
    assert embed(jina_stand_in, {"model": "jina-embeddings-v3", "input": ["x"]}).status_code == 500


def test_add_fault_queues_and_set_fault_replaces(jina_stand_in: JinaStandIn) -> None:
    jina_stand_in.add_fault(Fault(status=429, times=1))
    jina_stand_in.add_fault(Fault(status=500, times=1))
    assert [rerank(jina_stand_in, body()).status_code for _ in range(3)] == [429, 500, 200]
    jina_stand_in.add_fault(Fault(status=429))
    jina_stand_in.set_fault(Fault(status=502))
    assert rerank(jina_stand_in, body()).status_code == 502
    jina_stand_in.clear_faults()
    assert rerank(jina_stand_in, body()).status_code == 200


def test_latency_server_wide_and_per_fault(jina_stand_in: JinaStandIn) -> None:
    jina_stand_in.latency_s = 0.2
    t0 = time.monotonic()
    assert rerank(jina_stand_in, body()).status_code == 200
    assert time.monotonic() - t0 >= 0.2
    jina_stand_in.latency_s = 0.0
    jina_stand_in.set_fault(Fault(latency_s=0.3, times=1))
    t0 = time.monotonic()
    rerank(jina_stand_in, body())
    assert time.monotonic() - t0 >= 0.3


def test_hang_times_out_the_client_and_still_lets_the_server_stop() -> None:
    server = JinaStandIn(api_key=TEST_JINA_KEY).start()
    try:
        server.set_fault(Fault(hang=True))
        with pytest.raises(httpx.ReadTimeout):
            rerank(server, body(), timeout=0.3)
    finally:
        stopper = threading.Thread(target=server.stop)
        t0 = time.monotonic()
        stopper.start()
        stopper.join(timeout=10)
    assert not stopper.is_alive()
    assert time.monotonic() - t0 < 5
    assert not server.running


def test_malformed_json(jina_stand_in: JinaStandIn) -> None:
    jina_stand_in.set_fault(Fault(malformed_json=True))
    r = rerank(jina_stand_in, body())
    assert r.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.text)


@pytest.mark.parametrize("field", ["results", "usage", "model"])
def test_missing_top_level_field(jina_stand_in: JinaStandIn, field: str) -> None:
    jina_stand_in.set_fault(Fault(missing_field=field))
    data = rerank(jina_stand_in, body()).json()
    assert field not in data
    assert len(data) == 3


def test_missing_item_field(jina_stand_in: JinaStandIn) -> None:
    jina_stand_in.set_fault(Fault(missing_field="relevance_score"))
    results = rerank(jina_stand_in, body()).json()["results"]
    assert len(results) == len(DOCS)
    assert all("relevance_score" not in x and "index" in x for x in results)

    jina_stand_in.set_fault(Fault(missing_field="embedding"))
    data = embed(jina_stand_in, {"model": "jina-embeddings-v3", "input": ["x"]}).json()["data"]
    assert data == [{"object": "embedding", "index": 0}]


def test_wrong_count_and_bad_index(jina_stand_in: JinaStandIn) -> None:
    jina_stand_in.set_fault(Fault(wrong_count=True, times=1))
    assert len(rerank(jina_stand_in, body()).json()["results"]) == len(DOCS) - 1
    jina_stand_in.set_fault(Fault(bad_index=True, times=1))
    indexes = [x["index"] for x in rerank(jina_stand_in, body()).json()["results"]]
    assert any(i >= len(DOCS) for i in indexes)
    assert rerank(jina_stand_in, body()).json()["results"][0]["index"] < len(DOCS)


def test_reset_clears_log_faults_and_latency(jina_stand_in: JinaStandIn) -> None:
    jina_stand_in.set_fault(Fault(status=500))
    jina_stand_in.latency_s = 1.0
    rerank(jina_stand_in, body())
    jina_stand_in.reset()
    assert jina_stand_in.requests == [] and jina_stand_in.faults == [] and jina_stand_in.latency_s == 0.0
    assert rerank(jina_stand_in, body()).status_code == 200


def test_faults_do_not_leak_between_tests(jina_stand_in: JinaStandIn) -> None:
    # the fixture resets before each test (earlier tests here leave faults and requests behind)
    assert jina_stand_in.faults == [] and jina_stand_in.requests == []


# -- TLS -------------------------------------------------------------------------------------------


def test_https_with_a_test_ca() -> None:
    import trustme

    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    with JinaStandIn(api_key=TEST_JINA_KEY, ssl_context=server_ctx) as server:
        assert server.url.startswith("https://127.0.0.1:")
        r = httpx.post(f"{server.url}/v1/rerank", json=body(), headers=AUTH, verify=client_ctx, timeout=5)
        assert r.status_code == 200
        # an untrusting client is refused, and the server keeps serving afterwards
        with pytest.raises(httpx.ConnectError):
            httpx.post(
                f"{server.url}/v1/rerank",
                json=body(),
                headers=AUTH,
                verify=ssl.create_default_context(),
                timeout=5,
            )
        r = httpx.post(f"{server.url}/v1/rerank", json=body(), headers=AUTH, verify=client_ctx, timeout=5)
        assert r.status_code == 200
