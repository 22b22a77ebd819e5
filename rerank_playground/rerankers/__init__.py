"""Rerankers: one module per provider behind the ``Reranker`` Protocol, each described by a ``ProviderSpec``,
all listed in one registry.

===================  ==========================================  ==========================
name                 spec                                        where it runs
===================  ==========================================  ==========================
``jina``             ``rerankers.jina.SPEC``                     Jina API, called from here
``weaviate_module``  ``rerankers.weaviate_module.SPEC``          inside Weaviate
``local``            ``rerankers.local.SPEC``                    offline baseline (WordLlama)
===================  ==========================================  ==========================

The Playground and the UI iterate :func:`providers`; nothing outside a provider's own module branches on its
name. Adding a provider is its module (with its ``SPEC``), one line in ``_REGISTRY`` and its tests.

Specs are imported on first use, so importing this package stays cheap and free of cycles. An unknown name
raises ``InvalidInput`` listing the known names; nothing here returns None except :func:`find_provider`.
"""

from __future__ import annotations

import importlib
import threading

from rerank_playground.errors import InvalidInput
from rerank_playground.models import ModelInfo
from rerank_playground.rerankers.base import ProviderContext, ProviderSpec, Reranker, ScriptRecipe

# name -> "module:attribute" of its spec, in the order the UI offers them.
_REGISTRY: dict[str, str | ProviderSpec] = {
    "jina": "rerank_playground.rerankers.jina:SPEC",
    "weaviate_module": "rerank_playground.rerankers.weaviate_module:SPEC",
    "local": "rerank_playground.rerankers.local:SPEC",
}
_lock = threading.Lock()


def _load(name: str, entry: str | ProviderSpec) -> ProviderSpec:
    if isinstance(entry, ProviderSpec):
        return entry
    module_name, _, attr = entry.partition(":")
    spec = getattr(importlib.import_module(module_name), attr)
    if not isinstance(spec, ProviderSpec) or spec.name != name:
        raise TypeError(f"{entry} is not the ProviderSpec named {name!r}")
    with _lock:
        _REGISTRY[name] = spec
    return spec


def provider_names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def providers() -> tuple[ProviderSpec, ...]:
    """Every registered provider, in the order the UI offers them."""
    return tuple(_load(name, entry) for name, entry in list(_REGISTRY.items()))


def find_provider(name: object) -> ProviderSpec | None:
    """The spec registered under ``name``, or None."""
    entry = _REGISTRY.get(name) if isinstance(name, str) else None
    return None if entry is None or not isinstance(name, str) else _load(name, entry)


def get_provider(name: object) -> ProviderSpec:
    """The spec registered under ``name``; unknown names raise ``InvalidInput``."""
    spec = find_provider(name)
    if spec is None:
        raise InvalidInput(
            f"Unknown reranker {name!r}.", hint="Known rerankers: " + ", ".join(_REGISTRY) + "."
        )
    return spec


def models_for(name: str) -> tuple[ModelInfo, ...]:
    """The models the provider registered under ``name`` can run."""
    return get_provider(name).models


def register(spec: ProviderSpec) -> None:
    """Add (or replace) a provider at run time; the static ones are listed in ``_REGISTRY`` above."""
    with _lock:
        _REGISTRY[spec.name] = spec


def unregister(name: str) -> None:
    with _lock:
        _REGISTRY.pop(name, None)


__all__ = [
    "ProviderContext",
    "ProviderSpec",
    "Reranker",
    "ScriptRecipe",
    "find_provider",
    "get_provider",
    "models_for",
    "provider_names",
    "providers",
    "register",
    "unregister",
]
