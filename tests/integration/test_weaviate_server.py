"""What the real weaviate-server does with a bring-your-own-vectors collection of 1,000 objects.

The corpus and its vectors are computed here, deterministically: pseudo-words from a fixed seed, and a
64-dimension hashed bag-of-words vector per text (so a query vector built the same way means something).
One collection per module keeps the suite fast; every query is checked against an independent
expectation (the unique term, the brute-force nearest neighbours, or the sub-searches themselves).
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest
import weaviate
from weaviate.classes.config import Configure, DataType, Property
from weaviate.classes.query import HybridFusion, MetadataQuery
from weaviate.util import generate_uuid5

from testkit.weaviate_data import connect, unique_collection_name
from weaviate_local.server import WeaviateEndpoint

pytestmark = pytest.mark.weaviate

N_DOCS = 1000
DIM = 64
UNIQUE_TERM = "zyxquokkaborealis"
UNIQUE_DOC = 417  # the only document that contains UNIQUE_TERM
PROBE_DOC = 123  # the document whose own vector is queried
# Hybrid runs each sub-search with at most QUERY_HYBRID_MAXIMUM_RESULTS (100 by default) candidates.
SUB_LIMIT = 100
ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)
FUSIONS = (HybridFusion.RANKED, HybridFusion.RELATIVE_SCORE)


# ------------------------------------------------------------------------------ corpus and vectors


def tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def embed(text: str) -> list[float]:
    """Hashed bag of words: each token adds +-1 to one of DIM buckets (md5, not Python's salted hash)."""
    vec = [0.0] * DIM
    for tok in tokens(text):
        digest = hashlib.md5(tok.encode()).digest()
        vec[digest[0] % DIM] += 1.0 if digest[1] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [v / norm for v in vec]


def cosine_distance(a: Sequence[float], b: Sequence[float]) -> float:
    return 1.0 - sum(x * y for x, y in zip(a, b, strict=True))


@dataclass(frozen=True)
class Doc:
    index: int
    uuid: str
    title: str
    body: str
    vector: list[float]


def make_corpus() -> list[Doc]:
    rng = random.Random(20260117)
    syllables = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "ve", "da", "shi", "gu", "ba", "ze", "fo"]
    vocab = sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(2, 3))) for _ in range(600)})
    docs = []
    for i in range(N_DOCS):
        title_words = rng.sample(vocab, rng.randint(3, 6))
        body_words = [rng.choice(vocab) for _ in range(rng.randint(15, 40))]
        if i == UNIQUE_DOC:
            body_words.insert(len(body_words) // 2, UNIQUE_TERM)
        title, body = " ".join(title_words).capitalize(), " ".join(body_words) + "."
        docs.append(Doc(i, str(generate_uuid5(f"doc-{i}")), title, body, embed(f"{title} {body}")))
    return docs


CORPUS = make_corpus()
BY_UUID = {d.uuid: d for d in CORPUS}


# ------------------------------------------------------------------------------------ the collection


@pytest.fixture(scope="module")
def client(weaviate_server: WeaviateEndpoint) -> Iterator[weaviate.WeaviateClient]:
    c = connect(weaviate_server)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture(scope="module")
def collection(client: weaviate.WeaviateClient):  # type: ignore[no-untyped-def]
    name = unique_collection_name("Synthetic")
    col = client.collections.create(
        name,
        properties=[
            Property(name="title", data_type=DataType.TEXT),
            Property(name="body", data_type=DataType.TEXT),
        ],
        vector_config=Configure.Vectors.self_provided(),
    )
    try:
        with col.batch.fixed_size(batch_size=200, concurrent_requests=2) as batch:
            for d in CORPUS:
                batch.add_object(properties={"title": d.title, "body": d.body}, uuid=d.uuid, vector=d.vector)
        assert col.batch.failed_objects == []
        yield col
    finally:
        client.collections.delete(name)


def uuids(objects: Sequence[object]) -> list[str]:
    return [str(o.uuid) for o in objects]  # type: ignore[attr-defined]


def assert_same_ranking(
    got: Sequence[str], expected: Sequence[str], score_of: dict[str, float], what: str
) -> None:
    """``got`` ranks like ``expected`` up to ties: same score at every rank, and the same documents once
    the last (possibly cut) group of tied scores is left out."""
    assert len(got) == len(expected), what
    got_scores = [round(score_of[u], 5) for u in got]
    exp_scores = [round(score_of[u], 5) for u in expected]
    assert got_scores == exp_scores, f"{what}: scores by rank differ"
    last = exp_scores[-1]
    assert {u for u in got if round(score_of[u], 5) != last} == {
        u for u in expected if round(score_of[u], 5) != last
    }, f"{what}: different documents"


# -------------------------------------------------------------------------------------------- tests


def test_import_counts_every_object(collection) -> None:  # type: ignore[no-untyped-def]
    assert collection.aggregate.over_all(total_count=True).total_count == N_DOCS
    stored = collection.query.fetch_object_by_id(CORPUS[7].uuid, include_vector=True)
    assert stored is not None
    assert stored.properties == {"title": CORPUS[7].title, "body": CORPUS[7].body}
    assert stored.vector["default"] == pytest.approx(CORPUS[7].vector, abs=1e-6)


def test_bm25_unique_term_ranks_its_document_first(collection) -> None:  # type: ignore[no-untyped-def]
    res = collection.query.bm25(
        query=f"{UNIQUE_TERM} {CORPUS[UNIQUE_DOC].title.split()[0]}",
        query_properties=["title", "body"],
        limit=10,
        return_metadata=MetadataQuery(score=True),
    )
    assert uuids(res.objects)[0] == CORPUS[UNIQUE_DOC].uuid
    scores = [o.metadata.score for o in res.objects]
    assert scores == sorted(scores, reverse=True)
    # The unique term alone matches exactly one document.
    only = collection.query.bm25(query=UNIQUE_TERM, query_properties=["title", "body"], limit=10)
    assert uuids(only.objects) == [CORPUS[UNIQUE_DOC].uuid]


def test_near_vector_matches_brute_force(collection) -> None:  # type: ignore[no-untyped-def]
    probe = CORPUS[PROBE_DOC]
    res = collection.query.near_vector(
        near_vector=probe.vector, limit=10, return_metadata=MetadataQuery(distance=True)
    )
    got = uuids(res.objects)
    assert got[0] == probe.uuid
    assert res.objects[0].metadata.distance == pytest.approx(0.0, abs=1e-5)
    exact = {d.uuid: cosine_distance(probe.vector, d.vector) for d in CORPUS}
    for obj in res.objects:  # the server's distance is the cosine distance we compute
        assert obj.metadata.distance == pytest.approx(exact[str(obj.uuid)], abs=1e-4)
    expected = sorted(exact, key=exact.__getitem__)[:10]
    assert_same_ranking(got, expected, {u: -exact[u] for u in exact}, "near_vector vs brute force")


@pytest.fixture(scope="module")
def query_pair(collection):  # type: ignore[no-untyped-def]
    """A several-word query, its hashed vector, and the two sub-search rankings hybrid fuses."""
    text = " ".join(CORPUS[PROBE_DOC].body.split()[:4])
    vector = embed(text)
    bm25 = collection.query.bm25(
        query=text,
        query_properties=["title", "body"],
        limit=SUB_LIMIT,
        return_metadata=MetadataQuery(score=True),
    )
    near = collection.query.near_vector(
        near_vector=vector, limit=SUB_LIMIT, return_metadata=MetadataQuery(distance=True)
    )
    assert len(bm25.objects) >= 20 and len(near.objects) == SUB_LIMIT
    return text, vector, bm25.objects, near.objects


@pytest.mark.parametrize("fusion", FUSIONS, ids=lambda f: f.name)
def test_hybrid_alpha_zero_is_the_bm25_order(collection, query_pair, fusion) -> None:  # type: ignore[no-untyped-def]
    text, vector, bm25, _ = query_pair
    res = collection.query.hybrid(
        query=text, vector=vector, alpha=0.0, fusion_type=fusion, query_properties=["title", "body"], limit=20
    )
    bm25_score = {str(o.uuid): o.metadata.score for o in bm25}
    assert_same_ranking(uuids(res.objects), uuids(bm25)[:20], bm25_score, f"hybrid alpha=0 {fusion.name}")


@pytest.mark.parametrize("fusion", FUSIONS, ids=lambda f: f.name)
def test_hybrid_alpha_one_is_the_near_vector_order(collection, query_pair, fusion) -> None:  # type: ignore[no-untyped-def]
    text, vector, _, near = query_pair
    res = collection.query.hybrid(
        query=text, vector=vector, alpha=1.0, fusion_type=fusion, query_properties=["title", "body"], limit=20
    )
    similarity = {str(o.uuid): -o.metadata.distance for o in near}
    assert_same_ranking(uuids(res.objects), uuids(near)[:20], similarity, f"hybrid alpha=1 {fusion.name}")


@pytest.mark.parametrize("fusion", FUSIONS, ids=lambda f: f.name)
def test_hybrid_results_come_from_the_two_sub_searches(collection, query_pair, fusion) -> None:  # type: ignore[no-untyped-def]
    text, vector, bm25, near = query_pair
    union = set(uuids(bm25)) | set(uuids(near))
    seen = {}
    for alpha in ALPHAS:
        res = collection.query.hybrid(
            query=text,
            vector=vector,
            alpha=alpha,
            fusion_type=fusion,
            query_properties=["title", "body"],
            limit=20,
            return_metadata=MetadataQuery(score=True),
        )
        got = uuids(res.objects)
        assert len(got) == 20 and len(set(got)) == 20
        assert set(got) <= union, f"alpha={alpha}: results outside both sub-searches"
        scores = [o.metadata.score for o in res.objects]
        assert scores == sorted(scores, reverse=True)
        seen[alpha] = got
    # The blend moves: the middle differs from both ends, and each end agrees with its own sub-search.
    assert seen[0.5] != seen[0.0] and seen[0.5] != seen[1.0]
    assert len(set(seen[0.0]) & set(uuids(bm25)[:20])) >= 15
    assert len(set(seen[1.0]) & set(uuids(near)[:20])) >= 15


@pytest.mark.parametrize("fusion", FUSIONS, ids=lambda f: f.name)
def test_hybrid_blend_puts_both_winners_on_top(collection, fusion) -> None:  # type: ignore[no-untyped-def]
    """Keyword side: only the unique-term document matches. Vector side: the probe document's own vector.
    For any 0 < alpha < 1 each winner gets its side's full share and every other document only part of
    the vector share, so the top two are exactly the two winners; alpha 0 and 1 keep one side only."""
    target, probe = CORPUS[UNIQUE_DOC], CORPUS[PROBE_DOC]
    kw = dict(query=UNIQUE_TERM, vector=probe.vector, fusion_type=fusion, query_properties=["title", "body"])
    for alpha in (0.25, 0.5, 0.75):
        res = collection.query.hybrid(alpha=alpha, limit=10, **kw)
        assert set(uuids(res.objects)[:2]) == {target.uuid, probe.uuid}, f"alpha={alpha}"
    assert uuids(collection.query.hybrid(alpha=0.0, limit=10, **kw).objects) == [target.uuid]
    assert uuids(collection.query.hybrid(alpha=1.0, limit=10, **kw).objects)[0] == probe.uuid
