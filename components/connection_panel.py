"""Choose a Weaviate (local, custom, Weaviate Cloud, demo), connect, and show what the server can do.

A failed connect keeps the previous connection. A Weaviate key from the server's env/secrets is never put
into a widget (that would send it to the browser): a blank key field means "use the server's key" — which
the core sends only to the Weaviate the operator configured. Any other address needs the user's own key,
and the form says so before the click. A locked deployment refuses other hosts (also in the core).
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from components import config, feedback, safe, url_state
from components.demo_panel import demo_panel
from components.safe import md_escape
from components.state import cached_collection_count, seed
from rerank_playground.connection import ConnectionSpec
from rerank_playground.errors import PlaygroundError
from rerank_playground.keys import ApiKey
from rerank_playground.playground import Playground
from rerank_playground.rerankers.model_catalog import JINA_RERANKER_MODULE

SHOWN_MODULES = (JINA_RERANKER_MODULE, "text2vec-jinaai")  # the server modules the Connect page reports on
KIND_LABELS = {"local": "Local", "custom": "Custom", "cloud": "Weaviate Cloud", "demo": "Demo"}
KIND_HELP = {
    "local": "A Weaviate on this machine (or reachable by host name), plain HTTP and gRPC.",
    "custom": "Any self-hosted Weaviate: separate HTTP and gRPC hosts, TLS, API key.",
    "cloud": "A Weaviate Cloud cluster: its REST endpoint URL and an API key.",
    "demo": "The local Weaviate that `make demo` starts, with the demo collections (loaded below if missing).",
}


def current_connection(pg: Playground) -> None:
    if pg.connected and pg.server is not None:
        server = pg.check_nodes() or pg.server
        st.success(f"Connected to {server.label} {md_escape(server.version, 40)} at {md_escape(server.url)}.")
        if server.cluster_note:
            st.warning(md_escape(server.cluster_note, 600), icon=":material/dns:")
        cols = st.columns(4)
        cols[0].metric("Version", server.version)
        cols[1].metric("Collections", cached_collection_count(pg) or 0)
        for col, module in zip(cols[2:], SHOWN_MODULES, strict=True):
            col.metric(module, "available" if server.has_module(module) else "not enabled")
        if not server.has_module(JINA_RERANKER_MODULE):
            st.caption(
                "Without the reranker-jinaai module the Weaviate module path is off; the Jina API path and the "
                "local baseline still work."
            )
        if len(server.nodes) > 1:
            with st.expander(f"Nodes in this cluster ({len(server.nodes)})"):
                st.dataframe(pd.DataFrame({"node": [n.name for n in server.nodes],
                                           "status": [n.status for n in server.nodes]}),
                             hide_index=True, key="connect.nodes")
        with st.expander(f"Modules enabled on this server ({len(server.modules)})"):
            st.dataframe(pd.DataFrame({"module": list(server.modules)}), hide_index=True, key="connect.modules")
    else:
        st.info("Not connected yet.")
        note = st.session_state.get("_connect_note")
        if note:
            st.caption("At startup the app tried the address from the environment:")
            st.error(safe.text(note))


def _seed_defaults(key_prefix: str, env: ConnectionSpec) -> None:
    defaults = {
        "kind": "cloud" if env.kind == "cloud" else ("demo" if env.kind == "demo" else "local"),
        "host": env.http_host,
        "http_port": int(env.http_port),
        "grpc_port": int(env.grpc_port),
        "grpc_host": env.grpc_host,
        "http_secure": env.http_secure,
        "grpc_secure": env.grpc_secure,
        "cluster_url": env.cluster_url,
    }
    for name, value in defaults.items():
        seed(f"{key_prefix}.{name}", value)


def _weaviate_key_field(key_prefix: str, preview: ConnectionSpec | None) -> None:
    operator_key = config.spec_from_config().weaviate_key
    if operator_key is not None and preview is not None and operator_key.allows(*preview.endpoints):
        st.caption("Using the server's Weaviate key (WEAVIATE_API_KEY). Type another key to override it.")
    st.text_input("Weaviate API key", type="password", key=f"{key_prefix}.api_key",
                  help="Kept in this browser session only; sent only to the address above.")


def _withheld_note(pg: Playground, preview: ConnectionSpec | None) -> None:
    """Say, before the click, which of the server's keys this address will not get, and what to do instead."""
    withheld = pg.withheld(preview) if preview is not None else ()
    if not withheld:
        return
    configured = config.spec_from_config().url
    lines = []
    if "WEAVIATE_API_KEY" in withheld:
        lines.append("the server's Weaviate key is not sent here: if this Weaviate needs a key, type its own key")
    if "JINAAI_APIKEY" in withheld:
        lines.append(
            "the server's Jina key is not sent to this Weaviate: its reranker-jinaai module uses the Weaviate "
            "server's own key if it has one, or a Jina key you paste in the sidebar (the Jina API path still works)"
        )
    st.info(
        f"The keys configured on this app's server are only sent to the operator's own endpoints "
        f"(Weaviate at {md_escape(configured)}), never to an address typed here. So "
        + "; ".join(lines) + "."
    )


def _preview_spec(pg: Playground, key_prefix: str, kind: str) -> ConnectionSpec | None:
    try:
        return _spec_from_form(pg, key_prefix, kind)
    except PlaygroundError:
        return None


