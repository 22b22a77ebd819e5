"""Load a judged dataset into Weaviate and the store: a BEIR-format folder (or its ``.zip``), or a CSV / JSONL of
documents with an optional query-set file.

Three steps, each usable alone (the CLI and the app call the same ones):

1. :func:`open_source` finds the files (``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``; or one table).
2. :func:`check_dataset` reads everything once before anything is written: every line must parse (else
   :class:`BadDatasetFile` names the file and line), the corpus must not be empty, every judged document must be in
   the corpus (else the unknown ones are counted). Only the judged queries and their judgments are kept in memory.
3. :func:`load_dataset` streams the corpus again in chunks: a chunk's vectors are computed (or left to the
   server's vectorizer) and sent with weaviate-client's batch API. Each object's uuid is
   ``generate_uuid5(_id)``, so a chunk's objects already in the collection are skipped: a re-run after a kill
   resumes and duplicates nothing. Every failed object comes back with the server's reason. The query set and its
   judgments go into the store once every document is in.

Memory stays flat in the corpus size: no pass holds more than one chunk of documents (the judged ids are kept,
which the qrels bound). The document id is stored in the ``doc_id`` property and the query set names documents by
it (``id_property="doc_id"``), so the judgments are the qrels as written.
"""

from __future__ import annotations

import contextlib
import csv
import json
import re
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from rerank_playground.errors import CatalogError, InvalidInput
from rerank_playground.evaluation.judgments import QuerySet, SetQuery, normalise_query
from rerank_playground.models import GRADES

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import weaviate

    from rerank_playground.store import Store

DOC_ID_PROPERTY = "doc_id"
MARKER = "Loaded by rerank-playground from a dataset"
CHUNK = 512  # documents embedded, checked and sent together
SEGMENT = 20  # chunks per weaviate-client batch (its results are kept until it closes)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RESERVED = {"id", "_id", "_additional", "vector", "vectors", DOC_ID_PROPERTY}
ID_COLUMNS = ("_id", "id", DOC_ID_PROPERTY)

Embed = Callable[[Sequence[str]], "Sequence[Sequence[float]] | np.ndarray"]  # one vector per text


class BadDatasetFile(InvalidInput):
    """A line that cannot be read. ``file`` and ``line`` (1-based; 0 = the file as a whole) say where."""

    def __init__(self, file: str, line: int, problem: str) -> None:
        self.file, self.line, self.problem = file, line, problem
        where = f"{file}, line {line}" if line else file
        super().__init__(f"{where}: {problem}", hint="Fix that line (or remove it) and load again.")


class SchemaConflict(CatalogError):
    """The collection exists with other properties or vectors than this dataset needs: it is left untouched."""


class UnknownDocuments(InvalidInput):
    """Judgments name documents that are not in the corpus."""


# ------------------------------------------------------------------------------------------- files


@dataclass(frozen=True)
class Member:
    """One text file: on disk, or inside a zip archive. ``name`` is what messages show."""

    path: Path
    inner: str | None = None  # the member's name in the zip at ``path``

    @property
    def name(self) -> str:
        return f"{self.path.name}:{self.inner}" if self.inner else str(self.path)

    @property
    def suffix(self) -> str:
        return Path(self.inner or self.path.name).suffix.lower()

    @contextlib.contextmanager
    def _binary(self) -> Iterator[IO[bytes]]:
        if self.inner is None:
            with self.path.open("rb") as handle:
                yield handle
            return
        with zipfile.ZipFile(self.path) as archive, archive.open(self.inner) as raw:
            yield raw

    def lines(self, *, keep_ends: bool = False) -> Iterator[tuple[int, str]]:
        """(line number, text), each line decoded alone so that bad UTF-8 is named by its line."""
        with self._binary() as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError:
                    raise BadDatasetFile(self.name, number, "the text is not UTF-8.") from None
                yield number, text if keep_ends else text.rstrip("\r\n")

    def read_text(self) -> str:
        return "".join(text for _, text in self.lines(keep_ends=True))


