"""Shared plumbing for Jina's HTTP API: base URL, headers, retries and error mapping.

Used by the reranker (``/v1/rerank``) and the embeddings client (``/v1/embeddings``). The caller
injects the ``httpx.Client`` (tests pass a ``MockTransport`` or point it at the local stand-in).

Safety: the API key only ever goes into the ``Authorization`` header of the outgoing request. It is
never put in an exception message, a log line or a repr; server text quoted in messages is scrubbed,
and exceptions are raised ``from None`` so no httpx object (which holds the request) hangs off them.
"""

from __future__ import annotations

import email.utils
import math
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, retry_if_result, stop_after_attempt

from rerank_playground.errors import (
    AuthRejected,
    BadResponse,
    KeyRequired,
    ProviderServerError,
    ProviderTimeout,
    ProviderUnreachable,
    RateLimited,
    RequestRejected,
    scrub,
)

DEFAULT_BASE_URL = "https://api.jina.ai"
BASE_URL_ENV = "JINA_BASE_URL"
API_KEY_ENV = "JINAAI_APIKEY"
KEYS_URL = "https://jina.ai/reranker"
USER_AGENT = "rerank-playground/0.1"
PROVIDER = "jina"  # what errors from Jina's API name as their provider

_DETAIL_MAX = 300  # characters of server text quoted in a message


def resolve_base_url(base_url: str | None = None) -> str:
    """``base_url`` if given, else ``$JINA_BASE_URL``, else ``https://api.jina.ai`` (no trailing slash)."""
    url = base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    return url.rstrip("/")


def make_client(timeout: float = 30.0, connect_timeout: float = 5.0, *,
                event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None) -> httpx.Client:
    """An ``httpx.Client`` with explicit timeouts and no header logging (httpx logs only the URL line).
    ``event_hooks``: httpx's request/response hooks (``rate_limit.SharedRateLimiter.hooks``)."""
    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        event_hooks=dict(event_hooks or {}),
    )


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before giving up.

    ``attempts`` counts the first try. Waits grow as ``base_delay * 2**(n-1)`` up to ``max_delay``, plus
    up to ``jitter`` seconds of random jitter. A ``Retry-After`` header (on 429 or 5xx) is honoured
    exactly when it is at most ``retry_after_cap`` seconds; a longer one is not waited out: the error is
    raised at once with ``retry_after`` set so the user can decide. ``sleep`` is injectable for tests.
    """

    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.5
    retry_after_cap: float = 10.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1")


class JinaReply(NamedTuple):
    data: dict[str, Any]
    headers: httpx.Headers
    attempts: int  # HTTP requests actually sent (1 + retries)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent or invalid."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - time.time()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def server_detail(response: httpx.Response, *secrets: str | None) -> str:
    """The human part of an error body: ``{"detail": str}``, ``{"detail": [...]}``,
    ``{"error": {"message": ...}}`` or plain text; scrubbed and shortened."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    text = _detail_text(body)
    text = " ".join(scrub(text, *secrets).split())
    if len(text) > _DETAIL_MAX:
        text = text[: _DETAIL_MAX - 1] + "…"
    return text


def _detail_text(body: Any) -> str:
    if isinstance(body, str):
        return body
    if isinstance(body, dict):
        detail = body.get("detail")
        if isinstance(detail, str):
            return detail
        if isinstance(detail, list):
            parts = []
            for item in detail:
                if isinstance(item, dict):
                    msg = str(item.get("msg") or item.get("message") or "")
                    loc = item.get("loc")
                    if isinstance(loc, list | tuple) and loc:
                        where = ".".join(str(p) for p in loc if p != "body")
                        msg = f"{where}: {msg}" if where else msg
                    parts.append(msg or str(item))
                else:
                    parts.append(str(item))
            return "; ".join(p for p in parts if p)
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return "" if body is None else str(body)


def _safe_url(base_url: str) -> str:
    """The base URL without any user:password part."""
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError):
        return scrub(base_url)
    if url.userinfo:
        url = url.copy_with(username=None, password=None)
    return scrub(str(url))


def _read_timeout(client: httpx.Client) -> float | None:
    return client.timeout.read


