"""Which documents to judge first: the Judge view's queue (pure)."""

from __future__ import annotations

from collections.abc import Collection, Sequence


def judge_queue(orderings: Sequence[Sequence[str]], grades: Collection[str], top_n: int) -> list[str]:
    """The unjudged documents of the pooled top ``top_n`` of every ordering, most disagreement first.

    Disagreement is the spread of a document's ranks across the orderings (max - min, 0-based), a document absent
    from an ordering's top ``top_n`` counting as rank ``top_n`` (just beyond the cut). Those are the documents that
    decide which ordering is better. Ties go to the document ranked best anywhere, then to first appearance
    (retrieval order first), so the queue is deterministic. ``grades`` is anything holding the judged doc ids
    (e.g. the dict from ``Store.grades``).
    """
    if top_n < 1:
        return []
    tops = [list(dict.fromkeys(ordering))[:top_n] for ordering in orderings]
    ranks = [{doc_id: rank for rank, doc_id in enumerate(top)} for top in tops]
    pooled = [doc_id for doc_id in dict.fromkeys(d for top in tops for d in top) if doc_id not in grades]

    def key(item: tuple[int, str]) -> tuple[int, int, int]:
        first_seen, doc_id = item
        positions = [ordering_ranks.get(doc_id, top_n) for ordering_ranks in ranks]
        return (-(max(positions) - min(positions)), min(positions), first_seen)

    return [doc_id for _, doc_id in sorted(enumerate(pooled), key=key)]
