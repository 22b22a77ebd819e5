"""Pick how to rerank: the path (Jina API / Weaviate module / local baseline) and the model."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from components import spend_note, state
from components.safe import md_escape
from rerank_playground.jina_http import KEYS_URL
from rerank_playground.models import CollectionInfo, ModelInfo
from rerank_playground.playground import Playground, RerankChoice
from rerank_playground.rerankers import LABELS
from rerank_playground.rerankers.catalog import (
    DEFAULT_MODEL,
    LOCAL_BASELINE,
    LOCAL_MODEL,
    WEAVIATE_DEFAULT_MODEL,
    models_for,
)

PATH_LABELS = {"jina": "Jina API", "weaviate_module": "Weaviate module", "local": "Local baseline"}
MODULE = "reranker-jinaai"
NEEDS_KEY = f"needs a Jina key — get one at {KEYS_URL}"


def model_caption(model: ModelInfo) -> str:
    parts = [model.kind, model.languages, f"context {model.context}", f"status: {model.status}"]
    if model.beir_ndcg10 is not None:
        parts.append(f"BEIR nDCG@10 {model.beir_ndcg10:g} (vendor figure)")
    return " · ".join(parts)


def module_model(info: CollectionInfo) -> str | None:
    """The model Weaviate's reranker-jinaai module uses for this collection (None = no such module): the one
    in its config, else Weaviate's own default (not this app's client-side default)."""
    if info.reranker_module != MODULE:
        return None
    return info.reranker_model or WEAVIATE_DEFAULT_MODEL


def _mark_explicit(widget_key: str) -> None:
    state.update_inputs(reranker=st.session_state.get(widget_key))


def reranker_choice(
    pg: Playground, info: CollectionInfo, key_prefix: str
) -> tuple[RerankChoice, DeltaGenerator]:
    """Draw the path and model pickers; returns the choice and an empty slot at the end of the row
    (for the page's run button)."""
    values = state.inputs()
    paths = list(PATH_LABELS)
    auto = "jina" if pg.has_jina_key else "local"
    widget_key = f"{key_prefix}.reranker"
    if values.reranker not in paths:
        values = state.update_inputs(reranker=None)
        st.session_state[widget_key] = auto  # follows the key until the user picks a path
    else:
        state.seed(widget_key, values.reranker, paths)
    # The path column fits its three segments from a 1280 px window; narrower, they wrap (never scroll).
    left, right, slot = st.columns([3.4, 2.8, 1.5], vertical_alignment="bottom")
    with left:
        path = st.segmented_control(
            "Reranker",
            paths,
            key=widget_key,
            format_func=lambda p: PATH_LABELS[p],
            required=True,
            on_change=_mark_explicit,
            args=(widget_key,),
            wrap=True,
            help=" · ".join(f"{PATH_LABELS[p]}: {LABELS[p]}" for p in paths),
        ) or auto

    with right:
        if path == "jina":
            models = [m.name for m in models_for("jina")]
            by_name = {m.name: m for m in models_for("jina")}
            state.seed(f"{key_prefix}.model", values.model or DEFAULT_MODEL, models)
            model = st.selectbox(
                "Jina model",
                models,
                key=f"{key_prefix}.model",
                format_func=lambda name: name if pg.has_jina_key else f"{name} ({NEEDS_KEY})",
            )
            state.update_inputs(model=model)
            st.caption(model_caption(by_name[model]))
            choice = RerankChoice("jina", model)
        elif path == "weaviate_module":
            configured = module_model(info)
            if pg.server is not None and not pg.server.jina_reranker_available:
                st.warning(
                    "This Weaviate has no reranker-jinaai module. Use the Jina API path, or a Weaviate "
                    "with API-based modules enabled."
                )
            elif configured is None:
                st.warning(
                    f"Collection {md_escape(info.name)} has no reranker-jinaai module configured. "
                    "Use the Jina API path, or configure the module on the Collections page."
                )
            else:
                source = (
                    "set in the collection's config" if info.reranker_model
                    else "no model in the collection's config: Weaviate's own default, not this app's"
                )
                st.caption(
                    f"Weaviate reranks {md_escape(info.name)} with {md_escape(configured)} ({source}; change "
                    "it on the Collections page). It reranks the K objects the query fetched, on the server; "
                    "results are labelled with the model the server had set when the query ran."
                )
            choice = RerankChoice("weaviate_module", configured or WEAVIATE_DEFAULT_MODEL)
        else:
            st.caption(LOCAL_BASELINE.label)
            choice = RerankChoice("local", LOCAL_MODEL)

    if path == "jina" and not pg.has_jina_key:
        st.warning(
            f"This Jina model {NEEDS_KEY} and paste it in the sidebar. The local baseline works without one."
        )
    elif path == "weaviate_module":
        st.info(spend_note.module_payer(pg))
    return choice, slot
