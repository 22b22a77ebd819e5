"""Faults never crash: every failure ends in a typed error whose message says what to do, and the same
Playground keeps working afterwards (the next good call succeeds).

Real parts only: the session weaviate-server, a test-local weaviate-server for the kill-and-restart case, a
small TCP relay in front of the real gRPC port to stall it, the Jina stand-in, and the Weaviate whose
``reranker-jinaai`` module talks to the stand-in (``@pytest.mark.namespace``). HTTP-level status mapping is
covered in ``tests/core/test_rerankers_*.py``; here every fault goes through ``Playground.rerank`` and
``Playground.compare`` as a page would call them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import weaviate

from rerank_playground.connection import ConnectionSpec, server_is_ready
from rerank_playground.errors import (
    AuthRejected,
    BadResponse,
    CollectionNotFound,
    ConnectError,
    GrpcUnreachable,
    PlaygroundError,
    ProviderError,
    ProviderServerError,
    ProviderTimeout,
    ProviderUnreachable,
    RateLimited,
    RequestRejected,
    SearchError,
    WeaviateUnreachable,
)
from rerank_playground.jina_http import make_client
from rerank_playground.keys import ProviderKeys
from rerank_playground.models import SearchMode, SearchRequest
from rerank_playground.playground import Playground
from rerank_playground.rerankers.choice import RerankChoice
from testkit.corpus import CORPUS
from testkit.jina_stand_in import TEST_JINA_KEY, Fault, JinaStandIn, stand_in_score
from testkit.weaviate_data import create_collection, docs, unique_collection_name
from weaviate_local.server import WeaviateEndpoint, free_port, start_weaviate

V3 = "jina-reranker-v3"
TINY = "jina-reranker-v1-tiny-en"
JINA = RerankChoice("jina", V3)
LOCAL = RerankChoice("local", "local-wordllama")
READ_TIMEOUT = 0.75
def make_collection(client: weaviate.WeaviateClient, prefix: str = "Faults") -> str:
    return create_collection(client, unique_collection_name(prefix), docs(CORPUS), reranker_model=TINY)


def spec_of(endpoint: Any, **kw: Any) -> ConnectionSpec:
    return ConnectionSpec(http_host=endpoint.host, http_port=endpoint.http_port, grpc_port=endpoint.grpc_port,
                          weaviate_api_key=endpoint.api_key, **kw)


def keyword(collection: str, query: str) -> SearchRequest:
    return SearchRequest(collection, query, mode=SearchMode.KEYWORD, text_property="body")


def expected_order(query: str, texts: list[str], model: str) -> tuple[int, ...]:
    return tuple(sorted(range(len(texts)), key=lambda i: (-stand_in_score(query, texts[i], model), i)))


@pytest.fixture(scope="module")
def collection(weaviate_server: WeaviateEndpoint) -> Iterator[str]:
    client = weaviate.connect_to_local(host=weaviate_server.host, port=weaviate_server.http_port,
                                       grpc_port=weaviate_server.grpc_port, skip_init_checks=True,
                                       auth_credentials=weaviate.auth.AuthApiKey(weaviate_server.api_key))
    try:
        name = make_collection(client)
        yield name
        client.collections.delete(name)
    finally:
        client.close()


@pytest.fixture(scope="module")
def one_session(weaviate_server: WeaviateEndpoint, jina_server: JinaStandIn) -> Iterator[Playground]:
    """One user's session for the module, with a short Jina read timeout so the timeout fault is quick."""
    http = make_client(timeout=READ_TIMEOUT, connect_timeout=READ_TIMEOUT)
    session = Playground(spec_of(weaviate_server), keys=ProviderKeys.of(JINAAI_APIKEY=TEST_JINA_KEY),
                         jina_base_url=jina_server.url, http_client=http)
    session.connect()
    yield session
    session.close()
    http.close()


@pytest.fixture
def pg(one_session: Playground, jina_stand_in: JinaStandIn) -> Iterator[Playground]:
    """The module's session, as a test found it: rerank cache empty, the right key and base URL."""
    one_session.cache.clear()
    yield one_session
    one_session.jina_base_url = jina_stand_in.url
    one_session.set_jina_key(TEST_JINA_KEY)


# -- the Jina API, through Playground.rerank and Playground.compare ----------------------------------------

