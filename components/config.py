"""The operator's settings: ``.streamlit/secrets.toml`` overridden by the environment, and what is wrong with them.

Keys from here belong to the operator and stay bound to the endpoints the operator configured
(:class:`~rerank_playground.deployment.Deployment`).
"""

from __future__ import annotations

import logging
import os
import re

import streamlit as st

from rerank_playground.connection import ConnectionSpec
from rerank_playground.deployment import (
    DEPLOYMENT_BUDGET_ENV,
    SESSION_BUDGET_ENV,
    SETTING_NAMES,
    Deployment,
    deployment_from_settings,
)
from rerank_playground.errors import InvalidInput
from rerank_playground.keys import ApiKey
from rerank_playground.local_weaviate import with_local_key
from rerank_playground.playground import Playground
from rerank_playground.search_inputs import int_in_range

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
# Settings that fall back to their default when malformed (everything else must be right or the app says so).
DEFAULTABLE_SETTINGS = ("WEAVIATE_GRPC_PORT", SESSION_BUDGET_ENV, DEPLOYMENT_BUDGET_ENV)


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
    if port is not None and int_in_range(port, 1, 65535) is None:
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
    config = with_local_key(server_config() if config is None else config)  # the local demo server's key
    port = config.get("WEAVIATE_GRPC_PORT")
    if port is not None and int_in_range(port, 1, 65535) is None:  # said on screen by config_problems
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


def spec_from_config(config: dict[str, str] | None = None) -> ConnectionSpec:
    return deployment(config).spec


def operator_jina_key() -> ApiKey | None:
    return deployment().jina_key


def secrets_of(pg: Playground) -> tuple[str | None, ...]:
    """Every key this session's Playground holds, plus the operator's: what must never be shown or linked."""
    return (*pg.secrets, server_jina_key(), server_weaviate_key())
