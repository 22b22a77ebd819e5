"""Keyword, vector and hybrid search -> our own ``Hit`` dataclasses.

The same function also runs a search with Weaviate's server-side reranker (``rerank_prop``), so the
``weaviate_module`` reranker re-runs exactly the query the user saw.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Protocol, TypeVar

import weaviate
from weaviate.classes.query import BM25Operator, Filter, HybridFusion, MetadataQuery, Rerank
from weaviate.exceptions import WeaviateBaseError, WeaviateTimeoutError

from rerank_playground.errors import (
    CollectionNotFound,
    EmbeddingError,
    InvalidInput,
    PlaygroundError,
    SearchError,
    scrub,
)
from rerank_playground.filters import check_filters, weaviate_filter
from rerank_playground.limits import MAX_K, MAX_QUERY_CHARS
from rerank_playground.models import (
    CollectionInfo,
    Fusion,
    Hit,
    Operator,
    SearchMode,
    SearchRequest,
    SearchResult,
)
from rerank_playground.schema import default_rerank_property


class QueryEmbedder(Protocol):
    """Anything that turns a query into a vector (local WordLlama, the Jina embeddings API, ...)."""

    @property
    def name(self) -> str: ...

    def embed_query(self, text: str) -> list[float]: ...


def text_of(value: Any) -> str:
    """The text a property contributes: strings as they are, lists joined, numbers as digits, None as ""."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return "; ".join(text_of(v) for v in value if v is not None)
    return str(value)


def validate_request(request: SearchRequest, info: CollectionInfo) -> SearchRequest:
    """Check a request against the collection; return it with defaults filled in."""
    query = request.query.strip()
    if not query:
        raise InvalidInput("Type a query first.", hint="Or pick one of the suggested queries.")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(
            f"The query is {len(query):,} characters long; the limit is {MAX_QUERY_CHARS:,}.",
            hint="Shorten it to the words that matter.",
        )
    limit = request.limit  # a bool is an int to Python, not a K
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_K:
        raise InvalidInput(f"Candidates K must be between 1 and {MAX_K}, not {request.limit}.")
    if not 0.0 <= request.alpha <= 1.0:
        raise InvalidInput(f"Alpha must be between 0 (keyword only) and 1 (vector only), not {request.alpha}.")
    mode = _member(SearchMode, request.mode, "search mode")
    operator = _member(Operator, request.operator, "keyword operator")
    fusion = _member(Fusion, request.fusion, "hybrid fusion")
    known = {p.name for p in info.properties}
    unknown = [p for p in request.properties if p not in known]
    if unknown:
        raise InvalidInput(
            f"Collection '{info.name}' has no property {', '.join(map(repr, unknown))}.",
            hint=f"Known properties: {', '.join(sorted(known)) or 'none'}.",
        )
    text_property = request.text_property or default_rerank_property(info)
    if text_property is None:
        raise InvalidInput(
            f"Collection '{info.name}' has no text property to show or rerank on.",
            hint="Rerankers read text: pick a collection with at least one text property.",
        )
    if text_property not in known:
        raise InvalidInput(f"Collection '{info.name}' has no property '{text_property}'.")
    target = request.target_vector
    if info.named_vectors:
        target = target or info.named_vectors[0]
        if target not in info.named_vectors:
            raise InvalidInput(f"Collection '{info.name}' has no named vector '{target}'.")
    else:
        target = None
    if mode in (SearchMode.KEYWORD, SearchMode.HYBRID):
        keyword_props = request.properties or ()
        non_text = [p.name for p in info.properties if p.name in keyword_props and not p.data_type.startswith("text")]
        if non_text:
            raise InvalidInput(f"Keyword search reads text properties only; {', '.join(non_text)} is not text.")
    return SearchRequest(
        collection=request.collection, query=query, mode=mode, limit=request.limit,
        properties=tuple(request.properties), text_property=text_property, operator=operator,
        alpha=float(request.alpha), fusion=fusion, target_vector=target, embedder=request.embedder,
        filters=check_filters(request.filters, info.properties, info.name),
    )


E = TypeVar("E", SearchMode, Operator, Fusion)


def _member(kind: type[E], value: str, what: str) -> E:
    """``kind(value)``, or ``InvalidInput`` naming the choices (a stale link or a typo may send anything)."""
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(m.value for m in kind)
        raise InvalidInput(f"Unknown {what} {value!r}.", hint=f"Choose one of: {choices}.") from None


