"""Query and document vectors computed on this machine, with no network.

WordLlama ships its 256-dimension weights and its tokenizer file inside the package. Version
0.4.0.post1 looks for the tokenizer in the wrong folder and then tries a hub download, so the bundled
file is copied into a private cache folder first and downloads are disabled: loading stays offline.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from rerank_playground.errors import EmbeddingError

LOCAL_EMBEDDER_NAME = "wordllama-l2-supercat-256"
_TOKENIZER_FILE = "l2_supercat_tokenizer_config.json"


def _cache_dir() -> Path:
    root = Path(os.environ.get("RERANK_PLAYGROUND_CACHE", Path.home() / ".cache" / "rerank-playground"))
    return root / "wordllama"


def _import_wordllama() -> tuple[Any, Any]:
    """Import wordllama without letting its import-time ``logging.basicConfig(level=INFO)`` turn on
    INFO logging for every library in the process (httpx would then log each request line)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    import wordllama
    from wordllama import WordLlama

    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    return wordllama, WordLlama


class LocalEmbedder:
    """WordLlama static embeddings: fast, offline, good enough for a demo and a baseline."""

    name = LOCAL_EMBEDDER_NAME
    dimensions = 256

    def __init__(self, cache_dir: Path | None = None) -> None:
        try:
            wordllama, WordLlama = _import_wordllama()
        except ImportError as exc:  # pragma: no cover - wordllama is a runtime dependency
            raise EmbeddingError("The local embedder needs the 'wordllama' package.") from exc
        cache = cache_dir or _cache_dir()
        bundled = Path(wordllama.__file__).parent / "tokenizers" / _TOKENIZER_FILE
        target = cache / "tokenizers" / _TOKENIZER_FILE
        try:
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(bundled, target)
            self._model = WordLlama.load(cache_dir=cache, disable_download=True)
        except (OSError, ValueError) as exc:
            raise EmbeddingError(
                "Could not load the bundled WordLlama model.",
                hint="Reinstall the 'wordllama' package (pip install -e .).",
            ) from exc
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return an (n, 256) float32 array of L2-normalised vectors (a zero vector stays zero)."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        with self._lock:  # the tokenizer is not documented as thread-safe
            vectors = np.asarray(self._model.embed([t or "" for t in texts], norm=False), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.asarray(np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0))

    def embed_query(self, text: str) -> list[float]:
        return [float(x) for x in self.embed([text])[0]]


@lru_cache(maxsize=1)
def get_local_embedder() -> LocalEmbedder:
    """One shared instance per process: it holds no user data or keys, only public weights."""
    return LocalEmbedder()
