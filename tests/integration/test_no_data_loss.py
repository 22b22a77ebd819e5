"""No data loss: a whole session — searches, reranks, compares and every kind of failed action — against a
user's own collection leaves its objects, vectors, count and config exactly as they were. The one write
the app offers, ``set_reranker_model``, changes only the reranker of the chosen collection.

Snapshots are read with a separate plain weaviate-client against the real server: every object with its
properties and vector, the total count, and ``collection.config.get().to_dict()``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import weaviate
import weaviate.classes.config as wc

from rerank_playground import tables
from rerank_playground.connection import ConnectionSpec
from rerank_playground.errors import CollectionNotFound, ConnectError, InvalidInput, PlaygroundError, ProviderError
from rerank_playground.keys import ProviderKeys
from rerank_playground.models import Fusion, Operator, SearchMode, SearchRequest
from rerank_playground.playground import Playground
from rerank_playground.rerankers.choice import RerankChoice
from testkit.corpus import CORPUS, UNTRUSTED_MARKUP
from testkit.jina_stand_in import TEST_JINA_KEY, Fault, JinaStandIn
from testkit.weaviate_data import Doc, create_collection, unique_collection_name
from weaviate_local.server import WeaviateEndpoint, free_port

TINY = "jina-reranker-v1-tiny-en"
V3 = "jina-reranker-v3"
LOCAL = RerankChoice("local", "local-wordllama")
BODIES = (*CORPUS, UNTRUSTED_MARKUP)


def make_user_collection(client: weaviate.WeaviateClient, prefix: str) -> str:
    """A collection as a user might have it: several property types, own vectors, a reranker configured."""
    name = unique_collection_name(prefix)
    objects = [Doc(body, {"title": f"doc {i}", "rank": i, "tags": ["x", str(i)]},
                   str(uuid.uuid5(uuid.NAMESPACE_URL, f"{name}/{i}")))
               for i, body in enumerate(BODIES)]
    properties = {"title": wc.DataType.TEXT, "rank": wc.DataType.INT, "tags": wc.DataType.TEXT_ARRAY}
    create_collection(client, name, objects, properties=properties, reranker_model=TINY,
                      description="the user's own data")
    return name


def sorted_properties(config: dict[str, Any]) -> dict[str, Any]:
    return {**config, "properties": sorted(config["properties"], key=lambda p: p["name"])}


def snapshot(client: weaviate.WeaviateClient, name: str) -> dict[str, Any]:
    collection = client.collections.use(name)
    objects = {
        str(o.uuid): (o.properties, o.vector) for o in collection.iterator(include_vector=True)
    }
    return {
        "count": collection.aggregate.over_all(total_count=True).total_count,
        "objects": objects,
        "config": collection.config.get().to_dict(),
    }


@pytest.fixture
def user_collections(weaviate_client: weaviate.WeaviateClient) -> Iterator[tuple[str, str]]:
    """The collection the session works on, and a bystander it never touches."""
    names = (make_user_collection(weaviate_client, "UserData"), make_user_collection(weaviate_client, "Bystander"))
    yield names
    for name in names:
        weaviate_client.collections.delete(name)


def run_a_whole_session(pg: Playground, name: str, stand_in: JinaStandIn, endpoint: WeaviateEndpoint) -> int:
    """What a user does in one sitting, including everything that fails. Returns the failures seen."""
    failures = 0

    def fails(action: Any, *args: Any, **kwargs: Any) -> None:
        nonlocal failures
        with pytest.raises(PlaygroundError):
            action(*args, **kwargs)
        failures += 1

    assert name in {c.name for c in pg.collections()}
    info = pg.collection(name, refresh=True)
    assert info.count == len(BODIES)
    base = SearchRequest(name, "cats food", text_property="body", embedder="local", limit=20)
    searches = [
        pg.search(replace(base, mode=SearchMode.KEYWORD)),
        pg.search(replace(base, mode=SearchMode.KEYWORD, operator=Operator.AND, properties=("body", "title"))),
        pg.search(replace(base, mode=SearchMode.VECTOR)),
        pg.search(replace(base, mode=SearchMode.HYBRID, alpha=0.0)),
        pg.search(replace(base, mode=SearchMode.HYBRID, alpha=1.0, fusion=Fusion.RELATIVE_SCORE)),
        pg.search(replace(base, mode=SearchMode.HYBRID, text_property="tags")),
        pg.search(replace(base, mode=SearchMode.HYBRID), force=True),
    ]
    for search in searches:
        if not search.hits:
            continue
        for choice in (RerankChoice("jina", V3), LOCAL):
            run = pg.rerank(search, choice, 5)
            tables.to_csv_bytes(tables.movement_table(run.movement, None))
            tables.to_json_bytes(run)
        both = pg.compare(search, [RerankChoice("jina", V3), RerankChoice("jina", TINY), LOCAL])
        assert not both.errors
    search = searches[0]

    # everything that can go wrong, on the same collection
    for fault in (Fault(status=500, retry_after="0"), Fault(status=401), Fault(malformed_json=True)):
        stand_in.set_fault(fault)
        fails(pg.rerank, replace(search, request=replace(search.request, query=f"x{failures}")),
              RerankChoice("jina", V3), 5)
        partial = pg.compare(search, [RerankChoice("jina", TINY), LOCAL])
        assert partial.errors or partial.results[RerankChoice("jina", TINY).label].cached
        stand_in.clear_faults()
    fails(pg.rerank, search, RerankChoice("weaviate_module", V3), 5)  # not the configured model: refused
    fails(pg.rerank, search, RerankChoice("jina", "jina-reranker-v9"), 5)
    for bad in ({"query": "  "}, {"limit": 0}, {"alpha": 2.0}, {"properties": ("nope",)}, {"text_property": "x"},
                {"mode": "sideways"}, {"query": "q" * 5000}):
        fails(pg.search, replace(base, **bad))
    fails(pg.search, replace(base, collection=f"Gone_{uuid.uuid4().hex[:6]}"))
    fails(pg.set_reranker_model, name, "   ")
    fails(pg.set_reranker_model, f"Gone_{uuid.uuid4().hex[:6]}", V3)
    pg.set_jina_key("wrong-key")
    fails(pg.rerank, pg.search(replace(base, query="dogs")), RerankChoice("jina", V3), 5)
    pg.set_jina_key(TEST_JINA_KEY)
    fails(pg.connect, replace(pg.spec, http_port=free_port()))  # a failed reconnect keeps the connection
    assert pg.search(replace(base, query="puppy")).hits
    return failures


def test_a_whole_session_with_failures_leaves_the_users_data_unchanged(
    weaviate_server: WeaviateEndpoint, weaviate_client: weaviate.WeaviateClient, user_collections: tuple[str, str],
    jina_stand_in: JinaStandIn,
) -> None:
    name, bystander = user_collections
    before = {n: snapshot(weaviate_client, n) for n in user_collections}
    all_names = set(weaviate_client.collections.list_all(simple=True))

    pg = Playground(ConnectionSpec(http_host=weaviate_server.host, http_port=weaviate_server.http_port,
                                   grpc_port=weaviate_server.grpc_port,
                                   weaviate_api_key=weaviate_server.api_key),
                    keys=ProviderKeys.of(JINAAI_APIKEY=TEST_JINA_KEY), jina_base_url=jina_stand_in.url)
    try:
        pg.connect()
        failures = run_a_whole_session(pg, name, jina_stand_in, weaviate_server)
    finally:
        pg.close()

    assert failures == 17
    assert len(jina_stand_in.rerank_requests()) > 10  # the session really did rerank
    after = {n: snapshot(weaviate_client, n) for n in user_collections}
    for n in user_collections:
        assert after[n]["count"] == before[n]["count"] == len(BODIES)
        assert after[n]["objects"] == before[n]["objects"]
        assert after[n]["config"] == before[n]["config"]
    assert set(weaviate_client.collections.list_all(simple=True)) == all_names  # nothing created or dropped


def test_set_reranker_model_changes_only_the_chosen_collections_reranker(
    weaviate_server: WeaviateEndpoint, weaviate_client: weaviate.WeaviateClient, user_collections: tuple[str, str],
) -> None:
    name, bystander = user_collections
    before = {n: snapshot(weaviate_client, n) for n in user_collections}
    pg = Playground(ConnectionSpec(http_host=weaviate_server.host, http_port=weaviate_server.http_port,
                                   grpc_port=weaviate_server.grpc_port, weaviate_api_key=weaviate_server.api_key))
    try:
        pg.connect()
        info = pg.set_reranker_model(name, V3)
        assert info.reranker_model == V3 and pg.collection(name).reranker_model == V3
        with pytest.raises(InvalidInput):
            pg.set_reranker_model(name, "")
        with pytest.raises(CollectionNotFound):
            pg.set_reranker_model(f"Gone_{uuid.uuid4().hex[:6]}", V3)
    finally:
        pg.close()

    after = {n: snapshot(weaviate_client, n) for n in user_collections}
    assert after[bystander] == before[bystander]
    assert after[name]["count"] == before[name]["count"] and after[name]["objects"] == before[name]["objects"]
    # Weaviate lists the properties in another order after any config update (alphabetical); the
    # properties themselves must be the same
    old, new = (sorted_properties(s[name]["config"]) for s in (before, after))
    changed = {k for k in old if old[k] != new.get(k)}
    assert changed == {"moduleConfig"}
    assert after[name]["config"]["moduleConfig"] == {"reranker-jinaai": {"model": V3}}
    assert before[name]["config"]["moduleConfig"] == {"reranker-jinaai": {"model": TINY}}
    assert set(after[name]["config"]) == set(before[name]["config"])


def test_a_failed_rerank_or_search_never_writes(
    weaviate_server: WeaviateEndpoint, weaviate_client: weaviate.WeaviateClient, user_collections: tuple[str, str],
    jina_stand_in: JinaStandIn,
) -> None:
    """Reranks that fail halfway (a Jina fault, a module refusal, a lost connection) leave no trace either."""
    name, _ = user_collections
    before = snapshot(weaviate_client, name)
    pg = Playground(ConnectionSpec(http_host=weaviate_server.host, http_port=weaviate_server.http_port,
                                   grpc_port=weaviate_server.grpc_port,
                                   weaviate_api_key=weaviate_server.api_key),
                    keys=ProviderKeys.of(JINAAI_APIKEY=TEST_JINA_KEY), jina_base_url=jina_stand_in.url)
    try:
        pg.connect()
        search = pg.search(SearchRequest(name, "cats", mode=SearchMode.KEYWORD, text_property="body"))
        jina_stand_in.set_fault(Fault(wrong_count=True))
        with pytest.raises(ProviderError):
            pg.rerank(search, RerankChoice("jina", V3), 3)
        jina_stand_in.clear_faults()
        pg.close()  # the page lost its connection
        with pytest.raises(ConnectError):
            pg.search(SearchRequest(name, "dogs", mode=SearchMode.KEYWORD))
    finally:
        pg.close()
    assert snapshot(weaviate_client, name) == before
