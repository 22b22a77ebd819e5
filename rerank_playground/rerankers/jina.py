"""Rerank with Jina's ``/v1/rerank`` API, called from this process over an injected ``httpx.Client``."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Any

import httpx

from rerank_playground.errors import BadResponse, InvalidInput, KeyRequired
from rerank_playground.jina_http import (
    API_KEY_ENV,
    KEYS_URL,
    PROVIDER,
    ReplyList,
    RetryPolicy,
    indexed_entries,
    post_json,
    resolve_base_url,
    total_tokens,
)
from rerank_playground.keys import http_endpoint
from rerank_playground.models import Hit, RankedDoc, RerankResult
from rerank_playground.rerankers.base import ProviderContext, ProviderSpec, Reranker, ScriptRecipe
from rerank_playground.rerankers.catalog import (
    DEFAULT_MODEL,
    JINA_MODELS,
    WEAVIATE_DEFAULT_MODEL,
    find_model,
    get_model,
)
from rerank_playground.rerankers.metered import MeteredReranker

RERANK_PATH = "/v1/rerank"


def validate_query(query: str) -> str:
    if not isinstance(query, str) or not query.strip():
        raise InvalidInput("The query is empty.", hint="Type a query to rerank against.")
    return query


def validate_top_n(top_n: int | None, n: int) -> int:
    """``top_n`` clamped to ``n`` (None means all); anything below 1 is ``InvalidInput``."""
    if top_n is None:
        return n
    if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1:
        raise InvalidInput(f"top_n must be a whole number of at least 1, not {top_n!r}.")
    return min(top_n, n)


class JinaReranker:
    """Calls Jina's rerank API directly (the "client-side" path, as opposed to Weaviate's module).

    Texts longer than ``max_chars`` are cut to their first ``max_chars`` characters (counted in
    ``RerankResult.truncated``). For pointwise models, more than ``max_docs_per_call`` candidates are sent
    in chunks, run concurrently, and merged by score. Listwise models (v3, v3.5) score documents against
    each other, so scores of separate calls are not comparable: they are never chunked; the first
    candidates, as many as the model takes in one call, are reranked together and a note says so.
    ``return_documents`` is always ``false``: only indices and scores
    come back.
    """

    name = PROVIDER
    DEFAULT_MAX_CHARS = 4096  # characters of each candidate sent (the generated script cuts the same)

    def __init__(
        self,
        client: httpx.Client,
        api_key: str | None,
        base_url: str | None = None,
        max_docs_per_call: int = 1000,
        max_chars: int = DEFAULT_MAX_CHARS,
        max_workers: int = 8,
        retry: RetryPolicy | None = None,
    ) -> None:
        if max_docs_per_call < 1 or max_chars < 1 or max_workers < 1:
            raise ValueError("max_docs_per_call, max_chars and max_workers must be at least 1")
        self._client = client
        self._api_key = api_key
        self.base_url = resolve_base_url(base_url)
        self.max_docs_per_call = max_docs_per_call
        self.max_chars = max_chars
        self.max_workers = max_workers
        self._retry = retry

    def __repr__(self) -> str:  # never show the key
        key = "set" if self._api_key else "missing"
        return f"JinaReranker(base_url={self.base_url!r}, key={key})"

    @property
    def has_key(self) -> bool:
        return bool(self._api_key and self._api_key.strip())

    @property
    def cache_scope(self) -> str:
        """Settings that change results, for ``RerankCache`` keys (no key material)."""
        return f"{self.base_url}|max_chars={self.max_chars}"

    def rerank(
        self, query: str, candidates: Sequence[Hit], model: str, top_n: int | None = None
    ) -> RerankResult:
        validate_query(query)
        n = len(candidates)
        want = validate_top_n(top_n, n)
        start = time.perf_counter()
        texts, truncated = self._prepare_texts(candidates)
        notes: list[str] = []
        if truncated:
            notes.append(
                f"{truncated} of {n} candidate texts were longer than {self.max_chars:,} characters "
                f"and were cut to their first {self.max_chars:,} before sending."
            )
        if n == 0:
            return RerankResult(self.name, model, (), 0.0, tokens=None, api_calls=0, notes=tuple(notes))

        info = find_model(model)
        if info is not None and info.listwise:
            sent = min(n, info.max_docs_per_call or n)
            if sent < n:
                notes.append(
                    f"{model} is listwise: it scores documents against each other in one call, which takes up "
                    f"to {sent}. Only the top {sent} of the {n:,} candidates were reranked (together); the "
                    f"other {n - sent:,} were not sent and keep their retrieval order below them."
                )
            chunks = [(0, texts[:sent])]
            want = min(want, sent)
        else:
            chunks = [(lo, texts[lo : lo + self.max_docs_per_call]) for lo in range(0, n, self.max_docs_per_call)]
        if len(chunks) == 1:
            ranked, tokens, calls = self._call(query, chunks[0][1], 0, model, want)
        else:
            notes.append(
                f"{n:,} candidates were sent in {len(chunks)} calls of up to {self.max_docs_per_call:,} "
                "and merged by score."
            )
            ranked, tokens, calls = self._call_chunks(query, chunks, model, want)
        latency_ms = (time.perf_counter() - start) * 1000.0
        return RerankResult(
            reranker=self.name,
            model=model,
            ranked=ranked,
            latency_ms=latency_ms,
            tokens=tokens,
            api_calls=calls,
            truncated=truncated,
            notes=tuple(notes),
        )

    # -- internals -------------------------------------------------------------------------------

    def _prepare_texts(self, candidates: Sequence[Hit]) -> tuple[list[str], int]:
        texts: list[str] = []
        truncated = 0
        for hit in candidates:
            text = hit.text if isinstance(hit.text, str) else ""
            if len(text) > self.max_chars:
                text = text[: self.max_chars]
                truncated += 1
            texts.append(text)
        return texts, truncated

    def _call_chunks(
        self, query: str, chunks: list[tuple[int, list[str]]], model: str, want: int
    ) -> tuple[tuple[RankedDoc, ...], int | None, int]:
        pool = ThreadPoolExecutor(max_workers=min(self.max_workers, len(chunks)))
        try:
            futures: list[Future[tuple[tuple[RankedDoc, ...], int | None, int]]] = [
                pool.submit(self._call, query, texts, lo, model, min(want, len(texts)))
                for lo, texts in chunks
            ]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = [fut for fut in futures if fut in done and fut.exception() is not None]
            if failed:
                for fut in futures:
                    fut.cancel()
                failed[0].result()  # re-raises the first chunk's error
            parts = [fut.result() for fut in futures]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        merged = sorted((doc for part in parts for doc in part[0]), key=lambda d: (-d.score, d.index))
        token_counts = [p[1] for p in parts if p[1] is not None]
        tokens = sum(token_counts) if token_counts else None
        return tuple(merged[:want]), tokens, sum(p[2] for p in parts)

    def _call(
        self, query: str, texts: list[str], offset: int, model: str, want: int
    ) -> tuple[tuple[RankedDoc, ...], int | None, int]:
        body = {
            "model": model,
            "query": query,
            "documents": texts,
            "top_n": want,
            "return_documents": False,
        }
        reply = post_json(
            self._client, self.base_url, RERANK_PATH, self._api_key, body, model=model, retry=self._retry
        )
        ranked = parse_rerank_response(reply.data, n=len(texts), expected=want, model=model)
        if offset:
            ranked = tuple(RankedDoc(doc.index + offset, doc.score) for doc in ranked)
        return ranked, total_tokens(reply.data), reply.attempts


RERANK_REPLY = ReplyList("results", "a result", "documents", "it ranked {got} documents, expected {want}")


def parse_rerank_response(
    data: dict[str, Any], *, n: int, expected: int, model: str
) -> tuple[RankedDoc, ...]:
    """Validate a ``/v1/rerank`` JSON body and turn it into ``RankedDoc``s in the server's order."""

    def bad(what: str) -> BadResponse:
        return BadResponse(
            f"Jina's answer for {model} could not be used: {what}.",
            hint="Try again; if it persists, pick another model or check JINA_BASE_URL.",
            provider=PROVIDER,
            model=model,
        )

    ranked: list[RankedDoc] = []
    isfinite = math.isfinite
    for index, item in indexed_entries(data, RERANK_REPLY, n=n, expected=expected, bad=bad):
        score = item.get("relevance_score")
        if type(score) is not float and (isinstance(score, bool) or not isinstance(score, int | float)):
            raise bad(f"document {index} has no numeric 'relevance_score'")
        if not isfinite(score):
            raise bad(f"document {index} has no numeric 'relevance_score'")
        ranked.append(RankedDoc(index, float(score)))
    return tuple(ranked)


