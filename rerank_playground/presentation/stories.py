"""Stories: ordered saved views to present; the demo story; and the room's blind A/B picks and their tally.

A view is everything needed to show one result again: the search (collection, mode, query, K, properties,
alpha, fusion, operator, query-vector source), the reranker(s) (one: a Search view; several: a Compare view),
the shown N, and a short "what to look for" note. A story is a named, ordered list of views.

The store keeps a view as the JSON of :func:`view_to_dict` (``store/stories.py``), so a later field does not
need a migration. Edits are pure functions on :class:`Story` (``with_view``, ``moved``, ...) followed by
``store.save_story``, which replaces the story in one transaction.

A story file (``story_to_json`` / ``story_from_json``) is the same JSON; a bad file raises ``BadImportFile``
naming the line of the view that is wrong and what is wrong with it, and nothing is imported.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from rerank_playground.demo.datasets import DEMO_COLLECTIONS
from rerank_playground.demo.suggestions import SUGGESTED_QUERIES
from rerank_playground.errors import BadImportFile, InvalidInput
from rerank_playground.evaluation import files
from rerank_playground.evaluation.cutoff import Cut
from rerank_playground.limits import MAX_COMPARED, MAX_K
from rerank_playground.models import MAX_FIELD_CHARS, SearchMode, SearchRequest
from rerank_playground.rerankers import provider_names
from rerank_playground.rerankers.choice import RerankChoice
from rerank_playground.rerankers.model_catalog import LOCAL_MODEL
from rerank_playground.schema import declared_rerank_property

FILE_FORMAT = "rerank-playground-story"
FILE_VERSION = 1
MAX_NOTE = 2000
MAX_NAME = 200
MAX_TEXT = MAX_FIELD_CHARS  # a model or any other text in a view
MAX_VIEWS = 100  # a talk's worth; Present and its list stay fast (benchmarks/bench_limits.py)
PICKS = ("a", "b", "tie")
DEMO_STORY = "Demo: what reranking changes"
DEMO_JINA_MODEL = "jina-reranker-v3"

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


def check_name(name: str) -> str:
    """A story's name, stripped; ``InvalidInput`` when empty or too long."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("A story needs a name.")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"A story name has at most {MAX_NAME} characters.")
    return name.strip()


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
