"""One Playground per browser session, the inputs shared by the pages, and the page guard.

Session state (non-widget keys, so they survive page switches):

- ``_pg``           the session's :class:`Playground` (holds the keys; never shared between sessions)
- ``_pg_token``     the random id its cache entry is keyed by
- ``_boot``         set once the first run of the session has auto-connected
- ``_connect_note`` why the auto-connect failed (shown on the Connect page), or ``None``
- ``_jina_source``  ``"server"`` (JINAAI_APIKEY from env/secrets), ``"user"`` (pasted), ``"cleared"`` or ``None``
- ``inputs``        the search inputs shared by the Search and Compare pages (also mirrored in the URL)
- ``_collections``  (server info, list of CollectionInfo): the collection list, fetched once per connection
- ``_autorun``      the URL carried a query when the session started: the first page shows its results
- ``_flash``        a message to show once after an ``st.rerun()``
- ``_typed_secrets`` values typed in this session's password fields: never mirrored into the URL

The Playground is built by a session-scoped ``st.cache_resource`` keyed by a random token kept in this
session's state (so it is never shared, even where session ids are not unique, as in AppTest); the cache's
``on_release`` closes the Weaviate client when the browser session ends.
"""

from __future__ import annotations

import logging
import os
import re
import traceback
import uuid
from collections.abc import Callable
from typing import Any

import streamlit as st

from rerank_playground.connection import ConnectionSpec
from rerank_playground.demo.datasets import DEMO_COLLECTION_NAMES, get_spec
from rerank_playground.demo.suggestions import SUGGESTED_QUERIES
from rerank_playground.deployment import (
    DEPLOYMENT_BUDGET_ENV,
    SESSION_BUDGET_ENV,
    SETTING_NAMES,
    Deployment,
    SpendGuard,
    deployment_from_settings,
)
from rerank_playground.errors import InvalidInput, PlaygroundError, scrub
from rerank_playground.keys import ApiKey, looks_like_key
from rerank_playground.local_weaviate import read_local_api_key
from rerank_playground.models import CollectionInfo, Fusion, Operator, SearchMode
from rerank_playground.playground import Playground, RerankChoice
from rerank_playground.rerankers import find_provider
from rerank_playground.rerankers.catalog import DEFAULT_MODEL, model_names

log = logging.getLogger("rerank_playground.app")

CONFIG_NAMES = (
    "WEAVIATE_URL",
    "WEAVIATE_GRPC_PORT",
    "WEAVIATE_API_KEY",
    "JINAAI_APIKEY",
    "JINA_BASE_URL",
    "RERANK_PLAYGROUND_DEMO",
    *SETTING_NAMES,
)
PASSWORD_WIDGETS = ("sidebar.jina_key", "connect.api_key")
# Settings that fall back to their default when malformed (everything else must be right or the app says so).
DEFAULTABLE_SETTINGS = ("WEAVIATE_GRPC_PORT", SESSION_BUDGET_ENV, DEPLOYMENT_BUDGET_ENV)
MAX_K = 1000
EMBEDDERS = ("local", "jina:jina-embeddings-v3")  # where a query vector can come from (search_form labels them)
MAX_QUERY_PARAM_CHARS = 4000
GENERIC_ERROR = (
    "Something unexpected went wrong on this page. Your inputs are kept: try again, or reload the page. "
    "The details are in the server log."
)

DEFAULT_INPUTS: dict[str, Any] = {
    "collection": None,  # None = first demo collection present, else the first one
    "mode": SearchMode.HYBRID.value,
    "query": None,  # None = not yet prefilled with a suggested query
    "alpha": 0.5,
    "fusion": Fusion.RANKED.value,
    "k": 50,
    "n": 10,
    "prop": None,  # text property shown and reranked (None = the collection's default)
    "properties": None,  # keyword/hybrid properties (None = the collection's default)
    "operator": "or",  # keyword matching: any word (or) / all words (and)
    "embedder": "local",  # where the query vector comes from when the collection has no vectorizer
    "reranker": None,  # None = automatic: Jina API with a key, else the local baseline
    "model": DEFAULT_MODEL,
    "models": None,  # compare page: list of choice ids (None = default set)
}


# ------------------------------------------------------------------------------------------ config