def _spec_from_form(pg: Playground, key_prefix: str, kind: str) -> ConnectionSpec:
    state = st.session_state
    typed = ApiKey.user(state.get(f"{key_prefix}.api_key"))
    key = typed or config.spec_from_config().weaviate_key  # an operator key only goes where it is bound
    if kind == "cloud":
        url = (state.get(f"{key_prefix}.cluster_url") or "").strip()
        if not url:
            raise PlaygroundError(
                "Enter the cluster URL.", hint="It is on the cluster's page in the Weaviate Cloud console."
            )
        if key is None and pg.spec.kind == "cloud" and pg.spec.cluster_url == url:
            key = pg.spec.weaviate_key
        return ConnectionSpec(kind="cloud", cluster_url=url, weaviate_api_key=key)
    host = (state.get(f"{key_prefix}.host") or "").strip()
    if not host:
        raise PlaygroundError("Enter a host name or address.", hint="For a Weaviate on this machine: 127.0.0.1.")
    http_port = int(state.get(f"{key_prefix}.http_port") or 8080)
    grpc_port = int(state.get(f"{key_prefix}.grpc_port") or 50051)
    if kind == "custom":
        spec = ConnectionSpec(
            kind="custom",
            http_host=host,
            http_port=http_port,
            http_secure=bool(state.get(f"{key_prefix}.http_secure")),
            grpc_host=(state.get(f"{key_prefix}.grpc_host") or "").strip(),
            grpc_port=grpc_port,
            grpc_secure=bool(state.get(f"{key_prefix}.grpc_secure")),
            weaviate_api_key=key,
        )
    else:
        spec = ConnectionSpec(
            kind="demo" if kind == "demo" else "local",
            http_host=host,
            http_port=http_port,
            grpc_port=grpc_port,
            weaviate_api_key=key,
        )
    if typed is None and pg.spec.endpoints == spec.endpoints:
        spec = replace(spec, weaviate_api_key=pg.spec.weaviate_key)  # reconnecting: the key used before
    return spec


def connect_form(pg: Playground, key_prefix: str) -> None:
    env = config.spec_from_config()
    _seed_defaults(key_prefix, env)
    kinds = list(KIND_LABELS)
    kind = st.segmented_control(
        "Connection type", kinds, key=f"{key_prefix}.kind", format_func=lambda k: KIND_LABELS[k], required=True
    ) or "local"
    st.caption(KIND_HELP[kind])
    policy = pg.policy
    if policy.restricted:
        st.caption(f":material/lock: This deployment is locked: it connects to {md_escape(policy.describe())} only.")
    if kind == "cloud":
        st.text_input("Cluster URL", key=f"{key_prefix}.cluster_url", placeholder="https://xyz.weaviate.cloud")
        _weaviate_key_field(key_prefix, _preview_spec(pg, key_prefix, kind))
    else:
        cols = st.columns([3, 1, 1])
        cols[0].text_input("Host" if kind != "custom" else "HTTP host", key=f"{key_prefix}.host")
        cols[1].number_input("HTTP port", min_value=1, max_value=65535, step=1, key=f"{key_prefix}.http_port")
        cols[2].number_input("gRPC port", min_value=1, max_value=65535, step=1, key=f"{key_prefix}.grpc_port")
        if kind == "custom":
            cols = st.columns([3, 1, 1])
            cols[0].text_input("gRPC host (blank = same as HTTP host)", key=f"{key_prefix}.grpc_host")
            cols[1].checkbox("Use HTTPS", key=f"{key_prefix}.http_secure")
            cols[2].checkbox("gRPC over TLS", key=f"{key_prefix}.grpc_secure")
        preview = _preview_spec(pg, key_prefix, kind)
        if kind == "custom" or (preview is not None and "WEAVIATE_API_KEY" in preview.withheld):
            _weaviate_key_field(key_prefix, preview)
    _withheld_note(pg, _preview_spec(pg, key_prefix, kind))
    if st.button("Connect", type="primary", key=f"{key_prefix}.connect"):
        _connect(pg, key_prefix, kind)
    feedback.show_flash("connect")


def _connect(pg: Playground, key_prefix: str, kind: str) -> None:
    url_state.remember_typed_secret(st.session_state.get(f"{key_prefix}.api_key"))
    try:
        spec = _spec_from_form(pg, key_prefix, kind)
        with st.spinner(f"Connecting to {spec.url}…"):
            info = pg.connect(spec)
    except PlaygroundError as err:
        st.error(safe.text(err))
        if pg.connected and pg.server is not None:
            st.info(f"Still connected to {pg.server.label} at {md_escape(pg.server.url)}: nothing changed.")
        return
    st.session_state.pop("_demo_status", None)
    st.session_state["_connect_note"] = None
    st.session_state.pop(f"{key_prefix}.api_key", None)
    feedback.flash(
        f"Connected to {info.label} {md_escape(info.version, 40)} at {md_escape(info.url)}: {info.collections} "
        f"collection{'' if info.collections == 1 else 's'}.",
        "success",
        "connect",
    )
    st.rerun()


def render_connect(pg: Playground, key_prefix: str = "connect") -> None:
    st.subheader("Current connection")
    current_connection(pg)
    st.subheader("Connect to a Weaviate")
    connect_form(pg, key_prefix)
    if pg.connected:
        selected = st.session_state.get(f"{key_prefix}.kind")
        with st.expander("Demo collections", expanded=selected == "demo" or pg.spec.kind == "demo"):
            demo_panel(pg, key_prefix)
