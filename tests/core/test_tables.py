"""tables.py: the DataFrames shown next to each chart, and CSV / JSON downloads."""

from __future__ import annotations

import io
import json
import math

import pandas as pd
import pytest

from rerank_playground.models import Hit, RankedDoc, RerankResult, SearchMode
from rerank_playground.movement import compute_movement
from rerank_playground.tables import (
    GRADE_BADGES,
    MOVEMENT_COLUMNS,
    arrow,
    grade_badge,
    grade_of_badge,
    movement_table,
    results_table,
    snippet,
    summary_table,
    to_csv_bytes,
    to_json_bytes,
)

HITS = [
    Hit(rank=1, uuid="u0", text="first   doc\nwith newline", score=3.0),
    Hit(rank=2, uuid="u1", text='=HYPERLINK("http://x")', score=2.0),
    Hit(rank=3, uuid="u2", text="third <b>doc</b> & more", score=1.0, explain_score="bm25"),
]
# Reranked: d2, d0 (returned); d1 not returned -> appended.
RESULT = RerankResult(
    reranker="test", model="m", ranked=(RankedDoc(2, 0.9), RankedDoc(0, 0.5)), latency_ms=12.5, tokens=7
)


def movement():
    return compute_movement(HITS, RESULT, top_n=1)


def test_snippet() -> None:
    assert snippet("a  b\n\tc") == "a b c"
    assert snippet("abcdefghij", 5) == "abcd…"
    assert len(snippet("x" * 500, 120)) == 120
    assert snippet("abc", None) == "abc"
    assert snippet(None) == ""


@pytest.mark.parametrize(("delta", "expected"), [(3, "▲ 3"), (-2, "▼ 2"), (0, "● 0")])
def test_arrow(delta: int, expected: str) -> None:
    assert arrow(delta) == expected


def test_movement_table() -> None:
    df = movement_table(movement())
    assert list(df.columns) == MOVEMENT_COLUMNS
    assert df["new rank"].tolist() == [1, 2, 3]
    assert df["original rank"].tolist() == [3, 1, 2]
    assert df["delta"].tolist() == [3 - 1, 1 - 2, 2 - 3]
    assert df["move"].tolist() == ["▲ 2", "▼ 1", "▼ 1"]
    assert df["text"].tolist()[1] == "first doc with newline"  # whitespace collapsed
    assert df["text"].tolist()[0] == "third <b>doc</b> & more"  # plain text, not escaped: renderers show text
    assert df["rerank score"].tolist()[:2] == [0.9, 0.5]
    assert math.isnan(df["rerank score"].tolist()[2])  # not returned by the reranker
    assert df["top-N"].tolist() == ["entered", "left", ""]
    assert df["delta"].dtype == "int64"
    full = movement_table(movement(), snippet_chars=None)
    assert full["text"].tolist()[1] == "first doc with newline"


def test_results_table() -> None:
    df = results_table(HITS)
    assert df["rank"].tolist() == [1, 2, 3]
    assert df["score"].tolist() == [3.0, 2.0, 1.0]
    assert df["distance"].isna().all()
    assert df["explain score"].tolist() == ["", "", "bm25"]


def test_summary_table() -> None:
    df = summary_table(movement().summary)
    values = dict(zip(df["metric"], df["value"], strict=True))
    assert values["documents"] == "3"
    # pairs (orig,new): (3,1) (1,2) (2,3): discordant d2/d0, d2/d1 -> tau = (1 - 2) / 3
    assert values["Kendall tau (all 3 candidates)"] == f"{(1 - 2) / 3:.3f}"
    assert values["overlap (shown top 1)"] == "0.00 (0/1)"
    assert values["overlap@1 (top 1)"] == "0.00 (0/1)"
    assert values["overlap@10 (top 10)"] == "1.00 (3/3)"
    assert values["promoted ▲ (all 3 candidates)"] == "1" and values["demoted ▼ (all 3 candidates)"] == "2"
    assert values["promoted ▲ (shown top 1)"] == "1" and values["demoted ▼ (shown top 1)"] == "0"
    assert values["biggest climb (all 3 candidates)"].startswith("▲ 2: #3 → #1")
    assert all(isinstance(v, str) for v in df["value"])


def test_summary_table_says_undefined_for_an_undefined_correlation() -> None:
    one = compute_movement(HITS[:1], RerankResult(reranker="test", model="m", ranked=(RankedDoc(0, 0.5),),
                                                  latency_ms=1.0), top_n=1)
    values = dict(zip(*(summary_table(one.summary)[c] for c in ("metric", "value")), strict=True))
    assert values["Kendall tau (all 1 candidates)"] == "undefined"
    assert values["Spearman rho (all 1 candidates)"] == "undefined"


def test_csv_roundtrip_and_formula_escaping() -> None:
    df = movement_table(movement())
    raw = to_csv_bytes(df)
    back = pd.read_csv(io.BytesIO(raw))
    assert list(back.columns) == MOVEMENT_COLUMNS
    assert back["delta"].tolist() == [2, -1, -1]  # negative numbers are not touched
    assert back["text"].tolist()[2] == '\'=HYPERLINK("http://x")'
    plain = pd.read_csv(io.BytesIO(to_csv_bytes(df, escape_formulas=False)))
    assert plain["text"].tolist()[2] == '=HYPERLINK("http://x")'
    assert "▲ 2" in raw.decode("utf-8")


def test_json_of_dataclasses_and_frames() -> None:
    data = json.loads(to_json_bytes({"movement": movement(), "rerank": RESULT, "mode": SearchMode.HYBRID}))
    assert data["mode"] == "hybrid"
    assert data["rerank"]["order"] == [2, 0]
    assert data["rerank"]["ranked"][0] == {"index": 2, "score": 0.9}
    moves = data["movement"]["moves"]
    assert [m["uuid"] for m in moves] == ["u2", "u0", "u1"]
    assert moves[2]["rerank_score"] is None
    assert data["movement"]["summary"]["overlap_at_k"]["10"] == 1.0  # int keys become strings

    records = json.loads(to_json_bytes(movement_table(movement())))
    assert records[2]["rerank score"] is None  # NaN -> null, valid JSON
    assert records[0]["move"] == "▲ 2"


def test_grade_badges() -> None:
    assert grade_badge(3) == "◆ 3 perfect"
    assert grade_badge(0) == "— 0 not relevant"
    assert grade_badge(None) == "○ unjudged"  # unjudged is its own badge, never "0"
    assert GRADE_BADGES == ("◆ 3 perfect", "■ 2 relevant", "□ 1 related", "— 0 not relevant", "○ unjudged")
    for grade in (0, 1, 2, 3, None):
        assert grade_of_badge(grade_badge(grade)) == grade
    assert grade_of_badge(None) is None and grade_of_badge("") is None  # an emptied cell = unjudged
    with pytest.raises(ValueError):
        grade_badge(4)
    with pytest.raises(ValueError):
        grade_of_badge("5 amazing")
