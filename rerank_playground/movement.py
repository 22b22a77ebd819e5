"""Before/after reranking: per-document moves and summary statistics.

Everything here is pure: candidates (retrieval order) and one or more ``RerankResult`` in, frozen
dataclasses or pandas DataFrames out. Ranks are 1-based everywhere.

A reranker may return fewer documents than it was given (``top_n``). Those it did not return are placed
*after* the returned ones, in their original order, so every candidate keeps an integer ``new_rank`` and
the before/after lists are always full permutations of the same documents. Their ``rerank_score`` is None.

Documents the reranker gave exactly the same score are kept in retrieval order among themselves: the order an
API happens to list ties in is not a decision of the model, so it must not show as movement.

Rank correlations are ``None`` ("undefined") when they are: fewer than two documents, or one ranking constant.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from itertools import combinations, groupby
from operator import attrgetter

import numpy as np
import pandas as pd
from scipy import stats

from rerank_playground.errors import InvalidInput
from rerank_playground.models import Hit, Move, Movement, MovementSummary, RerankResult

OVERLAP_KS: tuple[int, ...] = (1, 3, 5, 10)
RETRIEVAL = "retrieval"
_PAIRWISE_MAX = 300  # above this the n x n sign matrix costs more than scipy (12 ms vs 0.6 ms at n = 1,000)


def retrieval_score(hit: Hit) -> float | None:
    """The hit's own score; for vector search (no score) ``1 - distance``; None when neither is known."""
    if hit.score is not None:
        return float(hit.score)
    if hit.distance is not None:
        return 1.0 - float(hit.distance)
    return None


def full_order(n: int, rerank: RerankResult) -> tuple[int, ...]:
    """Candidate indices (0-based) in reranked order, unreturned candidates appended in original order.

    Raises ``InvalidInput`` when an index is out of range or appears twice.
    """
    seen: set[int] = set()
    for doc in rerank.ranked:
        if not isinstance(doc.index, int) or isinstance(doc.index, bool) or not 0 <= doc.index < n:
            raise InvalidInput(
                f"The reranker '{rerank.model}' returned document index {doc.index!r}, "
                f"but there are only {n} candidates (valid indices 0..{n - 1})."
            )
        if doc.index in seen:
            raise InvalidInput(
                f"The reranker '{rerank.model}' returned document index {doc.index} more than once."
            )
        seen.add(doc.index)
    returned = tuple(
        index
        for _, tied in groupby(rerank.ranked, key=lambda doc: doc.score)
        for index in sorted(doc.index for doc in tied)  # equal scores: retrieval order, not the API's tie order
    )
    return returned + tuple(i for i in range(n) if i not in seen)


def tied_count(rerank: RerankResult) -> int:
    """How many returned documents share their score with a neighbour (their order among themselves is
    retrieval order, not a decision of the model)."""
    scores = np.fromiter((doc.score for doc in rerank.ranked), dtype=float, count=len(rerank.ranked))
    same = scores[1:] == scores[:-1]  # each document against the next (one pass: every rerank computes this)
    tied = np.zeros(len(scores), dtype=bool)
    tied[1:] |= same
    tied[:-1] |= same
    return int(tied.sum())


def new_ranks(n: int, rerank: RerankResult) -> list[int]:
    """``new_ranks(n, r)[i]`` is the 1-based reranked position of candidate ``i``."""
    ranks = [0] * n
    for position, index in enumerate(full_order(n, rerank), start=1):
        ranks[index] = position
    return ranks


def _undefined(a: Sequence[float], b: Sequence[float]) -> bool:
    """A rank correlation is undefined for fewer than two items or when either ranking is constant."""
    if len(a) != len(b):
        raise InvalidInput("Both rankings must cover the same documents.")
    return len(a) < 2 or len(set(a)) == 1 or len(set(b)) == 1


