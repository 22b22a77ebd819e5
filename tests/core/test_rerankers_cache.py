"""RerankCache and CachedReranker: hits make no HTTP call; anything that changes the answer misses."""

from __future__ import annotations

import threading

import httpx
import pytest

from rerank_playground.errors import ProviderServerError
from rerank_playground.models import RankedDoc, RerankResult
from rerank_playground.rerankers.base import Reranker
from rerank_playground.rerankers.cache import CachedReranker, RerankCache, cache_key
from tests.core.test_rerankers_jina import CANARY, V2, FakeJina, hits, reranker


def cached(fake: FakeJina, **kw: object) -> tuple[CachedReranker, RerankCache]:
    cache = RerankCache(maxsize=16)
    return CachedReranker(reranker(fake, **kw), cache), cache


def test_second_identical_call_makes_no_http_call() -> None:
    fake = FakeJina()
    r, cache = cached(fake)
    first = r.rerank("q", hits(5), V2, top_n=3)
    second = r.rerank("q", hits(5), V2, top_n=3)
    assert len(fake.calls) == 1
    assert first.cached is False and first.api_calls == 1
    assert second.cached is True and second.api_calls == 0
    assert second.ranked == first.ranked and second.model == first.model
    assert cache.hits == 1 and cache.misses == 1
    assert isinstance(r, Reranker) and r.name == "jina"


@pytest.mark.parametrize(
    "change",
    [
        {"top_n": 2},
        {"top_n": None},
        {"model": "jina-reranker-v1-base-en"},
        {"query": "q2"},
        {"candidates": hits(5, "other {i}")},
        {"candidates": hits(4)},
    ],
    ids=["top_n", "top_n-none", "model", "query", "texts", "fewer-docs"],
)
def test_anything_that_changes_the_answer_misses(change: dict) -> None:
    fake = FakeJina()
    r, _ = cached(fake)
    base = {"query": "q", "candidates": hits(5), "model": V2, "top_n": 3}
    r.rerank(**base)
    again = r.rerank(**{**base, **change})
    assert len(fake.calls) == 2 and not again.cached


def test_failures_are_not_cached() -> None:
    state = {"fail": True}
    inner = FakeJina()

    def handler(request: httpx.Request) -> httpx.Response:
        if state["fail"]:
            return httpx.Response(503, json={"detail": "down"})
        return inner(request)

    r = CachedReranker(reranker(handler), RerankCache())
    with pytest.raises(ProviderServerError):
        r.rerank("q", hits(3), V2)
    state["fail"] = False
    result = r.rerank("q", hits(3), V2)
    assert not result.cached and result.api_calls == 1


def test_key_holds_no_key_material_and_is_a_sha256() -> None:
    import hashlib
    import json

    key = cache_key("jina", V2, "q", 3, ["a", "b"], "https://jina.test|max_chars=4096")
    payload = {"reranker": "jina", "scope": "https://jina.test|max_chars=4096", "model": V2, "query": "q",
               "top_n": 3, "texts": ["a", "b"]}
    assert key == hashlib.sha256(json.dumps(payload, separators=(",", ":")).encode()).hexdigest()
    assert CANARY not in key
    # the scope is part of the key: another base URL must not reuse results
    assert key != cache_key("jina", V2, "q", 3, ["a", "b"], "http://127.0.0.1:1|max_chars=4096")
    # texts are not concatenated ambiguously
    assert cache_key("jina", V2, "q", 3, ["ab", "c"]) != cache_key("jina", V2, "q", 3, ["a", "bc"])


def test_lru_evicts_the_least_recently_used() -> None:
    cache = RerankCache(maxsize=2)
    res = RerankResult("jina", V2, (RankedDoc(0, 1.0),), 1.0)
    cache.put("a", res)
    cache.put("b", res)
    assert cache.get("a") is res  # "a" is now the most recent
    cache.put("c", res)
    assert cache.get("b") is None and cache.get("a") is res and cache.get("c") is res
    assert len(cache) == 2


def test_cache_is_thread_safe_under_concurrent_use() -> None:
    cache = RerankCache(maxsize=50)
    res = RerankResult("jina", V2, (), 1.0)
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(500):
                cache.put(f"{t}-{i % 80}", res)
                cache.get(f"{(t + 1) % 4}-{i % 80}")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == [] and len(cache) == 50


def test_force_asks_again_and_keeps_the_fresh_answer() -> None:
    fake = FakeJina()
    r, _ = cached(fake)
    first = r.rerank("q", hits(5), V2)
    again = r.rerank("q", hits(5), V2, force=True)
    assert len(fake.calls) == 2 and not again.cached and again.api_calls == 1
    assert again.computed_at >= first.computed_at
    later = r.rerank("q", hits(5), V2)
    assert later.cached and later.computed_at == again.computed_at  # the fresh one replaced the old


def test_a_cached_answer_keeps_the_time_it_was_computed() -> None:
    fake = FakeJina()
    r, _ = cached(fake)
    first = r.rerank("q", hits(5), V2)
    second = r.rerank("q", hits(5), V2)
    assert second.cached and second.computed_at == first.computed_at and second.latency_ms == first.latency_ms


class ScopedReranker:
    """Answers with whatever model its ``configured`` says (like Weaviate's module, whose config can change)."""

    name = "weaviate_module"

    def __init__(self, configured: str) -> None:
        self.configured = configured
        self.calls = 0

    @property
    def cache_scope(self) -> str:
        return f"C|{self.configured}|text"

    def rerank(self, query: str, candidates, model: str, top_n: int | None = None) -> RerankResult:
        self.calls += 1
        ranked = tuple(RankedDoc(i, 1.0 - i / 10) for i in range(len(candidates)))
        return RerankResult(self.name, self.configured, ranked, 1.0, api_calls=1)


def test_a_server_side_model_change_is_never_served_under_the_old_name() -> None:
    cache = RerankCache()
    before = CachedReranker(ScopedReranker("jina-reranker-v2-base-multilingual"), cache)
    assert before.rerank("q", hits(3), V2).model == V2
    after = CachedReranker(ScopedReranker("jina-reranker-v3"), cache)  # another session changed the config
    result = after.rerank("q", hits(3), V2)
    assert not result.cached and result.model == "jina-reranker-v3"