# (fault, the error, what its message must say). Retry-After "0" keeps the retried statuses fast; the
# message for each is checked for the part that tells the user what to do.
JINA_FAULTS = [
    pytest.param(Fault(status=400), RequestRejected, r"rejected the request .*\(HTTP 400\).*Check the model name",
                 id="400"),
    pytest.param(Fault(status=401), AuthRejected, r"rejected the API key \(HTTP 401\).*Check the key \(JINAAI_APIKEY\)",
                 id="401"),
    pytest.param(Fault(status=403, body_shape="error_message"), AuthRejected,
                 r"rejected the API key \(HTTP 403\).*Check the key", id="403"),
    pytest.param(Fault(status=422, body_shape="detail_list", message="Model not supported"), RequestRejected,
                 r"\(HTTP 422\): Model not supported.*Check the model name", id="422"),
    pytest.param(Fault(status=429, retry_after="30"), RateLimited,
                 r"rate limit was hit.*asks to wait 30 s.*Wait a moment and try again", id="429"),
    pytest.param(Fault(status=500, retry_after="0"), ProviderServerError,
                 r"server failed .*\(HTTP 500, tried 3x\).*try again later", id="500"),
    pytest.param(Fault(status=502, retry_after="0", body_shape="error_message"), ProviderServerError,
                 r"\(HTTP 502, tried 3x\).*try again later", id="502"),
    pytest.param(Fault(status=503, retry_after="0", body_shape="detail_list"), ProviderServerError,
                 r"\(HTTP 503, tried 3x\).*try again later", id="503"),
    pytest.param(Fault(latency_s=READ_TIMEOUT * 2), ProviderTimeout,
                 rf"did not answer within {READ_TIMEOUT:g} s.*Try again", id="timeout"),
    pytest.param(Fault(malformed_json=True), BadResponse, r"not valid JSON.*Try again", id="malformed"),
    pytest.param(Fault(missing_field="results"), BadResponse, r"no 'results' list.*Try again",
                 id="missing-results"),
    pytest.param(Fault(missing_field="relevance_score"), BadResponse, r"no numeric 'relevance_score'",
                 id="missing-score"),
    pytest.param(Fault(missing_field="index"), BadResponse, r"no whole-number 'index'", id="missing-index"),
    pytest.param(Fault(wrong_count=True), BadResponse, r"ranked 4 documents, expected 5.*Try again",
                 id="wrong-count"),
    pytest.param(Fault(bad_index=True), BadResponse, r"index \d+ is outside the 5 documents", id="bad-index"),
]


def cat_search(pg: Playground, collection: str, query: str = "cat cats food") -> Any:
    search = pg.search(keyword(collection, query))
    assert len(search.hits) == 5, "the wrong-count and bad-index expectations assume five candidates"
    return search


@pytest.mark.parametrize(("fault", "error", "says"), JINA_FAULTS)
def test_a_jina_fault_in_rerank_is_a_clear_error_and_the_next_rerank_works(
    pg: Playground, collection: str, jina_stand_in: JinaStandIn, fault: Fault, error: type, says: str
) -> None:
    search = cat_search(pg, collection)
    jina_stand_in.set_fault(fault)
    with pytest.raises(ProviderError) as failed:
        pg.rerank(search, JINA, 5)
    assert type(failed.value) is error
    assert re.search(says, str(failed.value), re.S), str(failed.value)
    assert failed.value.model == V3 and failed.value.provider == "jina"
    assert len(pg.cache) == 0  # a failure is never cached

    jina_stand_in.clear_faults()
    run = pg.rerank(search, JINA, 5)
    assert run.result.order == expected_order("cat cats food", [h.text for h in search.hits], V3)
    assert not run.result.cached and run.result.api_calls == 1


