"""What the app knows about the local Weaviate that ``make demo`` and the tests run.

The launcher (the ``weaviate_local`` package beside the core) starts those servers with API-key
authentication on and a random key made once per install; the app only needs to *read* that key to connect
to a loopback server without asking. Creating the key, and everything else about running servers, stays in
the launcher: the app never imports it.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """``$RERANK_PLAYGROUND_CACHE`` or ``~/.cache/rerank-playground`` (outside the git tree)."""
    env = os.environ.get("RERANK_PLAYGROUND_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "rerank-playground"


def api_key_path() -> Path:
    """The local servers' API key, one per install (mode 0600)."""
    return cache_root() / "weaviate" / "api-key"


def read_local_api_key() -> str | None:
    """The per-install key if it was made already (never creates it)."""
    try:
        return api_key_path().read_text().strip() or None
    except OSError:
        return None


def is_loopback_url(url: str) -> bool:
    from urllib.parse import urlsplit

    host = urlsplit(url if "://" in url else f"http://{url}").hostname or ""
    return host in {"127.0.0.1", "localhost", "::1"}


def with_local_key(settings: dict[str, str]) -> dict[str, str]:
    """``settings`` with the per-install key as ``WEAVIATE_API_KEY`` when none is set and the Weaviate is on this
    machine: how the app, the CLI and the scripts all reach the local server without asking for its key."""
    config = dict(settings)
    if not config.get("WEAVIATE_API_KEY") and is_loopback_url(config.get("WEAVIATE_URL", "http://127.0.0.1:8080")):
        local_key = read_local_api_key()
        if local_key:
            config["WEAVIATE_API_KEY"] = local_key
    return config
