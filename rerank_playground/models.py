"""Frozen dataclasses that cross layer boundaries. Pages and components never see SDK objects."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, TypeVar

from rerank_playground.errors import InvalidInput
from rerank_playground.filters import PropertyFilter, filters_from_dicts
from rerank_playground.limits import MAX_K, MAX_PROPERTIES

GRADES: Final[dict[int, str]] = {0: "not relevant", 1: "related", 2: "relevant", 3: "perfect"}
"""The TREC 0-3 scale of a judgment (tables, charts and the evaluation wing all read it from here)."""


class SearchMode(StrEnum):
    VECTOR = "vector"
    KEYWORD = "keyword"
    HYBRID = "hybrid"


class Fusion(StrEnum):
    RANKED = "ranked"
    RELATIVE_SCORE = "relative_score"


class Operator(StrEnum):
    OR = "or"
    AND = "and"


@dataclass(frozen=True)
class Hit:
    """One search result as the server returned it. ``rank`` is 1-based."""

    rank: int
    uuid: str
    text: str  # the text of the chosen display/rerank property ("" when missing or not a string)
    properties: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    score: float | None = None
    distance: float | None = None
    explain_score: str | None = None


@dataclass(frozen=True)
class SearchRequest:
    """The one description of a search. Links (``search_inputs``, the only place with short names), batch plans,
    story views, Copy as code and the CLI all carry it; :meth:`to_dict` / :meth:`from_dict` is its one dict form."""

    collection: str
    query: str
    mode: SearchMode = SearchMode.HYBRID
    limit: int = 50  # K: candidates retrieved (and reranked)
    properties: tuple[str, ...] = ()  # keyword/hybrid: which properties BM25 looks at (empty = all)
    # which property becomes Hit.text and the reranker reads (None = schema.default_rerank_property)
    text_property: str | None = None
    operator: Operator = Operator.OR
    alpha: float = 0.5
    fusion: Fusion = Fusion.RANKED
    target_vector: str | None = None
    embedder: str = "auto"  # "auto" | "server" | "local" | "jina:<model>" — where the query vector comes from
    filters: tuple[PropertyFilter, ...] = ()  # every one must hold; applied in every search mode

    def to_dict(self, *, settings_only: bool = False) -> dict[str, Any]:
        """Plain JSON values under the field names (what :meth:`from_dict` reads back). ``settings_only``: without
        the collection and query (a batch plan's setting, which each query of the set fills in)."""
        where = {} if settings_only else {"collection": self.collection, "query": self.query}
        return {
            **where, "mode": self.mode.value, "limit": self.limit,
            "properties": list(self.properties), "text_property": self.text_property,
            "operator": self.operator.value, "alpha": self.alpha, "fusion": self.fusion.value,
            "target_vector": self.target_vector, "embedder": self.embedder,
            **({"filters": [f.to_dict() for f in self.filters]} if self.filters else {}),  # absent: none (older)
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, settings_only: bool = False) -> SearchRequest:
        """A request from :meth:`to_dict`'s form, checked field by field: anything wrong is ``InvalidInput`` naming
        the field and what it must be. Older names are read too (story views wrote K as ``k``). ``settings_only``:
        the settings of a search without its collection and query (a batch plan's setting), both left empty.
        Whether the collection has the named properties is checked when the search runs (``validate_request``)."""
        if not isinstance(data, Mapping):
            raise InvalidInput("A search must be a JSON object.")
        reader = _Fields(data)
        alpha = reader.get("alpha", 0.5)
        if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0.0 <= alpha <= 1.0:
            raise InvalidInput(f'"alpha" must be a number from 0 to 1, not {alpha!r:.80}')
        return cls(
            collection="" if settings_only else reader.text("collection"),
            query="" if settings_only else reader.text("query").strip(),
            mode=reader.member("mode", SearchMode, SearchMode.HYBRID),
            limit=reader.whole("limit", 1, MAX_K, legacy="k"),
            properties=reader.names("properties"),
            text_property=reader.optional_text("text_property"),
            operator=reader.member("operator", Operator, Operator.OR),
            alpha=float(alpha),
            fusion=reader.member("fusion", Fusion, Fusion.RANKED),
            target_vector=reader.optional_text("target_vector"),
            embedder=reader.optional_text("embedder") or "auto",
            filters=filters_from_dicts(reader.get("filters")),
        )


MAX_FIELD_CHARS = 1000  # any text of a stored search: a query, a collection or property name, an embedder
_E = TypeVar("_E", bound=StrEnum)


class _Fields:
    """Reads the fields of a stored search; every refusal names the field as the data spells it."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data

    def get(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)

    def text(self, name: str) -> str:
        value = self.data.get(name)
        if value is None:
            raise InvalidInput(f'"{name}" is missing')
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f'"{name}" must be a non-empty text')
        return self._short(name, value)

    def optional_text(self, name: str) -> str | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise InvalidInput(f'"{name}" must be text')
        return self._short(name, value)

    @staticmethod
    def _short(name: str, value: str) -> str:
        if len(value) > MAX_FIELD_CHARS:
            raise InvalidInput(f'"{name}" has more than {MAX_FIELD_CHARS} characters ({len(value):,})')
        return value

    def whole(self, name: str, low: int, high: int, *, legacy: str) -> int:
        used = name if name in self.data or legacy not in self.data else legacy
        value = self.data.get(used)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(f'"{used}" must be a whole number from {low} to {high}, not {value!r:.80}')
        return value

    def member(self, name: str, kind: type[_E], default: _E) -> _E:
        value = self.data.get(name, default.value)
        try:
            return kind(value)
        except ValueError:
            choices = ", ".join(m.value for m in kind)
            raise InvalidInput(f'"{name}" must be one of {choices}, not {value!r:.80}') from None

    def names(self, name: str) -> tuple[str, ...]:
        value = self.data.get(name, [])
        if (not isinstance(value, list | tuple) or len(value) > MAX_PROPERTIES
                or not all(isinstance(p, str) and 0 < len(p) <= MAX_FIELD_CHARS for p in value)):
            raise InvalidInput(f'"{name}" must be a list of at most {MAX_PROPERTIES} property names')
        return tuple(value)


@dataclass(frozen=True)
class SearchResult:
    request: SearchRequest
    hits: tuple[Hit, ...]
    latency_ms: float
    notes: tuple[str, ...] = ()  # e.g. "query vector computed locally with WordLlama"
    cached: bool = False  # served from the session's cache: latency_ms is the original run's
    computed_at: float = field(default_factory=time.time, compare=False)  # when Weaviate really answered


@dataclass(frozen=True)
class RankedDoc:
    """A candidate after reranking: ``index`` points into the candidate list given to the reranker."""

    index: int
    score: float


@dataclass(frozen=True)
class RerankResult:
    reranker: str  # registry name: "jina", "weaviate_module", "local"
    model: str
    ranked: tuple[RankedDoc, ...]  # best first
    latency_ms: float
    tokens: int | None = None
    api_calls: int = 0  # HTTP calls actually made (0 when served from the cache)
    cached: bool = False
    truncated: int = 0  # how many documents were cut to fit max_chars
    max_chars: int | None = None  # characters of each candidate sent (None: whole texts, or not known)
    notes: tuple[str, ...] = ()  # limits the user should know about, in plain words
    computed_at: float = field(default_factory=time.time, compare=False)  # when the reranker really answered

    @property
    def order(self) -> tuple[int, ...]:
        return tuple(doc.index for doc in self.ranked)


@dataclass(frozen=True)
class ModelInfo:
    name: str
    label: str
    kind: str  # "cross-encoder", "late interaction", "listwise", "multimodal", "local baseline"
    languages: str
    context: str
    status: str  # "current", "being deprecated", "deprecated", "local baseline"
    needs_key: bool = True
    weaviate_default: bool = False
    beir_ndcg10: float | None = None
    # Listwise models: the tokens one call holds (query + every candidate share it; see JinaReranker). None: a
    # pointwise model, whose candidates are scored one by one and may be sent in several calls.
    context_tokens: int | None = None

    @property
    def listwise(self) -> bool:
        return self.kind == "listwise"


@dataclass(frozen=True)
class Move:
    """What reranking did to one candidate. Ranks are 1-based; ``delta`` > 0 means it climbed."""

    uuid: str
    text: str
    original_rank: int
    new_rank: int
    delta: int
    retrieval_score: float | None
    rerank_score: float | None
    entered_top_n: bool
    left_top_n: bool


@dataclass(frozen=True)
class MovementSummary:
    """Scope rule (said on every screen and export that shows these): correlations, promoted / demoted /
    unchanged and the biggest moves are over all ``n`` candidates (K); ``overlap_at_n`` is over the shown top
    ``top_n`` (capped at ``n``); the ``*_in_top_n`` counts are the reranked top N's documents only.
    ``overlap_at_k`` keeps fixed cut-offs for tables and exports, each labelled with its k.
    A correlation is None when it is undefined (fewer than two documents, or a constant ranking)."""

    n: int
    top_n: int
    kendall_tau: float | None
    spearman_rho: float | None
    overlap_at_k: dict[int, float] = field(hash=False)
    promoted: int = 0
    demoted: int = 0
    unchanged: int = 0
    biggest_climb: Move | None = None
    biggest_fall: Move | None = None
    overlap_at_n: float = 1.0
    promoted_in_top_n: int = 0
    demoted_in_top_n: int = 0
    unchanged_in_top_n: int = 0
    tied: int = 0  # returned documents sharing their score with another (kept in retrieval order)

    @property
    def shown(self) -> int:
        """How many documents the top-N figures cover: N, or all of them when there are fewer."""
        return min(self.top_n, self.n)


@dataclass(frozen=True)
class Movement:
    moves: tuple[Move, ...]  # in reranked order
    summary: MovementSummary


# Node states that still serve queries; anything else (UNHEALTHY, UNAVAILABLE, TIMEOUT, MISSING) counts as down.
SERVING_NODE_STATES = frozenset({"HEALTHY", "INDEXING"})


@dataclass(frozen=True)
class NodeState:
    """One Weaviate node as the server reports it. ``status`` is Weaviate's word (HEALTHY, UNHEALTHY,
    UNAVAILABLE, TIMEOUT, INDEXING), or MISSING for a raft member that ``/v1/nodes`` no longer lists."""

    name: str
    status: str

    @property
    def serving(self) -> bool:
        return self.status in SERVING_NODE_STATES


@dataclass(frozen=True)
class ServerInfo:
    url: str
    version: str
    modules: tuple[str, ...]  # the modules the server has enabled, e.g. "reranker-jinaai"
    collections: int
    label: str = ""  # "local Weaviate", "Weaviate Cloud", ...
    nodes: tuple[NodeState, ...] = ()  # () when the server does not say (e.g. the key may not read node status)

    def has_module(self, name: str) -> bool:
        """Is the module ``name`` (e.g. ``"reranker-jinaai"``) enabled on this server?"""
        return name in self.modules

    @property
    def nodes_down(self) -> tuple[NodeState, ...]:
        return tuple(node for node in self.nodes if not node.serving)

    @property
    def cluster_summary(self) -> str | None:
        """One line for the sidebar when the server reports nodes down (None when all serve or it does not say)."""
        down = self.nodes_down
        if not down:
            return None
        which = ", ".join(f"{node.name} ({node.status.lower()})" for node in down)
        return f"{len(down)} of {len(self.nodes)} Weaviate nodes {'is' if len(down) == 1 else 'are'} down: {which}."

    @property
    def cluster_note(self) -> str | None:
        """The summary and what it means for searches (the Connect page shows it)."""
        summary = self.cluster_summary
        if summary is None:
            return None
        plural = "" if len(self.nodes_down) == 1 else "s"
        return (
            f"{summary} Searches keep answering on collections whose shards have enough replicas on the other "
            f"nodes; collections kept only on the missing node{plural} fail until it is back."
        )


@dataclass(frozen=True)
class PropertyInfo:
    name: str
    data_type: str  # "text", "text[]", "int", ...

    @property
    def is_text(self) -> bool:
        return self.data_type == "text"


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    count: int
    properties: tuple[PropertyInfo, ...]
    vectorizer: str | None  # e.g. "text2vec-jinaai", "none" (bring your own vectors)
    named_vectors: tuple[str, ...]
    reranker_module: str | None
    reranker_model: str | None

    @property
    def text_properties(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.properties if p.is_text)

    @property
    def has_server_vectorizer(self) -> bool:
        return bool(self.vectorizer) and self.vectorizer != "none"
