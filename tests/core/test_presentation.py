"""Present's headline numbers: scoped to what is shown, with a direction cue; and the note's passage found."""

from __future__ import annotations

from rerank_playground import movement
from rerank_playground.demo.suggestions import SUGGESTED_QUERIES
from rerank_playground.models import Hit, RankedDoc, RerankResult, SearchMode, SearchRequest, SearchResult
from rerank_playground.outcomes import RerankRun
from rerank_playground.presentation.presenter import change_words, headline, note_passages
from rerank_playground.presentation.stories import StoryView
from rerank_playground.rerankers.choice import RerankChoice

CHOICE = RerankChoice("local", "local-wordllama")


def run_of(order: list[int], top_n: int = 3, query: str = "q") -> RerankRun:
    request = SearchRequest(collection="DemoWiki", query=query, mode=SearchMode.KEYWORD, limit=len(order))
    hits = tuple(Hit(rank=i + 1, uuid=f"u{i}", text=f"doc {i}") for i in range(len(order)))
    result = RerankResult("local", "local-wordllama", tuple(RankedDoc(i, 1 - k / 100) for k, i in enumerate(order)),
                          1.0)
    return RerankRun(SearchResult(request, hits, 1.0), CHOICE, result, movement.compute_movement(hits, result, top_n),
                     top_n)


def test_the_biggest_climb_is_the_one_the_room_sees_in_the_top_n() -> None:
    # #10 -> #4 is the biggest climb overall (6 places) but lands outside the top 3; #5 -> #1 (4) is in view.
    order = [4, 0, 1, 9, 2, 3, 5, 6, 7, 8]
    numbers = headline(run_of(order, top_n=3))
    assert numbers.biggest_climb == "#5 → #1" and numbers.climb_places == 4
    assert run_of(order, top_n=3).movement.summary.biggest_climb.original_rank == 10  # type: ignore[union-attr]
    assert headline(run_of(list(range(5)), top_n=3)).biggest_climb == "—"  # nothing climbed in the top 3


def test_an_ndcg_change_says_its_direction_in_a_glyph_and_a_word() -> None:
    assert change_words(0.45, 0.57) == "▲ +0.12 better"
    assert change_words(0.45, 0.44) == "▼ −0.01 worse"
    assert change_words(0.451, 0.449) == "● no change"  # both show as 0.45: the words agree with the numbers
    assert change_words(None, 0.5) == ""


def test_the_notes_passage_is_the_suggestions_evidence_among_the_candidates() -> None:
    suggestion = SUGGESTED_QUERIES["DemoWiki"][0]
    request = SearchRequest(collection="DemoWiki", query=suggestion.query.upper(), mode=SearchMode.HYBRID, limit=3)
    hits = (Hit(1, "a", "unrelated"), Hit(2, "b", f"... {suggestion.look_for} ..."), Hit(3, "c", "other"))
    search = SearchResult(request, hits, 1.0)
    view = StoryView(request=request, choices=(CHOICE,), top_n=3, note=suggestion.why)
    assert note_passages(view, search) == frozenset({"b"})
    own = StoryView(request=request, choices=(CHOICE,), top_n=3, note="")  # no note: nothing to point at
    assert note_passages(own, search) == frozenset()
    elsewhere = StoryView(request=SearchRequest(collection="Mine", query=suggestion.query, mode=SearchMode.HYBRID,
                                                limit=3), choices=(CHOICE,), top_n=3, note="my note")
    assert note_passages(elsewhere, search) == frozenset()
