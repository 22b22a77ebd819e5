"""The one Protocol every reranker implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from rerank_playground.models import Hit, RerankResult


@runtime_checkable
class Reranker(Protocol):
    """Reorders candidates for a query.

    ``candidates`` are the hits of one search, in retrieval order; the returned ``RerankResult.ranked``
    holds an entry per candidate it scored (``top_n`` limits how many), best first, with ``index``
    pointing into ``candidates``. Failures raise a ``RerankError`` subclass, never return None.
    """

    name: str

    def rerank(
        self, query: str, candidates: Sequence[Hit], model: str, top_n: int | None = None
    ) -> RerankResult: ...
