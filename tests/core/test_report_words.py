"""Plain words beside every measure's symbol (issue 19.6): each family the runs compute has words and a definition,
binary measures' definitions name their relevance level, and a column that is not a measure gets none."""

from __future__ import annotations

from rerank_playground.evaluation.metrics import measures_for
from rerank_playground.evaluation.report import MEASURE_WORDS, measure_words


def test_every_measure_of_a_run_has_plain_words() -> None:
    for measure in measures_for(10, relevance_level=2):
        words = measure_words(measure)
        assert words is not None, measure
        plain, definition = words
        assert plain and plain != measure and len(definition) > 30


def test_binary_measures_name_their_relevance_level() -> None:
    assert measure_words("P(rel=2)@10") == (
        "share of the top k that is relevant",
        f"{MEASURE_WORDS['P'][1]} Relevant means grade ≥ 2.",
    )
    assert measure_words("AP(rel=1)")[1].endswith("Relevant means grade ≥ 1.")  # type: ignore[index]
    assert measure_words("nDCG@10") == MEASURE_WORDS["nDCG"]  # graded: no level
    assert measure_words("R(rel=3)@5")[0] == "share of the relevant ones found"  # type: ignore[index]


def test_other_columns_get_no_words() -> None:
    for column in ("ordering", "queries", "mean tokens / query", "tokens spent", "from cache", ""):
        assert measure_words(column) is None, column
