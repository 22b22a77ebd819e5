"""A small thread-safe LRU cache for rerank results, and a reranker wrapper that uses it.

Keys are a sha256 over (reranker name, its cache scope, model, query, top_n, candidate texts): no key
material goes in. Only successful results are stored. A hit is returned with ``cached=True`` and
``api_calls=0``; ``latency_ms``, ``tokens`` and ``computed_at`` stay those of the original call (the page
labels them as cached, with that time).

Keep one cache per user session: a shared cache would let a session without a key see results that
another session paid for.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence

from rerank_playground.models import Hit, RerankResult
from rerank_playground.rerankers.base import Reranker


def cache_key(
    reranker: str, model: str, query: str, top_n: int | None, texts: Sequence[str], scope: str = ""
) -> str:
    payload = json.dumps(
        {
            "reranker": reranker,
            "scope": scope,
            "model": model,
            "query": query,
            "top_n": top_n,
            "texts": list(texts),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class RerankCache:
    def __init__(self, maxsize: int = 256) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self._data: OrderedDict[str, RerankResult] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> RerankResult | None:
        with self._lock:
            result = self._data.get(key)
            if result is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return result

    def put(self, key: str, result: RerankResult) -> None:
        with self._lock:
            self._data[key] = result
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __contains__(self, key: object) -> bool:
        """Is ``key`` stored? (A look without counting a hit or a miss.)"""
        with self._lock:
            return key in self._data

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)


class CachedReranker:
    """Wraps any ``Reranker``; identical requests are answered from ``cache``."""

    def __init__(self, inner: Reranker, cache: RerankCache) -> None:
        self.inner = inner
        self.cache = cache
        self.name = inner.name

    def __repr__(self) -> str:
        return f"CachedReranker({self.inner!r})"

    def _key(self, query: str, candidates: Sequence[Hit], model: str, top_n: int | None) -> str:
        scope = str(getattr(self.inner, "cache_scope", ""))
        return cache_key(self.name, model, query, top_n, [h.text for h in candidates], scope)

    def is_cached(self, query: str, candidates: Sequence[Hit], model: str, top_n: int | None = None) -> bool:
        return self._key(query, candidates, model, top_n) in self.cache

    @staticmethod
    def _as_hit(result: RerankResult) -> RerankResult:
        return dataclasses.replace(result, cached=True, api_calls=0)

    def rerank(
        self, query: str, candidates: Sequence[Hit], model: str, top_n: int | None = None, *, force: bool = False
    ) -> RerankResult:
        """``force``: call the reranker even when the cache has the answer (and keep the fresh one)."""
        key = self._key(query, candidates, model, top_n)
        stored = None if force else self.cache.get(key)
        if stored is not None:
            return self._as_hit(stored)
        result = self.inner.rerank(query, candidates, model, top_n)
        self.cache.put(key, result)
        return result
