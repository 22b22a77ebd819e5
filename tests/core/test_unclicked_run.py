"""One rule for what may run without a click (issue 18, point 8): the search part (a query embedded by a paid
API spends tokens) and the rerank part (paid providers). Used by the Search and Compare autoruns and Present's
prefetch."""

from __future__ import annotations

from rerank_playground.autorun import UnclickedRun, unclicked_run
from rerank_playground.models import CollectionInfo, PropertyInfo, SearchMode, SearchRequest
from rerank_playground.rerankers.choice import RerankChoice

LOCAL = RerankChoice("local", "local-wordllama")
JINA = RerankChoice("jina", "jina-reranker-v3.5")


def info(vectorizer: str | None) -> CollectionInfo:
    return CollectionInfo("Docs", 3, (PropertyInfo("body", "text"),), vectorizer, (), None, None)


def request(mode: SearchMode, embedder: str = "local") -> SearchRequest:
    return SearchRequest("Docs", "bees", mode=mode, embedder=embedder)


def test_free_search_runs_with_the_free_rerankers_and_the_paid_ones_wait() -> None:
    plan = unclicked_run(request(SearchMode.HYBRID), info("none"), [JINA, LOCAL, JINA])
    assert plan == UnclickedRun(search=True, free=(LOCAL,), waiting=(JINA,))
    assert not plan.complete
    assert unclicked_run(request(SearchMode.VECTOR), info("none"), [LOCAL]).complete


def test_a_query_embedded_by_jinas_api_runs_nothing() -> None:
    for mode in (SearchMode.VECTOR, SearchMode.HYBRID):
        plan = unclicked_run(request(mode, "jina:jina-embeddings-v3"), info("none"), [LOCAL, JINA])
        assert plan == UnclickedRun(search=False, free=(), waiting=(LOCAL, JINA))


def test_a_collection_with_an_api_vectorizer_runs_nothing_except_keyword_search() -> None:
    assert not unclicked_run(request(SearchMode.HYBRID, "auto"), info("text2vec-jinaai"), [LOCAL]).search
    assert not unclicked_run(request(SearchMode.VECTOR, "auto"), info("text2vec-openai"), [LOCAL]).search
    assert unclicked_run(request(SearchMode.KEYWORD, "auto"), info("text2vec-openai"), [LOCAL]).complete
    assert unclicked_run(request(SearchMode.HYBRID, "auto"), info("text2vec-transformers"), [LOCAL]).complete
