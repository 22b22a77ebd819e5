"""connection.py, schema.py, search.py and the module reranker's guards against the real server."""

from __future__ import annotations

import time

import pytest
import weaviate.classes.config as wc

from rerank_playground.connection import ConnectionSpec, connect, server_info
from rerank_playground.embedders import get_local_embedder
from rerank_playground.errors import (
    CollectionNotFound,
    EmbeddingError,
    GrpcUnreachable,
    InvalidInput,
    SearchError,
    TlsMismatch,
    WeaviateUnreachable,
)
from rerank_playground.models import Fusion, Operator, SearchMode, SearchRequest
from rerank_playground.rerankers.weaviate_module import WeaviateModuleReranker
from rerank_playground.schema import describe_collection, list_collections, set_reranker_model
from rerank_playground.search import search
from testkit.weaviate_data import Doc, create_collection, unique_collection_name
from weaviate_local.server import free_port

DOCS = [
    ("Cats", "the cat sat on the mat and purred", 1, ["pets"]),
    ("Kittens", "a kitten plays with yarn all afternoon", 2, ["pets", "young"]),
    ("Dogs", "dogs are loyal animals that guard the house", 3, []),
    ("Markets", "stock markets crashed in 1929 starting the great depression", 4, ["history"]),
    ("Fox", "the quick brown fox jumps over the lazy dog", 5, None),
    ("Zebra", "zyzzyva is a rare word about weevils", 6, ["words"]),
]


@pytest.fixture(scope="module")
def collection(client):
    objects = [Doc(body, {"title": title, "n": n, "tags": tags}) for title, body, n, tags in DOCS]
    properties = {"title": wc.DataType.TEXT, "body": wc.DataType.TEXT, "n": wc.DataType.INT,
                  "tags": wc.DataType.TEXT_ARRAY}
    name = create_collection(client, unique_collection_name("CoreSearch"), objects, properties=properties,
                             reranker_model="jina-reranker-v1-tiny-en")
    yield name
    client.collections.delete(name)


def test_server_info_reports_version_modules_and_collections(client, spec, collection):
    info = server_info(client, spec)
    assert info.version.startswith("1.")
    assert info.has_module("reranker-jinaai") and "reranker-jinaai" in info.modules
    assert info.collections >= 1
    assert info.url == spec.url


def test_describe_collection_reads_config_and_count(client, collection):
    info = describe_collection(client, collection)
    assert info.count == len(DOCS)
    assert info.text_properties == ("title", "body")
    assert {p.name: p.data_type for p in info.properties}["tags"] == "text[]"
    assert info.reranker_module == "reranker-jinaai"
    assert info.reranker_model == "jina-reranker-v1-tiny-en"
    assert not info.has_server_vectorizer
    assert collection in {c.name for c in list_collections(client)}


def test_unknown_collection_is_a_typed_error(client):
    with pytest.raises(CollectionNotFound, match="NoSuchThing"):
        describe_collection(client, "NoSuchThing")


def test_keyword_search_ranks_the_unique_term_first(client, collection):
    info = describe_collection(client, collection)
    result = search(client, SearchRequest(collection, "zyzzyva", mode=SearchMode.KEYWORD, text_property="body"), info)
    assert result.hits[0].properties["title"] == "Zebra"
    assert result.hits[0].rank == 1 and result.hits[0].score > 0
    assert result.latency_ms > 0


def test_keyword_and_operator_needs_every_term(client, collection):
    info = describe_collection(client, collection)
    both = SearchRequest(collection, "cat yarn", mode=SearchMode.KEYWORD, operator=Operator.AND)
    either = SearchRequest(collection, "cat yarn", mode=SearchMode.KEYWORD, operator=Operator.OR)
    assert search(client, both, info).hits == ()
    assert {h.properties["title"] for h in search(client, either, info).hits} == {"Cats", "Kittens"}


def test_vector_search_uses_the_local_embedder_and_reports_distance(client, collection):
    info = describe_collection(client, collection)
    result = search(client, SearchRequest(collection, "a young cat", mode=SearchMode.VECTOR, limit=3), info,
                    embedder=get_local_embedder())
    assert result.hits[0].properties["title"] in {"Cats", "Kittens"}
    assert all(h.score is None and h.distance is not None for h in result.hits)
    assert [h.distance for h in result.hits] == sorted(h.distance for h in result.hits)
    assert any("wordllama" in note for note in result.notes)


def test_vector_search_without_embedder_says_what_to_do(client, collection):
    info = describe_collection(client, collection)
    with pytest.raises(EmbeddingError, match="embedder"):
        search(client, SearchRequest(collection, "cat", mode=SearchMode.VECTOR), info)


