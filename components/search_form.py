"""The search inputs shared by the Search and Compare pages: collection, mode, query, K, N, property.

Values live in ``state.inputs()`` (a frozen :class:`SearchInputs` in session state), so they survive page
switches; each widget is seeded from there before it is drawn and writes back after.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import streamlit as st

from components import safe, state, url_state
from components.safe import md_escape
from rerank_playground.errors import InvalidInput
from rerank_playground.filters import OP_LABELS, FilterOp, PropertyFilter, check_filters, operators_for
from rerank_playground.limits import MAX_K, MAX_QUERY_CHARS
from rerank_playground.models import CollectionInfo, Fusion, Operator, SearchMode, SearchRequest
from rerank_playground.playground import Playground
from rerank_playground.search_inputs import EMBEDDERS, SearchInputs, search_request, to_query_params

NO_FILTER = ""
MODE_LABELS = {"vector": "Vector", "keyword": "Keyword", "hybrid": "Hybrid"}
FUSION_LABELS = {"ranked": "Ranked", "relative_score": "Relative score"}
EMBEDDER_LABELS = dict(zip(EMBEDDERS, (
    "Local WordLlama (offline)",
    "Jina embeddings API (jina-embeddings-v3, needs a key)",
), strict=True))


@dataclass(frozen=True)
class SearchForm:
    """What the inputs ask for: the search on ``info`` and how many results to show."""

    request: SearchRequest
    info: CollectionInfo
    inputs: SearchInputs

    @property
    def n(self) -> int:
        return self.inputs.n


def _with_collection_defaults(values: SearchInputs, info: CollectionInfo, previous: str | None) -> SearchInputs:
    """A new collection: its default property, keyword properties and (when the query was a suggestion
    for the previous collection, or empty) its first suggested query."""
    old_suggested = {s.query for s in state.suggestions(previous)} if previous else set()
    query = values.query
    if query is None or not str(query).strip() or (previous != info.name and query in old_suggested):
        first = next(iter(state.suggestions(info.name)), None)
        if first is not None:
            values = replace(values, query=first.query, mode=SearchMode(first.mode))
        elif query is None or query in old_suggested:
            values = replace(values, query="")
    if previous != info.name or values.prop not in info.text_properties:
        values = replace(values, prop=state.default_text_property(info))
    if previous != info.name or values.properties is None:
        values = replace(values, properties=state.default_keyword_properties(info))
    return replace(values, collection=info.name)


def _check_link_properties(values: SearchInputs, info: CollectionInfo, notes: list[str]) -> SearchInputs:
    """A link's text and keyword properties that the collection does not have: say so (added to ``notes``), then
    use its defaults."""
    if values.prop is not None and values.prop not in info.text_properties:
        notes.append(f"The link's text property “{md_escape(values.prop)}” is not a text property of "
                   f"{md_escape(info.name)}; "
                   "showing its default one.")
        values = replace(values, prop=None)
    unknown = [p for p in values.properties or () if p not in info.text_properties]
    if unknown:
        notes.append(f"The link's keyword properties {md_escape(', '.join(unknown))} are not text properties of "
                   f"{md_escape(info.name)}; "
                   "they were left out.")
        values = replace(values, properties=tuple(p for p in values.properties or () if p in info.text_properties))
    return values


def _on_collection_change(key_prefix: str, infos: dict[str, CollectionInfo]) -> None:
    values = state.inputs()
    new = st.session_state.get(f"{key_prefix}.collection")
    if new not in infos:
        return
    values = state.set_inputs(_with_collection_defaults(values, infos[new], values.collection))
    st.session_state[f"{key_prefix}.query"] = values.query
    st.session_state[f"{key_prefix}.mode"] = values.mode.value
    st.session_state[f"{key_prefix}.prop"] = values.prop
    st.session_state[f"{key_prefix}.properties"] = list(values.properties or ())


def _on_suggestion(key_prefix: str, collection: str) -> None:
    chosen = st.session_state.get(f"{key_prefix}.suggested")
    st.session_state[f"{key_prefix}.suggested"] = None
    match = next((s for s in state.suggestions(collection) if s.query == chosen), None)
    if match is None:
        return
    state.update_inputs(query=match.query, mode=SearchMode(match.mode))
    st.session_state[f"{key_prefix}.query"] = match.query
    st.session_state[f"{key_prefix}.mode"] = match.mode
    st.session_state[f"{key_prefix}.autorun"] = True  # one click: set the query and run


def forget_link_notes(key_prefix: str) -> None:
    """The user has acted (a click on the run button): the link's notes have been read."""
    st.session_state.pop(f"{key_prefix}.link_notes", None)


