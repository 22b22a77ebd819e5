"""JinaReranker against an httpx.MockTransport that behaves like /v1/rerank."""

from __future__ import annotations

import json
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

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
from rerank_playground.jina_http import RetryPolicy
from rerank_playground.models import Hit
from rerank_playground.rerankers.base import Reranker
from rerank_playground.rerankers.jina import JinaReranker, listwise_doc_chars

CANARY = "canary-Zq81xPlm0Wt4"
V2 = "jina-reranker-v2-base-multilingual"
NO_RETRY = RetryPolicy(attempts=1, jitter=0.0, sleep=lambda s: None)


def score_of(text: str) -> float:
    """Deterministic, order-scrambling score: the fake server and the expectations share it."""
    i = int(text.split()[-1])
    return ((i * 7919) % 10007) / 10007


def hits(n: int, text: str = "doc {i}") -> list[Hit]:
    return [Hit(rank=i + 1, uuid=f"u{i}", text=text.format(i=i)) for i in range(n)]


class FakeJina:
    """A MockTransport handler that reranks like the API (sorted, top_n, usage) and records calls."""

    def __init__(self, latency_s: float = 0.0, damage: str | None = None,
                 score: Callable[[str], float] = score_of) -> None:
        self.calls: list[dict[str, Any]] = []
        self.score = score
        self.latency_s = latency_s
        self.damage = damage
        self._lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        with self._lock:
            self.calls.append(body)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency_s:
                time.sleep(self.latency_s)
            if request.headers.get("authorization") != f"Bearer {CANARY}":
                return httpx.Response(401, json={"detail": "Unauthorized"})
            docs = body["documents"]
            order = sorted(range(len(docs)), key=lambda i: (-self.score(docs[i]), i))
            top_n = body.get("top_n") or len(docs)
            results: list[dict[str, Any]] = [
                {"index": i, "relevance_score": self.score(docs[i])} for i in order[:top_n]
            ]
            payload: dict[str, Any] = {
                "model": body["model"],
                "object": "list",
                "usage": {"total_tokens": 3 * len(docs)},
                "results": results,
            }
            if self.damage == "wrong_count":
                results.pop()
            elif self.damage == "bad_index":
                results[0]["index"] = len(docs) + 5
            elif self.damage == "negative_index":
                results[0]["index"] = -1
            elif self.damage == "duplicate_index" and len(results) > 1:
                results[1]["index"] = results[0]["index"]
            elif self.damage == "missing_results":
                del payload["results"]
            elif self.damage == "missing_score":
                del results[0]["relevance_score"]
            elif self.damage == "string_score":
                results[0]["relevance_score"] = "0.9"
            elif self.damage == "string_index":
                results[0]["index"] = "0"
            elif self.damage == "missing_usage":
                del payload["usage"]
            return httpx.Response(200, json=payload)
        finally:
            with self._lock:
                self.in_flight -= 1


def reranker(handler, key: str | None = CANARY, **kw: Any) -> JinaReranker:
    client = httpx.Client(transport=httpx.MockTransport(handler), timeout=httpx.Timeout(5.0, connect=1.0))
    kw.setdefault("retry", NO_RETRY)
    return JinaReranker(client, key, base_url="https://jina.test", **kw)


def expected_order(n: int) -> list[int]:
    return sorted(range(n), key=lambda i: (-score_of(f"doc {i}"), i))


# -- the happy path ------------------------------------------------------------------------------------------


def test_implements_the_protocol() -> None:
    assert isinstance(reranker(FakeJina()), Reranker)
    assert JinaReranker.name == "jina"


def test_rerank_sends_the_documented_body_and_reads_the_answer() -> None:
    fake = FakeJina()
    result = reranker(fake).rerank("what is up", hits(5), V2, top_n=3)
    (body,) = fake.calls
    assert body == {
        "model": V2,
        "query": "what is up",
        "documents": [f"doc {i}" for i in range(5)],
        "top_n": 3,
        "return_documents": False,
    }
    assert list(result.order) == expected_order(5)[:3]
    assert [d.score for d in result.ranked] == [score_of(f"doc {i}") for i in expected_order(5)[:3]]
    assert result.reranker == "jina" and result.model == V2
    assert result.tokens == 15 and result.api_calls == 1 and not result.cached
    assert result.latency_ms > 0


