"""The reranker models the playground knows about, with the facts a user needs to pick one.

Sources: Jina's model pages and Weaviate's ``reranker-jinaai`` docs (see ``reference.md``). BEIR nDCG@10
figures are the vendor's published numbers, not measured here. ``status`` is one of ``"current"``
(Jina lists it as current), ``"deprecated"`` (Jina marks it deprecated; it may still answer),
``"available"`` (offered, no status published) and ``"local baseline"``.
"""

from __future__ import annotations

from rerank_playground.errors import InvalidInput
from rerank_playground.models import ModelInfo

DEFAULT_MODEL = "jina-reranker-v2-base-multilingual"
LOCAL_MODEL = "local-wordllama"

JINA_MODELS: tuple[ModelInfo, ...] = (
    ModelInfo(
        name="jina-reranker-v2-base-multilingual",
        label="Jina Reranker v2 Base Multilingual (278M, Weaviate's default)",
        kind="cross-encoder",
        languages="100+ languages",
        context="1K tokens (sliding window beyond)",
        status="deprecated",
        weaviate_default=True,
        beir_ndcg10=53.2,
    ),
    ModelInfo(
        name="jina-reranker-v1-base-en",
        label="Jina Reranker v1 Base English (137M)",
        kind="cross-encoder",
        languages="English",
        context="8K tokens",
        status="available",
        beir_ndcg10=52.5,
    ),
    ModelInfo(
        name="jina-reranker-v1-turbo-en",
        label="Jina Reranker v1 Turbo English (38M, ~3x faster than base)",
        kind="cross-encoder",
        languages="English",
        context="8K tokens",
        status="deprecated",
        beir_ndcg10=49.6,
    ),
    ModelInfo(
        name="jina-reranker-v1-tiny-en",
        label="Jina Reranker v1 Tiny English (33M, ~5x faster than base)",
        kind="cross-encoder",
        languages="English",
        context="8K tokens",
        status="available",
        beir_ndcg10=48.5,
    ),
    ModelInfo(
        name="jina-colbert-v1-en",
        label="Jina ColBERT v1 English (137M)",
        kind="late interaction",
        languages="English",
        context="8K tokens (query 32 tokens)",
        status="available",
        beir_ndcg10=49.4,
    ),
    ModelInfo(
        name="jina-reranker-v3",
        label="Jina Reranker v3 (0.6B, listwise)",
        kind="listwise",
        languages="multilingual",
        context="131K tokens, up to 64 documents per pass",
        status="current",
        beir_ndcg10=61.9,
    ),
    ModelInfo(
        name="jina-reranker-m0",
        label="Jina Reranker m0 (2.4B, multimodal)",
        kind="multimodal",
        languages="29 languages",
        context="10K tokens",
        status="current",
        beir_ndcg10=None,
    ),
    ModelInfo(
        name="jina-colbert-v2",
        label="Jina ColBERT v2 (560M)",
        kind="late interaction",
        languages="89 languages",
        context="8K tokens",
        status="available",
        beir_ndcg10=52.1,
    ),
)

LOCAL_BASELINE = ModelInfo(
    name=LOCAL_MODEL,
    label="Local baseline: WordLlama cosine similarity (offline, not a Jina model)",
    kind="local baseline",
    languages="English (static word embeddings)",
    context="whole text (bag of token embeddings)",
    status="local baseline",
    needs_key=False,
    weaviate_default=False,
    beir_ndcg10=None,
)

MODELS: tuple[ModelInfo, ...] = (*JINA_MODELS, LOCAL_BASELINE)

_BY_NAME: dict[str, ModelInfo] = {m.name: m for m in MODELS}

# Which models each registered reranker can run.
_MODELS_FOR_RERANKER: dict[str, tuple[ModelInfo, ...]] = {
    "jina": JINA_MODELS,
    "weaviate_module": JINA_MODELS,
    "local": (LOCAL_BASELINE,),
}


def model_names() -> tuple[str, ...]:
    return tuple(_BY_NAME)


def get_model(name: str) -> ModelInfo:
    """The catalog entry for ``name``; an unknown name raises ``InvalidInput`` listing the known ones."""
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise InvalidInput(
            f"Unknown reranker model {name!r}.",
            hint="Known models: " + ", ".join(_BY_NAME) + ".",
        ) from None


def models_for(reranker: str) -> tuple[ModelInfo, ...]:
    """The models a registered reranker (``"jina"``, ``"weaviate_module"``, ``"local"``) can run."""
    try:
        return _MODELS_FOR_RERANKER[reranker]
    except KeyError:
        raise InvalidInput(
            f"Unknown reranker {reranker!r}.",
            hint="Known rerankers: " + ", ".join(_MODELS_FOR_RERANKER) + ".",
        ) from None
