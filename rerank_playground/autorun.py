"""The one rule for what may run without a click (a shared link, a suggested query's autorun, Present's
prefetch): paid calls on someone's key never start without one (design: trust model). Search, Compare and Present
all ask :func:`unclicked_run`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rerank_playground.models import CollectionInfo, SearchRequest
from rerank_playground.rerankers.choice import RerankChoice
from rerank_playground.search import search_spends_tokens


@dataclass(frozen=True)
class UnclickedRun:
    """What of a run may start without a click.

    ``search``: the search may run (False when it spends tokens itself: its query is embedded by a paid API, so
    nothing runs). ``free``: the rerankers that may run with it. ``waiting``: those that wait for the click (the
    paid ones, or all of them when the search waits)."""

    search: bool
    free: tuple[RerankChoice, ...]
    waiting: tuple[RerankChoice, ...]

    @property
    def complete(self) -> bool:
        """Everything asked for may run now."""
        return self.search and not self.waiting


def unclicked_run(request: SearchRequest, info: CollectionInfo, choices: Sequence[RerankChoice]) -> UnclickedRun:
    """The search part (``search_spends_tokens``) and the rerank part (each provider's ``paid``)."""
    choices = tuple(dict.fromkeys(choices))
    if search_spends_tokens(request, info):
        return UnclickedRun(search=False, free=(), waiting=choices)
    return UnclickedRun(search=True, free=tuple(c for c in choices if not c.paid),
                        waiting=tuple(c for c in choices if c.paid))
