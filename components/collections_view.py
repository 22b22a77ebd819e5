"""What is in the database, one collection's details, and changing its reranker model (after confirmation)."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit.elements.lib.column_types import ColumnConfig

from components import feedback, state
from components.reranker_picker import model_caption
from components.safe import md_escape
from components.search_form import EMBEDDER_LABELS
from rerank_playground.demo.datasets import DEMO_COLLECTION_NAMES
from rerank_playground.models import CollectionInfo
from rerank_playground.playground import Playground
from rerank_playground.rerankers.model_catalog import JINA_MODELS, JINA_RERANKER_MODULE, WEAVIATE_DEFAULT_MODEL

CONFIRM_LABEL = "I understand this changes the collection's config on the server"


def collections_table(infos: list[CollectionInfo]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "name": info.name,
                "objects": info.count,
                "text properties": ", ".join(info.text_properties),
                "vectorizer": info.vectorizer or "none",
                "named vectors": ", ".join(info.named_vectors),
                "reranker module": info.reranker_module or "",
                "reranker model": info.reranker_model or "",
                "demo": info.name in DEMO_COLLECTION_NAMES,
            }
            for info in infos
        ],
        columns=["name", "objects", "text properties", "vectorizer", "named vectors", "reranker module",
                 "reranker model", "demo"],
    )


# Fixed widths that add up to the page's content width at a 1440 px window (about 970 px), so the last
# column is not cut off; wider windows spread the rest over all columns. Long text-property lists are cut
# with an ellipsis (the details below list every property).
COLLECTION_COLUMN_WIDTHS = {
    "name": 118,
    "objects": 64,
    "text properties": 240,
    "vectorizer": 72,
    "named vectors": 96,
    "reranker module": 110,
    "reranker model": 218,
    "demo": 50,
}


def collections_columns() -> dict[str, ColumnConfig]:
    config: dict[str, ColumnConfig] = {
        name: st.column_config.Column(name, width=width) for name, width in COLLECTION_COLUMN_WIDTHS.items()
    }
    config["objects"] = st.column_config.NumberColumn("objects", width=COLLECTION_COLUMN_WIDTHS["objects"], format="%d")
    config["demo"] = st.column_config.CheckboxColumn("demo", width=COLLECTION_COLUMN_WIDTHS["demo"],
                                                     help="Loaded by this app's demo loader")
    return config


def collection_details(info: CollectionInfo, key_prefix: str) -> None:
    cols = st.columns(4)
    cols[0].metric("Objects", f"{info.count:,}")
    cols[1].metric("Properties", len(info.properties))
    cols[2].metric("Text properties", len(info.text_properties))
    cols[3].metric("Named vectors", len(info.named_vectors))
    details = pd.DataFrame(
        [
            {"setting": "vectorizer", "value": info.vectorizer or "none"},
            {"setting": "named vectors", "value": ", ".join(info.named_vectors) or "—"},
            {"setting": "reranker module", "value": info.reranker_module or "none"},
            {"setting": "reranker model", "value": info.reranker_model or "—"},
            {
                "setting": "query vectors",
                "value": "computed by the server" if info.has_server_vectorizer
                else "computed by the app: " + EMBEDDER_LABELS.get(
                    state.inputs().embedder or "local", EMBEDDER_LABELS["local"]
                ) + " (the Vector options of Search and Compare choose)",
            },
        ]
    )
    left, right = st.columns(2)
    with left:
        st.dataframe(details, hide_index=True, key=f"{key_prefix}.settings")
    with right:
        props = pd.DataFrame([{"property": p.name, "type": p.data_type} for p in info.properties])
        st.dataframe(props, hide_index=True, key=f"{key_prefix}.properties")


def _apply_reranker(pg: Playground, key_prefix: str, name: str) -> None:
    model = st.session_state.get(f"{key_prefix}.new_model")
    if not isinstance(model, str) or not model:  # the selectbox is seeded with a model: only a stale rerun
        feedback.flash("Pick the new reranker model first.", "warning", "collections")
        return
    if not st.session_state.get(f"{key_prefix}.confirm"):
        feedback.flash("Tick the confirmation first.", "warning", "collections")
        return
    st.session_state[f"{key_prefix}.confirm"] = False
    info, error = feedback.call_safely(lambda: pg.set_reranker_model(name, model), "set reranker model")
    if info is None:
        feedback.flash(error or "The reranker was not changed.", "error", "collections")
        return
    pg.forget_collections()
    st.session_state[f"{key_prefix}.changed"] = name
    feedback.flash(
        f"Collection {md_escape(name)} now reranks with {md_escape(info.reranker_model)} "
        f"({md_escape(info.reranker_module)}).",
        "success",
        "collections",
    )


def reranker_change(pg: Playground, info: CollectionInfo, key_prefix: str) -> None:
    st.subheader("Change the reranker model")
    if pg.server is not None and not pg.server.has_module(JINA_RERANKER_MODULE):
        st.info("This Weaviate has no reranker-jinaai module, so its reranker cannot be set from here.")
        return
    if info.reranker_module and info.reranker_module != JINA_RERANKER_MODULE:
        st.info(
            f"{md_escape(info.name)} uses {md_escape(info.reranker_module)}; Weaviate cannot switch a collection "
            "to another reranker module."
        )
        return
    current = info.reranker_model or (WEAVIATE_DEFAULT_MODEL if info.reranker_module else None)
    st.caption(
        f"Weaviate's reranker-jinaai module reranks {md_escape(info.name)} with "
        f"{md_escape(current) if current else 'no model (no reranker configured)'}"
        f"{' (no model in its config: Weaviate’s own default)' if current and not info.reranker_model else ''}. "
        "This is the model the Weaviate module path uses on the Search and Compare pages."
    )
    feedback.show_flash("collections")
    if st.session_state.get(f"{key_prefix}.changed") == info.name:
        st.markdown("**New config**")
        st.dataframe(
            pd.DataFrame(
                [{"collection": info.name, "reranker module": info.reranker_module or "",
                  "reranker model": info.reranker_model or ""}]
            ),
            hide_index=True,
            key=f"{key_prefix}.new_config",
        )
    models = {m.name: m for m in JINA_MODELS}  # what reranker-jinaai can be set to
    options = list(models)
    state.seed(f"{key_prefix}.new_model", current if current in models else WEAVIATE_DEFAULT_MODEL, options)
    model = st.selectbox("New reranker model", options, key=f"{key_prefix}.new_model")
    st.caption(model_caption(models[model]))
    confirmed = st.checkbox(CONFIRM_LABEL, key=f"{key_prefix}.confirm")
    st.button(
        "Change reranker model",
        key=f"{key_prefix}.apply",
        disabled=not confirmed or model == current,
        on_click=_apply_reranker,
        args=(pg, key_prefix, info.name),
        type="primary",
    )
    if model == current:
        st.caption("That is already the collection's model.")


def render_collections(pg: Playground, key_prefix: str) -> None:
    if st.button("Reload collections", key=f"{key_prefix}.reload"):
        state.collections(pg, refresh=True)
        st.session_state.pop("_demo_status", None)
    infos = state.collections(pg)
    if not infos:
        st.info("This Weaviate has no collections yet.")
        return
    st.dataframe(
        collections_table(infos), hide_index=True, key=f"{key_prefix}.table", column_config=collections_columns()
    )
    by_name = {info.name: info for info in infos}
    names = list(by_name)
    preferred = state.inputs().collection or state.default_collection(names)
    state.seed(f"{key_prefix}.detail", preferred, names)
    st.subheader("Collection details")
    name = st.selectbox("Collection details", names, key=f"{key_prefix}.detail", label_visibility="collapsed")
    info = by_name[name]
    collection_details(info, key_prefix)
    reranker_change(pg, info, key_prefix)
