"""Small BEIR-format datasets written on the spot (no dataset is downloaded): for the load tests and benchmark.

:func:`write_beir` writes ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl`` (``_id``, ``text``) and
``qrels/test.tsv`` (header ``query-id	corpus-id	score``, graded 0–2). Documents are made of topic words, so each
query (two words of its topic) is answered best by its topic's documents: graded 2 for the documents holding both
words, 1 for one, 0 for a sampled other topic's document. One document id has spaces and non-ASCII letters.
``malformed=True`` breaks one corpus line (:data:`MALFORMED_LINE`). :func:`write_corpus` streams ``n`` generated
documents for the scale benchmark.
"""

from __future__ import annotations

import json
import random
import zipfile
from dataclasses import dataclass
from pathlib import Path

ODD_ID = "doc with spaces — ünïcödé 東京"
MALFORMED_LINE = 7  # 1-based line of corpus.jsonl that malformed=True breaks
_FILLER = ("report", "notes", "study", "overview", "summary", "review", "guide", "analysis", "record", "story",
           "update", "brief", "letter", "journal", "paper", "memo")
_TOPICS = (
    ("glacier", "meltwater"), ("volcano", "magma"), ("orchid", "pollinator"), ("comet", "perihelion"),
    ("falcon", "migration"), ("coral", "bleaching"), ("tariff", "export"), ("violin", "rosin"),
    ("enzyme", "substrate"), ("harbor", "dredging"), ("lichen", "symbiosis"), ("quartz", "crystal"),
    ("monsoon", "rainfall"), ("beetle", "larva"), ("satellite", "orbit"), ("bridge", "suspension"),
    ("vaccine", "antibody"), ("desert", "dune"), ("pottery", "kiln"), ("tunnel", "boring"),
    ("saffron", "harvest"), ("turbine", "blade"),
)


@dataclass(frozen=True)
class BeirFixture:
    folder: Path
    doc_ids: tuple[str, ...]
    queries: dict[str, str]  # query id -> text
    qrels: dict[str, dict[str, int]]  # query id -> doc id -> grade

    @property
    def corpus(self) -> Path:
        return self.folder / "corpus.jsonl"

    def zip(self, path: Path) -> Path:
        """The folder as a ``.zip`` with a top folder, as BEIR's downloads are."""
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(self.folder.rglob("*")):
                if file.is_file():
                    archive.write(file, f"{self.folder.name}/{file.relative_to(self.folder).as_posix()}")
        return path


def _document(rng: random.Random, topic: tuple[str, str], mode: int) -> tuple[str, str]:
    words = [rng.choice(_FILLER) for _ in range(12)]
    if mode in (0, 2):
        words[rng.randrange(12)] = topic[0]
    if mode in (1, 2):
        words[rng.randrange(12)] = topic[1]
    title = f"{topic[0] if mode != 1 else topic[1]} {rng.choice(_FILLER)}"
    return title, " ".join(words)


def write_beir(folder: Path, *, documents: int = 300, queries: int = 20, seed: int = 7,
               malformed: bool = False) -> BeirFixture:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "qrels").mkdir(exist_ok=True)
    topics = _TOPICS[:queries]
    doc_ids: list[str] = []
    by_topic: dict[int, list[tuple[str, int]]] = {t: [] for t in range(len(topics))}
    lines = []
    for i in range(documents):
        t, mode = i % len(topics), (i // len(topics)) % 4  # mode 3: a topic-free document
        doc_id = ODD_ID if i == 5 else f"d{i:04d}"
        title, text = _document(rng, topics[t], mode) if mode < 3 else (rng.choice(_FILLER), " ".join(
            rng.choice(_FILLER) for _ in range(12)))
        doc_ids.append(doc_id)
        if mode < 3:
            by_topic[t].append((doc_id, mode))
        lines.append(json.dumps({"_id": doc_id, "title": title, "text": text, "metadata": {}}, ensure_ascii=False))
    if malformed:
        lines[MALFORMED_LINE - 1] = lines[MALFORMED_LINE - 1][:-5]  # cut the closing of the object
    (folder / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    query_texts = {f"q{t + 1}": f"{a} {b}" for t, (a, b) in enumerate(topics)}
    extra = {"q-unjudged": "a query with no judgments in this split"}
    (folder / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": qid, "text": text}) + "\n" for qid, text in {**query_texts, **extra}.items()),
        encoding="utf-8")
    qrels: dict[str, dict[str, int]] = {}
    rows = ["query-id\tcorpus-id\tscore"]
    for t in range(len(topics)):
        qid = f"q{t + 1}"
        grades = {doc_id: 2 if mode == 2 else 1 for doc_id, mode in by_topic[t][:6]}
        other = by_topic[(t + 1) % len(topics)][0][0]
        grades[other] = 0
        qrels[qid] = grades
        rows += [f"{qid}\t{doc_id}\t{grade}" for doc_id, grade in grades.items()]
    (folder / "qrels" / "test.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return BeirFixture(folder, tuple(doc_ids), query_texts, qrels)


def write_corpus(path: Path, n: int, *, seed: int = 11) -> Path:
    """``n`` generated BEIR corpus lines (about 100 characters each), written as they are made."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            title, text = _document(rng, _TOPICS[i % len(_TOPICS)], i % 4)
            handle.write(json.dumps({"_id": f"d{i}", "title": title, "text": text}) + "\n")
    return path
