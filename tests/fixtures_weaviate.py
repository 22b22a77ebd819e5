"""pytest fixtures for a real weaviate-server (never a mock).

- ``weaviate_server`` (session): ``WEAVIATE_TEST_URL`` if set (gRPC port from ``WEAVIATE_TEST_GRPC_PORT``,
  default 50051; key from ``WEAVIATE_TEST_API_KEY``, else the per-install key for a loopback URL), else
  the pinned server started on free ports with a temporary data folder, API-key auth on (the per-install
  key, as ``endpoint.api_key``), and stopped at the end of the session, also when tests fail. A missing
  server is a failure with the launcher's message, never a skip.
- ``weaviate_client`` (function): a connected ``weaviate.WeaviateClient``, closed afterwards.
- ``fresh_collection_name`` (function): a unique collection name, the collection deleted afterwards.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
import weaviate

from rerank_playground.errors import LauncherError
from testkit.weaviate_data import connect, unique_collection_name
from weaviate_local.server import WeaviateEndpoint, endpoint_from_url, is_ready, start_weaviate

# Filled in by the session fixture; shown in the terminal summary (how long the server took to start).
SERVER_STATS: dict[str, str] = {}


@pytest.fixture(scope="session")
def weaviate_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WeaviateEndpoint]:
    url = os.environ.get("WEAVIATE_TEST_URL")
    if url:
        endpoint = endpoint_from_url(url, int(os.environ.get("WEAVIATE_TEST_GRPC_PORT", "50051")),
                                     api_key=os.environ.get("WEAVIATE_TEST_API_KEY") or None)
        if not is_ready(url if "://" in url else f"http://{url}", timeout=5.0):
            pytest.fail(f"WEAVIATE_TEST_URL={url} does not answer /v1/.well-known/ready.", pytrace=False)
        SERVER_STATS["weaviate"] = f"external {endpoint.url} (WEAVIATE_TEST_URL)"
        yield endpoint
        return
    root = tmp_path_factory.mktemp("weaviate")
    started = time.monotonic()
    try:
        proc = start_weaviate(data_dir=root / "data", log_path=root / "weaviate.log", progress=lambda _: None)
    except LauncherError as err:
        pytest.fail(f"Could not start the test Weaviate: {err}", pytrace=False)
    ready_after = time.monotonic() - started
    SERVER_STATS["weaviate"] = (
        f"started {proc.endpoint.url} (gRPC {proc.endpoint.grpc_port}), ready in {ready_after:.1f}s; "
        f"log {proc.log_path}"
    )
    with proc:
        yield proc.endpoint


@pytest.fixture
def weaviate_client(weaviate_server: WeaviateEndpoint) -> Iterator[weaviate.WeaviateClient]:
    client = connect(weaviate_server)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def fresh_collection_name(weaviate_server: WeaviateEndpoint) -> Iterator[str]:
    name = unique_collection_name()
    yield name
    client = connect(weaviate_server)
    try:
        client.collections.delete(name)
    finally:
        client.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SERVER_STATS:
        terminalreporter.write_line(f"weaviate: {SERVER_STATS['weaviate']}")
