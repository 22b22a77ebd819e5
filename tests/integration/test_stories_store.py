"""Stories and blind A/B picks in the store, on SQLite and PostgreSQL (the ``store_url`` fixture)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from rerank_playground.errors import InvalidInput, StoryNotFound
from rerank_playground.evaluation import stories
from rerank_playground.evaluation.store import Store, open_store
from rerank_playground.evaluation.stories import BlindPair, Story
from tests.core.test_evaluation_stories import JINA, LOCAL, view


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as opened:
        yield opened


def test_migration_three_adds_the_story_tables(store: Store) -> None:
    assert store.schema_version() >= 3


def test_save_load_reorder_rename_delete(store: Store) -> None:
    a, b, c = view("a", note="look at a"), view("b", JINA, LOCAL), view("c")
    stories.save_story(store, Story("Walkthrough", (a, b, c)))
    assert stories.load_story(store, "Walkthrough") == Story("Walkthrough", (a, b, c))
    stories.save_story(store, stories.load_story(store, "Walkthrough").moved(2, -2).without(2))
    assert stories.load_story(store, "Walkthrough").views == (c, a)
    stories.rename_story(store, "Walkthrough", "  Board meeting ")
    assert stories.story_names(store) == ["Board meeting"]
    stories.save_story(store, Story("Other", (a,)))
    with pytest.raises(InvalidInput, match="already a story named"):
        stories.rename_story(store, "Other", "Board meeting")
    stories.delete_story(store, "Board meeting")
    assert stories.story_names(store) == ["Other"]
    with pytest.raises(StoryNotFound):
        stories.load_story(store, "Board meeting")


def test_add_view_creates_then_appends(store: Store) -> None:
    stories.add_view(store, "New", view("one"))
    story = stories.add_view(store, "New", view("two"))
    assert [v.request.query for v in stories.load_story(store, "New").views] == ["one", "two"] == [
        v.request.query for v in story.views
    ]


def test_concurrent_additions_lose_no_view_on_distinct_stories(store: Store) -> None:
    def add(name: str) -> None:
        for i in range(5):
            stories.add_view(store, name, view(f"{name}-{i}"))

    threads = [threading.Thread(target=add, args=(f"s{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n in range(4):
        assert len(stories.load_story(store, f"s{n}").views) == 5


def test_the_demo_story_loads_once_and_keeps_a_presenters_edits(store: Store) -> None:
    assert stories.load_demo_story(store, jina_key_present=False)
    edited = stories.load_story(store, stories.DEMO_STORY).without(0)
    stories.save_story(store, edited)
    assert not stories.load_demo_story(store, jina_key_present=True)
    assert stories.load_story(store, stories.DEMO_STORY) == edited


def test_blind_picks_are_stored_with_the_query_and_reveal_the_sides(store: Store) -> None:
    pair = BlindPair(a="local baseline (WordLlama)", b="retrieval")
    saved = stories.record_preference(store, "DemoWiki", "  How did  WRITING begin ", pair, "a", story="S")
    stories.record_preference(store, "DemoWiki", "vaccines", BlindPair(a="retrieval", b="local baseline (WordLlama)"),
                              "tie", story="S")
    stories.record_preference(store, "DemoWiki", "elsewhere", pair, "b", story="Other")
    picks = stories.preferences(store, story="S")
    assert [(p.query, p.a_label, p.b_label, p.picked) for p in picks] == [
        ("how did writing begin", "local baseline (WordLlama)", "retrieval", "a"),
        ("vaccines", "retrieval", "local baseline (WordLlama)", "tie"),
    ]
    assert picks[0].winner == "local baseline (WordLlama)" == saved.winner and picks[1].winner is None
    assert stories.tally(picks) == [
        "local baseline (WordLlama) vs retrieval: the room preferred local baseline (WordLlama) on 1, "
        "retrieval on 0, a tie on 1 of 2 queries."
    ]
    with pytest.raises(InvalidInput):
        stories.record_preference(store, "DemoWiki", "q", pair, "both")
    assert len(stories.preferences(store)) == 3
