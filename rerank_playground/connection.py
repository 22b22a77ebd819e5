"""Connection specs -> a connected weaviate client, and what the server can do.

Every failure becomes one typed ``ConnectError`` with a message that says how to fix it. The Weaviate key
lives in the spec (never in its repr); model providers' keys live in their own
:class:`~rerank_playground.keys.ProviderKeys`, and the ones Weaviate's modules use go to the server as
headers (:data:`MODULE_KEY_HEADERS`). Keys are :class:`~rerank_playground.keys.ApiKey` values: an operator
key bound to other endpoints is simply not sent (not in the REST probe, not as gRPC metadata, not as
``X-JinaAI-Api-Key``).
"""

from __future__ import annotations

import functools
import os
import ssl
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import urlparse

import grpc
import httpx
import weaviate
from weaviate.classes.init import AdditionalConfig, Auth, Timeout
from weaviate.exceptions import (
    AuthenticationFailedError,
    UnexpectedStatusCodeError,
    WeaviateBaseError,
    WeaviateStartUpError,
)

from rerank_playground.errors import (
    ConnectError,
    GrpcUnreachable,
    InvalidInput,
    ServerTooOld,
    TlsMismatch,
    WeaviateAuthError,
    WeaviateUnreachable,
    scrub,
)
from rerank_playground.jina_http import API_KEY_ENV as JINA_API_KEY
from rerank_playground.keys import (
    ApiKey,
    BadHost,
    ProviderKeys,
    as_key,
    grpc_endpoint,
    host_in_url,
    http_endpoint,
    normalise_host,
)
from rerank_playground.models import NodeState, ServerInfo

ConnectionKind = Literal["local", "custom", "cloud", "demo"]
MIN_SERVER_VERSION = (1, 27, 0)  # weaviate-client 4.24 refuses older servers
# Provider keys Weaviate's own modules use (reranker-jinaai, text2vec-jinaai), and the header each goes in.
MODULE_KEY_HEADERS: dict[str, str] = {JINA_API_KEY: "X-JinaAI-Api-Key"}


@dataclass(frozen=True)
class ConnectionSpec:
    """Where Weaviate is and how to authenticate. Keys are excluded from repr and equality.

    ``weaviate_api_key`` takes an :class:`ApiKey` (a plain string is a key the user typed). What is actually
    sent comes from :attr:`weaviate_secret`, which is ``None`` when an operator key is bound to other
    endpoints than this spec's. Model providers' keys are not here: see :class:`ProviderKeys`.
    """

    kind: ConnectionKind = "local"
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    http_secure: bool = False
    grpc_host: str = ""  # "" = same as http_host
    grpc_port: int = 50051
    grpc_secure: bool = False
    cluster_url: str = ""  # Weaviate Cloud only
    weaviate_api_key: ApiKey | str | None = field(default=None, repr=False, compare=False)
    init_timeout: float = 4.0
    query_timeout: float = 60.0

    def __post_init__(self) -> None:
        """Hosts in one spelling (``normalise_host``), or ``InvalidInput`` naming what is wrong with one."""
        try:
            object.__setattr__(self, "http_host", normalise_host(self.http_host))
            if self.grpc_host:
                object.__setattr__(self, "grpc_host", normalise_host(self.grpc_host))
            if self.kind == "cloud" and self.cluster_url.strip():
                parts = urlparse(_cloud_url(self.cluster_url))
                normalise_host(parts.hostname or "")
                _ = parts.port
        except (BadHost, ValueError) as exc:
            raise InvalidInput(
                f"Not a Weaviate address: {exc}" if isinstance(exc, BadHost) else
                f"“{(self.cluster_url or self.http_host)[:80]}” is not a valid address ({exc}).",
                hint="E.g. 127.0.0.1, localhost, ::1 or weaviate.example.com (the port in its own field).",
            ) from None

    @property
    def url(self) -> str:
        if self.kind == "cloud":
            return _cloud_url(self.cluster_url)
        scheme = "https" if self.http_secure else "http"
        return f"{scheme}://{host_in_url(self.http_host)}:{self.http_port}"

    @property
    def grpc_target(self) -> tuple[str, int]:
        """The gRPC host (as written in a target: IPv6 in brackets) and port."""
        if self.kind == "cloud":
            host = urlparse(_cloud_url(self.cluster_url)).hostname or ""
            return f"grpc-{host}", 443
        return host_in_url(self.grpc_host or self.http_host), self.grpc_port

    @property
    def label(self) -> str:
        return {"local": "local Weaviate", "demo": "local Weaviate (demo)", "custom": "Weaviate",
                "cloud": "Weaviate Cloud"}[self.kind]

    @property
    def endpoints(self) -> tuple[str, str]:
        """This spec's REST and gRPC endpoints, normalised (what keys are bound to)."""
        host, port = self.grpc_target
        return http_endpoint(self.url), grpc_endpoint(host, port)

    @property
    def weaviate_key(self) -> ApiKey | None:
        return as_key(self.weaviate_api_key)

    @property
    def weaviate_secret(self) -> str | None:
        """The Weaviate key to send to this spec's server, or None (none given, or bound elsewhere)."""
        key = self.weaviate_key
        return key.value_for(*self.endpoints) if key else None

    @property
    def rest_probe_secret(self) -> str | None:
        """The Weaviate key for the REST probe alone: it goes to the REST endpoint only, so that endpoint being
        the bound one is enough (a wrong gRPC port is then reported as such, not as a missing key)."""
        key = self.weaviate_key
        return key.value_for(self.endpoints[0]) if key else None

    @property
    def withheld(self) -> tuple[str, ...]:
        """``("WEAVIATE_API_KEY",)`` when this spec holds an operator key it will not send (bound elsewhere)."""
        if self.weaviate_key is not None and self.weaviate_secret is None:
            return ("WEAVIATE_API_KEY",)
        return ()

    @property
    def secrets(self) -> tuple[str | None, ...]:
        """The key value this spec holds, sent or not (for scrubbing text shown to a user)."""
        key = self.weaviate_key
        return (key.value if key else None,)


