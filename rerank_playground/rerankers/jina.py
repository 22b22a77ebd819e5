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
from rerank_playground.rerankers.metered import MeteredReranker
from rerank_playground.rerankers.model_catalog import (
    DEFAULT_MODEL,
    JINA_MODELS,
    LISTWISE_CHARS_PER_TOKEN,
    LISTWISE_MAX_DOCS,
    LISTWISE_PROMPT_TOKENS,
    LISTWISE_TOKENS_PER_DOC,
    WEAVIATE_DEFAULT_MODEL,
    find_model,
    get_model,
    listwise_doc_chars,
)

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
    each other, so scores of separate calls are not comparable: every candidate (up to
    :data:`LISTWISE_MAX_DOCS`) goes into one call, each cut to its share of the model's context
    (:func:`listwise_doc_chars`), and a note says how far. If the API refuses that call, its message is the
    error: no candidate is ever left out silently. ``return_documents`` is always ``false``: only indices and
    scores come back.
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
        info = find_model(model)
        context = info.context_tokens if info is not None and info.listwise else None
        if context is not None and n > LISTWISE_MAX_DOCS:
            raise InvalidInput(
                f"{model} is listwise: it reranks all candidates together in one call, and one call takes "
                f"at most {LISTWISE_MAX_DOCS:,}; this search has {n:,}.",
                hint=f"Lower K to {LISTWISE_MAX_DOCS:,} or fewer.",
            )
        max_chars = self.max_chars if context is None or n == 0 else min(
            self.max_chars, listwise_doc_chars(context, query, n)
        )
        texts, truncated = self._prepare_texts(candidates, max_chars)
        notes: list[str] = []
        if max_chars < self.max_chars:
            notes.append(
                f"{model} is listwise: all {n:,} candidates were reranked together in one call, sharing its "
                f"{context:,}-token context, so each was limited to its first {max_chars:,} characters "
                f"({truncated:,} of {n:,} were longer and were cut)."
            )
        elif truncated:
            notes.append(
                f"{truncated} of {n} candidate texts were longer than {max_chars:,} characters "
                f"and were cut to their first {max_chars:,} before sending."
            )
        if n == 0:
            return RerankResult(self.name, model, (), 0.0, tokens=None, api_calls=0, notes=tuple(notes))

        if context is not None:
            chunks = [(0, texts)]  # one call: listwise scores of separate calls cannot be merged
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
            max_chars=max_chars,
        )

    # -- internals -------------------------------------------------------------------------------

    @staticmethod
    def _prepare_texts(candidates: Sequence[Hit], max_chars: int) -> tuple[list[str], int]:
        texts: list[str] = []
        truncated = 0
        for hit in candidates:
            text = hit.text if isinstance(hit.text, str) else ""
            if len(text) > max_chars:
                text = text[:max_chars]
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
    """The Jina rerank API, called from here (each text cut as the app cuts it)."""
    import httpx

    cut = {max_chars}{listwise_cut}
    reply = httpx.post(
        JINA_BASE_URL + "/v1/rerank",
        headers={{"Authorization": "Bearer " + os.environ["JINAAI_APIKEY"], "Accept": "application/json"}},
        json={{
            "model": {model!r}, "query": QUERY, "documents": [t[:cut] for t in texts],
            "top_n": len(texts), "return_documents": False,
        }},
        timeout=60,
    )
    reply.raise_for_status()
    results = sorted(reply.json()["results"], key=lambda r: -r["relevance_score"])
    ranked = [(r["index"], float(r["relevance_score"])) for r in results]
    returned = {{i for i, _ in ranked}}
    return ranked + [(i, float("-inf")) for i in range(len(texts)) if i not in returned]  # none left out
'''


SCRIPT_LISTWISE_CUT = '''
    # Listwise: every candidate goes into one call, so each gets its share of the {context:,}-token context
    # (counted at {cpt} characters a token, less the prompt, the query twice and {per_doc} tokens a document).
    free = {context} - {prompt} - 2 * -(-len(QUERY) // {cpt}) - {per_doc} * len(texts)
    cut = min(cut, max(1, free // max(1, len(texts)) * {cpt}))'''


def script_rerank_source(model: str) -> str:
    """The generated script's ``rerank`` for ``model``: the same cuts as :class:`JinaReranker`."""
    info = find_model(model)
    context = info.context_tokens if info is not None and info.listwise else None
    listwise_cut = "" if context is None else SCRIPT_LISTWISE_CUT.format(
        context=context, cpt=LISTWISE_CHARS_PER_TOKEN, prompt=LISTWISE_PROMPT_TOKENS, per_doc=LISTWISE_TOKENS_PER_DOC
    )
    return SCRIPT_RERANK.format(model=model, max_chars=JinaReranker.DEFAULT_MAX_CHARS, listwise_cut=listwise_cut)


def _build(ctx: ProviderContext) -> Reranker:
    """A metered Jina reranker with the session's key, if that key may go to the configured base URL."""
    get_model(ctx.model)  # unknown names fail here with the list of known ones
    key = ctx.keys.get(API_KEY_ENV)
    secret = ctx.keys.secret_for(API_KEY_ENV, http_endpoint(ctx.api_base_url))
    if key is None or not secret:
        raise KeyRequired(
            f"{ctx.model} needs a Jina API key.",
            hint=f"Set JINAAI_APIKEY. Free keys: {KEYS_URL}",
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
    script=ScriptRecipe(
        rerank_source=script_rerank_source,
        helpers=frozenset({"jina_api"}),
    ),
    key_hint=f"needs a Jina key — get one at {KEYS_URL}",
)
