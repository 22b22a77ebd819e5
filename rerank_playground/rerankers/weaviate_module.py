"""Weaviate's server-side ``reranker-jinaai`` module: the same search, re-run with ``rerank=``.

Its documented limits are surfaced as notes rather than hidden: it reranks only the page the query
fetched, it sends one property per object (non-strings become empty text), it uses the model set in
the collection's config, and it needs the key on the server or in the ``X-JinaAI-Api-Key`` header.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

import weaviate

from rerank_playground.errors import (
    JinaAuthError,
    JinaBadResponse,
    JinaModelError,
    JinaRateLimited,
    JinaServerError,
    JinaTimeout,
    JinaUnreachable,
    KeyRequired,
    PlaygroundError,
    RerankError,
    SearchError,
)
from rerank_playground.models import CollectionInfo, Hit, RankedDoc, RerankResult, SearchRequest
from rerank_playground.rerankers.catalog import WEAVIATE_DEFAULT_MODEL
from rerank_playground.search import QueryEmbedder, search

MODULE = "reranker-jinaai"


class WeaviateModuleReranker:
    name = "weaviate_module"

    def __init__(
        self,
        client: weaviate.WeaviateClient,
        request: SearchRequest,
        info: CollectionInfo,
        *,
        embedder: QueryEmbedder | None = None,
        rerank_property: str | None = None,
        secrets: Sequence[str | None] = (),
    ) -> None:
        self._client = client
        self._secrets = tuple(secrets)  # the session's keys, scrubbed from any server text quoted in errors
        self._request = request
        self._info = info
        self._embedder = embedder
        self._property = rerank_property or request.text_property or (
            info.text_properties[0] if info.text_properties else ""
        )

    @property
    def configured_model(self) -> str:
        """The model the server uses for this collection, as its config said when this reranker was built."""
        return self._info.reranker_model or WEAVIATE_DEFAULT_MODEL

    @property
    def cache_scope(self) -> str:
        """For ``RerankCache`` keys: the model the server will actually use, and what it reranks."""
        return f"{self._info.name}|{self.configured_model}|{self._property}"

    def rerank(self, query: str, candidates: Sequence[Hit], model: str, top_n: int | None = None) -> RerankResult:
        info = self._info
        if info.reranker_module != MODULE:
            raise RerankError(
                f"Collection '{info.name}' has no reranker-jinaai module configured"
                + (f" (it uses {info.reranker_module})." if info.reranker_module else "."),
                hint="Use the Jina API path instead, or configure the module on the Collections page.",
                model=model,
            )
        configured = self.configured_model
        notes = [
            f"Weaviate reranked only the {len(candidates)} objects this query fetched (limit K), "
            "then returned them in the new order.",
        ]
        if model and model != configured:
            # The collection's config (read just before this query) names another model than the one asked
            # for, e.g. another session changed it: the result is labelled with the model the server used.
            notes.append(
                f"You picked {model}, but the collection's reranker is now {configured} (changed since this page "
                f"read it): Weaviate reranked with {configured}, and the result says so."
            )
        prop_type = next((p.data_type for p in info.properties if p.name == self._property), None)
        if prop_type is None:
            raise RerankError(f"Collection '{info.name}' has no property '{self._property}'.", model=model)
        if prop_type != "text":
            notes.append(
                f"'{self._property}' is {prop_type}, not text: Weaviate sends it to Jina as empty text, "
                "so the scores mean little. Pick a text property."
            )
        empty = sum(1 for hit in candidates if not hit.properties.get(self._property))
        if empty and prop_type == "text":
            notes.append(
                f"{empty} of {len(candidates)} objects have no '{self._property}' and were sent as empty text."
            )
        request = SearchRequest(
            **{**self._request.__dict__, "query": query, "limit": max(1, len(candidates))}
        )
        started = time.perf_counter()
        try:
            result = search(self._client, request, info, embedder=self._embedder, rerank_prop=self._property,
                            secrets=self._secrets)
        except SearchError as exc:
            failure: RerankError | None = _module_error(exc, model)
        else:
            failure = None
        if failure is not None:
            raise failure  # outside the except: the SearchError does not hang off it as __context__
        latency_ms = (time.perf_counter() - started) * 1000
        index_of = {hit.uuid: i for i, hit in enumerate(candidates)}
        ranked = []
        for hit in result.hits:
            if hit.uuid in index_of and hit.score is not None:
                ranked.append(RankedDoc(index=index_of[hit.uuid], score=float(hit.score)))
        missing = len(candidates) - len(ranked)
        if missing:
            notes.append(f"{missing} candidates did not come back from the re-run search (the data changed?).")
        if top_n is not None:
            ranked = ranked[:top_n]
        notes.append("Latency includes re-running the search on the server.")
        return RerankResult(
            reranker=self.name, model=configured, ranked=tuple(ranked), latency_ms=latency_ms,
            tokens=None, api_calls=1, notes=tuple(notes),
        )


_STATUS = re.compile(r"status (\d{3})")


def _module_error(exc: PlaygroundError, model: str) -> RerankError:
    """Map the module's failure, as Weaviate words it, to the same typed errors the Jina API path raises.

    Weaviate quotes Jina's HTTP status ("connection to Jinaai API failed with status 401: ..."); the status
    decides first, because Jina's own 401 text also says "API key".
    """
    text = exc.message.lower()
    found = _STATUS.search(text)
    status = int(found.group(1)) if found else None
    if status in (401, 403) or "unauthorized" in text:
        return JinaAuthError("Jina rejected the key Weaviate sent.", hint="Check the Jina key in the sidebar.",
                             model=model)
    if status == 429:
        return JinaRateLimited("Jina rate-limited Weaviate's rerank call.", hint="Wait a minute and retry.",
                               model=model)
    if status in (400, 413, 422):
        return JinaModelError("Jina refused the rerank request Weaviate sent.",
                              hint="Check the collection's reranker model name.", model=model)
    if status is not None and status >= 500:
        return JinaServerError("Jina failed to rerank for Weaviate.", hint="Try again shortly.", model=model)
    if "api key" in text or "apikey" in text or "x-jinaai-api-key" in text:
        return KeyRequired(
            "Weaviate's reranker-jinaai module has no Jina key.",
            hint="Paste a Jina key in the sidebar (sent as X-JinaAI-Api-Key) or set JINAAI_APIKEY on the server.",
            model=model,
        )
    if "deadline exceeded" in text or "timeout" in text or "timed out" in text:
        return JinaTimeout("Jina did not answer Weaviate's rerank call in time.",
                           hint="Try again; the server's MODULES_CLIENT_TIMEOUT limits how long it waits.", model=model)
    if "dial tcp" in text or "no such host" in text or "connection refused" in text:
        return JinaUnreachable(
            "Weaviate could not reach the Jina API (api.jina.ai).",
            hint="The Weaviate server needs outbound HTTPS to api.jina.ai; or use the Jina API path from the app.",
            model=model,
        )
    if "failed to parse" in text or "panic" in text or "index out of range" in text:
        return JinaBadResponse("Jina's answer to Weaviate's rerank call could not be used.",
                               hint="Try again; if it persists, use the Jina API path.", model=model)
    return RerankError(f"Weaviate's reranker failed: {exc.message}", hint=exc.hint, model=model)
