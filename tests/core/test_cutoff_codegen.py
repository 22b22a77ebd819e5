"""The cut written into Copy as code keeps exactly what ``Cut.kept`` keeps (the script's own ``kept`` function, run
on many score lists with ties and on different ranges), for every path a script can take."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from rerank_playground import codegen
from rerank_playground.evaluation.cutoff import Cut
from rerank_playground.models import SearchRequest
from rerank_playground.rerankers.choice import RerankChoice

REQUEST = SearchRequest("Docs", "cats", text_property="body", limit=30)
CHOICES = [RerankChoice("local", "local-wordllama"), RerankChoice("jina", "jina-reranker-v3"),
           RerankChoice("weaviate_module", "jina-reranker-v2-base-multilingual")]
CUTS = [Cut("threshold", 0.5), Cut("threshold", -2.25), Cut("top_k", 3), Cut("relative", 0.25), Cut("relative", 0.0),
        Cut("relative", 1.0)]


def script_namespace(code: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "copied"}  # not "__main__": define, do not run
    exec(compile(code, "<copied>", "exec"), namespace)  # noqa: S102 - our own generated script
    return namespace


@pytest.mark.parametrize("choice", CHOICES, ids=lambda c: c.reranker)
@pytest.mark.parametrize("cut", CUTS, ids=lambda c: f"{c.kind}-{c.value}")
def test_the_scripts_cut_keeps_what_the_page_keeps(choice: RerankChoice, cut: Cut) -> None:
    code = codegen.python_code(REQUEST, choice, weaviate_url="http://127.0.0.1:8080", grpc_port=50051,
                               needs_query_vector=False, cut=cut)
    assert "limit=30" in code and "ranked = ranked[:keep]" in code
    assert ("rerank=Rerank(" in code) == (choice.reranker == "weaviate_module")
    kept = script_namespace(code)["kept"]
    rng = np.random.default_rng(7)
    for _ in range(300):
        n = int(rng.integers(0, 12))
        scale, shift = float(rng.choice([1.0, 8.0])), float(rng.choice([0.0, -4.0]))
        scores = sorted((float(rng.integers(0, 6)) / 4 * scale + shift for _ in range(n)), reverse=True)
        assert kept(scores) == cut.kept(scores), (cut, scores)
    assert kept([0.5, 0.5, 0.4]) == cut.kept([0.5, 0.5, 0.4])  # a tie at the threshold


def test_without_a_cut_the_script_prints_every_reranked_document() -> None:
    code = codegen.python_code(REQUEST, CHOICES[0], weaviate_url="http://127.0.0.1:8080", grpc_port=50051,
                               needs_query_vector=False)
    assert "def kept(" not in code and "ranked = rerank(texts)" in code
    script_namespace(code)
