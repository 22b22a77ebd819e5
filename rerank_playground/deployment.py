"""What the operator of a shared deployment configured: their keys, where the app may connect, what it may spend.

Everything comes from one mapping of settings (the server's environment over ``.streamlit/secrets.toml``):

===========================================  =====================================================================
``WEAVIATE_URL``, ``WEAVIATE_GRPC_PORT``     the operator's Weaviate
``WEAVIATE_API_KEY``                         its key: bound to that Weaviate's REST and gRPC endpoints only
``JINA_BASE_URL``                            the Jina API (default ``https://api.jina.ai``)
``JINAAI_APIKEY``                            the operator's Jina key: bound to the Jina API and the operator's
                                             Weaviate (as ``X-JinaAI-Api-Key``) only
``RERANK_PLAYGROUND_ALLOWED_HOSTS``          locked mode: the Connect page may reach the configured Weaviate and
                                             these hosts (``host`` or ``host:port``, comma separated) only
``RERANK_PLAYGROUND_LOCKED``                 locked mode without extra hosts: the configured Weaviate only
``RERANK_PLAYGROUND_SESSION_TOKEN_BUDGET``   Jina tokens one browser session may spend on the operator's key
``RERANK_PLAYGROUND_DEPLOYMENT_TOKEN_BUDGET``  the same for all sessions of this server process together
===========================================  =====================================================================

Budgets apply to the operator's Jina key only (a key a user typed is their own money); ``0`` or ``none``
turns a budget off. Budgets are caps: before a call, an upper bound of its tokens that holds for any text is
reserved (``rerank_token_bound``: UTF-8 bytes, as no tokenizer makes more tokens than bytes, plus the special
tokens) so that neither token-dense text (CJK, emoji, digits, single letters) nor concurrent calls can overshoot;
afterwards the reservation is settled with the tokens Jina reports, or with the bound when Jina may have done the
work without saying (a timeout, a 5xx, a dropped answer, the server-side module). The session budget belongs to
one browser tab (a new tab starts again at 0): the deployment budget is the one that caps a server process.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rerank_playground.connection import ConnectionSpec, spec_from_env
from rerank_playground.errors import BudgetExhausted, HostNotAllowed, InvalidInput
from rerank_playground.jina_http import resolve_base_url
from rerank_playground.keys import ApiKey, BadHost, host_in_url, http_endpoint, normalise_host

ALLOWED_HOSTS_ENV = "RERANK_PLAYGROUND_ALLOWED_HOSTS"
LOCKED_ENV = "RERANK_PLAYGROUND_LOCKED"
SESSION_BUDGET_ENV = "RERANK_PLAYGROUND_SESSION_TOKEN_BUDGET"
DEPLOYMENT_BUDGET_ENV = "RERANK_PLAYGROUND_DEPLOYMENT_TOKEN_BUDGET"
SETTING_NAMES = (ALLOWED_HOSTS_ENV, LOCKED_ENV, SESSION_BUDGET_ENV, DEPLOYMENT_BUDGET_ENV)

DEFAULT_SESSION_BUDGET = 200_000
DEFAULT_DEPLOYMENT_BUDGET = 2_000_000
# Jina's tokenizers average about four characters of English per token; the estimate says it is one.
CHARS_PER_TOKEN = 4
# The bound: every token covers at least one byte of its text, plus the special tokens a cross-encoder adds to each
# (query, document) pair and a listwise model's prompt around the call.
SPECIAL_TOKENS_PER_DOCUMENT = 8
SPECIAL_TOKENS_PER_CALL = 512
SPECIAL_TOKENS_PER_EMBEDDING = 32
LARGE_REQUEST_TOKENS = 20_000
_TRUE = {"1", "true", "yes", "on"}


# ------------------------------------------------------------------------------------------- settings


def parse_budget(raw: str | None, default: int | None, name: str) -> int | None:
    if raw is None or not str(raw).strip():
        return default
    text = str(raw).strip().lower().replace("_", "").replace(",", "")
    if text in {"0", "none", "off", "unlimited"}:
        return None
    try:
        value = int(text)
    except ValueError:
        raise InvalidInput(
            f"{name}={raw!r} is not a number of tokens.", hint=f"Set {name} to e.g. 200000, or 0 for no budget."
        ) from None
    if value < 0:
        raise InvalidInput(f"{name} cannot be negative.", hint="Use 0 for no budget.")
    return value


WEAVIATE_CLOUD_DOMAINS = (".weaviate.cloud", ".weaviate.network")


def _allowed_entry(raw: str) -> str:
    """An entry of the allowed hosts (``host``, ``host:port``, ``[v6]:port``, ``v6``) in the spelling endpoints
    use (``normalise_host``; IPv6 in brackets), so that ``LOCALHOST.`` allows ``localhost``."""
    text = raw.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        host, port = f"[{host}]", rest.removeprefix(":")
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, ""
    try:
        name = host_in_url(normalise_host(host))
    except BadHost as exc:
        raise InvalidInput(f"{ALLOWED_HOSTS_ENV}: {exc}",
                           hint="List host names or addresses, comma separated.") from None
    if port and not port.isdigit():
        raise InvalidInput(f"{ALLOWED_HOSTS_ENV}: the port in “{text[:80]}” is not a number.")
    return f"{name}:{port}" if port else name


@dataclass(frozen=True)
class ConnectPolicy:
    """Where the Connect page may connect. Unrestricted unless the operator locked it."""

    locked: bool = False
    allowed_hosts: frozenset[str] = frozenset()  # "host" or "host:port", lower-case
    configured: tuple[str, ...] = ()  # the configured Weaviate's normalised endpoints

    @property
    def restricted(self) -> bool:
        return self.locked or bool(self.allowed_hosts)

    def describe(self) -> str:
        extra = f" and {', '.join(sorted(self.allowed_hosts))}" if self.allowed_hosts else ""
        return f"the configured Weaviate{extra}"

    def _host_allowed(self, endpoint: str) -> bool:
        hostport = endpoint.split("://", 1)[-1]
        host = hostport.rsplit(":", 1)[0]
        return host in self.allowed_hosts or hostport in self.allowed_hosts

    def check(self, spec: ConnectionSpec) -> None:
        """Raise :class:`HostNotAllowed` (before any network call) for a spec this deployment does not allow."""
        if not self.restricted:
            return
        rest, grpc = spec.endpoints
        if rest in self.configured and grpc in self.configured:
            return
        # A Weaviate Cloud gRPC host is derived from the cluster URL (grpc-<host>:443): it passes with an allowed
        # REST host only when that host is Weaviate Cloud's; any other "cloud" URL's gRPC target is checked as is.
        wanted = [rest, grpc]
        if spec.kind == "cloud" and rest.split("://", 1)[-1].rsplit(":", 1)[0].endswith(WEAVIATE_CLOUD_DOMAINS):
            wanted = [rest]
        refused = [e for e in wanted if e not in self.configured and not self._host_allowed(e)]
        if refused or not rest:
            where = refused[0] if refused else spec.url or "that address"
            raise HostNotAllowed(
                f"This playground is locked to {self.describe()}; {where} is not allowed.",
                hint=f"Ask the operator to add the host to {ALLOWED_HOSTS_ENV}, or connect to an allowed one.",
            )


@dataclass(frozen=True)
class Budgets:
    """Token budgets for the operator's Jina key (None = no limit)."""

    session: int | None = DEFAULT_SESSION_BUDGET
    deployment: int | None = DEFAULT_DEPLOYMENT_BUDGET
    own: int | None = None  # a cap on the user's own key too: the CLI's --token-budget (the app never sets one)