def post_json(
    client: httpx.Client,
    base_url: str,
    path: str,
    api_key: str | None,
    body: Mapping[str, Any],
    *,
    model: str,
    retry: RetryPolicy | None = None,
    keys_url: str = KEYS_URL,
) -> JinaReply:
    """POST ``body`` as JSON to ``base_url + path`` with the key; return the decoded JSON object.

    Retries connection failures, 429 and 5xx per ``retry``; maps every failure to a ``ProviderError``
    named by what went wrong (``AuthRejected``, ``RateLimited``, ...), whose message names ``model`` and says
    what to do. Never includes the key.
    """
    if api_key is None or not api_key.strip():
        raise KeyRequired(
            f"{model} needs a Jina API key: set {API_KEY_ENV}; "
            f"free keys at {keys_url}",
            provider=PROVIDER,
            model=model,
        )
    api_key = api_key.strip()
    policy = retry or RetryPolicy()
    base = resolve_base_url(base_url)
    url = base + "/" + path.lstrip("/")
    headers = {
        "Authorization": f"Bearer {api_key}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    attempts = 0

    def _one_attempt() -> httpx.Response:
        nonlocal attempts
        attempts += 1
        return client.post(url, json=dict(body), headers=headers)

    def _retryable_response(response: httpx.Response) -> bool:
        if response.status_code == 429 or response.status_code >= 500:
            wait = parse_retry_after(response.headers.get("retry-after"))
            return wait is None or wait <= policy.retry_after_cap
        return False

    def _wait(state: RetryCallState) -> float:
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            response = outcome.result()
            wait = parse_retry_after(response.headers.get("retry-after"))
            if wait is not None:
                return wait  # already known to be within the cap
        backoff = min(policy.max_delay, policy.base_delay * 2.0 ** (state.attempt_number - 1))
        return backoff + (random.uniform(0, policy.jitter) if policy.jitter > 0 else 0.0)

    retrying = Retrying(
        stop=stop_after_attempt(policy.attempts),
        wait=_wait,
        retry=(
            retry_if_exception_type((httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError))
            | retry_if_result(_retryable_response)
        ),
        sleep=policy.sleep,
        reraise=True,
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
    )

    failure: Exception | None = None
    try:
        response = retrying(_one_attempt)
    except httpx.TimeoutException as exc:
        if isinstance(exc, httpx.ConnectTimeout):
            failure = ProviderUnreachable(
                f"Could not connect to the Jina API at {_safe_url(base)} in time (tried {attempts}x).",
                hint=f"Check the network, a proxy, or {BASE_URL_ENV}.",
                provider=PROVIDER,
                model=model,
            )
        else:
            limit = _read_timeout(client)
            within = f" within {limit:g} s" if limit else ""
            failure = ProviderTimeout(
                f"Jina did not answer{within} for {model}.",
                hint="Try again, send fewer or shorter candidates, or raise the timeout.",
                provider=PROVIDER,
                model=model,
            )
    except httpx.RemoteProtocolError:
        failure = BadResponse(
            f"The Jina API at {_safe_url(base)} dropped the connection for {model} (tried {attempts}x).",
            hint="Try again; if it persists, check any proxy in between.",
            provider=PROVIDER,
            model=model,
        )
    except httpx.InvalidURL:
        failure = ProviderUnreachable(
            f"The Jina base URL {_safe_url(base)!r} is not a valid URL.",
            hint=f"Fix {BASE_URL_ENV}, e.g. {DEFAULT_BASE_URL}.",
            provider=PROVIDER,
            model=model,
        )
    except httpx.TransportError:
        failure = ProviderUnreachable(
            f"Could not connect to the Jina API at {_safe_url(base)} (tried {attempts}x).",
            hint=f"Check the network, a proxy, or {BASE_URL_ENV}.",
            provider=PROVIDER,
            model=model,
        )
    if failure is not None:
        raise failure from None

    assert response is not None
    _raise_for_status(
        response,
        model=model,
        api_key=api_key,
        attempts=attempts,
        base_url=base,
        path=path,
        keys_url=keys_url,
    )
    try:
        data = response.json()
    except ValueError:
        failure = BadResponse(
            f"Jina answered {model} with something that is not valid JSON (HTTP {response.status_code}).",
            hint=f"Try again; if you set {BASE_URL_ENV}, check that it points at a Jina-compatible API.",
            provider=PROVIDER,
            model=model,
        )
    else:
        if not isinstance(data, dict):
            failure = BadResponse(
                f"Jina answered {model} with a JSON {type(data).__name__}, not an object.",
                hint=f"If you set {BASE_URL_ENV}, check that it points at a Jina-compatible API.",
                provider=PROVIDER,
                model=model,
            )
    if failure is not None:
        raise failure from None
    return JinaReply(data, response.headers, attempts)


def _raise_for_status(
    response: httpx.Response,
    *,
    model: str,
    api_key: str,
    attempts: int,
    base_url: str,
    path: str,
    keys_url: str,
) -> None:
    status = response.status_code
    if status < 400:
        if status >= 300:
            raise BadResponse(
                f"Jina answered {model} with a redirect (HTTP {status}).",
                hint=f"Check {BASE_URL_ENV}: it should be the API's base URL, e.g. {DEFAULT_BASE_URL}.",
                provider=PROVIDER,
                model=model,
            )
        return
    detail = server_detail(response, api_key)
    said = f": {detail}" if detail else "."
    if status in (401, 403):
        raise AuthRejected(
            f"Jina rejected the API key (HTTP {status}) for {model}{said}",
            hint=f"Check the key ({API_KEY_ENV}); get one at {keys_url}",
            provider=PROVIDER,
            model=model,
        )
    if status == 402:
        raise AuthRejected(
            f"This Jina key has no tokens left (HTTP 402) for {model}{said}",
            hint=f"Top up the key or use another one; free keys at {keys_url}",
            provider=PROVIDER,
            model=model,
        )
    if status == 404:
        raise BadResponse(
            f"No Jina API found at {_safe_url(base_url)}/{path.lstrip('/')} (HTTP 404).",
            hint=f"Check {BASE_URL_ENV}: it should be the API's base URL, e.g. {DEFAULT_BASE_URL}.",
            provider=PROVIDER,
            model=model,
        )
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        when = f"; Jina asks to wait {retry_after:g} s" if retry_after is not None else ""
        raise RateLimited(
            f"Jina's rate limit was hit for {model} (HTTP 429, tried {attempts}x){when}.",
            hint="Wait a moment and try again, rerank fewer candidates or models at once, "
            "or use a key with a higher limit.",
            provider=PROVIDER,
            model=model,
            retry_after=retry_after,
        )
    if status >= 500:
        raise ProviderServerError(
            f"Jina's server failed for {model} (HTTP {status}, tried {attempts}x){said}",
            hint="This is on Jina's side: try again later or pick another model.",
            provider=PROVIDER,
            model=model,
        )
    if status == 413:
        raise RequestRejected(
            f"Jina refused the request for {model} as too large (HTTP 413){said}",
            hint="Send fewer or shorter candidates.",
            provider=PROVIDER,
            model=model,
        )
    raise RequestRejected(
        f"Jina rejected the request for {model} (HTTP {status}){said}",
        hint="Check the model name against the catalog, and the query and candidate texts.",
        provider=PROVIDER,
        model=model,
    )


def total_tokens(data: Mapping[str, Any]) -> int | None:
    """``usage.total_tokens`` of a Jina reply (None when it is missing or not a whole number)."""
    usage = data.get("usage")
    total = usage.get("total_tokens") if isinstance(usage, dict) else None
    return total if isinstance(total, int) and not isinstance(total, bool) else None


@dataclass(frozen=True)
class ReplyList:
    """How one Jina reply names its list and its entries (for messages): ``/v1/rerank`` answers ``results``
    of documents, ``/v1/embeddings`` answers ``data`` about texts."""

    list_field: str  # "results" / "data"
    entry: str  # "a result" / "an entry"
    sent: str  # "documents" / "texts"
    count_says: str  # "it ranked {got} documents, expected {want}"
    index_optional: bool = False  # a missing "index" means the entry's position


def indexed_entries(
    data: Mapping[str, Any], shape: ReplyList, *, n: int, expected: int, bad: Callable[[str], BadResponse]
) -> list[tuple[int, dict[str, Any]]]:
    """The entries of a Jina reply's list, each with its index checked: a whole number within the ``n`` items
    sent, seen once. Anything else raises ``bad(what was wrong)``."""
    items = data.get(shape.list_field)
    if not isinstance(items, list):
        raise bad(f"it has no '{shape.list_field}' list")
    if len(items) != expected:
        raise bad(shape.count_says.format(got=len(items), want=expected))
    seen: set[int] = set()
    entries: list[tuple[int, dict[str, Any]]] = []
    for position, item in enumerate(items):  # every candidate of every call: exact type checks first (cheap)
        if type(item) is not dict and not isinstance(item, dict):
            raise bad(f"{shape.entry} is not an object")
        index = item.get("index", position) if shape.index_optional else item.get("index")
        if type(index) is not int and (isinstance(index, bool) or not isinstance(index, int)):
            raise bad(f"{shape.entry} has no whole-number 'index'")
        if not 0 <= index < n:
            raise bad(f"index {index} is outside the {n} {shape.sent} sent")
        if index in seen:
            raise bad(f"index {index} appears twice")
        seen.add(index)
        entries.append((int(index), item))
    return entries
