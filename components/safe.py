"""Helpers for putting values we do not control (URL parameters, collection config) into our own markdown."""

from __future__ import annotations

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$])")


def md_escape(text: object, max_chars: int = 200) -> str:
    """Backslash-escape markdown syntax so the value shows as text (no links, images, emphasis, math)."""
    flat = " ".join(str(text).split())
    if len(flat) > max_chars:
        flat = flat[: max_chars - 1] + "…"
    return _MARKDOWN_SPECIAL.sub(r"\\\1", flat)
