"""Connection failures that need a special server: API-key auth, and a server too old for the client."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rerank_playground.connection import ConnectionSpec, connect, server_info
from rerank_playground.errors import ServerTooOld, WeaviateAuthError
from weaviate_local.server import start_weaviate

ADMIN_KEY = "wv-admin-key-for-tests"


@pytest.fixture(scope="module")
def secured_weaviate(tmp_path_factory):
    env = {
        "AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED": "false",
        "AUTHENTICATION_APIKEY_ENABLED": "true",
        "AUTHENTICATION_APIKEY_ALLOWED_KEYS": ADMIN_KEY,
        "AUTHENTICATION_APIKEY_USERS": "admin",
    }
    with start_weaviate(data_dir=tmp_path_factory.mktemp("secured"), env=env) as server:
        yield server.endpoint


def _spec(endpoint, key):
    return ConnectionSpec(http_host=endpoint.host, http_port=endpoint.http_port, grpc_port=endpoint.grpc_port,
                          weaviate_api_key=key)


@pytest.mark.parametrize("key", [None, "wrong-key-123"])
def test_missing_or_wrong_weaviate_key_is_an_auth_error_without_the_key(secured_weaviate, key):
    with pytest.raises(WeaviateAuthError) as info:
        connect(_spec(secured_weaviate, key))
    message = str(info.value)
    assert "API key" in message
    if key:
        assert key not in message and key not in repr(info.value)


def test_right_weaviate_key_connects_and_reads_server_info(secured_weaviate):
    spec = _spec(secured_weaviate, ADMIN_KEY)
    assert ADMIN_KEY not in repr(spec)
    client = connect(spec)
    try:
        assert server_info(client, spec).version.startswith("1.")
    finally:
        client.close()


class _OldWeaviate(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - stdlib naming
        body = json.dumps({"version": "1.22.3", "modules": {}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_server_older_than_the_client_supports_is_named():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OldWeaviate)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(ServerTooOld, match="1.22.3"):
            connect(ConnectionSpec(http_port=server.server_address[1], grpc_port=1))
    finally:
        server.shutdown()
        server.server_close()
