"""The provider seam: a provider registered as one spec is offered and runs end to end, through the registry only.

The throwaway provider below lives in this file and nowhere else: if the Playground or the choice logic
branched on provider names instead of iterating the registry, it would not be offered, labelled or run.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pytest

from rerank_playground import codegen
from rerank_playground.connection import ConnectionSpec
from rerank_playground.errors import InvalidInput, KeyRequired
from rerank_playground.keys import ApiKey, ProviderKeys, http_endpoint
from rerank_playground.models import (
    CollectionInfo,
    Hit,
    ModelInfo,
    PropertyInfo,
    RankedDoc,
    RerankResult,
    SearchRequest,
    SearchResult,
)
from rerank_playground.playground import Playground
from rerank_playground.rerankers import (
    ProviderContext,
    ProviderSpec,
    Reranker,
    ScriptRecipe,
    find_provider,
    get_provider,
    provider_names,
    providers,
    register,
    unregister,
)
from rerank_playground.rerankers.choice import RerankChoice
from rerank_playground.rerankers.model_catalog import LOCAL_MODEL

NAME = "reverse_for_test"
KEYED = "keyed_reverse_for_test"
MODELS = tuple(
    ModelInfo(name=n, label=f"Reverse {n}", kind="test", languages="any", context="any", status="current",
              needs_key=False)
    for n in ("reverse-a", "reverse-b")
)


@dataclass
class Built:
    """What the factory was given, each time the Playground asked for a reranker."""

    contexts: list[ProviderContext] = field(default_factory=list)


class ReverseReranker:
    """Ranks the candidates in reverse retrieval order, scored so the last one scores highest."""

    name = NAME

    def rerank(self, query: str, candidates: Sequence[Hit], model: str, top_n: int | None = None) -> RerankResult:
        n = len(candidates)
        ranked = tuple(RankedDoc(index=i, score=float(i)) for i in reversed(range(n)))[: top_n or n]
        return RerankResult(self.name, model, ranked, latency_ms=0.1, tokens=None, api_calls=0)


def reverse_spec(built: Built, *, name: str = NAME, key: str | None = None) -> ProviderSpec:
    def factory(ctx: ProviderContext) -> Reranker:
        built.contexts.append(ctx)
        if key is not None and not ctx.keys.secret_for(key, http_endpoint(ctx.api_base_url)):
            raise KeyRequired(f"{ctx.model} needs a {key}.", provider=name, model=ctx.model)
        reranker = ReverseReranker()
        reranker.name = name
        return reranker

    return ProviderSpec(
        name=name, label="Reverse order (a test provider)", short_label="Reverse", models=MODELS, factory=factory,
        key=key, default_model="reverse-a", choice_label="{model} · reversed", compare_defaults=("reverse-b",),
        script=ScriptRecipe(rerank_source=lambda model: f"\n\ndef rerank(texts):  # {model}\n"
                            "    return [(i, float(i)) for i in reversed(range(len(texts)))]\n"),
    )


@pytest.fixture
def built() -> Iterator[Built]:
    record = Built()
    register(reverse_spec(record))
    try:
        yield record
    finally:
        unregister(NAME)


INFO = CollectionInfo(name="Docs", count=4, properties=(PropertyInfo("body", "text"),), vectorizer="none",
                      named_vectors=(), reranker_module=None, reranker_model=None)


def a_search(n: int = 4) -> SearchResult:
    request = SearchRequest("Docs", "cats", text_property="body")
    hits = tuple(Hit(rank=i + 1, uuid=f"u{i}", text=f"text {i}") for i in range(n))
    return SearchResult(request, hits, latency_ms=1.0)


def test_a_registered_provider_is_offered_next_to_the_built_in_ones(built: Built) -> None:
    assert provider_names()[-1] == NAME and get_provider(NAME).name == NAME
    assert NAME in {p.name for p in providers()}
    pg = Playground(ConnectionSpec())
    offered = pg.offered_choices(INFO)
    assert RerankChoice(NAME, "reverse-a") in offered and RerankChoice(NAME, "reverse-b") in offered
    assert offered[0] == RerankChoice("local", LOCAL_MODEL)  # what needs no key comes first
    # no key needed: its compare default is preselected, next to the local baseline (no Jina key in this session)
    assert pg.default_choices(INFO) == [RerankChoice("local", LOCAL_MODEL), RerankChoice(NAME, "reverse-b")]
    choice = RerankChoice(NAME, "reverse-a")
    assert choice.label == "reverse-a · reversed" and not choice.paid and choice.provider is get_provider(NAME)


def test_a_registered_provider_reranks_and_compares_end_to_end(built: Built) -> None:
    pg = Playground(ConnectionSpec())
    search = a_search(4)
    run = pg.rerank(search, RerankChoice(NAME, "reverse-a"), 3)
    assert run.result.reranker == NAME and run.result.order == (3, 2, 1, 0)
    assert [m.uuid for m in run.movement.moves][:3] == ["u3", "u2", "u1"]
    assert run.choice == RerankChoice(NAME, "reverse-a")
    context = built.contexts[-1]
    assert context.model == "reverse-a" and context.search is search  # the factory got the small context

    compared = pg.compare(search, [RerankChoice(NAME, "reverse-a"), RerankChoice(NAME, "reverse-b"),
                                   RerankChoice("local", LOCAL_MODEL)])
    assert not compared.errors
    assert compared.results["reverse-b · reversed"].order == (3, 2, 1, 0)
    assert set(compared.results) == {"reverse-a · reversed", "reverse-b · reversed", "local baseline (WordLlama)"}
    # the session's cache serves the same request again without building a new answer
    again = pg.rerank(search, RerankChoice(NAME, "reverse-a"), 3)
    assert again.result.cached


def test_copy_as_code_uses_the_registered_providers_recipe(built: Built) -> None:
    request = SearchRequest("Docs", "cats", text_property="body")
    code = codegen.python_code(request, RerankChoice(NAME, "reverse-b"), weaviate_url="http://127.0.0.1:8080",
                               grpc_port=50051, needs_query_vector=False)
    assert "def rerank(texts):  # reverse-b" in code and "reranked by reverse-b · reversed" in code
    assert "    ranked = rerank(texts)" in code and "rerank=Rerank(" not in code
    compile(code, "<copied>", "exec")  # a runnable script, not just text


def test_once_unregistered_it_is_unknown_everywhere() -> None:
    record = Built()
    register(reverse_spec(record))
    unregister(NAME)
    assert find_provider(NAME) is None and NAME not in provider_names()
    pg = Playground(ConnectionSpec())
    assert all(c.reranker != NAME for c in pg.offered_choices(INFO))
    with pytest.raises(InvalidInput, match="Unknown reranker") as refused:
        pg.rerank(a_search(), RerankChoice(NAME, "reverse-a"), 3)
    assert "jina" in refused.value.hint and "local" in refused.value.hint
    assert record.contexts == []
    unknown = RerankChoice(NAME, "reverse-a")
    assert unknown.provider is None and unknown.label == "reverse-a" and not unknown.paid


def test_a_provider_that_needs_a_key_is_offered_but_not_preselected_until_the_key_is_set() -> None:
    record = Built()
    register(reverse_spec(record, name=KEYED, key="REVERSE_APIKEY"))
    try:
        pg = Playground(ConnectionSpec())
        provider = get_provider(KEYED)
        assert provider.needs_key and pg.key_missing(provider)
        assert RerankChoice(KEYED, "reverse-a") in pg.offered_choices(INFO)
        assert all(c.reranker != KEYED for c in pg.default_choices(INFO))
        failed = pg.compare(a_search(), [RerankChoice(KEYED, "reverse-a"), RerankChoice("local", LOCAL_MODEL)])
        assert isinstance(failed.errors["reverse-a · reversed"], KeyRequired)
        assert failed.errors["reverse-a · reversed"].provider == KEYED

        pg.set_key("REVERSE_APIKEY", "typed-by-the-user")  # not connected: only the keys change
        assert not pg.key_missing(provider) and pg.keys.get("REVERSE_APIKEY") == ApiKey.user("typed-by-the-user")
        assert RerankChoice(KEYED, "reverse-b") in pg.default_choices(INFO)
        keyed = pg.rerank(a_search(), RerankChoice(KEYED, "reverse-a"), 2)
        assert keyed.result.order == (3, 2, 1, 0) and keyed.movement.summary.top_n == 2
    finally:
        unregister(KEYED)


def test_the_default_provider_follows_the_jina_key() -> None:
    pg = Playground(ConnectionSpec(), jina_base_url="https://jina.test")
    assert pg.default_provider().name == "local"
    pg.set_jina_key("jina_typed_0123456789abcdef")
    assert pg.default_provider().name == "jina"
    operator_elsewhere = ApiKey.operator("jina_operator_0123456789abcdef", [http_endpoint("https://other.jina")])
    bound = Playground(ConnectionSpec(), keys=ProviderKeys.of(JINAAI_APIKEY=operator_elsewhere),
                       jina_base_url="https://jina.test")
    assert not bound.has_jina_key and bound.default_provider().name == "local"


def test_the_module_is_offered_only_for_a_collection_that_has_it_configured() -> None:
    pg = Playground(ConnectionSpec())
    assert all(c.reranker != "weaviate_module" for c in pg.offered_choices(INFO))
    configured = CollectionInfo(name="Docs", count=4, properties=INFO.properties, vectorizer="none",
                                named_vectors=(), reranker_module="reranker-jinaai", reranker_model=None)
    module = [c for c in pg.offered_choices(configured) if c.reranker == "weaviate_module"]
    assert module == [RerankChoice("weaviate_module", "jina-reranker-v2-base-multilingual")]  # Weaviate's default
    assert module[0].label == "jina-reranker-v2-base-multilingual · Weaviate module" and module[0].paid


def test_provider_keys_keep_values_out_of_repr_and_keep_operator_bindings() -> None:
    bound = ApiKey.operator("jina_operator_0123456789abcdef", [http_endpoint("https://jina.internal")])
    keys = ProviderKeys.of(JINAAI_APIKEY=bound, OTHER_APIKEY="typed-key-123456")
    assert "jina_operator" not in repr(keys) and "typed-key" not in repr(keys)
    assert repr(keys) == "ProviderKeys(JINAAI_APIKEY=operator, OTHER_APIKEY=user)"
    assert keys.secret_for("JINAAI_APIKEY", http_endpoint("https://jina.internal")) == "jina_operator_0123456789abcdef"
    assert keys.secret_for("JINAAI_APIKEY", http_endpoint("https://attacker.example")) is None
    assert keys.secret_for("OTHER_APIKEY", http_endpoint("https://anywhere.example")) == "typed-key-123456"
    assert keys.withheld(http_endpoint("https://attacker.example")) == ("JINAAI_APIKEY",)
    assert set(keys.secrets) == {"jina_operator_0123456789abcdef", "typed-key-123456"}
    cleared = keys.with_keys(JINAAI_APIKEY=None)
    assert cleared.get("JINAAI_APIKEY") is None and keys.get("JINAAI_APIKEY") == bound  # a new value, not a change
    assert ProviderKeys.of(JINAAI_APIKEY="  ") == ProviderKeys()  # blank is no key
