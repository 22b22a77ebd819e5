"""The launcher without a real Weaviate: lookup order, build, environment, ports, process handling.

Process handling runs a tiny stand-in executable (a Python script that answers the ready endpoint and
opens the gRPC port) so start/stop/failure paths are quick and deterministic. The real server is
exercised in tests/integration/test_weaviate_server.py.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import sys
from pathlib import Path

import pytest

from rerank_playground.errors import LauncherError
from rerank_playground.local_weaviate import api_key_path, read_local_api_key
from weaviate_local import server as launcher
from weaviate_local.server import (
    WEAVIATE_VERSION,
    ServerPorts,
    WeaviateEndpoint,
    build_server_env,
    cached_binary_path,
    ensure_weaviate,
    find_binary,
    go_install_command,
    local_api_key,
    pick_ports,
    server_command,
    start_weaviate,
)


def make_exe(path: Path, body: str) -> Path:
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("RERANK_PLAYGROUND_CACHE", str(root))
    monkeypatch.delenv("WEAVIATE_BINARY", raising=False)
    monkeypatch.delenv("WEAVIATE_URL", raising=False)
    monkeypatch.delenv("WEAVIATE_GRPC_PORT", raising=False)
    return root


# ------------------------------------------------------------------------------------------ lookup


def test_cache_root_follows_the_env(cache: Path) -> None:
    assert cached_binary_path() == cache / "weaviate" / WEAVIATE_VERSION / "bin" / "weaviate-server"


def test_weaviate_binary_env_wins_over_the_cache(cache: Path, tmp_path: Path, monkeypatch) -> None:
    cached = cached_binary_path()
    cached.parent.mkdir(parents=True)
    make_exe(cached, "#!/bin/sh\n")
    own = make_exe(tmp_path / "my-weaviate", "#!/bin/sh\n")
    assert find_binary(build=False) == cached
    monkeypatch.setenv("WEAVIATE_BINARY", str(own))
    assert find_binary(build=False) == own


def test_bad_weaviate_binary_is_an_error_not_a_fallback(cache: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("WEAVIATE_BINARY", str(tmp_path / "missing"))
    with pytest.raises(LauncherError, match="WEAVIATE_BINARY"):
        find_binary(build=False)


def test_nothing_found_without_build_says_how_to_build(cache: Path) -> None:
    with pytest.raises(LauncherError) as err:
        find_binary(build=False)
    assert "weaviate-local build" in str(err.value)


def test_no_go_is_an_actionable_error(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launcher, "go_executable", lambda: None)
    with pytest.raises(LauncherError) as err:
        find_binary(progress=lambda _: None)
    assert "Go" in str(err.value) and "WEAVIATE_BINARY" in str(err.value)


def test_go_install_command_pins_the_version() -> None:
    assert go_install_command("go") == [
        "go",
        "install",
        "-v",
        f"github.com/weaviate/weaviate/cmd/weaviate-server@v{WEAVIATE_VERSION}",
    ]
    env = launcher.go_install_env(Path("/x/bin"), base={"PATH": "/usr/bin"})
    assert env == {"PATH": "/usr/bin", "GOBIN": "/x/bin", "CGO_ENABLED": "1"}


FAKE_GO = """#!/bin/sh
# records its arguments, then behaves like `go install` (or fails, with FAKE_GO_FAIL set)
echo "$@" > "$FAKE_GO_ARGS"
echo "go: downloading github.com/weaviate/weaviate v{version}"
if [ -n "$FAKE_GO_FAIL" ]; then echo "compile: something broke" >&2; exit 1; fi
test "$CGO_ENABLED" = 1 || exit 7
printf '#!/bin/sh\\necho built\\n' > "$GOBIN/weaviate-server" && chmod +x "$GOBIN/weaviate-server"
"""


@pytest.fixture
def fake_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bindir = tmp_path / "fakebin"
    bindir.mkdir()
    make_exe(bindir / "go", FAKE_GO.format(version=WEAVIATE_VERSION))
    monkeypatch.setattr(launcher, "go_executable", lambda: str(bindir / "go"))
    monkeypatch.setenv("FAKE_GO_ARGS", str(tmp_path / "go-args"))
    return tmp_path / "go-args"


def test_build_installs_into_the_cache_and_logs(cache: Path, fake_go: Path) -> None:
    messages: list[str] = []
    path = find_binary(progress=messages.append)
    assert path == cached_binary_path()
    assert os.access(path, os.X_OK)
    assert fake_go.read_text().split() == go_install_command("go")[1:]
    assert "minutes" in " ".join(messages)
    assert "go: downloading" in launcher.build_log_path().read_text()
    # the staging GOBIN is gone, and a second call reuses the cache without building
    assert not list(launcher.weaviate_home().glob("gobin-*"))
    fake_go.unlink()
    assert find_binary(progress=messages.append) == path
    assert not fake_go.exists()


def test_failed_build_shows_the_log_tail(cache: Path, fake_go: Path, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_GO_FAIL", "1")
    with pytest.raises(LauncherError) as err:
        find_binary(progress=lambda _: None)
    assert "something broke" in str(err.value)
    assert not cached_binary_path().exists()


# ------------------------------------------------------------------------------------- env, ports


PORTS = ServerPorts(http=18080, grpc=15051, gossip=17100, raft=18300)


def test_server_env_and_command_make_a_loopback_single_node(tmp_path: Path, cache: Path) -> None:
    base = {"PATH": "/usr/bin", "HOST": "0.0.0.0", "PORT": "1", "TLS_PORT": "2", "KEEP": "me"}
    env = build_server_env(PORTS, tmp_path / "data", base=base)
    for stray in ("HOST", "PORT", "TLS_PORT"):  # HOST=0.0.0.0 would override the loopback --host
        assert stray not in env
    assert not any("0.0.0.0" in value for value in env.values())
    command = server_command("/bin/w", PORTS.http)
    assert command[command.index("--host") + 1] == "127.0.0.1"  # the REST API listens on loopback only
    assert env["PATH"] == "/usr/bin" and env["KEEP"] == "me"
    assert env["PERSISTENCE_DATA_PATH"] == str(tmp_path / "data")
    # the local server lets no one else in: anonymous access off, the per-install key required
    assert env["AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED"] == "false"
    assert env["AUTHENTICATION_APIKEY_ENABLED"] == "true"
    assert env["AUTHENTICATION_APIKEY_ALLOWED_KEYS"] == local_api_key()
    assert env["DEFAULT_VECTORIZER_MODULE"] == "none"
    assert set(env["ENABLE_MODULES"].split(",")) >= {"reranker-jinaai", "text2vec-jinaai"}
    assert env["GRPC_PORT"] == "15051"
    assert (env["CLUSTER_GOSSIP_BIND_PORT"], env["CLUSTER_DATA_BIND_PORT"]) == ("17100", "17101")
    assert (env["RAFT_PORT"], env["RAFT_INTERNAL_RPC_PORT"]) == ("18300", "18301")
    assert env["RAFT_JOIN"] == f"{env['CLUSTER_HOSTNAME']}:18300"
    assert env["RAFT_BOOTSTRAP_EXPECT"] == "1"
    assert env["CLUSTER_IN_LOCALHOST"] == "true"
    assert env["DISABLE_TELEMETRY"] == "true" and env["GO_PROFILING_DISABLE"] == "true"


def test_server_env_extra_wins(tmp_path: Path) -> None:
    env = build_server_env(
        PORTS, tmp_path, base={}, extra={"ENABLE_MODULES": "reranker-jinaai", "SSL_CERT_FILE": "/ca.pem"}
    )
    assert env["ENABLE_MODULES"] == "reranker-jinaai" and env["SSL_CERT_FILE"] == "/ca.pem"


def test_server_command_with_and_without_wrapper() -> None:
    assert server_command("/bin/w", 8080) == [
        "/bin/w",
        "--scheme",
        "http",
        "--host",
        "127.0.0.1",
        "--port",
        "8080",
    ]
    wrapped = server_command("/bin/w", 8080, ["unshare", "--mount", "--", "sh", "-c", 'exec "$@"', "sh"])
    assert wrapped[:7] == ["unshare", "--mount", "--", "sh", "-c", 'exec "$@"', "sh"]
    assert wrapped[7:] == server_command("/bin/w", 8080)


def test_pick_ports_are_distinct_and_free() -> None:
    ports = pick_ports()
    assert len(set(ports.all())) == 6
    assert ports.data == ports.gossip + 1 and ports.raft_rpc == ports.raft + 1
    for port in ports.all():
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))  # raises if taken


def test_pick_ports_keeps_given_ports() -> None:
    ports = pick_ports(http_port=18081, grpc_port=15052)
    assert (ports.http, ports.grpc) == (18081, 15052)
    assert not {18081, 15052} & {ports.gossip, ports.data, ports.raft, ports.raft_rpc}


def test_endpoint_url_and_parsing() -> None:
    assert WeaviateEndpoint("127.0.0.1", 8080, 50051, True).url == "http://127.0.0.1:8080"
    assert launcher.endpoint_from_url("http://example.org:9000/", 50052) == WeaviateEndpoint(
        "example.org", 9000, 50052, False
    )
    assert launcher.endpoint_from_url("localhost:8081", 1).http_port == 8081


# ---------------------------------------------------------------------------- processes (stand-in)


FAKE_SERVER = f"""#!{sys.executable}
# A stand-in for weaviate-server: HTTP ready endpoint on --port, a TCP listener on $GRPC_PORT.
import http.server, json, os, signal, socket, sys, threading
mode = os.environ.get("FAKE_MODE", "ok")
port = int(sys.argv[sys.argv.index("--port") + 1])
if os.environ.get("FAKE_DUMP"):
    with open(os.environ["FAKE_DUMP"], "w") as fh:
        json.dump({{"argv": sys.argv[1:], "env": dict(os.environ), "pid": os.getpid()}}, fh)