def _secrets_problem(exc: Exception) -> str | None:
    """None when there is simply no secrets file; otherwise what is wrong with it (never its contents)."""
    text = str(exc)
    if "No secrets found" in text:
        return None
    where = re.search(r"at line \d+, column \d+", text)
    return (
        "The server's secrets file (.streamlit/secrets.toml) could not be read"
        + (f": it is not valid TOML ({where.group(0)})" if where else "")
        + ". Its settings (Weaviate URL, keys) are not used until it is fixed; the environment's still are."
    )


def config_problems() -> list[str]:
    """Settings the operator gave that cannot be used, in words to show on every page (not only in a log)."""
    problems: list[str] = []
    try:
        _ = "WEAVIATE_URL" in st.secrets
    except Exception as exc:  # noqa: BLE001 - Streamlit raises its own error type for every secrets failure
        problem = _secrets_problem(exc)
        if problem:
            problems.append(problem)
    port = server_config().get("WEAVIATE_GRPC_PORT")
    if port is not None and _int_param(port, 1, 65535) is None:
        problems.append(
            f"WEAVIATE_GRPC_PORT is “{port[:20]}”, not a port number (1–65535): the default gRPC port is used "
            "instead. Fix it in the environment or the secrets file."
        )
    return problems


def server_config() -> dict[str, str]:
    """Settings from ``.streamlit/secrets.toml`` (if there is one), overridden by the environment.
    A secrets file that cannot be read is reported by ``config_problems``, not here."""
    merged: dict[str, str] = {}
    try:
        secrets = st.secrets
        for name in CONFIG_NAMES:
            if name in secrets and str(secrets[name]).strip():
                merged[name] = str(secrets[name]).strip()
    except Exception:  # noqa: BLE001 - no secrets file, or a broken one (which config_problems reports)
        pass
    for name in CONFIG_NAMES:
        value = os.environ.get(name, "").strip()
        if value:
            merged[name] = value
    return merged


def server_jina_key() -> str | None:
    return server_config().get("JINAAI_APIKEY") or None


def server_weaviate_key() -> str | None:
    """The operator's Weaviate key: WEAVIATE_API_KEY, or for a Weaviate on this machine the key of the local
    demo server (made per install by the launcher); either way bound to the configured Weaviate only."""
    key = deployment().spec.weaviate_key
    return key.value if key else None


def deployment(config: dict[str, str] | None = None) -> Deployment:
    """The operator's settings, keys bound to the operator's endpoints. A malformed budget or gRPC port is
    logged and left at its default (budgets stay finite; locked mode is never dropped)."""
    config = dict(server_config() if config is None else config)
    if not config.get("WEAVIATE_API_KEY") and _is_loopback_url(config.get("WEAVIATE_URL", "http://127.0.0.1:8080")):
        local_key = read_local_api_key()  # the local demo server's per-install key
        if local_key:
            config["WEAVIATE_API_KEY"] = local_key
    port = config.get("WEAVIATE_GRPC_PORT")
    if port is not None and _int_param(port, 1, 65535) is None:  # said on screen by config_problems
        log.warning("Ignoring the setting WEAVIATE_GRPC_PORT (not a port number); using its default.")
        config.pop("WEAVIATE_GRPC_PORT")
    while True:
        try:
            return deployment_from_settings(config)
        except InvalidInput as err:  # a malformed budget: the message names it
            bad = next((n for n in DEFAULTABLE_SETTINGS if n in err.message and n in config), None)
            if bad is None:
                raise
        except ValueError:  # a non-numeric WEAVIATE_GRPC_PORT (anything else: shown on the page)
            if "WEAVIATE_GRPC_PORT" not in config:
                raise InvalidInput("WEAVIATE_URL is not a valid URL.", hint="Use e.g. http://127.0.0.1:8080.") from None
            bad = "WEAVIATE_GRPC_PORT"
        log.warning("Ignoring the setting %s (not valid); using its default.", bad)
        config.pop(bad)


def _is_loopback_url(url: str) -> bool:
    from urllib.parse import urlsplit

    host = urlsplit(url if "://" in url else f"http://{url}").hostname or ""
    return host in {"127.0.0.1", "localhost", "::1"}


def spec_from_config(config: dict[str, str] | None = None) -> ConnectionSpec:
    return deployment(config).spec


def operator_jina_key() -> ApiKey | None:
    return deployment().jina_key


