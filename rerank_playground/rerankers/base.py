"""The one Protocol every reranker implements, and how a provider of rerankers is described.

A provider is one :class:`ProviderSpec` (name, labels, models, the key it needs, a factory) in its own module,
listed once in the registry (``rerankers/__init__.py``). The Playground and the UI only ever iterate the specs;
what differs between providers lives in their spec and their module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from rerank_playground.models import CollectionInfo, Hit, ModelInfo, RerankResult, SearchRequest, SearchResult

if TYPE_CHECKING:  # pragma: no cover
    import httpx
    import weaviate

    from rerank_playground.deployment import SpendGuard
    from rerank_playground.keys import ProviderKeys
    from rerank_playground.search import QueryEmbedder


@runtime_checkable
class Reranker(Protocol):
    """Reorders candidates for a query.

    ``candidates`` are the hits of one search, in retrieval order; the returned ``RerankResult.ranked``
    holds an entry per candidate it scored (``top_n`` limits how many), best first, with ``index``
    pointing into ``candidates``. Failures raise a ``ProviderError`` subclass, never return None.
    """

    name: str

    def rerank(
        self, query: str, candidates: Sequence[Hit], model: str, top_n: int | None = None
    ) -> RerankResult: ...


@dataclass(frozen=True)
class ProviderContext:
    """What a provider's factory may use to build its reranker for one search of one session.

    ``weaviate``, ``collection`` and ``embedder`` are called only by providers that need them (they connect,
    or read the collection's config from the server at query time).
    """

    model: str  # the model asked for
    search: SearchResult  # the search whose candidates get reranked
    http: httpx.Client  # the session's HTTP client (explicit timeouts)
    keys: ProviderKeys  # the session's provider keys (operator keys stay bound to their endpoints)
    api_base_url: str  # the base URL the session's hosted API calls go to (JINA_BASE_URL)
    spend: SpendGuard  # the token budgets paid calls are checked and counted against
    weaviate_endpoints: tuple[str, ...]  # the connected Weaviate's REST and gRPC endpoints, normalised
    weaviate: Callable[[], weaviate.WeaviateClient]
    collection: Callable[[], CollectionInfo]  # the collection as the server describes it now
    embedder: Callable[[SearchRequest, CollectionInfo], QueryEmbedder | None]
    secrets: tuple[str | None, ...] = ()  # every key of the session, scrubbed from server text in errors
    # Tells the session what a server-side provider learned about the server's own key: "server" (it has
    # one: a call without ours succeeded) or "none".
    on_server_key: Callable[[str], None] = field(default=lambda seen: None)


@dataclass(frozen=True)
class ScriptRecipe:
    """How "Copy as code" (``codegen.py``) reproduces a provider's rerank in a standalone weaviate-client script.

    ``rerank_source(model)`` is the source of ``def rerank(texts) -> list[tuple[int, float]]`` ((index, score)
    pairs, best first: the scores let a copied cut apply a threshold), which the script
    calls on the texts of the objects the search returned; None means Weaviate reranks inside the search
    (``rerank=Rerank(...)`` on the query). ``helpers`` names the script's shared pieces it relies on:
    ``"jina_api"`` (``JINA_BASE_URL``, httpx, the ``JINAAI_APIKEY`` variable), ``"local_embed"`` (WordLlama).
    ``module_header``: the script sends the provider key to Weaviate as its module header.
    """

    rerank_source: Callable[[str], str] | None = None
    helpers: frozenset[str] = frozenset()
    module_header: bool = False


@dataclass(frozen=True)
class ProviderSpec:
    """One reranker provider: everything the Playground and the UI need to offer it and build it.

    ``name`` is stored in choices, links and saved views: never rename it. ``key`` names the provider key it
    needs (its variable, e.g. ``JINAAI_APIKEY``); None = no key. ``paid``: its calls spend someone's tokens,
    so they are metered and never start without a click. ``server_module``: it runs inside Weaviate through
    that module, which the server must have enabled. ``choice_label`` is formatted with ``model``.
    ``collection_models``: the models it can run on one collection (default: all of ``models``).
    ``compare_defaults``: models the Compare page preselects when the provider can run.
    """

    name: str
    label: str  # what it is, in one line
    short_label: str  # the picker's segment
    models: tuple[ModelInfo, ...]
    factory: Callable[[ProviderContext], Reranker]
    key: str | None = None
    key_optional: bool = False  # it also runs without our key (e.g. the server holds one of its own)
    paid: bool = False
    server_module: str | None = None
    default_model: str | None = None
    choice_label: str = "{model}"
    compare_defaults: tuple[str, ...] = ()
    collection_models: Callable[[CollectionInfo], tuple[str, ...]] | None = None
    # Words for the pickers (plain text: the UI escapes them).
    model_prompt: str = "Model"  # the model picker's label, and how a message names one of its models
    key_hint: str = ""  # appended to a model that cannot run for want of the key ("needs a ... key — get one at")
    describe: Callable[[CollectionInfo], str] | None = None  # what runs on a collection (default: the model's label)
    not_on_server: str = ""  # why it is off when the server lacks ``server_module``
    not_on_collection: str = ""  # why it is off for a collection it offers no model for ({collection})
    script: ScriptRecipe | None = None  # how "Copy as code" reproduces it (None: it cannot)

    @property
    def needs_key(self) -> bool:
        """Does it refuse to run without ``key``?"""
        return self.key is not None and not self.key_optional

    def models_for(self, info: CollectionInfo) -> tuple[str, ...]:
        """The models this provider can run on ``info`` (none when the collection is not set up for it)."""
        if self.collection_models is not None:
            return self.collection_models(info)
        return tuple(m.name for m in self.models)

    def label_for(self, model: str) -> str:
        return self.choice_label.format(model=model)
