"""The demo's judged query sets (qrels), built deterministically from the demo data; kept in ``data/judgements.json``.

How a set is built (``scripts/build_judgements.py`` regenerates the file):

1. **Queries** come from passage content, not from a title or an answer. For each query a seeded random choice picks
   a source document (DemoWiki: one passage per article, 25 articles; DemoJeopardy: 25 clues). The query is the
   source's first :data:`QUERY_TERMS` *key terms* (DemoWiki 3, DemoJeopardy 2): words of its text (DemoWiki: the
   passage; DemoJeopardy: the clue) in reading order, occurring in a band of document frequencies (:data:`DF_BAND`),
   lower-cased, at least 4 letters, not a stopword (:data:`STOPWORDS`), not a number, and not a word of what the
   query must not give away (DemoWiki: the article title and section heading; DemoJeopardy: the answer and the
   category). A word counts as "the same word" with or without a final ``s``.
2. **Grades** follow a rule over the text the reranker reads (the ``text`` property: "title. section. passage", or
   "Category. clue Answer: response"), the same for every document of the collection (:func:`grade`):

   - 3: the source document;
   - 2: a document containing every key term (DemoJeopardy: or another clue with the same answer);
   - 1: a document containing at least two key terms (:data:`MIN_SHARED_FOR_1`);
   - 0: anything else.

   "Contains a key term" means the term is one of the document's words (lower-cased runs of letters and digits,
   as Weaviate's ``word`` tokenization splits them), with or without a final ``s``.
3. **Pooling.** Every document the rule grades 1 or more is in the file (found over the whole collection, so recall
   has its true denominator). Grade-0 rows are written for the pool: the top :data:`POOL_DEPTH` of keyword, vector
   and hybrid retrieval (K = 50) and of the local baseline reranker over the hybrid candidates
   (:func:`pool_for`, run against a Weaviate loaded with the demo). So every document those systems show in their
   top 20 is judged, and "relevant" is never confused with "unjudged".
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rerank_playground.demo.datasets import (
    DEMO_JEOPARDY,
    DEMO_WIKI,
    RERANK_PROPERTY,
    DemoObject,
    demo_objects,
    jeopardy_objects,
    wiki_objects,
)

if TYPE_CHECKING:  # pragma: no cover
    import weaviate

JUDGEMENTS_FILE = Path(__file__).resolve().parents[1] / "data" / "judgements.json"
JUDGEMENTS_SEED = 20261207
QUERIES_PER_COLLECTION = 25
QUERY_TERMS = {"DemoWiki": 3, "DemoJeopardy": 2}  # key terms per query (short clues: two words leave headroom)
SHARED_FOR_2 = 2  # DemoWiki: key terms another passage of the article must share for grade 2
POOL_DEPTH = 20  # top documents of each pooled system that get judged
POOL_CANDIDATES = 50  # K: candidates retrieved for pooling (the evaluation's default K)
MIN_KEY_TERM_LETTERS = 4
MIN_SHARED_FOR_1 = 2  # grade 1: at least two key terms (one shared word is not enough to be on topic)
# A key term is a word neither unique to its document nor everywhere: it must occur in this many of the collection's
# documents (low, high), so that retrieval has to tell documents apart and a query has more than one answer.
DF_BAND = {DEMO_WIKI.name: (5, 200), DEMO_JEOPARDY.name: (3, 50)}

# Common English function words and query-neutral verbs; a key term is never one of these.
STOPWORDS = frozenset(
    """
    a about above after again against all also although among an and another any are around as at be because been
    before being below between both but by can could did does doing done down during each either even ever every
    few first for from further had has have having he her here hers herself him himself his how however i if in
    into is it its itself just known later least less like made make many may more most much must near neither
    never next no nor not now of off often on once one only onto or other others our ours out over own part same
    several shall she should since some such than that the their theirs them themselves then there these they this
    those though through thus to too toward towards under until upon used using very was were what when where
    whether which while who whom whose why will with within without would yet you your also became become becomes
    called include includes including known within well still much various called based term terms name named
    likewise whenever always necessary shown given comes last describe describes explores examined examines begun
    identify identified seen give gives followed earlier prior refers means meaning case cases usually generally
    particularly especially certain large small great greater majority number numbers another came come took make
    makes says said show shows
    """.split()  # noqa: SIM905 - a word list reads better as text
)

_WORD = re.compile(r"[^\W_]+")
_WS = re.compile(r"\s+")
_PAREN = re.compile(r"\([^)]*\)")


@dataclass(frozen=True)
class Judgement:
    query: str
    collection: str
    doc_id: str  # the object's uuid
    grade: int  # 0..3


@dataclass(frozen=True)
class DemoQuery:
    """One query of a demo set and what its grades are decided by."""

    collection: str
    text: str  # the key terms joined by spaces
    terms: tuple[str, ...]
    source: str  # uuid of the document the query was built from (grade 3)


def load_judgements(path: Path = JUDGEMENTS_FILE) -> list[Judgement]:
    return [Judgement(**row) for row in json.loads(path.read_text(encoding="utf-8"))]


# ------------------------------------------------------------------------------------------------- words


def _stem(word: str) -> str:
    """The "same word" key: lower case, without one final ``s`` (fossil = fossils)."""
    word = word.casefold()
    return word[:-1] if len(word) > MIN_KEY_TERM_LETTERS and word.endswith("s") else word


def words(text: str) -> set[str]:
    """The document's words as the rule compares them (see the module docstring)."""
    return {_stem(w) for w in _WORD.findall(text)}


