"""Present's list of a story's views is drawn a page at a time (issue 24.4): a 100-view story draws 20 rows,
the page controls step through the rest, and a view moved across a page boundary stays in sight."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from components.present_view import VIEWS_PER_PAGE, views_page
from rerank_playground.presentation import stories
from rerank_playground.presentation.stories import Story
from rerank_playground.store import open_store
from tests.app.conftest import AppEnv
from tests.app.helpers import assert_healthy

STORY = "A long talk"
VIEWS = stories.MAX_VIEWS


def _rows(at) -> list[int]:  # type: ignore[no-untyped-def]
    """The indexes of the views whose row is drawn (each row has a "Move up" button keyed by its index)."""
    return sorted(int(b.key.removeprefix("present.up")) for b in at.button if b.key.startswith("present.up"))


def _long_story(store_file: Path) -> None:
    template = stories.demo_story(jina_key_present=False).views[0]
    views = tuple(replace(template, title=f"View number {i + 1}") for i in range(VIEWS))
    with open_store(str(store_file)) as store:
        store.save_story(Story(STORY, views))


def test_views_page_clamps_to_the_pages_there_are() -> None:
    assert views_page(0, 0) == (0, range(0, 0))
    assert views_page(20, 1) == (0, range(0, 20))
    assert views_page(45, 2) == (2, range(40, 45))
    assert views_page(45, 9) == (2, range(40, 45))  # a story that shrank shows its last page
    assert views_page(45, -1) == (0, range(0, 20))


def test_a_long_story_draws_one_page_of_views(app_env: AppEnv, private_store: Path) -> None:
    _long_story(private_store)
    at = app_env.new_app().run()
    at.switch_page("pages/present.py").run()
    assert_healthy(at)
    assert at.selectbox(key="present.story_select").value == STORY
    assert _rows(at) == list(range(VIEWS_PER_PAGE))
    assert any(f"Views 1–20 of {VIEWS} (page 1 of 5)" in c.value for c in at.caption)
    assert at.button(key="present.views_prev").disabled

    at.button(key="present.views_next").click().run()
    assert _rows(at) == list(range(20, 40))
    assert any("View number 21" in m.value for m in at.markdown)

    at.button(key="present.down39").click().run()  # the last row of page 2 moves onto page 3: follow it
    assert _rows(at) == list(range(40, 60))
    with open_store(str(private_store)) as store:
        assert store.load_story(STORY).views[40].title == "View number 40"

    for _ in range(4):
        if at.button(key="present.views_next").disabled:
            break
        at.button(key="present.views_next").click().run()
    assert _rows(at) == list(range(80, 100))
    assert at.button(key="present.views_next").disabled
    assert_healthy(at)
