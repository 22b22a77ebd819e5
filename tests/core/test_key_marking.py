"""Options that would fail for want of a key are known before the click (issue 19, point 7): the Weaviate module
path with no key anywhere this session knows of needs a key and gets no token estimate."""

from __future__ import annotations

from rerank_playground.connection import ConnectionSpec
from rerank_playground.keys import ProviderKeys
from rerank_playground.models import Hit, SearchRequest, SearchResult
from rerank_playground.playground import Playground
from rerank_playground.rerankers import get_provider
from rerank_playground.rerankers.choice import RerankChoice

MODULE = get_provider("weaviate_module")
JINA = get_provider("jina")
LOCAL = get_provider("local")
USER_KEY = "jina_user_key_0123456789abcdef"


def playground(key: str | None = None) -> Playground:
    return Playground(ConnectionSpec(), keys=ProviderKeys.of(JINAAI_APIKEY=key) if key else None,
                      jina_base_url="https://jina.test")


def with_a_search(pg: Playground) -> SearchRequest:
    request = SearchRequest("Docs", "cat", limit=3, text_property="body")
    hits = tuple(Hit(rank=i + 1, uuid=f"u{i}", text=f"text {i}") for i in range(3))
    pg._searches[request] = SearchResult(request=request, hits=hits, latency_ms=1.0)  # noqa: SLF001
    return request


def test_no_key_anywhere_marks_the_module_and_the_jina_path_but_not_the_local_baseline() -> None:
    pg = playground()
    assert pg.no_key_known(MODULE) and not pg.key_missing(MODULE)  # it is optional, yet nothing can pay
    assert pg.no_key_known(JINA) and not pg.no_key_known(LOCAL)
    request = with_a_search(pg)
    module_choice = RerankChoice("weaviate_module", "jina-reranker-v2-base-multilingual")
    assert pg.estimate_tokens(request, [module_choice]) is None  # estimate nothing


def test_the_module_is_ready_once_a_call_showed_the_server_has_its_own_key() -> None:
    pg = playground()
    pg.module_key = "server"  # learned from a call that succeeded without our header
    assert not pg.no_key_known(MODULE)


def test_the_module_is_ready_when_this_app_sends_a_key_to_the_weaviate() -> None:
    pg = playground(USER_KEY)  # a user's key goes to the Weaviate they connect to
    assert not pg.no_key_known(MODULE) and not pg.no_key_known(JINA)
