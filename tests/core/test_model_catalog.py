"""The model catalog and the reranker registry."""

from __future__ import annotations

import pytest

from rerank_playground.errors import InvalidInput
from rerank_playground.rerankers import get_provider, models_for, provider_names, providers
from rerank_playground.rerankers.jina import JinaReranker
from rerank_playground.rerankers.local import LocalReranker
from rerank_playground.rerankers.model_catalog import (
    DEFAULT_MODEL,
    JINA_MODELS,
    LOCAL_MODEL,
    MODELS,
    WEAVIATE_DEFAULT_MODEL,
    get_model,
)

WEAVIATE_DOCUMENTED = {
    "jina-reranker-v2-base-multilingual",
    "jina-reranker-v1-base-en",
    "jina-reranker-v1-turbo-en",
    "jina-reranker-v1-tiny-en",
    "jina-colbert-v1-en",
}


def test_catalog_holds_the_documented_models_and_the_local_baseline() -> None:
    names = {m.name for m in MODELS}
    assert names >= WEAVIATE_DOCUMENTED
    assert {"jina-reranker-v3", "jina-reranker-v3.5", "jina-reranker-m0", "jina-colbert-v2", LOCAL_MODEL} <= names
    assert len(names) == len(MODELS) == 10


def test_client_default_is_current_and_the_module_keeps_weaviates_default() -> None:
    assert DEFAULT_MODEL == "jina-reranker-v3.5"
    assert get_model(DEFAULT_MODEL).status == "current"
    assert WEAVIATE_DEFAULT_MODEL == "jina-reranker-v2-base-multilingual"
    defaults = [m.name for m in MODELS if m.weaviate_default]
    assert defaults == [WEAVIATE_DEFAULT_MODEL]


def test_v3_5_is_the_listwise_successor_of_v3() -> None:
    v35, v3 = get_model("jina-reranker-v3.5"), get_model("jina-reranker-v3")
    assert (v35.kind, v35.status, v35.listwise) == ("listwise", "current", True)
    assert "131K" in v35.context and "0.6B" in v35.label
    assert v3.status == "being deprecated"
    # One call holds every candidate: the limit is the 131K-token context, not a number of documents.
    assert v35.context_tokens == v3.context_tokens == 131_072
    assert "64" not in v35.context + v3.context


@pytest.mark.parametrize("name", [
    "jina-reranker-v2-base-multilingual", "jina-reranker-v1-base-en", "jina-reranker-v1-turbo-en",
    "jina-reranker-v1-tiny-en", "jina-colbert-v1-en", "jina-colbert-v2",
])
def test_v1_and_v2_families_are_deprecated_as_jina_lists_them(name: str) -> None:
    assert get_model(name).status == "deprecated"


@pytest.mark.parametrize(
    ("name", "ndcg"),
    [
        ("jina-reranker-v2-base-multilingual", 53.2),
        ("jina-reranker-v1-base-en", 52.5),
        ("jina-reranker-v1-turbo-en", 49.6),
        ("jina-reranker-v1-tiny-en", 48.5),
        ("jina-colbert-v1-en", 49.4),
        ("jina-colbert-v2", 52.1),
        ("jina-reranker-v3", 61.9),
        ("jina-reranker-m0", None),
    ],
)
def test_published_beir_scores(name: str, ndcg: float | None) -> None:
    assert get_model(name).beir_ndcg10 == ndcg


def test_kinds_statuses_and_keys() -> None:
    assert get_model("jina-colbert-v2").kind == "late interaction"
    assert get_model("jina-reranker-v3").kind == "listwise"
    assert get_model("jina-reranker-m0").kind == "multimodal"
    assert get_model("jina-reranker-v1-turbo-en").status == "deprecated"
    assert all(m.needs_key for m in JINA_MODELS)
    local = get_model(LOCAL_MODEL)
    assert local.status == "local baseline" and not local.needs_key and "baseline" in local.label.lower()
    assert {m.status for m in MODELS} <= {"current", "being deprecated", "deprecated", "local baseline"}


def test_unknown_model_raises_listing_known_ones() -> None:
    with pytest.raises(InvalidInput) as info:
        get_model("jina-reranker-v9")
    assert "jina-reranker-v9" in str(info.value) and DEFAULT_MODEL in str(info.value)


def test_models_for_each_reranker() -> None:
    assert models_for("local") == (get_model(LOCAL_MODEL),)
    assert LOCAL_MODEL not in {m.name for m in models_for("jina")}
    assert models_for("weaviate_module") == models_for("jina")
    with pytest.raises(InvalidInput):
        models_for("cohere")


def test_registry_names_and_specs() -> None:
    assert provider_names() == ("jina", "weaviate_module", "local") == tuple(p.name for p in providers())
    assert JinaReranker.name == get_provider("jina").name == "jina"
    assert LocalReranker.name == get_provider("local").name == "local"
    assert get_provider("weaviate_module").name == "weaviate_module"
    # what each provider needs, as data: which key, whether it spends tokens, which server module
    jina, module, local = (get_provider(n) for n in ("jina", "weaviate_module", "local"))
    assert (jina.key, jina.needs_key, jina.paid, jina.server_module) == ("JINAAI_APIKEY", True, True, None)
    assert (module.key, module.needs_key, module.paid, module.server_module) == (
        "JINAAI_APIKEY", False, True, "reranker-jinaai")
    assert (local.key, local.needs_key, local.paid, local.server_module) == (None, False, False, None)


def test_core_rerankers_do_not_import_streamlit() -> None:
    import subprocess
    import sys

    code = (
        "import sys, rerank_playground.rerankers as r, rerank_playground.jina_embeddings;"
        "[r.get_provider(n) for n in r.provider_names()];"
        "import rerank_playground.rerankers.cache;"
        "assert 'streamlit' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", ["cohere", "", "JINA", None])
def test_registry_unknown_name_raises_and_lists_known(name: object) -> None:
    with pytest.raises(InvalidInput) as info:
        get_provider(name)
    for known in ("jina", "local", "weaviate_module"):
        assert known in str(info.value)


def test_token_estimates_cut_listwise_candidates_to_their_share_of_the_context() -> None:
    """What the budgets reserve and the page estimates: at K = 1,000 a v3.5 call sends 366 characters of each
    candidate (its share of 131,072 tokens), a pointwise model the usual 4,096."""
    from rerank_playground.rerankers.model_catalog import chars_sent

    assert chars_sent("jina-reranker-v3.5", "abc", 1000, 4096) == (131_072 - 1_024 - 2 - 8_000) // 1000 * 3 == 366
    assert chars_sent("jina-reranker-v3.5", "abc", 50, 4096) == 4096  # the share is larger than the usual cut
    assert chars_sent("jina-reranker-v2-base-multilingual", "abc", 1000, 4096) == 4096
    assert chars_sent("a-newer-model", "abc", 1000, 4096) == 4096
