"""Import and export of query sets with their judgments: CSV, JSON, TREC topics + qrels.

Parsing checks the whole file before anything is stored, and the store writes a set and its judgments in one
transaction, so an import is all or nothing. A bad file raises :class:`BadImportFile` naming the line (1-based) and
what is wrong there.

Formats
- CSV: header ``query_id,query,doc_id,grade`` (any column order, extra columns ignored); one judged document per
  row; a row with empty ``doc_id`` and ``grade`` lists a query without judgments.
- JSON: a list of objects with the same fields (``query_id`` optional: queries are numbered q1, q2, ... in order of
  first appearance; ``collection`` optional, the same on every row), or an object
  ``{"name", "collection", "id_property", "rows": [...]}`` as ``to_json`` writes.
- TREC: topics either as ``<top><num> Number: 401 <title> text</top>`` blocks or as ``query_id<TAB>text`` lines;
  qrels as ``query_id iteration doc_id grade`` lines.
"""

from __future__ import annotations

import bisect
import csv
import html
import io
import json
import json.decoder
import json.scanner
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rerank_playground.errors import BadImportFile, InvalidInput
from rerank_playground.evaluation import files
from rerank_playground.evaluation.judgments import QuerySet, SetQuery, normalise_query
from rerank_playground.models import GRADES
from rerank_playground.store import Store
from rerank_playground.tables import defuse_formula, undo_defuse

CSV_COLUMNS = ("query_id", "query", "doc_id", "grade")
# Stated limits: a set this size opens and reruns fast on the Query sets page (benchmarks/bench_limits.py).
MAX_QUERIES = 1_000
MAX_JUDGMENTS = 20_000
MAX_QUERY_CHARS = 1_000
MAX_ID_CHARS = 200


@dataclass(frozen=True)
class ParsedJudgment:
    query_id: str
    doc_id: str
    grade: int
    line: int


@dataclass(frozen=True)
class ParsedJudgments:
    """A checked file: its queries in file order and its judgments. ``name``/``collection``/``id_property`` are
    what a JSON export says about itself (None for CSV and TREC), for a form to prefill."""

    queries: tuple[SetQuery, ...]
    judgments: tuple[ParsedJudgment, ...]
    name: str | None = None
    collection: str | None = None
    id_property: str | None = None

    def qrels(self) -> dict[str, dict[str, int]]:
        result: dict[str, dict[str, int]] = {query.query_id: {} for query in self.queries}
        for judgment in self.judgments:
            result[judgment.query_id][judgment.doc_id] = judgment.grade
        return result


