"""Stories: ordered saved views to present, kept in the store; and the room's blind A/B picks.

A view is everything needed to show one result again: the search (collection, mode, query, K, properties,
alpha, fusion, operator, query-vector source), the reranker(s) (one: a Search view; several: a Compare view),
the shown N, and a short "what to look for" note. A story is a named, ordered list of views.

The tables come from migration 3 (``migrations/v0003_stories.py``); a view is kept as JSON text so a later
field does not need a migration. Edits are pure functions on :class:`Story` (``with_view``, ``moved``, ...)
followed by :func:`save_story`, which replaces the story in one transaction.

A story file (``story_to_json`` / ``story_from_json``) is the same JSON; a bad file raises ``BadImportFile``
naming the line of the view that is wrong and what is wrong with it, and nothing is imported.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from rerank_playground.catalog import declared_rerank_property
from rerank_playground.demo.datasets import DEMO_COLLECTIONS
from rerank_playground.demo.suggestions import SUGGESTED_QUERIES
from rerank_playground.errors import BadImportFile, InvalidInput, StoryNotFound
from rerank_playground.evaluation import files
from rerank_playground.evaluation.cutoff import Cut
from rerank_playground.evaluation.models import normalise_query
from rerank_playground.evaluation.store import Store, metadata
from rerank_playground.limits import MAX_COMPARED, MAX_K
from rerank_playground.models import MAX_FIELD_CHARS, SearchMode, SearchRequest
from rerank_playground.rerankers import provider_names
from rerank_playground.rerankers.catalog import LOCAL_MODEL
from rerank_playground.rerankers.choice import RerankChoice

FILE_FORMAT = "rerank-playground-story"
FILE_VERSION = 1
MAX_NOTE = 2000
MAX_NAME = 200
MAX_TEXT = MAX_FIELD_CHARS  # a model or any other text in a view
MAX_VIEWS = 100  # a talk's worth; Present and its list stay fast (benchmarks/bench_limits.py)
PICKS = ("a", "b", "tie")
DEMO_STORY = "Demo: what reranking changes"
DEMO_JINA_MODEL = "jina-reranker-v3"

# The current tables, for queries (the migration is the frozen DDL).
stories_table = sa.Table(
    "stories",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
story_views_table = sa.Table(
    "story_views",
    metadata,
    sa.Column("story_id", sa.Integer, sa.ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("view", sa.Text, nullable=False),
)
preferences_table = sa.Table(
    "preferences",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("collection", sa.Text, nullable=False),
    sa.Column("query", sa.Text, nullable=False),
    sa.Column("story", sa.Text, nullable=True),
    sa.Column("a_label", sa.Text, nullable=False),
    sa.Column("b_label", sa.Text, nullable=False),
    sa.Column("picked", sa.String(8), nullable=False),
    sa.Column("picked_at", sa.DateTime(timezone=True), nullable=False),
)


# ------------------------------------------------------------------------------------------ models


@dataclass(frozen=True)
class StoryView:
    request: SearchRequest
    choices: tuple[RerankChoice, ...]
    top_n: int
    note: str = ""
    title: str = ""
    cut: Cut | None = None  # where to cut the reranked list (chosen on the Runs page); None = show all

    @property
    def kind(self) -> str:
        """"search" (one reranker) or "compare" (several on the same candidates)."""
        return "search" if len(self.choices) == 1 else "compare"

    @property
    def heading(self) -> str:
        return self.title or self.request.query


@dataclass(frozen=True)
class Story:
    name: str
    views: tuple[StoryView, ...] = field(default=())

    def with_view(self, view: StoryView) -> Story:
        return replace(self, views=(*self.views, view))

    def without(self, index: int) -> Story:
        self._check(index)
        return replace(self, views=self.views[:index] + self.views[index + 1 :])

    def moved(self, index: int, offset: int) -> Story:
        """The view at ``index`` moved ``offset`` places (clamped at either end)."""
        self._check(index)
        views = list(self.views)
        view = views.pop(index)
        views.insert(max(0, min(len(views), index + offset)), view)
        return replace(self, views=tuple(views))

    def with_note(self, index: int, note: str) -> Story:
        self._check(index)
        views = list(self.views)
        views[index] = replace(views[index], note=_check_note(note))
        return replace(self, views=tuple(views))

    def _check(self, index: int) -> None:
        if not 0 <= index < len(self.views):
            raise InvalidInput(f"Story {self.name!r} has no view {index + 1}.")


# ------------------------------------------------------------------------------------------ (de)serialise


def view_to_dict(view: StoryView) -> dict[str, Any]:
    """The view as JSON values: its search in ``SearchRequest``'s one dict form, plus what the view adds."""
    return {
        "title": view.title,
        **view.request.to_dict(),
        "shown_n": view.top_n,
        "rerankers": [{"reranker": c.reranker, "model": c.model} for c in view.choices],
        "note": view.note,
        **({"cut": view.cut.to_dict()} if view.cut is not None else {}),  # absent = no cut (older files)
    }