# ------------------------------------------------------------------------------------------ playground


def _release(playground: Playground) -> None:
    try:
        playground.shutdown()
    except Exception:  # noqa: BLE001 - closing on session end must never raise
        log.warning("Could not close a session's Weaviate client cleanly.")


@st.cache_resource(scope="session", on_release=_release, show_spinner=False)
def _session_playground(token: str) -> Playground:
    """``token`` is a random id kept in this session's state: one Playground per token, never shared."""
    settings = deployment()
    return Playground(settings.spec, jina_base_url=settings.jina_base_url, policy=settings.policy,
                      spend=SpendGuard(budgets=settings.budgets))


def get_playground() -> Playground:
    """This session's Playground; on the session's first run, set the server key and try to connect once."""
    pg = st.session_state.get("_pg")
    if pg is None:
        token = st.session_state.setdefault("_pg_token", uuid.uuid4().hex)
        pg = _session_playground(token)
        st.session_state["_pg"] = pg
    if not st.session_state.get("_boot"):
        st.session_state["_boot"] = True
        _bootstrap(pg)
    return pg


def _bootstrap(pg: Playground) -> None:
    key = operator_jina_key()
    if key and not pg.has_jina_key:
        pg.set_jina_key(key)  # not connected yet: only the spec changes (the key stays bound to its endpoints)
        st.session_state["_jina_source"] = "server"
    read_query_params()
    st.session_state["_connect_note"] = None
    if pg.connected:
        return
    try:
        with st.spinner("Connecting to Weaviate…"):
            pg.connect()
    except PlaygroundError as err:
        st.session_state["_connect_note"] = str(err)
    except Exception as exc:  # noqa: BLE001 - a failed auto-connect must not break the first page
        log_unexpected(exc, "auto-connect")
        st.session_state["_connect_note"] = "Could not connect to Weaviate at startup."


def jina_key_source() -> str | None:
    return st.session_state.get("_jina_source")


def set_jina_key(pg: Playground, key: ApiKey | str | None, source: str | None) -> None:
    pg.set_jina_key(key)
    st.session_state["_jina_source"] = source


def secrets_of(pg: Playground) -> tuple[str | None, ...]:
    return (*pg.secrets, server_jina_key(), server_weaviate_key())


# ------------------------------------------------------------------------------------------ collections


def collections(pg: Playground, *, refresh: bool = False) -> list[CollectionInfo]:
    """The collection list, fetched once per connection (and on ``refresh``)."""
    return pg.collections(cached=not refresh)


def cached_collection_count(pg: Playground) -> int | None:
    if pg.listed_count is not None:
        return pg.listed_count
    return pg.server.collections if pg.server else None


def default_collection(names: list[str]) -> str | None:
    for name in DEMO_COLLECTION_NAMES:
        if name in names:
            return name
    return names[0] if names else None


def default_text_property(info: CollectionInfo) -> str | None:
    if info.name in DEMO_COLLECTION_NAMES:
        prop = get_spec(info.name).text_property
        if prop in info.text_properties:
            return prop
    return info.text_properties[0] if info.text_properties else None


def default_keyword_properties(info: CollectionInfo) -> list[str]:
    if info.name in DEMO_COLLECTION_NAMES:
        wanted = get_spec(info.name).keyword_properties
        return [p for p in wanted if p in info.text_properties]
    return []


def suggestions(collection: str | None) -> list[Any]:
    return list(SUGGESTED_QUERIES.get(collection or "", []))


# ------------------------------------------------------------------------------------------ inputs


def inputs() -> dict[str, Any]:
    """The search inputs shared by the pages (a plain dict in session state, not widget state)."""
    if "inputs" not in st.session_state:
        st.session_state["inputs"] = dict(DEFAULT_INPUTS)
    return st.session_state["inputs"]


def choice_id(choice: RerankChoice) -> str:
    return f"{choice.reranker}:{choice.model}"


def parse_choice(text: str) -> RerankChoice | None:
    reranker, _, model = text.partition(":")
    provider = find_provider(reranker)
    if provider is None or not model:
        return None
    if len(provider.models) == 1:  # one model (the local baseline): whatever the link says
        return RerankChoice(reranker, provider.models[0].name)
    if model not in {m.name for m in provider.models}:
        return None
    return RerankChoice(reranker, model)


