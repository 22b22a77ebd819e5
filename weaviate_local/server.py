"""Find, build and run a local ``weaviate-server`` for the demo and the tests.

The pinned version lives in one place, :data:`WEAVIATE_VERSION`. A binary is found in this order
(:func:`find_binary`):

1. ``WEAVIATE_BINARY`` — a path you built or downloaded yourself;
2. the project cache, ``$RERANK_PLAYGROUND_CACHE`` or ``~/.cache/rerank-playground``
   (``weaviate/<version>/bin/weaviate-server``);
3. ``go install github.com/weaviate/weaviate/cmd/weaviate-server@v<version>`` into that cache
   (needs Go and a C compiler; takes several minutes the first time).

:func:`ensure_weaviate` first reuses a Weaviate that already answers (``WEAVIATE_URL`` or the default
port), and as a last resort downloads the release binary the way weaviate-client's embedded mode does.

:func:`start_weaviate` runs the server on 127.0.0.1 with its own data folder, free ports for everything
it listens on, a log file, API-key authentication on and anonymous access off (the key is made once per
install, see :func:`local_api_key`: gRPC and the cluster data port listen on all interfaces), and waits
(by polling ``/v1/.well-known/ready``) until it answers. The server
runs in its own process group, which :meth:`WeaviateProcess.stop` terminates (then kills); an ``atexit``
hook and a SIGTERM handler stop every server still running when the interpreter goes away.

Nothing here imports streamlit.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from rerank_playground.errors import LauncherError
from rerank_playground.local_weaviate import api_key_path, cache_root, read_local_api_key
from rerank_playground.rerankers.model_catalog import JINA_RERANKER_MODULE

WEAVIATE_VERSION = "1.38.11"
WEAVIATE_GO_PACKAGE = "github.com/weaviate/weaviate/cmd/weaviate-server"
BINARY_NAME = "weaviate-server"
LOOPBACK = "127.0.0.1"
READY_PATH = "/v1/.well-known/ready"
NODE_NAME = "node1"
# The server-side Jina modules this project exercises. API-based modules are on by default in 1.38
# (unless API_BASED_MODULES_DISABLED=true); listing them makes that independent of the default.
ENABLED_MODULES = ("text2vec-jinaai", JINA_RERANKER_MODULE)
# Variables weaviate-server reads as command-line defaults; a stray one would move the listener.
STRIPPED_ENV = (
    "HOST",
    "PORT",
    "TLS_HOST",
    "TLS_PORT",
    "TLS_CERTIFICATE",
    "TLS_PRIVATE_KEY",
    "TLS_CA_CERTIFICATE",
)

Progress = Callable[[str], None]


# --------------------------------------------------------------------------------------------- paths


def weaviate_home(version: str = WEAVIATE_VERSION) -> Path:
    return cache_root() / "weaviate" / version


def cached_binary_path(version: str = WEAVIATE_VERSION) -> Path:
    """Where ``go install`` puts the pinned server (``GOBIN``)."""
    return weaviate_home(version) / "bin" / BINARY_NAME


def build_log_path(version: str = WEAVIATE_VERSION) -> Path:
    return weaviate_home(version) / "build.log"


def demo_data_dir() -> Path:
    """The persistent data folder used by :func:`ensure_weaviate` (survives restarts)."""
    return cache_root() / "weaviate" / "data"


def local_api_key() -> str:
    """The per-install key of the local Weaviate servers, made on first use: random, readable by this user only."""
    path = api_key_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        existing = read_local_api_key()
        if existing:
            return existing
        raise LauncherError(
            f"{path} is empty or unreadable.", hint="Delete it: a new key is made on the next start."
        ) from None
    key = "rp-" + secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key


def auth_env(api_key: str) -> dict[str, str]:
    """Server settings: only requests bearing ``api_key`` get in (checked against 1.38's usecases/config)."""
    return {
        "AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED": "false",
        "AUTHENTICATION_APIKEY_ENABLED": "true",
        "AUTHENTICATION_APIKEY_ALLOWED_KEYS": api_key,
        "AUTHENTICATION_APIKEY_USERS": "playground",
    }


def _server_api_key(env: Mapping[str, str]) -> str | None:
    """The key a client needs for a server started with ``env`` (None when it allows anonymous access)."""
    if env.get("AUTHENTICATION_APIKEY_ENABLED", "").lower() != "true":
        return None
    return env.get("AUTHENTICATION_APIKEY_ALLOWED_KEYS", "").split(",")[0].strip() or None


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK) and path.stat().st_size > 0


