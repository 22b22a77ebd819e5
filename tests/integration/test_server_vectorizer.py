"""A collection vectorized by the server (text2vec-jinaai pointed at the stand-in): near_text and
server-side hybrid run end to end through the Playground, and the user's Jina key travels as the header."""

from __future__ import annotations

import time

import pytest
import weaviate.classes.config as wc
from weaviate.classes.data import DataObject

from rerank_playground.connection import ConnectionSpec
from rerank_playground.models import SearchMode, SearchRequest
from rerank_playground.playground import Playground
from testkit.jina_stand_in import TEST_JINA_KEY, stand_in_embedding

DOCS = [
    "volcanoes erupt molten lava and ash",
    "glaciers carve valleys from solid rock",
    "the stock market rallied on tuesday",
    "lava flows cool into basalt rock",
]


@pytest.fixture
def vectorized(weaviate_server, jina_stand_in):
    spec = ConnectionSpec(http_host=weaviate_server.host, http_port=weaviate_server.http_port,
                          grpc_port=weaviate_server.grpc_port,
                          weaviate_api_key=weaviate_server.api_key, jina_api_key=TEST_JINA_KEY)
    play = Playground(spec, jina_base_url=jina_stand_in.url)
    play.connect()
    name = "ServerVec" + str(int(time.time() * 1000))
    play.client.collections.create(
        name,
        properties=[wc.Property(name="body", data_type=wc.DataType.TEXT)],
        vector_config=wc.Configure.Vectors.text2vec_jinaai(
            base_url=jina_stand_in.url, model="jina-embeddings-v3", vectorize_collection_name=False
        ),
    )
    collection = play.client.collections.use(name)
    # Objects arrive with the vectors the stand-in would compute: Weaviate's batch vectorizer counts
    # tokens with tiktoken, whose encoding files it downloads at run time (impossible offline). Queries
    # are still vectorized by the server, which is what this test is about.
    result = collection.data.insert_many(
        [DataObject(properties={"body": d}, vector=stand_in_embedding(d)) for d in DOCS]
    )
    assert not result.errors, result.errors
    yield play, name, jina_stand_in
    play.client.collections.delete(name)
    play.close()


def test_catalog_sees_the_server_vectorizer(vectorized):
    play, name, _ = vectorized
    info = play.collection(name)
    assert info.has_server_vectorizer
    assert "text2vec-jinaai" in (info.vectorizer or "")


@pytest.mark.parametrize("mode", [SearchMode.VECTOR, SearchMode.HYBRID])
def test_near_text_and_hybrid_are_vectorized_by_the_server_with_the_users_key(vectorized, mode):
    play, name, stand_in = vectorized
    stand_in.requests.clear()
    result = play.search(SearchRequest(name, "volcanoes erupt molten lava", mode=mode, limit=4, alpha=1.0))
    assert result.hits[0].text == DOCS[0]
    assert not any("computed with" in note for note in result.notes)  # no client-side query vector
    embeddings = stand_in.embedding_requests()
    assert embeddings, "the server should have asked the stand-in to embed the query"
    assert all(r.headers.get("authorization") == f"Bearer {TEST_JINA_KEY}" for r in embeddings)
    assert any("volcanoes erupt molten lava" in str(r.json) for r in embeddings)

