"""Stories and blind A/B picks in the store, on SQLite and PostgreSQL (the ``store_url`` fixture)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from rerank_playground.errors import InvalidInput, StoryNotFound
from rerank_playground.presentation import stories
from rerank_playground.presentation.stories import BlindPair, Story
from rerank_playground.store import Store, open_store
from tests.core.test_evaluation_stories import JINA, LOCAL, view


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as opened:
        yield opened


def test_migration_three_adds_the_story_tables(store: Store) -> None:
    assert store.schema_version() >= 3


def test_save_load_reorder_rename_delete(store: Store) -> None:
    a, b, c = view("a", note="look at a"), view("b", JINA, LOCAL), view("c")
    store.save_story(Story("Walkthrough", (a, b, c)))
    assert store.load_story("Walkthrough") == Story("Walkthrough", (a, b, c))
    store.save_story(store.load_story("Walkthrough").moved(2, -2).without(2))
    assert store.load_story("Walkthrough").views == (c, a)
    store.rename_story("Walkthrough", "  Board meeting ")
    assert store.story_names() == ["Board meeting"]
    store.save_story(Story("Other", (a,)))
    with pytest.raises(InvalidInput, match="already a story named"):
        store.rename_story("Other", "Board meeting")
    store.delete_story("Board meeting")
    assert store.story_names() == ["Other"]
    with pytest.raises(StoryNotFound):
        store.load_story("Board meeting")


def test_add_view_creates_then_appends(store: Store) -> None:
    store.add_story_view("New", view("one"))
    story = store.add_story_view("New", view("two"))
    assert [v.request.query for v in store.load_story("New").views] == ["one", "two"] == [
        v.request.query for v in story.views
    ]


def test_concurrent_additions_lose_no_view_on_distinct_stories(store: Store) -> None:
    def add(name: str) -> None:
        for i in range(5):
            store.add_story_view(name, view(f"{name}-{i}"))

    threads = [threading.Thread(target=add, args=(f"s{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n in range(4):
        assert len(store.load_story(f"s{n}").views) == 5


def test_the_demo_story_loads_once_and_keeps_a_presenters_edits(store: Store) -> None:
    assert store.save_story_if_new(stories.demo_story(jina_key_present=False))
    edited = store.load_story(stories.DEMO_STORY).without(0)
    store.save_story(edited)
    assert not store.save_story_if_new(stories.demo_story(jina_key_present=True))
    assert store.load_story(stories.DEMO_STORY) == edited


def test_blind_picks_are_stored_with_the_query_and_reveal_the_sides(store: Store) -> None:
    pair = BlindPair(a="local baseline (WordLlama)", b="retrieval")
    saved = store.record_preference("DemoWiki", "  How did  WRITING begin ", pair, "a", story="S")
    store.record_preference("DemoWiki", "vaccines", BlindPair(a="retrieval", b="local baseline (WordLlama)"),
                              "tie", story="S")
    store.record_preference("DemoWiki", "elsewhere", pair, "b", story="Other")
    picks = store.preferences(story="S")
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
        store.record_preference("DemoWiki", "q", pair, "both")
    assert len(store.preferences()) == 3