@pytest.mark.parametrize(("fault", "error", "says"), JINA_FAULTS)
def test_a_jina_fault_in_compare_leaves_the_other_models(
    pg: Playground, collection: str, jina_stand_in: JinaStandIn, fault: Fault, error: type, says: str
) -> None:
    search = cat_search(pg, collection)
    jina_stand_in.set_fault(fault)
    done: list[tuple[RerankChoice, object]] = []
    run = pg.compare(search, [JINA, LOCAL], on_done=lambda choice, outcome: done.append((choice, outcome)))
    assert list(run.errors) == [JINA.label] and list(run.results) == [LOCAL.label]
    assert type(run.errors[JINA.label]) is error
    assert re.search(says, str(run.errors[JINA.label]), re.S)
    assert list(run.rank_matrix.columns)[-1] == LOCAL.label  # the table and chart show what succeeded
    assert {choice for choice, _ in done} == {JINA, LOCAL}

    jina_stand_in.clear_faults()
    again = pg.compare(search, [JINA, LOCAL])
    assert not again.errors and list(again.results) == [JINA.label, LOCAL.label]
    assert again.results[LOCAL.label].cached and not again.results[JINA.label].cached
    assert again.results[JINA.label].order == expected_order("cat cats food", [h.text for h in search.hits], V3)


def test_a_wrong_jina_key_says_so_and_the_right_one_then_works(
    pg: Playground, collection: str, jina_stand_in: JinaStandIn
) -> None:
    pg.set_jina_key("not-the-key")
    search = cat_search(pg, collection)
    with pytest.raises(AuthRejected, match=r"rejected the API key.*Check the key \(JINAAI_APIKEY\)"):
        pg.rerank(search, JINA, 5)
    partial = pg.compare(search, [JINA, LOCAL])
    assert isinstance(partial.errors[JINA.label], AuthRejected) and LOCAL.label in partial.results
    pg.set_jina_key(TEST_JINA_KEY)
    assert pg.rerank(search, JINA, 5).result.api_calls == 1


def test_nothing_at_the_jina_base_url_says_check_the_base_url_then_works_when_fixed(
    pg: Playground, collection: str, jina_stand_in: JinaStandIn
) -> None:
    search = cat_search(pg, collection)
    pg.jina_base_url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ProviderUnreachable, match=r"Could not connect to the Jina API at http://127\.0\.0\.1:\d+ "
                                              r"\(tried 3x\).*JINA_BASE_URL"):
        pg.rerank(search, JINA, 5)
    partial = pg.compare(search, [JINA, LOCAL])
    assert isinstance(partial.errors[JINA.label], ProviderUnreachable) and LOCAL.label in partial.results
    assert jina_stand_in.requests == []
    pg.jina_base_url = jina_stand_in.url
    assert pg.rerank(search, JINA, 5).result.api_calls == 1


# -- Weaviate ----------------------------------------------------------------------------------------------


def test_weaviate_unreachable_at_connect_then_the_same_session_connects(
    weaviate_server: WeaviateEndpoint, collection: str
) -> None:
    closed = free_port()
    session = Playground(replace(spec_of(weaviate_server), http_port=closed))
    with pytest.raises(WeaviateUnreachable) as failed:
        session.connect()
    message = str(failed.value)
    assert f"127.0.0.1:{closed}" in message and "Check the host and port" in message and "running" in message
    assert not session.connected
    with pytest.raises(ConnectError, match="Not connected to Weaviate yet.*connect"):
        session.collections()
    try:
        session.connect(spec_of(weaviate_server))
        assert session.search(keyword(collection, "cat")).hits
        # a failed reconnect to a bad address keeps the working connection
        with pytest.raises(WeaviateUnreachable):
            session.connect(replace(spec_of(weaviate_server), http_port=closed))
        assert session.connected and session.spec.http_port == weaviate_server.http_port
        assert session.search(keyword(collection, "dogs")).hits
    finally:
        session.close()


def test_grpc_port_unreachable_at_connect_names_the_port(weaviate_server: WeaviateEndpoint, collection: str) -> None:
    closed = free_port()
    session = Playground(replace(spec_of(weaviate_server), grpc_port=closed, init_timeout=1.0))
    with pytest.raises(GrpcUnreachable) as failed:
        session.connect()
    assert f"gRPC port 127.0.0.1:{closed} does not" in str(failed.value)
    assert "check the gRPC port" in str(failed.value)
    try:
        session.connect(spec_of(weaviate_server))
        assert session.search(keyword(collection, "cat")).hits
    finally:
        session.close()


