"""No page or component puts text it does not control into a Markdown-rendering Streamlit call unescaped.

Streamlit renders Markdown (links, images the browser fetches, directives) in alerts, captions, markdown/write,
headings, widget labels and help, expander and popover titles, radio/pills/segmented options, metric labels,
toasts and status labels. ``components/safe.py`` is the one way to show untrusted text there (``md_escape`` for
a value inside our Markdown, ``safe.text`` for a whole plain-text message).

This scans ``app.py``, ``pages/`` and ``components/`` for such calls whose text is built from values (f-strings,
``+``, ``.format``, ``%`` or a bare variable) and fails when a value reads something that carries text we do not control
(``UNTRUSTED_*``: names of stories, sets, runs, collections and properties, queries, document texts, notes,
errors) outside an escape. ``feedback.call_safely`` and ``feedback.guarded`` escape errors at the source, so the
``error`` they return is escaped already.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "components").glob("*.py"))]

MARKDOWN_CALLS = {
    "markdown", "write", "caption", "info", "warning", "error", "success", "toast", "title", "header",
    "subheader", "button", "download_button", "link_button", "page_link", "expander", "popover", "metric",
    "checkbox", "toggle", "radio", "selectbox", "multiselect", "text_input", "text_area", "number_input",
    "slider", "select_slider", "pills", "segmented_control", "file_uploader", "status", "tabs", "form_submit_button",
    "flash",  # feedback.flash: shown later by st.success / st.error
}
# Calls that make a value safe for Markdown.
ESCAPES = {"md_escape", "text", "_html_text", "len"}
# What carries text we do not control: names of things users, files, links and servers choose (a story, a set,
# a run, a collection, a property, a query, a document's text, a note) and errors (they quote all of those).
UNTRUSTED_ATTRS = {"name", "collection", "query", "text", "prop", "properties", "note", "message", "hint",
                   "heading", "problem", "error", "errors", "uuid"}
UNTRUSTED_NAMES = {"err", "exc", "note", "notes", "new_name", "set_name", "raw", "query", "story", "name",
                   "collection", "unknown", "doc", "line", "lines"}
# Reviewed call sites whose flagged value is ours after all ("file:line-text" fragments, each with a reason).
REVIEWED: dict[str, str] = {
    "st.error(last.error)": "a SearchRecord/CompareRecord error comes from feedback.call_safely: escaped",
    "ordering_label(name, mode)": "a reranker's label from our own registry",
    "join(lines)": "connection_panel / sidebar / Present top lists: built from our words and md_escape'd values",
    'f"uuid {move.uuid}"': "a uuid Weaviate generated (hex and dashes)",
    "text.info(note, icon": "cached_note: our words and clock times",
    "notes.warning(note)": "search_form link notes: each escaped (safe.text / md_escape) when it was made",
}


def _untrusted(node: ast.AST) -> list[str]:
    """The untrusted names and attributes ``node`` reads outside an escape call."""
    if isinstance(node, ast.Call):
        func = node.func
        called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if called in ESCAPES:
            return []
        receiver = _untrusted(func.value) if isinstance(func, ast.Attribute) else []
        return [*receiver, *(u for a in [*node.args, *(k.value for k in node.keywords)] for u in _untrusted(a))]
    if isinstance(node, ast.Attribute):
        own = [ast.unparse(node)] if node.attr in UNTRUSTED_ATTRS else []
        return own + _untrusted(node.value)
    if isinstance(node, ast.Name):
        return [node.id] if node.id in UNTRUSTED_NAMES else []
    return [u for child in ast.iter_child_nodes(node) for u in _untrusted(child)]


def _values(node: ast.AST) -> list[ast.AST]:
    """The interpolated values of a text argument (empty for a literal)."""
    if isinstance(node, ast.Constant):
        return []
    if isinstance(node, ast.JoinedStr):
        out: list[ast.AST] = []
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                # A number format (",", ".1f", "+d", ...) is a number.
                spec = part.format_spec
                numeric = isinstance(spec, ast.JoinedStr) and any(
                    isinstance(c, ast.Constant) and str(c.value)[-1:] in "dfe%," for c in spec.values
                )
                if not numeric:
                    out.append(part.value)
        return out
    if isinstance(node, ast.BinOp):
        return _values(node.left) + _values(node.right)
    if isinstance(node, ast.IfExp):
        return _values(node.body) + _values(node.orelse)
    return [node]


def _text_args(call: ast.Call) -> list[ast.AST]:
    args: list[ast.AST] = list(call.args[:1])
    args += [kw.value for kw in call.keywords if kw.arg in {"label", "body", "help", "text", "caption", "placeholder"}]
    return args


def offenders() -> list[str]:
    found = []
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        lines = text.splitlines()
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            if node.func.attr not in MARKDOWN_CALLS:
                continue
            owner = node.func.value
            # st.x(...), column.x(...), box.update(...) are Streamlit; self.x or a dict .get are not.
            if isinstance(owner, ast.Name) and owner.id in {"self", "json", "os", "re"}:
                continue
            if node.func.attr == "write" and isinstance(owner, ast.Attribute):
                continue
            for arg in _text_args(node):
                for value in _values(arg):
                    if _untrusted(value):
                        where = f"{path.relative_to(ROOT)}:{node.lineno}"
                        source = lines[node.lineno - 1].strip()
                        call = ast.get_source_segment(text, node) or source
                        if not any(r in call for r in REVIEWED):
                            found.append(f"{where}: {ast.unparse(value)!r} in {source[:100]}")
    return found


def test_untrusted_text_reaches_markdown_only_escaped() -> None:
    found = offenders()
    assert not found, (
        "Values passed to Markdown-rendering Streamlit calls without components.safe (md_escape / safe.text). "
        "Escape them, or, if the value is provably ours, add the call to REVIEWED with a reason:\n" + "\n".join(found)
    )


def test_the_check_catches_an_unescaped_value() -> None:
    """The scanner itself: an unescaped name in an alert is caught, the escaped one is not."""
    bad = ast.parse('st.warning(f"The story “{story.name}” is gone")').body[0]
    good = ast.parse('st.warning(f"The story “{md_escape(story.name)}” is gone")').body[0]
    assert isinstance(bad, ast.Expr) and isinstance(good, ast.Expr)
    assert isinstance(bad.value, ast.Call) and isinstance(good.value, ast.Call)
    assert [v for a in _text_args(bad.value) for v in _values(a) if _untrusted(v)]
    assert not [v for a in _text_args(good.value) for v in _values(a) if _untrusted(v)]
