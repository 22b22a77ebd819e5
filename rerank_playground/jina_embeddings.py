"""Query and document vectors from Jina's ``/v1/embeddings`` API, over an injected ``httpx.Client``.

Failures surface as ``EmbeddingError`` (what the search layer catches when a query vector cannot be
computed). The typed Jina error behind it (auth, rate limit, ...) stays reachable as ``__cause__``;
it is our own key-free exception, never an httpx object.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import httpx

from rerank_playground.errors import EmbeddingError, InvalidInput, JinaBadResponse, RerankError
from rerank_playground.jina_http import RetryPolicy, post_json, resolve_base_url

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
        try:
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
        except RerankError as err:
            raise EmbeddingError(err.message, hint=err.hint) from err
        if self.dimensions is not None and vectors and len(vectors[0]) != self.dimensions:
            raise EmbeddingError(
                f"Jina returned {len(vectors[0])}-dimension vectors for {self.model}, "
                f"expected {self.dimensions}.",
                hint="Check the dimensions setting against the collection's vectors.",
            )
        usage = reply.data.get("usage")
        total = usage.get("total_tokens") if isinstance(usage, dict) else None
        self.last_tokens = total if isinstance(total, int) and not isinstance(total, bool) else None
        return vectors


def parse_embeddings_response(data: dict[str, Any], *, n: int, model: str) -> list[list[float]]:
    def bad(what: str) -> JinaBadResponse:
        return JinaBadResponse(
            f"Jina's embeddings answer for {model} could not be used: {what}.",
            hint="Try again; if it persists, check the model name or JINA_BASE_URL.",
            model=model,
        )

    items = data.get("data")
    if not isinstance(items, list):
        raise bad("it has no 'data' list")
    if len(items) != n:
        raise bad(f"it holds {len(items)} vectors, expected {n}")
    out: list[list[float] | None] = [None] * n
    dim: int | None = None
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            raise bad("an entry is not an object")
        index = item.get("index", position)
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n:
            raise bad(f"index {index!r} is outside the {n} texts sent")
        if out[index] is not None:
            raise bad(f"index {index} appears twice")
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
    return [v for v in out if v is not None]
