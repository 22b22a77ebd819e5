"""The limits of a search and a comparison, defined once: the core checks them, the UI's widgets, links, story
files, batch plans and the CLI read them from here, so every screen and message says the same number."""

from __future__ import annotations

MAX_K = 1000  # candidates K a search retrieves (and a reranker reads); also the largest shown N
MAX_COMPARED = 5  # rerank models side by side: Compare, a story view, a batch run (plus its no-rerank baseline)
MAX_QUERY_CHARS = 4000  # a search query; longer ones are refused with a message, not silently cut
MAX_PROPERTIES = 50  # keyword properties of one search
MAX_FILTERS = 10  # property filters of one search (all must hold)
MAX_FILTER_VALUES = 50  # values of one "contains any" filter
MAX_NAME_CHARS = 200  # a collection or property name read from a link