def _int_param(raw: str, low: int, high: int) -> int | None:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return value if low <= value <= high else None


def remember_typed_secret(value: str | None) -> None:
    """A value typed in a password field: it never goes into the URL, from any field, even after "Clear key"."""
    value = (value or "").strip()
    if value:
        st.session_state.setdefault("_typed_secrets", set()).add(value)


def _url_secrets() -> list[str | None]:
    pg = st.session_state.get("_pg")
    typed = [st.session_state.get(k) for k in PASSWORD_WIDGETS]
    return [*(secrets_of(pg) if pg is not None else ()), *st.session_state.get("_typed_secrets", ()), *typed]


def read_query_params() -> None:
    """Prefill the inputs from the URL (once, at the session's first run). Keys never travel in URLs: a
    key-shaped value in a link is not used (and the URL is rewritten without it).

    Nothing else in a link is ignored silently: a value that cannot be used leaves a note (``link_notes``) that
    the Search and Compare pages show, saying what was used instead. ``properties=*`` means "all text properties".
    """
    secrets = _url_secrets()
    params: dict[str, str] = {}
    for name in st.query_params:
        value = st.query_params.get(name) or ""
        if not looks_like_key(value, secrets):
            params[name] = value
    values = inputs()
    notes: list[str] = []

    def refuse(name: str, raw: str, instead: str) -> None:
        notes.append(f"The link's {name} “{raw[:80]}” cannot be used here; {instead}.")

    if params.get("collection"):
        values["collection"] = params["collection"][:200]
    if params.get("mode") in {m.value for m in SearchMode}:
        values["mode"] = params["mode"]
    elif params.get("mode"):
        refuse("search mode", params["mode"], f"using {values['mode']}")
    if params.get("query"):
        values["query"] = params["query"][:MAX_QUERY_PARAM_CHARS]
    if params.get("fusion") in {f.value for f in Fusion}:
        values["fusion"] = params["fusion"]
    elif params.get("fusion"):
        refuse("fusion", params["fusion"], f"using {values['fusion']}")
    if params.get("alpha"):
        try:
            alpha = float(params["alpha"])
        except ValueError:
            alpha = -1.0
        if 0.0 <= alpha <= 1.0:
            values["alpha"] = round(alpha, 2)
        else:
            refuse("alpha", params["alpha"], f"alpha must be between 0 and 1, using {values['alpha']:g}")
    for name, label in (("k", "Candidates K"), ("n", "Shown N")):
        if params.get(name):
            value = _int_param(params[name], 1, MAX_K)
            if value is not None:
                values[name] = value
            else:
                refuse(label, params[name], f"it must be a whole number from 1 to {MAX_K}, using {values[name]}")
    if params.get("prop"):
        values["prop"] = params["prop"][:200]
    if params.get("properties"):
        raw = params["properties"]
        values["properties"] = [] if raw == "*" else [p for p in raw[:2000].split(",") if p][:50]
    if params.get("operator") in {o.value for o in Operator}:
        values["operator"] = params["operator"]
    elif params.get("operator"):
        refuse("keyword match", params["operator"], "using any word (or)")
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
        refuse("reranker model", params["model"], f"this app does not know it, using {values['model']}")
    if params.get("models"):
        parsed = [(p, parse_choice(p)) for p in params["models"].split(",")[:20]]
        chosen = [c for _, c in parsed if c is not None]
        for raw, choice in parsed:
            if choice is None:
                refuse("model to compare", raw, "it was left out")
        if chosen:
            values["models"] = list(dict.fromkeys(choice_id(c) for c in chosen))[:5]
    st.session_state["_link_notes"] = notes
    st.session_state["_link_check"] = True  # collection and properties are checked once the server is known
    st.session_state["_autorun"] = bool(params.get("query"))


def link_notes() -> list[str]:
    """What a link asked for that could not be used (once; see ``read_query_params``)."""
    return list(st.session_state.pop("_link_notes", None) or [])


def consume_link_check() -> bool:
    """True once after a link was read: the page checks its collection and properties against the server."""
    return bool(st.session_state.pop("_link_check", False))


