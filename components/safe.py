"""The one way untrusted text reaches the screen: as text, never as Markdown or HTML.

Streamlit renders Markdown (links, images that the browser fetches, emphasis, ``:colour[...]`` and
``:material/...:`` directives, ``$math$``, raw HTML tags shown literally only if escaped) in alerts, captions,
widget labels, expander titles, radio and pills options, metric labels, headings and toasts. Anything we do not
control — a value from a link, a file, a document, a collection or property name, another user's story or query
set, a server's error message — goes through one of these before such a call:

- ``md_escape(value)``  a value placed inside our own Markdown (cut to ``max_chars``, whitespace flattened);
- ``text(message)``     a whole message that is plain text (our words plus quoted values), e.g. an error.

CommonMark lets a backslash escape any ASCII punctuation character; escaping those that start a construct turns
every construct into literal text. Two plugins work on the text *after* escapes are resolved: GFM's bare-URL and
e-mail autolinks (``http://…``, ``www.…``, ``a@b.c``) and emoji shortcodes (``:smile:``); an invisible word
joiner (U+2060) after every ``:`` and ``@`` and inside ``www.`` keeps them from matching.
``tests/app/test_hostile_text.py`` fails if a page shows such text unescaped.
"""

from __future__ import annotations

import re

from rerank_playground.errors import AuthRejected, BudgetExhausted, KeyRequired

# The punctuation that starts a construct on a single flattened line: emphasis, code, links and images, HTML
# and entities, headings, lists, tables, strikethrough, directives and shortcodes, math.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$&])")
# After ":" or "@", and between "www" and ".": breaks the autolink and shortcode patterns, shows nothing.
_AUTOLINK_BREAK = re.compile(r"(?<=[:@])|(?i:(?<=www)(?=\.))")
WORD_JOINER = "\u2060"
MESSAGE_CHARS = 2_000
# The core's key messages name the setting (JINAAI_APIKEY), which is what a script or the CLI can change; in the
# app a key can also be typed in, so its messages add where.
SIDEBAR_HINT = "In this app you can also paste a key in the sidebar."


def md_escape(text: object, max_chars: int = 200) -> str:
    """Backslash-escape Markdown syntax so the value shows as text (no links, images, emphasis, math, HTML)."""
    flat = " ".join(str(text).split())
    if len(flat) > max_chars:
        flat = flat[: max_chars - 1] + "…"
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _AUTOLINK_BREAK.sub(WORD_JOINER, flat))


def text(message: object) -> str:
    """A plain-text message (ours, quoting values we do not control) made safe for any Markdown-rendering call.
    An error a key would fix says where the app takes one."""
    if isinstance(message, KeyRequired | AuthRejected | BudgetExhausted):
        message = f"{message} {SIDEBAR_HINT}"
    return md_escape(message, max_chars=MESSAGE_CHARS)
