"""The offline WordLlama baseline."""

from __future__ import annotations

import numpy as np
import pytest

from rerank_playground.errors import EmbeddingError, InvalidInput, RerankError
from rerank_playground.models import Hit
from rerank_playground.rerankers.base import Reranker
from rerank_playground.rerankers.local import LocalReranker
from rerank_playground.rerankers.model_catalog import LOCAL_MODEL


class TableEmbedder:
    """Hand-made vectors: cosine similarity is computable by hand."""

    def __init__(self, table: dict[str, list[float]]) -> None:
        self.table = table
        self.calls = 0

    def embed(self, texts):  # noqa: ANN001
        self.calls += 1
        return np.array([self.table[t] for t in texts], dtype=np.float32)


def hits(*texts: str) -> list[Hit]:
    return [Hit(rank=i + 1, uuid=f"u{i}", text=t) for i, t in enumerate(texts)]


def test_cosine_order_with_hand_computed_scores() -> None:
    emb = TableEmbedder({"q": [1, 0], "a": [0, 1], "b": [1, 1], "c": [2, 0], "zero": [0, 0]})
    result = LocalReranker(emb).rerank("q", hits("a", "b", "c", "zero"), LOCAL_MODEL)
    # cos(q,c)=1, cos(q,b)=1/sqrt(2), cos(q,a)=0, cos(q,zero)=0 (a zero vector scores 0);
    # ties keep retrieval order
    assert result.order == (2, 1, 0, 3)
    assert [d.score for d in result.ranked] == pytest.approx([1.0, 1 / np.sqrt(2), 0.0, 0.0])
    assert result.reranker == "local" and result.model == LOCAL_MODEL
    assert result.api_calls == 0 and result.tokens is None
    assert any("baseline" in n.lower() and "not a jina" in n.lower() for n in result.notes)


def test_top_n_and_validation() -> None:
    emb = TableEmbedder({"q": [1, 0], "a": [0, 1], "b": [1, 1]})
    r = LocalReranker(emb)
    assert r.rerank("q", hits("a", "b"), LOCAL_MODEL, top_n=1).order == (1,)
    with pytest.raises(InvalidInput):
        r.rerank("  ", hits("a"), LOCAL_MODEL)
    with pytest.raises(InvalidInput, match=LOCAL_MODEL):
        r.rerank("q", hits("a"), "jina-reranker-v3")
    assert r.rerank("q", [], LOCAL_MODEL).ranked == ()


def test_embedding_failure_becomes_a_rerank_error() -> None:
    class Broken:
        def embed(self, texts):  # noqa: ANN001
            raise EmbeddingError("weights missing", hint="reinstall")

    with pytest.raises(RerankError, match="weights missing") as info:
        LocalReranker(Broken()).rerank("q", hits("a"), LOCAL_MODEL)
    assert info.value.model == LOCAL_MODEL


def test_real_wordllama_baseline_prefers_the_on_topic_text() -> None:
    r = LocalReranker()  # the shared offline LocalEmbedder
    assert isinstance(r, Reranker)
    docs = hits(
        "The stock market fell sharply on Monday as investors sold bank shares.",
        "Cats are small carnivorous mammals often kept as pets.",
        "A kitten is a young cat; cats purr and like to sleep.",
    )
    result = r.rerank("cute cats and kittens", docs, LOCAL_MODEL)
    assert result.order[-1] == 0  # the finance text is least like the query
    assert set(result.order[:2]) == {1, 2}
    assert all(-1.0 <= d.score <= 1.0 for d in result.ranked)
