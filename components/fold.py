"""Results in view: once a page has results, its inputs fold into a one-line summary that opens with one click.

The widgets are drawn inside ``st.expander`` exactly as before (same keys, same URL behaviour): folding only
hides them. The results are a fragment (a click reruns only them), so the expander's label, drawn by the page,
cannot follow a new run: it says "Settings" and nothing else, and the run on screen is described by
:func:`shown_line`, which the results fragment draws from the stored last-run record (never from widget state).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import streamlit as st

from components import last_run
from components.last_run import SearchRecord
from components.safe import md_escape
from rerank_playground.models import SearchMode, SearchRequest
from rerank_playground.rerankers.choice import RerankChoice

SUMMARY_QUERY_CHARS = 60
STYLESHEET = Path(__file__).with_name("compact.css")


def settings_summary(request: SearchRequest, choices: Sequence[RerankChoice], n: int | None) -> str:
    """"DemoWiki · hybrid α 0.5 · “how did writing begin” · K 50 · N 10 · local baseline (WordLlama)"."""
    query = request.query if len(request.query) <= SUMMARY_QUERY_CHARS else request.query[:SUMMARY_QUERY_CHARS] + "…"
    mode = request.mode.value + (f" α {request.alpha:g}" if request.mode == SearchMode.HYBRID else "")
    parts = [request.collection, mode, f"“{query}”", *(f"where {f}" for f in request.filters), f"K {request.limit}"]
    if n is not None:
        parts.append(f"N {n}")
    parts.append(", ".join(c.label for c in choices) or "no reranker")
    return " · ".join(parts)


def last_summary(key_prefix: str) -> str | None:
    """The summary of this page's last run, or None when there are no results yet."""
    last = last_run.last_record(key_prefix)
    if last is None:
        return None
    if isinstance(last, SearchRecord):
        return settings_summary(last.request, [last.choice], last.n)
    return settings_summary(last.request, list(last.choices), None)


def shown_line(key_prefix: str) -> None:
    """"Shown: DemoWiki · keyword · “…” · K 50 · N 10 · local baseline": the settings of the run on screen,
    from its record (drawn by the results fragment, so it changes with the results it describes)."""
    summary = last_summary(key_prefix)
    if summary is not None:
        st.caption(f"**Shown:** {md_escape(summary)}")


def will_run(key_prefix: str) -> bool:
    """This script run was started by the page's run button or a one-click suggestion (read before either is
    drawn: a clicked button's value is in session state from the start of the run)."""
    return bool(st.session_state.get(f"{key_prefix}.run") or st.session_state.get(f"{key_prefix}.autorun"))


def compact_style() -> None:
    # Our own static stylesheet (never built from data): less empty space above the results.
    st.markdown(f"<style>{STYLESHEET.read_text(encoding='utf-8')}</style>", unsafe_allow_html=True)


def is_folded(key_prefix: str, *, running: bool = False) -> bool:
    """Whether :func:`folded_inputs` folds the inputs on this run (there are results, or there will be)."""
    return last_summary(key_prefix) is not None or running or will_run(key_prefix)


@contextlib.contextmanager
def folded_inputs(key_prefix: str, *, running: bool = False) -> Iterator[None]:
    """Draw the page's inputs inside this block: open until there are results, then folded into one line.

    ``running``: this run will produce results (a click, a suggestion, a shared link): fold already, so the
    results it draws are in view. The expander has a key, so it keeps its state while its label changes;
    a new run folds it again.
    """
    if not is_folded(key_prefix, running=running):
        yield
        return
    running = running or will_run(key_prefix)
    compact_style()
    state_key = f"{key_prefix}.settings_open"
    if running:
        st.session_state[state_key] = False
    with st.expander("**Settings** (query, collection, search mode, K, N, reranker)", expanded=False,
                     key=state_key, icon=":material/tune:"):
        yield
