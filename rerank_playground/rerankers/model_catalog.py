"""The reranker models the playground knows about, with the facts a user needs to pick one.

Sources: Jina's model pages and Weaviate's ``reranker-jinaai`` docs (see ``reference.md``). BEIR nDCG@10
figures are the vendor's published numbers, not measured here. ``status`` is as Jina lists the model in
late 2026: ``"current"``, ``"being deprecated"`` (v3, for its drop-in successor v3.5), ``"deprecated"``
(the whole v1 and v2 families, ColBERT included: "deprecated by newer models"; they may still answer),
or ``"local baseline"``.

``DEFAULT_MODEL`` is the client-side default (a current model). Weaviate's ``reranker-jinaai`` module has
a default of its own, ``WEAVIATE_DEFAULT_MODEL``, used when a collection's config names no model.

``context_tokens``: listwise models score each document against the others in the same call, so scores
from separate calls cannot be merged: every candidate goes into one call (up to 1,000, as Weaviate's own
``reranker-jinaai`` module sends), and the 131K-token context is shared between the query and all of them
(``JinaReranker`` cuts each document to its share). The v3 model card's "up to 64 documents" is the size of
one forward pass inside the model (its own code splits longer lists into passes), not a limit of the API.
"""

from __future__ import annotations

import math

from rerank_playground.errors import InvalidInput
from rerank_playground.models import ModelInfo

DEFAULT_MODEL = "jina-reranker-v3.5"
WEAVIATE_DEFAULT_MODEL = "jina-reranker-v2-base-multilingual"
# Weaviate's server-side Jina reranker module: its name in a collection's config and in the server's module list.
JINA_RERANKER_MODULE = "reranker-jinaai"
LISTWISE_CONTEXT_TOKENS = 131_072  # "131K tokens per call" (v3 model card; v3.5: "no API changes")
LOCAL_MODEL = "local-wordllama"

# Listwise calls. Weaviate's own reranker-jinaai module sends up to 1,000 documents per request, and K never
# exceeds 1,000 (limits.MAX_K), so a listwise model always gets every candidate in one call.
LISTWISE_MAX_DOCS = 1000
# The context is counted in the model's tokens, which we cannot count here: budget conservatively at 3
# characters a token (English runs about 4; other scripts fewer), keep room for the prompt the model wraps
# around the documents, and for each document's own markers.
LISTWISE_CHARS_PER_TOKEN = 3
LISTWISE_PROMPT_TOKENS = 1024
LISTWISE_TOKENS_PER_DOC = 8


def listwise_doc_chars(context_tokens: int, query: str, n: int) -> int:
    """Characters of each of ``n`` candidates that fit one listwise call: the context, less the prompt, the
    query (it appears twice in the v3 prompt) and each document's markers, shared equally by the candidates,
    at :data:`LISTWISE_CHARS_PER_TOKEN` characters a token. At least 1."""
    if n < 1:
        raise ValueError("n must be at least 1")
    query_tokens = math.ceil(len(query) / LISTWISE_CHARS_PER_TOKEN)
    free = context_tokens - LISTWISE_PROMPT_TOKENS - 2 * query_tokens - n * LISTWISE_TOKENS_PER_DOC
    return max(1, free // n * LISTWISE_CHARS_PER_TOKEN)


def chars_sent(model: str, query: str, n: int, max_chars: int) -> int:
    """Characters of each of ``n`` candidates a call to ``model`` sends: ``max_chars``, or less for a listwise
    model whose context the candidates share (the same cut :class:`JinaReranker` makes; for token estimates)."""
    info = find_model(model)
    if info is None or info.context_tokens is None or not info.listwise or n < 1:
        return max_chars
    return min(max_chars, listwise_doc_chars(info.context_tokens, query, n))

JINA_MODELS: tuple[ModelInfo, ...] = (
    ModelInfo(
        name=DEFAULT_MODEL,
        label="Jina Reranker v3.5 (0.6B, listwise, newest)",
        kind="listwise",
        languages="multilingual",
        context="131K tokens per call, shared by the query and every candidate",
        status="current",
        beir_ndcg10=None,
        context_tokens=LISTWISE_CONTEXT_TOKENS,
    ),
    ModelInfo(
        name=WEAVIATE_DEFAULT_MODEL,
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
        status="deprecated",
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
        status="deprecated",
        beir_ndcg10=48.5,
    ),
    ModelInfo(
        name="jina-colbert-v1-en",
        label="Jina ColBERT v1 English (137M)",
        kind="late interaction",
        languages="English",
        context="8K tokens (query 32 tokens)",
        status="deprecated",
        beir_ndcg10=49.4,
    ),
    ModelInfo(
        name="jina-reranker-v3",
        label="Jina Reranker v3 (0.6B, listwise)",
        kind="listwise",
        languages="multilingual",
        context="131K tokens per call, shared by the query and every candidate",
        status="being deprecated",
        beir_ndcg10=61.9,
        context_tokens=LISTWISE_CONTEXT_TOKENS,
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
        status="deprecated",
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


def find_model(name: str) -> ModelInfo | None:
    """The catalog entry for ``name``, or None for a name the catalog does not know (a newer model)."""
    return _BY_NAME.get(name) if isinstance(name, str) else None
