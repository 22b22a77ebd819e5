"""A test Weaviate whose ``reranker-jinaai`` module talks to the local Jina stand-in.

Weaviate's ``reranker-jinaai`` module calls the hard-coded ``https://api.jina.ai/v1/rerank``. To exercise
that path end to end, :func:`server_side_jina`:

1. makes a throw-away CA with ``trustme`` and a certificate for ``api.jina.ai`` signed by it;
2. starts a :class:`JinaStandIn` serving HTTPS on port 443 of a loopback address (``127.0.0.1``, or —
   when that port is already taken there, e.g. by a parallel test session — ``127.0.53.N``);
3. writes a hosts file (a copy of ``/etc/hosts`` plus ``<that address> api.jina.ai``);
4. starts ``weaviate-server`` through ``weaviate_local.server.start_weaviate`` with the command prefix
   ``unshare --mount -- sh -c 'mount --bind <hosts> /etc/hosts && exec "$@"'``, so only that process (in
   its own mount namespace) sees the override, and with ``SSL_CERT_FILE``/``SSL_CERT_DIR`` pointing at the
   test CA only, proxy variables removed and ``JINAAI_APIKEY`` empty (so the request header's key is used).

:func:`jina_override` does steps 1–3 alone and yields the command prefix and environment, for starting
several server processes that way (the nodes of a cluster, ``tests/fixtures_cluster.py``).

Needs root (``unshare --mount`` and binding port 443). Raises :class:`NamespaceUnavailable` with the reason
otherwise; nothing is silently skipped.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import ssl
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from testkit.jina_stand_in import TEST_JINA_KEY, JinaStandIn

JINA_HOST = "api.jina.ai"
_ADDRESS_CANDIDATES = ("127.0.0.1", *(f"127.0.53.{n}" for n in range(1, 21)))
_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


class NamespaceUnavailable(RuntimeError):
    """The mount-namespace setup cannot work on this machine (the message says why)."""


class ServerSideJina(NamedTuple):
    """What :func:`server_side_jina` yields; unpacks as ``(endpoint, stand_in)``."""

    endpoint: Any  # weaviate_local.server.WeaviateEndpoint: .host, .http_port, .grpc_port, .url
    stand_in: JinaStandIn
    ca_pem: Path  # the test CA, for clients outside the namespace that want to call the stand-in over HTTPS


def _namespace_command(hosts_file: Path) -> list[str]:
    """The command prefix that runs the rest of the argv with ``hosts_file`` bind-mounted over /etc/hosts."""
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        'mount --bind "$0" /etc/hosts && exec "$@"',
        str(hosts_file),
    ]


def check_namespace_support(workdir: Path | None = None) -> None:
    """Raise :class:`NamespaceUnavailable` unless ``unshare --mount`` + a bind mount over /etc/hosts works."""
    if os.geteuid() != 0:
        raise NamespaceUnavailable("server-side Jina tests need root (unshare --mount and port 443)")
    if shutil.which("unshare") is None:
        raise NamespaceUnavailable("`unshare` (util-linux) is not installed")
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        hosts = Path(tmp) / "hosts"
        hosts.write_text("127.0.0.1 localhost\n192.0.2.1 namespace-probe.invalid\n")
        try:
            proc = subprocess.run(
                [*_namespace_command(hosts), "cat", "/etc/hosts"],
                capture_output=True,
                text=True,
                timeout=20,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise NamespaceUnavailable(f"unshare --mount failed to run: {exc}") from exc
        if proc.returncode != 0 or "namespace-probe.invalid" not in proc.stdout:
            raise NamespaceUnavailable(
                "unshare --mount + bind mount over /etc/hosts refused "
                f"(rc={proc.returncode}): {proc.stderr.strip()}"
            )
    if "namespace-probe.invalid" in Path("/etc/hosts").read_text():
        raise NamespaceUnavailable("the bind mount leaked out of the namespace; refusing to continue")


def _start_stand_in_on_443(api_key: str, ctx: ssl.SSLContext) -> JinaStandIn:
    errors: list[str] = []
    for address in _ADDRESS_CANDIDATES:
        stand_in = JinaStandIn(api_key=api_key, host=address, port=443, ssl_context=ctx)
        try:
            return stand_in.start()
        except OSError as exc:
            errors.append(f"{address}:443: {exc.strerror or exc}")
            if exc.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL):
                break
    raise NamespaceUnavailable("cannot bind the Jina stand-in to port 443: " + "; ".join(errors))


def _hosts_file(path: Path, address: str) -> None:
    try:
        base = Path("/etc/hosts").read_text()
    except OSError:
        base = "127.0.0.1 localhost\n"
    kept = [line for line in base.splitlines() if JINA_HOST not in line.split("#", 1)[0].split()[1:]]
    path.write_text("\n".join([*kept, f"{address} {JINA_HOST}", ""]))


class JinaOverride(NamedTuple):
    """What :func:`jina_override` yields: how to start a server process whose ``api.jina.ai`` is the stand-in."""

    wrapper: list[str]  # command prefix: own mount namespace with the hosts file bound over /etc/hosts
    env: dict[str, str]  # test CA only, no proxies, empty JINAAI_APIKEY, short module timeout
    stand_in: JinaStandIn
    ca_pem: Path


@contextlib.contextmanager
def jina_override(
    stand_in_key: str = TEST_JINA_KEY,
    *,
    modules_client_timeout: str = "10s",
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[JinaOverride]:
    """Steps 1–3 above: a running HTTPS stand-in for ``api.jina.ai`` and the wrapper + env that make a
    server process (or several, e.g. every node of a cluster) reach it. Stops the stand-in on exit."""
    import trustme

    with tempfile.TemporaryDirectory(prefix="rp-jina-override-") as tmp_str:
        tmp = Path(tmp_str)
        check_namespace_support(tmp)

        ca = trustme.CA()
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(JINA_HOST).configure_cert(server_ctx)
        certs = tmp / "certs"
        certs.mkdir()
        ca_pem = certs / "test-ca.pem"
        ca.cert_pem.write_to_path(str(ca_pem))

        stand_in = _start_stand_in_on_443(stand_in_key, server_ctx)
        try:
            hosts = tmp / "hosts"
            _hosts_file(hosts, stand_in.host)
            env = {
                "ENABLE_MODULES": "reranker-jinaai,text2vec-jinaai",
                "SSL_CERT_FILE": str(ca_pem),
                "SSL_CERT_DIR": str(certs),
                "JINAAI_APIKEY": "",
                "MODULES_CLIENT_TIMEOUT": modules_client_timeout,
                "NO_PROXY": "",
                "no_proxy": "",
                **{name: "" for name in _PROXY_VARS},
                **dict(extra_env or {}),
            }
            yield JinaOverride(_namespace_command(hosts), env, stand_in, ca_pem)
        finally:
            stand_in.stop()


@contextlib.contextmanager
def server_side_jina(
    stand_in_key: str = TEST_JINA_KEY,
    *,
    modules_client_timeout: str = "10s",
    extra_env: Mapping[str, str] | None = None,
    log_path: str | os.PathLike[str] | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
    ready_timeout: float = 180.0,
) -> Iterator[ServerSideJina]:
    """Run a fresh Weaviate (own data dir, free ports) whose ``api.jina.ai`` is the local stand-in.

    Yields ``ServerSideJina(endpoint, stand_in, ca_pem)``; stops both on exit. The module client timeout is
    short (``modules_client_timeout``) so hang faults fail within a test's patience.
    """
    from weaviate_local.server import start_weaviate

    with (
        jina_override(stand_in_key, modules_client_timeout=modules_client_timeout, extra_env=extra_env) as override,
        tempfile.TemporaryDirectory(prefix="rp-server-side-jina-") as tmp,
        start_weaviate(
            data_dir=Path(tmp) / "data",
            env=override.env,
            wrapper=override.wrapper,
            log_path=Path(log_path) if log_path is not None else None,
            progress=progress,
            ready_timeout=ready_timeout,
        ) as proc,
    ):
        yield ServerSideJina(proc.endpoint, override.stand_in, override.ca_pem)
