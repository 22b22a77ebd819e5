"""The sidebar shown on every page: connection status, what reranking is available, the Jina key field."""

from __future__ import annotations

import streamlit as st

from components import config, feedback, lifecycle, state, url_state
from components.safe import md_escape
from rerank_playground.jina_http import KEYS_URL
from rerank_playground.playground import Playground
from rerank_playground.rerankers import providers


def connection_status(pg: Playground) -> None:
    if pg.connected and pg.server is not None:
        server = pg.check_nodes() or pg.server  # node status re-read at most every node_check_interval_s
        count = state.cached_collection_count(pg)
        noun = "collection" if count == 1 else "collections"
        st.success(f"Connected: {server.label} {md_escape(server.version, 40)}, {count} {noun}")
        if server.cluster_summary:
            st.warning(md_escape(server.cluster_summary, 300), icon=":material/dns:")
            st.page_link("pages/connect.py", label="What this means", icon=":material/info:")
    else:
        st.warning("Not connected — open the Connect page")
        st.page_link("pages/connect.py", label="Open the Connect page", icon=":material/power:")


# The sidebar's words for each provider's status line: (name, when it can run, when it cannot). A provider not
# listed here is named by its label, "ready" / "off".
STATUS_WORDS = {
    "jina": ("Jina API reranking", "ready (key set)", "needs a Jina key"),
    "weaviate_module": ("Weaviate reranker-jinaai module", "on this server", "not on this server"),
    "local": ("Local baseline (WordLlama)", "always available, offline", "off"),
}


def reranking_status(pg: Playground) -> None:
    """One line per registered provider: whether it can run here, and if not, why (no key, no server module)."""
    lines = []
    for provider in providers():
        name, ready, off = STATUS_WORDS.get(provider.name, (provider.label, "ready", "off"))
        if provider.server_module is not None and pg.server is None:
            continue  # not connected: whether the server has the module is not known yet
        if pg.key_missing(provider):
            icon, state = ":material/lock:", off
        elif not pg.offers(provider):
            icon, state = ":material/block:", off
        elif pg.no_key_known(provider):
            icon, state = ":material/lock:", f"{ready}, needs a Jina key"
        else:
            icon, state = ":material/check_circle:", ready
        lines.append(f"{icon} {name}: {state}")
    st.markdown("**Reranking**  \n" + "  \n".join(lines))


def _save_key(pg: Playground, key_prefix: str) -> None:
    raw = (st.session_state.get(f"{key_prefix}.jina_key") or "").strip()
    url_state.remember_typed_secret(raw)
    if not raw:
        feedback.flash("Paste a Jina key first.", "warning", "sidebar")
        return
    _, error = feedback.call_safely(lambda: lifecycle.set_jina_key(pg, raw, "user"), "save Jina key")
    feedback.flash(error or "Jina key saved for this browser session.", "error" if error else "success", "sidebar")


def _clear_key(pg: Playground) -> None:
    _, error = feedback.call_safely(lambda: lifecycle.set_jina_key(pg, None, "cleared"), "clear Jina key")
    feedback.flash(error or "Jina key cleared.", "error" if error else "success", "sidebar")


def _use_server_key(pg: Playground) -> None:
    key = config.operator_jina_key()  # bound to the operator's endpoints
    _, error = feedback.call_safely(lambda: lifecycle.set_jina_key(pg, key, "server"), "use server key")
    feedback.flash(error or "Using the server's Jina key again.", "error" if error else "success", "sidebar")


def jina_key_field(pg: Playground, key_prefix: str = "sidebar") -> None:
    """Password field + Clear. A key from the server's env/secrets is never sent to the browser."""
    source = lifecycle.jina_key_source()
    server_key = config.server_jina_key()
    if pg.has_jina_key and source == "server":
        st.caption("Using the server's Jina key (JINAAI_APIKEY). Paste another key below to override it.")
    elif pg.has_jina_key:
        st.caption("Using the Jina key you pasted. It is kept in this browser session only.")
    else:
        st.caption(f"No key: the Jina models are off. Get a free key at {KEYS_URL}")
    with st.form(f"{key_prefix}.key_form", clear_on_submit=True, border=False):
        st.text_input(
            "Jina API key",
            type="password",
            key=f"{key_prefix}.jina_key",
            placeholder="jina_…",
            help="Kept in this browser session only: never in the URL, logs or downloads.",
        )
        st.form_submit_button(
            "Use this key", on_click=_save_key, args=(pg, key_prefix), key=f"{key_prefix}.save_key"
        )
    feedback.show_flash("sidebar")
    if pg.has_jina_key:
        st.button("Clear key", on_click=_clear_key, args=(pg,), key=f"{key_prefix}.clear_key")
    elif server_key:
        st.button(
            "Use the server's key", on_click=_use_server_key, args=(pg,), key=f"{key_prefix}.server_key"
        )


def spend_status(pg: Playground) -> None:
    """Jina tokens this session spent, and what is left of the operator's budget."""
    spend = pg.spend
    text = f"**Jina tokens this session:** {spend.spent:,}"
    if spend.session.spent and spend.own.spent:
        text += f" ({spend.session.spent:,} on the server's key, {spend.own.spent:,} on yours)"
    if spend.estimated_calls:
        text += (" — partly upper bounds (one token per byte of text): the Weaviate module does not report "
                 "tokens, and a call that failed after reaching Jina is counted as if it ran")
    st.markdown(text)
    if pg.jina_key_is_operator:
        left = spend.remaining()
        budgets = spend.budgets
        limits = []
        if budgets.session is not None:
            limits.append(f"{budgets.session:,} per browser tab (a new tab starts again at 0)")
        if budgets.deployment is not None:
            limits.append(f"{budgets.deployment:,} for all tabs together since the app started")
        if limits:
            st.caption(
                f"Budget for the server's Jina key: {' and '.join(limits)}; {left:,} tokens left for you now."
            )


FULL_RUN = "sidebar.full_run"  # counts the app's full runs (a fragment's rerun does not draw the sidebar)
SPEND_DRAWN = "sidebar.spend_drawn"  # the full run in which a results fragment drew the token count


def render_sidebar(key_prefix: str = "sidebar") -> Playground:
    """Bootstraps the session's Playground (first run), then draws the sidebar. Returns the Playground."""
    st.session_state[FULL_RUN] = st.session_state.get(FULL_RUN, 0) + 1
    pg = lifecycle.get_playground()
    with st.sidebar:
        for problem in config.config_problems():
            st.error(problem, icon=":material/settings_alert:")
        connection_status(pg)
        reranking_status(pg)
        jina_key_field(pg, key_prefix)
    return pg


def spend_status_from_fragment(pg: Playground) -> None:
    """The token count, drawn into the sidebar by a results fragment whose clicks may spend tokens (Search,
    Compare), after its run. Streamlit redraws a fragment's sidebar writes in place on each of its reruns, so a
    paid click keeps the count true without rerunning the page (which cost a second page run per click and
    could swallow a navigation click made meanwhile). The page's footer then leaves it out."""
    st.session_state[SPEND_DRAWN] = st.session_state.get(FULL_RUN)
    with st.sidebar:
        spend_status(pg)


def render_sidebar_footer() -> None:
    """What the page just did: drawn after it ran, so a call made by this run is already counted."""
    if st.session_state.get(SPEND_DRAWN) == st.session_state.get(FULL_RUN):
        return  # drawn by the page's results fragment in this run
    pg = lifecycle.get_playground()
    with st.sidebar:
        spend_status(pg)