if mode == "exit":
    print("fatal: pretend the data folder is unreadable", flush=True)
    sys.exit(3)
if mode == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
grpc = socket.socket(); grpc.bind(("127.0.0.1", int(os.environ["GRPC_PORT"]))); grpc.listen()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if mode != "never-ready" and self.path == "/v1/.well-known/ready" else 503)
        self.end_headers()
    def log_message(self, *a): pass
print("fake weaviate listening", flush=True)
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
"""


@pytest.fixture
def fake_server(tmp_path: Path) -> Path:
    return make_exe(tmp_path / "fake-weaviate-server", FAKE_SERVER)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_start_waits_until_ready_and_stop_is_idempotent(fake_server: Path, tmp_path: Path) -> None:
    dump = tmp_path / "dump.json"
    messages: list[str] = []
    proc = start_weaviate(
        binary=fake_server, env={"FAKE_DUMP": str(dump), "HOST": "10.0.0.1"}, progress=messages.append
    )
    with proc:
        assert launcher.is_ready(proc.endpoint.url)
        assert proc.endpoint.managed and proc.endpoint.host == "127.0.0.1"
        seen = json.loads(dump.read_text())
        assert seen["argv"] == [
            "--scheme",
            "http",
            "--host",
            "127.0.0.1",
            "--port",
            str(proc.endpoint.http_port),
        ]
        assert seen["env"]["GRPC_PORT"] == str(proc.endpoint.grpc_port)
        assert seen["env"]["HOST"] == "10.0.0.1"  # `env` overrides everything, even the stripped names
        assert os.getpgid(proc.pid) == proc.pid  # its own process group
        assert "fake weaviate listening" in proc.log_tail()
        data_root = proc.data_dir.parent
        assert data_root.is_dir()
    assert not alive(proc.pid)
    assert not data_root.exists()  # a temporary data folder is removed on stop
    proc.stop()  # second stop: no error
    assert any("ready" in m for m in messages)


def test_wrapper_prefix_is_used(fake_server: Path, tmp_path: Path) -> None:
    mark = tmp_path / "wrapped"
    wrapper = ["sh", "-c", f'echo "$#" > {mark}; exec "$@"', "sh"]
    with start_weaviate(binary=fake_server, wrapper=wrapper, progress=lambda _: None) as proc:
        assert launcher.is_ready(proc.endpoint.url)
    assert mark.read_text().strip() == "7"  # binary + 6 flags passed through


def test_early_exit_is_reported_at_once_with_the_log(fake_server: Path) -> None:
    with pytest.raises(LauncherError) as err:
        start_weaviate(
            binary=fake_server, env={"FAKE_MODE": "exit"}, progress=lambda _: None, ready_timeout=60
        )
    assert "did not become ready" not in str(err.value)  # the exit was noticed, not the 60 s readiness wait
    assert "exited with code 3" in str(err.value)
    assert "data folder is unreadable" in str(err.value)


def test_not_ready_in_time_is_an_error_and_leaves_nothing(fake_server: Path, tmp_path: Path) -> None:
    dump = tmp_path / "dump.json"
    with pytest.raises(LauncherError, match="did not become ready"):
        start_weaviate(
            binary=fake_server,
            env={"FAKE_MODE": "never-ready", "FAKE_DUMP": str(dump)},
            progress=lambda _: None,
            ready_timeout=1.5,
        )
    assert not alive(json.loads(dump.read_text())["pid"])


def test_stop_kills_what_ignores_sigterm(fake_server: Path) -> None:
    proc = start_weaviate(binary=fake_server, env={"FAKE_MODE": "stubborn"}, progress=lambda _: None)
    proc.stop(timeout=0.5)
    assert not alive(proc.pid)
    assert proc.returncode == -signal.SIGKILL


def test_port_in_use_is_refused_clearly(fake_server: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(LauncherError, match=f"Port {port}"):
            start_weaviate(binary=fake_server, http_port=port, progress=lambda _: None)


def test_ensure_reuses_weaviate_url(fake_server: Path, cache: Path, monkeypatch) -> None:
    with start_weaviate(binary=fake_server, progress=lambda _: None) as running:
        monkeypatch.setenv("WEAVIATE_URL", running.endpoint.url)
        monkeypatch.setenv("WEAVIATE_GRPC_PORT", str(running.endpoint.grpc_port))
        endpoint, proc = ensure_weaviate(progress=lambda _: None)
        assert proc is None
        assert endpoint == WeaviateEndpoint(
            "127.0.0.1", running.endpoint.http_port, running.endpoint.grpc_port, False
        )
        # the same, found on the port instead of through WEAVIATE_URL
        monkeypatch.delenv("WEAVIATE_URL")
        endpoint, proc = ensure_weaviate(http_port=running.endpoint.http_port, progress=lambda _: None)
        assert proc is None and not endpoint.managed


def test_ensure_with_unreachable_weaviate_url_is_an_error(cache: Path, monkeypatch) -> None:
    closed = launcher.free_port()
    monkeypatch.setenv("WEAVIATE_URL", f"http://127.0.0.1:{closed}")
    with pytest.raises(LauncherError, match="WEAVIATE_URL"):
        ensure_weaviate(progress=lambda _: None)


def test_ensure_starts_records_and_stop_recorded_stops(fake_server: Path, cache: Path, monkeypatch) -> None:
    monkeypatch.setenv("WEAVIATE_BINARY", str(fake_server))
    http_port, grpc_port = launcher.free_port(), launcher.free_port()
    endpoint, proc = ensure_weaviate(http_port=http_port, grpc_port=grpc_port, progress=lambda _: None)
    assert proc is not None
    try:
        assert endpoint == WeaviateEndpoint("127.0.0.1", http_port, grpc_port, True)
        assert proc.data_dir == launcher.demo_data_dir()
        state = launcher.read_state()
        assert state is not None and state["pid"] == proc.pid and state["grpc_port"] == grpc_port
        assert launcher.stop_recorded(progress=lambda _: None)
        proc.wait(timeout=10)
        assert launcher.read_state() is None
        assert not launcher.stop_recorded(progress=lambda _: None)
    finally:
        proc.stop()
    assert launcher.demo_data_dir().is_dir()  # the demo data folder is persistent


# ------------------------------------------------------------------------------------------ the local key


def test_the_local_key_is_random_per_install_private_and_stable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RERANK_PLAYGROUND_CACHE", str(tmp_path / "one"))
    assert read_local_api_key() is None
    first = local_api_key()
    assert len(first) >= 40 and local_api_key() == first == read_local_api_key()
    assert stat.S_IMODE(api_key_path().stat().st_mode) == 0o600
    monkeypatch.setenv("RERANK_PLAYGROUND_CACHE", str(tmp_path / "two"))
    assert local_api_key() != first  # another install, another key
