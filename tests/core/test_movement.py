"""movement.py: per-document moves, summary statistics, rank matrix and agreement."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rerank_playground.errors import InvalidInput
from rerank_playground.models import Hit, RankedDoc, RerankResult
from rerank_playground.movement import (
    OVERLAP_KS,
    compute_movement,
    full_order,
    overlap_at_k,
    pairwise_agreement,
    rank_matrix,
    retrieval_score,
)


def hits(n: int, *, vector: bool = False) -> list[Hit]:
    if vector:
        return [Hit(rank=i + 1, uuid=f"u{i}", text=f"doc {i}", distance=0.1 * i) for i in range(n)]
    return [Hit(rank=i + 1, uuid=f"u{i}", text=f"doc {i}", score=10.0 - i) for i in range(n)]


def result(order: list[int], model: str = "m") -> RerankResult:
    """Ranked best first; scores 1.0, 0.9, ... so they are easy to check."""
    ranked = tuple(RankedDoc(index=i, score=round(1.0 - 0.1 * pos, 6)) for pos, i in enumerate(order))
    return RerankResult(reranker="test", model=model, ranked=ranked, latency_ms=1.0)


# --- hand-computed example -------------------------------------------------------------------------
# Candidates d0..d4 (original ranks 1..5). Reranked order: d2, d0, d1, d4, d3.
#   d2: 3 -> 1, delta +2      d0: 1 -> 2, delta -1      d1: 2 -> 3, delta -1
#   d4: 5 -> 4, delta +1      d3: 4 -> 5, delta -1
# With top_n = 2: d2 entered (1 <= 2 < 3); d1 left (2 <= 2 < 3).
ORDER = [2, 0, 1, 4, 3]


def test_moves_hand_computed() -> None:
    mv = compute_movement(hits(5), result(ORDER), top_n=2)
    assert [m.uuid for m in mv.moves] == ["u2", "u0", "u1", "u4", "u3"]  # reranked order
    assert [(m.original_rank, m.new_rank, m.delta) for m in mv.moves] == [
        (3, 1, 3 - 1),
        (1, 2, 1 - 2),
        (2, 3, 2 - 3),
        (5, 4, 5 - 4),
        (4, 5, 4 - 5),
    ]
    assert [m.entered_top_n for m in mv.moves] == [True, False, False, False, False]
    assert [m.left_top_n for m in mv.moves] == [False, False, True, False, False]
    assert mv.moves[0].rerank_score == 1.0
    assert mv.moves[0].retrieval_score == 10.0 - 2  # Hit.score of d2
    assert mv.moves[0].text == "doc 2"


def test_summary_hand_computed() -> None:
    s = compute_movement(hits(5), result(ORDER), top_n=2).summary
    # Pairs (original, new): (1,2) (2,3) (3,1) (4,5) (5,4). Of the C(5,2) = 10 pairs, discordant:
    # d0/d2, d1/d2, d3/d4 = 3 -> tau = (7 - 3) / 10.
    assert s.kendall_tau == pytest.approx((7 - 3) / 10)
    # d = new - original: 1, 1, -2, 1, -1 -> sum d^2 = 8; rho = 1 - 6 * 8 / (5 * (25 - 1)).
    assert s.spearman_rho == pytest.approx(1 - 6 * 8 / (5 * (25 - 1)))
    # Top lists: before [d0,d1,d2,d3,d4], after [d2,d0,d1,d4,d3].
    assert s.overlap_at_k[1] == 0 / 1
    assert s.overlap_at_k[3] == pytest.approx(3 / 3)
    assert s.overlap_at_k[5] == pytest.approx(5 / 5)
    assert s.overlap_at_k[10] == pytest.approx(5 / 5)  # k capped at n
    assert (s.promoted, s.demoted, s.unchanged) == (2, 3, 0)
    assert s.biggest_climb is not None and s.biggest_climb.uuid == "u2"
    # Three documents fell by one; the first in reranked order wins the tie.
    assert s.biggest_fall is not None and s.biggest_fall.uuid == "u0"
    assert (s.n, s.top_n) == (5, 2)


def test_unreturned_candidates_follow_in_original_order() -> None:
    # The reranker returned only d3 and d1 (top_n = 2): d0, d2, d4 follow in original order.
    mv = compute_movement(hits(5), result([3, 1]), top_n=2)
    assert [m.uuid for m in mv.moves] == ["u3", "u1", "u0", "u2", "u4"]
    assert [m.new_rank for m in mv.moves] == [1, 2, 3, 4, 5]
    assert [m.rerank_score for m in mv.moves] == [1.0, 0.9, None, None, None]
    assert sum(m.delta for m in mv.moves) == 0


def test_vector_search_retrieval_score_is_one_minus_distance() -> None:
    mv = compute_movement(hits(3, vector=True), result([1, 0, 2]), top_n=1)
    assert [m.retrieval_score for m in mv.moves] == pytest.approx([1 - 0.1, 1 - 0.0, 1 - 0.2])
    assert retrieval_score(Hit(rank=1, uuid="x", text="")) is None
    assert retrieval_score(Hit(rank=1, uuid="x", text="", score=0.0, distance=0.5)) == 0.0


def test_nothing_moved_has_no_biggest_moves() -> None:
    s = compute_movement(hits(4), result([0, 1, 2, 3]), top_n=2).summary
    assert s.biggest_climb is None and s.biggest_fall is None
    assert s.unchanged == 4


@pytest.mark.parametrize("n", [0, 1])
def test_tiny_lists_have_undefined_correlations(n: int) -> None:
    s = compute_movement(hits(n), result(list(range(n))), top_n=3).summary
    assert s.kendall_tau is None and s.spearman_rho is None  # undefined, not a perfect 1.0
    assert all(v == 1.0 for v in s.overlap_at_k.values())


@pytest.mark.parametrize(
    ("order", "message"),
    [([0, 5], "index 5"), ([0, -1], "index -1"), ([1, 1], "more than once")],
)
def test_bad_indices_raise_invalid_input(order: list[int], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        compute_movement(hits(3), result(order), top_n=2)


@pytest.mark.parametrize("top_n", [0, -1])
def test_bad_top_n(top_n: int) -> None:
    with pytest.raises(InvalidInput):
        compute_movement(hits(3), result([0, 1, 2]), top_n=top_n)


def test_overlap_at_k_formula() -> None:
    # top-3 of [a b c d] vs [c d a b]: {a,b,c} ∩ {c,d,a} = {a,c} -> 2/3
    assert overlap_at_k("abcd", "cdab", 3) == pytest.approx(2 / 3)
    assert overlap_at_k("ab", "ba", 10) == 1.0
    with pytest.raises(InvalidInput):
        overlap_at_k("ab", "ab", 0)


# --- several models -------------------------------------------------------------------------------


def test_rank_matrix() -> None:
    frame = rank_matrix(hits(4), {"a": result([3, 2, 1, 0]), "b": result([1])})
    assert list(frame.columns) == ["retrieval", "a", "b"]
    assert frame.index.name == "candidate"
    assert frame["retrieval"].tolist() == [1, 2, 3, 4]
    assert frame["a"].tolist() == [4, 3, 2, 1]  # reversed
    # b returned only d1; d0, d2, d3 follow in original order.
    assert frame["b"].tolist() == [2, 1, 3, 4]
    with pytest.raises(InvalidInput):
        rank_matrix(hits(2), {"retrieval": result([0, 1])})


def test_pairwise_agreement() -> None:
    cands = hits(4)
    agreement = pairwise_agreement({"same": result([0, 1, 2, 3]), "rev": result([3, 2, 1, 0])}, cands)
    assert list(agreement.columns) == ["a", "b", "kendall_tau", "spearman_rho", "overlap@10"]
    rows = {(r.a, r.b): r for r in agreement.itertuples(index=False)}
    assert set(rows) == {("retrieval", "same"), ("retrieval", "rev"), ("same", "rev")}
    assert rows[("retrieval", "same")].kendall_tau == pytest.approx(1.0)
    assert rows[("retrieval", "rev")].kendall_tau == pytest.approx(-1.0)
    assert rows[("same", "rev")].kendall_tau == pytest.approx(-1.0)
    # overlap@10 capped at 4 documents: the same 4 either way.
    assert rows[("same", "rev")][4] == 1.0
    overlap_2 = pairwise_agreement({"rev": result([3, 2, 1, 0])}, cands, k=2)
    assert overlap_2["overlap@2"].tolist() == [0 / 2]  # {d0,d1} vs {d3,d2}


# --- properties -----------------------------------------------------------------------------------


@st.composite
def permutations(draw: st.DrawFn, min_size: int = 0, max_size: int = 60) -> list[int]:
    n = draw(st.integers(min_value=min_size, max_value=max_size))
    return draw(st.permutations(list(range(n))))


@settings(max_examples=150, deadline=None)
@given(order=permutations(), top_n=st.integers(min_value=1, max_value=70))
def test_properties_of_full_permutations(order: list[int], top_n: int) -> None:
    n = len(order)
    mv = compute_movement(hits(n), result(order), top_n)
    s = mv.summary
    assert sum(m.delta for m in mv.moves) == 0
    assert s.promoted + s.demoted + s.unchanged == n
    assert sorted(m.new_rank for m in mv.moves) == list(range(1, n + 1))
    assert sorted(m.original_rank for m in mv.moves) == list(range(1, n + 1))
    assert [m.new_rank for m in mv.moves] == list(range(1, n + 1))  # reranked order
    assert all(0.0 <= v <= 1.0 for v in s.overlap_at_k.values())
    assert set(s.overlap_at_k) == set(OVERLAP_KS)
    assert sum(m.entered_top_n for m in mv.moves) == sum(m.left_top_n for m in mv.moves)
    if n >= 2:
        assert s.kendall_tau is not None and s.spearman_rho is not None
        assert -1.0 - 1e-9 <= s.kendall_tau <= 1.0 + 1e-9
        assert -1.0 - 1e-9 <= s.spearman_rho <= 1.0 + 1e-9
        assert not math.isnan(s.kendall_tau) and not math.isnan(s.spearman_rho)
    assert full_order(n, result(order)) == tuple(order)


@settings(max_examples=50, deadline=None)
@given(n=st.integers(min_value=0, max_value=80), top_n=st.integers(min_value=1, max_value=20))
def test_identity_order(n: int, top_n: int) -> None:
    mv = compute_movement(hits(n), result(list(range(n))), top_n)
    if n >= 2:
        assert mv.summary.kendall_tau == pytest.approx(1.0)
        assert mv.summary.spearman_rho == pytest.approx(1.0)
    assert all(m.delta == 0 for m in mv.moves)
    assert (mv.summary.promoted, mv.summary.demoted) == (0, 0)
    assert all(v == 1.0 for v in mv.summary.overlap_at_k.values())
    assert not any(m.entered_top_n or m.left_top_n for m in mv.moves)


@settings(max_examples=50, deadline=None)
@given(n=st.integers(min_value=2, max_value=80))
def test_reversed_order(n: int) -> None:
    s = compute_movement(hits(n), result(list(range(n))[::-1]), top_n=1).summary
    assert s.kendall_tau == pytest.approx(-1.0)
    assert s.spearman_rho == pytest.approx(-1.0)
    # The middle document of an odd list stays put; everything else moves.
    assert s.unchanged == n % 2
    assert s.biggest_climb is not None and s.biggest_climb.delta == n - 1


@settings(max_examples=100, deadline=None)
@given(order=permutations(min_size=1), data=st.data())
def test_partial_results_keep_a_full_permutation(order: list[int], data: st.DataObject) -> None:
    n = len(order)
    kept = data.draw(st.integers(min_value=0, max_value=n))
    mv = compute_movement(hits(n), result(order[:kept]), top_n=max(1, kept))
    assert sum(m.delta for m in mv.moves) == 0
    assert sum(m.rerank_score is not None for m in mv.moves) == kept
    unreturned = [m.original_rank for m in mv.moves[kept:]]
    assert unreturned == sorted(unreturned)


@given(st.permutations(list(range(12))), st.permutations(list(range(12))))
def test_fast_paths_equal_scipy_on_rankings_without_ties(a, b):
    from scipy import stats as scipy_stats

    from rerank_playground.movement import kendall_tau, spearman_rho

    assert kendall_tau(a, b) == pytest.approx(scipy_stats.kendalltau(a, b).statistic, abs=1e-12)
    assert spearman_rho(a, b) == pytest.approx(scipy_stats.spearmanr(a, b).statistic, abs=1e-12)


def test_rankings_with_ties_fall_back_to_scipy():
    from scipy import stats as scipy_stats

    from rerank_playground.movement import kendall_tau, spearman_rho

    a, b = [1, 2, 2, 3, 4], [2, 1, 3, 3, 5]
    assert kendall_tau(a, b) == pytest.approx(scipy_stats.kendalltau(a, b).statistic)
    assert spearman_rho(a, b) == pytest.approx(scipy_stats.spearmanr(a, b).statistic)


# --- statistics at the edges (issue 10, part 4) -----------------------------------------------------


def test_spearman_of_values_that_are_not_a_permutation_matches_scipy() -> None:
    from rerank_playground.movement import spearman_rho

    assert spearman_rho([1, 2, 10], [10, 2, 1]) == pytest.approx(-1.0)  # the old fast path gave -39.5


def test_a_constant_ranking_has_undefined_correlations() -> None:
    from rerank_playground.movement import kendall_tau, spearman_rho

    assert kendall_tau([1, 1, 1], [1, 2, 3]) is None
    assert spearman_rho([1, 2, 3], [4, 4, 4]) is None


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(pairs=st.lists(st.tuples(st.one_of(st.integers(-5, 5), finite), st.one_of(st.integers(-5, 5), finite)),
                      min_size=0, max_size=30))
def test_correlations_equal_scipy_on_arbitrary_inputs(pairs: list[tuple[float, float]]) -> None:
    """Any values, ties and constants included: our number is scipy's, and undefined where scipy says nan."""
    import warnings

    from scipy import stats as scipy_stats

    from rerank_playground.movement import kendall_tau, spearman_rho

    a = [p[0] for p in pairs]
    b = [p[1] for p in pairs]
    for ours, theirs in ((kendall_tau, scipy_stats.kendalltau), (spearman_rho, scipy_stats.spearmanr)):
        if len(a) < 2:
            assert ours(a, b) is None
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy warns on constant input; it answers nan
            expected = float(theirs(a, b).statistic)
        got = ours(a, b)
        if math.isnan(expected):
            assert got is None
        else:
            assert got == pytest.approx(expected, abs=1e-9)


