"""What every importer checks before it reads a file (query sets as CSV, JSON or TREC; story files): one set of
rules, one error type, the line named.

- Size: at most ``MAX_FILE_BYTES``.
- Encoding: UTF-8, with or without a byte-order mark (dropped). A UTF-16/32 mark or bytes that are not UTF-8
  are refused with the line they are on: a file is never imported with replacement characters.
- Characters: no NUL or other control character (tab, line feed and carriage return are text), neither raw nor
  as a JSON ``\\u0000``-style escape.
- JSON: nested at most ``MAX_JSON_DEPTH`` levels, numbers at most ``MAX_NUMBER_CHARS`` characters (Python's
  parser would recurse out of stack, or refuse a 4,300-digit integer, without naming the line).

Each problem raises :class:`BadImportFile` (line 0 = the file as a whole); nothing is imported.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

from rerank_playground.errors import BadImportFile

MAX_FILE_MB = 20
MAX_FILE_BYTES = MAX_FILE_MB * 1024 * 1024
MAX_JSON_DEPTH = 32
MAX_NUMBER_CHARS = 40

_OTHER_BOMS = {
    codecs.BOM_UTF32_LE: "UTF-32",  # before UTF-16: its mark starts with UTF-16 LE's
    codecs.BOM_UTF32_BE: "UTF-32",
    codecs.BOM_UTF16_LE: "UTF-16",
    codecs.BOM_UTF16_BE: "UTF-16",
}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A JSON escape that makes a control character (an escaped backslash before it does not count).
_CONTROL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u00(?:0[0-8bBcCeEfF]|1[0-9a-fA-F]|7[fF])")
# Strings are skipped whole (a bracket inside one is text); brackets and long numbers are what we look at.
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[{]|[\]}]|-?\d[\d.eE+-]{' + str(MAX_NUMBER_CHARS) + ",}")


def line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def decode(data: bytes, label: str = "The file") -> str:
    """The text of an uploaded file, checked (size, encoding, characters); the UTF-8 byte-order mark dropped."""
    if len(data) > MAX_FILE_BYTES:
        raise BadImportFile(
            line=0, problem=f"{label} is {len(data) / 1024 / 1024:.1f} MB; the limit is {MAX_FILE_MB} MB."
        )
    for mark, encoding in _OTHER_BOMS.items():
        if data.startswith(mark):
            raise BadImportFile(line=0, problem=f"{label} is {encoding} text; save it as UTF-8 and import it again.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise BadImportFile(
            line=line, problem=f"{label} is not UTF-8 text here (byte {err.start + 1}); save it as UTF-8."
        ) from None
    return check_text(text, label)


def check_text(text: str, label: str = "The file") -> str:
    """``text`` without a leading byte-order mark, refused if it holds a NUL or another control character."""
    text = text.removeprefix("\ufeff")
    bad = _CONTROL.search(text)
    if bad:
        raise BadImportFile(
            line=line_of(text, bad.start()),
            problem=f"{label} holds a control character (U+{ord(bad.group()):04X}); is it a text file?",
        )
    return text


def check_json(text: str) -> None:
    """Refuse what Python's parser cannot say plainly: deep nesting, huge numbers, escaped control characters."""
    escaped = _CONTROL_ESCAPE.search(text)
    if escaped:
        raise BadImportFile(
            line=line_of(text, escaped.start()),
            problem=f"a text holds an escaped control character ({escaped.group()[-6:]}); is it a text file?",
        )
    depth = 0
    for token in _JSON_TOKENS.finditer(text):
        first = token.group()[0]
        if first in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise BadImportFile(
                    line=line_of(text, token.start()),
                    problem=f"nested more than {MAX_JSON_DEPTH} levels deep; this is not a file this app wrote.",
                )
        elif first in "]}":
            depth = max(depth - 1, 0)
        elif first != '"':
            raise BadImportFile(
                line=line_of(text, token.start()),
                problem=f"a number longer than {MAX_NUMBER_CHARS} characters ({token.group()[:12]}…).",
            )


def load_json(text: str) -> Any:
    """``json.loads`` after ``check_json``; bad JSON names its line."""
    check_json(text)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise BadImportFile(line=err.lineno, problem=f"not valid JSON: {err.msg} (column {err.colno}).") from None
