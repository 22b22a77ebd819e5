"""Query and document vectors from Jina's ``/v1/embeddings`` API, over an injected ``httpx.Client``.

Failures raise the same provider errors as the reranker, named by what went wrong (``AuthRejected``,
``RateLimited``, ``BadResponse``, ...; see ``errors.py``); ``EmbeddingError`` is for vectors that arrive but
do not fit. None carries an httpx object or the key.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import httpx

from rerank_playground.errors import BadResponse, EmbeddingError, InvalidInput
from rerank_playground.jina_http import (
    PROVIDER,
    ReplyList,
    RetryPolicy,
    indexed_entries,
    post_json,
    resolve_base_url,
    total_tokens,
)

EMBEDDINGS_PATH = "/v1/embeddings"
DEFAULT_EMBEDDING_MODEL = "jina-embeddings-v3"
EMBEDDINGS_KEYS_URL = "https://jina.ai/embeddings"


class JinaEmbedder:
    def __init__(
        self,
        client: httpx.Client,
        api_key: str | None,
        base_url: str | None = None,
        model: str = DEFAULT_EMBEDDING_MODEL,
        dimensions: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        if dimensions is not None and dimensions < 1:
            raise ValueError("dimensions must be at least 1")
        self._client = client
        self._api_key = api_key
        self.base_url = resolve_base_url(base_url)
        self.model = model
        self.dimensions = dimensions
        self._retry = retry
        self.last_tokens: int | None = None

    @property
    def name(self) -> str:
        return f"jina:{self.model}"

    def __repr__(self) -> str:  # never show the key
        key = "set" if self._api_key else "missing"
        return f"JinaEmbedder(model={self.model!r}, base_url={self.base_url!r}, key={key})"

    def embed_query(self, text: str) -> list[float]:
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("The query is empty.", hint="Type a query to search for.")
        return self.embed([text], task="retrieval.query")[0]

    def embed(self, texts: Sequence[str], task: str | None = "retrieval.passage") -> list[list[float]]:
        """One vector per text, in order. ``task=None`` leaves the task out (for models without tasks)."""
        if not texts:
            return []
        body: dict[str, Any] = {"model": self.model, "input": list(texts)}
        if task:
            body["task"] = task
        if self.dimensions is not None:
            body["dimensions"] = self.dimensions
        reply = post_json(
            self._client,
            self.base_url,
            EMBEDDINGS_PATH,
            self._api_key,
            body,
            model=self.model,
            retry=self._retry,
            keys_url=EMBEDDINGS_KEYS_URL,
        )
        vectors = parse_embeddings_response(reply.data, n=len(texts), model=self.model)
        if self.dimensions is not None and vectors and len(vectors[0]) != self.dimensions:
            raise EmbeddingError(
                f"Jina returned {len(vectors[0])}-dimension vectors for {self.model}, "
                f"expected {self.dimensions}.",
                hint="Check the dimensions setting against the collection's vectors.",
                provider=PROVIDER,
                model=self.model,
            )
        self.last_tokens = total_tokens(reply.data)
        return vectors


EMBEDDINGS_REPLY = ReplyList(
    "data", "an entry", "texts", "it holds {got} vectors, expected {want}", index_optional=True
)


def parse_embeddings_response(data: dict[str, Any], *, n: int, model: str) -> list[list[float]]:
    def bad(what: str) -> BadResponse:
        return BadResponse(
            f"Jina's embeddings answer for {model} could not be used: {what}.",
            hint="Try again; if it persists, check the model name or JINA_BASE_URL.",
            provider=PROVIDER,
            model=model,
        )

    out: list[list[float]] = [[] for _ in range(n)]
    dim: int | None = None
    for index, item in indexed_entries(data, EMBEDDINGS_REPLY, n=n, expected=n, bad=bad):
        vec = item.get("embedding")
        if not isinstance(vec, list) or not vec:
            raise bad(f"text {index} has no 'embedding' list")
        if not all(isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) for x in vec):
            raise bad(f"the embedding of text {index} is not all numbers")
        if dim is None:
            dim = len(vec)
        elif len(vec) != dim:
            raise bad("the vectors have different lengths")
        out[index] = [float(x) for x in vec]
    return out