def kendall_tau(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Kendall tau-b between two rankings of the same items; None (undefined) when ``_undefined``."""
    if _undefined(a, b):
        return None
    n = len(a)
    if n <= _PAIRWISE_MAX and len(set(a)) == n and len(set(b)) == n:
        # Without ties tau-b is (concordant - discordant) / pairs; counting the pairs with numpy equals
        # scipy.stats.kendalltau exactly and skips its per-call wrapper overhead (~0.4 ms at K=100),
        # which every rerank pays (see benchmarks/pipeline.py).
        x, y = np.asarray(a), np.asarray(b)
        signs = np.sign(x[:, None] - x[None, :]) * np.sign(y[:, None] - y[None, :])
        return float(signs.sum()) / (n * (n - 1))
    value = float(stats.kendalltau(a, b).statistic)
    return None if math.isnan(value) else value


def spearman_rho(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Spearman rank correlation of any two sequences of values; None (undefined) when ``_undefined``."""
    if _undefined(a, b):
        return None
    n = len(a)
    if len(set(a)) == n and len(set(b)) == n:
        # Without ties, the closed form over the values' ranks (not the values themselves: [1, 2, 10] ranks
        # as [1, 2, 3]) equals scipy.stats.spearmanr and is ~25x faster; every rerank computes it.
        ra = np.argsort(np.argsort(np.asarray(a)))
        rb = np.argsort(np.argsort(np.asarray(b)))
        d2 = float(((ra - rb) ** 2).sum())
        return 1.0 - 6.0 * d2 / (n * (n * n - 1))
    value = float(stats.spearmanr(a, b).statistic)
    return None if math.isnan(value) else value


def overlap_at_k(before: Sequence[int], after: Sequence[int], k: int) -> float:
    """``|top-k(before) ∩ top-k(after)| / k`` with ``k`` capped at the list length (1.0 for empty lists).

    ``before`` and ``after`` are sequences of document ids, best first.
    """
    if k < 1:
        raise InvalidInput(f"k must be at least 1 (got {k}).")
    k = min(k, len(before), len(after))
    if k == 0:
        return 1.0
    return len(set(before[:k]) & set(after[:k])) / k


def _check_top_n(top_n: int) -> None:
    if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1:
        raise InvalidInput(f"top N must be a whole number of at least 1 (got {top_n!r}).")


def compute_movement(candidates: Sequence[Hit], rerank: RerankResult, top_n: int) -> Movement:
    """Compare retrieval order with the reranked order.

    - ``original_rank`` is the position in ``candidates`` (1-based), ``new_rank`` the position after
      reranking; candidates the reranker did not return come after the returned ones, in original order
      (with ``rerank_score=None``).
    - ``delta = original_rank - new_rank``: positive means the document climbed.
    - ``entered_top_n``: ``new_rank <= top_n < original_rank``;
      ``left_top_n``: ``original_rank <= top_n < new_rank``.
    - Moves come back in reranked order.
    """
    _check_top_n(top_n)
    n = len(candidates)
    order = full_order(n, rerank)
    scores = {doc.index: float(doc.score) for doc in rerank.ranked}

    moves: list[Move] = []
    for position, index in enumerate(order, start=1):  # every candidate of every rerank: positional, inline
        hit = candidates[index]
        original = index + 1
        if hit.score is not None:
            before_score: float | None = float(hit.score)
        else:
            before_score = None if hit.distance is None else 1.0 - float(hit.distance)
        moves.append(
            Move(
                hit.uuid,
                hit.text,
                original,
                position,
                original - position,
                before_score,  # retrieval_score(hit)
                scores.get(index),
                position <= top_n < original,  # entered the top N
                original <= top_n < position,  # left it
            )
        )
    return Movement(moves=tuple(moves), summary=summarize(moves, top_n, tied=tied_count(rerank)))


def summarize(moves: Sequence[Move], top_n: int, *, tied: int = 0) -> MovementSummary:
    """Summary statistics of a full permutation of moves (any order); scopes as ``MovementSummary`` says."""
    _check_top_n(top_n)
    n = len(moves)
    originals = [m.original_rank for m in moves]
    news = [m.new_rank for m in moves]
    in_new_order = sorted(moves, key=attrgetter("new_rank"))
    before = sorted(originals)
    after = [m.original_rank for m in in_new_order]

    climbers = [m for m in in_new_order if m.delta > 0]
    fallers = [m for m in in_new_order if m.delta < 0]
    # max()/min() keep the first of equals, i.e. the one ranked higher after reranking.
    biggest_climb = max(climbers, key=lambda m: m.delta) if climbers else None
    biggest_fall = min(fallers, key=lambda m: m.delta) if fallers else None

    return MovementSummary(
        n=n,
        top_n=top_n,
        kendall_tau=kendall_tau(originals, news),
        spearman_rho=spearman_rho(originals, news),
        overlap_at_k={k: overlap_at_k(before, after, k) for k in OVERLAP_KS},
        promoted=len(climbers),
        demoted=len(fallers),
        unchanged=n - len(climbers) - len(fallers),
        biggest_climb=biggest_climb,
        biggest_fall=biggest_fall,
        overlap_at_n=overlap_at_k(before, after, top_n),
        promoted_in_top_n=sum(1 for m in in_new_order[:top_n] if m.delta > 0),
        demoted_in_top_n=sum(1 for m in in_new_order[:top_n] if m.delta < 0),
        unchanged_in_top_n=sum(1 for m in in_new_order[:top_n] if m.delta == 0),
        tied=tied,
    )


def rank_matrix(candidates: Sequence[Hit], results: Mapping[str, RerankResult]) -> pd.DataFrame:
    """Rank of every candidate under retrieval and under each model.

    Rows are candidates in retrieval order, indexed by their 0-based position (index name ``"candidate"``,
    the same number as ``RankedDoc.index``); columns are ``"retrieval"`` followed by the keys of ``results``
    in order; values are 1-based ranks (ints).
    """
    n = len(candidates)
    if RETRIEVAL in results:
        raise InvalidInput(f"'{RETRIEVAL}' is reserved for the original order; rename that model.")
    data: dict[str, list[int]] = {RETRIEVAL: list(range(1, n + 1))}
    for name, result in results.items():
        data[str(name)] = new_ranks(n, result)
    frame = pd.DataFrame(data, index=pd.RangeIndex(n, name="candidate"))
    return frame.astype("int64")


def pairwise_agreement(
    results: Mapping[str, RerankResult], candidates: Sequence[Hit], k: int = 10
) -> pd.DataFrame:
    """Agreement between every pair of orderings (``"retrieval"`` included).

    One row per unordered pair, columns ``a``, ``b``, ``kendall_tau``, ``spearman_rho`` and
    ``overlap@{k}`` (``|top-k(a) ∩ top-k(b)| / k``, k capped at the number of candidates).
    """
    matrix = rank_matrix(candidates, results)
    orders = {name: list(matrix[name].sort_values(kind="stable").index) for name in matrix.columns}
    rows = []
    for a, b in combinations(matrix.columns, 2):
        rows.append(
            {
                "a": a,
                "b": b,
                "kendall_tau": kendall_tau(list(matrix[a]), list(matrix[b])),
                "spearman_rho": spearman_rho(list(matrix[a]), list(matrix[b])),
                f"overlap@{k}": overlap_at_k(orders[a], orders[b], k),
            }
        )
    return pd.DataFrame(rows, columns=["a", "b", "kendall_tau", "spearman_rho", f"overlap@{k}"])
