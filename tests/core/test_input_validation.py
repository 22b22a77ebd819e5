"""Property tests: whatever the form sends, validation either returns a well-formed value or raises
``InvalidInput`` — never another exception, and never after a paid call.

- ``search.validate_request``: any ``SearchRequest`` (odd text, K of any type and size, alpha NaN/inf, mode,
  operator and fusion strings that are not members, unknown properties and vectors) against any collection.
- ``movement.compute_movement``: any reranker answer (indices out of range, repeated, bools; NaN scores) and
  any top N.
- ``Playground.rerank`` / ``compare``: any top N and any reranker/model names; the Jina API is an
  ``httpx.MockTransport`` that counts calls, so a refused input is shown to cost nothing.
"""

from __future__ import annotations

import json
import math
from itertools import groupby
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rerank_playground.connection import ConnectionSpec
from rerank_playground.errors import InvalidInput, KeyRequired, ProviderError
from rerank_playground.keys import ProviderKeys
from rerank_playground.limits import MAX_K as MAX_CANDIDATES
from rerank_playground.limits import MAX_QUERY_CHARS
from rerank_playground.models import (
    CollectionInfo,
    Fusion,
    Hit,
    Operator,
    PropertyInfo,
    RankedDoc,
    RerankResult,
    SearchMode,
    SearchRequest,
    SearchResult,
)
from rerank_playground.movement import compute_movement
from rerank_playground.playground import Playground
from rerank_playground.rerankers.choice import RerankChoice
from rerank_playground.rerankers.model_catalog import LOCAL_MODEL, model_names
from rerank_playground.schema import default_rerank_property
from rerank_playground.search import validate_request

PROPERTIES = (
    PropertyInfo("title", "text"),
    PropertyInfo("body", "text"),
    PropertyInfo("n", "int"),
    PropertyInfo("tags", "text[]"),
    PropertyInfo("when", "date"),
)
NAMES = [p.name for p in PROPERTIES]
VECTORS = ["default", "title_vec"]

collections = st.builds(
    CollectionInfo,
    name=st.just("Docs"),
    count=st.integers(0, 10),
    properties=st.lists(st.sampled_from(PROPERTIES), unique=True).map(tuple),
    vectorizer=st.sampled_from([None, "none", "text2vec-jinaai"]),
    named_vectors=st.lists(st.sampled_from(VECTORS), unique=True).map(tuple),
    reranker_module=st.none(),
    reranker_model=st.none(),
)
names = st.sampled_from(NAMES) | st.text(max_size=8)
queries = (
    st.text(max_size=60)
    | st.text(alphabet=" \t\n\r\u3000\u00a0\u200b", max_size=8)
    | st.integers(MAX_QUERY_CHARS - 3, MAX_QUERY_CHARS + 3).map(lambda n: "q" * n)
    | st.builds(lambda pad, core: pad + core + pad, st.sampled_from(["", " ", "\n\t"]),
                st.text(min_size=1, max_size=20))
)
requests = st.builds(
    SearchRequest,
    collection=st.just("Docs"),
    query=queries,
    mode=st.sampled_from(list(SearchMode)) | st.sampled_from(["keyword", "vector", "hybrid"]) | st.text(max_size=8),
    limit=st.integers(-5, MAX_CANDIDATES + 5) | st.booleans() | st.floats(allow_nan=True) | st.just(10**15),
    properties=st.lists(names, max_size=3).map(tuple),
    text_property=st.none() | names,
    operator=st.sampled_from(list(Operator)) | st.text(max_size=5),
    alpha=st.floats(allow_nan=True, allow_infinity=True) | st.integers(-3, 3) | st.booleans(),
    fusion=st.sampled_from(list(Fusion)) | st.text(max_size=15),
    target_vector=st.none() | st.sampled_from(VECTORS) | st.text(max_size=5),
    embedder=st.sampled_from(["auto", "server", "local", "jina:jina-embeddings-v3"]),
)


def assert_well_formed(out: SearchRequest, request: SearchRequest, info: CollectionInfo) -> None:
    known = {p.name: p.data_type for p in info.properties}
    assert type(out.query) is str and out.query == request.query.strip()
    assert 1 <= len(out.query) <= MAX_QUERY_CHARS
    assert type(out.limit) is int and 1 <= out.limit <= MAX_CANDIDATES
    assert type(out.alpha) is float and 0.0 <= out.alpha <= 1.0
    assert type(out.mode) is SearchMode and type(out.operator) is Operator and type(out.fusion) is Fusion
    assert set(out.properties) <= set(known)
    assert out.text_property in known
    if request.text_property is None:
        assert out.text_property == default_rerank_property(info)  # the one rule (issue 18)
    if info.named_vectors:
        assert out.target_vector in info.named_vectors
    else:
        assert out.target_vector is None
    if out.mode in (SearchMode.KEYWORD, SearchMode.HYBRID):
        assert all(known[p].startswith("text") for p in out.properties)
    assert validate_request(out, info) == out  # validating twice changes nothing