@dataclass(frozen=True)
class Source:
    """Where a dataset's files are. ``kind``: ``"beir"`` (corpus + queries + qrels) or ``"table"`` (a CSV/JSONL of
    documents, with an optional query-set file in the formats the Query sets page imports)."""

    kind: Literal["beir", "table"]
    label: str
    corpus: Member
    queries: Member | None = None
    qrels: Member | None = None
    query_file: Member | None = None
    split: str = "test"


def open_source(path: Path, *, split: str = "test", query_file: Path | None = None) -> Source:
    """Find a dataset's files at ``path`` (a BEIR folder, its ``.zip``, or a ``.csv`` / ``.jsonl`` of documents)."""
    path = Path(path)
    if not path.exists():
        raise InvalidInput(f"{path} does not exist.", hint="Give a BEIR folder, its .zip, or a .csv / .jsonl file.")
    extra = Member(Path(query_file)) if query_file is not None else None
    if extra is not None and not extra.path.is_file():
        raise InvalidInput(f"The query-set file {query_file} does not exist.")
    if path.is_dir():
        corpus = path / "corpus.jsonl"
        if not corpus.is_file():
            raise InvalidInput(f"{path} has no corpus.jsonl.",
                               hint="A BEIR folder holds corpus.jsonl, queries.jsonl and qrels/<split>.tsv.")
        return _beir(str(path), Member(corpus), _optional(path / "queries.jsonl"),
                     _optional(path / "qrels" / f"{split}.tsv"), split, extra, available=_splits_on_disk(path))
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return _zip_source(path, split, extra)
    if suffix in (".csv", ".jsonl"):
        return Source("table", str(path), Member(path), query_file=extra, split=split)
    raise InvalidInput(f"{path.name}: not a folder, .zip, .csv or .jsonl.",
                       hint="Give a BEIR folder, its .zip, or a .csv / .jsonl of documents.")


def _optional(path: Path) -> Member | None:
    return Member(path) if path.is_file() else None


def _splits_on_disk(folder: Path) -> list[str]:
    return sorted(p.stem for p in (folder / "qrels").glob("*.tsv"))


def _zip_source(path: Path, split: str, extra: Member | None) -> Source:
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/") and "__MACOSX" not in n]
    except (zipfile.BadZipFile, OSError):
        raise InvalidInput(f"{path.name} is not a readable zip archive.") from None
    corpora = sorted((n for n in names if n.rsplit("/", 1)[-1] == "corpus.jsonl"), key=lambda n: n.count("/"))
    if corpora:
        root = corpora[0][: -len("corpus.jsonl")]
        queries = root + "queries.jsonl"
        qrels = f"{root}qrels/{split}.tsv"
        available = sorted(n[len(root) + 6 : -4] for n in names if n.startswith(root + "qrels/") and n.endswith(".tsv"))
        return _beir(path.name, Member(path, corpora[0]), Member(path, queries) if queries in names else None,
                     Member(path, qrels) if qrels in names else None, split, extra, available=available)
    tables = [n for n in names if n.lower().endswith((".csv", ".jsonl"))]
    if len(tables) == 1:
        return Source("table", path.name, Member(path, tables[0]), query_file=extra, split=split)
    raise InvalidInput(f"{path.name} holds no corpus.jsonl" + (" and more than one table." if tables else "."),
                       hint="Zip a BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv) or one .csv/.jsonl.")


def _beir(label: str, corpus: Member, queries: Member | None, qrels: Member | None, split: str,
          extra: Member | None, *, available: list[str]) -> Source:
    if extra is not None:
        raise InvalidInput("A BEIR folder brings its own queries and qrels: drop the query-set file.")
    if queries is None:
        raise InvalidInput(f"{label} has no queries.jsonl next to corpus.jsonl.")
    if qrels is None:
        have = ", ".join(available) or "none"
        raise InvalidInput(f"{label} has no qrels/{split}.tsv (splits found: {have}).",
                           hint="Choose one of those with --split.")
    return Source("beir", label, corpus, queries, qrels, split=split)


