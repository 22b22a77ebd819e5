"""The search inputs the pages share, the collection defaults, and widget seeding.

Session state (non-widget keys, so they survive page switches):

- ``inputs``        the :class:`SearchInputs` shared by the Search and Compare pages (also mirrored in the URL)
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import streamlit as st

from rerank_playground import schema
from rerank_playground.demo.suggestions import SUGGESTED_QUERIES, SuggestedQuery
from rerank_playground.models import CollectionInfo
from rerank_playground.playground import Playground
from rerank_playground.search_inputs import SearchInputs

INPUTS = "inputs"


def inputs() -> SearchInputs:
    """The search inputs shared by the pages (session state, not widget state)."""
    if INPUTS not in st.session_state:
        st.session_state[INPUTS] = SearchInputs()
    current: SearchInputs = st.session_state[INPUTS]
    return current


def set_inputs(new: SearchInputs) -> SearchInputs:
    st.session_state[INPUTS] = new
    return new


def update_inputs(**changes: Any) -> SearchInputs:
    """Store the inputs with ``changes`` and return them."""
    return set_inputs(replace(inputs(), **changes))


def seed(widget_key: str, value: Any, options: list[Any] | None = None) -> Any:
    """Give a widget its stored value before it is drawn (widget state is dropped on other pages); returns the
    value it will show. Pass that value as the widget's default too (``value=``, ``index=``): a browser that
    redraws the widget without its state (it happened when the folded inputs were opened on a loaded machine)
    falls back to the default, and the default must be what the user set, not the first option or the minimum."""
    current = st.session_state.get(widget_key, None)
    if widget_key not in st.session_state or (options is not None and current not in options):
        if options is not None and value not in options:
            value = options[0] if options else None
        st.session_state[widget_key] = value
    return st.session_state[widget_key]


def seeded_index(widget_key: str, value: Any, options: list[Any]) -> int:
    """:func:`seed` for a selectbox: the index of the value it will show (its ``index=``)."""
    shown = seed(widget_key, value, options)
    return options.index(shown) if shown in options else 0


# ------------------------------------------------------------------------------------------ collections


def collections(pg: Playground, *, refresh: bool = False) -> list[CollectionInfo]:
    """The collection list, fetched once per connection (and on ``refresh``)."""
    return pg.collections(cached=not refresh)


def cached_collection_count(pg: Playground) -> int | None:
    if pg.listed_count is not None:
        return pg.listed_count
    return pg.server.collections if pg.server else None


def default_collection(names: list[str]) -> str | None:
    return schema.default_collection(names)


def default_text_property(info: CollectionInfo) -> str | None:
    """The core's rule (the same on every page, in the CLI and in batch runs)."""
    return schema.default_rerank_property(info)


def default_keyword_properties(info: CollectionInfo) -> tuple[str, ...]:
    return schema.default_keyword_properties(info)


def suggestions(collection: str | None) -> list[SuggestedQuery]:
    return list(SUGGESTED_QUERIES.get(collection or "", []))