def module_headers(spec: ConnectionSpec, keys: ProviderKeys) -> dict[str, str]:
    """The provider keys that may go to ``spec``'s server, as the headers its modules read them from."""
    headers = {}
    for name, header in MODULE_KEY_HEADERS.items():
        secret = keys.secret_for(name, *spec.endpoints)
        if secret:
            headers[header] = secret
    return headers


def withheld_keys(spec: ConnectionSpec, keys: ProviderKeys) -> tuple[str, ...]:
    """Names of the operator keys (Weaviate's, and the provider keys its modules would use) that will not go to
    ``spec``'s server because they are bound elsewhere."""
    modules = tuple(name for name in keys.withheld(*spec.endpoints) if name in MODULE_KEY_HEADERS)
    return (*spec.withheld, *modules)


def _cloud_url(cluster_url: str) -> str:
    raw = cluster_url.strip()
    if not raw:
        return ""
    return raw if "://" in raw else f"https://{raw}"


def spec_from_url(url: str, grpc_port: int | None = None, *, kind: ConnectionKind = "local",
                  weaviate_api_key: ApiKey | str | None = None) -> ConnectionSpec:
    """``http://host:8080`` (+ gRPC port) -> a spec; the gRPC port defaults to 50051."""
    try:
        parsed = urlparse(url if "://" in url else f"http://{url}")
        port = parsed.port
    except ValueError as exc:  # "[127.0.0.1]", a port that is not a number...
        raise InvalidInput(f"“{url[:80]}” is not a valid Weaviate URL ({exc}).",
                           hint="E.g. http://127.0.0.1:8080 or http://[::1]:8080.") from None
    secure = parsed.scheme == "https"
    host = parsed.hostname or "127.0.0.1"
    return ConnectionSpec(
        kind=kind,
        http_host=f"[{host}]" if ":" in host else host,
        http_port=port or (443 if secure else 8080),
        http_secure=secure,
        grpc_port=grpc_port or 50051,
        grpc_secure=secure,
        weaviate_api_key=weaviate_api_key,
    )