def search_inputs(pg: Playground, key_prefix: str, *, show_n: bool = True, notes: Any = None) -> SearchForm | None:
    """Draw the search inputs; None when there is nothing to search (no collections). Every widget's value
    goes back into the shared inputs as it is read (each step stored, so the other pages see it).

    ``notes``: where to say what a link asked for that cannot be used (a container drawn above the folded
    inputs, so the notes are in view when a link folds them); default: in place."""
    notes = notes if notes is not None else st
    infos = {info.name: info for info in state.collections(pg)}
    if not infos:
        st.info(
            "This Weaviate has no collections yet. Load the demo collections on the Collections page, "
            "or connect to another Weaviate."
        )
        st.page_link("pages/collections.py", label="Open the Collections page", icon=":material/table_view:")
        return None
    names = list(infos)
    values = state.inputs()
    found = [safe.text(note) for note in url_state.link_notes()]  # notes quote the link's values
    from_link = url_state.consume_link_check()
    if values.collection not in infos:
        if values.collection:
            found.append(
                f"The collection “{md_escape(values.collection)}” is not on this server (any more?); showing "
                "another one. Refresh collections if it was just created."
            )
        values = state.set_inputs(
            _with_collection_defaults(values, infos[state.default_collection(names) or names[0]], None)
        )
    else:
        info = infos[values.collection]
        if from_link:
            values = state.set_inputs(_check_link_properties(values, info, found))
        if values.query is None or values.prop is None or values.properties is None:
            values = state.set_inputs(_with_collection_defaults(values, info, values.collection))
    # A link's notes stay in view on the page's later runs (a fold, the window size arriving) until a new link
    # or a click on the run button (``forget_link_notes``).
    notes_key = f"{key_prefix}.link_notes"
    if from_link or found:
        st.session_state[notes_key] = found
    for note in st.session_state.get(notes_key, []):
        notes.warning(note)

    top = st.columns([2.0, 2.9, 4.1])  # the mode column fits its three segments from a 1280 px window
    with top[0]:
        pick, refresh = st.columns([5, 1], gap="small", vertical_alignment="bottom")
        collection: str = pick.selectbox(
            "Collection",
            names,
            index=state.seeded_index(f"{key_prefix}.collection", values.collection, names),
            key=f"{key_prefix}.collection",
            format_func=lambda n: f"{n} · {infos[n].count:,} objects",
            on_change=_on_collection_change,
            args=(key_prefix, infos),
        )
        refresh.button(
            "", key=f"{key_prefix}.refresh_collections", icon=":material/refresh:", width="stretch",
            on_click=pg.forget_collections,
            help="Refresh the collection list: ask the server again (it is listed once per connection).",
        )
    info = infos[collection]
    values = state.update_inputs(collection=collection)
    with top[1]:
        modes = list(MODE_LABELS)
        mode = st.segmented_control(
            "Search mode",
            modes,
            default=state.seed(f"{key_prefix}.mode", values.mode.value, modes),
            key=f"{key_prefix}.mode",
            format_func=lambda m: MODE_LABELS[m],
            required=True,
            help="Vector: meaning (query vector). Keyword: BM25 words. Hybrid: both, fused.",
            wrap=True,  # too narrow: wrap onto a second row instead of scrolling the first option away
        )
        values = state.update_inputs(mode=SearchMode(mode) if mode else values.mode)
    with top[2]:
        # The filter sits beside the query, so the inputs keep their height (the run button stays in the first
        # screen at 1280x720).
        query_column, filter_column = st.columns([4, 1], gap="small", vertical_alignment="bottom")
        with filter_column, st.popover("Filter" + (" ✓" if values.filters else ""), width="stretch"):
            values = state.update_inputs(filters=filter_row(info, key_prefix, values.filters))
        query = query_column.text_input(
            "Query",
            value=state.seed(f"{key_prefix}.query", values.query or ""),
            key=f"{key_prefix}.query",
            max_chars=MAX_QUERY_CHARS,
            placeholder="Type what you are looking for…",
        )
        values = state.update_inputs(query=query)

    suggested = state.suggestions(collection)
    if suggested:
        st.pills(
            "Suggested queries (one click runs it)",
            [s.query for s in suggested],
            key=f"{key_prefix}.suggested",
            on_change=_on_suggestion,
            args=(key_prefix, collection),
        )
        current = next((s for s in suggested if s.query == query.strip()), None)
        if current is not None:
            st.caption(f"What to look for: {md_escape(current.why, 400)}")

    hybrid_mode = mode == "hybrid"
    widths = [1.0, 1.0] if show_n else [1.0]
    widths += [1.7] + ([1.8, 1.4] if hybrid_mode else []) + [1.3]
    columns = iter(st.columns(widths, vertical_alignment="bottom"))
    with next(columns):
        k = st.number_input(
            "Candidates K",
            value=state.seed(f"{key_prefix}.k", int(values.k)),
            min_value=1,
            max_value=MAX_K,
            step=10,
            key=f"{key_prefix}.k",
            help="How many results the search fetches. The reranker reorders all of them.",
        )
        values = state.update_inputs(k=int(k))
    if show_n:
        with next(columns):
            n = st.number_input(
                "Shown N",
                value=state.seed(f"{key_prefix}.n", int(values.n)),
                min_value=1,
                max_value=MAX_K,
                step=5,
                key=f"{key_prefix}.n",
                help="How many results the lists show; movement in and out of this top N is marked.",
            )
            values = state.update_inputs(n=int(n))
    props = list(info.text_properties)
    with next(columns):
        prop = st.selectbox(
            "Text shown and reranked",
            props,
            index=state.seeded_index(f"{key_prefix}.prop", values.prop, props),
            key=f"{key_prefix}.prop",
            help="The property whose text the lists show and the reranker reads.",
        )
        values = state.update_inputs(prop=prop)
    if hybrid_mode:
        with next(columns):
            alpha = st.slider(
                "Alpha (0 = keyword, 1 = vector)", 0.0, 1.0,
                value=state.seed(f"{key_prefix}.alpha", float(values.alpha)), step=0.05, key=f"{key_prefix}.alpha"
            )
            values = state.update_inputs(alpha=round(float(alpha), 2))
        with next(columns):
            fusions = list(FUSION_LABELS)
            fusion = st.selectbox(
                "Fusion", fusions, key=f"{key_prefix}.fusion", format_func=lambda f: FUSION_LABELS[f],
                index=state.seeded_index(f"{key_prefix}.fusion", values.fusion.value, fusions),
                help="How keyword and vector results are merged: by rank, or by normalised score.",
            )
            values = state.update_inputs(fusion=Fusion(fusion) if fusion else values.fusion)
    with next(columns):
        if mode != "vector" and props:
            with st.popover("Keyword options", width="stretch"):
                chosen = [p for p in (values.properties or ()) if p in props]
                if f"{key_prefix}.properties" not in st.session_state or any(
                    p not in props for p in st.session_state[f"{key_prefix}.properties"] or []
                ):
                    st.session_state[f"{key_prefix}.properties"] = chosen
                properties = st.multiselect(
                    "Properties BM25 reads (empty = all text properties)",
                    props,
                    key=f"{key_prefix}.properties",
                )
                values = state.update_inputs(properties=tuple(properties))
                operators = {"or": "Any word (OR)", "and": "All words (AND)"}
                operator = st.radio(
                    "Match", list(operators), format_func=lambda o: operators[o], horizontal=True,
                    index=state.seeded_index(f"{key_prefix}.operator", values.operator.value, list(operators)),
                    key=f"{key_prefix}.operator",
                    help="BM25 ranks documents with any query word (OR) or only those with all of them (AND).",
                )
                values = state.update_inputs(operator=Operator(operator or "or"))
        if mode != "keyword" and not info.has_server_vectorizer:
            with st.popover("Vector options", width="stretch"):
                embedders = dict(EMBEDDER_LABELS)
                embedder = st.selectbox(
                    "Query vector from", list(embedders), format_func=lambda e: embedders[e],
                    index=state.seeded_index(f"{key_prefix}.embedder", values.embedder, list(embedders)),
                    key=f"{key_prefix}.embedder",
                    help="This collection has no server-side vectorizer, so the app embeds the query. Pick the "
                    "model that made the stored vectors (the demo collections use the local WordLlama model).",
                )
                values = state.update_inputs(embedder=embedder or "local")

    return SearchForm(request=search_request(values, info), info=info, inputs=values)


