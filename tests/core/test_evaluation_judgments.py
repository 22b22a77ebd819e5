"""evaluation/judgments.py: the query identity and the grade scale."""

from __future__ import annotations

from rerank_playground.evaluation.judgments import normalise_query
from rerank_playground.models import GRADES


def test_normalise_query_strips_collapses_whitespace_and_casefolds() -> None:
    assert normalise_query("  Animal \t BEHAVIOUR\n") == "animal behaviour"
    assert normalise_query("Straße") == normalise_query("STRASSE") == "strasse"
    assert normalise_query("   ") == ""


def test_grades_are_the_trec_scale() -> None:
    assert GRADES == {0: "not relevant", 1: "related", 2: "relevant", 3: "perfect"}
