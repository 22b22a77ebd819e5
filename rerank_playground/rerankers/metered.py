"""Wrappers that check the token budgets before a paid Jina call and count the spend after it.

Wrap the reranker *inside* the cache (``CachedReranker(MeteredReranker(...))``): an answer from the cache costs
nothing and is never counted or refused. :class:`MeteredEmbedder` does the same for query vectors from Jina's
embeddings API.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rerank_playground.deployment import CHARS_PER_TOKEN, SpendGuard, estimate_rerank_tokens
from rerank_playground.jina_embeddings import JinaEmbedder
from rerank_playground.models import Hit, RerankResult
from rerank_playground.rerankers.base import Reranker
from rerank_playground.rerankers.catalog import chars_sent


class MeteredReranker:
    def __init__(self, inner: Reranker, guard: SpendGuard, *, operator_key: bool, max_chars: int = 4096) -> None:
        self.inner = inner
        self.guard = guard
        self.operator_key = operator_key
        self.max_chars = max_chars
        self.name = inner.name

    def __repr__(self) -> str:
        return f"MeteredReranker({self.inner!r}, operator_key={self.operator_key})"

    @property
    def cache_scope(self) -> str:
        return str(getattr(self.inner, "cache_scope", ""))

    def rerank(
        self, query: str, candidates: Sequence[Hit], model: str, top_n: int | None = None
    ) -> RerankResult:
        cut = chars_sent(model, query, len(candidates), self.max_chars)  # listwise: each its share of the context
        estimate = estimate_rerank_tokens(query, [h.text for h in candidates], cut)
        reservation = self.guard.reserve(estimate, operator_key=self.operator_key)  # raises before any call
        try:
            result = self.inner.rerank(query, candidates, model, top_n)
        except BaseException:
            self.guard.settle(reservation, None)
            raise
        reported = result.tokens is not None
        self.guard.settle(reservation, result.tokens if reported else estimate, estimated=not reported)
        return result


class MeteredEmbedder:
    """A Jina query embedder whose calls count against the same budgets (an estimate first, Jina's count after)."""

    def __init__(self, inner: JinaEmbedder, guard: SpendGuard, *, operator_key: bool) -> None:
        self.inner = inner
        self.guard = guard
        self.operator_key = operator_key

    @property
    def name(self) -> str:
        return self.inner.name

    def embed_query(self, text: str) -> list[float]:
        estimate = max(1, math.ceil(len(text or "") / CHARS_PER_TOKEN))
        reservation = self.guard.reserve(estimate, operator_key=self.operator_key)  # raises before any call
        try:
            vector = self.inner.embed_query(text)
        except BaseException:
            self.guard.settle(reservation, None)
            raise
        self.guard.settle(reservation, self.inner.last_tokens or estimate, estimated=self.inner.last_tokens is None)
        return vector