def test_tied_rerank_scores_keep_retrieval_order_and_are_counted() -> None:
    """The API listed d2 before d1 with the very same score: that order is not the model's decision."""
    ranked = (RankedDoc(0, 0.9), RankedDoc(2, 0.5), RankedDoc(1, 0.5), RankedDoc(3, 0.1))
    rerank = RerankResult(reranker="test", model="m", ranked=ranked, latency_ms=1.0)
    mv = compute_movement(hits(4), rerank, top_n=2)
    assert [m.uuid for m in mv.moves] == ["u0", "u1", "u2", "u3"]
    assert all(m.delta == 0 for m in mv.moves)
    assert mv.summary.tied == 2


def test_summary_scopes_all_k_and_shown_n() -> None:
    # ORDER d2, d0, d1, d4, d3 with N = 2: top 2 before {d0, d1}, after {d2, d0} -> overlap 1/2.
    s = compute_movement(hits(5), result(ORDER), top_n=2).summary
    assert s.overlap_at_n == pytest.approx(1 / 2)
    assert (s.promoted, s.demoted, s.unchanged) == (2, 3, 0)  # all 5
    assert (s.promoted_in_top_n, s.demoted_in_top_n, s.unchanged_in_top_n) == (1, 1, 0)  # d2 up, d0 down
    assert s.shown == 2
