"""Tables shown next to each chart, and their downloads (CSV / JSON).

Pure builders: core objects in, ``pandas.DataFrame`` or ``bytes`` out. Text stays plain text here; a
renderer must show it as text, never as HTML.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import pandas as pd

from rerank_playground.models import GRADES, Hit, Move, Movement, MovementSummary

SNIPPET_CHARS = 120
# Spreadsheet apps run cells that start with these as formulas (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def snippet(text: str | None, max_chars: int | None = SNIPPET_CHARS) -> str:
    """Whitespace collapsed to single spaces, cut to ``max_chars`` (ellipsis included); None = no cut."""
    # str.split() splits on exactly the characters \s matches (str.isspace), ~10x faster than re.sub on the
    # long passages every table, hover label and export runs through.
    flat = " ".join((text or "").split())
    if max_chars is None or len(flat) <= max_chars:
        return flat
    if max_chars <= 1:
        return "…"[:max_chars]
    return flat[: max_chars - 1].rstrip() + "…"


def move_class(move: Move) -> str:
    """``"up"``, ``"down"`` or ``"same"``."""
    if move.delta > 0:
        return "up"
    if move.delta < 0:
        return "down"
    return "same"


ARROWS = {"up": "▲", "down": "▼", "same": "●"}


def arrow(delta: int) -> str:
    """``"▲ 3"`` (climbed 3 places), ``"▼ 2"`` (fell 2), ``"● 0"`` (unchanged)."""
    if delta > 0:
        return f"▲ {delta}"
    if delta < 0:
        return f"▼ {-delta}"
    return "● 0"


# One glyph per TREC grade, the same shapes the charts mark documents with (charts.GRADE_MARKERS), so a
# badge in a table and a marker on a line read alike. ``None`` = no judgment: shown as unjudged, never as 0.
GRADE_GLYPHS: dict[int | None, str] = {3: "◆", 2: "■", 1: "□", 0: "—", None: "○"}
GRADE_NAMES: dict[int | None, str] = {**{grade: name for grade, name in GRADES.items()}, None: "unjudged"}


def grade_badge(grade: int | None) -> str:
    """``"◆ 3 perfect"``, ``"— 0 not relevant"``, ``"○ unjudged"``."""
    if grade is None:
        return f"{GRADE_GLYPHS[None]} {GRADE_NAMES[None]}"
    if grade not in GRADE_GLYPHS:
        raise ValueError(f"A grade is 0, 1, 2 or 3, not {grade!r}.")
    return f"{GRADE_GLYPHS[grade]} {grade} {GRADE_NAMES[grade]}"


GRADE_BADGES: tuple[str, ...] = tuple(grade_badge(g) for g in (3, 2, 1, 0, None))  # best first


def grade_of_badge(badge: str | None) -> int | None:
    """The grade a badge (or an empty cell) stands for; ``None`` = unjudged."""
    for grade in (3, 2, 1, 0):
        if badge == grade_badge(grade):
            return grade
    if badge in (None, "", grade_badge(None)):
        return None
    raise ValueError(f"Not a grade: {badge!r}.")


def top_n_change(move: Move) -> str:
    if move.entered_top_n:
        return "entered"
    if move.left_top_n:
        return "left"
    return ""


MOVEMENT_COLUMNS = [
    "new rank",
    "original rank",
    "delta",
    "move",
    "text",
    "retrieval score",
    "rerank score",
    "top-N",
    "uuid",
]


def movement_table(movement: Movement, snippet_chars: int | None = SNIPPET_CHARS) -> pd.DataFrame:
    """One row per document in reranked order; ``snippet_chars=None`` keeps the full text (for export)."""
    rows = [
        {
            "new rank": m.new_rank,
            "original rank": m.original_rank,
            "delta": m.delta,
            "move": arrow(m.delta),
            "text": snippet(m.text, snippet_chars),
            "retrieval score": m.retrieval_score,
            "rerank score": m.rerank_score,
            "top-N": top_n_change(m),
            "uuid": m.uuid,
        }
        for m in sorted(movement.moves, key=lambda m: m.new_rank)
    ]
    frame = pd.DataFrame(rows, columns=MOVEMENT_COLUMNS)
    for column in ("new rank", "original rank", "delta"):
        frame[column] = frame[column].astype("int64")
    for column in ("retrieval score", "rerank score"):
        frame[column] = frame[column].astype("float64")  # None -> NaN (shown as empty)
    return frame


RESULTS_COLUMNS = ["rank", "text", "score", "distance", "explain score", "uuid"]


def results_table(hits: Sequence[Hit], snippet_chars: int | None = SNIPPET_CHARS) -> pd.DataFrame:
    """One row per hit in the order given."""
    rows = [
        {
            "rank": h.rank,
            "text": snippet(h.text, snippet_chars),
            "score": h.score,
            "distance": h.distance,
            "explain score": h.explain_score or "",
            "uuid": h.uuid,
        }
        for h in hits
    ]
    frame = pd.DataFrame(rows, columns=RESULTS_COLUMNS)
    frame["rank"] = frame["rank"].astype("int64")
    for column in ("score", "distance"):
        frame[column] = frame[column].astype("float64")
    return frame


def _describe(move: Move | None) -> str:
    if move is None:
        return "—"
    return f"{arrow(move.delta)}: #{move.original_rank} → #{move.new_rank} {snippet(move.text, 60)}"


def fmt_correlation(value: float | None, digits: int = 2) -> str:
    """A rank correlation as shown everywhere: ``undefined`` when it is (see ``movement._undefined``)."""
    return "undefined" if value is None else f"{value:.{digits}f}"


def summary_table(summary: MovementSummary) -> pd.DataFrame:
    """Two string columns, ``metric`` and ``value`` (strings so mixed values display and export cleanly).
    Every metric names its scope: all K candidates, the shown top N, or a fixed top k."""
    all_k = f"all {summary.n} candidates"
    top = f"shown top {summary.shown}"
    rows: list[tuple[str, str]] = [
        ("documents", str(summary.n)),
        ("top N", str(summary.top_n)),
        (f"Kendall tau ({all_k})", fmt_correlation(summary.kendall_tau, 3)),
        (f"Spearman rho ({all_k})", fmt_correlation(summary.spearman_rho, 3)),
        (f"overlap ({top})", f"{summary.overlap_at_n:.2f} ({round(summary.overlap_at_n * summary.shown)}/"
                             f"{summary.shown})"),
    ]
    for k, value in sorted(summary.overlap_at_k.items()):
        shown = min(k, summary.n)
        rows.append((f"overlap@{k} (top {k})", f"{value:.2f} ({round(value * shown)}/{shown})"))
    rows += [
        (f"promoted ▲ ({all_k})", str(summary.promoted)),
        (f"demoted ▼ ({all_k})", str(summary.demoted)),
        (f"unchanged ● ({all_k})", str(summary.unchanged)),
        (f"promoted ▲ ({top})", str(summary.promoted_in_top_n)),
        (f"demoted ▼ ({top})", str(summary.demoted_in_top_n)),
        (f"unchanged ● ({top})", str(summary.unchanged_in_top_n)),
        (f"biggest climb ({all_k})", _describe(summary.biggest_climb)),
        (f"biggest fall ({all_k})", _describe(summary.biggest_fall)),
        ("tied rerank scores (kept in retrieval order)", str(summary.tied)),
    ]
    return pd.DataFrame(rows, columns=["metric", "value"])


def defuse_formula(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading ``'`` (so does one that already starts
    with quotes and then a formula character, so that ``undo_defuse`` gives back exactly what was written)."""
    if isinstance(value, str) and value.lstrip("'").startswith(_FORMULA_START):
        return "'" + value
    return value


