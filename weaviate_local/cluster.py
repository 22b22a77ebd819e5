"""Run an N-node cluster of the pinned ``weaviate-server`` on 127.0.0.1 (for the tests and the benchmarks).

Reuses :mod:`weaviate_local.server` for the binary, the port layout (:class:`ServerPorts`), the
single-node environment and the process handling; adds what a cluster needs on one machine. Ports are
picked outside the ephemeral range, so a node can always get its own back when it restarts.

The variable names and their meaning were checked against ``usecases/config/environment.go`` and
``adapters/handlers/rest/configure_api.go`` of Weaviate v1.38.11:

- ``CLUSTER_HOSTNAME`` — the node's name (memberlist and raft id).
- ``CLUSTER_GOSSIP_BIND_PORT`` / ``CLUSTER_DATA_BIND_PORT`` — memberlist and node-to-node data ports; each
  node gossips its data port in its metadata, so every node can have its own.
- ``CLUSTER_JOIN`` — comma-separated gossip addresses to join; here every *other* node, so any node
  (the first one too) can be restarted and find the cluster again.
- ``CLUSTER_IN_LOCALHOST=true`` — several nodes on one host: raft addresses are resolved per node from
  ``RAFT_JOIN``'s ports, and the internal raft RPC port of a node is its raft port + 1.
- ``RAFT_PORT`` / ``RAFT_INTERNAL_RPC_PORT`` — raft transport and the internal RPC (= raft + 1, see above).
- ``RAFT_JOIN`` — ``name:raftport`` of every node; the first ``RAFT_BOOTSTRAP_EXPECT`` entries are voters.
- ``RAFT_BOOTSTRAP_EXPECT`` — how many voters must meet before the cluster elects a leader (N here).

A node is ready when ``/v1/.well-known/ready`` answers and its gRPC port is open; the cluster is ready when
every node's ``GET /v1/nodes`` lists all N nodes as ``HEALTHY``. Nothing here imports streamlit.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

from rerank_playground.errors import LauncherError
from weaviate_local.server import (
    LOOPBACK,
    READY_PATH,
    WEAVIATE_VERSION,
    Progress,
    ServerPorts,
    WeaviateEndpoint,
    WeaviateProcess,
    _die_with_parent,
    _install_hooks,
    build_server_env,
    find_binary,
    local_api_key,
    port_is_open,
    server_command,
)

NODES_PATH = "/v1/nodes"
HEALTHY = "HEALTHY"


@dataclass(frozen=True)
class ClusterNode:
    """One node's fixed identity: its name, ports and folders stay the same across restarts."""

    name: str
    ports: ServerPorts
    data_dir: Path
    log_path: Path

    @property
    def endpoint(self) -> WeaviateEndpoint:
        return WeaviateEndpoint(host=LOOPBACK, http_port=self.ports.http, grpc_port=self.ports.grpc, managed=True,
                                api_key=local_api_key())  # the nodes run with the launcher's API-key auth


def cluster_env(nodes: Sequence[ClusterNode], index: int) -> dict[str, str]:
    """The cluster variables of ``nodes[index]`` (added on top of the launcher's single-node environment)."""
    me = nodes[index]
    others = [n for i, n in enumerate(nodes) if i != index]
    return {
        "CLUSTER_HOSTNAME": me.name,
        "CLUSTER_IN_LOCALHOST": "true",
        "CLUSTER_GOSSIP_BIND_PORT": str(me.ports.gossip),
        "CLUSTER_DATA_BIND_PORT": str(me.ports.data),
        "CLUSTER_JOIN": ",".join(f"{LOOPBACK}:{n.ports.gossip}" for n in others),
        "RAFT_PORT": str(me.ports.raft),
        "RAFT_INTERNAL_RPC_PORT": str(me.ports.raft_rpc),
        "RAFT_JOIN": ",".join(f"{n.name}:{n.ports.raft}" for n in nodes),
        "RAFT_BOOTSTRAP_EXPECT": str(len(nodes)),
    }


def node_statuses(url: str, timeout: float = 5.0) -> dict[str, str]:
    """``GET <url>/v1/nodes`` as ``{node name: status}``; empty when that node does not answer."""
    headers = {"Authorization": f"Bearer {local_api_key()}"}  # the nodes require the per-install key
    try:
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            response = client.get(url.rstrip("/") + NODES_PATH, headers=headers)
        if response.status_code != 200:
            return {}
        return {str(n.get("name")): str(n.get("status")) for n in response.json().get("nodes") or []}
    except (httpx.HTTPError, ValueError):
        return {}