def test_a_collection_deleted_mid_session_is_collection_not_found(
    weaviate_server: WeaviateEndpoint, weaviate_client: weaviate.WeaviateClient, collection: str, pg: Playground
) -> None:
    doomed = make_collection(weaviate_client, "Doomed")
    first = pg.search(keyword(doomed, "cat"))
    assert doomed in {c.name for c in pg.collections()}
    weaviate_client.collections.delete(doomed)  # someone else deletes it while the page is open

    with pytest.raises(CollectionNotFound) as gone:
        pg.search(keyword(doomed, "dog"))
    assert f"Collection '{doomed}' no longer exists" in str(gone.value) and "reload the collection list" in str(
        gone.value
    )
    with pytest.raises(CollectionNotFound, match="does not exist on this server"):
        pg.collection(doomed, refresh=True)
    # what was already fetched can still be reranked; the server-side module cannot, and says why
    partial = pg.compare(first, [RerankChoice("weaviate_module", TINY), LOCAL])
    assert re.search(r"no longer exists|does not exist on this server",
                     str(partial.errors[RerankChoice("weaviate_module", TINY).label]))
    assert LOCAL.label in partial.results
    # the session goes on
    assert doomed not in {c.name for c in pg.collections()}
    assert pg.search(keyword(collection, "cat")).hits