# ------------------------------------------------------------------------------------ find / build


def find_binary(progress: Progress = print, build: bool = True) -> Path:
    """Return a runnable ``weaviate-server``: ``WEAVIATE_BINARY``, then the cache, then ``go install``.

    Raises :class:`LauncherError` with what to do next when none can be had.
    """
    env_path = os.environ.get("WEAVIATE_BINARY")
    if env_path:
        path = Path(env_path).expanduser()
        if not _is_executable(path):
            raise LauncherError(
                f"WEAVIATE_BINARY points to {path}, which is not an executable file.",
                hint="Fix the path, or unset WEAVIATE_BINARY to use the project's own build.",
            )
        return path
    cached = cached_binary_path()
    if _is_executable(cached):
        return cached
    if not build:
        raise LauncherError(
            f"No weaviate-server {WEAVIATE_VERSION} found (looked at WEAVIATE_BINARY and {cached}).",
            hint="Build it once with `weaviate-local build` (or `make weaviate-build`), "
            "or set WEAVIATE_BINARY to an existing weaviate-server binary.",
        )
    return build_binary(progress=progress)


def go_executable() -> str | None:
    found = shutil.which("go")
    if found:
        return found
    for candidate in ("/usr/local/go/bin/go", str(Path.home() / "go" / "bin" / "go")):
        if _is_executable(Path(candidate)):
            return candidate
    return None


def go_install_command(go: str = "go", version: str = WEAVIATE_VERSION) -> list[str]:
    return [go, "install", "-v", f"{WEAVIATE_GO_PACKAGE}@v{version}"]