FIXTURE_AND_SLOW = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]  # speed is not behaviour

@settings(max_examples=400, deadline=None)
@given(request=requests, info=collections)
def test_any_search_request_validates_or_is_invalid_input(request: SearchRequest, info: CollectionInfo) -> None:
    try:
        out = validate_request(request, info)
    except InvalidInput as err:
        assert err.message and "Traceback" not in str(err)
        return
    assert_well_formed(out, request, info)


@settings(max_examples=200, deadline=None)
@given(info=collections.filter(lambda i: bool(i.text_properties)), query=st.text(min_size=1, max_size=30))
def test_a_plain_request_on_a_text_collection_is_accepted(info: CollectionInfo, query: str) -> None:
    """The refusals above are not everything: a sensible request always passes."""
    assume(query.strip())
    request = SearchRequest("Docs", query, mode=SearchMode.KEYWORD, limit=10, text_property=info.text_properties[0],
                            target_vector=info.named_vectors[0] if info.named_vectors else None)
    assert_well_formed(validate_request(request, info), request, info)


# -- movement ---------------------------------------------------------------------------------------------------

indices = st.integers(-3, 15) | st.booleans()
scores = st.floats(allow_nan=True, allow_infinity=True)


def hits_of(n: int) -> list[Hit]:
    return [Hit(rank=i + 1, uuid=f"u{i}", text=f"text {i}", score=1.0 / (i + 1)) for i in range(n)]


@settings(max_examples=400, deadline=None)
@given(
    n=st.integers(0, 12),
    ranked=st.lists(st.builds(RankedDoc, index=indices, score=scores), max_size=15),
    top_n=st.integers(-3, 20) | st.booleans() | st.floats(allow_nan=True),
)
def test_any_rerank_answer_gives_a_full_permutation_or_invalid_input(
    n: int, ranked: list[RankedDoc], top_n: Any
) -> None:
    hits = hits_of(n)
    result = RerankResult("jina", "m", tuple(ranked), 1.0)
    try:
        moved = compute_movement(hits, result, top_n)
    except InvalidInput as err:
        assert err.message
        return
    moves = moved.moves
    assert sorted(m.new_rank for m in moves) == list(range(1, n + 1))
    assert sorted(m.original_rank for m in moves) == list(range(1, n + 1))
    assert sorted(m.uuid for m in moves) == sorted(h.uuid for h in hits)
    assert [m.new_rank for m in moves] == list(range(1, n + 1))  # in reranked order
    # the reranker's order, except that documents with the same score as their neighbour keep retrieval order
    returned = [i for _, tied in groupby(ranked, key=lambda d: d.score) for i in sorted(d.index for d in tied)]
    assert [m.original_rank - 1 for m in moves][: len(returned)] == returned
    for m in moves:
        assert m.delta == m.original_rank - m.new_rank
        assert m.entered_top_n == (m.new_rank <= top_n < m.original_rank)
        assert m.left_top_n == (m.original_rank <= top_n < m.new_rank)
        assert not (m.entered_top_n and m.left_top_n)
    summary = moved.summary
    assert summary.n == n and summary.promoted + summary.demoted + summary.unchanged == n
    for value in (summary.kendall_tau, summary.spearman_rho):
        assert (value is None) == (n < 2)  # undefined for fewer than two documents
        assert value is None or -1.0 - 1e-9 <= value <= 1.0 + 1e-9
    assert all(0.0 <= v <= 1.0 for v in summary.overlap_at_k.values())


# -- Playground.rerank and compare -------------------------------------------------------------------------------