SCRIPT_RERANK = '''

def rerank(texts):
    """The Jina rerank API, called from here (each text cut to {max_chars} characters, as the app does)."""
    import httpx

    reply = httpx.post(
        JINA_BASE_URL + "/v1/rerank",
        headers={{"Authorization": "Bearer " + os.environ["JINAAI_APIKEY"], "Accept": "application/json"}},
        json={{
            "model": {model!r}, "query": QUERY, "documents": [t[:{max_chars}] for t in texts],
            "top_n": len(texts), "return_documents": False,
        }},
        timeout=60,
    )
    reply.raise_for_status()
    ranked = [r["index"] for r in sorted(reply.json()["results"], key=lambda r: -r["relevance_score"])]
    return ranked + [i for i in range(len(texts)) if i not in set(ranked)]
'''


def _build(ctx: ProviderContext) -> Reranker:
    """A metered Jina reranker with the session's key, if that key may go to the configured base URL."""
    get_model(ctx.model)  # unknown names fail here with the list of known ones
    key = ctx.keys.get(API_KEY_ENV)
    secret = ctx.keys.secret_for(API_KEY_ENV, http_endpoint(ctx.api_base_url))
    if key is None or not secret:
        raise KeyRequired(
            f"{ctx.model} needs a Jina API key.",
            hint=f"Paste one in the sidebar or set JINAAI_APIKEY. Free keys: {KEYS_URL}",
            provider=PROVIDER,
            model=ctx.model,
        )
    inner = JinaReranker(ctx.http, secret, ctx.api_base_url)
    return MeteredReranker(inner, ctx.spend, operator_key=key.is_operator, max_chars=inner.max_chars)


SPEC = ProviderSpec(
    name=PROVIDER,
    label="Jina API (called from the app)",
    short_label="Jina API",
    models=JINA_MODELS,
    factory=_build,
    key=API_KEY_ENV,
    paid=True,
    default_model=DEFAULT_MODEL,
    compare_defaults=(DEFAULT_MODEL, WEAVIATE_DEFAULT_MODEL),  # the newest vs Weaviate's default
    model_prompt="Jina model",
    status_name="Jina API reranking",
    status_ready="ready (key set)",
    status_off="needs a Jina key",
    script=ScriptRecipe(
        rerank_source=lambda model: SCRIPT_RERANK.format(model=model, max_chars=JinaReranker.DEFAULT_MAX_CHARS),
        helpers=frozenset({"jina_api"}),
    ),
    key_hint=f"needs a Jina key — get one at {KEYS_URL}",
)
