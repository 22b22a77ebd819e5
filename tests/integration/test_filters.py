"""Property filters against the real server: with a filter, every search mode returns exactly what a bare
weaviate-client query with the same ``Filter`` returns, in the same order; a bad property, operator or value is
refused with a message naming it before anything reaches the server."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import weaviate.classes.config as wc
from weaviate.classes.query import BM25Operator, Filter, HybridFusion, MetadataQuery

from rerank_playground.codegen import python_code
from rerank_playground.embedders import get_local_embedder
from rerank_playground.errors import InvalidInput
from rerank_playground.filters import parse_filter
from rerank_playground.models import SearchMode, SearchRequest
from rerank_playground.playground import Playground
from rerank_playground.rerankers.choice import RerankChoice
from rerank_playground.rerankers.model_catalog import LOCAL_MODEL
from rerank_playground.schema import describe_collection
from rerank_playground.search import needs_query_vector, search
from testkit.weaviate_data import Doc, create_collection, unique_collection_name

TOPICS = {
    "Science": ["volcanoes erupt when magma rises", "the telescope found a distant planet",
                "cells divide to grow new tissue", "a comet's tail points away from the sun"],
    "History": ["the empire fell after the long war", "writing began on clay tablets",
                "the printing press spread books", "the volcano buried the roman town"],
    "Sport": ["the team won the cup final", "a marathon runner broke the record",
              "the volcano trail race climbs the crater", "the planet's best swimmer won gold"],
}
START = datetime(2020, 1, 1, tzinfo=UTC)
QUERY = "volcano planet"
LOCAL = RerankChoice("local", LOCAL_MODEL)


def documents() -> list[Doc]:
    out = []
    for c, (category, texts) in enumerate(TOPICS.items()):
        for i, text in enumerate(texts):
            n = c * len(texts) + i
            out.append(Doc(f"{text} ({category.lower()} {n})", {
                "category": category, "year": 1990 + 3 * n, "rating": n / 4, "tags": [category.lower(), f"t{n % 3}"],
                "featured": n % 2 == 0, "published": START + timedelta(days=30 * n),
            }))
    return out


@pytest.fixture(scope="module")
def collection(client):
    properties = {"category": wc.DataType.TEXT, "year": wc.DataType.INT, "rating": wc.DataType.NUMBER,
                  "tags": wc.DataType.TEXT_ARRAY, "featured": wc.DataType.BOOL, "published": wc.DataType.DATE}
    name = create_collection(client, unique_collection_name("Filters"), documents(), properties=properties)
    yield name
    client.collections.delete(name)


FILTERS = {  # our text form -> the same filter written with the weaviate-client directly
    "category = Science": Filter.by_property("category").equal("Science"),
    "category != Science": Filter.by_property("category").not_equal("Science"),
    "category like Hist*": Filter.by_property("category").like("Hist*"),
    "year > 2000": Filter.by_property("year").greater_than(2000),
    "year < 2010": Filter.by_property("year").less_than(2010),
    "rating > 1.5": Filter.by_property("rating").greater_than(1.5),
    "tags contains any t0, t2": Filter.by_property("tags").contains_any(["t0", "t2"]),
    "year contains any 1990, 1993, 2020": Filter.by_property("year").contains_any([1990, 1993, 2020]),
    "featured = true": Filter.by_property("featured").equal(True),
    "published > 2020-06-01": Filter.by_property("published").greater_than(datetime(2020, 6, 1, tzinfo=UTC)),
}


def bare_query(client, name: str, mode: SearchMode, where):  # noqa: ANN001, ANN201 - the plain client, as a user writes it
    coll = client.collections.use(name)
    vector = get_local_embedder().embed_query(QUERY)
    meta = MetadataQuery(score=True, distance=True)
    if mode is SearchMode.KEYWORD:
        reply = coll.query.bm25(query=QUERY, operator=BM25Operator.or_(minimum_match=1), filters=where, limit=50,
                                return_metadata=meta)
    elif mode is SearchMode.VECTOR:
        reply = coll.query.near_vector(near_vector=vector, filters=where, limit=50, return_metadata=meta)
    else:
        reply = coll.query.hybrid(query=QUERY, alpha=0.5, vector=vector, fusion_type=HybridFusion.RANKED,
                                  filters=where, limit=50, return_metadata=meta)
    return [str(o.uuid) for o in reply.objects]


@pytest.mark.parametrize("mode", list(SearchMode))
@pytest.mark.parametrize("text", list(FILTERS))
def test_a_filtered_search_returns_what_the_bare_client_returns_in_the_same_order(client, collection, mode, text):
    info = describe_collection(client, collection)
    request = SearchRequest(collection=collection, query=QUERY, mode=mode, limit=50, embedder="local",
                            filters=(parse_filter(text),))
    result = search(client, request, info, embedder=get_local_embedder())
    expected = bare_query(client, collection, mode, FILTERS[text])
    assert [h.uuid for h in result.hits] == expected
    assert expected, "the filter keeps some documents that match the query"
    unfiltered = search(client, SearchRequest(collection=collection, query=QUERY, mode=mode, limit=50,
                                              embedder="local"), info, embedder=get_local_embedder())
    assert len(result.hits) < len(unfiltered.hits)  # it really filtered


def test_every_hit_of_a_filtered_search_holds_the_filter(client, collection):
    info = describe_collection(client, collection)
    request = SearchRequest(collection=collection, query=QUERY, mode=SearchMode.HYBRID, limit=50, embedder="local",
                            filters=(parse_filter("category = History"), parse_filter("year > 1995")))
    hits = search(client, request, info, embedder=get_local_embedder()).hits
    assert hits and all(h.properties["category"] == "History" and h.properties["year"] > 1995 for h in hits)


@pytest.mark.parametrize(("text", "named"), [
    ("colour = red", "no property 'colour' to filter on"),
    ("year like 19*", "The filter on 'year' (int) cannot use 'like'"),
    ("featured > true", "The filter on 'featured' (boolean) cannot use '>'"),
    ("year = nineteen", "The filter on 'year' (int) needs a whole number, not 'nineteen'"),
    ("rating > high", "The filter on 'rating' (number) needs a number, not 'high'"),
    ("published < yesterday", "The filter on 'published' (date) needs a date"),
    ("featured = maybe", "needs true or false, not 'maybe'"),
])
def test_a_bad_filter_is_refused_naming_what_is_wrong(client, collection, text, named):
    info = describe_collection(client, collection)
    request = SearchRequest(collection=collection, query=QUERY, mode=SearchMode.KEYWORD, filters=(parse_filter(text),))
    with pytest.raises(InvalidInput) as caught:
        search(client, request, info)
    assert named in caught.value.message


@pytest.mark.parametrize("mode", list(SearchMode))
def test_copied_code_with_a_filter_prints_the_order_the_page_shows(spec, collection, tmp_path, mode):
    pg = Playground(spec)
    pg.connect()
    try:
        request = SearchRequest(collection=collection, query=QUERY, mode=mode, limit=50, embedder="local",
                                filters=(parse_filter("year > 1995"), parse_filter("category != Sport")))
        search_result = pg.search(request)
        run = pg.rerank(search_result, LOCAL, 10)
        shown = [search_result.hits[d.index].uuid for d in run.result.ranked]
        validated = search_result.request
        code = python_code(validated, LOCAL, weaviate_url=spec.url, grpc_port=spec.grpc_target[1],
                           needs_query_vector=needs_query_vector(validated, pg.collection(collection)))
    finally:
        pg.shutdown()
    assert "filters=FILTERS" in code and "Filter.by_property('year').greater_than(1995)" in code
    script = tmp_path / "reproduce.py"
    script.write_text(code)
    env = {k: v for k, v in os.environ.items() if k not in ("JINAAI_APIKEY", "WEAVIATE_URL", "WEAVIATE_GRPC_PORT",
                                                            "WEAVIATE_API_KEY")}
    env.update(NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
    if spec.weaviate_api_key:
        env["WEAVIATE_API_KEY"] = spec.weaviate_api_key
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [line.split()[1] for line in done.stdout.splitlines() if line.strip()] == shown
    assert 0 < len(shown) < len(documents())