@lru_cache(maxsize=4)
def document_frequency(collection: str) -> dict[str, int]:
    """word -> how many of the collection's documents have it in their ``text`` (as :func:`words` splits it)."""
    counts: Counter[str] = Counter()
    for obj in demo_objects(collection):
        counts.update(words(obj.text))
    return dict(counts)


def key_terms(collection: str, text: str, exclude: Iterable[str], n: int | None = None) -> tuple[str, ...]:
    """The first ``n`` key terms of ``text`` (rule 1 of the module docstring), lower-cased, in reading order."""
    n = QUERY_TERMS[collection] if n is None else n
    banned = {_stem(w) for w in exclude}
    low, high = DF_BAND[collection]
    df = document_frequency(collection)
    out: list[str] = []
    seen: set[str] = set()
    for raw in _WORD.findall(text):
        word = raw.casefold()
        stem = _stem(word)
        if (
            len(word) < MIN_KEY_TERM_LETTERS
            or not word.isalpha()
            or word in STOPWORDS
            or stem in banned
            or stem in seen
            or not low <= df.get(stem, 0) <= high
        ):
            continue
        seen.add(stem)
        out.append(word)
        if len(out) == n:
            break
    return tuple(out)


def shared_terms(query: DemoQuery, obj: DemoObject) -> int:
    """How many of the query's key terms are words of the document's ``text``."""
    doc = words(obj.text)
    return sum(_stem(t) in doc for t in query.terms)


def clean_answer(answer: str) -> str:
    """A Jeopardy answer compared as the rule compares it: no parentheses, quotes or leading article."""
    text = _PAREN.sub(" ", answer).replace('"', " ")
    text = re.sub(r"^(a|an|the)\s+", "", _WS.sub(" ", text).strip(), flags=re.IGNORECASE)
    return text.strip(" ,.").casefold()


# ------------------------------------------------------------------------------------------------- grades


def grade(query: DemoQuery, obj: DemoObject, source: DemoObject) -> int:
    """The grade of ``obj`` for ``query`` (rule 2 of the module docstring); ``source`` is the query's source."""
    if obj.uuid == query.source:
        return 3
    if query.collection == DEMO_JEOPARDY.name and clean_answer(obj.properties["answer"]) == clean_answer(
        source.properties["answer"]
    ):
        return 2
    shared = shared_terms(query, obj)
    return 2 if shared == len(query.terms) else 1 if shared >= MIN_SHARED_FOR_1 else 0


# ------------------------------------------------------------------------------------------------ queries


def _wiki_queries(rng: random.Random, n_queries: int) -> Iterator[DemoQuery]:
    by_article: dict[str, list[DemoObject]] = {}
    for obj in wiki_objects():
        by_article.setdefault(obj.properties["title"], []).append(obj)
    titles = sorted(by_article)
    rng.shuffle(titles)
    picked = 0
    for title in titles:
        if picked >= n_queries:
            break
        passages = list(by_article[title])
        rng.shuffle(passages)
        for obj in passages:
            props = obj.properties
            terms = key_terms(DEMO_WIKI.name, props["passage"], [*words(props["title"]), *words(props["section"])])
            if len(terms) == QUERY_TERMS[DEMO_WIKI.name]:
                picked += 1
                yield DemoQuery(DEMO_WIKI.name, " ".join(terms), terms, obj.uuid)
                break