def test_top_n_none_ranks_everything_and_top_n_above_n_is_clamped() -> None:
    fake = FakeJina()
    r = reranker(fake)
    assert len(r.rerank("q", hits(7), V2).ranked) == 7
    assert len(r.rerank("q", hits(7), V2, top_n=50).ranked) == 7
    assert [c["top_n"] for c in fake.calls] == [7, 7]


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_empty_query_is_invalid_input_and_sends_nothing(query: str) -> None:
    fake = FakeJina()
    with pytest.raises(InvalidInput):
        reranker(fake).rerank(query, hits(3), V2)
    assert fake.calls == []


@pytest.mark.parametrize("top_n", [0, -1, True, 2.5])
def test_bad_top_n_is_invalid_input(top_n: Any) -> None:
    with pytest.raises(InvalidInput):
        reranker(FakeJina()).rerank("q", hits(3), V2, top_n=top_n)


def test_no_candidates_makes_no_call() -> None:
    fake = FakeJina()
    result = reranker(fake).rerank("q", [], V2)
    assert result.ranked == () and result.api_calls == 0 and fake.calls == []


def test_missing_key_raises_key_required() -> None:
    fake = FakeJina()
    with pytest.raises(KeyRequired, match="JINAAI_APIKEY"):
        reranker(fake, key=None).rerank("q", hits(3), V2)
    assert fake.calls == []


# -- truncation ----------------------------------------------------------------------------------------------


def test_long_texts_are_cut_to_max_chars_and_counted() -> None:
    sent: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        docs = json.loads(request.content)["documents"]
        sent.append(docs)
        results = [{"index": i, "relevance_score": 1.0 / (i + 1)} for i in range(len(docs))]
        return httpx.Response(200, json={"results": results, "usage": {"total_tokens": 1}})

    docs = [
        Hit(1, "a", "x" * 50),
        Hit(2, "b", "short"),
        Hit(3, "c", "0123456789" + "y"),
        Hit(4, "d", "z" * 10),
    ]
    result = reranker(handler, max_chars=10).rerank("q", docs, "jina-reranker-v1-tiny-en")
    assert sent == [["x" * 10, "short", "0123456789", "z" * 10]]  # the first max_chars characters, no more
    assert result.truncated == 2
    assert any("2 of 4" in note and "10 characters" in note for note in result.notes)


def test_no_truncation_note_when_nothing_was_cut() -> None:
    result = reranker(FakeJina()).rerank("q", hits(3), V2)
    assert result.truncated == 0 and result.notes == ()


# -- chunking ------------------------------------------------------------------------------------------------


def test_2500_docs_go_in_three_calls_and_merge_in_score_order() -> None:
    fake = FakeJina()
    result = reranker(fake, max_docs_per_call=1000).rerank("q", hits(2500), V2)
    assert sorted(len(c["documents"]) for c in fake.calls) == [500, 1000, 1000]
    assert result.api_calls == 3
    assert list(result.order) == expected_order(2500)
    assert result.tokens == 3 * 2500
    assert any("3 calls" in note for note in result.notes)


def test_chunked_top_n_is_global_after_merge() -> None:
    fake = FakeJina()
    result = reranker(fake, max_docs_per_call=1000).rerank("q", hits(2500), V2, top_n=10)
    assert all(c["top_n"] == 10 for c in fake.calls)
    assert list(result.order) == expected_order(2500)[:10]


def test_chunk_offsets_map_back_to_the_right_candidates() -> None:
    fake = FakeJina()
    result = reranker(fake, max_docs_per_call=3).rerank("q", hits(8), V2)
    assert list(result.order) == expected_order(8)
    for doc in result.ranked:
        assert doc.score == score_of(f"doc {doc.index}")


