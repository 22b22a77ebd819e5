"""What to rerank with: a registered provider plus one of its models, and its one text form.

``jina:jina-reranker-v3`` is how links, story files, batch plans and the CLI write a choice; :func:`parse_choice`
is the one reader of it (also a bare provider with one model, ``local``, or a bare model name, which goes to the
first client-side provider that runs it).
"""

from __future__ import annotations

from dataclasses import dataclass

from rerank_playground.errors import InvalidInput
from rerank_playground.rerankers import find_provider, providers
from rerank_playground.rerankers.base import ProviderSpec


@dataclass(frozen=True)
class RerankChoice:
    """A registered reranker provider plus a model: ("jina", "jina-reranker-v3"), ("local", "local-wordllama")."""

    reranker: str  # the provider's registry name
    model: str

    @property
    def provider(self) -> ProviderSpec | None:
        """The provider's spec (None for a name nothing is registered under)."""
        return find_provider(self.reranker)

    @property
    def paid(self) -> bool:
        """Does this choice spend tokens (on someone's key)?"""
        spec = self.provider
        return bool(spec and spec.paid)

    @property
    def label(self) -> str:
        spec = self.provider
        return spec.label_for(self.model) if spec else self.model


def choice_id(choice: RerankChoice) -> str:
    """The text form :func:`parse_choice` reads back: ``<provider>:<model>``."""
    return f"{choice.reranker}:{choice.model}"


KNOWN_FORMS = "local, jina:<model> or weaviate_module:<model>"


def parse_choice(text: str) -> RerankChoice:
    """``<provider>:<model>``, a provider with one model (``local``) or a bare model name -> a ``RerankChoice``.
    A provider with one model (the local baseline) takes whatever model the text names: there is nothing else it
    could mean. Anything else is ``InvalidInput`` naming the text and the known forms."""
    text = text.strip()
    reranker, sep, model = text.partition(":")
    if not sep:  # a provider with one model, or a model name: the first client-side provider that runs it
        client_side = [p for p in providers() if p.server_module is None]
        runs_it = [p.name for p in client_side if any(m.name == text for m in p.models)]
        reranker, model = (text, "") if find_provider(text) else ((runs_it or [client_side[0].name])[0], text)
    provider = find_provider(reranker)
    if provider is None:
        raise InvalidInput(f"Unknown reranker in {text!r}.", hint=f"Use {KNOWN_FORMS}.")
    if len(provider.models) == 1:
        return RerankChoice(reranker, provider.models[0].name)
    known = {m.name for m in provider.models}
    if model not in known:
        raise InvalidInput(f"Unknown model {model!r} for {reranker}.", hint="Known: " + ", ".join(sorted(known)) + ".")
    return RerankChoice(reranker, model)