def test_weaviate_killed_mid_session_and_restarted_the_next_search_reconnects(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The dead server is reported at once (weaviate-client alone would retry gRPC for a minute, logging
    "Retrying with exponential backoff"), and after the restart the session gets a fresh client."""
    caplog.set_level(logging.INFO, logger="weaviate-client")
    http_port = free_port()
    grpc_port = free_port()
    while grpc_port == http_port:
        grpc_port = free_port()
    data = tmp_path / "data"
    log = tmp_path / "weaviate.log"
    proc = start_weaviate(http_port=http_port, grpc_port=grpc_port, data_dir=data, log_path=log,
                          progress=lambda _: None)
    session = Playground(ConnectionSpec(http_port=http_port, grpc_port=grpc_port, init_timeout=2.0,
                                        weaviate_api_key=proc.endpoint.api_key))
    session.liveness_check_after_s = 0.0  # as if the user paused before each click: check before every call
    try:
        session.connect()
        name = make_collection(session.client, "Survivor")
        before = session.search(keyword(name, "cat cats food"))
        ranked_before = session.rerank(before, LOCAL, 3).result.order

        os.killpg(proc.pid, signal.SIGKILL)  # a crash, not a clean shutdown
        proc.wait(timeout=10)
        proc.stop()
        with pytest.raises(ConnectError) as down:
            session.search(keyword(name, "big cats"))
        assert f"Nothing answers at http://127.0.0.1:{http_port}" in str(down.value)
        assert "Weaviate is running" in str(down.value)
        dead_client = session.client

        proc = start_weaviate(http_port=http_port, grpc_port=grpc_port, data_dir=data, log_path=log,
                              progress=lambda _: None)
        after = session.search(keyword(name, "cat cats food"), force=True)  # reconnects by itself
        assert [h.uuid for h in after.hits] == [h.uuid for h in before.hits]
        assert [h.text for h in after.hits] == [h.text for h in before.hits]
        assert session.search(keyword(name, "big cats")).hits
        assert session.rerank(after, LOCAL, 3).result.order == ranked_before
        assert {c.name: c.count for c in session.collections()}[name] == len(CORPUS)
        assert session.client is not dead_client
        assert not [r for r in caplog.records if "Retrying with exponential backoff" in r.getMessage()]
    finally:
        session.close()
        proc.stop()


def test_a_search_right_after_weaviate_dies_says_nothing_answers_while_the_client_still_retries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 24: killed within 5 s of a search (so the idle liveness check does not run), the next search hung
    63.5 s in weaviate-client's gRPC backoff. Now the session checks the server over REST while the call runs
    and answers "Nothing answers at …" while the client is still backing off on its own thread."""
    import time

    http_port, grpc_port = free_port(), free_port()
    while grpc_port == http_port:
        grpc_port = free_port()
    proc = start_weaviate(http_port=http_port, grpc_port=grpc_port, data_dir=tmp_path / "data",
                          log_path=tmp_path / "weaviate.log", progress=lambda _: None)
    session = Playground(ConnectionSpec(http_port=http_port, grpc_port=grpc_port, init_timeout=2.0,
                                        weaviate_api_key=proc.endpoint.api_key))
    try:
        session.connect()
        name = make_collection(session.client, "JustDied")
        assert session.search(keyword(name, "cat cats food")).hits  # the channel is up and recently used
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stop()
        started = time.monotonic()
        with pytest.raises(ConnectError) as down:
            session.search(keyword(name, "big cats"))
        elapsed = time.monotonic() - started
        calls = [t for t in threading.enumerate() if t.name == "weaviate-call"]
        assert f"Nothing answers at http://127.0.0.1:{http_port}" in str(down.value)
        # The answer did not wait for the client: its call is still backing off (about a minute) on its thread.
        assert calls and any(t.is_alive() for t in calls)
        with capsys.disabled():
            print(f"\ntime to 'Nothing answers' after a kill: {elapsed:.2f} s")
    finally:
        session.close()
        proc.stop()


class TcpRelay:
    """Relays 127.0.0.1:<port> to a target port. ``pause()`` holds every byte (a stalled network link);
    ``resume()`` lets them through. Lets a test stall Weaviate's gRPC while its REST API stays up."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.flowing = threading.Event()
        self.flowing.set()
        self.closed = False
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, name="tcp-relay", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [downstream, upstream]
            for src, dst in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                self.flowing.wait()
                if self.closed:
                    break
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def pause(self) -> None:
        self.flowing.clear()

    def resume(self) -> None:
        self.flowing.set()

    def close(self) -> None:
        self.closed = True
        self.flowing.set()
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        with self.lock:
            for s in self.sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()


def test_a_stalled_search_times_out_with_a_clear_message_then_works(
    weaviate_server: WeaviateEndpoint, collection: str
) -> None:
    relay = TcpRelay(weaviate_server.grpc_port)
    session = Playground(replace(spec_of(weaviate_server), grpc_port=relay.port, query_timeout=1.0))
    try:
        session.connect()
        assert session.search(keyword(collection, "cat")).hits
        relay.pause()
        with pytest.raises(SearchError) as slow:
            session.search(keyword(collection, "big cats"))
        assert str(slow.value).startswith("Weaviate did not answer the search in time.")
        assert "Lower K or try again" in str(slow.value)
        assert session.connected
        relay.resume()
        assert session.search(keyword(collection, "big cats")).hits
    finally:
        relay.resume()
        session.close()
        relay.close()


def test_a_tiny_query_timeout_only_ever_fails_with_a_message_about_time(
    weaviate_server: WeaviateEndpoint, collection: str
) -> None:
    """With 1 ms per query any step may time out (collection info, the search, the reconnect); whichever
    does must say it was time, and a sane timeout then works in the same session. The gRPC link is stalled
    while each search runs, so a timeout is certain: every attempt must fail, and say so."""
    relay = TcpRelay(weaviate_server.grpc_port)
    session = Playground(replace(spec_of(weaviate_server), grpc_port=relay.port, query_timeout=0.001))
    failures: list[PlaygroundError] = []
    try:
        for i in range(3):
            request = replace(keyword(collection, " ".join(["cats dogs food"] * 50) + f" {i}"), mode=SearchMode.HYBRID,
                              embedder="local", limit=100)
            try:
                if not session.connected:
                    session.connect()
                relay.pause()  # nothing can answer this search in 1 ms now
                session.search(request)
            except PlaygroundError as err:
                failures.append(err)
            finally:
                relay.resume()
        assert len(failures) == 3, "a search over a stalled link returned instead of timing out"
        for err in failures:
            assert re.search(r"in time|timed out", str(err)), f"{type(err).__name__}: {err}"
            assert "Traceback" not in str(err) and "_InactiveRpcError" not in str(err)
        session.connect(spec_of(weaviate_server))
        assert session.search(keyword(collection, "cat")).hits
    finally:
        relay.resume()
        session.close()
        relay.close()


def test_the_liveness_check_does_not_use_the_query_timeout(weaviate_server: WeaviateEndpoint) -> None:
    """A 1 ms query timeout once made a live server look gone (the client's ``is_ready`` ran on it), so a timed-out
    search reconnected over the stalled link and said "gRPC does not answer" instead of "not in time"."""
    assert server_is_ready(replace(spec_of(weaviate_server), query_timeout=1e-6))
    assert not server_is_ready(replace(spec_of(weaviate_server), http_port=free_port()))


# -- the server-side module ----------------------------------------------------------------------------------

MODULE = RerankChoice("weaviate_module", TINY)
MODULE_FAULTS = [
    pytest.param(Fault(status=401), AuthRejected, r"Jina rejected the key Weaviate sent.*Check the Jina key",
                 id="401"),
    pytest.param(Fault(status=403), AuthRejected, r"rejected the key.*Check the Jina key", id="403"),
    pytest.param(Fault(status=429), RateLimited, r"rate-limited.*Wait a minute and retry", id="429"),
    pytest.param(Fault(status=422), RequestRejected, r"refused.*Check the collection's reranker model", id="422"),
    pytest.param(Fault(status=500), ProviderServerError, r"failed to rerank.*Try again", id="500"),
    pytest.param(Fault(status=503), ProviderServerError, r"failed to rerank.*Try again", id="503"),
    pytest.param(Fault(malformed_json=True), BadResponse, r"could not be used.*Try again", id="malformed"),
    pytest.param(Fault(wrong_count=True), BadResponse, r"could not be used", id="wrong-count"),
    pytest.param(Fault(bad_index=True), BadResponse, r"could not be used", id="bad-index"),
]


@pytest.fixture(scope="module")
def module_session(weaviate_with_jina_module: Any) -> Iterator[tuple[Playground, str]]:
    session = Playground(spec_of(weaviate_with_jina_module.endpoint), keys=ProviderKeys.of(JINAAI_APIKEY=TEST_JINA_KEY))
    session.connect()
    name = make_collection(session.client, "FaultsModule")
    yield session, name
    session.client.collections.delete(name)
    session.close()


@pytest.mark.namespace
@pytest.mark.parametrize(("fault", "error", "says"), MODULE_FAULTS)
def test_a_jina_fault_behind_the_weaviate_module_is_a_typed_error(
    module_session: tuple[Playground, str], server_side_jina_stand_in: JinaStandIn, fault: Fault, error: type,
    says: str,
) -> None:
    session, name = module_session
    session.cache.clear()
    search = session.search(keyword(name, "cat cats food"))
    server_side_jina_stand_in.set_fault(fault)
    with pytest.raises(ProviderError) as failed:
        session.rerank(search, MODULE, 5)
    assert type(failed.value) is error
    assert re.search(says, str(failed.value), re.S), str(failed.value)
    assert failed.value.model == TINY and failed.value.provider == "weaviate_module"
    partial = session.compare(search, [MODULE, LOCAL])
    assert type(partial.errors[MODULE.label]) is error and LOCAL.label in partial.results

    server_side_jina_stand_in.clear_faults()
    run = session.rerank(search, MODULE, 5)
    assert run.result.order == expected_order("cat cats food", [h.text for h in search.hits], TINY)


@pytest.mark.namespace
def test_the_module_path_labels_results_with_the_model_the_server_uses_now(
    module_session: tuple[Playground, str], server_side_jina_stand_in: JinaStandIn, weaviate_with_jina_module: Any
) -> None:
    """Another session changes the collection's reranker model after this one read it: the result is labelled
    with the model Weaviate really used (read at query time), and no cached result carries the wrong name."""
    session, name = module_session
    session.cache.clear()
    search = session.search(keyword(name, "cat cats food"))
    texts = [h.text for h in search.hits]
    first = session.rerank(search, MODULE, 5)
    assert (first.result.model, first.choice.model) == (TINY, TINY)
    other = Playground(spec_of(weaviate_with_jina_module.endpoint))
    other.connect()
    try:
        other.set_reranker_model(name, V3)
        again = session.rerank(search, MODULE, 5)  # the page still offers the model it read before
        assert (again.result.model, again.choice.model) == (V3, V3)
        assert not again.result.cached
        assert server_side_jina_stand_in.rerank_requests()[-1].json["model"] == V3
        assert again.result.order == expected_order("cat cats food", texts, V3)
        assert any("changed since this page read it" in note for note in again.result.notes)
        compared = session.compare(search, [MODULE, LOCAL])  # the Compare page's path says the same
        assert list(compared.results) == [f"{V3} · Weaviate module", LOCAL.label]
        assert compared.results[f"{V3} · Weaviate module"].model == V3
        other.set_reranker_model(name, TINY)
        back = session.rerank(search, MODULE, 5)
        assert back.result.model == TINY and back.result.cached  # TINY's own earlier answer, under its own name
    finally:
        other.set_reranker_model(name, TINY)
        other.close()