def spec_from_env(env: dict[str, str] | None = None) -> ConnectionSpec:
    """The spec the environment describes (``WEAVIATE_URL``, ``WEAVIATE_GRPC_PORT``, ``WEAVIATE_API_KEY``).

    ``WEAVIATE_API_KEY`` is the operator's: it is bound to this spec's endpoints and to nothing else.
    """
    env = dict(os.environ if env is None else env)
    url = env.get("WEAVIATE_URL", "http://127.0.0.1:8080")
    grpc_port = int(env["WEAVIATE_GRPC_PORT"]) if env.get("WEAVIATE_GRPC_PORT") else None
    kind: ConnectionKind = "demo" if env.get("RERANK_PLAYGROUND_DEMO") else "local"
    if ".weaviate.cloud" in url or ".weaviate.network" in url:
        spec = ConnectionSpec(kind="cloud", cluster_url=url)
    else:
        spec = spec_from_url(url, grpc_port, kind=kind)
    return replace(spec, weaviate_api_key=ApiKey.operator(env.get("WEAVIATE_API_KEY"), spec.endpoints))


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The system's trust store, loaded once per process: a new ``httpx.Client`` loads it again (~30 ms), and the
    readiness check runs before any search after a few idle seconds, i.e. on most clicks."""
    return ssl.create_default_context()


def _probe_http(spec: ConnectionSpec) -> None:
    """Fail fast, with a precise reason, before weaviate-client starts its own retries."""
    secrets = spec.secrets
    if not spec.url:
        raise WeaviateUnreachable("No Weaviate address given.", hint="Enter a host and port, or a cluster URL.")
    key = spec.rest_probe_secret
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        with httpx.Client(timeout=spec.init_timeout, verify=_tls_context()) as http:
            response = http.get(f"{spec.url}/v1/meta", headers=headers)
    except httpx.ConnectError as exc:
        cause = str(exc)
        if isinstance(exc.__cause__, ssl.SSLError) or "SSL" in cause or "certificate" in cause.lower():
            raise TlsMismatch(
                f"TLS handshake with {spec.url} failed.",
                hint="If the server speaks plain HTTP, turn HTTPS off (or use http://); "
                "if it uses HTTPS, check its certificate.",
            ) from None
        raise WeaviateUnreachable(
            f"Nothing answers at {spec.url}.",
            hint="Check the host and port, and that Weaviate is running (make weaviate starts a local one).",
        ) from None
    except httpx.TimeoutException:
        raise WeaviateUnreachable(
            f"{spec.url} did not answer within {spec.init_timeout:g} s.",
            hint="Check the host, port and any firewall between you and Weaviate.",
        ) from None
    except httpx.RemoteProtocolError:
        raise TlsMismatch(
            f"{spec.url} did not answer as plain HTTP.",
            hint="The server probably expects HTTPS: turn HTTPS on.",
        ) from None
    except httpx.HTTPError as exc:
        raise WeaviateUnreachable(f"Could not reach {spec.url}: {scrub(str(exc), *secrets)}") from None
    if response.status_code in (401, 403):
        if key:
            message = "Weaviate rejected the API key."
        elif "WEAVIATE_API_KEY" in spec.withheld:
            message = ("This Weaviate needs an API key. The server's WEAVIATE_API_KEY is only sent to the "
                       "Weaviate the operator configured, not to an address typed here.")
        else:
            message = "This Weaviate needs an API key."
        raise WeaviateAuthError(
            message,
            hint="Paste a valid Weaviate API key (for Weaviate Cloud: the cluster's admin or read-only key).",
        )
    if response.status_code == 400 and "https" in response.text.lower():
        raise TlsMismatch(f"{spec.url} expects HTTPS.", hint="Turn HTTPS on.")
    if response.status_code != 200:
        raise WeaviateUnreachable(
            f"{spec.url} answered HTTP {response.status_code}, not Weaviate's /v1/meta.",
            hint="Check that this address is a Weaviate REST endpoint.",
        )
    try:
        version = str(response.json().get("version", "0"))
    except ValueError:
        raise WeaviateUnreachable(f"{spec.url} answered, but not like Weaviate does.") from None
    if _version_tuple(version) < MIN_SERVER_VERSION:
        raise ServerTooOld(
            f"Weaviate {version} is older than this playground supports.",
            hint="Upgrade the server to Weaviate 1.27 or newer.",
        )


def server_is_ready(spec: ConnectionSpec) -> bool:
    """Whether Weaviate's readiness endpoint answers 200 within the connect timeout.

    Not the client's ``is_ready()``: that uses the query timeout, so a tiny query timeout made a live server look
    gone and the Playground reconnected instead of saying the search ran out of time. The endpoint needs no key,
    so none is sent.
    """
    if not spec.url:
        return False
    try:
        with httpx.Client(timeout=spec.init_timeout, verify=_tls_context()) as http:
            return http.get(f"{spec.url}/v1/.well-known/ready").status_code == 200
    except httpx.HTTPError:
        return False


def _probe_grpc(spec: ConnectionSpec) -> None:
    host, port = spec.grpc_target
    target = f"{host}:{port}"
    channel = (grpc.secure_channel(target, grpc.ssl_channel_credentials()) if spec.grpc_secure or
               spec.kind == "cloud" else grpc.insecure_channel(target))
    try:
        grpc.channel_ready_future(channel).result(timeout=spec.init_timeout)
    except grpc.FutureTimeoutError:
        raise GrpcUnreachable(
            f"Weaviate's REST API answers at {spec.url}, but its gRPC port {target} does not.",
            hint="Searches need gRPC: check the gRPC port (default 50051) and that it is exposed.",
        ) from None
    finally:
        channel.close()


def _version_tuple(version: str) -> tuple[int, int, int]:
    parts = [int("".join(ch for ch in p if ch.isdigit()) or 0) for p in version.lstrip("v").split(".")[:3]]
    return tuple((parts + [0, 0, 0])[:3])  # type: ignore[return-value]


def connect(spec: ConnectionSpec, keys: ProviderKeys | None = None) -> weaviate.WeaviateClient:
    """A connected client for ``spec`` or a ``ConnectError`` that says how to fix the spec. The provider keys
    Weaviate's modules use go along as headers, when they may go to this server."""
    keys = keys or ProviderKeys()
    headers = module_headers(spec, keys)
    _probe_http(spec)
    _probe_grpc(spec)
    config = AdditionalConfig(timeout=Timeout(init=spec.init_timeout, query=spec.query_timeout, insert=120))
    key = spec.weaviate_secret
    auth = Auth.api_key(key) if key else None
    host, grpc_port = spec.grpc_target
    try:
        if spec.kind == "cloud":
            client = weaviate.connect_to_weaviate_cloud(
                cluster_url=_cloud_url(spec.cluster_url), auth_credentials=auth or "",
                headers=headers, additional_config=config, skip_init_checks=True,
            )
        else:
            client = weaviate.connect_to_custom(
                http_host=host_in_url(spec.http_host), http_port=spec.http_port, http_secure=spec.http_secure,
                grpc_host=host, grpc_port=grpc_port, grpc_secure=spec.grpc_secure,
                headers=headers, additional_config=config, auth_credentials=auth,
                skip_init_checks=True,  # we probed ourselves; the client's check also calls PyPI
            )
    except AuthenticationFailedError:
        raise WeaviateAuthError("Weaviate rejected the API key.", hint="Paste a valid Weaviate API key.") from None
    except UnexpectedStatusCodeError as exc:
        if exc.status_code in (401, 403):
            raise WeaviateAuthError("Weaviate rejected the API key.", hint="Paste a valid API key.") from None
        raise ConnectError(f"Weaviate answered HTTP {exc.status_code} while connecting.") from None
    except WeaviateStartUpError as exc:
        if "not supported" in str(exc):
            raise ServerTooOld("This Weaviate is older than 1.27.", hint="Upgrade the server.") from None
        raise WeaviateUnreachable(f"Could not connect to {spec.url}.", hint="Check host and port.") from None
    except WeaviateBaseError as exc:
        raise ConnectError(
            f"Could not connect to {spec.url}: {scrub(str(exc), *spec.secrets, *keys.secrets)[:300]}"
        ) from None
    return client


