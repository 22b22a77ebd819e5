"""Stories and the room's blind A/B picks in the store (tables ``stories``, ``story_views``, ``preferences``,
schema version 3). A view is kept as the JSON of ``presentation.stories.view_to_dict``."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa

from rerank_playground.errors import InvalidInput, StoryNotFound
from rerank_playground.evaluation.judgments import normalise_query
from rerank_playground.presentation.stories import (
    MAX_VIEWS,
    PICKS,
    BlindPair,
    Preference,
    Story,
    StoryView,
    check_name,
    view_from_dict,
    view_to_dict,
)
from rerank_playground.store import tables
from rerank_playground.store.engine import Database


def _story_id(connection: sa.Connection, name: str) -> int:
    """The id of story ``name``; :class:`StoryNotFound` when there is none."""
    story_id: int | None = connection.execute(
        sa.select(tables.stories.c.id).where(tables.stories.c.name == name)
    ).scalar_one_or_none()
    if story_id is None:
        raise StoryNotFound(name)
    return story_id


class Stories(Database):
    """Stories (named, ordered views) and the blind A/B preferences recorded while presenting them."""

    def save_story(self, story: Story) -> None:
        """Create or replace (by name) a story, views and order, in one transaction."""
        name = check_name(story.name)
        if len(story.views) > MAX_VIEWS:
            raise InvalidInput(f"A story has at most {MAX_VIEWS} views; this one would have {len(story.views)}.",
                               hint="Start another story for the rest.")
        stories, story_views = tables.stories, tables.story_views
        insert = self.insert(stories)
        with self.write() as connection:
            story_id = connection.execute(
                insert.on_conflict_do_update(index_elements=["name"], set_={"updated_at": insert.excluded.updated_at})
                .returning(stories.c.id),
                {"name": name, "updated_at": datetime.now(UTC)},
            ).scalar_one()
            connection.execute(story_views.delete().where(story_views.c.story_id == story_id))
            if story.views:
                connection.execute(
                    story_views.insert(),
                    [
                        {"story_id": story_id, "position": i, "view": json.dumps(view_to_dict(v), ensure_ascii=False)}
                        for i, v in enumerate(story.views)
                    ],
                )

    def save_story_if_new(self, story: Story) -> bool:
        """Save ``story`` unless a story of its name exists (e.g. the demo story: a presenter's edits are kept).
        True: saved."""
        if story.name in self.story_names():
            return False
        self.save_story(story)
        return True

    def story_names(self) -> list[str]:
        with self.read() as connection:
            return list(connection.execute(sa.select(tables.stories.c.name).order_by(tables.stories.c.name)).scalars())

    def load_story(self, name: str) -> Story:
        story_views = tables.story_views
        with self.read() as connection:
            story_id = _story_id(connection, name)
            rows = connection.execute(
                sa.select(story_views.c.view)
                .where(story_views.c.story_id == story_id)
                .order_by(story_views.c.position)
            ).scalars()
            views = tuple(view_from_dict(json.loads(row)) for row in rows)
        return Story(name=name, views=views)

    def delete_story(self, name: str) -> None:
        stories, story_views = tables.stories, tables.story_views
        with self.write() as connection:
            story_id = _story_id(connection, name)
            connection.execute(story_views.delete().where(story_views.c.story_id == story_id))
            connection.execute(stories.delete().where(stories.c.id == story_id))

    def rename_story(self, old: str, new: str) -> None:
        new = check_name(new)
        stories = tables.stories
        with self.write() as connection:
            taken = connection.execute(sa.select(stories.c.id).where(stories.c.name == new)).first()
            if taken is not None and new != old:
                raise InvalidInput(f"There is already a story named {new!r}.", hint="Pick another name.")
            done = connection.execute(
                stories.update().where(stories.c.name == old).values(name=new, updated_at=datetime.now(UTC))
            )
            if done.rowcount == 0:
                raise StoryNotFound(old)

    def add_story_view(self, name: str, view: StoryView) -> Story:
        """Append ``view`` to story ``name`` (created when new)."""
        try:
            story = self.load_story(name)
        except StoryNotFound:
            story = Story(name=check_name(name))
        story = story.with_view(view)
        self.save_story(story)
        return story

    def record_preference(
        self, collection: str, query: str, pair: BlindPair, picked: str, *, story: str | None = None
    ) -> Preference:
        if picked not in PICKS:
            raise InvalidInput(f"A pick is one of {', '.join(PICKS)}, not {picked!r}.")
        preference = Preference(
            collection=collection, query=normalise_query(query), a_label=pair.a, b_label=pair.b, picked=picked,
            story=story, picked_at=datetime.now(UTC),
        )
        with self.write() as connection:
            connection.execute(
                tables.preferences.insert(),
                {
                    "collection": preference.collection, "query": preference.query, "story": story,
                    "a_label": pair.a, "b_label": pair.b, "picked": picked, "picked_at": preference.picked_at,
                },
            )
        return preference

    def preferences(self, *, story: str | None = None) -> list[Preference]:
        table = tables.preferences
        query = sa.select(table).order_by(table.c.id)
        if story is not None:
            query = query.where(table.c.story == story)
        with self.read() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            Preference(
                collection=row["collection"], query=row["query"], a_label=row["a_label"], b_label=row["b_label"],
                picked=row["picked"], story=row["story"],
                picked_at=row["picked_at"] if row["picked_at"].tzinfo else row["picked_at"].replace(tzinfo=UTC),
            )
            for row in rows
        ]