def test_chunks_run_concurrently() -> None:
    fake = FakeJina(latency_s=0.2)
    reranker(fake, max_docs_per_call=10, max_workers=8).rerank("q", hits(40), V2)
    assert len(fake.calls) == 4
    assert fake.max_in_flight == 4


def test_one_failing_chunk_fails_the_rerank() -> None:
    calls = {"n": 0}
    inner = FakeJina()
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            calls["n"] += 1
            n = calls["n"]
        if n == 2:
            return httpx.Response(500, json={"detail": "chunk exploded"})
        return inner(request)

    with pytest.raises(ProviderServerError, match="chunk exploded"):
        reranker(handler, max_docs_per_call=5, max_workers=1).rerank("q", hits(15), V2)


# -- response validation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "damage",
    [
        "wrong_count",
        "bad_index",
        "negative_index",
        "duplicate_index",
        "missing_results",
        "missing_score",
        "string_score",
        "string_index",
    ],
)
def test_damaged_answers_raise_bad_response(damage: str) -> None:
    with pytest.raises(BadResponse) as info:
        reranker(FakeJina(damage=damage)).rerank("q", hits(6), V2, top_n=4)
    assert info.value.model == V2
    assert CANARY not in str(info.value)


def test_missing_usage_gives_unknown_tokens_not_an_error() -> None:
    result = reranker(FakeJina(damage="missing_usage")).rerank("q", hits(4), V2)
    assert result.tokens is None and len(result.ranked) == 4


def test_single_chunk_trusts_the_servers_order() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        # deliberately not sorted by score: one call, so the server's order is kept
        results = [{"index": 1, "relevance_score": 0.1}, {"index": 0, "relevance_score": 0.9}]
        return httpx.Response(200, json={"results": results, "usage": {"total_tokens": 1}})

    result = reranker(handler).rerank("q", hits(2), V2)
    assert result.order == (1, 0)


# -- the key never leaks -------------------------------------------------------------------------------------


def _echoing(status: int, shape: str) -> httpx.Response:
    text = f"bad key {CANARY} (Authorization: Bearer {CANARY})"
    body = {
        "detail_str": {"detail": text},
        "detail_list": {"detail": [{"loc": ["header", "authorization"], "msg": text}]},
        "error_message": {"error": {"message": text}},
    }[shape]
    return httpx.Response(status, json=body, headers={"Retry-After": "1"} if status == 429 else None)


FAULTS: list[tuple[str, Any, type[ProviderError]]] = [
    *[
        (f"{s}-{shape}", (lambda s=s, shape=shape: _echoing(s, shape)), cls)
        for s, cls in [
            (400, RequestRejected),
            (401, AuthRejected),
            (403, AuthRejected),
            (422, RequestRejected),
            (429, RateLimited),
            (500, ProviderServerError),
            (502, ProviderServerError),
            (503, ProviderServerError),
        ]
        for shape in ("detail_str", "detail_list", "error_message")
    ],
    ("timeout", httpx.ReadTimeout(f"read timed out {CANARY}"), ProviderTimeout),
    ("connect", httpx.ConnectError(f"refused {CANARY}"), ProviderUnreachable),
    ("malformed", lambda: httpx.Response(200, content=f'{{"x": "{CANARY}"'.encode()), BadResponse),
    ("bad-shape", lambda: httpx.Response(200, json={"results": CANARY}), BadResponse),
]


