"""evaluation/pooling.py: the Judge view's queue (pooled top N, unjudged only, most disagreement first)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rerank_playground.evaluation.pooling import judge_queue

RETRIEVAL = ["a", "b", "c", "d", "e", "f"]
RERANKED = ["d", "b", "a", "f", "c", "e"]


def test_most_disagreement_first_absent_counts_as_just_beyond_n() -> None:
    # top 4: retrieval a b c d, reranked d b a f. Ranks (0-based, absent = 4):
    # a 0/2 spread 2; b 1/1 spread 0; c 2/4 spread 2; d 3/0 spread 3; f 4/3 spread 1
    assert judge_queue([RETRIEVAL, RERANKED], {}, 4) == ["d", "a", "c", "f", "b"]


def test_judged_documents_are_left_out() -> None:
    assert judge_queue([RETRIEVAL, RERANKED], {"d": 3, "c": 0}, 4) == ["a", "f", "b"]


def test_a_single_ordering_is_its_own_order_and_empty_inputs_are_empty() -> None:
    assert judge_queue([RETRIEVAL], set(), 3) == ["a", "b", "c"]
    assert judge_queue([], {}, 10) == []
    assert judge_queue([RETRIEVAL], {}, 0) == []


def test_three_orderings_and_lists_shorter_than_n() -> None:
    # ranks with n=5 (absent = 5): x 0/5/0 spread 5; y 1/0/5 spread 5; z 5/1/1 spread 4
    assert judge_queue([["x", "y"], ["y", "z"], ["x", "z"]], {}, 5) == ["x", "y", "z"]


@given(
    orderings=st.lists(st.permutations([f"d{i}" for i in range(8)]), min_size=1, max_size=4),
    judged=st.sets(st.sampled_from([f"d{i}" for i in range(8)])),
    top_n=st.integers(1, 8),
)
def test_queue_is_exactly_the_unjudged_pool_without_repeats(
    orderings: list[list[str]], judged: set[str], top_n: int
) -> None:
    queue = judge_queue(orderings, judged, top_n)
    pool = {doc for ordering in orderings for doc in ordering[:top_n]}
    assert len(queue) == len(set(queue))
    assert set(queue) == pool - judged
    spreads = [
        max(o[:top_n].index(d) if d in o[:top_n] else top_n for o in orderings)
        - min(o[:top_n].index(d) if d in o[:top_n] else top_n for o in orderings)
        for d in queue
    ]
    assert spreads == sorted(spreads, reverse=True)