def go_install_env(gobin: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env["GOBIN"] = str(gobin)
    env["CGO_ENABLED"] = "1"
    return env


@contextlib.contextmanager
def _build_lock(home: Path, progress: Progress) -> Iterator[None]:
    """One build per cache at a time, across processes (a second caller waits, then reuses it)."""
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "build.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress("Another process is building weaviate-server right now; waiting for it to finish...")
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build_binary(progress: Progress = print, version: str = WEAVIATE_VERSION) -> Path:
    """``go install`` the pinned server into the cache and return its path.

    Go's output goes to ``build.log`` next to the binary; a progress line is printed every 30 s.
    """
    target = cached_binary_path(version)
    go = go_executable()
    if go is None:
        raise LauncherError(
            f"Cannot build weaviate-server {version}: the Go toolchain (`go`) is not installed.",
            hint="Install Go 1.26+ and a C compiler (e.g. `apt-get install gcc`), or set WEAVIATE_BINARY "
            "to a weaviate-server binary, or set WEAVIATE_URL to a running Weaviate.",
        )
    if shutil.which(os.environ.get("CC", "gcc")) is None and shutil.which("cc") is None:
        raise LauncherError(
            "Cannot build weaviate-server: no C compiler found (the official build uses cgo).",
            hint="Install one (e.g. `apt-get install gcc`), or set WEAVIATE_BINARY / WEAVIATE_URL.",
        )
    home = weaviate_home(version)
    with _build_lock(home, progress):
        if _is_executable(target):  # someone else finished it while we waited
            return target
        log_path = build_log_path(version)
        # Build into a staging GOBIN, then rename: a half-copied binary is never mistaken for a good one.
        staging = Path(tempfile.mkdtemp(prefix="gobin-", dir=home))
        cmd = go_install_command(go, version)
        progress(f"Building weaviate-server {version} with Go (`{' '.join(cmd[1:])}`).")
        progress(
            f"This takes several minutes the first time (it downloads and compiles Weaviate); log: {log_path}"
        )
        started = time.monotonic()
        try:
            with open(log_path, "w") as log:
                proc = subprocess.Popen(
                    cmd,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=go_install_env(staging),
                    cwd=home,
                )
                try:
                    next_note = started + 30.0
                    while proc.poll() is None:
                        with contextlib.suppress(subprocess.TimeoutExpired):
                            proc.wait(timeout=1.0)
                        if time.monotonic() >= next_note and proc.poll() is None:
                            last = _tail(log_path, 1).strip()
                            progress(
                                f"  ... still building ({_elapsed(started)})" + (f": {last}" if last else "")
                            )
                            next_note += 30.0
                except BaseException:
                    proc.kill()
                    proc.wait()
                    raise
            built = staging / BINARY_NAME
            if proc.returncode != 0 or not _is_executable(built):
                raise LauncherError(
                    f"Building weaviate-server {version} failed (go exited with {proc.returncode}). "
                    f"Last lines of {log_path}:\n{_tail(log_path, 15)}",
                    hint="Weaviate needs Go 1.26+ and a C compiler; check the log, or set WEAVIATE_BINARY.",
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(built, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    progress(f"Built {target} in {_elapsed(started)}.")
    return target


def download_embedded_binary(progress: Progress = print, version: str = WEAVIATE_VERSION) -> Path:
    """Last resort: fetch the release binary the way weaviate-client's embedded mode does.

    Uses ``weaviate.embedded.EmbeddedV4`` only for its download and cache (``~/.cache/weaviate-embedded``
    or ``$XDG_CACHE_HOME``); the server is then run by :func:`start_weaviate` like any other binary.
    """
    from weaviate.embedded import EmbeddedOptions, EmbeddedV4

    progress(
        f"No Go toolchain and no weaviate-server binary: downloading the Weaviate {version} release "
        "from GitHub (weaviate-client embedded mode)..."
    )
    with tempfile.TemporaryDirectory(prefix="weaviate-embedded-") as scratch:
        try:
            embedded = EmbeddedV4(EmbeddedOptions(persistence_data_path=scratch, version=version))
            embedded.ensure_weaviate_binary_exists()
            path = Path(embedded._weaviate_binary_path)
        except Exception as exc:  # network, GitHub, unexpected archive, ...
            raise LauncherError(
                f"Could not download the Weaviate {version} release binary ({type(exc).__name__}: {exc}).",
                hint="Install Go 1.26+ and run `weaviate-local build`, or set WEAVIATE_BINARY "
                "to a weaviate-server binary, or WEAVIATE_URL to a running Weaviate.",
            ) from exc
    if not _is_executable(path):
        raise LauncherError(f"The embedded download did not produce an executable at {path}.")
    progress(f"Using the downloaded binary {path}.")
    return path


# ------------------------------------------------------------------------------------------- ports


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class ServerPorts:
    """Everything a single node listens on. ``data = gossip + 1`` and ``raft_rpc = raft + 1`` are the
    server's own conventions (with CLUSTER_IN_LOCALHOST it dials raft+1 whatever is configured)."""

    http: int
    grpc: int
    gossip: int
    raft: int

    @property
    def data(self) -> int:
        return self.gossip + 1

    @property
    def raft_rpc(self) -> int:
        return self.raft + 1

    def all(self) -> tuple[int, ...]:
        return (self.http, self.grpc, self.gossip, self.data, self.raft, self.raft_rpc)


def pick_ports(
    http_port: int | None = None, grpc_port: int | None = None, host: str = "0.0.0.0"
) -> ServerPorts:
    """Choose distinct free ports (holding them all while choosing); given ports are kept as they are.

    They are held on all interfaces because gRPC and the cluster data port listen there.
    """
    with contextlib.ExitStack() as held:
        taken: set[int] = {p for p in (http_port, grpc_port) if p}

        def hold(port: int = 0) -> int | None:
            s = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            try:
                s.bind((host, port))
            except OSError:
                return None
            got = int(s.getsockname()[1])
            if got in taken:
                return None
            taken.add(got)
            return got

        def hold_single() -> int:
            for _ in range(50):
                got = hold()
                if got is not None:
                    return got
            raise LauncherError("Could not find a free TCP port on 127.0.0.1.")

        def hold_pair() -> int:
            for _ in range(50):
                first = hold()
                if first is not None and first < 65535 and first + 1 not in taken and hold(first + 1):
                    return first
            raise LauncherError("Could not find two consecutive free TCP ports on 127.0.0.1.")

        http = http_port or hold_single()
        grpc = grpc_port or hold_single()
        gossip = hold_pair()
        raft = hold_pair()
    return ServerPorts(http=http, grpc=grpc, gossip=gossip, raft=raft)


def port_is_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# ------------------------------------------------------------------------------------ env / command


def build_server_env(
    ports: ServerPorts,
    data_dir: Path,
    *,
    base: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
    node_name: str = NODE_NAME,
    api_key: str | None = None,
) -> dict[str, str]:
    """The environment of a fast single-node server on loopback.

    Starts from ``base`` (default ``os.environ``) minus the variables the server would read as its
    listen address, adds the single-node settings and API-key auth with ``api_key`` (default: the
    per-install :func:`local_api_key`), then ``extra`` (which wins, e.g. SSL_CERT_FILE, JINAAI_APIKEY,
    ENABLE_MODULES).
    """
    env = {k: v for k, v in (os.environ if base is None else base).items() if k not in STRIPPED_ENV}
    env.update(
        {
            "PERSISTENCE_DATA_PATH": str(data_dir),
            **auth_env(api_key or local_api_key()),
            "DEFAULT_VECTORIZER_MODULE": "none",
            "ENABLE_MODULES": ",".join(ENABLED_MODULES),
            "CLUSTER_HOSTNAME": node_name,
            "CLUSTER_IN_LOCALHOST": "true",
            # Gossip and raft on loopback only (gRPC and the cluster data port always bind all interfaces).
            "CLUSTER_BIND_ADDR": LOOPBACK,
            "CLUSTER_ADVERTISE_ADDR": LOOPBACK,
            "CLUSTER_GOSSIP_BIND_PORT": str(ports.gossip),
            "CLUSTER_DATA_BIND_PORT": str(ports.data),
            "GRPC_PORT": str(ports.grpc),
            "RAFT_PORT": str(ports.raft),
            "RAFT_INTERNAL_RPC_PORT": str(ports.raft_rpc),
            "RAFT_JOIN": f"{node_name}:{ports.raft}",
            "RAFT_BOOTSTRAP_EXPECT": "1",
            # A lone node elects itself after the heartbeat timeout (5 s by default): 1x halves start-up.
            "RAFT_TIMEOUTS_MULTIPLIER": "1",
            "DISABLE_TELEMETRY": "true",
            "GO_PROFILING_DISABLE": "true",
            "PROMETHEUS_MONITORING_ENABLED": "false",
            "QUERY_DEFAULTS_LIMIT": "25",
        }
    )
    if extra:
        env.update(extra)
    return env


def server_command(
    binary: Path | str, http_port: int, wrapper: Sequence[str] = (), host: str = LOOPBACK
) -> list[str]:
    return [*wrapper, str(binary), "--scheme", "http", "--host", host, "--port", str(http_port)]


# -------------------------------------------------------------------------------------- readiness


def is_ready(url: str, timeout: float = 1.0) -> bool:
    """True when ``GET <url>/v1/.well-known/ready`` answers 200 (proxies from the environment ignored)."""
    try:
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            return client.get(url.rstrip("/") + READY_PATH).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass(frozen=True)
class WeaviateEndpoint:
    host: str
    http_port: int
    grpc_port: int
    managed: bool
    api_key: str | None = field(default=None, repr=False, compare=False)  # None: anonymous access

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.http_port}"


# --------------------------------------------------------------------------------------- process

_LIVE: set[WeaviateProcess] = set()
_LIVE_LOCK = threading.Lock()
_HOOKS_INSTALLED = False


def _stop_all() -> None:
    with _LIVE_LOCK:
        live = list(_LIVE)
    for proc in live:
        with contextlib.suppress(Exception):
            proc.stop()


def _install_hooks() -> None:
    """atexit always; SIGTERM only from the main thread, chaining to any handler already there."""
    global _HOOKS_INSTALLED
    if _HOOKS_INSTALLED:
        return
    _HOOKS_INSTALLED = True
    atexit.register(_stop_all)
    if threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        _stop_all()
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_sigterm)


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class WeaviateProcess:
    """A running ``weaviate-server`` started by :func:`start_weaviate`. Use as a context manager."""

    def __init__(
        self,
        popen: subprocess.Popen[bytes],
        endpoint: WeaviateEndpoint,
        log_path: Path,
        data_dir: Path,
        *,
        cleanup: Sequence[Path] = (),
    ) -> None:
        self._popen = popen
        self.endpoint = endpoint
        self.log_path = log_path
        self.data_dir = data_dir
        self._cleanup = tuple(cleanup)
        self.state_path: Path | None = None  # set by write_state(); removed on stop
        self._stopped = False
        self._lock = threading.Lock()
        with _LIVE_LOCK:
            _LIVE.add(self)

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        return self._popen.poll()

    @property
    def running(self) -> bool:
        return self._popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        return _tail(self.log_path, lines)

    def wait(self, timeout: float | None = None) -> int:
        return self._popen.wait(timeout=timeout)

    def release(self) -> None:
        """Let the server outlive this interpreter (no atexit/SIGTERM stop); ``stop()`` still works."""
        with _LIVE_LOCK:
            _LIVE.discard(self)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the server's process group, SIGKILL it after ``timeout`` s. Safe to call twice."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            try:
                self._signal_group(signal.SIGTERM)
                try:
                    self._popen.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self._signal_group(signal.SIGKILL)
                    self._popen.wait(timeout=10)
                # Wrapper scripts may leave children behind in the group: make sure they are gone too.
                self._signal_group(signal.SIGKILL)
            finally:
                with _LIVE_LOCK:
                    _LIVE.discard(self)
                for path in self._cleanup:
                    shutil.rmtree(path, ignore_errors=True)
                if self.state_path is not None:
                    self.state_path.unlink(missing_ok=True)

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._popen.pid, sig)  # start_new_session: the group id is the child's pid

    def __enter__(self) -> WeaviateProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else f"exited({self.returncode})"
        ep = self.endpoint
        return f"WeaviateProcess(pid={self.pid}, url={ep.url}, grpc={ep.grpc_port}, {state})"


