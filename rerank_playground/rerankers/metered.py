"""Wrappers that hold a paid Jina call to the token budgets: reserve an upper bound before it, count after it.

Wrap the reranker *inside* the cache (``CachedReranker(MeteredReranker(...))``): an answer from the cache costs
nothing and is never counted or refused. :class:`MeteredEmbedder` does the same for query vectors from Jina's
embeddings API.

What a call counts (the budgets are caps, ``deployment.py``):

- it answered with Jina's count: that count;
- it answered without one (the Weaviate module drops it): the bound, marked estimated;
- it failed where Jina may have done the work (a timeout, a 5xx, a dropped or bad answer, anything unknown): the
  bound, since what was sent may have been processed and billed;
- it failed before Jina could work (no connection, key refused, rate limited, request rejected): nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from rerank_playground.deployment import SpendGuard, embed_token_bound, rerank_token_bound
from rerank_playground.errors import (
    AuthRejected,
    BudgetExhausted,
    KeyRequired,
    ProviderUnreachable,
    RateLimited,
    RequestRejected,
)
from rerank_playground.jina_embeddings import JinaEmbedder
from rerank_playground.models import Hit, RerankResult
from rerank_playground.rerankers.base import Reranker
from rerank_playground.rerankers.model_catalog import chars_sent

# Failures that prove Jina did no work for this call.
NOTHING_PROCESSED = (ProviderUnreachable, AuthRejected, RateLimited, RequestRejected, KeyRequired, BudgetExhausted)


def _spent_on_failure(exc: BaseException, bound: int) -> int:
    return 0 if isinstance(exc, NOTHING_PROCESSED) else bound


class MeteredReranker:
    def __init__(
        self, inner: Reranker, guard: SpendGuard, *, operator_key: bool, max_chars: int | None = 4096
    ) -> None:
        """``max_chars``: the sender cuts each text to this many characters (None: sent whole, the module)."""
        self.inner = inner
        self.guard = guard
        self.operator_key = operator_key
        self.max_chars = max_chars
        self.name = inner.name
        self._prepaid: tuple[tuple[int, bool], int] | None = None

    def __repr__(self) -> str:
        return f"MeteredReranker({self.inner!r}, operator_key={self.operator_key})"

    @property
    def cache_scope(self) -> str:
        return str(getattr(self.inner, "cache_scope", ""))

    def bound(self, query: str, candidates: Sequence[Hit], model: str) -> int:
        """The tokens a call can use at most, whatever the text; a listwise model's candidates share its context,
        so each is cut to its share (as :class:`JinaReranker` sends them)."""
        cut = None if self.max_chars is None else chars_sent(model, query, len(candidates), self.max_chars)
        return rerank_token_bound(query, [h.text for h in candidates], cut)

    def prepay(self, reservation: tuple[int, bool]) -> None:
        """Use ``reservation`` (made by the caller for ``bound`` tokens, e.g. Compare for all its models at once)
        for the next call instead of reserving again."""
        self._prepaid = (reservation, reservation[0])

    def release_prepaid(self) -> None:
        """Give back a reservation ``prepay`` made that no call used (the answer came from the cache)."""
        if self._prepaid is not None:
            self.guard.settle(self._prepaid[0], 0)
            self._prepaid = None

    def rerank(
        self, query: str, candidates: Sequence[Hit], model: str, top_n: int | None = None
    ) -> RerankResult:
        bound = self.bound(query, candidates, model)
        if self._prepaid is not None and self._prepaid[1] >= bound:
            reservation, self._prepaid = self._prepaid[0], None
        else:
            reservation = self.guard.reserve(bound, operator_key=self.operator_key)  # raises before any call
        try:
            result = self.inner.rerank(query, candidates, model, top_n)
        except BaseException as exc:
            self.guard.settle(reservation, _spent_on_failure(exc, bound), estimated=True)
            raise
        reported = result.tokens is not None
        self.guard.settle(reservation, result.tokens if reported else bound, estimated=not reported)
        return result


class MeteredEmbedder:
    """A Jina query embedder whose calls count against the same budgets (a bound first, Jina's count after)."""

    def __init__(self, inner: JinaEmbedder, guard: SpendGuard, *, operator_key: bool) -> None:
        self.inner = inner
        self.guard = guard
        self.operator_key = operator_key

    @property
    def name(self) -> str:
        return self.inner.name

    def embed_query(self, text: str) -> list[float]:
        bound = embed_token_bound(text)
        reservation = self.guard.reserve(bound, operator_key=self.operator_key)  # raises before any call
        try:
            vector = self.inner.embed_query(text)
        except BaseException as exc:
            self.guard.settle(reservation, _spent_on_failure(exc, bound), estimated=True)
            raise
        self.guard.settle(reservation, self.inner.last_tokens or bound, estimated=self.inner.last_tokens is None)
        return vector