@pytest.mark.parametrize("fusion", list(Fusion))
def test_hybrid_alpha_extremes_follow_keyword_and_vector_orders(client, collection, fusion):
    info = describe_collection(client, collection)
    embedder = get_local_embedder()
    query = "the cat and the dog"

    def titles(mode, alpha=0.5):
        req = SearchRequest(collection, query, mode=mode, alpha=alpha, fusion=fusion, limit=6)
        return [h.properties["title"] for h in search(client, req, info, embedder=embedder).hits]

    keyword = titles(SearchMode.KEYWORD)
    assert titles(SearchMode.HYBRID, 0.0)[: len(keyword)] == keyword
    assert titles(SearchMode.HYBRID, 1.0) == titles(SearchMode.VECTOR)


def test_hit_text_handles_arrays_numbers_and_missing_values(client, collection):
    info = describe_collection(client, collection)
    embedder = get_local_embedder()
    by_title = {}
    for prop in ("tags", "n"):
        req = SearchRequest(collection, "cat", mode=SearchMode.VECTOR, limit=6, text_property=prop)
        for hit in search(client, req, info, embedder=embedder).hits:
            by_title.setdefault(hit.properties["title"], {})[prop] = hit.text
    assert by_title["Kittens"]["tags"] == "pets; young"
    assert by_title["Fox"]["tags"] == ""
    assert by_title["Markets"]["n"] == "4"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"query": "   "}, "Type a query"),
        ({"limit": 0}, "between 1 and 1000"),
        ({"limit": 5000}, "between 1 and 1000"),
        ({"alpha": 1.5}, "Alpha"),
        ({"properties": ("nope",)}, "no property 'nope'"),
        ({"text_property": "missing"}, "no property 'missing'"),
        ({"query": "x" * 10_000}, "10,000 characters"),
    ],
)
def test_bad_requests_are_refused_before_the_server(client, collection, changes, message):
    info = describe_collection(client, collection)
    request = SearchRequest(**{"collection": collection, "query": "cat", "mode": SearchMode.KEYWORD, **changes})
    with pytest.raises(InvalidInput, match=message):
        search(client, request, info)


def test_deleted_collection_mid_session_is_a_typed_error(client):
    name = "Doomed" + str(int(time.time() * 1000))
    client.collections.create(name, properties=[wc.Property(name="body", data_type=wc.DataType.TEXT)],
                              vector_config=wc.Configure.Vectors.self_provided())
    info = describe_collection(client, name)
    client.collections.delete(name)
    with pytest.raises(CollectionNotFound):
        search(client, SearchRequest(name, "anything", mode=SearchMode.KEYWORD), info)


def test_reranker_model_changes_only_when_asked(client, collection):
    before = describe_collection(client, collection)
    after = set_reranker_model(client, collection, "jina-reranker-v2-base-multilingual")
    assert after.reranker_model == "jina-reranker-v2-base-multilingual"
    assert after.count == before.count
    set_reranker_model(client, collection, "jina-reranker-v1-tiny-en")
    with pytest.raises(InvalidInput):
        set_reranker_model(client, collection, "  ")


def test_module_reranker_reports_and_caches_by_the_model_in_the_collection_config(client, collection):
    """Whatever model a page asks for, the module reranks with the collection's configured one: that is the
    model results are labelled with and cached under (the end-to-end case is in test_faults, namespace)."""
    request = SearchRequest(collection, "cat", mode=SearchMode.KEYWORD)
    set_reranker_model(client, collection, "jina-reranker-v3")
    try:
        reranker = WeaviateModuleReranker(client, request, describe_collection(client, collection))
        assert reranker.configured_model == "jina-reranker-v3"
        assert "jina-reranker-v3" in reranker.cache_scope
    finally:
        set_reranker_model(client, collection, "jina-reranker-v1-tiny-en")
    assert WeaviateModuleReranker(client, request, describe_collection(client, collection)).configured_model == (
        "jina-reranker-v1-tiny-en"
    )


def test_connect_errors_are_typed(weaviate_server):
    closed = free_port()
    cases = [
        (ConnectionSpec(http_port=closed, grpc_port=weaviate_server.grpc_port), WeaviateUnreachable),
        (ConnectionSpec(http_port=weaviate_server.http_port, grpc_port=closed, init_timeout=1.0,
                        weaviate_api_key=weaviate_server.api_key), GrpcUnreachable),
        (ConnectionSpec(http_port=weaviate_server.http_port, grpc_port=weaviate_server.grpc_port,
                        http_secure=True), TlsMismatch),
    ]
    for spec, error in cases:
        with pytest.raises(error) as info:
            connect(spec)
        assert "Traceback" not in str(info.value)


class _TinyEmbedder:
    name = "three-dimensional"

    def embed_query(self, text):
        return [0.1, 0.2, 0.3]


def test_query_vector_of_the_wrong_size_says_which_sizes(client, collection):
    info = describe_collection(client, collection)
    with pytest.raises(SearchError, match="query vector has 3 dimensions but this collection's vectors have 256"):
        search(client, SearchRequest(collection, "cat", mode=SearchMode.VECTOR), info, embedder=_TinyEmbedder())