def start_weaviate(
    *,
    http_port: int | None = None,
    grpc_port: int | None = None,
    data_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    wrapper: Sequence[str] = (),
    log_path: Path | None = None,
    progress: Progress = print,
    ready_timeout: float = 120.0,
    binary: Path | None = None,
    detach: bool = False,
) -> WeaviateProcess:
    """Start ``weaviate-server`` on 127.0.0.1 and return once it is ready.

    ``None`` ports are picked free. ``data_dir=None`` uses a temporary folder removed on stop.
    ``env`` adds/overrides server variables; ``wrapper`` is a command prefix (e.g. ``unshare ...``).
    ``binary`` defaults to :func:`find_binary`. Raises :class:`LauncherError` (with the last log lines)
    if the server exits or is not ready within ``ready_timeout`` seconds.

    By default the server dies with this interpreter (atexit, SIGTERM, and PR_SET_PDEATHSIG when
    started from the main thread). ``detach=True`` lets it run on (see :func:`stop_recorded`).
    """
    if binary is None:
        binary = find_binary(progress=progress)
    attempts = 3  # the gossip and raft ports are always picked free, and can be taken meanwhile
    for attempt in range(1, attempts + 1):
        try:
            return _start_once(
                binary=binary,
                http_port=http_port,
                grpc_port=grpc_port,
                data_dir=data_dir,
                env=env,
                wrapper=wrapper,
                log_path=log_path,
                progress=progress,
                ready_timeout=ready_timeout,
                detach=detach,
            )
        except _PortRace as race:
            if attempt == attempts:
                raise race.error from None
            progress("A port was taken while Weaviate started; retrying with other ports...")
    raise AssertionError("unreachable")


