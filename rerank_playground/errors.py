"""One exception root for the whole playground.

Every message is written for the person at the screen: it says what went wrong and what to do,
and never contains a key, a stack trace or raw server output that might echo one.

Hierarchy::

    PlaygroundError
    ├── InvalidInput                 bad query, K, alpha, property, ... (fix the form)
    ├── ConnectError                 could not reach or talk to Weaviate
    │   ├── WeaviateUnreachable      nothing answers at that host/port
    │   ├── GrpcUnreachable          HTTP answers but the gRPC port does not
    │   ├── TlsMismatch              https vs http (or a certificate problem)
    │   ├── WeaviateAuthError        missing or wrong Weaviate API key
    │   ├── ServerTooOld             server older than weaviate-client supports
    │   └── HostNotAllowed           a locked deployment refuses that host (before any network call)
    ├── CatalogError                 a collection or property is missing / cannot be changed
    │   └── CollectionNotFound
    ├── SearchError                  the query failed on the server (timeout, bad config, ...)
    ├── ProviderError                a model provider (a reranker, a query embedder) failed; ``provider`` and
    │   │                            ``model`` say which, whatever the provider
    │   ├── RerankError              a reranker cannot run as set up (e.g. the module is not configured)
    │   ├── EmbeddingError           no query vector could be computed (no embedder, weights missing, ...)
    │   ├── KeyRequired              a model that needs a key was asked for without one
    │   ├── BudgetExhausted          the operator's token budget would be exceeded (checked before the call)
    │   ├── AuthRejected             the provider refused the key (401/403) or its credit is gone (402)
    │   ├── RateLimited              429 (``retry_after`` seconds when known)
    │   ├── RequestRejected          400/413/422: unknown model or rejected input
    │   ├── ProviderServerError      5xx after retries
    │   ├── ProviderTimeout          no answer in time
    │   ├── ProviderUnreachable      connection refused / DNS / not a valid URL
    │   └── BadResponse              malformed JSON, missing fields, wrong indices
    ├── LauncherError                could not find, build or start a local Weaviate
    ├── StoreError                   the judgments store (SQLite / PostgreSQL)
    │   ├── StoreUnavailable         cannot open or reach the store (read-only folder, bad URL, server down)
    │   ├── QuerySetNotFound         no query set of that name
    │   └── StoryNotFound            no story of that name
    ├── BadImportFile                a judgments file is malformed; ``line`` and ``problem`` say where and what
    ├── RunRefused                   a batch run would be meaningless (empty/unjudged set, documents missing)
    ├── RunNotFound                  no saved run with that id
    └── PngUnavailable               a chart cannot be made into a PNG here (kaleido or Chromium missing)
"""

from __future__ import annotations

import re

# Anything that looks like a bearer token or a long opaque key is masked before a message is shown.
# Jina keys start with a lower-case "jina_"; matching that prefix case-sensitively keeps names like
# JINA_BASE_URL readable in messages.
_SECRETISH = re.compile(
    r"(?i)(bearer\s+)\S+|((?-i:jina_)[A-Za-z0-9_\-]{6,})|((?:api[-_]?key|x-jinaai-api-key|authorization)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+"
)


def scrub(text: str, *secrets: str | None) -> str:
    """Remove the given secrets and anything that looks like a key from ``text``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")

    def _mask(match: re.Match[str]) -> str:
        if match.group(1):
            return match.group(1) + "***"
        if match.group(2):
            return "***"
        return match.group(3) + "***"

    return _SECRETISH.sub(_mask, text)


class PlaygroundError(Exception):
    """Root of every error the playground raises on purpose. ``str(err)`` is safe to show."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        self.message = scrub(message)
        self.hint = scrub(hint)
        super().__init__(self.message if not self.hint else f"{self.message} {self.hint}")


class InvalidInput(PlaygroundError):
    pass


class ConnectError(PlaygroundError):
    pass


class WeaviateUnreachable(ConnectError):
    pass


class GrpcUnreachable(ConnectError):
    pass


class TlsMismatch(ConnectError):
    pass


class WeaviateAuthError(ConnectError):
    pass


class ServerTooOld(ConnectError):
    pass


class HostNotAllowed(ConnectError):
    pass


class CatalogError(PlaygroundError):
    pass


class CollectionNotFound(CatalogError):
    pass


class SearchError(PlaygroundError):
    pass


class ProviderError(PlaygroundError):
    """A model provider failed. ``provider`` is its registry name (``"jina"``, ...; ``""`` when not known),
    ``model`` the model asked for."""

    def __init__(self, message: str, *, hint: str = "", provider: str = "", model: str = "") -> None:
        self.provider = provider
        self.model = model
        super().__init__(message, hint=hint)


class RerankError(ProviderError):
    pass


class EmbeddingError(ProviderError):
    pass


class KeyRequired(ProviderError):
    pass


class BudgetExhausted(ProviderError):
    pass


class AuthRejected(ProviderError):
    pass


class RateLimited(ProviderError):
    def __init__(
        self, message: str, *, hint: str = "", provider: str = "", model: str = "", retry_after: float | None = None
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, hint=hint, provider=provider, model=model)


class RequestRejected(ProviderError):
    pass


class ProviderServerError(ProviderError):
    pass


class ProviderTimeout(ProviderError):
    pass


class ProviderUnreachable(ProviderError):
    pass


class BadResponse(ProviderError):
    pass


class LauncherError(PlaygroundError):
    pass


class StoreError(PlaygroundError):
    pass


class StoreUnavailable(StoreError):
    pass


class QuerySetNotFound(StoreError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"There is no query set named {name!r}.", hint="Pick one from the list, or import a file.")


class StoryNotFound(StoreError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"There is no story named {name!r}.", hint="Pick one of the saved stories.")


class BadImportFile(PlaygroundError):
    """``line`` is 1-based (0 when the problem is the file as a whole); ``problem`` says what is wrong there."""

    def __init__(
        self, *, line: int, problem: str, hint: str = "Nothing was imported; fix the file and try again."
    ) -> None:
        self.line = line
        self.problem = problem
        where = f"Line {line}: " if line else ""
        super().__init__(f"{where}{problem}", hint=hint)


class RunRefused(PlaygroundError):
    """A batch run was refused before it started: fix the plan first (nothing was spent)."""


class RunNotFound(PlaygroundError):
    pass


class PngUnavailable(PlaygroundError):
    """The chart could not be made into a PNG here (kaleido or a Chromium it can drive is missing)."""
