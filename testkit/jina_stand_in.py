"""A local, Jina-compatible HTTP(S) server: a test double for ``api.jina.ai``.

It follows the documented contract of ``POST /v1/rerank`` and ``POST /v1/embeddings`` (see
``/work/shared/reference.md``), scores deterministically so tests can predict every order, records every
request, and injects faults on demand (error statuses in each body shape, ``Retry-After``, latency, hanging,
malformed JSON, missing fields, wrong result counts, out-of-range indexes).

It is a test double only: nothing in ``rerank_playground`` may import it or offer it as a model. It lives in
``testkit`` (not under ``tests/``) so that the benchmarks can use it too.

Usage::

    with JinaStandIn(api_key="k") as jina:
        httpx.post(f"{jina.url}/v1/rerank", headers={"Authorization": "Bearer k"}, json={...})
        assert jina.requests[-1].json["model"] == "jina-reranker-v2-base-multilingual"
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "BODY_SHAPES",
    "DEFAULT_EMBEDDING_DIMS",
    "KNOWN_EMBEDDING_MODELS",
    "KNOWN_RERANK_MODELS",
    "Fault",
    "JinaStandIn",
    "RecordedRequest",
    "TEST_JINA_KEY",
    "stand_in_embedding",
    "stand_in_score",
    "stand_in_tokens",
]

TEST_JINA_KEY = "test-jina-key"  # the key the tests' stand-ins accept

KNOWN_RERANK_MODELS: tuple[str, ...] = (
    "jina-reranker-v2-base-multilingual",
    "jina-reranker-v1-base-en",
    "jina-reranker-v1-turbo-en",
    "jina-reranker-v1-tiny-en",
    "jina-colbert-v1-en",
    "jina-colbert-v2",
    "jina-reranker-v3",
    "jina-reranker-v3.5",
    "jina-reranker-m0",
)

KNOWN_EMBEDDING_MODELS: tuple[str, ...] = (
    "jina-embeddings-v2-base-en",
    "jina-embeddings-v2-small-en",
    "jina-embeddings-v2-base-de",
    "jina-embeddings-v2-base-es",
    "jina-embeddings-v2-base-zh",
    "jina-embeddings-v2-base-code",
    "jina-embeddings-v3",
    "jina-embeddings-v4",
    "jina-clip-v1",
    "jina-clip-v2",
)

BODY_SHAPES: tuple[str, ...] = ("detail_str", "detail_list", "error_message")
DEFAULT_EMBEDDING_DIMS = 256
RATE_LIMIT_REQUESTS = 500
RATE_LIMIT_TOKENS = 1_000_000

_TOKEN_RE = re.compile(r"\w+")


# ------------------------------------------------------------------------------------------------
# Pure, deterministic scoring and embedding (exported so tests can compute expectations)
# ------------------------------------------------------------------------------------------------


def stand_in_tokens(text: str) -> list[str]:
    """Lower-cased ``\\w+`` tokens of ``text``."""
    return [t.lower() for t in _TOKEN_RE.findall(text or "")]


def _tie_break(model: str, query_terms: list[str], doc: list[str]) -> float:
    """A model-dependent secondary signal in [0, 1]; it only reorders documents of (nearly) equal coverage."""
    q = set(query_terms)
    n = len(doc)
    hits = sum(1 for t in doc if t in q)
    if model == "jina-reranker-v1-tiny-en":  # prefers short documents
        return 1.0 / (1.0 + n / 8.0)
    if model == "jina-reranker-v1-turbo-en":  # prefers long documents
        return n / (n + 8.0)
    if model == "jina-reranker-v1-base-en":  # prefers an early first match
        first = next((i for i, t in enumerate(doc) if t in q), None)
        return 0.0 if first is None else 1.0 / (1.0 + first)
    if model in ("jina-colbert-v1-en", "jina-colbert-v2"):  # prefers query bigrams kept in order
        qb = set(zip(query_terms, query_terms[1:], strict=False))
        if not qb:
            return hits / n if n else 0.0
        db = set(zip(doc, doc[1:], strict=False))
        return len(qb & db) / len(qb)
    if model == "jina-reranker-m0":  # prefers many repetitions of query terms
        return hits / (hits + 2.0)
    if model in ("jina-reranker-v3", "jina-reranker-v3.5"):  # prefers query terms that sit close together
        positions = [i for i, t in enumerate(doc) if t in q]
        if len(positions) < 2:
            return 0.5 * hits / n if n else 0.0
        return 1.0 / (1.0 + (positions[-1] - positions[0]) / len(positions))
    # v2-base-multilingual and anything else: density of query terms
    return hits / n if n else 0.0


def stand_in_score(query: str, text: str, model: str) -> float:
    """The stand-in's relevance score in [0, 1], rounded to 6 decimals.

    ``0.9 * coverage + 0.1 * tie_break`` where coverage is the fraction of distinct lower-cased query
    terms (``\\w+``) found in ``text`` and ``tie_break`` is a model-dependent signal in [0, 1] (v1-tiny
    prefers shorter documents, v1-turbo longer ones, v1-base an early first match, colbert in-order query
    bigrams, m0 repetitions, v3 query terms close together, the others query-term density). An empty
    query or text scores 0 coverage.
    """
    query_terms = stand_in_tokens(query)
    doc = stand_in_tokens(text)
    distinct = set(query_terms)
    coverage = len(distinct & set(doc)) / len(distinct) if distinct else 0.0
    score = 0.9 * coverage + 0.1 * _tie_break(model, query_terms, doc)
    return round(min(1.0, max(0.0, score)), 6)


def _stable_hash(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "big")


def stand_in_embedding(text: str, dims: int = DEFAULT_EMBEDDING_DIMS) -> list[float]:
    """Hashed bag-of-words vector (blake2b per token picks a slot and a sign), L2-normalized.

    Texts sharing words get a positive cosine similarity; a text without tokens gets a fixed unit vector.
    """
    if dims <= 0:
        raise ValueError("dims must be positive")
    vec = [0.0] * dims
    for token in stand_in_tokens(text):
        h = _stable_hash(token)
        vec[h % dims] += 1.0 if (h >> 32) & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vec))
    if norm == 0.0:
        vec[0] = 1.0
        return vec
    return [v / norm for v in vec]


def _count_tokens(*texts: str) -> int:
    return sum(len((t or "").split()) for t in texts)


# ------------------------------------------------------------------------------------------------
# Faults and the request log
# ------------------------------------------------------------------------------------------------


@dataclass
class Fault:
    """A misbehaviour to inject. Error statuses (>= 400) answer with an error body in ``body_shape``;
    the other flags damage an otherwise valid answer. ``times`` = how many matching requests it applies to
    (``None`` = all until cleared)."""

    status: int | None = None
    body_shape: str = "detail_str"
    retry_after: str | None = None
    latency_s: float = 0.0
    hang: bool = False
    malformed_json: bool = False
    missing_field: str | None = None
    wrong_count: bool = False
    bad_index: bool = False
    times: int | None = None
    paths: tuple[str, ...] = ("/v1/rerank", "/v1/embeddings")
    message: str = "injected fault"

    def __post_init__(self) -> None:
        if self.body_shape not in BODY_SHAPES:
            raise ValueError(f"body_shape must be one of {BODY_SHAPES}, not {self.body_shape!r}")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    json: Any  # parsed body, or None when it was not JSON
    raw: bytes = b""
    received_at: float = field(default_factory=time.monotonic)


class _StandInHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    stand_in: JinaStandIn

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # failed TLS handshakes and dropped clients are expected in fault tests; keep stderr quiet


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _StandInHTTPServer
    timeout = 30  # idle keep-alive connections are dropped after this

    # -- plumbing --------------------------------------------------------------------------------------

    def setup(self) -> None:
        stand_in = self.server.stand_in
        stand_in._track(self.request, add=True)
        try:
            # headers and body go out in two writes; without NODELAY, Nagle + delayed ACK add ~40 ms
            # to random replies, which would swamp every latency measurement made against the stand-in
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if isinstance(self.request, ssl.SSLSocket):
                self.request.settimeout(10)
                self.request.do_handshake()  # in the worker thread, so a stalled client cannot block accept()
            super().setup()
        except BaseException:
            stand_in._track(self.request, add=False)
            raise

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.stand_in._track(self.request, add=False)

    def handle(self) -> None:
        # a client that goes away (or a shutdown) is not the stand-in's problem
        with contextlib.suppress(OSError):  # incl. SSLError, ConnectionError, TimeoutError
            super().handle()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self.server.stand_in._handle(self, "GET")

    def do_POST(self) -> None:  # noqa: N802
        self.server.stand_in._handle(self, "POST")


class _Reply:
    def __init__(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj).encode("utf-8")


def _error_body(shape: str, status: int, message: str, loc: tuple[str, ...] = ("body",)) -> bytes:
    if shape == "detail_list":
        return _json_bytes({"detail": [{"loc": list(loc), "msg": message, "type": "value_error"}]})
    if shape == "error_message":
        return _json_bytes({"error": {"message": message, "code": status}})
    return _json_bytes({"detail": message})


class _BadRequest(Exception):
    def __init__(self, status: int, message: str, loc: tuple[str, ...] = ("body",)) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.loc = loc


# ------------------------------------------------------------------------------------------------
# The server
# ------------------------------------------------------------------------------------------------


class JinaStandIn:
    """A threaded Jina-compatible server on ``host:port`` (0 = any free port); HTTPS with ``ssl_context``."""

    def __init__(
        self,
        api_key: str = TEST_JINA_KEY,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.api_key = api_key
        self.host = host
        self._port = port
        self.ssl_context = ssl_context
        self.latency_s: float = 0.0
        self.document_shape: str = "object"  # how `document` is returned: "object" {"text": ...} or "string"
        self.requests: list[RecordedRequest] = []
        self._answered_at: dict[int, float] = {}  # id(recorded request) -> when its answer was ready to send
        # ``gather = n``: each rerank request waits (up to ``gather_timeout_s``) until n of them have arrived,
        # so concurrent clients are answered only after all n are in, and a sequential one is not.
        self.gather = 0
        self.gather_timeout_s = 10.0
        self._arrived = 0
        self._gathered = threading.Condition()
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _StandInHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._requests_used = 0
        self._tokens_used = 0

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> JinaStandIn:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _StandInHTTPServer((self.host, self._port), _Handler, bind_and_activate=False)
        try:
            server.server_bind()
            server.server_activate()
        except OSError:
            server.server_close()
            raise
        if self.ssl_context is not None:
            server.socket = self.ssl_context.wrap_socket(
                server.socket, server_side=True, do_handshake_on_connect=False
            )
        server.stand_in = self
        self._server = server
        self._port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="jina-stand-in", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()  # releases hanging and sleeping handlers
        server.shutdown()
        server.server_close()
        with self._lock:
            conns = list(self._connections)
            self._connections.clear()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> JinaStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:PORT`` (endpoints ``/v1/rerank`` and ``/v1/embeddings``)."""
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{self.host}:{self._port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    # -- test controls ---------------------------------------------------------------------------------

    def reset(self) -> None:
        """Clear the request log, faults, latency, document shape and rate-limit counters."""
        with self._lock:
            self.requests.clear()
            self._answered_at.clear()
            self.gather = 0
            self._arrived = 0
            self._faults.clear()
            self._requests_used = 0
            self._tokens_used = 0
        self.latency_s = 0.0
        self.document_shape = "object"

    def set_fault(self, fault: Fault) -> None:
        """Replace any faults with (a copy of) this one."""
        with self._lock:
            self._faults = [dataclasses.replace(fault)]

    def add_fault(self, fault: Fault) -> None:
        """Queue (a copy of) another fault; the first active one matching a request's path applies."""
        with self._lock:
            self._faults.append(dataclasses.replace(fault))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def rerank_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == "/v1/rerank"]

    def rerank_spans(self) -> list[tuple[str, float, float]]:
        """(model, received_at, answered_at) of every answered rerank request, on ``time.monotonic``'s clock:
        two requests overlapped when each was received before the other was answered."""
        with self._lock:
            return [
                (r.json.get("model", "") if isinstance(r.json, dict) else "", r.received_at, self._answered_at[id(r)])
                for r in self.requests
                if r.path == "/v1/rerank" and id(r) in self._answered_at
            ]

    def embedding_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == "/v1/embeddings"]

    # -- internals -------------------------------------------------------------------------------------

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for i, fault in enumerate(self._faults):
                if path not in fault.paths:
                    continue
                if fault.times is not None:
                    if fault.times <= 0:
                        continue
                    fault.times -= 1
                    if fault.times == 0:
                        del self._faults[i]
                return fault
        return None

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def _rate_headers(self, tokens: int) -> dict[str, str]:
        with self._lock:
            self._requests_used += 1
            self._tokens_used += tokens
            req_left = max(0, RATE_LIMIT_REQUESTS - self._requests_used)
            tok_left = max(0, RATE_LIMIT_TOKENS - self._tokens_used)
        return {
            "X-RateLimit-Limit-Requests": str(RATE_LIMIT_REQUESTS),
            "X-RateLimit-Remaining-Requests": str(req_left),
            "X-RateLimit-Limit-Tokens": str(RATE_LIMIT_TOKENS),
            "X-RateLimit-Remaining-Tokens": str(tok_left),
        }

    def _handle(self, h: _Handler, method: str) -> None:
        path = h.path.split("?", 1)[0]
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in h.headers.items()}
        record = RecordedRequest(method=method, path=path, headers=headers, json=body, raw=raw)
        with self._lock:
            self.requests.append(record)

        if path == "/v1/rerank" and self.gather > 1:
            with self._gathered:
                self._arrived += 1
                self._gathered.notify_all()
                self._gathered.wait_for(lambda: self._arrived >= self.gather, timeout=self.gather_timeout_s)
        fault = self._take_fault(path)
        self._sleep(self.latency_s + (fault.latency_s if fault else 0.0))
        if fault is not None and fault.hang:
            self._stopping.wait()  # until stop(); the client's own timeout fires first
            h.close_connection = True
            return

        reply = self._answer(method, path, headers, raw, body, fault)
        with self._lock:
            self._answered_at[id(record)] = time.monotonic()
        self._send(h, reply)

    def _answer(
        self, method: str, path: str, headers: dict[str, str], raw: bytes, body: Any, fault: Fault | None
    ) -> _Reply:
        shape = fault.body_shape if fault is not None else "detail_str"
        if fault is not None and fault.status is not None and fault.status >= 400:
            extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            return _Reply(fault.status, _error_body(shape, fault.status, fault.message), extra)

        if path == "/" and method == "GET":
            return _Reply(200, _json_bytes({"service": "jina stand-in (test double)"}))
        if path not in ("/v1/rerank", "/v1/embeddings"):
            return _Reply(404, _error_body(shape, 404, "Not Found"))
        if method != "POST":
            return _Reply(405, _error_body(shape, 405, "Method Not Allowed"))

        auth = headers.get("authorization", "")
        if auth != f"Bearer {self.api_key}":
            message = "Unauthorized: invalid or missing API key" if auth else "Unauthorized: missing API key"
            return _Reply(401, _error_body(shape, 401, message, ("header", "authorization")))

        try:
            if raw and body is None:
                raise _BadRequest(422, "JSON decode error", ("body",))
            if not isinstance(body, dict):
                raise _BadRequest(422, "Field required", ("body",))
            if path == "/v1/rerank":
                payload, tokens = self._rerank(body)
            else:
                payload, tokens = self._embeddings(body)
        except _BadRequest as exc:
            return _Reply(exc.status, _error_body(shape, exc.status, exc.message, exc.loc))

        rate = self._rate_headers(tokens)
        if fault is not None:
            payload = self._damage(path, payload, fault)
            if fault.malformed_json:
                return _Reply(
                    200, b'{"model": "' + str(payload.get("model", "")).encode() + b'", "results": [', rate
                )
        status = fault.status if fault is not None and fault.status is not None else 200
        return _Reply(status, _json_bytes(payload), rate)

    @staticmethod
    def _damage(path: str, payload: dict[str, Any], fault: Fault) -> dict[str, Any]:
        items_key = "results" if path == "/v1/rerank" else "data"
        items = payload.get(items_key, [])
        if fault.wrong_count and items:
            items.pop()
        if fault.bad_index and items:
            items[0]["index"] = len(items) + 1000
        name = fault.missing_field
        if name:
            if name in payload:
                del payload[name]
            else:
                for item in items:
                    item.pop(name, None)
        return payload

    def _rerank(self, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise _BadRequest(422, "Field required: model", ("body", "model"))
        if model not in KNOWN_RERANK_MODELS:
            raise _BadRequest(
                422,
                f"Model '{model}' is not supported. Supported models: {', '.join(KNOWN_RERANK_MODELS)}",
                ("body", "model"),
            )
        query = body.get("query")
        if isinstance(query, dict):
            query = query.get("text")
        if not isinstance(query, str):
            raise _BadRequest(422, "Field required: query (a string)", ("body", "query"))
        docs_in = body.get("documents")
        if not isinstance(docs_in, list):
            raise _BadRequest(422, "Field required: documents (a list)", ("body", "documents"))
        texts: list[str] = []
        for i, d in enumerate(docs_in):
            if isinstance(d, str):
                texts.append(d)
            elif isinstance(d, dict) and isinstance(d.get("text"), str):
                texts.append(d["text"])
            else:
                raise _BadRequest(
                    422, f"documents[{i}] must be a string or {{'text': ...}}", ("body", "documents")
                )
        top_n = body.get("top_n")
        if top_n is not None and (not isinstance(top_n, int) or isinstance(top_n, bool) or top_n < 1):
            raise _BadRequest(422, "top_n must be a positive integer", ("body", "top_n"))
        return_documents = bool(body.get("return_documents", False))

        scored = [(stand_in_score(query, t, model), i) for i, t in enumerate(texts)]
        scored.sort(key=lambda si: (-si[0], si[1]))
        if top_n is not None:
            scored = scored[:top_n]
        results: list[dict[str, Any]] = []
        for score, i in scored:
            item: dict[str, Any] = {"index": i, "relevance_score": score}
            if return_documents:
                item["document"] = texts[i] if self.document_shape == "string" else {"text": texts[i]}
            results.append(item)
        tokens = _count_tokens(query, *texts)
        return {
            "model": model,
            "object": "list",
            "usage": {"total_tokens": tokens},
            "results": results,
        }, tokens

    def _embeddings(self, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise _BadRequest(422, "Field required: model", ("body", "model"))
        if model not in KNOWN_EMBEDDING_MODELS:
            raise _BadRequest(
                422,
                f"Model '{model}' is not supported. Supported models: {', '.join(KNOWN_EMBEDDING_MODELS)}",
                ("body", "model"),
            )
        inputs = body.get("input")
        if isinstance(inputs, str | dict):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs:
            raise _BadRequest(422, "Field required: input (a non-empty list)", ("body", "input"))
        texts: list[str] = []
        for i, d in enumerate(inputs):
            if isinstance(d, str):
                texts.append(d)
            elif isinstance(d, dict) and isinstance(d.get("text"), str):
                texts.append(d["text"])
            else:
                raise _BadRequest(422, f"input[{i}] must be a string or {{'text': ...}}", ("body", "input"))
        dims = body.get("dimensions")
        if dims is None:
            dims = DEFAULT_EMBEDDING_DIMS
        if not isinstance(dims, int) or isinstance(dims, bool) or not 1 <= dims <= 8192:
            raise _BadRequest(422, "dimensions must be an integer in [1, 8192]", ("body", "dimensions"))
        data = [
            {"object": "embedding", "index": i, "embedding": stand_in_embedding(t, dims)}
            for i, t in enumerate(texts)
        ]
        tokens = _count_tokens(*texts)
        return {"model": model, "object": "list", "usage": {"total_tokens": tokens}, "data": data}, tokens

    @staticmethod
    def _send(h: _Handler, reply: _Reply) -> None:
        try:
            h.send_response(reply.status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                h.send_header(name, value)
            h.end_headers()
            h.wfile.write(reply.body)
            h.wfile.flush()
        except (ConnectionError, ssl.SSLError, OSError):
            h.close_connection = True