class _Problem(ValueError):
    pass


def _check_note(note: str) -> str:
    if not isinstance(note, str):
        raise InvalidInput("A note is text.")
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"A note has at most {MAX_NOTE} characters (this one has {len(note)}).")
    return note.strip()


def _text(
    raw: dict[str, Any], name: str, *, required: bool = True, default: str | None = "", limit: int = MAX_TEXT
) -> str | None:
    value = raw.get(name)
    if value is None:
        if required:
            raise _Problem(f'"{name}" is missing')
        return default
    if not isinstance(value, str) or (required and not value.strip()):
        raise _Problem(f'"{name}" must be a non-empty text' if required else f'"{name}" must be text')
    if len(value) > limit:
        raise _Problem(f'"{name}" has more than {limit} characters ({len(value):,})')
    return value


def _int(raw: dict[str, Any], name: str, low: int, high: int, default: int | None = None) -> int:
    value = raw.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _Problem(f'"{name}" must be a whole number from {low} to {high}, not {value!r:.80}')
    return value


def view_from_dict(raw: Any) -> StoryView:
    """A view from its dict; raises ``_Problem`` (what is wrong) for anything invalid."""
    if not isinstance(raw, dict):
        raise _Problem("a view must be a JSON object")
    rerankers = raw.get("rerankers")
    if not isinstance(rerankers, list) or not 1 <= len(rerankers) <= MAX_COMPARED:
        raise _Problem(f'"rerankers" must be a list of 1 to {MAX_COMPARED} rerankers')
    choices = []
    for item in rerankers:
        if not isinstance(item, dict) or not isinstance(item.get("model"), str) or not item["model"]:
            raise _Problem('each reranker needs "reranker" and "model"')
        if len(item["model"]) > MAX_TEXT:
            raise _Problem(f'a "model" has {len(item["model"]):,} characters; the limit is {MAX_TEXT:,}')
        if not isinstance(item.get("reranker"), str) or item["reranker"] not in provider_names():
            raise _Problem(f'unknown reranker {item.get("reranker")!r:.80} (known: {", ".join(provider_names())})')
        choices.append(RerankChoice(item["reranker"], item["model"]))
    if len(set(choices)) != len(choices):
        raise _Problem("the same reranker is listed twice")
    note = _text(raw, "note", required=False, limit=MAX_NOTE) or ""
    try:
        request = SearchRequest.from_dict(raw)
    except InvalidInput as err:
        raise _Problem(err.message) from None
    request = replace(request, alpha=round(request.alpha, 2))  # as the slider sets it
    cut = None
    if raw.get("cut") is not None:
        try:
            cut = Cut.from_dict(raw["cut"])
        except InvalidInput as err:
            raise _Problem(f'"cut": {err.message}') from None
    return StoryView(
        request=request,
        choices=tuple(choices),
        top_n=_int(raw, "shown_n", 1, MAX_K),
        note=note.strip(),
        title=(_text(raw, "title", required=False) or "").strip(),
        cut=cut,
    )


