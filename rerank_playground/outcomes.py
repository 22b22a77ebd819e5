"""What a search + rerank produced, as the pages, stories, snapshots and exports hold it: value types returned by
:class:`~rerank_playground.playground.Playground` (kept out of the facade, so the modules that read them need not
import it)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from rerank_playground.errors import ProviderError
from rerank_playground.models import Movement, RerankResult, SearchResult
from rerank_playground.rerankers.choice import RerankChoice


@dataclass(frozen=True)
class TokenEstimate:
    """Expected Jina tokens for a click: ``candidates`` x ``models`` (the paid ones not answered from the cache).
    ``known``: the candidates are those of the same search; otherwise scaled from an earlier one to K."""

    tokens: int
    candidates: int
    models: int
    known: bool


@dataclass(frozen=True)
class RerankRun:
    search: SearchResult
    choice: RerankChoice
    result: RerankResult
    movement: Movement
    top_n: int


@dataclass(frozen=True)
class CompareRun:
    search: SearchResult
    results: dict[str, RerankResult] = field(hash=False)  # label of the model that really ranked -> result
    errors: dict[str, ProviderError] = field(hash=False)  # label picked -> what went wrong, for that model only
    rank_matrix: pd.DataFrame = field(hash=False, compare=False)
    # label picked -> label of the model that really ranked; they differ when the Weaviate module's model was
    # changed (e.g. by another session) after the page listed it
    shown_as: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    # Agreement between the orderings depends on the shown N (its overlap): the page computes it with
    # movement.pairwise_agreement(results, hits, k=N), so the table, its top-N neighbour and the export agree.