def _jeopardy_queries(rng: random.Random, n_queries: int) -> Iterator[DemoQuery]:
    clues = [
        o
        for o in jeopardy_objects()
        if not re.search(r"\b(seen|shown|heard) here\b|clue crew|video", o.properties["question"], re.I)
    ]
    rng.shuffle(clues)
    seen: set[str] = set()
    picked = 0
    for obj in clues:
        if picked >= n_queries:
            break
        props = obj.properties
        terms = key_terms(DEMO_JEOPARDY.name, props["question"], [*words(props["answer"]), *words(props["category"])])
        text = " ".join(terms)
        if len(terms) == QUERY_TERMS[DEMO_JEOPARDY.name] and text not in seen:
            seen.add(text)
            picked += 1
            yield DemoQuery(DEMO_JEOPARDY.name, text, terms, obj.uuid)


def build_queries(seed: int = JUDGEMENTS_SEED, per_collection: int = QUERIES_PER_COLLECTION) -> list[DemoQuery]:
    """The demo queries, deterministically: the same seed and data give the same list."""
    return [
        *_wiki_queries(random.Random(seed), per_collection),
        *_jeopardy_queries(random.Random(seed + 1), per_collection),
    ]


# ------------------------------------------------------------------------------------------------ judging


def graded_documents(query: DemoQuery) -> dict[str, int]:
    """Every document of the query's collection the rule grades 1 or more, uuid -> grade."""
    objects = demo_objects(query.collection)
    source = next(o for o in objects if o.uuid == query.source)
    out: dict[str, int] = {}
    for obj in objects:
        g = grade(query, obj, source)
        if g > 0:
            out[obj.uuid] = g
    return out


def build_judgements(queries: Sequence[DemoQuery], pools: dict[str, Sequence[str]]) -> list[dict[str, Any]]:
    """The qrels rows: every document graded 1+ and every pooled document (``pools``: query text -> uuids), by the
    rule. Rows per query: graded documents in collection order, then the pool's grade-0 documents in pool order."""
    rows: list[dict[str, Any]] = []
    for query in queries:
        graded = graded_documents(query)
        for doc_id, g in graded.items():
            rows.append({"query": query.text, "collection": query.collection, "doc_id": doc_id, "grade": g})
        for doc_id in dict.fromkeys(pools.get(query.text, ())):
            if doc_id not in graded:
                rows.append({"query": query.text, "collection": query.collection, "doc_id": doc_id, "grade": 0})
    return rows


def judgements_json(rows: list[dict[str, Any]]) -> str:
    """The exact text written to ``judgements.json`` (one row per line, stable across runs)."""
    lines = ",\n".join("  " + json.dumps(row, ensure_ascii=False, sort_keys=True) for row in rows)
    return "[\n" + lines + "\n]\n"


# ------------------------------------------------------------------------------------------------ pooling


def pool_for(
    client: weaviate.WeaviateClient,
    query: DemoQuery,
    *,
    depth: int = POOL_DEPTH,
    candidates: int = POOL_CANDIDATES,
    search_fn: Callable[..., Any] | None = None,
) -> list[str]:
    """The pooled documents of ``query``: the top ``depth`` of keyword, vector and hybrid retrieval (``candidates``
    retrieved, BM25 over the rerank property, local query vectors) and of the local baseline reranker over the
    hybrid candidates, in that order, without repeats."""
    from rerank_playground.embedders import get_local_embedder
    from rerank_playground.models import SearchMode, SearchRequest
    from rerank_playground.rerankers.local import LocalReranker
    from rerank_playground.schema import describe_collection
    from rerank_playground.search import search

    info = describe_collection(client, query.collection)
    embedder = get_local_embedder()
    pooled: list[str] = []
    hybrid_hits: tuple[Any, ...] = ()
    for mode in (SearchMode.KEYWORD, SearchMode.VECTOR, SearchMode.HYBRID):
        request = SearchRequest(
            query.collection, query.text, mode=mode, limit=candidates, text_property=RERANK_PROPERTY, embedder="local"
        )
        result = (search_fn or search)(client, request, info, embedder=embedder)
        pooled += [h.uuid for h in result.hits[:depth]]
        if mode is SearchMode.HYBRID:
            hybrid_hits = result.hits
    reranked = LocalReranker(embedder).rerank(query.text, hybrid_hits)
    pooled += [hybrid_hits[d.index].uuid for d in reranked.ranked[:depth]] if hybrid_hits else []
    return list(dict.fromkeys(pooled))