def story_to_json(story: Story) -> str:
    """The story as a file (no key is part of a view, so none can be in it)."""
    payload = {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "name": story.name,
        "views": [view_to_dict(v) for v in story.views],
    }
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def _line(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _view_positions(text: str) -> list[int]:
    """Character offsets where each element of the top-level "views" array starts (for line numbers)."""
    decoder = json.JSONDecoder()
    ws = " \t\r\n"

    def skip(i: int) -> int:
        while i < len(text) and text[i] in ws:
            i += 1
        return i

    i = skip(0)
    if i >= len(text) or text[i] != "{":
        return []
    i = skip(i + 1)
    while i < len(text) and text[i] != "}":
        key, i = decoder.raw_decode(text, i)
        i = skip(i)
        i = skip(i + 1)  # ':'
        if key == "views" and text[i] == "[":
            positions: list[int] = []
            i = skip(i + 1)
            while i < len(text) and text[i] != "]":
                positions.append(i)
                _, i = decoder.raw_decode(text, i)
                i = skip(i)
                if text[i] == ",":
                    i = skip(i + 1)
            return positions
        _, i = decoder.raw_decode(text, i)
        i = skip(i)
        if i < len(text) and text[i] == ",":
            i = skip(i + 1)
    return []


def story_from_file(data: bytes) -> Story:
    """A story file's bytes: checked like every imported file (``evaluation/files.py``), then parsed."""
    return story_from_json(files.decode(data, "The story file"))


def story_from_json(text: str) -> Story:
    """Parse a story file; ``BadImportFile(line, problem)`` for anything wrong (nothing is half-read)."""
    text = files.check_text(text, "The story file")
    raw = files.load_json(text)
    if not isinstance(raw, dict) or raw.get("format") != FILE_FORMAT:
        raise BadImportFile(line=1, problem=f'not a story file (expected "format": "{FILE_FORMAT}")')
    if raw.get("version") != FILE_VERSION:
        raise BadImportFile(line=1, problem=f"story file version {raw.get('version')!r}; this app reads version 1")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BadImportFile(line=1, problem='"name" must be a non-empty text')
    if len(name.strip()) > MAX_NAME:
        raise BadImportFile(line=1, problem=f'"name" has {len(name.strip())} characters; the limit is {MAX_NAME}')
    views_raw = raw.get("views")
    if not isinstance(views_raw, list) or not views_raw:
        raise BadImportFile(line=1, problem='"views" must be a non-empty list')
    if len(views_raw) > MAX_VIEWS:
        raise BadImportFile(line=1, problem=f"the story has {len(views_raw):,} views; the limit is {MAX_VIEWS}")
    positions = _view_positions(text)
    views = []
    for number, item in enumerate(views_raw):
        try:
            views.append(view_from_dict(item))
        except _Problem as problem:
            line = _line(text, positions[number]) if number < len(positions) else 1
            raise BadImportFile(line=line, problem=f"view {number + 1}: {problem}") from None
    return Story(name=name.strip(), views=tuple(views))


# ------------------------------------------------------------------------------------------ store


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("A story needs a name.")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"A story name has at most {MAX_NAME} characters.")
    return name.strip()


def save_story(store: Store, story: Story) -> None:
    """Create or replace (by name) a story, views and order, in one transaction."""
    name = _check_name(story.name)
    if len(story.views) > MAX_VIEWS:
        raise InvalidInput(f"A story has at most {MAX_VIEWS} views; this one would have {len(story.views)}.",
                           hint="Start another story for the rest.")
    insert = store.insert(stories_table)
    with store.write() as connection:
        story_id = connection.execute(
            insert.on_conflict_do_update(index_elements=["name"], set_={"updated_at": insert.excluded.updated_at})
            .returning(stories_table.c.id),
            {"name": name, "updated_at": datetime.now(UTC)},
        ).scalar_one()
        connection.execute(story_views_table.delete().where(story_views_table.c.story_id == story_id))
        if story.views:
            connection.execute(
                story_views_table.insert(),
                [
                    {"story_id": story_id, "position": i, "view": json.dumps(view_to_dict(v), ensure_ascii=False)}
                    for i, v in enumerate(story.views)
                ],
            )


def story_names(store: Store) -> list[str]:
    with store.read() as connection:
        return list(connection.execute(sa.select(stories_table.c.name).order_by(stories_table.c.name)).scalars())


def load_story(store: Store, name: str) -> Story:
    with store.read() as connection:
        story_id = connection.execute(
            sa.select(stories_table.c.id).where(stories_table.c.name == name)
        ).scalar_one_or_none()
        if story_id is None:
            raise StoryNotFound(name)
        rows = connection.execute(
            sa.select(story_views_table.c.view)
            .where(story_views_table.c.story_id == story_id)
            .order_by(story_views_table.c.position)
        ).scalars()
        views = tuple(view_from_dict(json.loads(row)) for row in rows)
    return Story(name=name, views=views)


def delete_story(store: Store, name: str) -> None:
    with store.write() as connection:
        story_id = connection.execute(
            sa.select(stories_table.c.id).where(stories_table.c.name == name)
        ).scalar_one_or_none()
        if story_id is None:
            raise StoryNotFound(name)
        connection.execute(story_views_table.delete().where(story_views_table.c.story_id == story_id))
        connection.execute(stories_table.delete().where(stories_table.c.id == story_id))


def rename_story(store: Store, old: str, new: str) -> None:
    new = _check_name(new)
    with store.write() as connection:
        taken = connection.execute(sa.select(stories_table.c.id).where(stories_table.c.name == new)).first()
        if taken is not None and new != old:
            raise InvalidInput(f"There is already a story named {new!r}.", hint="Pick another name.")
        done = connection.execute(
            stories_table.update().where(stories_table.c.name == old).values(name=new, updated_at=datetime.now(UTC))
        )
        if done.rowcount == 0:
            raise StoryNotFound(old)


def add_view(store: Store, name: str, view: StoryView) -> Story:
    """Append ``view`` to story ``name`` (created when new)."""
    try:
        story = load_story(store, name)
    except StoryNotFound:
        story = Story(name=_check_name(name))
    story = story.with_view(view)
    save_story(store, story)
    return story


# ------------------------------------------------------------------------------------------ demo story


