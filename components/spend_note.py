"""What a paid rerank is expected to cost, and who pays for it. Shown next to the run buttons."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from rerank_playground.deployment import LARGE_REQUEST_TOKENS
from rerank_playground.models import SearchRequest
from rerank_playground.playground import Playground
from rerank_playground.rerankers import ProviderSpec
from rerank_playground.rerankers.choice import RerankChoice


def expected_tokens(
    pg: Playground, request: SearchRequest, choices: Sequence[RerankChoice], *, results_shown: bool = False
) -> bool:
    """A caption with the expected Jina tokens (a warning when the request is large or over the budget); True
    when something was drawn. ``results_shown``: the results on screen are these inputs' own, so "none, they are
    in the cache" would say nothing new: it is left out, and the answer keeps its room in the first screen."""
    estimate = pg.estimate_tokens(request, choices)
    if estimate is None:
        return False
    if estimate.models == 0:
        if results_shown:
            return False
        st.caption("Expected Jina tokens: none — the paid results for these inputs are in this session's cache.")
        return True
    tokens = estimate.tokens
    basis = "these" if estimate.known else "about"
    models = f"{estimate.models} paid model{'s' if estimate.models != 1 else ''}"
    text = (
        f"Expected Jina tokens: about {tokens:,} ({basis} {estimate.candidates} candidates × {models}; an "
        "estimate from text length, Jina counts the real figure)."
    )
    left = pg.spend.remaining() if pg.jina_key_is_operator else None
    if left is not None and tokens > left:
        st.warning(text + f" That is more than the {left:,} tokens left in the budget for the server's key.")
    elif tokens >= LARGE_REQUEST_TOKENS:
        st.warning(text + " A large request: fewer candidates or models cost less.")
    else:
        st.caption(text)
    return True


def needs_a_key(provider: ProviderSpec) -> str:
    """Why an option with an optional key would fail as things stand (no key anywhere this session knows of)."""
    return (f"{provider.short_label} needs a Jina key: this app sends none to this Weaviate, and no call has shown "
            "that the server has one of its own (JINAAI_APIKEY). Paste your Jina key in the sidebar, or use the "
            "local baseline. No tokens are estimated for it.")


def module_payer(pg: Playground) -> str:
    """Whose Jina key the Weaviate reranker-jinaai module will use, as honestly as the server lets us know.

    The server's own ``JINAAI_APIKEY`` wins over the ``X-JinaAI-Api-Key`` header, and Weaviate's meta does not
    say whether it has one; a successful call made without our header proves it does.
    """
    header = pg.module_header_key
    if pg.module_key == "server" and header is None:
        return ("Who pays: the Weaviate server's own Jina key (a call without any key from this app succeeded, "
                "so the server has JINAAI_APIKEY set).")
    if header == "operator":
        return ("Who pays: the Weaviate server's own JINAAI_APIKEY if it has one (it wins over the header; the "
                "server does not say whether it has one), otherwise this app's Jina key (the operator's, sent as "
                "X-JinaAI-Api-Key and counted against its budget).")
    if header == "user":
        return ("Who pays: the Weaviate server's own JINAAI_APIKEY if it has one (it wins over the header; the "
                "server does not say whether it has one), otherwise your Jina key, sent as X-JinaAI-Api-Key.")
    if pg.module_key == "none":
        return ("The Weaviate server has no Jina key of its own and this app sends none to it: paste your Jina "
                "key in the sidebar to use the module path.")
    withheld = " (the app's server key is only sent to the operator's Weaviate)" if pg.jina_key_is_operator else ""
    return ("Who pays: the Weaviate server's own Jina key, if it has one; no Jina key is sent from this app"
            f"{withheld}. If the server has none, paste your Jina key in the sidebar.")