def server_info(client: weaviate.WeaviateClient, spec: ConnectionSpec, secrets: tuple[str, ...] = ()) -> ServerInfo:
    """Version, enabled modules and collection count, for the sidebar and the connect page. ``secrets``: other
    keys the client holds (provider keys in its headers), scrubbed from any server text quoted."""
    try:
        meta = client.get_meta()
        collections = len(client.collections.list_all(simple=True))
    except WeaviateBaseError as exc:
        raise ConnectError(
            f"Connected to {spec.url}, but could not read the server info.",
            hint=scrub(str(exc), *spec.secrets, *secrets)[:200],
        ) from None
    modules = tuple(sorted((meta.get("modules") or {}).keys()))
    return ServerInfo(
        url=spec.url,
        version=str(meta.get("version", "?")),
        modules=modules,
        collections=collections,
        label=spec.label,
        nodes=cluster_nodes(client),
    )


def cluster_nodes(client: weaviate.WeaviateClient) -> tuple[NodeState, ...]:
    """Every node's status as the server reports it, by name; ``()`` when the server does not say.

    ``/v1/nodes`` lists the nodes gossip currently knows: a crashed node shows as UNAVAILABLE until gossip
    declares it dead, then disappears. The raft configuration (``/v1/cluster/statistics``) still names it,
    so a member missing from ``/v1/nodes`` is reported as MISSING. Best effort: a key that may not read
    node status, or a server without these endpoints, gives ``()`` rather than failing the connection.
    """
    try:
        reported = {node.name: str(node.status) for node in client.cluster.nodes()}
    except (WeaviateBaseError, KeyError, TypeError, ValueError):
        return ()
    try:  # fails while a node is unreachable (the server asks every node): /v1/nodes already says so then
        stats = client.cluster.statistics().statistics
        members = {m.node_id for node in stats for m in node.raft.latest_configuration}
    except (WeaviateBaseError, KeyError, TypeError, ValueError):
        members = set()
    states = {**{name: "MISSING" for name in members}, **reported}
    return tuple(NodeState(name, status) for name, status in sorted(states.items()))
