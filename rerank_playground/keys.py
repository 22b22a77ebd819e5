"""API keys that know where they may be sent, and the test for key-shaped text.

Two kinds of key reach the playground:

- **operator keys** come from the server's environment or ``secrets.toml`` (``WEAVIATE_API_KEY``,
  ``JINAAI_APIKEY``). They belong to whoever runs the app and are *bound* to the endpoints that operator
  configured (``WEAVIATE_URL`` with its gRPC port, ``JINA_BASE_URL``). Asked for any other endpoint, they
  answer ``None``: a host typed in the browser never receives them.
- **user keys** were typed in this browser session. They belong to that person and go where they say.

Endpoints are compared as normalised strings (``http://127.0.0.1:8080``, ``grpc://127.0.0.1:50051``):
scheme, lower-cased host and explicit port. ``localhost`` and ``127.0.0.1`` are different endpoints on
purpose: the binding is to what the operator wrote, never to what it might resolve to.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal
from urllib.parse import urlsplit

KeyOrigin = Literal["operator", "user"]

# A Jina key: "jina_" and a long token (real ones are ~60 characters). Loose on purpose: a false positive
# costs a query that is not mirrored in the address bar; a false negative leaks a key into links.
_JINA_KEY_SHAPE = re.compile(r"jina_[A-Za-z0-9_\-]{16,}")
MIN_CONTAINED_SECRET = 6  # shorter secrets only count when the whole text equals them


class BadHost(ValueError):
    """A host that is not a host name, an IPv4 address or an IPv6 address; the message says what is wrong."""


_HOST_NAME = re.compile(r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*")


def normalise_host(raw: str) -> str:
    """One spelling per host: lower case, no trailing dot (``localhost.`` is ``localhost``), IPv6 compressed and
    without brackets (``[::1]``, ``::1`` and ``0:0::1`` are ``::1``). Raises :class:`BadHost` for anything else
    (``[127.0.0.1]``, a port or a path in the host, spaces...), naming the text."""
    text = raw.strip()
    shown = text[:80]
    if text.startswith("[") or text.endswith("]"):
        inner = text[1:-1] if text.startswith("[") and text.endswith("]") else ""
        try:
            return ipaddress.IPv6Address(inner).compressed
        except ValueError:
            raise BadHost(
                f"“{shown}”: square brackets are for IPv6 addresses only"
                + (f"; write {inner} without them." if inner else ".")
            ) from None
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text).compressed
        except ValueError:
            raise BadHost(f"“{shown}” is not a host: give the port in its own field, not after a colon.") from None
    host = text.lower()
    if host.endswith(".") and host != ".":
        host = host[:-1]  # the DNS root: the same host
    if not _HOST_NAME.fullmatch(host):
        raise BadHost(f"“{shown}” is not a host name or address (letters, digits, dots and dashes only).")
    return host


def host_in_url(host: str) -> str:
    """A normalised host as it is written in a URL or a gRPC target (IPv6 in brackets)."""
    return f"[{host}]" if ":" in host else host


def http_endpoint(url: str) -> str:
    """``http(s)://host:port`` of a REST URL (default ports made explicit), or ``""`` when it has no valid host."""
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        port = parts.port
        host = normalise_host(f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname
                              else parts.hostname or "")
    except ValueError:  # BadHost too
        return ""
    scheme = (parts.scheme or "http").lower()
    return f"{scheme}://{host_in_url(host)}:{port or (443 if scheme == 'https' else 80)}"


def grpc_endpoint(host: str, port: int) -> str:
    try:
        host = normalise_host(host)
    except BadHost:
        host = host.strip().lower()  # never a key's endpoint: keys are bound to normalised ones
    return f"grpc://{host_in_url(host)}:{int(port)}"


@dataclass(frozen=True)
class ApiKey:
    """A key value and who it belongs to. The value never shows in ``repr``.

    ``endpoints`` matters for operator keys only: the normalised endpoints (see :func:`http_endpoint`,
    :func:`grpc_endpoint`) the operator configured it for.
    """

    value: str = field(repr=False)
    origin: KeyOrigin = "user"
    endpoints: frozenset[str] = frozenset()

    @classmethod
    def user(cls, value: str | None) -> ApiKey | None:
        value = (value or "").strip()
        return cls(value, "user") if value else None

    @classmethod
    def operator(cls, value: str | None, endpoints: Iterable[str]) -> ApiKey | None:
        value = (value or "").strip()
        bound = frozenset(e for e in endpoints if e)
        return cls(value, "operator", bound) if value else None

    @property
    def is_operator(self) -> bool:
        return self.origin == "operator"

    def allows(self, *endpoints: str) -> bool:
        """May this key be sent to every one of ``endpoints``?"""
        if not self.is_operator:
            return True
        return bool(endpoints) and all(e in self.endpoints for e in endpoints)

    def value_for(self, *endpoints: str) -> str | None:
        """The key, if it may go to all of ``endpoints``; otherwise ``None``."""
        return self.value if self.allows(*endpoints) else None


def as_key(key: ApiKey | str | None) -> ApiKey | None:
    """A plain string is a key the user typed (it goes where they say)."""
    if key is None or isinstance(key, ApiKey):
        return key
    return ApiKey.user(key)


def looks_like_key(text: str, secrets: Iterable[str | None] = ()) -> bool:
    """True when ``text`` holds a Jina-shaped key, or contains (or equals) one of ``secrets``."""
    if _JINA_KEY_SHAPE.search(text):
        return True
    stripped = text.strip()
    for secret in secrets:
        secret = (secret or "").strip()
        if secret and (secret == stripped or (len(secret) >= MIN_CONTAINED_SECRET and secret in text)):
            return True
    return False


@dataclass(frozen=True)
class ProviderKeys:
    """The keys of model providers (Jina, ...), held apart from the Weaviate connection.

    Each key is filed under the name of the variable an operator sets it with (``JINAAI_APIKEY``): the name a
    provider spec asks for, and the name a message may show. Values never show in ``repr``. An operator key
    keeps its binding: :meth:`secret_for` answers ``None`` for any endpoint it was not configured for.
    """

    keys: Mapping[str, ApiKey] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    @classmethod
    def of(cls, **keys: ApiKey | str | None) -> ProviderKeys:
        """``ProviderKeys.of(JINAAI_APIKEY="...")``: a plain string is a key the user typed; None is no key."""
        return cls().with_keys(**keys)

    def with_keys(self, **keys: ApiKey | str | None) -> ProviderKeys:
        """A copy where each named key is replaced (None removes it)."""
        merged = dict(self.keys)
        for name, key in keys.items():
            value = as_key(key)
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = value
        return ProviderKeys(MappingProxyType(merged))

    def get(self, name: str | None) -> ApiKey | None:
        return self.keys.get(name) if name else None

    def secret_for(self, name: str | None, *endpoints: str) -> str | None:
        """The value of key ``name`` if it may go to every one of ``endpoints``; otherwise None."""
        key = self.get(name)
        return key.value_for(*endpoints) if key else None

    def withheld(self, *endpoints: str) -> tuple[str, ...]:
        """Names of the keys held here that may not go to ``endpoints`` (operator keys bound elsewhere)."""
        return tuple(name for name, key in self.keys.items() if not key.allows(*endpoints))

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every key value held (for scrubbing text shown to a user)."""
        return tuple(key.value for key in self.keys.values())

    def __repr__(self) -> str:
        held = ", ".join(f"{name}={key.origin}" for name, key in sorted(self.keys.items()))
        return f"ProviderKeys({held})"