class _Collector:
    """Accumulates queries and judgments row by row, checking consistency as it goes."""

    def __init__(self) -> None:
        self.queries: dict[str, tuple[str, int]] = {}  # query_id -> (text, line)
        self.by_text: dict[str, tuple[str, int]] = {}  # normalised text -> (query_id, line)
        self.judgments: dict[tuple[str, str], ParsedJudgment] = {}

    def query(self, line: int, query_id: str, text: str) -> None:
        query_id, text = query_id.strip(), text.strip()
        if not query_id:
            raise BadImportFile(line=line, problem="the query id is empty.")
        if not text:
            raise BadImportFile(line=line, problem=f"query {query_id[:80]!r} has no text.")
        if len(query_id) > MAX_ID_CHARS:
            raise BadImportFile(line=line, problem=f"a query id has {len(query_id):,} characters; the limit is "
                                f"{MAX_ID_CHARS}.")
        if len(text) > MAX_QUERY_CHARS:
            raise BadImportFile(line=line, problem=f"query {query_id!r} has {len(text):,} characters; the limit "
                                f"is {MAX_QUERY_CHARS:,}.")
        norm = normalise_query(text)
        if query_id in self.queries:
            known, known_line = self.queries[query_id]
            if normalise_query(known) != norm:
                raise BadImportFile(
                    line=line,
                    problem=f"query {query_id!r} is {text[:80]!r} here but {known[:80]!r} on line {known_line}.",
                )
            return
        if norm in self.by_text:
            other, other_line = self.by_text[norm]
            raise BadImportFile(
                line=line, problem=f"query {query_id!r} repeats the text of query {other!r} (line {other_line})."
            )
        if len(self.queries) >= MAX_QUERIES:
            raise BadImportFile(line=line, problem=f"more than {MAX_QUERIES:,} queries; the limit is "
                                f"{MAX_QUERIES:,} per set: split the file.")
        self.queries[query_id] = (text, line)
        self.by_text[norm] = (query_id, line)

    def judgment(self, line: int, query_id: str, doc_id: str, grade_text: Any) -> None:
        doc_id = doc_id.strip()
        if not doc_id:
            raise BadImportFile(line=line, problem="the doc_id is empty.")
        if len(doc_id) > MAX_ID_CHARS:
            raise BadImportFile(line=line, problem=f"a doc_id has {len(doc_id):,} characters; the limit is "
                                f"{MAX_ID_CHARS}.")
        grade = _grade(line, grade_text)
        key = (query_id.strip(), doc_id)
        previous = self.judgments.get(key)
        if previous is not None and previous.grade != grade:
            raise BadImportFile(
                line=line,
                problem=f"document {doc_id!r} is graded {grade} for query {key[0]!r} here "
                f"but {previous.grade} on line {previous.line}.",
            )
        if previous is None and len(self.judgments) >= MAX_JUDGMENTS:
            raise BadImportFile(line=line, problem=f"more than {MAX_JUDGMENTS:,} judgments; the limit is "
                                f"{MAX_JUDGMENTS:,} per set: split the file.")
        if previous is None:
            self.judgments[key] = ParsedJudgment(query_id=key[0], doc_id=doc_id, grade=grade, line=line)

    def result(self, **about: str | None) -> ParsedJudgments:
        if not self.queries:
            raise BadImportFile(line=0, problem="The file holds no query.")
        return ParsedJudgments(
            queries=tuple(SetQuery(query_id=qid, text=text) for qid, (text, _) in self.queries.items()),
            judgments=tuple(self.judgments.values()),
            **about,
        )


def _grade(line: int, value: Any) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not re.fullmatch(r"[+-]?\d+", text) or int(text) not in GRADES:
        raise BadImportFile(line=line, problem=f"the grade {text or '(empty)'!r} is not 0, 1, 2 or 3.")
    return int(text)


# ------------------------------------------------------------------------------------------------ CSV


def parse_csv(text: str) -> ParsedJudgments:
    reader = csv.reader(io.StringIO(files.check_text(text), newline=""), strict=True)
    record_start = 1  # the line a record starts on (a quoted field may span lines)
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            record_start = reader.line_num + 1
            header = next(reader, None)
        if header is None:
            raise BadImportFile(line=0, problem="The file is empty.")
        names = [cell.strip().lower() for cell in header]
        missing = [column for column in CSV_COLUMNS if column not in names]
        if missing:
            raise BadImportFile(
                line=record_start,
                problem=f"the header lacks {', '.join(missing)}; expected {','.join(CSV_COLUMNS)}.",
            )
        index = {column: names.index(column) for column in CSV_COLUMNS}
        collector = _Collector()
        record_start = reader.line_num + 1
        for row in reader:
            line, record_start = record_start, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(names):
                raise BadImportFile(line=line, problem=f"{len(row)} fields where the header has {len(names)}.")
            query_id, query, doc_id, grade = (undo_defuse(row[index[column]]) for column in CSV_COLUMNS)
            collector.query(line, query_id, query)
            if doc_id.strip() or grade.strip():
                collector.judgment(line, query_id, doc_id, grade)
    except csv.Error as err:
        raise BadImportFile(line=record_start, problem=f"not valid CSV ({err}); is a quote left open?") from None
    return collector.result()