# Server vectorizers that run on the Weaviate side without a paid API; any other one (text2vec-jinaai,
# -openai, -cohere, ...) embeds each vector or hybrid query with someone's key.
LOCAL_VECTORIZERS = frozenset({
    "none", "text2vec-transformers", "text2vec-contextionary", "text2vec-model2vec", "text2vec-gpt4all",
    "text2vec-ollama", "multi2vec-clip", "multi2vec-bind", "img2vec-neural", "ref2vec-centroid",
})


def search_spends_tokens(request: SearchRequest, info: CollectionInfo) -> bool:
    """Does this search itself call a paid API? A query vector from Jina's embeddings API called here, or a
    vector/hybrid search whose server vectorizer is an API-based module (it embeds the query with a key)."""
    if request.mode == SearchMode.KEYWORD:
        return False
    if needs_query_vector(request, info):
        return request.embedder.startswith("jina:")
    return (info.vectorizer or "none") not in LOCAL_VECTORIZERS


def needs_query_vector(request: SearchRequest, info: CollectionInfo) -> bool:
    """True when the client must supply the query vector (no server vectorizer, or one was asked for)."""
    if request.mode == SearchMode.KEYWORD:
        return False
    if request.embedder == "server":
        return False
    if request.embedder == "auto":
        return not info.has_server_vectorizer
    return True


def search(
    client: weaviate.WeaviateClient,
    request: SearchRequest,
    info: CollectionInfo,
    *,
    embedder: QueryEmbedder | None = None,
    rerank_prop: str | None = None,
    secrets: Sequence[str | None] = (),
    collection: Any = None,
) -> SearchResult:
    """Run ``request`` on the server and return its hits in server order.

    ``collection``: the client's handle of ``request.collection`` when the caller keeps one (building it
    costs more than a few candidates' conversion); by default a new one.

    ``secrets`` (the session's keys) are removed from any server text quoted in an error: a server-side
    module may echo the key it was sent. Errors are raised outside the ``except`` blocks so the raw
    weaviate exception does not hang off them as ``__context__``.
    """
    request = validate_request(request, info)
    notes: list[str] = []
    vector: list[float] | None = None
    started = time.perf_counter()
    if needs_query_vector(request, info):
        if embedder is None:
            raise EmbeddingError(
                f"Collection '{info.name}' has no server-side vectorizer, so the query vector must come "
                "from an embedder.",
                hint="Choose the local embedder, or the Jina embeddings API with a key.",
            )
        vector = embedder.embed_query(request.query)
        notes.append(f"Query vector computed with {embedder.name}.")
    if collection is None:
        collection = client.collections.use(request.collection)
    rerank = Rerank(prop=rerank_prop, query=request.query) if rerank_prop else None
    metadata = MetadataQuery(score=True, explain_score=True, distance=True)
    common: dict[str, Any] = {"limit": request.limit, "return_metadata": metadata, "rerank": rerank,
                              "filters": weaviate_filter(request.filters)}
    try:
        if request.mode == SearchMode.KEYWORD:
            operator = BM25Operator.and_() if request.operator == Operator.AND else BM25Operator.or_(minimum_match=1)
            response = collection.query.bm25(
                query=request.query, query_properties=list(request.properties) or None, operator=operator, **common
            )
        elif request.mode == SearchMode.VECTOR:
            if vector is None:
                response = collection.query.near_text(
                    query=request.query, target_vector=request.target_vector, **common
                )
            else:
                response = collection.query.near_vector(
                    near_vector=vector, target_vector=request.target_vector, **common
                )
        else:
            hybrid_operator = BM25Operator.and_() if request.operator == Operator.AND else None
            response = collection.query.hybrid(
                query=request.query,
                alpha=request.alpha,
                vector=vector,
                query_properties=list(request.properties) or None,
                fusion_type=HybridFusion.RELATIVE_SCORE
                if request.fusion == Fusion.RELATIVE_SCORE
                else HybridFusion.RANKED,
                target_vector=request.target_vector,
                bm25_operator=hybrid_operator,
                **common,
            )
    except PlaygroundError:
        raise
    except WeaviateTimeoutError:
        failure: PlaygroundError | None = SearchError(
            "Weaviate did not answer the search in time.",
            hint="Lower the candidates K, or try again when the server is less busy.",
        )
    except WeaviateBaseError as exc:  # incl. WeaviateQueryError
        failure = _query_error(exc, request, secrets)
    else:
        failure = None
    if failure is not None:
        raise failure
    elapsed_ms = (time.perf_counter() - started) * 1000
    hits = tuple(
        _to_hit(rank, obj, request.text_property or "", request.mode) for rank, obj in enumerate(response.objects, 1)
    )
    return SearchResult(request=request, hits=hits, latency_ms=elapsed_ms, notes=tuple(notes))