class _PortRace(Exception):
    def __init__(self, error: LauncherError) -> None:
        self.error = error


def _start_once(
    *,
    binary: Path,
    http_port: int | None,
    grpc_port: int | None,
    data_dir: Path | None,
    env: Mapping[str, str] | None,
    wrapper: Sequence[str],
    log_path: Path | None,
    progress: Progress,
    ready_timeout: float,
    detach: bool,
) -> WeaviateProcess:
    for port in (http_port, grpc_port):
        if port and port_is_open(LOOPBACK, port):
            raise LauncherError(
                f"Port {port} on 127.0.0.1 is already in use, so Weaviate cannot listen there.",
                hint="Stop whatever uses it (`weaviate-local status` tells if it is a Weaviate), "
                "or choose other ports.",
            )
    ports = pick_ports(http_port, grpc_port)
    cleanup: list[Path] = []
    if data_dir is None:
        root = Path(tempfile.mkdtemp(prefix="weaviate-"))
        cleanup.append(root)
        data_dir = root / "data"
        if log_path is None:
            log_path = root / "weaviate.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    if log_path is None:
        log_path = cache_root() / "weaviate" / "logs" / f"weaviate-{ports.http}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)

    server_env = build_server_env(ports, data_dir, extra=env)
    endpoint = WeaviateEndpoint(host=LOOPBACK, http_port=ports.http, grpc_port=ports.grpc, managed=True,
                                api_key=_server_api_key(server_env))
    cmd = server_command(binary, ports.http, wrapper)
    progress(f"Starting Weaviate {WEAVIATE_VERSION} at {endpoint.url} (gRPC {ports.grpc}); log: {log_path}")
    _install_hooks()
    started = time.monotonic()
    die_with_parent = (
        not detach and threading.current_thread() is threading.main_thread() and sys.platform == "linux"
    )
    with open(log_path, "ab") as log:
        popen = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=server_env,
            start_new_session=True,
            # PR_SET_PDEATHSIG follows the creating *thread*: only safe from the main thread.
            preexec_fn=_die_with_parent if die_with_parent else None,
        )
    proc = WeaviateProcess(popen, endpoint, log_path, data_dir, cleanup=cleanup)
    try:
        _wait_ready(proc, ready_timeout)
    except LauncherError as err:
        tail = proc.log_tail(40)
        proc.stop()
        if "address already in use" in tail:
            raise _PortRace(err) from None
        raise
    except BaseException:
        proc.stop()
        raise
    if detach:
        proc.release()
    progress(f"Weaviate is ready at {endpoint.url} after {time.monotonic() - started:.1f}s.")
    return proc


