"""Rerankers: one module per provider behind the ``Reranker`` Protocol, and an explicit registry.

==================  ===============================================  ==========================
name                class                                            where it runs
==================  ===============================================  ==========================
``jina``            ``rerankers.jina.JinaReranker``                  Jina API, called from here
``weaviate_module`` ``rerankers.weaviate_module.WeaviateModuleReranker``  inside Weaviate
``local``           ``rerankers.local.LocalReranker``                offline baseline (WordLlama)
==================  ===============================================  ==========================

Classes are imported lazily, so importing this package stays cheap and free of cycles. An unknown
name raises ``InvalidInput`` listing the known names; nothing here returns None.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from rerank_playground.errors import InvalidInput
from rerank_playground.rerankers.base import Reranker

# name -> "module:Class". Constructors differ (the Jina one takes an httpx.Client and a key, the
# Weaviate one a collection), so the registry hands out classes and the caller builds the instance.
RERANKERS: Mapping[str, str] = MappingProxyType(
    {
        "jina": "rerank_playground.rerankers.jina:JinaReranker",
        "weaviate_module": "rerank_playground.rerankers.weaviate_module:WeaviateModuleReranker",
        "local": "rerank_playground.rerankers.local:LocalReranker",
    }
)

LABELS: Mapping[str, str] = MappingProxyType(
    {
        "jina": "Jina API (called from the app)",
        "weaviate_module": "Weaviate reranker-jinaai module (server side)",
        "local": "Local baseline (WordLlama, offline)",
    }
)


# Rerankers whose calls spend Jina tokens (someone's key pays): never run without a click, metered.
PAID: frozenset[str] = frozenset({"jina", "weaviate_module"})


def reranker_names() -> tuple[str, ...]:
    return tuple(RERANKERS)


def get_reranker_class(name: str) -> type[Any]:
    """The class registered under ``name``; unknown names raise ``InvalidInput``."""
    try:
        target = RERANKERS[name]
    except (KeyError, TypeError):
        raise InvalidInput(
            f"Unknown reranker {name!r}.", hint="Known rerankers: " + ", ".join(RERANKERS) + "."
        ) from None
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    cls: type[Any] = getattr(module, attr)
    return cls


__all__ = ["LABELS", "PAID", "RERANKERS", "Reranker", "get_reranker_class", "reranker_names"]
