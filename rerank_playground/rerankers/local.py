"""An offline baseline: cosine similarity of WordLlama static embeddings, query vs each candidate.

It is not a Jina model and not a cross-encoder. It is here so the app works without a key and so a
Jina reranker has something cheap to be compared against. Every result says so in its notes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from rerank_playground.errors import EmbeddingError, InvalidInput, RerankError
from rerank_playground.models import Hit, RankedDoc, RerankResult
from rerank_playground.rerankers.base import ProviderContext, ProviderSpec, Reranker, ScriptRecipe
from rerank_playground.rerankers.jina import validate_query, validate_top_n
from rerank_playground.rerankers.model_catalog import LOCAL_BASELINE, LOCAL_MODEL

BASELINE_NOTE = (
    "Local baseline: cosine similarity of WordLlama static embeddings, computed offline on this machine. "
    "Not a Jina reranker; use it as a cheap point of comparison."
)


class LocalReranker:
    name = "local"
    models = (LOCAL_MODEL,)

    def __init__(self, embedder: Any | None = None) -> None:
        """``embedder`` needs ``.embed(texts) -> (n, d) array``; default: the shared ``LocalEmbedder``."""
        self._embedder = embedder

    def _get_embedder(self) -> Any:
        if self._embedder is None:
            from rerank_playground.embedders import get_local_embedder

            self._embedder = get_local_embedder()
        return self._embedder

    def rerank(
        self, query: str, candidates: Sequence[Hit], model: str = LOCAL_MODEL, top_n: int | None = None
    ) -> RerankResult:
        validate_query(query)
        if model != LOCAL_MODEL:
            raise InvalidInput(
                f"The local reranker only runs {LOCAL_MODEL!r}, not {model!r}.",
                hint="Pick a Jina reranker for Jina models.",
            )
        n = len(candidates)
        want = validate_top_n(top_n, n)
        start = time.perf_counter()
        if n == 0:
            return RerankResult(self.name, model, (), 0.0, tokens=None, api_calls=0, notes=(BASELINE_NOTE,))
        try:
            vectors = np.asarray(self._get_embedder().embed([query, *[h.text or "" for h in candidates]]))
        except EmbeddingError as err:
            raise RerankError(err.message, hint=err.hint, provider=self.name, model=model) from err
        vectors = vectors.astype(np.float64, copy=False)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        unit = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
        scores = unit[1:] @ unit[0]
        # Best first; ties keep retrieval order (stable sort on the negated score).
        order = np.argsort(-scores, kind="stable")[:want]
        ranked = tuple(RankedDoc(index=int(i), score=float(scores[i])) for i in order)
        return RerankResult(
            reranker=self.name,
            model=model,
            ranked=ranked,
            latency_ms=(time.perf_counter() - start) * 1000.0,
            tokens=None,
            api_calls=0,
            notes=(BASELINE_NOTE,),
        )


SCRIPT_RERANK = '''

def rerank(texts):
    """The app's local baseline: cosine similarity of WordLlama vectors, ties kept in retrieval order."""
    import numpy as np

    vectors = local_embed([QUERY, *texts]).astype(np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    scores = unit[1:] @ unit[0]
    return [(int(i), float(scores[i])) for i in np.argsort(-scores, kind="stable")]
'''


def _build(ctx: ProviderContext) -> Reranker:
    return LocalReranker()


SPEC = ProviderSpec(
    name=LocalReranker.name,
    label="Local baseline (WordLlama, offline)",
    short_label="Local baseline",
    models=(LOCAL_BASELINE,),
    factory=_build,
    default_model=LOCAL_MODEL,
    choice_label="local baseline (WordLlama)",
    compare_defaults=(LOCAL_MODEL,),
    script=ScriptRecipe(rerank_source=lambda model: SCRIPT_RERANK, helpers=frozenset({"local_embed"})),
)
