"""Trust for shared deployments, the pure parts: bound keys, locked mode, budgets, key-shaped text.

The local servers' per-install key is tested with the launcher that makes it (tests/weaviate_local/test_server.py)."""

from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import httpx
import pytest

from rerank_playground.connection import ConnectionSpec, module_headers, spec_from_url, withheld_keys
from rerank_playground.deployment import (
    DEFAULT_DEPLOYMENT_BUDGET,
    DEFAULT_SESSION_BUDGET,
    SPECIAL_TOKENS_PER_CALL,
    SPECIAL_TOKENS_PER_DOCUMENT,
    Budgets,
    SpendGuard,
    TokenMeter,
    deployment_from_settings,
    estimate_rerank_tokens,
    rerank_token_bound,
)
from rerank_playground.errors import BudgetExhausted, HostNotAllowed, InvalidInput
from rerank_playground.keys import ApiKey, ProviderKeys, http_endpoint, looks_like_key
from rerank_playground.models import Hit
from rerank_playground.outcomes import TokenEstimate
from rerank_playground.playground import Playground
from rerank_playground.rerankers.choice import RerankChoice
from rerank_playground.rerankers.jina import JinaReranker
from rerank_playground.rerankers.metered import MeteredReranker

WV_KEY = "wv-operator-0a1b2c3d4e5f"
JINA_KEY = "jina_operator0a1b2c3d4e5f6a7b8c9d"
SETTINGS = {
    "WEAVIATE_URL": "http://10.0.0.5:8080",
    "WEAVIATE_GRPC_PORT": "50051",
    "WEAVIATE_API_KEY": WV_KEY,
    "JINAAI_APIKEY": JINA_KEY,
    "JINA_BASE_URL": "https://jina.internal",
}


# ------------------------------------------------------------------------------------ bound keys


def test_operator_keys_go_to_the_configured_endpoints_only() -> None:
    dep = deployment_from_settings(SETTINGS)
    assert dep.spec.weaviate_secret == WV_KEY
    jina = dep.jina_key
    assert jina is not None and jina.is_operator
    assert jina.value_for(http_endpoint("https://jina.internal")) == JINA_KEY
    keys = ProviderKeys.of(JINAAI_APIKEY=jina)
    assert module_headers(dep.spec, keys) == {"X-JinaAI-Api-Key": JINA_KEY}  # the operator's own Weaviate
    for other in (
        replace(dep.spec, http_port=8081),  # same host, another port
        replace(dep.spec, grpc_port=50052),  # the gRPC port is part of the binding
        replace(dep.spec, http_host="10.0.0.6"),
        replace(dep.spec, grpc_host="10.0.0.6"),
        replace(dep.spec, http_secure=True),  # https on the same port is another endpoint
        replace(dep.spec, kind="custom", http_host="localhost"),  # bound to what was written, not resolved
        ConnectionSpec(kind="cloud", cluster_url="https://evil.weaviate.cloud", weaviate_api_key=dep.spec.weaviate_key),
    ):
        spec = other
        assert spec.weaviate_secret is None and module_headers(spec, keys) == {}
        assert withheld_keys(spec, keys) == ("WEAVIATE_API_KEY", "JINAAI_APIKEY")
        assert WV_KEY not in repr(spec) and JINA_KEY not in repr(spec) and JINA_KEY not in repr(jina)
        assert JINA_KEY not in repr(keys) and JINA_KEY not in str(keys)
    assert jina.value_for("http://attacker:80") is None
    # the REST probe alone goes to the REST endpoint: the bound one is enough for it, not for the client
    grpc_elsewhere = replace(dep.spec, grpc_port=50052)
    assert grpc_elsewhere.rest_probe_secret == WV_KEY and grpc_elsewhere.weaviate_secret is None
    assert replace(dep.spec, http_port=8081).rest_probe_secret is None


def test_keys_the_user_typed_go_where_the_user_says() -> None:
    spec = ConnectionSpec(kind="custom", http_host="anywhere.example", weaviate_api_key="mine-123456")
    keys = ProviderKeys.of(JINAAI_APIKEY="jina_mine_0123456789abcdef")
    assert spec.weaviate_secret == "mine-123456"
    assert module_headers(spec, keys) == {"X-JinaAI-Api-Key": "jina_mine_0123456789abcdef"}
    assert withheld_keys(spec, keys) == ()
    assert ApiKey.user("  ") is None and ApiKey.operator("", ["http://a:1"]) is None


