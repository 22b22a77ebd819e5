"""What is in the database: collections, counts, properties, vectorizers and reranker config."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import weaviate
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential
from weaviate.classes.config import Reconfigure
from weaviate.classes.query import Metrics
from weaviate.exceptions import UnexpectedStatusCodeError, WeaviateBaseError, WeaviateTimeoutError

from rerank_playground.demo.datasets import DEMO_COLLECTIONS
from rerank_playground.errors import CatalogError, CollectionNotFound, InvalidInput
from rerank_playground.models import CollectionInfo, PropertyInfo


def _enum_value(value: Any) -> str:
    return str(getattr(value, "value", value))


# ------------------------------------------------------------------------------ the text the reranker reads

# Words in a property name that say it holds running text, most text-like first; and words that say it holds a
# short label. Rerankers judge a document by the one property they read, so a title or a category makes every
# verdict about titles (on DemoWiki: +0.029 nDCG@10 reading titles, -0.235 reading passages).
RUNNING_TEXT_WORDS = ("text", "passage", "content", "body", "chunk", "document", "paragraph", "abstract",
                      "description", "summary", "question", "answer", "review", "comment", "message")
LABEL_WORDS = ("title", "name", "heading", "section", "label", "category", "tag", "tags", "id", "url", "slug",
               "type", "author", "date")


def _name_words(name: str) -> list[str]:
    """``"bodyText"`` / ``"body_text"`` -> ``["body", "text"]``."""
    return [w for w in re.split(r"[^a-z0-9]+", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()) if w]


def declared_rerank_property(collection: str) -> str | None:
    """The property a demo collection's dataset spec declares for reranking (None: not a demo collection)."""
    spec = next((d for d in DEMO_COLLECTIONS if d.name == collection), None)
    if spec is None:
        return None
    declared = spec.rerank_property
    return str(declared) if declared else None


def default_collection(names: Sequence[str]) -> str | None:
    """The collection a search starts on: the first demo collection present, else the first one listed."""
    return next((spec.name for spec in DEMO_COLLECTIONS if spec.name in names), names[0] if names else None)


def default_keyword_properties(info: CollectionInfo) -> tuple[str, ...]:
    """The properties BM25 reads unless the user picks others: a demo collection's declared ones (those it has),
    else all (empty)."""
    spec = next((d for d in DEMO_COLLECTIONS if d.name == info.name), None)
    return tuple(p for p in spec.keyword_properties if p in info.text_properties) if spec else ()


def default_rerank_property(info: CollectionInfo) -> str | None:
    """The text property the reranker reads (and the lists show) unless the user picks another: the one rule
    that Search, Compare, Evaluate, the CLI, stories and Copy as code share. None: no text property.

    1. A demo collection: the property its dataset spec declares (``rerank_property`` if the spec has one,
       else its ``text_property``), when the collection has it.
    2. Otherwise the first text property (in schema order) whose name says running text, by the earliest word
       of :data:`RUNNING_TEXT_WORDS` it contains (``text`` before ``passage`` before ``content`` ...);
    3. else the first text property whose name is not a label (:data:`LABEL_WORDS`: title, name, category ...);
    4. else the first text property.
    """
    texts = info.text_properties
    if not texts:
        return None
    declared = declared_rerank_property(info.name)
    if declared in texts:
        return declared
    rank = {word: i for i, word in enumerate(RUNNING_TEXT_WORDS)}
    running = [(min(rank[w] for w in words if w in rank), order, name)
               for order, (name, words) in enumerate((n, _name_words(n)) for n in texts)
               if any(w in rank for w in words)]
    if running:
        return min(running)[2]
    not_labels = [n for n in texts if not any(w in LABEL_WORDS for w in _name_words(n))]
    return (not_labels or list(texts))[0]


def list_collection_names(client: weaviate.WeaviateClient) -> list[str]:
    try:
        return sorted(client.collections.list_all(simple=True).keys())
    except WeaviateBaseError as exc:
        raise _read_error(exc, "list the collections") from None


