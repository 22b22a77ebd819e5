"""A host someone typed on the Connect page, played by two listeners on 127.0.0.1 that record what they get.

- HTTP: answers like a Weaviate (``/v1/meta`` 1.38, an empty schema, ready), so that a client goes on from
  its REST probe to gRPC; every request's method, path and headers are recorded.
- gRPC: a ``grpcio`` server with a generic handler that records every call's method and invocation metadata
  and answers UNIMPLEMENTED.

``carrying(*secrets)`` lists the recorded requests in which any of ``secrets`` appears (in any header or
metadata value, whole or as a part).
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc


@dataclass(frozen=True)
class Recorded:
    kind: str  # "http" | "grpc"
    what: str  # "GET /v1/meta" | "/weaviate.v1.Weaviate/Search"
    headers: tuple[tuple[str, str], ...]


class _Http(BaseHTTPRequestHandler):
    server: _HttpServer

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.owner.record("http", f"{self.command} {self.path}", list(self.headers.items()))
        path = self.path.split("?")[0]
        if path == "/v1/meta":
            body: Any = {"version": "1.38.11", "hostname": "http://[::]:8080", "modules": {}}
        elif path == "/v1/schema":
            body = {"classes": []}
        elif path.startswith("/v1/.well-known"):
            body = {}
        else:
            body = {"error": [{"message": "recorded"}]}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _answer  # noqa: N815 - stdlib naming

    def log_message(self, *args: Any) -> None:
        pass


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: RecordingListener


class _GrpcRecorder(grpc.GenericRpcHandler):
    def __init__(self, owner: RecordingListener) -> None:
        self.owner = owner

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> None:
        metadata = [(k, v if isinstance(v, str) else repr(v)) for k, v in handler_call_details.invocation_metadata]
        self.owner.record("grpc", handler_call_details.method, metadata)
        return None  # -> UNIMPLEMENTED


class RecordingListener:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: list[Recorded] = []
        self._http = _HttpServer(("127.0.0.1", 0), _Http)
        self._http.owner = self
        self._grpc = grpc.server(ThreadPoolExecutor(max_workers=4))
        self._grpc.add_generic_rpc_handlers((_GrpcRecorder(self),))
        self.grpc_port = self._grpc.add_insecure_port("127.0.0.1:0")
        self.http_port = int(self._http.server_address[1])
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def __enter__(self) -> RecordingListener:
        self._grpc.start()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._grpc.stop(grace=None).wait()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def record(self, kind: str, what: str, headers: list[tuple[str, str]]) -> None:
        with self._lock:
            self.requests.append(Recorded(kind, what, tuple(headers)))

    def seen(self, kind: str | None = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if kind is None or r.kind == kind]

    def carrying(self, *secrets: str | None) -> list[Recorded]:
        wanted = [s for s in secrets if s]
        return [r for r in self.seen() if any(s in f"{k}: {v}" for k, v in r.headers for s in wanted)]
