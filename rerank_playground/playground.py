"""One user's playground: the connection, clients built with their keys, and what was already computed.

Pages hold one ``Playground`` per browser session and call only this. Nothing here is shared between
sessions; the keys it holds never appear in its repr, its errors or its caches' keys.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import replace
from typing import Any, TypeVar

import httpx
import pandas as pd
import weaviate

from rerank_playground import connection, movement, schema
from rerank_playground.deployment import ConnectPolicy, SpendGuard, estimate_rerank_tokens
from rerank_playground.embedders import get_local_embedder
from rerank_playground.errors import (
    CatalogError,
    CollectionNotFound,
    ConnectError,
    InvalidInput,
    KeyRequired,
    PlaygroundError,
    ProviderError,
    RerankError,
    SearchError,
)
from rerank_playground.jina_embeddings import JinaEmbedder
from rerank_playground.jina_http import API_KEY_ENV, KEYS_URL, make_client, resolve_base_url
from rerank_playground.jina_http import PROVIDER as JINA
from rerank_playground.keys import ApiKey, ProviderKeys, http_endpoint
from rerank_playground.limits import MAX_COMPARED
from rerank_playground.models import CollectionInfo, RerankResult, SearchRequest, SearchResult, ServerInfo
from rerank_playground.outcomes import CompareRun, RerankRun, TokenEstimate
from rerank_playground.rerankers import ProviderContext, ProviderSpec, get_provider, providers
from rerank_playground.rerankers.cache import CachedReranker, RerankCache
from rerank_playground.rerankers.choice import RerankChoice
from rerank_playground.rerankers.metered import MeteredEmbedder, MeteredReranker
from rerank_playground.rerankers.model_catalog import chars_sent
from rerank_playground.search import QueryEmbedder, needs_query_vector
from rerank_playground.search import search as run_search

SEARCH_CACHE_SIZE = 64
DEFAULT_MAX_CHARS = 4096  # characters of each candidate a paid call sends (JinaReranker.DEFAULT_MAX_CHARS)
T = TypeVar("T")


class Playground:
    # After this many seconds without a server call, check the server answers before calling it (see
    # ``_with_reconnect``): one REST round trip, only after idle time.
    liveness_check_after_s: float = 5.0
    # A server call still running after this many seconds makes the session check the server over REST (and
    # again every as many seconds): a dead server is reported at once (see ``_watched``).
    watch_every_s: float = 1.0
    # The node status in ``server`` is asked again after this many seconds (see ``check_nodes``).
    node_check_interval_s: float = 15.0

    def __init__(
        self,
        spec: connection.ConnectionSpec,
        *,
        keys: ProviderKeys | None = None,
        jina_base_url: str | None = None,
        http_client: httpx.Client | None = None,
        rerank_cache: RerankCache | None = None,
        policy: ConnectPolicy | None = None,
        spend: SpendGuard | None = None,
    ) -> None:
        self.spec = spec
        self.keys = keys or ProviderKeys()  # the model providers' keys, apart from the Weaviate connection
        self.jina_base_url = resolve_base_url(jina_base_url)
        self.policy = policy or ConnectPolicy()
        self.spend = spend or SpendGuard()
        # What this server's reranker-jinaai module does without our header: "server" (it has its own
        # JINAAI_APIKEY), "none" (it has no key), None (not seen yet). Learned from calls, never probed.
        self.module_key: str | None = None
        self._owns_http = http_client is None
        self._http = http_client or make_client()
        self.cache = rerank_cache or RerankCache()
        self._client: weaviate.WeaviateClient | None = None
        self.server: ServerInfo | None = None
        self._searches: OrderedDict[SearchRequest, SearchResult] = OrderedDict()
        self._infos: dict[str, CollectionInfo] = {}
        self._handles: dict[str, Any] = {}  # collection name -> the client's handle (per connection)
        self._listed: list[str] | None = None  # names from the last full listing, in server order
        self._lock = threading.RLock()
        self._stale = False  # the server was found gone: reconnect before the next call
        self._last_ok = time.monotonic()  # last successful server call
        self._nodes_checked = time.monotonic()  # when ``server.nodes`` was read
        self.released = False  # :meth:`shutdown` was called: use :meth:`reopened`
        self.was_connected = False  # connected when :meth:`shutdown` was called

    def __repr__(self) -> str:
        return f"Playground({self.spec!r}, jina_key={'set' if self.has_jina_key else 'missing'})"

    # -- connection ---------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._client is not None and self.server is not None

    @property
    def secrets(self) -> tuple[str | None, ...]:
        """Every key of this session (Weaviate's and the providers'), for scrubbing text shown to a user."""
        return (*self.spec.secrets, *self.keys.secrets)

    def has_key(self, name: str | None) -> bool:
        """Is provider key ``name`` set and allowed to go to the configured API base URL?"""
        return bool(self.keys.secret_for(name, http_endpoint(self.jina_base_url)))

    def key_missing(self, provider: ProviderSpec) -> bool:
        """Does ``provider`` refuse to run for want of its key?"""
        return provider.needs_key and not self.has_key(provider.key)

    def no_key_known(self, provider: ProviderSpec) -> bool:
        """Would ``provider`` fail for want of a key, as far as this session knows before any click? True when it
        needs a key this session cannot send (``key_missing``), and for a server-side module with an optional key
        when this app sends none to that server and no call has shown the server has its own (``module_key``).
        Such an option is marked as needing a key and no tokens are estimated for it."""
        if self.key_missing(provider):
            return True
        if provider.key is None or not provider.key_optional:
            return False
        sent = bool(self.keys.secret_for(provider.key, *self.spec.endpoints))
        return not sent and self.module_key != "server"

    def withheld(self, spec: connection.ConnectionSpec) -> tuple[str, ...]:
        """Names of the operator keys that would not go to ``spec``'s server (they are bound elsewhere)."""
        return connection.withheld_keys(spec, self.keys)

    @property
    def jina_key(self) -> ApiKey | None:
        return self.keys.get(API_KEY_ENV)

    @property
    def has_jina_key(self) -> bool:
        return self.has_key(API_KEY_ENV)

    @property
    def jina_key_is_operator(self) -> bool:
        key = self.jina_key
        return bool(key and key.is_operator)

    @property
    def module_header_key(self) -> str | None:
        """Whose Jina key goes to this Weaviate as ``X-JinaAI-Api-Key``: "operator", "user" or None (none sent)."""
        key = self.jina_key
        if key is None or not self.keys.secret_for(API_KEY_ENV, *self.spec.endpoints):
            return None
        return key.origin

    def connect(self, spec: connection.ConnectionSpec | None = None, keys: ProviderKeys | None = None) -> ServerInfo:
        """(Re)connect (``keys``: with these provider keys from now on); on failure the previous connection and
        keys, if any, are kept.

        A locked deployment refuses a spec it does not allow before any network call.
        """
        spec = spec or self.spec
        keys = self.keys if keys is None else keys
        self.policy.check(spec)
        client = connection.connect(spec, keys)
        try:
            info = connection.server_info(client, spec, keys.secrets)
        except PlaygroundError:
            client.close()
            raise
        with self._lock:
            if spec.endpoints != self.spec.endpoints:
                self.module_key = None  # another server: what we learned about its module no longer holds
            old, self._client = self._client, client
            self.spec, self.keys, self.server = spec, keys, info
            self._stale, self._last_ok = False, time.monotonic()
            self._nodes_checked = self._last_ok
            self._searches.clear()
            self._infos.clear()
            self._handles.clear()
            self._listed = None
        if old is not None:
            old.close()
        return info

    def check_nodes(self, *, max_age_s: float | None = None) -> ServerInfo | None:
        """The server info with each node's status at most ``max_age_s`` old (default
        ``node_check_interval_s``); asks the server again only when it is older. None when not connected.

        A multi-node Weaviate keeps answering with a node down; ``server.cluster_note`` then says which.
        """
        max_age = self.node_check_interval_s if max_age_s is None else max_age_s
        with self._lock:
            client, server = self._client, self.server
            if client is None or server is None or time.monotonic() - self._nodes_checked < max_age:
                return server
            self.server = replace(server, nodes=connection.cluster_nodes(client))
            self._nodes_checked = time.monotonic()
            return self.server

    def _a_node_is_down(self) -> bool:
        """On a multi-node server, ask the node status now (two quick REST calls) and say if a node is down;
        catalog reads then count from one replica instead of waiting for the missing node."""
        if self.server is None or len(self.server.nodes) < 2:
            return False
        server = self.check_nodes(max_age_s=0)
        return bool(server and server.nodes_down)

    def set_key(self, name: str, key: ApiKey | str | None) -> None:
        """Use ``key`` as provider key ``name`` from now on (None clears it; a plain string is the user's own
        key). The Weaviate client is rebuilt so Weaviate's modules see it (an operator key bound elsewhere is
        not sent to it)."""
        new_key = ApiKey.user(key) if isinstance(key, str) or key is None else key
        if new_key == self.keys.get(name):
            return
        new_keys = self.keys.with_keys(**{name: new_key})
        if self._client is None:
            self.keys = new_keys
            return
        try:
            self.connect(self.spec, new_keys)
        except PlaygroundError:
            # The old client still carries the old key in its headers: never keep using it.
            self.close()
            self.keys = new_keys
            raise

    def set_jina_key(self, key: ApiKey | str | None) -> None:
        self.set_key(API_KEY_ENV, key)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
            self._client, self.server = None, None
            self._handles.clear()

    def shutdown(self) -> None:
        """End of the session: close the Weaviate client and the HTTP client this playground made, and drop
        what was computed (searches, collection descriptions, reranked lists). What the user chose stays
        (connection, keys, spend so far): :meth:`reopened` carries it over if the session comes back."""
        self.was_connected = self.connected
        self.close()
        if self._owns_http:
            self._http.close()
        with self._lock:
            self._searches.clear()
            self._infos.clear()
            self._listed = None
        self.cache.clear()
        self.released = True

    def reopened(self) -> Playground:
        """A new Playground with this one's connection, keys and spend guard (for a session that reconnects
        after :meth:`shutdown`); not connected yet (``was_connected`` says whether this one was)."""
        fresh = Playground(self.spec, keys=self.keys, jina_base_url=self.jina_base_url, policy=self.policy,
                           spend=self.spend)
        fresh.module_key = self.module_key
        return fresh

    @property
    def client(self) -> weaviate.WeaviateClient:
        if self._client is None:
            raise ConnectError("Not connected to Weaviate yet.", hint="Open the Connect page and connect.")
        return self._client

    # -- collections ------------------------------------------------------------------------------

    def collections(self, *, cached: bool = False) -> list[CollectionInfo]:
        """Every collection, described. ``cached``: reuse the last listing of this connection if there is one."""
        if cached and self._listed is not None and all(name in self._infos for name in self._listed):
            return [self._infos[name] for name in self._listed]
        infos = self._with_reconnect(
            lambda: schema.list_collections(self.client, any_replica=self._a_node_is_down())
        )
        self._infos = {info.name: info for info in infos}
        self._listed = [info.name for info in infos]
        return infos

    @property
    def listed_count(self) -> int | None:
        """How many collections the last listing of this connection found (None before any)."""
        return None if self._listed is None else len(self._listed)

    def forget_collections(self) -> None:
        """The next cached listing asks the server again (after the app itself created or changed collections)."""
        self._listed = None

    def collection(self, name: str, *, refresh: bool = False) -> CollectionInfo:
        if refresh or name not in self._infos:
            self._infos[name] = self._with_reconnect(
                lambda: schema.describe_collection(self.client, name, any_replica=self._a_node_is_down())
            )
        return self._infos[name]

    def set_reranker_model(self, name: str, model: str) -> CollectionInfo:
        """Writes to the server: the page calls this only after the user confirms."""
        info = schema.set_reranker_model(self.client, name, model)
        self._infos[name] = info
        self._searches.clear()
        return info

    # -- search and rerank --------------------------------------------------------------------

    def embedder_for(self, request: SearchRequest, info: CollectionInfo) -> QueryEmbedder | None:
        if not needs_query_vector(request, info):
            return None
        if request.embedder.startswith("jina:"):
            if not self.has_jina_key:
                raise KeyRequired(
                    "The Jina embeddings API needs a Jina API key.",
                    hint=f"Set JINAAI_APIKEY, or use the local embedder. Free keys: {KEYS_URL}",
                    provider=JINA, model=request.embedder.removeprefix("jina:"),
                )
            secret = self.keys.secret_for(API_KEY_ENV, http_endpoint(self.jina_base_url))
            embedder = JinaEmbedder(self._http, secret, self.jina_base_url,
                                    model=request.embedder.removeprefix("jina:"))
            return MeteredEmbedder(embedder, self.spend, operator_key=self.jina_key_is_operator)
        return get_local_embedder()

    def search(self, request: SearchRequest, *, force: bool = False) -> SearchResult:
        """Search, or return the identical earlier search (marked ``cached``) without calling Weaviate again;
        ``force`` asks Weaviate again and replaces the cached one.

        Example::

            from rerank_playground.connection import ConnectionSpec
            from rerank_playground.keys import ProviderKeys
            from rerank_playground.models import SearchMode, SearchRequest
            from rerank_playground.playground import Playground

            pg = Playground(ConnectionSpec(http_host="localhost", http_port=8080, grpc_port=50051),
                            keys=ProviderKeys.of(JINAAI_APIKEY="jina_..."))
            pg.connect()
            search = pg.search(SearchRequest("DemoWiki", "how did writing begin", mode=SearchMode.HYBRID, limit=50))
            [(hit.rank, hit.text[:40]) for hit in search.hits[:3]]
        """
        if not force and request in self._searches:
            return dataclasses.replace(self._searches[request], cached=True)
        info = self.collection(request.collection)

        def run() -> SearchResult:
            client = self.client
            handle = self._handles.get(request.collection)
            if handle is None:
                handle = self._handles[request.collection] = client.collections.use(request.collection)
            return run_search(client, request, info, embedder=self.embedder_for(request, info),
                              secrets=self.secrets, collection=handle)

        result = self._with_reconnect(run)
        self._searches[request] = result
        while len(self._searches) > SEARCH_CACHE_SIZE:
            self._searches.popitem(last=False)
        return result

    # -- providers ---------------------------------------------------------------------------

    def offers(self, provider: ProviderSpec) -> bool:
        """Can this server run ``provider`` (its Weaviate module, if it needs one, is enabled or not yet known)?"""
        module = provider.server_module
        return module is None or self.server is None or self.server.has_module(module)

    def default_provider(self) -> ProviderSpec:
        """The provider picked until the user picks one: the first one that runs here with a key of this session
        (nothing to set up on the server), else the first that needs no key."""
        specs = providers()
        with_key = [p for p in specs if p.needs_key and p.server_module is None and not self.key_missing(p)]
        return (with_key or [p for p in specs if p.key is None] or list(specs))[0]

    def offered_choices(self, info: CollectionInfo) -> list[RerankChoice]:
        """Every provider and model that can rerank ``info`` here, those that need no key first."""
        specs = sorted(providers(), key=lambda p: p.needs_key or p.key_optional)
        return [RerankChoice(p.name, model) for p in specs if self.offers(p) for model in p.models_for(info)]

    def default_choices(self, info: CollectionInfo) -> list[RerankChoice]:
        """What the Compare page preselects: each provider's defaults, for those that can run as things stand."""
        offered = self.offered_choices(info)
        return [c for c in offered if c.provider is not None and not self.key_missing(c.provider)
                and c.model in c.provider.compare_defaults]

    def reranker(self, choice: RerankChoice, search: SearchResult) -> CachedReranker:
        """The provider's reranker for ``search``, wrapped in this session's cache; unknown providers raise."""
        provider = get_provider(choice.reranker)
        context = ProviderContext(
            model=choice.model,
            search=search,
            http=self._http,
            keys=self.keys,
            api_base_url=self.jina_base_url,
            spend=self.spend,
            weaviate_endpoints=self.spec.endpoints,
            weaviate=lambda: self.client,
            collection=lambda: self.collection(search.request.collection, refresh=True),
            embedder=self.embedder_for,
            secrets=self.secrets,
            on_server_key=self._server_key_seen,
        )
        return CachedReranker(provider.factory(context), self.cache)

    def _server_key_seen(self, seen: str) -> None:
        self.module_key = seen

    def rerank(self, search: SearchResult, choice: RerankChoice, top_n: int, *, force: bool = False) -> RerankRun:
        """Rerank every candidate of ``search`` and measure the movement within the shown ``top_n``.

        Example (``search`` from :meth:`search`; choices are written ``<provider>:<model>``)::

            from rerank_playground.rerankers.choice import parse_choice

            run = pg.rerank(search, parse_choice("jina:jina-reranker-v2-base-multilingual"), top_n=10)
            run.movement.summary.kendall_tau, [m.delta for m in run.movement.moves[:10]]
        """
        if not search.hits:
            raise InvalidInput("The search found nothing to rerank.", hint="Try another query or mode.")
        if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1:  # checked before any paid call
            raise InvalidInput(f"Shown N must be at least 1 (a whole number), not {top_n!r}.")
        result = self._rerank_once(choice, search, force=force)
        moved = movement.compute_movement(search.hits, result, min(top_n, len(search.hits)))
        actual = RerankChoice(choice.reranker, result.model)  # the model that really ranked (module: read now)
        return RerankRun(search=search, choice=actual, result=result, movement=moved, top_n=top_n)

    def estimate_tokens(self, request: SearchRequest, choices: Sequence[RerankChoice]) -> TokenEstimate | None:
        """Expected Jina tokens for reranking ``request``'s candidates with the paid ``choices`` not already in
        this session's cache. The candidates are known when the same search ran already, else scaled from an
        earlier search of the collection to K; None when there is nothing to go on. Always an estimate."""
        # What cannot run for want of a key costs nothing: it is marked as needing one instead.
        paid = [c for c in dict.fromkeys(choices) if c.paid and not (c.provider and self.no_key_known(c.provider))]
        if not paid:
            return None
        def tokens(choice: RerankChoice, texts: Sequence[str], n: int) -> int:
            """For ``n`` candidates like ``texts``, each cut as the call would cut it (listwise: its share)."""
            cut = chars_sent(choice.model, request.query, n, DEFAULT_MAX_CHARS)
            return estimate_rerank_tokens(request.query, texts, cut)

        search = self._searches.get(request)
        if search is not None:
            uncached = [c for c in paid if not self._is_cached(c, search)]
            texts = [h.text for h in search.hits]
            total = sum(tokens(c, texts, len(texts)) for c in uncached)
            return TokenEstimate(total, len(search.hits), len(uncached), known=True)
        similar = [s for r, s in self._searches.items()
                   if r.collection == request.collection and r.text_property == request.text_property and s.hits]
        if not similar:
            return None
        texts = [h.text for h in similar[-1].hits]
        total = sum(round(tokens(c, texts, request.limit) / len(texts) * request.limit) for c in paid)
        return TokenEstimate(total, request.limit, len(paid), known=False)

    def _is_cached(self, choice: RerankChoice, search: SearchResult) -> bool:
        try:
            return self.reranker(choice, search).is_cached(search.request.query, search.hits, choice.model, None)
        except PlaygroundError:
            return False  # it cannot run as it stands (no key, no module): the click will say why

    def compare(
        self,
        search: SearchResult,
        choices: Sequence[RerankChoice],
        *,
        on_done: Callable[[RerankChoice, RerankResult | ProviderError], None] | None = None,
        force: bool = False,
    ) -> CompareRun:
        """Several models on the same candidates, concurrently. One failing leaves the others.

        Example (``search`` from :meth:`search`)::

            run = pg.compare(search, [parse_choice("local"), parse_choice("jina:jina-reranker-v3")])
            run.rank_matrix  # one column of ranks per ordering (retrieval first)
            run.errors       # label -> the error of a model that failed; the others are in run.results
        """
        choices = list(dict.fromkeys(choices))  # the same model twice is one column
        if not 1 <= len(choices) <= MAX_COMPARED:
            raise InvalidInput(f"Pick between one and {MAX_COMPARED} models to compare.")
        if len({c.label for c in choices}) != len(choices):  # results are keyed by label: never mix two
            raise InvalidInput("Two of the chosen models have the same name.", hint="Pick each model once.")
        if not search.hits:
            raise InvalidInput("The search found nothing to rerank.", hint="Try another query or mode.")
        results: dict[str, RerankResult] = {}
        errors: dict[str, ProviderError] = {}
        rerankers: dict[RerankChoice, CachedReranker] = {}
        cannot_run: dict[RerankChoice, PlaygroundError] = {}  # no key, no module...: that model's error
        for choice in choices:
            try:
                rerankers[choice] = self.reranker(choice, search)
            except PlaygroundError as exc:
                cannot_run[choice] = exc
        prepaid = self._reserve_all(search, rerankers, force=force)  # raises before any call

        def one(choice: RerankChoice) -> RerankResult:
            if choice in cannot_run:
                raise cannot_run[choice]
            reranker = rerankers[choice]
            return reranker.rerank(search.request.query, search.hits, choice.model, None, force=force)

        try:
            self._compare_calls(choices, one, results, errors, on_done)
        finally:
            for metered in prepaid:
                metered.release_prepaid()
        shown_as = {c.label: RerankChoice(c.reranker, results[c.label].model).label for c in choices
                    if c.label in results}
        ordered = {shown_as[c.label]: results[c.label] for c in choices if c.label in results}
        matrix = movement.rank_matrix(search.hits, ordered) if ordered else pd.DataFrame()
        return CompareRun(search=search, results=ordered, errors=errors, rank_matrix=matrix, shown_as=shown_as)

    def _reserve_all(
        self, search: SearchResult, rerankers: Mapping[RerankChoice, CachedReranker], *, force: bool
    ) -> list[MeteredReranker]:
        """Reserve the token bound of every paid model that will really be called, at once, before calling any:
        either the budgets cover them all or nothing is called (and nothing is spent). Returns the metered
        rerankers that hold a share, to release what a call did not use."""
        query, hits = search.request.query, search.hits
        due: list[tuple[MeteredReranker, int]] = []
        for choice, reranker in rerankers.items():
            inner = reranker.inner
            if not isinstance(inner, MeteredReranker):
                continue
            if not force and reranker.is_cached(query, hits, choice.model, None):
                continue  # answered from this session's cache: costs nothing
            due.append((inner, inner.bound(query, hits, choice.model)))
        made: list[tuple[int, bool]] = []
        try:
            for operator_key in (True, False):
                group = [(m, bound) for m, bound in due if m.operator_key == operator_key]
                if group:
                    made.append(self.spend.reserve(sum(bound for _, bound in group), operator_key=operator_key))
        except BaseException:
            for reservation in made:
                self.spend.settle(reservation, 0)
            raise
        for metered, bound in due:
            metered.prepay((bound, metered.operator_key))  # the shares add up to what was reserved
        return [metered for metered, _ in due]

    def _compare_calls(
        self,
        choices: Sequence[RerankChoice],
        one: Callable[[RerankChoice], RerankResult],
        results: dict[str, RerankResult],
        errors: dict[str, ProviderError],
        on_done: Callable[[RerankChoice, RerankResult | ProviderError], None] | None,
    ) -> None:
        with ThreadPoolExecutor(max_workers=len(choices)) as pool:
            futures = {pool.submit(one, choice): choice for choice in choices}
            for future in as_completed(futures):
                choice = futures[future]
                try:
                    outcome: RerankResult | ProviderError = future.result()
                except ProviderError as exc:
                    outcome = exc
                except PlaygroundError as exc:
                    outcome = RerankError(exc.message, hint=exc.hint, provider=choice.reranker, model=choice.model)
                if isinstance(outcome, ProviderError):
                    errors[choice.label] = outcome
                else:
                    results[choice.label] = outcome
                if on_done is not None:
                    on_done(choice, outcome)

    def _rerank_once(self, choice: RerankChoice, search: SearchResult, *, force: bool = False) -> RerankResult:
        """``force``: ask the reranker again even when this session's cache has the answer."""
        reranker = self.reranker(choice, search)
        return reranker.rerank(search.request.query, search.hits, choice.model, None, force=force)

    # -- plumbing -----------------------------------------------------------------------------

    def _with_reconnect(self, action: Callable[[], T]) -> T:
        """Run ``action``; if the connection dropped (server restarted), reconnect once and retry.

        weaviate-client retries an unreachable gRPC server for about a minute (1+2+...+32 s) before it gives
        up. So after ``liveness_check_after_s`` without a server call, or when the server was found gone last
        time, the server is first checked over REST: a dead server is reported at once, and a restarted one
        gets a fresh client instead of a gRPC channel still backing off.
        """
        idle = time.monotonic() - self._last_ok >= self.liveness_check_after_s
        if self._client is not None and (self._stale or (idle and not self._still_connected())):
            self._reconnect()
        try:
            result = self._watched(action)
        except (SearchError, CatalogError) as exc:
            if isinstance(exc, CollectionNotFound) or self._still_connected():
                raise
            self._reconnect()  # raises a ConnectError that says the server is gone, if it is
            result = action()
        self._last_ok = time.monotonic()
        return result

    def _watched(self, action: Callable[[], T]) -> T:
        """``action()``, but a server that dies just before or during it is reported within about
        ``watch_every_s`` + the connect timeout, not after the client's minute of gRPC backoff: while the call is
        still running, the server is checked over REST every ``watch_every_s``; when it no longer answers, the
        session stops waiting (``_reconnect`` says "Nothing answers at …") and leaves the call to time out on
        its own thread."""
        if self._client is None:
            return action()
        outcome: Future[T] = Future()

        def run() -> None:
            try:
                outcome.set_result(action())
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                outcome.set_exception(exc)

        threading.Thread(target=run, name="weaviate-call", daemon=True).start()
        while True:
            try:
                return outcome.result(timeout=self.watch_every_s)
            except FuturesTimeout:
                if not self._still_connected():
                    self._reconnect()  # raises a ConnectError naming the address, if it is gone
                    return self._watched(action)  # it came back at once: ask the fresh client

    def _reconnect(self) -> None:
        try:
            self.connect()
        except ConnectError:
            self._stale = True  # keep the old client, but do not trust its channel: reconnect first next time
            raise

    def _still_connected(self) -> bool:
        return self._client is not None and connection.server_is_ready(self.spec)