def _wait_ready(proc: WeaviateProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.05
    url = proc.endpoint.url
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while True:
            if not proc.running:
                raise LauncherError(
                    f"weaviate-server exited with code {proc.returncode} before it was ready. "
                    f"Last lines of {proc.log_path}:\n{proc.log_tail(25)}",
                    hint="Check the log above; a port in use or an unreadable data folder are usual causes.",
                )
            try:
                if client.get(url + READY_PATH).status_code == 200 and port_is_open(
                    proc.endpoint.host, proc.endpoint.grpc_port
                ):
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() >= deadline:
                raise LauncherError(
                    f"weaviate-server did not become ready at {url} within {timeout:.0f}s. "
                    f"Last lines of {proc.log_path}:\n{proc.log_tail(25)}",
                    hint="The machine may be busy; try again with a longer timeout, or read the full log.",
                )
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=delay)  # poll: returns at once if the server exits
            delay = min(delay * 1.5, 0.5)


# ---------------------------------------------------------------------------------------- ensure


def endpoint_from_url(
    url: str, grpc_port: int, managed: bool = False, api_key: str | None = None
) -> WeaviateEndpoint:
    """``api_key`` defaults to ``WEAVIATE_API_KEY``, else (for a Weaviate on this machine) the per-install key."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if not parts.hostname:
        raise LauncherError(
            f"Cannot read a host from WEAVIATE_URL={url!r}.", hint="Use e.g. http://127.0.0.1:8080."
        )
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if api_key is None:
        api_key = os.environ.get("WEAVIATE_API_KEY") or (
            read_local_api_key() if parts.hostname in (LOOPBACK, "localhost", "::1") else None
        )
    return WeaviateEndpoint(host=parts.hostname, http_port=port, grpc_port=grpc_port, managed=managed,
                            api_key=api_key)


def ensure_weaviate(
    http_port: int = 8080, grpc_port: int = 50051, progress: Progress = print, *, detach: bool = False
) -> tuple[WeaviateEndpoint, WeaviateProcess | None]:
    """A ready Weaviate for the demo: reuse one that answers, else start the pinned build.

    Order: ``WEAVIATE_URL`` (must answer) or ``http://127.0.0.1:<http_port>`` if it already answers
    (``managed=False``, gRPC port from ``WEAVIATE_GRPC_PORT`` or ``grpc_port``); else
    :func:`find_binary` and :func:`start_weaviate` with the persistent :func:`demo_data_dir`; if there is
    neither Go nor a binary, the weaviate-client embedded download. The caller stops the returned process
    (unless ``detach=True``); a server started here is recorded in :func:`state_file` for
    ``weaviate-local status|stop``.
    """
    grpc_env = os.environ.get("WEAVIATE_GRPC_PORT")
    try:
        reuse_grpc = int(grpc_env) if grpc_env else grpc_port
    except ValueError:
        raise LauncherError(f"WEAVIATE_GRPC_PORT={grpc_env!r} is not a port number.") from None
    url = os.environ.get("WEAVIATE_URL")
    if url:
        endpoint = endpoint_from_url(url, reuse_grpc)
        if is_ready(url if "://" in url else f"http://{url}", timeout=3.0):
            progress(f"Using the Weaviate at {url} (WEAVIATE_URL).")
            return endpoint, None
        raise LauncherError(
            f"WEAVIATE_URL={url} does not answer {READY_PATH}.",
            hint="Start that Weaviate, or unset WEAVIATE_URL to let the playground run its own.",
        )
    local = WeaviateEndpoint(host=LOOPBACK, http_port=http_port, grpc_port=reuse_grpc, managed=False,
                             api_key=read_local_api_key())
    if port_is_open(LOOPBACK, http_port):
        # Something listens: a Weaviate (maybe still starting) or another program.
        deadline = time.monotonic() + 60.0
        while not is_ready(local.url):
            if time.monotonic() >= deadline:
                raise LauncherError(
                    f"Port {http_port} is in use, but not by a Weaviate that answers {READY_PATH}.",
                    hint="Stop that program, or pick another port "
                    "(`weaviate-local ensure --http-port N`).",
                )
            time.sleep(0.5)  # polling a server that is still starting
        progress(f"Using the Weaviate already running at {local.url}.")
        return local, None
    try:
        binary = find_binary(progress=progress)
    except LauncherError as err:
        if go_executable() is not None or os.environ.get("WEAVIATE_BINARY"):
            raise  # a real build failure or a bad path: say so rather than download something else
        progress(err.message)
        binary = download_embedded_binary(progress=progress)
    proc = start_weaviate(
        http_port=http_port,
        grpc_port=grpc_port,
        data_dir=demo_data_dir(),
        log_path=cache_root() / "weaviate" / "weaviate.log",
        progress=progress,
        binary=binary,
        detach=detach,
    )
    write_state(proc)
    return proc.endpoint, proc


# ------------------------------------------------------------------------ a server started earlier


def state_file() -> Path:
    """Where :func:`ensure_weaviate` records the server it started (pid, ports, paths)."""
    return cache_root() / "weaviate" / "server.json"


def write_state(proc: WeaviateProcess) -> None:
    path = state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    ep = proc.endpoint
    state = {
        "pid": proc.pid,
        "url": ep.url,
        "http_port": ep.http_port,
        "grpc_port": ep.grpc_port,
        "data_dir": str(proc.data_dir),
        "log_path": str(proc.log_path),
        "version": WEAVIATE_VERSION,
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    os.replace(tmp, path)
    proc.state_path = path


def _is_weaviate_pid(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: fall back to "some process has that pid"
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True
    return b"weaviate" in cmdline


def read_state() -> dict[str, Any] | None:
    """The recorded server if it is still running, else ``None`` (a stale record is removed)."""
    path = state_file()
    try:
        state: dict[str, Any] = json.loads(path.read_text())
        pid = int(state["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if _is_weaviate_pid(pid):
        return state
    path.unlink(missing_ok=True)
    return None


def stop_recorded(progress: Progress = print, timeout: float = 20.0) -> bool:
    """Stop the server recorded by :func:`ensure_weaviate` (SIGTERM its group, then SIGKILL).

    Returns False when there is none running.
    """
    state = read_state()
    if state is None:
        return False
    pid = int(state["pid"])
    progress(f"Stopping Weaviate pid {pid} at {state.get('url')}...")
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    delay = 0.05
    while _is_weaviate_pid(pid) and not _is_zombie(pid):
        if time.monotonic() >= deadline:
            progress("It did not stop in time; killing it.")
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            break
        time.sleep(delay)  # polling another process's exit
        delay = min(delay * 1.5, 0.5)
    state_file().unlink(missing_ok=True)
    progress("Stopped.")
    return True


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


# ----------------------------------------------------------------------------------------- helpers


def _tail(path: Path, lines: int) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def _elapsed(started: float) -> str:
    seconds = int(time.monotonic() - started)
    return f"{seconds // 60}m{seconds % 60:02d}s"
