"""Weaviate's server-side ``reranker-jinaai`` module: the same search, re-run with ``rerank=``.

Its documented limits are surfaced as notes rather than hidden: it reranks only the page the query
fetched, it sends one property per object (non-strings become empty text), it uses the model set in
the collection's config, and it needs the key on the server or in the ``X-JinaAI-Api-Key`` header.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence

import weaviate

from rerank_playground.errors import (
    AuthRejected,
    BadResponse,
    KeyRequired,
    PlaygroundError,
    ProviderError,
    ProviderServerError,
    ProviderTimeout,
    ProviderUnreachable,
    RateLimited,
    RequestRejected,
    RerankError,
    SearchError,
)
from rerank_playground.jina_http import API_KEY_ENV
from rerank_playground.models import CollectionInfo, Hit, RankedDoc, RerankResult, SearchRequest
from rerank_playground.rerankers.base import ProviderContext, ProviderSpec, Reranker, ScriptRecipe
from rerank_playground.rerankers.metered import MeteredReranker
from rerank_playground.rerankers.model_catalog import JINA_MODELS, JINA_RERANKER_MODULE, WEAVIATE_DEFAULT_MODEL
from rerank_playground.schema import default_rerank_property
from rerank_playground.search import QueryEmbedder, search

NAME = "weaviate_module"


class WeaviateModuleReranker:
    name = NAME

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
        self._property = rerank_property or request.text_property or default_rerank_property(info) or ""

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
        if info.reranker_module != JINA_RERANKER_MODULE:
            raise RerankError(
                f"Collection '{info.name}' has no reranker-jinaai module configured"
                + (f" (it uses {info.reranker_module})." if info.reranker_module else "."),
                hint="Use the Jina API path instead, or configure the module on the Collections page.",
                provider=NAME, model=model,
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
            raise RerankError(f"Collection '{info.name}' has no property '{self._property}'.",
                              provider=NAME, model=model)
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
            failure: ProviderError | None = _module_error(exc, model)
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


def _module_error(exc: PlaygroundError, model: str) -> ProviderError:
    """Map the module's failure, as Weaviate words it, to the same typed errors the Jina API path raises.

    Weaviate quotes Jina's HTTP status ("connection to Jinaai API failed with status 401: ..."); the status
    decides first, because Jina's own 401 text also says "API key".
    """
    text = exc.message.lower()
    found = _STATUS.search(text)
    status = int(found.group(1)) if found else None
    which = {"provider": NAME, "model": model}
    if status in (401, 403) or "unauthorized" in text:
        return AuthRejected("Jina rejected the key Weaviate sent.", hint="Check the Jina key (JINAAI_APIKEY).", **which)
    if status == 429:
        return RateLimited("Jina rate-limited Weaviate's rerank call.", hint="Wait a minute and retry.",
                           provider=NAME, model=model)
    if status in (400, 413, 422):
        return RequestRejected("Jina refused the rerank request Weaviate sent.",
                               hint="Check the collection's reranker model name.", **which)
    if status is not None and status >= 500:
        return ProviderServerError("Jina failed to rerank for Weaviate.", hint="Try again shortly.", **which)
    if "api key" in text or "apikey" in text or "x-jinaai-api-key" in text:
        return KeyRequired(
            "Weaviate's reranker-jinaai module has no Jina key.",
            hint="Set JINAAI_APIKEY (the app sends it as X-JinaAI-Api-Key), or set it on the Weaviate server.",
            **which,
        )
    if "deadline exceeded" in text or "timeout" in text or "timed out" in text:
        return ProviderTimeout("Jina did not answer Weaviate's rerank call in time.",
                               hint="Try again; the server's MODULES_CLIENT_TIMEOUT limits how long it waits.", **which)
    if "dial tcp" in text or "no such host" in text or "connection refused" in text:
        return ProviderUnreachable(
            "Weaviate could not reach the Jina API (api.jina.ai).",
            hint="The Weaviate server needs outbound HTTPS to api.jina.ai; or use the Jina API path from the app.",
            **which,
        )
    if "failed to parse" in text or "panic" in text or "index out of range" in text:
        return BadResponse("Jina's answer to Weaviate's rerank call could not be used.",
                           hint="Try again; if it persists, use the Jina API path.", **which)
    return RerankError(f"Weaviate's reranker failed: {exc.message}", hint=exc.hint, **which)


def configured_model(info: CollectionInfo) -> str | None:
    """The model the module uses for ``info`` (None = the collection has no reranker-jinaai module): the one in
    its config, else Weaviate's own default (not this app's client-side default)."""
    if info.reranker_module != JINA_RERANKER_MODULE:
        return None
    return info.reranker_model or WEAVIATE_DEFAULT_MODEL


class _LearnsServerKey:
    """Wraps the module reranker when no key of ours goes with the call: the outcome says whether the server
    holds a Jina key of its own. Sits inside the cache, so only real calls teach anything."""

    def __init__(self, inner: WeaviateModuleReranker, seen: Callable[[str], None]) -> None:
        self.inner = inner
        self.name = inner.name
        self._seen = seen

    @property
    def cache_scope(self) -> str:
        return self.inner.cache_scope

    def rerank(self, query: str, candidates: Sequence[Hit], model: str, top_n: int | None = None) -> RerankResult:
        try:
            result = self.inner.rerank(query, candidates, model, top_n)
        except KeyRequired:
            self._seen("none")
            raise
        self._seen("server")
        return result


def _build(ctx: ProviderContext) -> Reranker:
    # Read at query time: another session may have changed the collection's reranker model since.
    info = ctx.collection()
    inner = WeaviateModuleReranker(ctx.weaviate(), ctx.search.request, info,
                                   embedder=ctx.embedder(ctx.search.request, info), secrets=ctx.secrets)
    key = ctx.keys.get(API_KEY_ENV)
    if key is not None and ctx.keys.secret_for(API_KEY_ENV, *ctx.weaviate_endpoints):
        # Our header pays (unless the server has its own key): count it, estimated.
        return MeteredReranker(inner, ctx.spend, operator_key=key.is_operator, max_chars=None)  # sent whole
    return _LearnsServerKey(inner, ctx.on_server_key)


def _describe(info: CollectionInfo) -> str:
    source = (
        "set in the collection's config" if info.reranker_model
        else "no model in the collection's config: Weaviate's own default, not this app's"
    )
    return (
        f"Weaviate reranks {info.name} with {configured_model(info)} ({source}; change it on the Collections page). "
        "It reranks the K objects the query fetched, on the server; results are labelled with the model the server "
        "had set when the query ran."
    )


def _collection_models(info: CollectionInfo) -> tuple[str, ...]:
    model = configured_model(info)
    return () if model is None else (model,)


SPEC = ProviderSpec(
    name=NAME,
    label="Weaviate reranker-jinaai module (server side)",
    short_label="Weaviate module",
    models=JINA_MODELS,
    factory=_build,
    key=API_KEY_ENV,  # sent as X-JinaAI-Api-Key when it may go to this Weaviate
    key_optional=True,  # the server's own JINAAI_APIKEY wins when it has one
    paid=True,
    server_module=JINA_RERANKER_MODULE,
    default_model=WEAVIATE_DEFAULT_MODEL,
    choice_label="{model} · Weaviate module",
    collection_models=_collection_models,
    model_prompt="Weaviate module model",
    describe=_describe,
    # Weaviate reranks inside the search; the script sends the Jina key as the module header
    script=ScriptRecipe(helpers=frozenset({"jina_api"}), module_header=True),
    not_on_server=(
        "This Weaviate has no reranker-jinaai module. Use the Jina API path, or a Weaviate with API-based modules "
        "enabled."
    ),
    not_on_collection=(
        "Collection {collection} has no reranker-jinaai module configured. Use the Jina API path, or configure the "
        "module on the Collections page."
    ),
)
