"""The search inputs shared by the Search and Compare pages: collection, mode, query, K, N, property.

Values live in ``session.inputs()`` (plain session state), so they survive page switches; each widget is
seeded from there before it is drawn and writes back after.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from components import session
from rerank_playground.models import CollectionInfo, Fusion, Operator, SearchMode, SearchRequest
from rerank_playground.playground import Playground

MODE_LABELS = {"vector": "Vector", "keyword": "Keyword", "hybrid": "Hybrid"}
FUSION_LABELS = {"ranked": "Ranked", "relative_score": "Relative score"}
EMBEDDER_LABELS = dict(zip(session.EMBEDDERS, (
    "Local WordLlama (offline)",
    "Jina embeddings API (jina-embeddings-v3, needs a key)",
), strict=True))


@dataclass(frozen=True)
class SearchForm:
    request: SearchRequest
    info: CollectionInfo
    n: int


def _apply_collection_defaults(values: dict[str, Any], info: CollectionInfo, previous: str | None) -> None:
    """A new collection: its default property, keyword properties and (when the query was a suggestion
    for the previous collection, or empty) its first suggested query."""
    old_suggested = {s.query for s in session.suggestions(previous)} if previous else set()
    query = values.get("query")
    if query is None or not str(query).strip() or (previous != info.name and query in old_suggested):
        first = next(iter(session.suggestions(info.name)), None)
        if first is not None:
            values["query"] = first.query
            values["mode"] = first.mode
        elif query is None or query in old_suggested:
            values["query"] = ""
    if previous != info.name or values.get("prop") not in info.text_properties:
        values["prop"] = session.default_text_property(info)
    if previous != info.name or values.get("properties") is None:
        values["properties"] = session.default_keyword_properties(info)
    values["collection"] = info.name


def _check_link_properties(values: dict[str, Any], info: CollectionInfo) -> None:
    """A link's text and keyword properties that the collection does not have: say so, then use its defaults."""
    if values.get("prop") is not None and values["prop"] not in info.text_properties:
        st.warning(f"The link's text property “{values['prop']}” is not a text property of {info.name}; "
                   "showing its default one.")
        values["prop"] = None
    unknown = [p for p in values.get("properties") or [] if p not in info.text_properties]
    if unknown:
        st.warning(f"The link's keyword properties {', '.join(unknown)} are not text properties of {info.name}; "
                   "they were left out.")
        values["properties"] = [p for p in values["properties"] if p in info.text_properties]


def _on_collection_change(key_prefix: str, infos: dict[str, CollectionInfo]) -> None:
    values = session.inputs()
    new = st.session_state.get(f"{key_prefix}.collection")
    if new not in infos:
        return
    _apply_collection_defaults(values, infos[new], values.get("collection"))
    for name in ("query", "mode", "prop", "properties"):
        st.session_state[f"{key_prefix}.{name}"] = values[name]


def _on_suggestion(key_prefix: str, collection: str) -> None:
    chosen = st.session_state.get(f"{key_prefix}.suggested")
    st.session_state[f"{key_prefix}.suggested"] = None
    match = next((s for s in session.suggestions(collection) if s.query == chosen), None)
    if match is None:
        return
    values = session.inputs()
    values["query"] = match.query
    values["mode"] = match.mode
    st.session_state[f"{key_prefix}.query"] = match.query
    st.session_state[f"{key_prefix}.mode"] = match.mode
    st.session_state[f"{key_prefix}.autorun"] = True  # one click: set the query and run