def describe_collection(client: weaviate.WeaviateClient, name: str, *, any_replica: bool = False) -> CollectionInfo:
    """Config and object count of one collection; ``CollectionNotFound`` if it is not there.

    ``any_replica``: count from one replica of each shard. Weaviate 1.38 counts a plain ``total_count`` with
    consistency ALL (``Index.aggregateCount``), so while a crashed node is still a cluster member the count
    waits for it until the query times out; with a metric requested the count takes the ONE-replica path
    (the objects bucket of whichever replica answers). The Playground asks for it when a node is down.
    """
    if not name:
        raise InvalidInput("Choose a collection.")
    try:
        if not client.collections.exists(name):
            raise CollectionNotFound(
                f"Collection '{name}' does not exist on this server.",
                hint="It may have been deleted: reload the collection list.",
            )
        collection = client.collections.use(name)
        config = collection.config.get()
        metric_on = next((p.name for p in config.properties if _enum_value(p.data_type) == "text"), None)
        if any_replica and metric_on is not None:
            metrics = Metrics(metric_on).text(count=True)
            # Just after a node dies, the replica asked can be the one whose connection is closing (HTTP 500):
            # ask again, a moment later, a few times.
            for attempt in Retrying(
                retry=retry_if_exception(lambda e: isinstance(e, UnexpectedStatusCodeError) and e.status_code >= 500),
                stop=stop_after_delay(20), wait=wait_exponential(multiplier=0.2, max=1.0), reraise=True,
            ):
                with attempt:
                    counted = collection.aggregate.over_all(total_count=True, return_metrics=metrics)
            count = counted.total_count or 0
        else:
            count = collection.aggregate.over_all(total_count=True).total_count or 0
    except CollectionNotFound:
        raise
    except UnexpectedStatusCodeError as exc:
        if exc.status_code == 404:
            raise CollectionNotFound(f"Collection '{name}' does not exist on this server.") from None
        raise CatalogError(f"Could not read collection '{name}'.", hint=_short(exc)) from None
    except WeaviateBaseError as exc:
        raise _read_error(exc, f"read collection '{name}'") from None

    properties = tuple(PropertyInfo(p.name, _enum_value(p.data_type)) for p in config.properties)
    named = tuple(sorted((config.vector_config or {}).keys()))
    if named:
        kinds = {_enum_value(v.vectorizer.vectorizer) for v in (config.vector_config or {}).values()}
        vectorizer: str | None = ", ".join(sorted(kinds))
    else:
        vectorizer = _enum_value(config.vectorizer) if config.vectorizer is not None else None
    reranker = config.reranker_config
    return CollectionInfo(
        name=config.name,
        count=int(count),
        properties=properties,
        vectorizer=vectorizer,
        named_vectors=named,
        reranker_module=_enum_value(reranker.reranker) if reranker else None,
        reranker_model=(reranker.model or {}).get("model") if reranker else None,
    )


def list_collections(client: weaviate.WeaviateClient, *, any_replica: bool = False) -> list[CollectionInfo]:
    """Every collection, described. A collection deleted while listing is simply left out."""
    infos = []
    for name in list_collection_names(client):
        try:
            infos.append(describe_collection(client, name, any_replica=any_replica))
        except CollectionNotFound:
            continue
    return infos


def set_reranker_model(client: weaviate.WeaviateClient, name: str, model: str) -> CollectionInfo:
    """Point the collection's ``reranker-jinaai`` module at ``model``. Writes: call only after the user confirms."""
    if not model.strip():
        raise InvalidInput("Choose a reranker model.")
    info = describe_collection(client, name)
    try:
        client.collections.use(name).config.update(reranker_config=Reconfigure.Reranker.jinaai(model=model))
    except WeaviateBaseError as exc:
        raise CatalogError(
            f"Weaviate refused to change the reranker of '{name}'.",
            hint="Reranker settings are mutable from Weaviate 1.25.23 / 1.26.8 / 1.27.1; a collection "
            "configured with another reranker module cannot switch modules. " + _short(exc),
        ) from None
    updated = describe_collection(client, name)
    if updated.reranker_model != model:
        raise CatalogError(
            f"The reranker of '{name}' still reads {updated.reranker_model!r} after the update.",
            hint=f"It was {info.reranker_model!r}; check the server log.",
        )
    return updated


def timed_out(exc: BaseException) -> bool:
    """True when a weaviate-client error is a timeout, whichever way it is worded (REST timeout, gRPC
    deadline, or the server resetting the stream with CANCEL when the propagated deadline passed)."""
    text = str(exc).lower()
    return (isinstance(exc, WeaviateTimeoutError) or "deadline" in text or "timed out" in text
            or "rst_stream with error code 8" in text)


def _read_error(exc: BaseException, what: str) -> CatalogError:
    if timed_out(exc):
        return CatalogError(f"Weaviate did not answer in time when asked to {what}.",
                            hint="Try again; if the server is busy, raise the query timeout.")
    return CatalogError(f"Could not {what}.", hint=_short(exc))


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:240]