@pytest.mark.parametrize(("fault", "error_cls"), [(f[1], f[2]) for f in FAULTS], ids=[f[0] for f in FAULTS])
def test_canary_key_never_appears_in_any_error(fault: Any, error_cls: type[ProviderError]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"Bearer {CANARY}"  # the key really was used
        if isinstance(fault, Exception):
            raise fault
        return fault()

    retry = RetryPolicy(attempts=2, jitter=0.0, sleep=lambda s: None)
    r = reranker(handler, retry=retry)
    with pytest.raises(error_cls) as info:
        r.rerank("q", hits(3), V2)
    err = info.value
    everything = [str(err), repr(err), err.message, err.hint, repr(err.args), repr(vars(err))]
    everything.append("".join(traceback.format_exception(err)))
    for text in everything:
        assert CANARY not in text
    assert CANARY not in repr(r)


# -- listwise models (issue 10, part 5) ---------------------------------------------------------------------


@pytest.mark.parametrize("model", ["jina-reranker-v3", "jina-reranker-v3.5"])
@pytest.mark.parametrize("k", [65, 100, 1000])
def test_listwise_models_get_every_candidate_in_one_call(model: str, k: int) -> None:
    """Listwise scores of separate calls are not comparable: every candidate goes in one call (there is no
    64-document limit in the API), never chunks merged by score, even when the pointwise chunk size is smaller."""
    fake = FakeJina()
    result = reranker(fake, max_docs_per_call=10).rerank("q", hits(k), model)
    assert [len(c["documents"]) for c in fake.calls] == [k]
    assert fake.calls[0]["documents"] == [f"doc {i}" for i in range(k)]
    assert result.api_calls == 1
    assert list(result.order) == expected_order(k)  # every candidate is reranked
    assert not any("merged by score" in n for n in result.notes)


def test_listwise_documents_share_the_context_and_the_cut_is_stated() -> None:
    """At K = 1,000 the 131K-token context leaves each document (131,072 - 1,024 prompt - 2 x query tokens -
    8 per document) // 1,000 tokens = 122 tokens = 366 characters at 3 characters a token."""
    query = "abc"  # 1 token at 3 characters a token
    share = (131_072 - 1_024 - 2 * 1 - 8 * 1000) // 1000 * 3
    assert listwise_doc_chars(131_072, query, 1000) == share == 366
    long_texts = [Hit(rank=i + 1, uuid=f"u{i}", text="x" * 500 + f" {i}") for i in range(1000)]
    fake = FakeJina(score=lambda text: 0.5)
    result = reranker(fake).rerank(query, long_texts, "jina-reranker-v3.5")
    sent = fake.calls[0]["documents"]
    assert len(sent) == 1000 and {len(t) for t in sent} == {share}
    assert result.max_chars == share and result.truncated == 1000
    assert any("all 1,000 candidates were reranked together in one call" in n
               and f"limited to its first {share:,} characters" in n and "1,000 of 1,000 were longer" in n
               and "131,072-token context" in n
               for n in result.notes)


def test_a_listwise_share_larger_than_the_usual_cut_keeps_the_usual_cut() -> None:
    fake = FakeJina()
    result = reranker(fake).rerank("q", hits(40), "jina-reranker-v3.5")
    assert result.max_chars == JinaReranker.DEFAULT_MAX_CHARS and result.notes == ()


def test_more_candidates_than_one_listwise_call_takes_is_refused_before_any_call() -> None:
    fake = FakeJina()
    with pytest.raises(InvalidInput, match="at most 1,000"):
        reranker(fake).rerank("q", hits(1001), "jina-reranker-v3.5")
    assert fake.calls == []


def test_an_api_that_refuses_the_size_of_a_listwise_call_is_an_error_with_its_message() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(413, json={"detail": "too many documents: at most 512 per request"})

    with pytest.raises(RequestRejected) as info:
        reranker(handler).rerank("q", hits(1000), "jina-reranker-v3.5")
    assert "too many documents: at most 512 per request" in info.value.message


def test_a_listwise_model_within_its_limit_gets_every_candidate_in_one_call_without_a_note() -> None:
    fake = FakeJina()
    result = reranker(fake, max_docs_per_call=10).rerank("q", hits(40), "jina-reranker-v3.5")
    assert [len(c["documents"]) for c in fake.calls] == [40]
    assert list(result.order) == expected_order(40) and result.notes == ()