def demo_story(*, jina_key_present: bool) -> Story:
    """The demo collections' suggested queries as a story: the local baseline, or (with a key) a Jina model
    with the local baseline beside it on the same candidates."""
    local = RerankChoice("local", LOCAL_MODEL)
    choices = (RerankChoice("jina", DEMO_JINA_MODEL), local) if jina_key_present else (local,)
    views = []
    for collection, suggested in SUGGESTED_QUERIES.items():
        spec = next((d for d in DEMO_COLLECTIONS if d.name == collection), None)
        for s in suggested:
            request = SearchRequest(
                collection=collection,
                query=s.query,
                mode=SearchMode(s.mode),
                limit=50,
                properties=s.properties or (tuple(spec.keyword_properties) if spec else ()),
                text_property=declared_rerank_property(collection),
                embedder="local",
            )
            views.append(StoryView(request=request, choices=choices, top_n=10, note=s.why))
    return Story(name=DEMO_STORY, views=tuple(views))


def load_demo_story(store: Store, *, jina_key_present: bool) -> bool:
    """Save the demo story unless a story of that name exists (a presenter's edits are kept). True: saved."""
    if DEMO_STORY in story_names(store):
        return False
    save_story(store, demo_story(jina_key_present=jina_key_present))
    return True


# ------------------------------------------------------------------------------------------ blind A/B


@dataclass(frozen=True)
class BlindPair:
    """Which ordering is shown as "A" and which as "B" (labels of the orderings, e.g. "retrieval")."""

    a: str
    b: str

    def label_of(self, pick: str) -> str | None:
        return {"a": self.a, "b": self.b}.get(pick)


def blind_pair(first: str, second: str, rng: random.Random | None = None) -> BlindPair:
    """The two orderings on random sides: nothing about "A" or "B" says which is which."""
    if first == second:
        raise InvalidInput("A blind comparison needs two different orderings.")
    flip = (rng or random.SystemRandom()).random() < 0.5
    return BlindPair(a=second, b=first) if flip else BlindPair(a=first, b=second)


@dataclass(frozen=True)
class Preference:
    collection: str
    query: str
    a_label: str
    b_label: str
    picked: str  # "a" | "b" | "tie"
    story: str | None
    picked_at: datetime

    @property
    def winner(self) -> str | None:
        """The preferred ordering's label (None for a tie)."""
        return {"a": self.a_label, "b": self.b_label}.get(self.picked)


def record_preference(
    store: Store, collection: str, query: str, pair: BlindPair, picked: str, *, story: str | None = None
) -> Preference:
    if picked not in PICKS:
        raise InvalidInput(f"A pick is one of {', '.join(PICKS)}, not {picked!r}.")
    preference = Preference(
        collection=collection, query=normalise_query(query), a_label=pair.a, b_label=pair.b, picked=picked,
        story=story, picked_at=datetime.now(UTC),
    )
    with store.write() as connection:
        connection.execute(
            preferences_table.insert(),
            {
                "collection": preference.collection, "query": preference.query, "story": story,
                "a_label": pair.a, "b_label": pair.b, "picked": picked, "picked_at": preference.picked_at,
            },
        )
    return preference


def preferences(store: Store, *, story: str | None = None) -> list[Preference]:
    query = sa.select(preferences_table).order_by(preferences_table.c.id)
    if story is not None:
        query = query.where(preferences_table.c.story == story)
    with store.read() as connection:
        rows = connection.execute(query).mappings().all()
    return [
        Preference(
            collection=row["collection"], query=row["query"], a_label=row["a_label"], b_label=row["b_label"],
            picked=row["picked"], story=row["story"],
            picked_at=row["picked_at"] if row["picked_at"].tzinfo else row["picked_at"].replace(tzinfo=UTC),
        )
        for row in rows
    ]


def tally(picks: Sequence[Preference]) -> list[str]:
    """One sentence per pair of orderings: the latest pick per query counts once."""
    latest: dict[tuple[str, str, frozenset[str]], Preference] = {}
    for p in picks:
        latest[(p.collection, p.query, frozenset((p.a_label, p.b_label)))] = p
    by_pair: dict[frozenset[str], Counter[str]] = {}
    for (_, _, pair), p in latest.items():
        by_pair.setdefault(pair, Counter())[p.winner or "tie"] += 1
    lines = []
    for pair, counts in sorted(by_pair.items(), key=lambda item: sorted(item[0])):
        total = sum(counts.values())
        first, second = sorted(pair)
        parts = [f"{first} on {counts[first]}", f"{second} on {counts[second]}"]
        if counts["tie"]:
            parts.append(f"a tie on {counts['tie']}")
        lines.append(f"{first} vs {second}: the room preferred " + ", ".join(parts) + f" of {total} queries.")
    return lines