def write_query_params(params: dict[str, Any]) -> None:
    """Mirror the current view in the URL (only when it changed). Never pass a key here.

    A key pasted into the wrong box (it happens in live demos) must not reach the address bar, the
    history or a shared link: any value that looks like a Jina key, or contains a key of this session or one
    typed in a password field, is left out, and the page says so.
    """
    secrets = _url_secrets()
    clean, held_back = {}, []
    for name, value in params.items():
        if value is None or str(value) == "":
            continue
        if looks_like_key(str(value), secrets):
            held_back.append(name)
        else:
            clean[name] = str(value)
    if held_back:
        st.warning(
            f"The {', '.join(held_back)} field looks like an API key, so it is kept out of the page address "
            "(a copied link would carry it). If it is a key, paste it in the key field in the sidebar instead."
        )
    if {k: st.query_params.get(k) for k in st.query_params} != clean:
        st.query_params.from_dict(clean)


def consume_autorun() -> bool:
    """True once, on the first page rendered in a session opened from a URL that carried a query."""
    return bool(st.session_state.pop("_autorun", False))


def seed(widget_key: str, value: Any, options: list[Any] | None = None) -> None:
    """Give a widget its stored value before it is drawn (widget state is dropped on other pages)."""
    current = st.session_state.get(widget_key, None)
    if widget_key not in st.session_state or (options is not None and current not in options):
        if options is not None and value not in options:
            value = options[0] if options else None
        st.session_state[widget_key] = value


# ------------------------------------------------------------------------------------------ messages


def flash(message: str, kind: str = "success", channel: str = "page") -> None:
    """Keep a message to show once, on the next run, where ``show_flash(channel)`` is called."""
    st.session_state[f"_flash.{channel}"] = (kind, message)


def show_flash(channel: str = "page") -> None:
    item = st.session_state.pop(f"_flash.{channel}", None)
    if item:
        kind, message = item
        {"success": st.success, "error": st.error, "warning": st.warning}.get(kind, st.info)(message)


def log_unexpected(exc: BaseException, where: str) -> None:
    """Log an unexpected error with its stack, keys scrubbed (never shown to the user)."""
    pg = st.session_state.get("_pg")
    keys = secrets_of(pg) if pg is not None else (server_jina_key(), server_weaviate_key())
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    log.error("Unexpected error in %s: %s", where, scrub(text, *keys))


def ensure_app_shell() -> None:
    """Run pages inside app.py's ``st.navigation``, also on a server's very first request.

    Because this project has a ``pages/`` folder, Streamlit starts in its legacy multipage mode: if the
    first request after a start names a sub-page (a shared ``/compare?...`` link), it runs that page file
    alone, without app.py's navigation, sidebar and layout, until someone loads ``/``. Leaving that mode
    and rerunning once makes Streamlit run app.py, which routes to the same page.
    """
    from streamlit.runtime.pages_manager import PagesManager

    # Only on a session's first run: a rerun later would swallow the click that triggered that run.
    if st.session_state.get("_shell_checked"):
        return
    st.session_state["_shell_checked"] = True
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def derived(last: dict[str, Any], name: str, build: Callable[[], Any]) -> Any:
    """A value computed from a stored run, kept with it so that reruns of the page do not compute it again."""
    if last.get(name) is None:
        last[name] = build()
    return last[name]


def connected_playground() -> Playground | None:
    """This session's Playground when it is connected; otherwise a pointer to the Connect page and None."""
    pg = get_playground()
    if pg.connected:
        return pg
    st.info("Not connected — open the Connect page to choose a Weaviate.")
    st.page_link("pages/connect.py", label="Open the Connect page", icon=":material/power:")
    return None


def guarded(body: Callable[[], None], where: str) -> None:
    """Run a page body: a PlaygroundError becomes an inline message, anything else a generic one."""
    ensure_app_shell()
    try:
        body()
    except PlaygroundError as err:
        st.error(str(err))
    except Exception as exc:  # noqa: BLE001 - the user never sees a traceback
        log_unexpected(exc, where)
        st.error(GENERIC_ERROR)


def call_safely(action: Callable[[], Any], where: str) -> tuple[Any, str | None]:
    """``(result, None)`` or ``(None, message)``: for callbacks, where exceptions must not escape."""
    try:
        return action(), None
    except PlaygroundError as err:
        return None, str(err)
    except Exception as exc:  # noqa: BLE001
        log_unexpected(exc, where)
        return None, GENERIC_ERROR