# ------------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Document:
    doc_id: str
    texts: dict[str, str]  # text property -> value, in the dataset's property order
    line: int

    def vector_text(self) -> str:
        return "\n".join(v for v in self.texts.values() if v)


def _json_object(member: Member, number: int, text: str) -> dict[str, Any] | None:
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadDatasetFile(member.name, number, f"not valid JSON ({exc.msg}, column {exc.colno}).") from None
    if not isinstance(value, dict):
        raise BadDatasetFile(member.name, number, "each line must be one JSON object.")
    return value


def _identifier(member: Member, number: int, value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise BadDatasetFile(member.name, number, f"the {what} is missing or empty.")
    return str(value).strip()


def _check_property_names(member: Member, names: Sequence[str]) -> tuple[str, ...]:
    for name in names:
        if not _NAME.fullmatch(name) or name.lower() in _RESERVED:
            raise BadDatasetFile(member.name, 1, f"the column {name!r} cannot be a Weaviate property name (use "
                                 "letters, digits and _, not starting with a digit; not id, vector or doc_id).")
    if not names:
        raise BadDatasetFile(member.name, 1, "there is no text column besides the id.")
    return tuple(names)


def text_properties(source: Source) -> tuple[str, ...]:
    """The text properties the collection gets: BEIR's ``text`` and ``title``, or a table's columns but the id."""
    if source.kind == "beir":
        return ("text", "title")  # text first: the property rerankers read by default
    member = source.corpus
    if member.suffix == ".csv":
        header = next(csv.reader(text for _, text in member.lines(keep_ends=True)), None)
        if not header:
            raise BadDatasetFile(member.name, 1, "the file is empty (expected a header with an id column).")
        return _check_property_names(member, [h.strip() for h in header if h.strip() not in ID_COLUMNS])
    for number, text in member.lines():
        first = _json_object(member, number, text)
        if first is not None:
            return _check_property_names(member, [k for k, v in first.items() if k not in ID_COLUMNS
                                                  and isinstance(v, str)])
    raise InvalidInput(f"{member.name} holds no document.", hint="The corpus must have at least one line.")


def iter_documents(source: Source, properties: Sequence[str]) -> Iterator[Document]:
    """Every document of the corpus in file order; a malformed line raises :class:`BadDatasetFile`."""
    member = source.corpus
    if member.suffix == ".csv":
        yield from _csv_documents(member, properties)
        return
    for number, text in member.lines():
        record = _json_object(member, number, text)
        if record is None:
            continue
        key = next((k for k in ID_COLUMNS if k in record), "_id")
        doc_id = _identifier(member, number, record.get(key), f"document id ({key})")
        texts: dict[str, str] = {}
        for prop in properties:
            value = record.get(prop)
            if value is None:
                value = ""
            if not isinstance(value, str):
                raise BadDatasetFile(member.name, number, f"{prop!r} of {doc_id!r} is not text.")
            texts[prop] = value
        yield Document(doc_id, texts, number)


def _csv_documents(member: Member, properties: Sequence[str]) -> Iterator[Document]:
    # One reader over the decoded lines: csv's line_num counts physical lines, so messages name the right one.
    reader = csv.DictReader((text for _, text in member.lines(keep_ends=True)), strict=True)
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    key = next((k for k in ID_COLUMNS if k in header), None)
    if key is None:
        raise BadDatasetFile(member.name, 1, f"no id column (one of {', '.join(ID_COLUMNS)}).")
    try:
        for row in reader:
            number = reader.line_num
            if None in row or any(v is None for v in row.values()):
                raise BadDatasetFile(member.name, number, f"expected {len(header)} columns.")
            doc_id = _identifier(member, number, row[key], f"document id ({key})")
            yield Document(doc_id, {p: row.get(p) or "" for p in properties}, number)
    except csv.Error as exc:
        raise BadDatasetFile(member.name, reader.line_num, f"not valid CSV ({exc}).") from None


# ------------------------------------------------------------------------------------------- check


@dataclass(frozen=True)
class DatasetPlan:
    """A checked dataset: what the collection gets and the query set's judged queries and judgments."""

    source: Source
    text_properties: tuple[str, ...]
    documents: int  # corpus lines holding a document
    queries: tuple[SetQuery, ...]
    judgments: tuple[tuple[str, str, int], ...]  # (query id, doc id, grade)


@dataclass
class LoadProgress:
    """What a load has done so far; the app's worker keeps one and the page reads it."""

    phase: str = "checking"  # checking | importing | query set | done | cancelled | failed
    checked: int = 0
    total: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    embed_seconds: float = 0.0  # of the import, spent computing document vectors
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None

    @property
    def processed(self) -> int:
        return self.sent + self.skipped

    @property
    def rate(self) -> float:
        seconds = (self.ended or time.monotonic()) - self.started
        return self.sent / seconds if seconds > 0 else 0.0


class Cancelled(Exception):
    """The load was cancelled between chunks (what was sent stays; a re-run resumes)."""


def _qrels(member: Member) -> Iterator[tuple[int, str, str, int]]:
    for number, text in member.lines():
        if not text.strip():
            continue
        parts = text.split("\t")
        if len(parts) != 3:
            parts = text.split()
        if number == 1 and [p.strip().lower() for p in parts[:2]] == ["query-id", "corpus-id"]:
            continue
        if len(parts) != 3:
            raise BadDatasetFile(member.name, number, "expected query-id, corpus-id and score separated by tabs.")
        query_id, doc_id, score = (p.strip() for p in parts)
        if not query_id or not doc_id:
            raise BadDatasetFile(member.name, number, "the query-id or corpus-id is empty.")
        if not re.fullmatch(r"[+-]?\d+", score) or int(score) not in GRADES:
            raise BadDatasetFile(member.name, number, f"the score {score!r} is not a grade 0, 1, 2 or 3.")
        yield number, query_id, doc_id, int(score)


def _beir_judgments(source: Source) -> tuple[tuple[SetQuery, ...], tuple[tuple[str, str, int], ...]]:
    assert source.qrels is not None and source.queries is not None
    grades: dict[tuple[str, str], tuple[int, int]] = {}
    for number, query_id, doc_id, grade in _qrels(source.qrels):
        previous = grades.get((query_id, doc_id))
        if previous is not None and previous[0] != grade:
            raise BadDatasetFile(source.qrels.name, number, f"{doc_id!r} is graded {grade} for {query_id!r} here "
                                 f"but {previous[0]} on line {previous[1]}.")
        grades[(query_id, doc_id)] = (grade, number)
    if not grades:
        raise BadDatasetFile(source.qrels.name, 0, "holds no judgment.")
    judged = {query_id for query_id, _ in grades}
    texts: dict[str, str] = {}
    by_text: dict[str, tuple[str, int]] = {}
    for number, line in source.queries.lines():
        record = _json_object(source.queries, number, line)
        if record is None:
            continue
        query_id = _identifier(source.queries, number, record.get("_id"), "query id (_id)")
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            raise BadDatasetFile(source.queries.name, number, f"query {query_id!r} has no text.")
        if query_id not in judged:
            continue
        norm = normalise_query(text)
        if norm in by_text and by_text[norm][0] != query_id:
            other, other_line = by_text[norm]
            raise BadDatasetFile(source.queries.name, number, f"query {query_id!r} repeats the text of query "
                                 f"{other!r} (line {other_line}); a query set holds each text once.")
        by_text[norm] = (query_id, number)
        texts[query_id] = text.strip()
    missing = judged - texts.keys()
    if missing:
        raise InvalidInput(f"{source.qrels.name} judges {len(missing)} quer{'y' if len(missing) == 1 else 'ies'} "
                           f"that queries.jsonl does not hold (e.g. {_examples(missing)}).",
                           hint="Use the queries file that goes with these qrels.")
    queries = tuple(SetQuery(qid, text) for qid, text in texts.items())
    return queries, tuple((q, d, g) for (q, d), (g, _) in grades.items())


def _table_judgments(source: Source) -> tuple[tuple[SetQuery, ...], tuple[tuple[str, str, int], ...]]:
    if source.query_file is None:
        return (), ()
    from rerank_playground.evaluation import io as set_io

    member = source.query_file
    text = member.read_text()
    try:
        parsed = set_io.parse_json(text) if member.suffix == ".json" else set_io.parse_csv(text)
    except InvalidInput as exc:
        raise InvalidInput(f"{member.name}: {exc.message}", hint=exc.hint) from None
    return parsed.queries, tuple((j.query_id, j.doc_id, j.grade) for j in parsed.judgments)


def _examples(ids: set[str] | Sequence[str]) -> str:
    return ", ".join(repr(i) for i in sorted(ids)[:3])


def check_dataset(source: Source, *, progress: LoadProgress | None = None,
                  should_stop: Callable[[], bool] = lambda: False) -> DatasetPlan:
    """Read every file once and refuse what cannot be loaded, before anything is written."""
    progress = progress or LoadProgress()
    properties = text_properties(source)
    if source.kind == "beir":
        queries, judgments = _beir_judgments(source)
    else:
        queries, judgments = _table_judgments(source)
    unseen = {doc_id for _, doc_id, _ in judgments}
    count = 0
    for document in iter_documents(source, properties):
        count += 1
        unseen.discard(document.doc_id)
        if count % 1000 == 0:
            progress.checked = count
            if should_stop():
                raise Cancelled
    progress.checked = progress.total = count
    if count == 0:
        raise InvalidInput(f"{source.corpus.name} holds no document.", hint="The corpus must not be empty.")
    if unseen:
        where = source.qrels.name if source.qrels else (source.query_file.name if source.query_file else "")
        raise UnknownDocuments(
            f"{where} names {len(unseen)} document{'' if len(unseen) == 1 else 's'} that the corpus does not hold "
            f"(e.g. {_examples(unseen)}).",
            hint="Use the corpus these judgments were made on, or remove those lines.",
        )
    return DatasetPlan(source, properties, count, queries, judgments)


# ------------------------------------------------------------------------------------------- vectors


@dataclass(frozen=True)
class Vectors:
    """Where the documents' vectors come from: ``local`` (WordLlama, offline), ``jina`` (the embeddings API, with
    a key) or ``server`` (the collection's vectorizer module, e.g. ``text2vec-jinaai``)."""

    kind: Literal["local", "jina", "server"] = "local"
    model: str = ""  # the Jina model, or the server module

    @classmethod
    def parse(cls, text: str) -> Vectors:
        """``local``, ``jina`` / ``jina:<model>``, or ``server:<module>``."""
        from rerank_playground.jina_embeddings import DEFAULT_EMBEDDING_MODEL

        kind, _, model = text.strip().partition(":")
        if kind == "local" and not model:
            return cls("local")
        if kind == "jina":
            return cls("jina", model or DEFAULT_EMBEDDING_MODEL)
        if kind == "server" and model:
            return cls("server", model)
        raise InvalidInput(f"Unknown vectors {text!r}.",
                           hint="Use local, jina:<model> or server:<module> (e.g. server:text2vec-jinaai).")

    @property
    def label(self) -> str:
        from rerank_playground.embedders import LOCAL_EMBEDDER_NAME

        if self.kind == "local":
            return LOCAL_EMBEDDER_NAME
        return f"jina:{self.model}" if self.kind == "jina" else f"server:{self.model}"

    @property
    def query_embedder(self) -> str:
        """What ``eval --embedder`` must use for query vectors to match these document vectors."""
        return {"local": "local", "jina": f"jina:{self.model}", "server": "server"}[self.kind]


def description(vectors: Vectors) -> str:
    return f"{MARKER} · vectors: {vectors.label}"


def _vector_config(vectors: Vectors, properties: Sequence[str]) -> Any:
    from weaviate.classes.config import Configure

    if vectors.kind != "server":
        return Configure.Vectors.self_provided()
    factory = getattr(Configure.Vectors, vectors.model.replace("-", "_"), None)
    if factory is None or not vectors.model.startswith(("text2vec", "multi2vec")):
        raise InvalidInput(f"weaviate-client does not know the vectorizer {vectors.model!r}.",
                           hint="Name a text2vec module, e.g. server:text2vec-jinaai.")
    return factory(source_properties=list(properties))


def _schema(properties: Sequence[str]) -> list[Any]:
    from weaviate.classes.config import DataType, Property, Tokenization

    # The first text property is what rerankers read by default: the dataset's text, not its id.
    return [*(Property(name=p, data_type=DataType.TEXT, tokenization=Tokenization.WORD) for p in properties),
            Property(name=DOC_ID_PROPERTY, data_type=DataType.TEXT, tokenization=Tokenization.FIELD,
                     skip_vectorization=True, index_searchable=False, description="the dataset's document id")]


def _existing_problem(config: Any, properties: Sequence[str], vectors: Vectors) -> str | None:
    """Why an existing collection cannot take this dataset, or None when it has the same schema."""
    have = {p.name: str(getattr(p.data_type, "value", p.data_type)) for p in config.properties}
    want = {DOC_ID_PROPERTY: "text", **{p: "text" for p in properties}}
    if have != want:
        return (f"its properties are {', '.join(f'{k} ({v})' for k, v in sorted(have.items())) or 'none'}; "
                f"this dataset needs {', '.join(f'{k} (text)' for k in sorted(want))}")
    if (config.description or "") != description(vectors):
        if not (config.description or "").startswith(MARKER):
            return "it was not made by rerank-playground load, so its vectors may come from another model"
        return f"its vectors come from {config.description.split('vectors: ', 1)[-1]}, not {vectors.label}"
    return None


def check_collection_name(name: str) -> str:
    """``name`` if Weaviate accepts it as a collection name (a capital letter, then letters, digits or _)."""
    name = name.strip()
    if not re.fullmatch(r"[A-Z][A-Za-z0-9_]*", name):
        raise InvalidInput(f"{name!r} is not a collection name Weaviate accepts." if name else "Name the collection.",
                           hint="Start with a capital letter, then letters, digits or _ (e.g. SciFact).")
    return name


def prepare_collection(client: weaviate.WeaviateClient, name: str, properties: Sequence[str],
                       vectors: Vectors) -> bool:
    """Create ``name`` for this dataset, or check that the existing one has its schema. True when it was created."""
    check_collection_name(name)
    if client.collections.exists(name):
        config = client.collections.use(name).config.get()
        problem = _existing_problem(config, properties, vectors)
        if problem:
            raise SchemaConflict(f"The collection {name!r} already exists and {problem}; it was left untouched.",
                                 hint="Load into another --collection name, or delete that collection first.")
        return False
    if vectors.kind == "server":
        modules = client.get_meta().get("modules") or {}
        if vectors.model not in modules:
            raise InvalidInput(f"This Weaviate has no {vectors.model} module.",
                               hint="Use the local embedder (the default) or a module the server lists.")
    client.collections.create(name, description=description(vectors), properties=_schema(properties),
                              vector_config=_vector_config(vectors, properties))
    return True


# ------------------------------------------------------------------------------------------- load


@dataclass(frozen=True)
class FailedObject:
    doc_id: str
    reason: str


@dataclass(frozen=True)
class LoadReport:
    collection: str
    documents: int  # in the corpus
    sent: int  # imported by this run
    skipped: int  # already in the collection
    failed: tuple[FailedObject, ...]
    count: int  # objects in the collection afterwards
    seconds: float
    created: bool
    cancelled: bool = False
    query_set: QuerySet | None = None
    judgments: int = 0
    embed_seconds: float = 0.0  # of ``seconds``, computing document vectors here

    @property
    def rate(self) -> float:
        """Objects imported per second by this run (embedding included)."""
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    @property
    def complete(self) -> bool:
        return not self.failed and not self.cancelled


def _existing_ids(collection: Any, uuids: Sequence[str]) -> set[str]:
    from weaviate.classes.query import Filter

    reply = collection.query.fetch_objects(filters=Filter.by_id().contains_any(list(uuids)), limit=len(uuids),
                                           return_properties=[])
    return {str(obj.uuid) for obj in reply.objects}


def _remove_half_written(collection: Any, uuids: Sequence[str]) -> None:
    """Delete what the server kept of objects it reported as failed (e.g. stored, but refused by the vector
    index), so that loading again imports them instead of skipping them as already there."""
    from weaviate.classes.query import Filter

    for start in range(0, len(uuids), 1000):
        collection.data.delete_many(where=Filter.by_id().contains_any(list(uuids[start : start + 1000])))


def _floats(vector: Any) -> list[float]:
    return vector.tolist() if hasattr(vector, "tolist") else [float(x) for x in vector]


def _chunks(documents: Iterator[Document], size: int) -> Iterator[list[Document]]:
    chunk: list[Document] = []
    for document in documents:
        chunk.append(document)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def load_dataset(
    client: weaviate.WeaviateClient,
    plan: DatasetPlan,
    name: str,
    *,
    vectors: Vectors,
    embed: Embed | None = None,
    store: Store | None = None,
    set_name: str | None = None,
    progress: LoadProgress | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    batch_size: int = 200,
) -> LoadReport:
    """Import ``plan``'s corpus into ``name`` (created if missing) and, when complete, its query set into ``store``.

    ``embed`` computes document vectors (required unless ``vectors`` is a server vectorizer). Objects already in
    the collection (same uuid) are skipped, so this also resumes an interrupted load.
    """
    from weaviate.util import generate_uuid5

    if vectors.kind != "server" and embed is None:
        raise ValueError("embed is required for client-side vectors")
    progress = progress or LoadProgress()
    progress.phase, progress.total = "importing", plan.documents
    started = time.monotonic()
    progress.started = started
    created = prepare_collection(client, name, plan.text_properties, vectors)
    collection = client.collections.use(name)
    resuming = not created and (collection.aggregate.over_all(total_count=True).total_count or 0) > 0
    failed: list[FailedObject] = []
    cancelled = finished = False
    chunks = _chunks(iter_documents(plan.source, plan.text_properties), CHUNK)
    while not (finished or cancelled):
        # A fresh batch every SEGMENT chunks: the client keeps every result of a batch until it closes, so one
        # batch over the whole corpus would grow with it.
        with collection.batch.fixed_size(batch_size=batch_size, concurrent_requests=2) as batch:
            for _ in range(SEGMENT):
                chunk = next(chunks, None)
                if chunk is None:
                    finished = True
                    break
                if should_stop():
                    cancelled = True
                    break
                ids = [str(generate_uuid5(d.doc_id)) for d in chunk]
                there = _existing_ids(collection, ids) if resuming else set()
                todo = [(u, d) for u, d in zip(ids, chunk, strict=True) if u not in there]
                progress.skipped += len(chunk) - len(todo)
                if todo:
                    embed_started = time.monotonic()
                    vecs = embed([d.vector_text() for _, d in todo]) if embed is not None else None
                    progress.embed_seconds += time.monotonic() - embed_started
                    for i, (uuid, document) in enumerate(todo):
                        batch.add_object(properties={DOC_ID_PROPERTY: document.doc_id, **document.texts},
                                         uuid=uuid, vector=None if vecs is None else _floats(vecs[i]))
                    progress.sent += len(todo)
                progress.failed = len(failed) + batch.number_errors
        refused = collection.batch.failed_objects
        for error in refused:
            props = error.object_.properties or {}
            failed.append(FailedObject(str(props.get(DOC_ID_PROPERTY, error.original_uuid)), str(error.message)))
        _remove_half_written(collection, [str(e.object_.uuid) for e in refused if e.object_.uuid])
    progress.failed = len(failed)
    progress.sent -= len(failed)
    count = int(collection.aggregate.over_all(total_count=True).total_count or 0)
    query_set = None
    if not failed and not cancelled and store is not None and plan.queries:
        progress.phase = "query set"
        query_set = save_query_set(store, plan, name, set_name or default_set_name(name, plan))
    progress.phase = "cancelled" if cancelled else ("failed" if failed else "done")
    progress.ended = time.monotonic()
    return LoadReport(name, plan.documents, progress.sent, progress.skipped, tuple(failed), count,
                      time.monotonic() - started, created, cancelled, query_set,
                      len(plan.judgments) if query_set else 0, progress.embed_seconds)


def default_set_name(collection: str, plan: DatasetPlan) -> str:
    return f"{collection} {plan.source.split}" if plan.source.kind == "beir" else f"{collection} queries"


def save_query_set(store: Store, plan: DatasetPlan, collection: str, set_name: str) -> QuerySet:
    """The judged queries and their grades as the query set ``set_name`` (replacing one of that name)."""
    query_set = QuerySet(name=set_name, collection=collection, queries=plan.queries, id_property=DOC_ID_PROPERTY)
    text_of = {q.query_id: q.text for q in plan.queries}
    store.import_query_set(query_set, ((text_of[q], d, g) for q, d, g in plan.judgments), judge=None)
    return query_set


# ------------------------------------------------------------------------------------------- in the background


class LoadJob:
    """One load (check, then import, then the query set) in a background thread, for the CLI's progress bar and
    the app's polling fragment: they read :attr:`progress` and call :meth:`cancel`; nothing here touches a UI.

    ``connect`` makes the job's own client (closed at the end). When the job ends, :attr:`report` holds the
    outcome, or :attr:`error` a message safe to show (:attr:`exception` keeps the error for the caller)."""

    def __init__(self, source: Source, collection: str, *, connect: Callable[[], weaviate.WeaviateClient],
                 vectors: Vectors, embed: Embed | None, store: Store | None, set_name: str | None = None,
                 batch_size: int = 200, secrets: Sequence[str | None] = (),
                 on_end: Callable[[], None] | None = None) -> None:
        import threading

        self.source, self.collection, self.vectors = source, collection, vectors
        self.progress = LoadProgress()
        self.plan: DatasetPlan | None = None
        self.report: LoadReport | None = None
        self.error: str | None = None
        self.exception: BaseException | None = None
        self._connect, self._embed, self._store = connect, embed, store
        self._set_name, self._batch_size, self._secrets, self._on_end = set_name, batch_size, secrets, on_end
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dataset-load", daemon=True)

    def start(self) -> LoadJob:
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Stop after the current chunk: what was sent stays, and the same load again resumes."""
        self._stop.set()

    @property
    def cancelled(self) -> bool:
        return self._stop.is_set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the end (True) or ``timeout`` seconds (False)."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        from weaviate.exceptions import WeaviateBaseError

        from rerank_playground.errors import PlaygroundError, scrub

        try:
            self.plan = check_dataset(self.source, progress=self.progress, should_stop=self._stop.is_set)
            client = self._connect()
            try:
                self.report = load_dataset(client, self.plan, self.collection, vectors=self.vectors, embed=self._embed,
                                           store=self._store, set_name=self._set_name, progress=self.progress,
                                           should_stop=self._stop.is_set, batch_size=self._batch_size)
            finally:
                client.close()
        except Cancelled:
            self.progress.phase = "cancelled"
        except PlaygroundError as exc:
            self.exception, self.error, self.progress.phase = exc, str(exc), "failed"
        except WeaviateBaseError as exc:
            self.exception, self.progress.phase = exc, "failed"
            self.error = f"Weaviate refused the load: {scrub(str(exc), *self._secrets)[:400]}"
        except Exception as exc:  # noqa: BLE001 - reported by the caller; the thread must not die silently
            self.exception, self.progress.phase = exc, "failed"
            self.error = f"The load stopped unexpectedly ({exc.__class__.__name__})."
        finally:
            if self._on_end is not None:
                self._on_end()