def filter_row(
    info: CollectionInfo, key_prefix: str, current: tuple[PropertyFilter, ...]
) -> tuple[PropertyFilter, ...]:
    """A property from the collection's schema, an operator that fits its type and a value (empty: no filter);
    returns the filters of the search. A filter the schema cannot take (a link's, a stored one) is kept as it
    is, so the search refuses it with a message naming what is wrong; filters past the first (from a link or
    the CLI) are kept and listed."""
    first = current[0] if current else None
    types = {p.name: p.data_type for p in info.properties}
    options = [NO_FILTER, *(name for name, kind in types.items() if operators_for(kind))]
    if first is not None and first.name not in options:
        options.append(first.name)
    prop = st.selectbox(
        "Filter on property", options,
        index=state.seeded_index(f"{key_prefix}.filter_prop", first.name if first else NO_FILTER, options),
        format_func=lambda p: f"{p} ({types.get(p, 'not in this collection')})" if p else "no filter",
        key=f"{key_prefix}.filter_prop",
        help="Search only the objects whose property matches, as your application's filtered searches do.",
    )
    if not prop:
        return ()
    ops = [o.value for o in operators_for(types.get(prop, ""))] or [o.value for o in FilterOp]
    if first is not None and first.name == prop and first.op.value not in ops:
        ops.append(first.op.value)
    was = first.op.value if first is not None and first.name == prop else ops[0]
    op = st.selectbox("Operator", ops, index=state.seeded_index(f"{key_prefix}.filter_op", was, ops),
                      format_func=lambda o: OP_LABELS[FilterOp(o)], key=f"{key_prefix}.filter_op")
    typed = first.value_text if first is not None and first.name == prop else ""
    value = st.text_input(
        "Value", value=state.seed(f"{key_prefix}.filter_value", typed), key=f"{key_prefix}.filter_value",
        max_chars=1000, placeholder="a, b, c" if op == FilterOp.CONTAINS_ANY else "e.g. Science",
    )
    rest = current[1:]
    if rest:
        st.caption("Also: " + md_escape("; ".join(str(f) for f in rest)))
    if not value.strip():
        return rest
    try:
        chosen = PropertyFilter.from_dict({"property": prop, "operator": op, "value": value})
        check_filters((chosen,), info.properties, info.name)
    except InvalidInput as err:
        st.warning(safe.text(err))  # the search refuses it with the same words
        return (PropertyFilter(prop, FilterOp(op), value.strip()), *rest)
    return (chosen, *rest)


def url_params(form: SearchForm) -> dict[str, str]:
    """The shareable part of the search (never a key)."""
    return to_query_params(form.inputs, app_embeds_query=not form.info.has_server_vectorizer)