def undo_defuse(value: str) -> str:
    """The inverse of ``defuse_formula``, for importing a CSV this app exported."""
    rest = value[1:]
    return rest if value.startswith("'") and defuse_formula(rest) == value else value


_defuse = defuse_formula


def to_csv_bytes(df: pd.DataFrame, *, escape_formulas: bool = True) -> bytes:
    """UTF-8 CSV without the index.

    With ``escape_formulas`` (default), text cells starting with ``= + - @`` get a leading ``'`` so a
    spreadsheet shows them instead of running them (the text comes from the database, untrusted).
    Numbers are left alone.
    """
    out = df
    if escape_formulas:
        out = df.copy()
        for column in out.columns:
            if out[column].dtype == object or pd.api.types.is_string_dtype(out[column].dtype):
                out[column] = out[column].map(_defuse)
    return str(out.to_csv(index=False)).encode("utf-8")


def to_jsonable(obj: Any) -> Any:
    """Dataclasses, DataFrames, enums, mappings and sequences to plain JSON types (NaN -> None)."""
    if isinstance(obj, pd.DataFrame):
        return [to_jsonable(row) for row in obj.to_dict(orient="records")]
    if isinstance(obj, pd.Series):
        return to_jsonable(obj.to_dict())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        data = {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        if isinstance(getattr(type(obj), "order", None), property):
            data["order"] = to_jsonable(getattr(obj, "order"))  # noqa: B009  e.g. RerankResult.order
        return data
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value)
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if obj is pd.NA or obj is pd.NaT:
        return None
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        obj = obj.item()
    if isinstance(obj, float):
        return None if math.isnan(obj) or math.isinf(obj) else obj
    if isinstance(obj, int):
        return obj
    return str(obj)


def to_json_bytes(obj: Any) -> bytes:
    """UTF-8 JSON (indented, non-ASCII kept) of anything ``to_jsonable`` understands.

    orjson: the standard library's encoder falls back to pure Python when asked to indent (a K = 1,000 export
    took a third of a second).
    """
    return orjson.dumps(to_jsonable(obj), option=orjson.OPT_INDENT_2)