def test_a_cloud_deployment_binds_its_key_to_the_cluster() -> None:
    dep = deployment_from_settings({"WEAVIATE_URL": "https://abc.weaviate.cloud", "WEAVIATE_API_KEY": WV_KEY})
    assert dep.spec.kind == "cloud" and dep.spec.weaviate_secret == WV_KEY
    same = ConnectionSpec(kind="cloud", cluster_url="abc.weaviate.cloud", weaviate_api_key=dep.spec.weaviate_key)
    assert same.weaviate_secret == WV_KEY  # the scheme-less form of the same URL
    other = replace(same, cluster_url="https://abd.weaviate.cloud")
    assert other.weaviate_secret is None


def test_the_playground_uses_an_operator_jina_key_only_for_its_jina_base_url() -> None:
    dep = deployment_from_settings(SETTINGS)
    pg = Playground(dep.spec, jina_base_url=dep.jina_base_url)
    pg.set_jina_key(dep.jina_key)
    assert pg.has_jina_key and pg.jina_key_is_operator and pg.module_header_key == "operator"
    elsewhere = Playground(spec_from_url("http://127.0.0.1:9"), jina_base_url="https://other.jina")
    elsewhere.set_jina_key(dep.jina_key)
    assert not elsewhere.has_jina_key and elsewhere.module_header_key is None
    elsewhere.set_jina_key("jina_typed_by_user_0123456789")  # a plain string is the user's own key
    assert elsewhere.has_jina_key and elsewhere.module_header_key == "user"


# ------------------------------------------------------------------------------------ locked mode


def test_unlocked_by_default() -> None:
    dep = deployment_from_settings(SETTINGS)
    assert not dep.policy.restricted
    dep.policy.check(spec_from_url("http://192.168.1.1:9200"))


@pytest.mark.parametrize(
    ("settings", "allowed", "refused"),
    [
        ({"RERANK_PLAYGROUND_LOCKED": "true"}, ["http://10.0.0.5:8080"], ["http://10.0.0.5:8081", "http://169.254.169.254:80"]),
        ({"RERANK_PLAYGROUND_ALLOWED_HOSTS": "search.internal, 10.0.0.7:9090"},
         ["http://10.0.0.5:8080", "http://search.internal:8080", "https://SEARCH.internal:443", "http://10.0.0.7:9090"],
         ["http://10.0.0.7:8080", "http://127.0.0.1:8080", "http://search.internal.evil:8080"]),
    ],
    ids=["locked", "allow-list"],
)
def test_a_locked_deployment_refuses_other_hosts(
    settings: dict[str, str], allowed: list[str], refused: list[str]
) -> None:
    dep = deployment_from_settings({**SETTINGS, **settings})
    assert dep.policy.restricted
    for url in allowed:
        spec = spec_from_url(url, 9090 if "10.0.0.7" in url else 50051)  # host:port entries cover gRPC too
        dep.policy.check(spec)
    for url in refused:
        with pytest.raises(HostNotAllowed, match="locked to the configured Weaviate"):
            dep.policy.check(spec_from_url(url))


def test_a_locked_deployment_checks_the_grpc_host_too() -> None:
    dep = deployment_from_settings({**SETTINGS, "RERANK_PLAYGROUND_ALLOWED_HOSTS": "search.internal"})
    sneaky = replace(spec_from_url("http://search.internal:8080"), kind="custom", grpc_host="169.254.169.254")
    with pytest.raises(HostNotAllowed, match="169.254.169.254"):
        dep.policy.check(sneaky)