def search_inputs(pg: Playground, key_prefix: str, *, show_n: bool = True) -> SearchForm | None:
    """Draw the search inputs; None when there is nothing to search (no collections)."""
    infos = {info.name: info for info in session.collections(pg)}
    if not infos:
        st.info(
            "This Weaviate has no collections yet. Load the demo collections on the Collections page, "
            "or connect to another Weaviate."
        )
        st.page_link("pages/collections.py", label="Open the Collections page", icon=":material/table_view:")
        return None
    names = list(infos)
    values = session.inputs()
    for note in session.link_notes():
        st.warning(note)
    from_link = session.consume_link_check()
    if values.get("collection") not in infos:
        if values.get("collection"):
            st.warning(
                f"The collection “{str(values['collection'])[:200]}” is not on this server (any more?); showing "
                "another one. Refresh collections if it was just created."
            )
        _apply_collection_defaults(values, infos[session.default_collection(names) or names[0]], None)
    else:
        info = infos[values["collection"]]
        if from_link:
            _check_link_properties(values, info)
        if values.get("query") is None or values.get("prop") is None or values.get("properties") is None:
            _apply_collection_defaults(values, info, values["collection"])

    top = st.columns([2.0, 2.9, 4.1])  # the mode column fits its three segments from a 1280 px window
    with top[0]:
        pick, refresh = st.columns([5, 1], gap="small", vertical_alignment="bottom")
        session.seed(f"{key_prefix}.collection", values["collection"], names)
        collection = pick.selectbox(
            "Collection",
            names,
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
    values["collection"] = collection
    with top[1]:
        modes = list(MODE_LABELS)
        session.seed(f"{key_prefix}.mode", values["mode"], modes)
        mode = st.segmented_control(
            "Search mode",
            modes,
            key=f"{key_prefix}.mode",
            format_func=MODE_LABELS.get,
            required=True,
            help="Vector: meaning (query vector). Keyword: BM25 words. Hybrid: both, fused.",
            wrap=True,  # too narrow: wrap onto a second row instead of scrolling the first option away
        )
        values["mode"] = mode or values["mode"]
    with top[2]:
        session.seed(f"{key_prefix}.query", values["query"] or "")
        query = st.text_input(
            "Query",
            key=f"{key_prefix}.query",
            max_chars=4000,
            placeholder="Type what you are looking for…",
        )
        values["query"] = query

    suggested = session.suggestions(collection)
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
            st.caption(f"What to look for: {current.why}")

    hybrid_mode = mode == "hybrid"
    widths = [1.0, 1.0] if show_n else [1.0]
    widths += [1.7] + ([1.8, 1.4] if hybrid_mode else []) + [1.3]
    columns = iter(st.columns(widths, vertical_alignment="bottom"))
    with next(columns):
        session.seed(f"{key_prefix}.k", int(values["k"]))
        k = st.number_input(
            "Candidates K",
            min_value=1,
            max_value=session.MAX_K,
            step=10,
            key=f"{key_prefix}.k",
            help="How many results the search fetches. The reranker reorders all of them.",
        )
        values["k"] = int(k)
    if show_n:
        with next(columns):
            session.seed(f"{key_prefix}.n", int(values["n"]))
            n = st.number_input(
                "Shown N",
                min_value=1,
                max_value=session.MAX_K,
                step=5,
                key=f"{key_prefix}.n",
                help="How many results the lists show; movement in and out of this top N is marked.",
            )
            values["n"] = int(n)
    props = list(info.text_properties)
    with next(columns):
        session.seed(f"{key_prefix}.prop", values["prop"], props)
        prop = st.selectbox(
            "Text shown and reranked",
            props,
            key=f"{key_prefix}.prop",
            help="The property whose text the lists show and the reranker reads.",
        )
        values["prop"] = prop
    if hybrid_mode:
        with next(columns):
            session.seed(f"{key_prefix}.alpha", float(values["alpha"]))
            alpha = st.slider(
                "Alpha (0 = keyword, 1 = vector)", 0.0, 1.0, step=0.05, key=f"{key_prefix}.alpha"
            )
            values["alpha"] = round(float(alpha), 2)
        with next(columns):
            fusions = list(FUSION_LABELS)
            session.seed(f"{key_prefix}.fusion", values["fusion"], fusions)
            fusion = st.selectbox(
                "Fusion", fusions, key=f"{key_prefix}.fusion", format_func=FUSION_LABELS.get,
                help="How keyword and vector results are merged: by rank, or by normalised score.",
            )
            values["fusion"] = fusion or values["fusion"]
    with next(columns):
        if mode != "vector" and props:
            with st.popover("Keyword options", width="stretch"):
                chosen = [p for p in (values.get("properties") or []) if p in props]
                if f"{key_prefix}.properties" not in st.session_state or any(
                    p not in props for p in st.session_state[f"{key_prefix}.properties"] or []
                ):
                    st.session_state[f"{key_prefix}.properties"] = chosen
                properties = st.multiselect(
                    "Properties BM25 reads (empty = all text properties)",
                    props,
                    key=f"{key_prefix}.properties",
                )
                values["properties"] = list(properties)
                operators = {"or": "Any word (OR)", "and": "All words (AND)"}
                session.seed(f"{key_prefix}.operator", values.get("operator", "or"), list(operators))
                operator = st.radio(
                    "Match", list(operators), format_func=operators.get, horizontal=True,
                    key=f"{key_prefix}.operator",
                    help="BM25 ranks documents with any query word (OR) or only those with all of them (AND).",
                )
                values["operator"] = operator or "or"
        if mode != "keyword" and not info.has_server_vectorizer:
            with st.popover("Vector options", width="stretch"):
                embedders = dict(EMBEDDER_LABELS)
                session.seed(f"{key_prefix}.embedder", values.get("embedder", "local"), list(embedders))
                embedder = st.selectbox(
                    "Query vector from", list(embedders), format_func=embedders.get, key=f"{key_prefix}.embedder",
                    help="This collection has no server-side vectorizer, so the app embeds the query. Pick the "
                    "model that made the stored vectors (the demo collections use the local WordLlama model).",
                )
                values["embedder"] = embedder or "local"


    hybrid = values["mode"] == "hybrid"
    request = SearchRequest(
        collection=collection,
        query=(values["query"] or "").strip(),
        mode=SearchMode(values["mode"]),
        limit=int(values["k"]),
        properties=tuple(values.get("properties") or ()) if values["mode"] != "vector" else (),
        text_property=values["prop"],
        alpha=float(values["alpha"]) if hybrid else 0.5,
        fusion=Fusion(values["fusion"]) if hybrid else Fusion.RANKED,
        operator=Operator(values.get("operator") or "or"),
        embedder=(values.get("embedder") or "local") if not info.has_server_vectorizer else "auto",
    )
    return SearchForm(request=request, info=info, n=int(values["n"]))


def url_params(form: SearchForm) -> dict[str, Any]:
    """The shareable part of the search (never a key)."""
    request = form.request
    params: dict[str, Any] = {
        "collection": request.collection,
        "mode": request.mode.value,
        "query": request.query,
        "k": request.limit,
        "n": form.n,
        "prop": request.text_property,
    }
    if request.mode == SearchMode.HYBRID:
        params["alpha"] = f"{request.alpha:g}"
        params["fusion"] = request.fusion.value
    if request.mode != SearchMode.VECTOR:
        params["properties"] = ",".join(request.properties) or "*"  # "*": all text properties
        params["operator"] = request.operator.value
    if request.embedder in session.EMBEDDERS and request.mode != SearchMode.KEYWORD:
        params["embedder"] = request.embedder  # only when the app embeds the query (no server vectorizer)
    return params
