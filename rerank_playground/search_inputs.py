"""The search inputs the Search and Compare pages share, and their round trip through a page address.

Pure: no Streamlit here. :class:`SearchInputs` is what a person set (or a link asked for);
:func:`search_request` is the search they ask for, :func:`to_query_params` the shareable part of them (never
a key) and :func:`from_query_params` reads a link back, with a note for every value that cannot be used
(nothing in a link is ignored silently).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from rerank_playground.errors import InvalidInput
from rerank_playground.filters import PropertyFilter, parse_filter
from rerank_playground.limits import MAX_COMPARED, MAX_FILTERS, MAX_K, MAX_NAME_CHARS, MAX_PROPERTIES, MAX_QUERY_CHARS
from rerank_playground.models import CollectionInfo, Fusion, Operator, SearchMode, SearchRequest
from rerank_playground.rerankers import find_provider
from rerank_playground.rerankers.choice import RerankChoice, choice_id, parse_choice
from rerank_playground.rerankers.model_catalog import DEFAULT_MODEL, model_names

EMBEDDERS = ("local", "jina:jina-embeddings-v3")  # where a query vector can come from (search_form labels them)
MAX_PROPERTIES_CHARS = 2000
MAX_COMPARED_IN_LINK = 20  # model ids read from a link, of which the first MAX_COMPARED distinct ones are compared
ALL_PROPERTIES = "*"  # ``properties=*`` in a link: all text properties


@dataclass(frozen=True)
class SearchInputs:
    """What the search widgets hold. ``None`` means "not chosen yet: the page fills in the default".
    Immutable: a change is a new value (``dataclasses.replace``)."""

    collection: str | None = None  # None = first demo collection present, else the first one
    mode: SearchMode = SearchMode.HYBRID
    query: str | None = None  # None = not yet prefilled with a suggested query
    alpha: float = 0.5
    fusion: Fusion = Fusion.RANKED
    k: int = 50
    n: int = 10
    prop: str | None = None  # text property shown and reranked (None = the collection's default)
    properties: tuple[str, ...] | None = None  # keyword/hybrid properties (None = the collection's default)
    operator: Operator = Operator.OR  # keyword matching: any word (or) / all words (and)
    embedder: str = "local"  # where the query vector comes from when the collection has no vectorizer
    reranker: str | None = None  # None = automatic: Jina API with a key, else the local baseline
    model: str = DEFAULT_MODEL
    models: tuple[str, ...] | None = None  # compare page: choice ids (None = default set)
    filters: tuple[PropertyFilter, ...] = ()  # every one must hold; a link's ``where`` (one filter a line)


def models_param(choices: Iterable[RerankChoice]) -> str:
    """The ``models`` value of a Compare link."""
    return ",".join(choice_id(c) for c in choices)


def _link_choice(text: str) -> RerankChoice | None:
    """A model id from a link, or None (the link's note says it was left out)."""
    try:
        return parse_choice(text)
    except InvalidInput:
        return None


def int_in_range(raw: str, low: int, high: int) -> int | None:
    """``raw`` as a whole number from ``low`` to ``high``, or None."""
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return value if low <= value <= high else None


def search_request(inputs: SearchInputs, info: CollectionInfo) -> SearchRequest:
    """The search the inputs ask for on ``info``: alpha and fusion outside hybrid, and the keyword properties in
    vector mode, are left at their defaults (the search does not use them); the query vector comes from the
    collection's vectorizer when it has one, otherwise from the embedder the inputs chose."""
    hybrid = inputs.mode == SearchMode.HYBRID
    return SearchRequest(
        collection=info.name,
        query=(inputs.query or "").strip(),
        mode=inputs.mode,
        limit=inputs.k,
        properties=tuple(inputs.properties or ()) if inputs.mode != SearchMode.VECTOR else (),
        text_property=inputs.prop,
        alpha=float(inputs.alpha) if hybrid else 0.5,
        fusion=inputs.fusion if hybrid else Fusion.RANKED,
        operator=inputs.operator,
        embedder=(inputs.embedder or "local") if not info.has_server_vectorizer else "auto",
        filters=inputs.filters,
    )


def to_query_params(inputs: SearchInputs, *, app_embeds_query: bool) -> dict[str, str]:
    """The shareable part of the search, as the page address carries it (never a key; empty values left out).

    ``app_embeds_query``: the collection has no server-side vectorizer, so the app embeds the query and the
    link says with which model. Settings the mode does not use are left out (alpha and fusion outside hybrid,
    keyword settings in vector mode)."""
    params: dict[str, str | None] = {
        "collection": inputs.collection,
        "mode": inputs.mode.value,
        "query": (inputs.query or "").strip(),
        "k": str(inputs.k),
        "n": str(inputs.n),
        "prop": inputs.prop,
        "where": "\n".join(str(f) for f in inputs.filters),
    }
    if inputs.mode == SearchMode.HYBRID:
        params["alpha"] = f"{inputs.alpha:g}"
        params["fusion"] = inputs.fusion.value
    if inputs.mode != SearchMode.VECTOR:
        params["properties"] = ",".join(inputs.properties or ()) or ALL_PROPERTIES
        params["operator"] = inputs.operator.value
    if app_embeds_query and inputs.embedder in EMBEDDERS and inputs.mode != SearchMode.KEYWORD:
        params["embedder"] = inputs.embedder
    return {name: value for name, value in params.items() if value}


def from_query_params(params: Mapping[str, str], base: SearchInputs) -> tuple[SearchInputs, list[str]]:
    """``base`` with what a link's parameters set, and a note (to show) for every value that cannot be used,
    saying what is used instead. Unknown parameters are not inputs and are not read. The caller leaves keys
    out of ``params`` first: keys never travel in links.

    Collection and property names are only cut to length here: whether the server has them is checked once
    the page knows the collection.
    """
    values: dict[str, Any] = {}
    notes: list[str] = []

    def current(name: str) -> Any:
        return values.get(name, getattr(base, name))

    def refuse(name: str, raw: str, instead: str) -> None:
        notes.append(f"The link's {name} “{raw[:80]}” cannot be used here; {instead}.")

    if params.get("collection"):
        values["collection"] = params["collection"][:MAX_NAME_CHARS]
    if params.get("mode") in {m.value for m in SearchMode}:
        values["mode"] = SearchMode(params["mode"])
    elif params.get("mode"):
        refuse("search mode", params["mode"], f"using {current('mode').value}")
    if params.get("query"):
        values["query"] = params["query"][:MAX_QUERY_CHARS]
    if params.get("fusion") in {f.value for f in Fusion}:
        values["fusion"] = Fusion(params["fusion"])
    elif params.get("fusion"):
        refuse("fusion", params["fusion"], f"using {current('fusion').value}")
    if params.get("alpha"):
        try:
            alpha = float(params["alpha"])
        except ValueError:
            alpha = -1.0
        if 0.0 <= alpha <= 1.0:
            values["alpha"] = round(alpha, 2)
        else:
            refuse("alpha", params["alpha"], f"alpha must be between 0 and 1, using {current('alpha'):g}")
    for name, label in (("k", "Candidates K"), ("n", "Shown N")):
        if params.get(name):
            number = int_in_range(params[name], 1, MAX_K)
            if number is not None:
                values[name] = number
            else:
                refuse(label, params[name], f"it must be a whole number from 1 to {MAX_K}, using {current(name)}")
    if params.get("prop"):
        values["prop"] = params["prop"][:MAX_NAME_CHARS]
    if params.get("properties"):
        raw = params["properties"]
        values["properties"] = (
            () if raw == ALL_PROPERTIES
            else tuple(p for p in raw[:MAX_PROPERTIES_CHARS].split(",") if p)[:MAX_PROPERTIES]
        )
    if params.get("operator") in {o.value for o in Operator}:
        values["operator"] = Operator(params["operator"])
    elif params.get("operator"):
        refuse("keyword match", params["operator"], "using any word (or)")
    if params.get("where"):
        filters = []
        for line in params["where"].splitlines()[:MAX_FILTERS]:
            try:
                filters.append(parse_filter(line))
            except InvalidInput:
                refuse("filter", line, "it was left out")
        values["filters"] = tuple(filters)
    if params.get("embedder") in EMBEDDERS:
        values["embedder"] = params["embedder"]
    elif params.get("embedder"):
        refuse("query-vector source", params["embedder"], "using the local embedder")
    if find_provider(params.get("reranker")) is not None:
        values["reranker"] = params["reranker"]
    elif params.get("reranker"):
        refuse("reranker", params["reranker"], "choosing one automatically")
    if params.get("model") in model_names():
        values["model"] = params["model"]
    elif params.get("model"):
        refuse("reranker model", params["model"], f"this app does not know it, using {current('model')}")
    if params.get("models"):
        parsed = [(p, _link_choice(p)) for p in params["models"].split(",")[:MAX_COMPARED_IN_LINK]]
        chosen = [c for _, c in parsed if c is not None]
        for raw, choice in parsed:
            if choice is None:
                refuse("model to compare", raw, "it was left out")
        if chosen:
            values["models"] = tuple(dict.fromkeys(choice_id(c) for c in chosen))[:MAX_COMPARED]
    return replace(base, **values), notes