def test_a_locked_playground_refuses_before_any_network_call() -> None:
    """The refused host is a listener that would record a connection: nothing may reach it."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.0)
    port = listener.getsockname()[1]
    try:
        dep = deployment_from_settings({**SETTINGS, "RERANK_PLAYGROUND_LOCKED": "1"})
        pg = Playground(dep.spec, jina_base_url=dep.jina_base_url, policy=dep.policy)
        with pytest.raises(HostNotAllowed) as info:
            pg.connect(spec_from_url(f"http://127.0.0.1:{port}", port))
        assert "RERANK_PLAYGROUND_ALLOWED_HOSTS" in str(info.value)
        with pytest.raises(BlockingIOError):
            listener.accept()  # no connection attempt was made
    finally:
        listener.close()


# ------------------------------------------------------------------------------------ budgets


def test_budgets_default_finite_and_configurable() -> None:
    assert deployment_from_settings({}).budgets == Budgets(DEFAULT_SESSION_BUDGET, DEFAULT_DEPLOYMENT_BUDGET)
    dep = deployment_from_settings({"RERANK_PLAYGROUND_SESSION_TOKEN_BUDGET": "5_000",
                                    "RERANK_PLAYGROUND_DEPLOYMENT_TOKEN_BUDGET": "0"})
    assert dep.budgets == Budgets(5000, None)
    for bad in ("lots", "-5"):
        with pytest.raises(InvalidInput, match="RERANK_PLAYGROUND_SESSION_TOKEN_BUDGET"):
            deployment_from_settings({"RERANK_PLAYGROUND_SESSION_TOKEN_BUDGET": bad})


def test_the_estimate_is_query_plus_document_over_four_characters() -> None:
    assert estimate_rerank_tokens("abcd", ["x" * 8, ""]) == math.ceil(12 / 4) + math.ceil(4 / 4)
    assert estimate_rerank_tokens("q", ["y" * 10_000], max_chars=99) == math.ceil(100 / 4)


def _hits(n: int, text: str = "a cat on a mat " * 4) -> list[Hit]:
    return [Hit(rank=i + 1, uuid=f"u{i}", text=text) for i in range(n)]


def test_a_budget_stops_the_call_before_it_is_made_and_counts_what_jina_reports() -> None:
    calls: list[httpx.Request] = []
    client = _mock_jina(calls)
    hits = _hits(5)
    # The reservation is an upper bound: UTF-8 bytes of query + document per candidate, plus special tokens.
    bound = SPECIAL_TOKENS_PER_CALL + 5 * (3 + SPECIAL_TOKENS_PER_DOCUMENT + 60)
    assert rerank_token_bound("cat", [h.text for h in hits]) == bound
    guard = SpendGuard(budgets=Budgets(session=bound + 69, deployment=None), deployment=TokenMeter("deployment's"))
    reranker = MeteredReranker(JinaReranker(client, "k", "https://jina.test"), guard, operator_key=True)
    reranker.rerank("cat", hits, "jina-reranker-v3")
    assert guard.session.spent == 70 and guard.session.reserved == 0 and len(calls) == 1  # Jina's own count
    with pytest.raises(BudgetExhausted) as info:
        reranker.rerank("cat", hits, "jina-reranker-v3")  # 70 + bound > bound + 69
    assert len(calls) == 1  # refused before the call
    assert "browser tab's token budget" in str(info.value) and f"up to {bound:,}" in str(info.value)
    assert "upper bound" in str(info.value) and "your own Jina key" in str(info.value)
    own = MeteredReranker(JinaReranker(client, "k", "https://jina.test"), guard, operator_key=False)
    own.rerank("cat", hits, "jina-reranker-v3")  # the user's own key: counted, never limited
    assert guard.own.spent == 70 and guard.spent == 140 and len(calls) == 2


def test_the_deployment_budget_is_shared_and_concurrent_calls_cannot_overshoot_together() -> None:
    shared = TokenMeter("deployment's")
    budgets = Budgets(session=None, deployment=1000)
    sessions = [SpendGuard(budgets=budgets, deployment=shared) for _ in range(20)]

    def spend(guard: SpendGuard) -> bool:
        try:
            reservation = guard.reserve(100, operator_key=True)
        except BudgetExhausted as err:
            assert "deployment's token budget" in str(err)
            return False
        guard.settle(reservation, 100)
        return True

    with ThreadPoolExecutor(8) as pool:
        done = list(pool.map(spend, sessions))
    assert sum(done) == 10 and shared.spent == 1000 and shared.reserved == 0


def _mock_jina(calls: list[httpx.Request] | None = None) -> httpx.Client:
    def jina(request: httpx.Request) -> httpx.Response:
        if calls is not None:
            calls.append(request)
        docs = len(json.loads(request.content)["documents"])
        return httpx.Response(200, json={"results": [{"index": i, "relevance_score": 1 - i / 100} for i in range(docs)],
                                         "usage": {"total_tokens": 70}})

    return httpx.Client(transport=httpx.MockTransport(jina))


def test_estimates_before_the_search_ran_scale_an_earlier_search_and_say_so() -> None:
    pg = Playground(ConnectionSpec(), keys=ProviderKeys.of(JINAAI_APIKEY="jina_user_key_0123456789abcdef"),
                    jina_base_url="https://jina.test", http_client=_mock_jina())
    from rerank_playground.models import SearchRequest, SearchResult

    earlier = SearchRequest("Docs", "cat", limit=5, text_property="body")
    pg._searches[earlier] = SearchResult(request=earlier, hits=tuple(_hits(5)), latency_ms=1.0)
    paid = [RerankChoice("jina", "jina-reranker-v3"), RerankChoice("jina", "jina-reranker-m0")]
    per_model = estimate_rerank_tokens("cat", [h.text for h in _hits(5)])
    assert pg.estimate_tokens(earlier, paid) == TokenEstimate(2 * per_model, 5, 2, known=True)
    bigger = replace(earlier, limit=50)
    assert pg.estimate_tokens(bigger, paid) == TokenEstimate(2 * 10 * per_model, 50, 2, known=False)
    assert pg.estimate_tokens(bigger, [RerankChoice("local", "local-wordllama")]) is None  # nothing paid
    pg.rerank(pg._searches[earlier], paid[0], 5)  # now in this session's cache: the next click costs nothing
    assert pg.estimate_tokens(earlier, paid) == TokenEstimate(per_model, 5, 1, known=True)
    assert pg.estimate_tokens(replace(earlier, collection="Other"), paid) is None  # nothing to go on


# ------------------------------------------------------------------------------------ key-shaped text


@pytest.mark.parametrize(
    "text",
    [
        "jina_FAKE_test_only_not_a_real_key_0000",  # a Jina key
        "  jina_FAKE_test_only_not_a_real_key_0000  ",
        "please rerank jina_FAKE_test_only_not_a_real_key_0000 now",  # inside other text
        "jina_aBcD-eFgH_iJkL-mNoPqRsT",  # dashes and underscores
        "my-own-weaviate-key",  # equals a key typed in a password field
        "prefix my-own-weaviate-key suffix",  # contains it
    ],
)
def test_key_shaped_text_is_recognised(text: str) -> None:
    assert looks_like_key(text, ["my-own-weaviate-key", None])


@pytest.mark.parametrize(
    "text", ["cats on mats", "jina_reranker", "jina-reranker-v2-base-multilingual", "JINA_BASE_URL", "DemoWiki", "ab"]
)
def test_ordinary_text_is_not_a_key(text: str) -> None:
    assert not looks_like_key(text, ["ab-but-longer", "x", ""])  # a one-letter secret only counts when equal


def test_which_searches_spend_tokens() -> None:
    from rerank_playground.models import CollectionInfo, SearchMode, SearchRequest
    from rerank_playground.search import search_spends_tokens

    def info(vectorizer: str | None) -> CollectionInfo:
        return CollectionInfo("C", 1, (), vectorizer, (), None, None)

    hybrid = SearchRequest("C", "q", mode=SearchMode.HYBRID)
    assert search_spends_tokens(hybrid, info("text2vec-jinaai"))  # Weaviate embeds the query with Jina
    assert not search_spends_tokens(replace(hybrid, mode=SearchMode.KEYWORD), info("text2vec-jinaai"))
    assert search_spends_tokens(hybrid, info("text2vec-openai"))  # the server's own OpenAI key pays
    assert not search_spends_tokens(hybrid, info("text2vec-transformers"))  # runs beside Weaviate, no API
    assert not search_spends_tokens(replace(hybrid, embedder="local"), info("none"))
    assert search_spends_tokens(replace(hybrid, embedder="jina:jina-embeddings-v3"), info("none"))


def test_query_embeddings_on_the_operators_key_count_against_the_budget() -> None:
    from rerank_playground.jina_embeddings import JinaEmbedder
    from rerank_playground.rerankers.metered import MeteredEmbedder

    calls: list[httpx.Request] = []

    def embeddings(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json={"data": [{"index": 0, "embedding": [0.1, 0.2]}], "usage": {"total_tokens": 3}})

    client = httpx.Client(transport=httpx.MockTransport(embeddings))
    from rerank_playground.deployment import embed_token_bound

    budget = embed_token_bound("lava") + 2  # the bound of "lava" fits; after 3 spent, a longer query's does not
    guard = SpendGuard(budgets=Budgets(session=budget, deployment=None), deployment=TokenMeter("deployment's"))
    embedder = MeteredEmbedder(JinaEmbedder(client, "k", "https://jina.test"), guard, operator_key=True)
    assert embedder.embed_query("lava") == [0.1, 0.2]
    assert guard.session.spent == 3 and len(calls) == 1  # Jina's count
    with pytest.raises(BudgetExhausted):
        embedder.embed_query("a much longer query about volcanoes")  # 3 + 35 + 32 > 4 + 32 + 2
    assert len(calls) == 1
