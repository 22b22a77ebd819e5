"""Weaviate's own ``reranker-jinaai`` module, end to end, against the local Jina stand-in.

A dedicated weaviate-server runs in its own mount namespace where ``api.jina.ai`` resolves to the stand-in,
which serves HTTPS with a certificate from a test CA (``testkit/namespace.py``). Nothing is mocked: the
queries go over gRPC to the real server, whose module makes real HTTPS calls to the stand-in.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import weaviate
from weaviate.classes.config import Reconfigure
from weaviate.classes.query import MetadataQuery, Rerank
from weaviate.collections import Collection
from weaviate.exceptions import WeaviateQueryError

from testkit.jina_stand_in import TEST_JINA_KEY, Fault, JinaStandIn, stand_in_embedding, stand_in_score
from testkit.namespace import JINA_HOST, ServerSideJina
from testkit.weaviate_data import create_collection, docs, unique_collection_name

pytestmark = pytest.mark.namespace

TINY = "jina-reranker-v1-tiny-en"
TURBO = "jina-reranker-v1-turbo-en"
DIMS = 32
QUERY = "red apple"
DOCS = [
    "red apple",
    "a red apple on the old wooden kitchen table by the window",
    "an apple a day keeps the doctor away",
    "green pears and yellow bananas",
    "red wine from the apple orchard region near the lake",
    "apple pie recipe with cinnamon",
]


def connect(endpoint: object, key: str | None) -> weaviate.WeaviateClient:
    headers = {"X-JinaAI-Api-Key": key} if key is not None else None
    return weaviate.connect_to_local(
        host=endpoint.host,  # type: ignore[attr-defined]
        port=endpoint.http_port,  # type: ignore[attr-defined]
        grpc_port=endpoint.grpc_port,  # type: ignore[attr-defined]
        headers=headers,
        skip_init_checks=True,
        auth_credentials=weaviate.auth.AuthApiKey(endpoint.api_key),  # type: ignore[attr-defined]
    )


@pytest.fixture(scope="module")
def client(weaviate_with_jina_module: ServerSideJina) -> Iterator[weaviate.WeaviateClient]:
    c = connect(weaviate_with_jina_module.endpoint, TEST_JINA_KEY)
    try:
        yield c
    finally:
        c.close()


def make_collection(client: weaviate.WeaviateClient, model: str) -> Collection:
    name = create_collection(client, unique_collection_name("ServerSideRerank"), docs(DOCS), reranker_model=model,
                             embed=lambda texts: [stand_in_embedding(text, DIMS) for text in texts])
    return client.collections.use(name)


@pytest.fixture(scope="module")
def tiny_collection(client: weaviate.WeaviateClient) -> Iterator[Collection]:
    collection = make_collection(client, TINY)
    yield collection
    client.collections.delete(collection.name)


@pytest.fixture
def stand_in(server_side_jina_stand_in: JinaStandIn) -> JinaStandIn:
    return server_side_jina_stand_in


def expected_order(bodies: list[str], model: str) -> list[str]:
    scores = [stand_in_score(QUERY, b, model) for b in bodies]
    assert len(set(scores)) == len(scores), "test data must not tie, or the order is not predictable"
    return sorted(bodies, key=lambda b: -stand_in_score(QUERY, b, model))


def assert_reranked_by(objects: list, model: str) -> None:
    bodies = [o.properties["body"] for o in objects]
    assert bodies == expected_order(bodies, model)
    for o in objects:
        assert o.metadata.rerank_score == pytest.approx(
            stand_in_score(QUERY, o.properties["body"], model), abs=1e-9
        )


def test_the_override_is_confined_to_the_namespace(weaviate_with_jina_module: ServerSideJina) -> None:
    stand_in = weaviate_with_jina_module.stand_in
    assert stand_in.url == f"https://{stand_in.host}:443"
    for line in Path("/etc/hosts").read_text().splitlines():
        fields = line.split("#", 1)[0].split()
        assert not (JINA_HOST in fields[1:] and fields[0] == stand_in.host), line


def test_bm25_is_reranked_by_the_module_through_the_stand_in(
    tiny_collection: Collection, stand_in: JinaStandIn
) -> None:
    plain = tiny_collection.query.bm25("apple", limit=10)
    assert stand_in.requests == []  # no rerank requested, no call

    res = tiny_collection.query.bm25(
        "apple", limit=10, rerank=Rerank(prop="body", query=QUERY), return_metadata=MetadataQuery(score=True)
    )
    bodies = [o.properties["body"] for o in res.objects]
    assert sorted(bodies) == sorted(o.properties["body"] for o in plain.objects)
    assert len(bodies) == 5  # every doc mentioning "apple"

    (req,) = stand_in.requests
    assert req.path == "/v1/rerank"
    assert req.headers["host"] == JINA_HOST
    assert req.headers["authorization"] == f"Bearer {TEST_JINA_KEY}"
    assert req.headers["request-source"] == "unspecified:weaviate"
    assert req.json["model"] == TINY
    assert req.json["query"] == QUERY
    assert sorted(req.json["documents"]) == sorted(bodies)

    assert_reranked_by(res.objects, TINY)
    assert bodies != [o.properties["body"] for o in plain.objects], "reranking should change this order"


def test_near_vector_reranks_only_the_final_page(tiny_collection: Collection, stand_in: JinaStandIn) -> None:
    vector = stand_in_embedding("apple orchard kitchen", DIMS)
    plain = tiny_collection.query.near_vector(vector, limit=4)
    res = tiny_collection.query.near_vector(
        vector, limit=4, rerank=Rerank(prop="body", query=QUERY), return_metadata=MetadataQuery(distance=True)
    )
    candidates = sorted(o.properties["body"] for o in plain.objects)
    (req,) = stand_in.requests
    assert sorted(req.json["documents"]) == candidates
    assert sorted(o.properties["body"] for o in res.objects) == candidates
    assert_reranked_by(res.objects, TINY)


def test_a_wrong_key_fails_with_401(
    weaviate_with_jina_module: ServerSideJina, tiny_collection: Collection, stand_in: JinaStandIn
) -> None:
    wrong = connect(weaviate_with_jina_module.endpoint, "not-the-key")
    try:
        with pytest.raises(WeaviateQueryError) as info:
            wrong.collections.get(tiny_collection.name).query.bm25(
                "apple", rerank=Rerank(prop="body", query=QUERY)
            )
    finally:
        wrong.close()
    assert "401" in str(info.value)
    (req,) = stand_in.requests
    assert req.headers["authorization"] == "Bearer not-the-key"


def test_no_key_fails_before_calling_jina(
    weaviate_with_jina_module: ServerSideJina, tiny_collection: Collection, stand_in: JinaStandIn
) -> None:
    keyless = connect(weaviate_with_jina_module.endpoint, None)
    try:
        with pytest.raises(WeaviateQueryError) as info:
            keyless.collections.get(tiny_collection.name).query.bm25(
                "apple", rerank=Rerank(prop="body", query=QUERY)
            )
    finally:
        keyless.close()
    assert "api key" in str(info.value).lower()
    assert stand_in.requests == []


def test_stand_in_errors_reach_the_caller(tiny_collection: Collection, stand_in: JinaStandIn) -> None:
    stand_in.set_fault(Fault(status=500, message="model overloaded", times=1))
    with pytest.raises(WeaviateQueryError) as info:
        tiny_collection.query.bm25("apple", rerank=Rerank(prop="body", query=QUERY))
    assert "500" in str(info.value) and "model overloaded" in str(info.value)
    # the fault cleared itself: the next query works
    res = tiny_collection.query.bm25("apple", rerank=Rerank(prop="body", query=QUERY))
    assert_reranked_by(res.objects, TINY)


def test_a_hanging_jina_fails_after_the_module_timeout(
    tiny_collection: Collection, stand_in: JinaStandIn
) -> None:
    # server_side_jina sets MODULES_CLIENT_TIMEOUT=10s
    stand_in.set_fault(Fault(hang=True, times=1))
    with pytest.raises(WeaviateQueryError) as info:
        tiny_collection.query.bm25("apple", rerank=Rerank(prop="body", query=QUERY))
    assert "deadline" in str(info.value).lower() or "timeout" in str(info.value).lower()
    assert len(stand_in.rerank_requests()) == 1 and stand_in.rerank_spans() == []  # Weaviate gave up waiting


def test_an_unknown_model_fails_with_422(client: weaviate.WeaviateClient, stand_in: JinaStandIn) -> None:
    collection = make_collection(client, "jina-reranker-v9-imaginary")
    try:
        with pytest.raises(WeaviateQueryError) as info:
            collection.query.bm25("apple", rerank=Rerank(prop="body", query=QUERY))
        assert "422" in str(info.value) and "jina-reranker-v9-imaginary" in str(info.value)
    finally:
        client.collections.delete(collection.name)


def test_reconfiguring_the_model_changes_the_next_request(
    client: weaviate.WeaviateClient, stand_in: JinaStandIn
) -> None:
    collection = make_collection(client, TINY)
    try:
        before = collection.query.bm25("apple", limit=10, rerank=Rerank(prop="body", query=QUERY))
        assert_reranked_by(before.objects, TINY)

        collection.config.update(reranker_config=Reconfigure.Reranker.jinaai(model=TURBO))
        reranker = collection.config.get().reranker_config
        assert reranker is not None and reranker.model["model"] == TURBO

        after = collection.query.bm25(
            "apple",
            limit=10,
            rerank=Rerank(prop="body", query=QUERY),
            return_metadata=MetadataQuery(score=True),
        )
        assert [r.json["model"] for r in stand_in.requests] == [TINY, TURBO]
        assert_reranked_by(after.objects, TURBO)
        # tiny prefers the short exact match, turbo the long one that also covers the query
        assert before.objects[0].properties["body"] == "red apple"
        assert after.objects[0].properties["body"] == DOCS[1]
    finally:
        client.collections.delete(collection.name)
