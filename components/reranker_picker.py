"""Pick how to rerank: the provider (Jina API / Weaviate module / local baseline, ... as registered) and the model."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from components import spend_note, state
from components.safe import md_escape
from rerank_playground.models import CollectionInfo, ModelInfo
from rerank_playground.playground import Playground
from rerank_playground.rerankers import ProviderSpec, get_provider, provider_names
from rerank_playground.rerankers.choice import RerankChoice

DESCRIPTION_CHARS = 1000  # a provider's description of what runs is a few sentences


def model_caption(model: ModelInfo) -> str:
    parts = [model.kind, model.languages, f"context {model.context}", f"status: {model.status}"]
    if model.beir_ndcg10 is not None:
        parts.append(f"BEIR nDCG@10 {model.beir_ndcg10:g} (vendor figure)")
    return " · ".join(parts)


def _mark_explicit(widget_key: str) -> None:
    state.update_inputs(reranker=st.session_state.get(widget_key))


def _short(name: str) -> str:
    return get_provider(name).short_label


def _model_picker(pg: Playground, provider: ProviderSpec, info: CollectionInfo, key_prefix: str) -> RerankChoice:
    """The right-hand column: the provider's models for this collection, or why it cannot run here."""
    models = provider.models_for(info)
    choice = RerankChoice(provider.name, models[0] if models else provider.default_model or "")
    if not pg.offers(provider):
        st.warning(provider.not_on_server)
        return choice
    if not models:
        st.warning(provider.not_on_collection.format(collection=md_escape(info.name)))
        return choice
    by_name = {m.name: m for m in provider.models}
    if len(models) == 1:
        if provider.describe is not None:  # it names the collection and its config: escaped
            st.caption(md_escape(provider.describe(info), DESCRIPTION_CHARS))
        else:
            st.caption(by_name[choice.model].label if choice.model in by_name else choice.model)
        return choice
    index = state.seeded_index(
        f"{key_prefix}.model", state.inputs().model or provider.default_model or models[0], list(models)
    )
    missing = pg.key_missing(provider)
    model = st.selectbox(
        provider.model_prompt,
        list(models),
        index=index,
        key=f"{key_prefix}.model",
        format_func=lambda name: f"{name} ({provider.key_hint})" if missing else name,
    )
    state.update_inputs(model=model)
    if model in by_name:
        st.caption(model_caption(by_name[model]))
    return RerankChoice(provider.name, model)


def reranker_choice(
    pg: Playground, info: CollectionInfo, key_prefix: str
) -> tuple[RerankChoice, DeltaGenerator]:
    """Draw the provider and model pickers; returns the choice and an empty slot at the end of the row
    (for the page's run button)."""
    values = state.inputs()
    paths = list(provider_names())
    auto = pg.default_provider().name
    widget_key = f"{key_prefix}.reranker"
    if values.reranker not in paths:
        values = state.update_inputs(reranker=None)
        st.session_state[widget_key] = auto  # follows the key until the user picks a path
    else:
        state.seed(widget_key, values.reranker, paths)
    shown_path = st.session_state[widget_key]
    # The path column fits its three segments from a 1280 px window; narrower, they wrap (never scroll).
    left, right, slot = st.columns([3.4, 2.8, 1.5], vertical_alignment="bottom")
    with left:
        path = st.segmented_control(
            "Reranker",
            paths,
            default=shown_path,
            key=widget_key,
            format_func=_short,
            required=True,
            on_change=_mark_explicit,
            args=(widget_key,),
            wrap=True,
            help=" · ".join(f"{_short(p)}: {get_provider(p).label}" for p in paths),
        ) or auto
    provider = get_provider(path)
    with right:
        choice = _model_picker(pg, provider, info, key_prefix)

    if pg.key_missing(provider):
        st.warning(
            f"This {provider.model_prompt} {provider.key_hint} and paste it in the sidebar. "
            "The local baseline works without one."
        )
    elif pg.no_key_known(provider):
        st.warning(spend_note.needs_a_key(provider), icon=":material/lock:")
    elif provider.key_optional:
        st.info(spend_note.module_payer(pg))
    return choice, slot