class CountingJina:
    """A MockTransport answer for /v1/rerank that follows the contract, and counts the calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        body = json.loads(request.content)
        docs = body["documents"]
        order = sorted(range(len(docs)), key=lambda i: (-len(docs[i]), i))[: body.get("top_n") or len(docs)]
        results = [{"index": i, "relevance_score": 1.0 / (rank + 1)} for rank, i in enumerate(order)]
        return httpx.Response(200, json={"model": body["model"], "results": results, "usage": {"total_tokens": 1}})


@pytest.fixture(scope="module")
def jina() -> CountingJina:
    return CountingJina()


@pytest.fixture(scope="module")
def session(jina: CountingJina) -> Playground:
    http = httpx.Client(transport=httpx.MockTransport(jina))
    return Playground(ConnectionSpec(), keys=ProviderKeys.of(JINAAI_APIKEY="test-key"),
                      jina_base_url="https://jina.test", http_client=http)


def a_search(n: int) -> SearchResult:
    request = SearchRequest("Docs", "cats", mode=SearchMode.KEYWORD, text_property="body")
    hits = tuple(Hit(rank=i + 1, uuid=f"u{i}", text="cat " * (i % 4 + 1) + str(i), score=1.0) for i in range(n))
    return SearchResult(request=request, hits=hits, latency_ms=1.0)


top_ns = st.integers(-3, 30) | st.booleans() | st.floats(allow_nan=True, allow_infinity=True) | st.none()


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURE_AND_SLOW)
@given(n=st.integers(0, 8), top_n=top_ns, local=st.booleans())
def test_any_top_n_reranks_or_is_refused_before_any_call(
    session: Playground, jina: CountingJina, n: int, top_n: Any, local: bool
) -> None:
    session.cache.clear()
    before = jina.calls
    choice = RerankChoice("local", LOCAL_MODEL) if local else RerankChoice("jina", "jina-reranker-v3")
    try:
        run = session.rerank(a_search(n), choice, top_n)
    except InvalidInput as err:
        assert err.message
        assert jina.calls == before, f"refused top_n={top_n!r} only after calling Jina"
        return
    assert n >= 1 and type(top_n) is int and top_n >= 1
    assert sorted(run.result.order) == list(range(n))
    assert run.movement.summary.top_n == min(top_n, n)
    assert jina.calls == before + (0 if local else 1)


reranker_names = st.sampled_from(["jina", "local", "Jina", "", "weaviate module"]) | st.text(max_size=10)
model_names_ = st.sampled_from([*model_names(), "", "jina-reranker-v9", "LOCAL-WORDLLAMA"]) | st.text(max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURE_AND_SLOW)
@given(reranker=reranker_names, model=model_names_)
def test_any_reranker_and_model_name_reranks_or_is_refused(session: Playground, reranker: str, model: str) -> None:
    assume(reranker != "weaviate_module")  # needs a server; covered in tests/integration
    search = a_search(4)
    try:
        run = session.rerank(search, RerankChoice(reranker, model), 3)
    except InvalidInput as err:
        assert err.message
        return
    assert reranker in ("jina", "local")
    assert model in model_names()
    assert sorted(run.result.order) == list(range(4))
    partial = session.compare(search, [RerankChoice(reranker, model), RerankChoice("local", LOCAL_MODEL)])
    assert RerankChoice("local", LOCAL_MODEL).label in partial.results


@settings(max_examples=100, deadline=None, suppress_health_check=FIXTURE_AND_SLOW)
@given(choices=st.lists(st.builds(RerankChoice, reranker_names, model_names_), max_size=7))
def test_compare_takes_one_to_five_choices_and_never_raises_for_one_of_them(
    session: Playground, choices: list[RerankChoice]
) -> None:
    assume(all(c.reranker != "weaviate_module" for c in choices))
    search = a_search(3)
    distinct = list(dict.fromkeys(choices))
    if not 1 <= len(distinct) <= 5:
        with pytest.raises(InvalidInput, match="between one and 5 models"):
            session.compare(search, choices)
        return
    labels = {c.label for c in distinct}
    if len(labels) != len(distinct):
        with pytest.raises(InvalidInput, match="same name"):
            session.compare(search, choices)
        return
    run = session.compare(search, choices)
    assert set(run.results) | set(run.errors) == labels
    assert not set(run.results) & set(run.errors)
    assert all(isinstance(e, ProviderError) for e in run.errors.values())
    for result in run.results.values():
        assert sorted(result.order) == [0, 1, 2]


def test_without_a_key_a_jina_model_says_key_required(jina: CountingJina) -> None:
    keyless = Playground(ConnectionSpec(), jina_base_url="https://jina.test",
                         http_client=httpx.Client(transport=httpx.MockTransport(jina)))
    before = jina.calls
    with pytest.raises(KeyRequired, match="needs a Jina API key"):
        keyless.rerank(a_search(3), RerankChoice("jina", "jina-reranker-v3"), 3)
    assert jina.calls == before
    assert math.isfinite(keyless.rerank(a_search(3), RerankChoice("local", LOCAL_MODEL), 3).result.ranked[0].score)
