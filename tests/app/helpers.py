"""Helpers shared by the AppTest modules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT = 90


def _walk(node: Any) -> Iterator[Any]:
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield from _walk(child)


def all_text(at: AppTest) -> str:
    """Every element's proto as text (labels, values, options, alerts, captions, figure JSON...)."""
    parts = []
    for node in _walk(at._tree):
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
    return "\n".join(parts)


def assert_healthy(at: AppTest) -> None:
    """No uncaught exception and no traceback anywhere on the page."""
    assert not at.exception, [e.value for e in at.exception]
    text = all_text(at)
    assert "Traceback" not in text
    assert 'File "' not in text


_MD_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def shown(text: str) -> str:
    """What a Markdown-rendered text shows: backslash escapes resolved, the invisible word joiners that
    ``components/safe.py`` puts after ``:`` and ``@`` removed."""
    return _MD_ESCAPE.sub(r"\1", text).replace("\u2060", "")


def values(elements: Any) -> list[str]:
    """The texts of elements as the user reads them (``shown``)."""
    return [shown(str(e.value)) for e in elements]


def button(at: AppTest, key: str) -> Any:
    return at.button(key=key)


def frame_with(at: AppTest, *columns: str) -> Any:
    """The first dataframe shown that has all of ``columns`` (dataframes carry no key in AppTest)."""
    for element in at.dataframe:
        frame = element.value
        if all(c in frame.columns for c in columns):
            return frame
    raise AssertionError(f"no dataframe with columns {columns}; shown: {[list(e.value.columns) for e in at.dataframe]}")


def widget_values(at: AppTest, prefix: str, names: tuple[str, ...]) -> dict[str, Any]:
    """The value of each widget ``<prefix>.<name>`` on the page (popovers included); each must be there once."""
    widgets = [node for node in _walk(at._tree) if getattr(node, "key", None)]
    found = {}
    for name in names:
        matches = [w for w in widgets if w.key == f"{prefix}.{name}"]
        assert len(matches) == 1, f"{prefix}.{name} is not on the page"
        found[name] = matches[0].value
    return found


# What a cut keeps of one reranked list (best first), counted directly (not through ``cutoff.Cut``).


def leading_at_least(scores: list[float], threshold: float) -> int:
    """Documents kept from the top of a list while their score is at least ``threshold``."""
    kept = 0
    for score in scores:
        if score < threshold:
            break
        kept += 1
    return kept


def leading_before_a_drop(scores: list[float], fraction: float) -> int:
    """Documents kept from the top until the first drop larger than ``fraction`` of the list's score range."""
    span = max(scores) - min(scores)
    for i in range(1, len(scores)):
        if span > 0 and round((scores[i - 1] - scores[i]) / span, 12) > fraction:
            return i
    return len(scores)


def kept_directly(kind: str, value: float, scores: list[float]) -> int:
    """What a cut of ``kind`` (threshold, top_k, relative) with ``value`` keeps of ``scores``."""
    if kind == "top_k":
        return min(int(value), len(scores))
    if kind == "threshold":
        return leading_at_least(scores, value)
    return leading_before_a_drop(scores, value)
