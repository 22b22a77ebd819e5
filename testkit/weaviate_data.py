"""Connecting to the test Weaviate and filling it: a client for an endpoint, unique collection names, and one
typed collection factory (:func:`create_collection`) for every test and benchmark that needs a collection of
its own.

A collection made here holds :class:`Doc` objects: the text in ``body`` (what the tests search and rerank),
any other properties beside it, and the vector its text gets from the local WordLlama embedder (the offline
"bring your own vectors" path the demo uses) unless the caller gives another embedding function.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import weaviate
import weaviate.classes.config as wc
from weaviate.classes.data import DataObject
from weaviate.classes.init import AdditionalConfig, Auth, Timeout

if TYPE_CHECKING:
    from weaviate_local.server import WeaviateEndpoint

Embed = Callable[[Sequence[str]], Sequence[Sequence[float]]]


def connect(endpoint: WeaviateEndpoint, **kwargs: Any) -> weaviate.WeaviateClient:
    """A client for ``endpoint`` (with its key) without the best-effort call to the package index."""
    kwargs.setdefault("additional_config", AdditionalConfig(timeout=Timeout(init=10, query=60, insert=120)))
    if endpoint.api_key:
        kwargs.setdefault("auth_credentials", Auth.api_key(endpoint.api_key))
    return weaviate.connect_to_local(
        host=endpoint.host,
        port=endpoint.http_port,
        grpc_port=endpoint.grpc_port,
        skip_init_checks=True,
        **kwargs,
    )


def unique_collection_name(prefix: str = "Test") -> str:
    """Collection names must start with a capital letter; a uuid suffix keeps parallel runs apart."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class Doc:
    """One object: its text, other properties (a ``None`` value leaves the property unset), an optional uuid."""

    body: str
    properties: Mapping[str, Any] = field(default_factory=dict)
    uuid: str | None = None


def docs(texts: Iterable[str], *, numbered: str | None = None) -> list[Doc]:
    """:class:`Doc` objects for plain texts; ``numbered="n"`` also stores each one's position as ``n``."""
    return [Doc(text, {numbered: i} if numbered else {}) for i, text in enumerate(texts)]


def local_vectors(texts: Sequence[str]) -> list[list[float]]:
    """The local WordLlama vectors (an empty text is embedded as a space: WordLlama cannot embed nothing)."""
    from rerank_playground.embedders import get_local_embedder

    return [vector.tolist() for vector in get_local_embedder().embed([text or " " for text in texts])]


def create_collection(
    client: weaviate.WeaviateClient,
    name: str,
    objects: Sequence[Doc],
    *,
    properties: Mapping[str, wc.DataType] | None = None,
    reranker_model: str | None = None,
    replication_factor: int | None = None,
    description: str | None = None,
    embed: Embed = local_vectors,
) -> str:
    """Create ``name`` (e.g. from :func:`unique_collection_name`) with a ``body`` text property, ``properties``
    after it (list ``"body"`` among them to put it elsewhere: the order is the collection's), self-provided
    vectors and, if ``reranker_model`` is given, the server-side ``reranker-jinaai`` module with that model;
    insert ``objects`` and return the name. Raises if the server refuses any object.
    """
    schema = dict(properties or {})
    if "body" not in schema:
        schema = {"body": wc.DataType.TEXT, **schema}
    client.collections.create(
        name,
        description=description,
        properties=[wc.Property(name=key, data_type=data_type) for key, data_type in schema.items()],
        vector_config=wc.Configure.Vectors.self_provided(),
        reranker_config=wc.Configure.Reranker.jinaai(model=reranker_model) if reranker_model else None,
        replication_config=wc.Configure.replication(factor=replication_factor) if replication_factor else None,
    )
    vectors = embed([doc.body for doc in objects])
    batch = [
        DataObject(
            properties={"body": doc.body, **{k: v for k, v in doc.properties.items() if v is not None}},
            uuid=doc.uuid,
            vector=list(vector),
        )
        for doc, vector in zip(objects, vectors, strict=True)
    ]
    result = client.collections.use(name).data.insert_many(batch)
    if result.has_errors:
        raise AssertionError(f"Weaviate refused objects of {name}: {result.errors}")
    return name
