"""Budgets are caps (issue 24): whatever the text, however the call ends, however many models Compare runs,
the tokens counted never pass the budget.

Jina here is an ``httpx.MockTransport`` that counts tokens like the densest real tokenizer can: one token per
UTF-8 byte of the query and of each document, plus three special tokens per pair (a byte-level BPE on CJK and
emoji, or single letters, comes close to this). ``SPENT`` records every test's figures for the closing note.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from rerank_playground.connection import ConnectionSpec
from rerank_playground.deployment import Budgets, SpendGuard, TokenMeter, rerank_token_bound
from rerank_playground.errors import BudgetExhausted, ProviderServerError, ProviderTimeout, ProviderUnreachable
from rerank_playground.keys import ApiKey, ProviderKeys, http_endpoint
from rerank_playground.models import Hit, SearchRequest, SearchResult
from rerank_playground.playground import Playground
from rerank_playground.rerankers.choice import RerankChoice
from rerank_playground.rerankers.jina import JinaReranker
from rerank_playground.rerankers.metered import MeteredReranker

BASE = "https://jina.test"
BUDGET = 3_000
SPENT: dict[str, tuple[int, int]] = {}  # test -> (spent, budget)

TEXTS = {
    "token-dense letters": " ".join("abcdefghijklmnopqrstuvwxyz"),
    "digits": "3.14159 26535 89793 23846 26433 83279 50288 41971",
    "CJK": "重排序模型把候選文件依相關性重新排列，検索結果を並べ替える。검색 결과 재정렬",
    "emoji": "🎉🚀👩‍💻👨‍👩‍👧🏳️‍🌈🇺🇳" * 3,
}


def dense_tokens(query: str, documents: list[str]) -> int:
    return sum(len(query.encode()) + len(d.encode()) + 3 for d in documents)


def jina(on_request: Callable[[dict[str, object]], None] | None = None, *, fail: Exception | None = None,
         status: int = 200) -> httpx.Client:
    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if on_request is not None:
            on_request(body)
        if fail is not None:
            raise fail
        docs = [d if isinstance(d, str) else d["text"] for d in body["documents"]]
        if status != 200:
            return httpx.Response(status, json={"detail": "injected"})
        return httpx.Response(200, json={
            "model": body["model"], "usage": {"total_tokens": dense_tokens(body["query"], docs)},
            "results": [{"index": i, "relevance_score": 1 - i / 100} for i in range(len(docs))],
        })

    return httpx.Client(transport=httpx.MockTransport(answer))


def hits(text: str, n: int = 2) -> list[Hit]:
    return [Hit(rank=i + 1, uuid=f"u{i}", text=f"{text} {i}") for i in range(n)]


def guard(budget: int = BUDGET) -> SpendGuard:
    return SpendGuard(budgets=Budgets(session=budget, deployment=None), deployment=TokenMeter("deployment's"))


def spend_until_refused(reranker: MeteredReranker, query: str, candidates: list[Hit], limit: int = 100) -> int:
    """Calls until the budget refuses one; returns how many went through."""
    for done in range(limit):
        try:
            reranker.rerank(query, candidates, "jina-reranker-v3")
        except BudgetExhausted:
            return done
    raise AssertionError("the budget never refused a call")


@pytest.mark.parametrize("kind", list(TEXTS))
def test_dense_text_cannot_spend_past_the_budget(kind: str) -> None:
    spend = guard()
    reranker = MeteredReranker(JinaReranker(jina(), "k", BASE), spend, operator_key=True)
    calls = spend_until_refused(reranker, TEXTS[kind], hits(TEXTS[kind]))
    assert calls >= 1, "a call within the budget was refused"
    assert spend.session.spent <= BUDGET and spend.session.reserved == 0
    # Jina's count is what is kept (not the bound): the spend is the sum of its counts.
    one_call = dense_tokens(TEXTS[kind], [h.text for h in hits(TEXTS[kind])])
    assert spend.session.spent == calls * one_call
    SPENT[f"dense text: {kind}"] = (spend.session.spent, BUDGET)


def test_the_bound_holds_for_any_text_the_dense_tokenizer_counts() -> None:
    for text in [*TEXTS.values(), "", "a", "\u00e9" * 500, "x" * 10_000]:
        docs = [text, text[::-1]]
        assert dense_tokens("q" + text, docs) <= rerank_token_bound("q" + text, docs)


@pytest.mark.parametrize("failure", ["timeout", "server error", "unreachable"])
def test_a_failed_call_counts_what_may_have_been_processed(failure: str) -> None:
    sent: list[dict[str, object]] = []
    spend = guard(100_000)
    make, raised = {
        "timeout": (lambda: jina(sent.append, fail=httpx.ReadTimeout("slow")), ProviderTimeout),
        "server error": (lambda: jina(sent.append, status=500), ProviderServerError),
        "unreachable": (lambda: jina(sent.append, fail=httpx.ConnectError("refused")), ProviderUnreachable),
    }[failure]
    client = make()
    inner = JinaReranker(client, "k", BASE)
    reranker = MeteredReranker(inner, spend, operator_key=True, max_chars=inner.max_chars)
    candidates = hits(TEXTS["CJK"], 3)
    with pytest.raises(raised):
        reranker.rerank("query", candidates, "jina-reranker-v3")
    bound = reranker.bound("query", candidates, "jina-reranker-v3")
    assert spend.session.reserved == 0
    if failure == "unreachable":
        assert spend.session.spent == 0  # no connection: Jina cannot have worked
    else:
        assert sent, "the request was not sent"
        assert spend.session.spent == bound  # Jina may have done (and billed) the work: counted
    SPENT[f"failed call: {failure}"] = (spend.session.spent, 100_000)


def _playground(spend: SpendGuard, client: httpx.Client) -> Playground:
    key = ApiKey.operator("jina_operator_key_0123456789abcdef", [http_endpoint(BASE)])
    return Playground(ConnectionSpec(), keys=ProviderKeys.of(JINAAI_APIKEY=key), jina_base_url=BASE,
                      http_client=client, spend=spend)


MODELS = ["jina-reranker-v3", "jina-reranker-v3.5", "jina-reranker-m0", "jina-reranker-v2-base-multilingual",
          "jina-colbert-v2"]


def test_compare_reserves_every_model_before_calling_any() -> None:
    sent: list[dict[str, object]] = []
    search = SearchResult(request=SearchRequest("Docs", TEXTS["emoji"], limit=3, text_property="body"),
                          hits=tuple(hits(TEXTS["emoji"], 3)), latency_ms=1.0)
    bound = rerank_token_bound(search.request.query, [h.text for h in search.hits])
    choices = [RerankChoice("jina", m) for m in MODELS]

    # A budget that covers four models' bounds but not five: nothing is called, nothing is spent.
    spend = guard(4 * bound + bound // 2)
    pg = _playground(spend, jina(sent.append))
    with pytest.raises(BudgetExhausted):
        pg.compare(search, choices)
    assert sent == [] and spend.session.spent == 0 and spend.session.reserved == 0
    SPENT["5-model Compare over budget"] = (spend.session.spent, spend.budgets.session or 0)

    # Enough for all five: all run, and what they spend stays within the budget; then the next is refused.
    spend = guard(5 * bound)
    pg = _playground(spend, jina(sent.append))
    run = pg.compare(search, choices)
    assert len(run.results) == 5 and not run.errors and len(sent) == 5
    assert 0 < spend.session.spent <= 5 * bound and spend.session.reserved == 0
    SPENT["5-model Compare within budget"] = (spend.session.spent, 5 * bound)
    other = SearchResult(request=SearchRequest("Docs", "another", limit=3, text_property="body"),
                         hits=search.hits, latency_ms=1.0)
    with pytest.raises(BudgetExhausted):
        pg.compare(other, choices)
    assert len(sent) == 5 and spend.session.spent <= spend.budgets.session  # type: ignore[operator]


def test_concurrent_compares_against_a_small_budget_never_overshoot() -> None:
    search = SearchResult(request=SearchRequest("Docs", TEXTS["token-dense letters"], limit=2, text_property="body"),
                          hits=tuple(hits(TEXTS["token-dense letters"])), latency_ms=1.0)
    choices = [RerankChoice("jina", m) for m in MODELS]
    budget = 2 * 5 * rerank_token_bound(search.request.query, [h.text for h in search.hits])  # two Compares' bounds
    shared = TokenMeter("deployment's")
    budgets = Budgets(session=None, deployment=budget)

    def one_tab(_: int) -> int:
        pg = _playground(SpendGuard(budgets=budgets, deployment=shared), jina())
        try:
            return len(pg.compare(search, choices, force=True).results)
        except BudgetExhausted:
            return 0

    with ThreadPoolExecutor(8) as pool:
        ran = sum(pool.map(one_tab, range(8)))
    assert ran >= 10 and ran % 5 == 0  # whole Compares only: at least the two the budget's bounds cover
    assert shared.spent <= budget and shared.reserved == 0
    SPENT["8 concurrent 5-model Compares, one deployment budget"] = (shared.spent, budget)


def test_report_spent_vs_budget() -> None:
    """Not a check: prints every figure above (run with -s) for the issue's closing note."""
    for name, (spent, budget) in SPENT.items():
        assert spent <= budget
        print(f"{name}: {spent:,} of {budget:,}")