def existing_ids(client: weaviate.WeaviateClient, collection: str, doc_ids: Collection[str],
                 id_property: str | None = None) -> set[str]:
    """Which of ``doc_ids`` exist in ``collection``: object uuids, or values of ``id_property`` when the
    documents are known by an id property (a query set imported with its own ids). Asked 200 ids at a time."""
    handle = client.collections.use(collection)
    found: set[str] = set()
    ids = sorted(doc_ids)
    for lo in range(0, len(ids), 200):
        chunk = ids[lo : lo + 200]
        if id_property is None:
            valid = [d for d in chunk if _is_uuid(d)]
            if not valid:
                continue
            reply = handle.query.fetch_objects(filters=Filter.by_id().contains_any(valid), limit=len(valid),
                                               return_properties=[])
            found.update(str(obj.uuid) for obj in reply.objects)
        else:
            reply = handle.query.fetch_objects(filters=Filter.by_property(id_property).contains_any(chunk),
                                               limit=10_000, return_properties=[id_property])
            found.update(str(obj.properties.get(id_property)) for obj in reply.objects)
    return found & set(doc_ids)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _to_hit(rank: int, obj: Any, text_property: str, mode: SearchMode) -> Hit:
    # Runs for every candidate of every search (up to 1,000): kept to plain lookups (benchmarks/pipeline.py).
    properties: Mapping[str, Any] = obj.properties or {}
    meta = obj.metadata
    score = getattr(meta, "rerank_score", None)
    if score is None and mode != SearchMode.VECTOR:  # vector search has no score, only a distance
        score = meta.score
    text = properties.get(text_property)
    return Hit(
        rank,
        str(obj.uuid),
        text if type(text) is str else text_of(text),
        {k: v if type(v) in _SCALARS else _plain(v) for k, v in properties.items()},
        score,
        meta.distance,
        meta.explain_score or None,
    )


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    """Dates, geo points and other SDK values become JSON-friendly plain values."""
    if type(value) in _SCALARS:  # the common case, kept cheap: it runs for every property of every hit
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _query_error(exc: BaseException, request: SearchRequest, secrets: Sequence[str | None] = ()) -> PlaygroundError:
    message = scrub(str(exc), *secrets)
    lowered = message.lower()
    if "could not find class" in lowered or "no such class" in lowered or "not found" in lowered and (
        request.collection.lower() in lowered
    ):
        return CollectionNotFound(
            f"Collection '{request.collection}' no longer exists.",
            hint="It may have been deleted: reload the collection list.",
        )
    if "extend rerank" in lowered or "client rank" in lowered:
        # the server-side reranker failed (not the search itself): keep its words for the module reranker
        first = message.strip().splitlines()[0]
        return SearchError(f"Weaviate's reranker module failed: {first[:400]}")
    if "deadline" in lowered or "timeout" in lowered or "timed out" in lowered or (
        "rst_stream with error code 8" in lowered  # the server cancelled the stream at the propagated deadline
    ):
        return SearchError("Weaviate did not answer the search in time.", hint="Lower K or try again.")
    if "unavailable" in lowered or "connection refused" in lowered or "failed to connect" in lowered:
        return SearchError(
            "Lost the connection to Weaviate during the search.",
            hint="Check that the server is running; the next search reconnects.",
        )
    mismatch = re.search(r"(\d+) vs (\d+): vector lengths don't match", message)
    if mismatch:
        return SearchError(
            f"The query vector has {mismatch.group(2)} dimensions but this collection's vectors have "
            f"{mismatch.group(1)}.",
            hint="The query must be embedded by the model that made the stored vectors: pick that embedder.",
        )
    if "vectorize" in lowered or "vectorizer" in lowered:
        return SearchError(
            "The server could not vectorize the query.",
            hint="This collection's vectorizer failed (check its API key), or use keyword search.",
        )
    first = message.strip().splitlines()[0] if message.strip() else type(exc).__name__
    return SearchError(f"Weaviate rejected the search: {first[:300]}")