@dataclass(frozen=True)
class Deployment:
    """The operator's configuration, keys bound to the operator's endpoints."""

    spec: ConnectionSpec  # the configured Weaviate, with its bound WEAVIATE_API_KEY
    jina_base_url: str
    jina_key: ApiKey | None = field(repr=False)
    policy: ConnectPolicy
    budgets: Budgets


def deployment_from_settings(settings: Mapping[str, str]) -> Deployment:
    """Read the operator's settings. Raises ``InvalidInput`` for a malformed value (named in the message)."""
    spec = spec_from_env(dict(settings))
    base_url = resolve_base_url(settings.get("JINA_BASE_URL"))
    jina_key = ApiKey.operator(settings.get("JINAAI_APIKEY"), (http_endpoint(base_url), *spec.endpoints))
    hosts = frozenset(
        _allowed_entry(h) for h in str(settings.get(ALLOWED_HOSTS_ENV, "")).split(",") if h.strip()
    )
    locked = str(settings.get(LOCKED_ENV, "")).strip().lower() in _TRUE
    policy = ConnectPolicy(locked=locked, allowed_hosts=hosts, configured=spec.endpoints)
    budgets = Budgets(
        session=parse_budget(settings.get(SESSION_BUDGET_ENV), DEFAULT_SESSION_BUDGET, SESSION_BUDGET_ENV),
        deployment=parse_budget(
            settings.get(DEPLOYMENT_BUDGET_ENV), DEFAULT_DEPLOYMENT_BUDGET, DEPLOYMENT_BUDGET_ENV
        ),
    )
    return Deployment(spec=spec, jina_base_url=base_url, jina_key=jina_key, policy=policy, budgets=budgets)


# ------------------------------------------------------------------------------------------- spend


def estimate_rerank_tokens(query: str, texts: Sequence[str], max_chars: int = 4096) -> int:
    """Tokens one rerank call is expected to use: query + document for every candidate, from text length.

    An estimate (about four characters per token); Jina's own count comes back with the answer.
    """
    per_query = len(query or "")
    return sum(math.ceil((per_query + min(len(t or ""), max_chars)) / CHARS_PER_TOKEN) for t in texts)


def text_token_bound(text: str | None, max_chars: int | None = None) -> int:
    """At most this many tokens for ``text`` (cut to ``max_chars`` characters, as sent) under any tokenizer."""
    text = text or ""
    return len((text if max_chars is None else text[:max_chars]).encode("utf-8"))


