"""JinaEmbedder over httpx.MockTransport."""

from __future__ import annotations

import json
import traceback
from typing import Any

import httpx
import pytest

from rerank_playground.errors import (
    EmbeddingError,
    InvalidInput,
    JinaAuthError,
    JinaBadResponse,
    JinaRateLimited,
)
from rerank_playground.jina_embeddings import JinaEmbedder
from rerank_playground.jina_http import RetryPolicy

CANARY = "canary-Zq81xPlm0Wt4"
NO_RETRY = RetryPolicy(attempts=1, jitter=0.0, sleep=lambda s: None)


def fake_vectors(request: httpx.Request, *, damage: str | None = None) -> httpx.Response:
    body = json.loads(request.content)
    dims = body.get("dimensions", 4)
    data: list[dict[str, Any]] = [
        {"object": "embedding", "index": i, "embedding": [float(len(t))] + [0.5] * (dims - 1)}
        for i, t in enumerate(body["input"])
    ]
    data.reverse()  # the API may answer out of order; index is what counts
    if damage == "wrong_count":
        data.pop()
    elif damage == "bad_index":
        data[0]["index"] = 99
    elif damage == "no_embedding":
        del data[0]["embedding"]
    elif damage == "ragged":
        data[0]["embedding"] = data[0]["embedding"][:-1]
    return httpx.Response(200, json={"model": body["model"], "usage": {"total_tokens": 5}, "data": data})


def embedder(handler, key: str | None = CANARY, **kw: Any) -> tuple[JinaEmbedder, list[dict]]:
    seen: list[dict] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        assert request.url.path == "/v1/embeddings"
        return handler(request)

    client = httpx.Client(transport=httpx.MockTransport(recording), timeout=5.0)
    return JinaEmbedder(client, key, base_url="https://jina.test", retry=NO_RETRY, **kw), seen


def test_embed_query_uses_the_query_task() -> None:
    e, seen = embedder(fake_vectors)
    vec = e.embed_query("hello")
    assert seen == [{"model": "jina-embeddings-v3", "input": ["hello"], "task": "retrieval.query"}]
    assert vec == [5.0, 0.5, 0.5, 0.5]
    assert e.name == "jina:jina-embeddings-v3" and e.last_tokens == 5


def test_embed_passages_in_input_order_with_dimensions() -> None:
    e, seen = embedder(fake_vectors, dimensions=3)
    vecs = e.embed(["a", "bbb", "cc"])
    assert seen[0]["task"] == "retrieval.passage" and seen[0]["dimensions"] == 3
    assert [v[0] for v in vecs] == [1.0, 3.0, 2.0]
    assert e.embed([]) == [] and len(seen) == 1


def test_task_none_is_left_out() -> None:
    e, seen = embedder(fake_vectors, model="jina-embeddings-v2-base-en")
    e.embed(["a"], task=None)
    assert "task" not in seen[0]


def test_empty_query_is_invalid_input() -> None:
    e, seen = embedder(fake_vectors)
    with pytest.raises(InvalidInput):
        e.embed_query("  ")
    assert seen == []


def test_missing_key_is_an_embedding_error_pointing_at_keys() -> None:
    e, seen = embedder(fake_vectors, key=None)
    with pytest.raises(EmbeddingError, match="JINAAI_APIKEY") as info:
        e.embed_query("q")
    assert "https://jina.ai/embeddings" in str(info.value) and seen == []


@pytest.mark.parametrize("damage", ["wrong_count", "bad_index", "no_embedding", "ragged"])
def test_damaged_answers(damage: str) -> None:
    e, _ = embedder(lambda r: fake_vectors(r, damage=damage))
    with pytest.raises(EmbeddingError) as info:
        e.embed(["a", "b", "c"])
    assert isinstance(info.value.__cause__, JinaBadResponse)


def test_dimension_mismatch_is_reported() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [{"index": 0, "embedding": [0.1, 0.2]}]})

    e, _ = embedder(handler, dimensions=8)
    with pytest.raises(EmbeddingError, match="2-dimension"):
        e.embed_query("q")


@pytest.mark.parametrize(
    ("response", "cause"),
    [
        (httpx.Response(401, json={"detail": f"bad key {CANARY}"}), JinaAuthError),
        (httpx.Response(429, json={"error": {"message": f"slow {CANARY}"}}), JinaRateLimited),
    ],
)
def test_http_errors_become_embedding_errors_keeping_the_typed_cause(response, cause) -> None:
    e, _ = embedder(lambda r: response)
    with pytest.raises(EmbeddingError) as info:
        e.embed_query("q")
    assert isinstance(info.value.__cause__, cause)
    rendered = "".join(traceback.format_exception(info.value))
    assert CANARY not in rendered and CANARY not in str(info.value) and CANARY not in repr(e)
