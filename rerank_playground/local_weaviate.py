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