def to_csv(query_set: QuerySet, qrels: Mapping[str, Mapping[str, int]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for query, doc_id, grade in _rows(query_set, qrels):
        # Formula-escaped: query texts and ids come from files and users; a spreadsheet must show, not run, them.
        writer.writerow([defuse_formula(query.query_id), defuse_formula(query.text), defuse_formula(doc_id),
                         "" if grade is None else grade])
    return out.getvalue()


def _rows(query_set: QuerySet, qrels: Mapping[str, Mapping[str, int]]) -> Iterable[tuple[SetQuery, str, int | None]]:
    """Every judged document of every query (best grade first); a query with none gives one empty row."""
    for query in query_set.queries:
        judged = sorted(qrels.get(query.query_id, {}).items(), key=lambda item: (-item[1], item[0]))
        if not judged:
            yield query, "", None
        for doc_id, grade in judged:
            yield query, doc_id, grade


# ------------------------------------------------------------------------------------------------ JSON


class _Located(dict[str, Any]):
    """A JSON object that remembers the line it starts on."""

    line = 0


class _LocatedList(list[Any]):
    """A JSON array that remembers the line each of its elements starts on."""

    lines: list[int]


def _located_loads(text: str) -> Any:
    newlines = [i for i, char in enumerate(text) if char == "\n"]
    decoder = json.JSONDecoder()

    def parse_object(s_and_end: tuple[str, int], *args: Any, **kwargs: Any) -> tuple[dict[str, Any], int]:
        start = s_and_end[1]
        obj, end = json.decoder.JSONObject(s_and_end, *args, **kwargs)  # type: ignore[attr-defined]
        located = _Located(obj)
        located.line = bisect.bisect_left(newlines, start - 1) + 1
        return located, end

    def parse_array(s_and_end: tuple[str, int], scan_once: Any, *args: Any, **kwargs: Any) -> tuple[list[Any], int]:
        starts: list[int] = []

        def recording(string: str, index: int) -> Any:  # called once per element, at its first character
            starts.append(index)
            return scan_once(string, index)

        values, end = json.decoder.JSONArray(s_and_end, recording, *args, **kwargs)  # type: ignore[attr-defined]
        located = _LocatedList(values)
        located.lines = [bisect.bisect_left(newlines, start) + 1 for start in starts]
        return located, end

    # The pure-Python scanner calls the decoder's parse_object and parse_array (the C one would bypass them);
    # both are undocumented attributes, hence Any.
    hooked: Any = decoder
    hooked.parse_object = parse_object
    hooked.parse_array = parse_array
    hooked.scan_once = getattr(json.scanner, "py_make_scanner")(decoder)  # noqa: B009
    return decoder.decode(text)


def parse_json(text: str) -> ParsedJudgments:
    text = files.check_text(text)
    files.check_json(text)  # nesting and number size, before Python's parser recurses or refuses
    try:
        data = _located_loads(text)
    except json.JSONDecodeError as err:
        raise BadImportFile(line=err.lineno, problem=f"not valid JSON: {err.msg} (column {err.colno}).") from None
    about: dict[str, str | None] = {}
    if isinstance(data, dict):
        listed = data.get("rows")
        if not isinstance(listed, list):
            raise BadImportFile(line=1, problem='expected a list of rows, or an object with a "rows" list.')
        for key in ("name", "collection", "id_property"):
            value = data.get(key)
            about[key] = value if isinstance(value, str) and value.strip() else None
        rows: list[Any] = listed
    elif isinstance(data, list):
        rows = data
    else:
        raise BadImportFile(line=1, problem='expected a list of rows, or an object with a "rows" list.')
    collector = _Collector()
    generated: dict[str, str] = {}  # normalised text -> generated id, for rows without query_id
    first_collection: tuple[str, int] | None = None  # rows may say their collection (the demo file does)
    for position, row in enumerate(rows):
        line = rows.lines[position] if isinstance(rows, _LocatedList) else row.line if isinstance(row, _Located) else 0
        if not isinstance(row, dict):
            raise BadImportFile(line=line, problem=f"a row must be an object, not {json.dumps(row)[:40]}.")
        collection = row.get("collection")
        if isinstance(collection, str) and collection.strip():
            if first_collection is None:
                first_collection = (collection, line)
            elif collection != first_collection[0]:
                raise BadImportFile(
                    line=line,
                    problem=f"this row is for collection {collection!r}, line {first_collection[1]} for "
                    f"{first_collection[0]!r}; a query set belongs to one collection: split the file.",
                )
        query_text = row.get("query")
        if not isinstance(query_text, str) or not query_text.strip():
            raise BadImportFile(line=line, problem='the row has no "query" text.')
        query_id = row.get("query_id")
        if query_id is None:
            query_id = generated.setdefault(normalise_query(query_text), f"q{len(generated) + 1}")
        if not isinstance(query_id, str | int) or isinstance(query_id, bool):
            raise BadImportFile(line=line, problem='"query_id" must be a string.')
        collector.query(line, str(query_id), query_text)
        doc_id, grade = row.get("doc_id"), row.get("grade")
        if doc_id is None and grade is None:
            continue
        if not isinstance(doc_id, str):
            raise BadImportFile(line=line, problem='"doc_id" must be a string next to a "grade".')
        collector.judgment(line, str(query_id), doc_id, "" if grade is None else grade)
    if first_collection is not None and about.get("collection") is None:
        about["collection"] = first_collection[0]
    return collector.result(**about)


def to_json(query_set: QuerySet, qrels: Mapping[str, Mapping[str, int]]) -> str:
    rows = [
        {"query_id": query.query_id, "query": query.text}
        | ({"doc_id": doc_id, "grade": grade} if grade is not None else {})
        for query, doc_id, grade in _rows(query_set, qrels)
    ]
    head = json.dumps(
        {"name": query_set.name, "collection": query_set.collection, "id_property": query_set.id_property},
        ensure_ascii=False,
    )[:-1]
    body = ",\n".join("    " + json.dumps(row, ensure_ascii=False) for row in rows)
    return f'{head}, "rows": [\n{body}\n]}}\n'


# ------------------------------------------------------------------------------------------------ TREC

_TREC_ID = re.compile(r"[^\s<>&]+")
_TOP = re.compile(r"<top>(.*?)</top>", re.S | re.I)
_NUM = re.compile(r"<num>\s*(?:number:)?\s*(\S+)", re.I)
_TITLE = re.compile(r"<title>\s*(?:topic:)?\s*(.*?)\s*(?=<|$)", re.S | re.I)


def parse_trec(topics_text: str, qrels_text: str) -> ParsedJudgments:
    """TREC topics (``<top>`` blocks or ``id<TAB>text`` lines) and qrels (``id iteration doc_id grade``).

    Lines of qrels errors are lines of the qrels file; lines of topics errors are lines of the topics file.
    """
    collector = _Collector()
    topics_text = files.check_text(topics_text, "The topics file")
    qrels_text = files.check_text(qrels_text, "The qrels file")
    if _TOP.search(topics_text):
        for block in _TOP.finditer(topics_text):
            line = topics_text.count("\n", 0, block.start()) + 1
            num, title = _NUM.search(block.group(1)), _TITLE.search(block.group(1))
            if not num:
                raise BadImportFile(line=line, problem="topics: this <top> has no <num>.")
            if not title or not title.group(1).strip():
                raise BadImportFile(line=line, problem=f"topics: topic {num.group(1)!r} has no <title>.")
            # Titles are written with <, > and & as entities (``to_trec``): read them back.
            _topic(collector, line, html.unescape(num.group(1)), html.unescape(" ".join(title.group(1).split())))
    else:
        for line, raw in enumerate(topics_text.splitlines(), start=1):
            if not raw.strip():
                continue
            query_id, _, text = raw.partition("\t") if "\t" in raw else raw.strip().partition(" ")
            if not text.strip():
                raise BadImportFile(line=line, problem="topics: expected 'query_id<TAB>query text'.")
            _topic(collector, line, query_id, text)
    if not collector.queries:
        raise BadImportFile(line=0, problem="topics: the file holds no topic.")
    for line, raw in enumerate(qrels_text.splitlines(), start=1):
        if not raw.strip():
            continue
        fields = raw.split()
        if len(fields) != 4:
            raise BadImportFile(
                line=line, problem=f"qrels: expected 'query_id iteration doc_id grade', found {len(fields)} fields."
            )
        query_id, _, doc_id, grade = fields
        if query_id not in collector.queries:
            raise BadImportFile(line=line, problem=f"qrels: query {query_id!r} is not among the topics.")
        try:
            collector.judgment(line, query_id, doc_id, grade)
        except BadImportFile as err:
            raise BadImportFile(line=line, problem=f"qrels: {err.problem}") from None
    return collector.result()


def _topic(collector: _Collector, line: int, query_id: str, text: str) -> None:
    try:
        collector.query(line, query_id, text)
    except BadImportFile as err:
        raise BadImportFile(line=line, problem=f"topics: {err.problem}") from None
    if collector.queries[query_id.strip()][1] != line:
        raise BadImportFile(line=line, problem=f"topics: topic {query_id!r} appears twice.")


def trec_problem(query_set: QuerySet, qrels: Mapping[str, Mapping[str, int]]) -> str | None:
    """Why the set cannot be written as TREC files (an id with white space or <, >, &), or None."""
    ids = [*((q.query_id, "query id") for q in query_set.queries),
           *((d, "document id") for judged in qrels.values() for d in judged)]
    for value, what in ids:
        if not _TREC_ID.fullmatch(value):
            return f"The {what} {value[:80]!r} cannot be written in TREC files (white space or <, >, & in it)."
    return None


def _trec_title(text: str) -> str:
    title = html.escape(" ".join(text.split()), quote=False)
    # The reader drops one leading "Topic:" (TREC's own files have it): a query that starts so keeps its own.
    return f"Topic: {title}" if re.match(r"topic:", title, re.I) else title


def to_trec(query_set: QuerySet, qrels: Mapping[str, Mapping[str, int]]) -> tuple[str, str]:
    """(topics, qrels) texts; the topics in the classic ``<top>`` form, ``<``, ``>`` and ``&`` in a title written
    as entities (so a query cannot close its topic or open another; ``parse_trec`` reads them back).

    Raises ``InvalidInput`` when an id cannot be written: TREC files separate fields by white space.
    """
    problem = trec_problem(query_set, qrels)
    if problem is not None:
        raise InvalidInput(problem, hint="Export CSV or JSON instead: they keep any id.")
    judged = [(query, doc_id, grade) for query, doc_id, grade in _rows(query_set, qrels) if grade is not None]
    topics = "".join(
        f"<top>\n<num> Number: {query.query_id}\n<title> {_trec_title(query.text)}\n</top>\n\n"
        for query in query_set.queries
    )
    lines = "".join(f"{query.query_id} 0 {doc_id} {grade}\n" for query, doc_id, grade in judged)
    return topics, lines


# ------------------------------------------------------------------------------------------------ import


def import_judgments(
    store: Store,
    collection: str,
    set_name: str,
    parsed: ParsedJudgments,
    *,
    id_property: str | None = None,
    judge: str | None = None,
) -> QuerySet:
    """Store a parsed file as the query set ``set_name`` (replacing one of that name) with its judgments, at once."""
    query_set = QuerySet(name=set_name, collection=collection, queries=parsed.queries, id_property=id_property)
    text_of = {query.query_id: query.text for query in parsed.queries}
    store.import_query_set(query_set, ((text_of[j.query_id], j.doc_id, j.grade) for j in parsed.judgments), judge=judge)
    return query_set