class WeaviateCluster:
    """A running cluster started by :func:`start_cluster`. Use as a context manager (stops every node)."""

    def __init__(
        self,
        nodes: Sequence[ClusterNode],
        *,
        binary: Path,
        env: Mapping[str, str] | None,
        wrapper: Sequence[str],
        progress: Progress,
        cleanup: Sequence[Path] = (),
    ) -> None:
        self.nodes = tuple(nodes)
        self._binary = binary
        self._env = dict(env or {})
        self._wrapper = tuple(wrapper)
        self._progress = progress
        self._cleanup = tuple(cleanup)
        self._procs: dict[str, WeaviateProcess] = {}
        self._lock = threading.Lock()

    # -- what is there ------------------------------------------------------------------------------

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.nodes)

    def node(self, name: str) -> ClusterNode:
        for node in self.nodes:
            if node.name == name:
                return node
        raise LauncherError(f"This cluster has no node {name!r} (it has {', '.join(self.names)}).")

    @property
    def endpoint(self) -> WeaviateEndpoint:
        """The first node: where a client connects unless it picks another node."""
        return self.nodes[0].endpoint

    def is_running(self, name: str) -> bool:
        proc = self._procs.get(name)
        return proc is not None and proc.running

    def pid(self, name: str) -> int | None:
        proc = self._procs.get(name)
        return proc.pid if proc is not None and proc.running else None

    def log_tail(self, name: str, lines: int = 30) -> str:
        proc = self._procs.get(name)
        return proc.log_tail(lines) if proc is not None else ""

    # -- starting -----------------------------------------------------------------------------------

    def _spawn(self, index: int) -> WeaviateProcess:
        node = self.nodes[index]
        node.data_dir.mkdir(parents=True, exist_ok=True)
        node.log_path.parent.mkdir(parents=True, exist_ok=True)
        for port in (node.ports.http, node.ports.grpc):
            if port_is_open(LOOPBACK, port):
                raise LauncherError(f"Port {port} of {node.name} is already in use, so it cannot start there.")
        env = build_server_env(
            node.ports, node.data_dir, node_name=node.name, extra={**self._env, **cluster_env(self.nodes, index)}
        )
        _install_hooks()
        # PR_SET_PDEATHSIG follows the creating *thread*: only safe from the main thread (as in the launcher).
        die_with_parent = threading.current_thread() is threading.main_thread() and sys.platform == "linux"
        with open(node.log_path, "ab") as log:
            popen = subprocess.Popen(
                server_command(self._binary, node.ports.http, self._wrapper),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
                preexec_fn=_die_with_parent if die_with_parent else None,
            )
        proc = WeaviateProcess(popen, node.endpoint, node.log_path, node.data_dir)
        self._procs[node.name] = proc
        return proc

    def _start_all(self, timeout: float) -> None:
        for index in range(len(self.nodes)):
            self._spawn(index)
        self.wait_healthy(timeout)

    def restart(self, name: str, timeout: float = 120.0) -> float:
        """Start a stopped or killed node again, with the same data folder and ports.

        Returns the seconds until every node reports every other one ``HEALTHY`` again.
        """
        if self.is_running(name):
            raise LauncherError(f"{name} is still running; kill or stop it before restarting it.")
        index = self.names.index(self.node(name).name)
        started = time.monotonic()
        self._progress(f"Restarting {name} with its data in {self.nodes[index].data_dir}")
        self._spawn(index)
        self.wait_healthy(timeout)
        return time.monotonic() - started

    # -- waiting ------------------------------------------------------------------------------------

    def wait_healthy(self, timeout: float = 120.0) -> None:
        """Until every running node is ready and lists every running node as ``HEALTHY``.

        Raises :class:`LauncherError` with the log tail when a node exits or time runs out.
        """
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            running = [n for n in self.nodes if n.name in self._procs]
            for node in running:
                proc = self._procs[node.name]
                if not proc.running:
                    raise LauncherError(
                        f"{node.name} of the Weaviate cluster exited with code {proc.returncode}. "
                        f"Last lines of {node.log_path}:\n{proc.log_tail(25)}",
                        hint="Check that log; a port in use or an unreadable data folder are usual causes.",
                    )
            expected = {n.name for n in running}
            if all(self._node_sees(node, expected) for node in running):
                return
            if time.monotonic() >= deadline:
                lagging = [n.name for n in running if not self._node_sees(n, expected)]
                raise LauncherError(
                    f"The Weaviate cluster did not become healthy within {timeout:.0f}s "
                    f"(not yet: {', '.join(lagging)}). Last lines of {lagging[0]}'s log:\n"
                    f"{self.log_tail(lagging[0], 25)}",
                    hint="The machine may be busy; try a longer timeout, or read the node logs.",
                )
            time.sleep(delay)  # polling servers that are still starting; exits are checked each round
            delay = min(delay * 1.5, 0.5)

    def _node_sees(self, node: ClusterNode, expected: set[str]) -> bool:
        url = node.endpoint.url
        try:
            with httpx.Client(timeout=2.0, trust_env=False) as client:
                if client.get(url + READY_PATH).status_code != 200:
                    return False
        except httpx.HTTPError:
            return False
        if not port_is_open(LOOPBACK, node.ports.grpc):
            return False
        statuses = node_statuses(url, timeout=5.0)
        return all(statuses.get(name) == HEALTHY for name in expected)

    def wait_reported_down(
        self, name: str, *, via: str | None = None, gone: bool = False, timeout: float = 120.0
    ) -> float:
        """Until ``via`` (default: the first running node) no longer reports ``name`` as ``HEALTHY`` — or,
        with ``gone``, no longer lists it at all (gossip declared it dead). Returns the seconds it took.
        """
        witness = self.node(via) if via else next(n for n in self.nodes if n.name != name and self.is_running(n.name))
        started = time.monotonic()
        delay = 0.05

        def still_there() -> bool:
            statuses = node_statuses(witness.endpoint.url)
            return name in statuses if gone else statuses.get(name) == HEALTHY

        while still_there():
            if time.monotonic() - started >= timeout:
                raise LauncherError(f"{witness.name} still lists {name} as {'a member' if gone else 'healthy'} "
                                    f"after {timeout:.0f}s.")
            time.sleep(delay)  # polling the node status the server reports
            delay = min(delay * 1.5, 0.5)
        return time.monotonic() - started

    # -- stopping -----------------------------------------------------------------------------------

    def kill(self, name: str) -> None:
        """SIGKILL one node (a crash: no shutdown work). Its data folder stays for :meth:`restart`."""
        self.node(name)
        proc = self._procs.get(name)
        if proc is None or not proc.running:
            raise LauncherError(f"{name} is not running.")
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # start_new_session: the group id is the node's pid
        proc.wait(timeout=30)
        proc.stop()  # reaps it and removes it from the launcher's atexit set
        del self._procs[name]

    def stop_node(self, name: str, timeout: float = 30.0) -> None:
        """Stop one node gracefully (SIGTERM, then SIGKILL after ``timeout``)."""
        proc = self._procs.pop(self.node(name).name, None)
        if proc is not None:
            proc.stop(timeout=timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every node at once (each waits for its own shutdown), then remove a temporary root."""
        with self._lock:
            procs = list(self._procs.values())
            if procs:
                with ThreadPoolExecutor(max_workers=len(procs)) as pool:
                    list(pool.map(lambda p: p.stop(timeout=timeout), procs))
            for path in self._cleanup:
                shutil.rmtree(path, ignore_errors=True)

    def __enter__(self) -> WeaviateCluster:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        states = ", ".join(f"{n.name}={'up' if self.is_running(n.name) else 'down'}" for n in self.nodes)
        return f"WeaviateCluster({self.endpoint.url}, {states})"


def _ephemeral_range() -> tuple[int, int]:
    """The range the OS takes source ports of outgoing connections from (Linux default 32768-60999)."""
    try:
        low, high = (int(v) for v in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


def _pick_cluster_ports(size: int) -> list[ServerPorts]:
    """Distinct free ports for every node, all outside the OS's ephemeral range.

    A node keeps its ports across a restart (the other nodes know them from RAFT_JOIN and gossip). While it is
    down, a port from the ephemeral range can be taken as the source port of any outgoing connection (the
    other nodes dial it constantly), and the restart then fails with "address already in use"; ports outside
    that range are never handed out that way. Each port is held (bound) until all are chosen.
    """
    low, high = _ephemeral_range()
    pool = range(10000, low - 1) if low - 10000 >= 2000 else range(high + 1, 65535)
    rng = random.SystemRandom()
    with contextlib.ExitStack() as held:

        def hold(port: int) -> bool:
            sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            try:
                sock.bind(("0.0.0.0", port))  # gRPC and the data port listen on all interfaces
            except OSError:
                return False
            return True

        taken: set[int] = set()

        def pick(pair: bool) -> int:
            for _ in range(200):
                port = rng.choice(pool)
                wanted = (port, port + 1) if pair else (port,)
                if not taken.intersection(wanted) and all(hold(p) for p in wanted):
                    taken.update(wanted)
                    return port
            raise LauncherError(f"Could not find free TCP ports between {pool.start} and {pool.stop} on 127.0.0.1.")

        return [ServerPorts(http=pick(False), grpc=pick(False), gossip=pick(True), raft=pick(True))
                for _ in range(size)]


def start_cluster(
    size: int = 3,
    *,
    root: Path | None = None,
    env: Mapping[str, str] | None = None,
    wrapper: Sequence[str] = (),
    binary: Path | None = None,
    progress: Progress = print,
    ready_timeout: float = 180.0,
    node_prefix: str = "node",
) -> WeaviateCluster:
    """Start ``size`` nodes of the pinned ``weaviate-server`` on 127.0.0.1 and return once all are healthy.

    Each node gets ``<root>/<name>/data`` and ``<root>/<name>/weaviate.log`` and its own free HTTP, gRPC,
    gossip, data, raft and raft-RPC ports. ``root=None`` uses a temporary folder removed on stop. ``env``
    adds server variables to every node (the cluster ones always win); ``wrapper`` prefixes every node's
    command (e.g. ``unshare ...``). Every node dies with this interpreter, like a launcher-started server.
    """
    if size < 1:
        raise LauncherError(f"A cluster needs at least one node, not {size}.")
    if binary is None:
        binary = find_binary(progress=progress)
    cleanup: list[Path] = []
    if root is None:
        root = Path(tempfile.mkdtemp(prefix="weaviate-cluster-"))
        cleanup.append(root)
    attempts = 3  # ports are picked free, and can be taken by someone else before a node binds them
    for attempt in range(1, attempts + 1):
        nodes = [
            ClusterNode(name=f"{node_prefix}{i}", ports=ports, data_dir=root / f"{node_prefix}{i}" / "data",
                        log_path=root / f"{node_prefix}{i}" / "weaviate.log")
            for i, ports in enumerate(_pick_cluster_ports(size), start=1)
        ]
        cluster = WeaviateCluster(nodes, binary=binary, env=env, wrapper=wrapper, progress=progress,
                                  cleanup=cleanup)
        progress(
            f"Starting a {size}-node Weaviate {WEAVIATE_VERSION} cluster: "
            + ", ".join(f"{n.name} {n.endpoint.url} (gRPC {n.ports.grpc})" for n in nodes)
        )
        started = time.monotonic()
        try:
            cluster._start_all(ready_timeout)
        except LauncherError:
            in_use = any("address already in use" in cluster.log_tail(n.name, 40) for n in nodes)
            cluster.stop()
            if in_use and attempt < attempts:
                for node in nodes:  # a fresh start: no half-made raft state from the failed attempt
                    shutil.rmtree(node.data_dir.parent, ignore_errors=True)
                progress("A port was taken while the cluster started; retrying with other ports...")
                continue
            raise
        except BaseException:
            cluster.stop()
            raise
        progress(f"The cluster is healthy after {time.monotonic() - started:.1f}s.")
        return cluster
    raise AssertionError("unreachable")


def run_foreground(cluster: WeaviateCluster, say: Callable[[str], None] = print) -> None:
    """Block until Ctrl-C or a node exits, then stop the cluster (for ``weaviate-local-cluster``)."""
    try:
        while all(cluster.is_running(n) for n in cluster.names):
            time.sleep(0.5)  # waiting for Ctrl-C; a node that exits ends the run
        say("A node exited; stopping the cluster.")
    except KeyboardInterrupt:
        say("Stopping the cluster...")
    finally:
        cluster.stop()