def rerank_token_bound(query: str, texts: Sequence[str], max_chars: int | None = None) -> int:
    """An upper bound of the tokens one rerank call can use, whatever the text: the query with every document."""
    per_query = text_token_bound(query) + SPECIAL_TOKENS_PER_DOCUMENT
    return SPECIAL_TOKENS_PER_CALL + sum(per_query + text_token_bound(t, max_chars) for t in texts)


def embed_token_bound(text: str) -> int:
    """An upper bound of the tokens one query embedding can use: its bytes, the special tokens and a task prompt."""
    return SPECIAL_TOKENS_PER_EMBEDDING + text_token_bound(text)


class TokenMeter:
    """Tokens spent against an optional limit, thread-safe. ``reserve`` before a call, ``settle`` after."""

    def __init__(self, scope: str, what: str = "token budget for the server's Jina key") -> None:
        self.scope = scope
        self.what = what
        self._lock = threading.Lock()
        self.spent = 0
        self.reserved = 0

    def reserve(self, tokens: int, limit: int | None) -> None:
        with self._lock:
            if limit is not None and self.spent + self.reserved + tokens > limit:
                raise BudgetExhausted(
                    f"The {self.scope} {self.what} would be exceeded: "
                    f"{self.spent:,} of {limit:,} tokens spent, this request may need up to {tokens:,} "
                    "(an upper bound: one token per byte of text; Jina usually counts far fewer).",
                    hint="Use your own Jina key (JINAAI_APIKEY), rerank fewer candidates or models, or use the "
                    "local baseline.",
                )
            self.reserved += tokens

    def settle(self, reserved: int, actual: int | None) -> None:
        """Replace a reservation by what the call used (None: it failed and used nothing we know of)."""
        with self._lock:
            self.reserved = max(0, self.reserved - reserved)
            self.spent += max(0, actual or 0)


_DEPLOYMENT_METER = TokenMeter("deployment's")  # one per server process: every session adds to it


def deployment_meter() -> TokenMeter:
    return _DEPLOYMENT_METER


@dataclass
class SpendGuard:
    """One session's Jina spend: on the operator's key (against the session and the process-wide budget) and
    on the user's own key (counted, never limited)."""

    budgets: Budgets = field(default_factory=Budgets)
    session: TokenMeter = field(default_factory=lambda: TokenMeter("browser tab's"))
    deployment: TokenMeter = field(default_factory=deployment_meter)
    own: TokenMeter = field(default_factory=lambda: TokenMeter("run's", "token budget"))
    estimated_calls: int = 0  # calls whose spend is an estimate (the Weaviate module does not report tokens)

    def reserve(self, tokens: int, *, operator_key: bool) -> tuple[int, bool]:
        """Check the budgets (operator key only) and reserve ``tokens``; returns what to pass to ``settle``."""
        if operator_key:
            self.deployment.reserve(tokens, self.budgets.deployment)
            try:
                self.session.reserve(tokens, self.budgets.session)
            except BudgetExhausted:
                self.deployment.settle(tokens, None)
                raise
        else:
            self.own.reserve(tokens, self.budgets.own)
        return tokens, operator_key

    def settle(self, reservation: tuple[int, bool], actual: int | None, *, estimated: bool = False) -> None:
        tokens, operator_key = reservation
        if operator_key:
            self.session.settle(tokens, actual)
            self.deployment.settle(tokens, actual)
        else:
            self.own.settle(tokens, actual)
        if estimated and actual:
            self.estimated_calls += 1

    @property
    def spent(self) -> int:
        """Tokens this session spent, on any key."""
        return self.session.spent + self.own.spent

    def remaining(self) -> int | None:
        """Tokens the operator's key may still spend in this session (None = no limit)."""
        left = [
            limit - meter.spent
            for limit, meter in ((self.budgets.session, self.session), (self.budgets.deployment, self.deployment))
            if limit is not None
        ]
        return max(0, min(left)) if left else None


# ------------------------------------------------------------------------------------------- outside the app

# Where Streamlit reads secrets: the user's, then the project's (which wins).
SECRETS_FILES = (Path.home() / ".streamlit" / "secrets.toml", Path(".streamlit") / "secrets.toml")
OPERATOR_SETTINGS = ("WEAVIATE_URL", "WEAVIATE_GRPC_PORT", "WEAVIATE_API_KEY", "JINAAI_APIKEY", "JINA_BASE_URL",
                     *SETTING_NAMES)


def settings_outside_app(env: Mapping[str, str], secrets_files: Sequence[Path] = SECRETS_FILES) -> dict[str, str]:
    """The settings the app would read, for a process without Streamlit (the CLI): the secrets files the app reads,
    overridden by the environment. A secrets file that is not valid TOML raises ``InvalidInput`` (never its text)."""
    import tomllib

    merged: dict[str, str] = {}
    for path in secrets_files:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            raise InvalidInput(f"The secrets file {path} could not be read as TOML.",
                               hint="Fix it, or set the settings in the environment.") from None
        merged.update({n: str(data[n]).strip() for n in OPERATOR_SETTINGS if str(data.get(n, "")).strip()})
    merged.update({n: env[n].strip() for n in OPERATOR_SETTINGS if env.get(n, "").strip()})
    return merged
