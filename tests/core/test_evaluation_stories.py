"""Stories as files and values: round trips, bad files named by line and problem, edits, blind pairs, tally."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest

from rerank_playground.errors import BadImportFile, InvalidInput
from rerank_playground.models import Fusion, Operator, SearchMode, SearchRequest
from rerank_playground.presentation import stories
from rerank_playground.presentation.stories import BlindPair, Preference, Story, StoryView
from rerank_playground.rerankers.choice import RerankChoice

LOCAL = RerankChoice("local", "local-wordllama")
JINA = RerankChoice("jina", "jina-reranker-v3")


def view(query: str = "how did writing begin", *choices: RerankChoice, note: str = "") -> StoryView:
    request = SearchRequest(
        collection="DemoWiki", query=query, mode=SearchMode.HYBRID, limit=40, properties=("title", "passage"),
        text_property="passage", operator=Operator.AND, alpha=0.35, fusion=Fusion.RELATIVE_SCORE, embedder="local",
    )
    return StoryView(request=request, choices=choices or (LOCAL,), top_n=7, note=note, title="")


def test_a_story_file_round_trips_every_setting() -> None:
    story = Story("Walkthrough", (view(note="watch rank 10"), view("vaccines", JINA, LOCAL)))
    text = stories.story_to_json(story)
    assert stories.story_from_json(text) == story
    assert json.loads(text)["views"][1]["rerankers"] == [
        {"reranker": "jina", "model": "jina-reranker-v3"}, {"reranker": "local", "model": "local-wordllama"},
    ]


def test_the_demo_story_is_zero_key_without_a_key_and_puts_jina_beside_the_baseline_with_one() -> None:
    free = stories.demo_story(jina_key_present=False)
    paid = stories.demo_story(jina_key_present=True)
    assert len(free.views) == len(paid.views) >= 8
    assert all(v.choices == (LOCAL,) for v in free.views)
    assert all(v.choices == (JINA, LOCAL) for v in paid.views)
    assert all(v.note for v in free.views)


def _bad(text: str) -> BadImportFile:
    with pytest.raises(BadImportFile) as caught:
        stories.story_from_json(text)
    return caught.value


def test_a_bad_view_is_named_by_its_line_and_problem() -> None:
    text = stories.story_to_json(Story("S", (view("one"), view("two"), view("three"))))
    lines = text.splitlines()
    broken = json.loads(text)
    broken["views"][2]["mode"] = "telepathy"
    bad_text = json.dumps(broken, indent=2)
    err = _bad(bad_text)
    assert "view 3" in err.problem and "telepathy" in err.problem
    assert bad_text.splitlines()[err.line - 1].strip() == "{"  # the line where view 3 starts
    assert bad_text.splitlines()[err.line].strip().startswith('"title"')
    assert err.line > lines.index('  "views": [') + 1


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda v: v.update(shown_n=0), '"shown_n" must be a whole number'),
        (lambda v: v.update(limit="fifty"), '"limit" must be a whole number'),
        (lambda v: v.update(k="fifty") or v.pop("limit"), '"k" must be a whole number'),  # an older view
        (lambda v: v.update(rerankers=[]), '"rerankers" must be a list of 1 to 5'),
        (lambda v: v.update(rerankers=[{"reranker": "nope", "model": "x"}]), "unknown reranker 'nope'"),
        (lambda v: v.pop("query"), '"query" is missing'),
        (lambda v: v.update(alpha=3), '"alpha" must be a number from 0 to 1'),
        (lambda v: v.update(note="x" * 2001), '"note" has more than 2000'),
    ],
)
def test_each_kind_of_bad_view_says_what_is_wrong(change, expected: str) -> None:  # type: ignore[no-untyped-def]
    payload = json.loads(stories.story_to_json(Story("S", (view(),))))
    change(payload["views"][0])
    err = _bad(json.dumps(payload, indent=2))
    assert expected in err.problem
    assert err.line == 6  # "{" of the only view, after format / version / name / "views": [


def test_not_json_and_not_a_story_are_refused_whole() -> None:
    err = _bad('{"format": "rerank-playground-story",\n "version": 1,\n "name": }')
    assert err.line == 3 and "not valid JSON" in err.problem
    assert "not a story file" in _bad('{"views": []}').problem
    assert '"views" must be a non-empty list' in _bad(
        '{"format": "rerank-playground-story", "version": 1, "name": "x", "views": []}'
    ).problem


def test_edits_reorder_remove_and_annotate() -> None:
    a, b, c = view("a"), view("b"), view("c")
    story = Story("S", (a, b, c))
    assert story.moved(0, 1).views == (b, a, c)
    assert story.moved(2, -5).views == (c, a, b)  # clamped at the start
    assert story.without(1).views == (a, c)
    assert story.with_note(0, "  look here ").views[0].note == "look here"
    with pytest.raises(InvalidInput):
        story.without(3)


def test_blind_sides_are_random_and_reveal_maps_back() -> None:
    sides = {stories.blind_pair("retrieval", "local", random.Random(seed)).a for seed in range(40)}
    assert sides == {"retrieval", "local"}
    pair = BlindPair(a="local", b="retrieval")
    assert pair.label_of("a") == "local" and pair.label_of("b") == "retrieval" and pair.label_of("tie") is None
    with pytest.raises(InvalidInput):
        stories.blind_pair("x", "x")


def _pick(query: str, a: str, b: str, picked: str) -> Preference:
    return Preference("DemoWiki", query, a, b, picked, "S", datetime.now(UTC))


def test_tally_counts_the_latest_pick_per_query_whatever_side_it_was_on() -> None:
    picks = [
        _pick("q1", "retrieval", "local", "b"),  # local
        _pick("q2", "local", "retrieval", "a"),  # local
        _pick("q3", "retrieval", "local", "a"),  # retrieval, then changed below
        _pick("q3", "local", "retrieval", "tie"),
        _pick("q4", "local", "retrieval", "b"),  # retrieval
    ]
    assert stories.tally(picks) == [
        "local vs retrieval: the room preferred local on 2, retrieval on 1, a tie on 1 of 4 queries."
    ]
