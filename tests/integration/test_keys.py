"""Keys never leak: canary keys driven through whole Playground sessions, on success and on every error path.

A canary is a fake key with a word no message, log line or export would ever contain on its own. Each test
collects everything a person could see — exception text and repr along the whole ``__cause__`` /
``__context__`` chain and its formatted traceback, every log record of every logger at DEBUG, the reprs of
the Playground, its spec and its rerankers, CSV/JSON exports, the rerank cache's keys — and asserts that no
canary is in any of it.

Real parts only: a test-local weaviate-server with API-key auth (the Weaviate canary is its only key), the
Jina stand-in holding the Jina canary, and for the server-side module path the Weaviate in its own mount
namespace whose ``api.jina.ai`` is the stand-in.
"""

from __future__ import annotations

import logging
import threading
import traceback
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest
import weaviate
import weaviate.classes.config as wc

from rerank_playground import tables
from rerank_playground.connection import ConnectionSpec
from rerank_playground.errors import (
    AuthRejected,
    ConnectError,
    GrpcUnreachable,
    KeyRequired,
    PlaygroundError,
    ProviderError,
    TlsMismatch,
    WeaviateAuthError,
    WeaviateUnreachable,
)
from rerank_playground.jina_http import make_client
from rerank_playground.keys import ProviderKeys
from rerank_playground.models import SearchMode, SearchRequest
from rerank_playground.playground import Playground
from rerank_playground.rerankers.choice import RerankChoice
from testkit.corpus import CORPUS
from testkit.jina_stand_in import Fault, JinaStandIn, stand_in_score
from testkit.weaviate_data import create_collection, docs, unique_collection_name
from weaviate_local.server import WeaviateEndpoint, free_port, start_weaviate

JINA_CANARY = "jina_CANARY_5f3e8d2c1b0a49f7e6d5c4b3a2918f7e"
JINA_CANARY_B = "jina_CANARY_b07c4a19e2d3f5a6b7c8d9e0f1a2b3c4"
JINA_CANARY_WRONG = "jina_CANARY_wr0ng0000e2d3f5a6b7c8d9e0f1a2b3"
WV_CANARY = "wv-CANARY-9b8a7c6d5e4f3a2b1c0d"
WV_CANARY_B = "wv-CANARY-b2c3d4e5f6a7b8c9d0e1"
WV_CANARY_WRONG = "wv-CANARY-wr0ng-5e4f3a2b1c0d"
CANARIES = [JINA_CANARY, JINA_CANARY_B, JINA_CANARY_WRONG, WV_CANARY, WV_CANARY_B, WV_CANARY_WRONG]

V3 = "jina-reranker-v3"
TINY = "jina-reranker-v1-tiny-en"
LOCAL = RerankChoice("local", "local-wordllama")


# -- what a person could see ---------------------------------------------------------------------------------


def exception_texts(err: BaseException) -> list[str]:
    """str, repr, args, message and hint of every exception in the chain, plus the formatted traceback."""
    texts = ["".join(traceback.format_exception(err))]
    seen: set[int] = set()
    stack: list[BaseException | None] = [err]
    while stack:
        exc = stack.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        texts += [str(exc), repr(exc), repr(exc.args)]
        if isinstance(exc, PlaygroundError):
            texts += [exc.message, exc.hint]
        stack += [exc.__cause__, exc.__context__]
    return texts


class Exposure:
    """Everything collected over a session, by where it came from."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.errors = 0

    def add(self, where: str, obj: Any) -> None:
        if isinstance(obj, BaseException):
            self.errors += 1
            self.seen += [(where, text) for text in exception_texts(obj)]
        elif isinstance(obj, bytes):
            self.seen.append((where, obj.decode("utf-8")))
        else:
            self.seen += [(where, str(obj)), (where, repr(obj))]

    def export(self, where: str, obj: Any) -> None:
        """The downloads a page offers for ``obj`` (a RerankRun, CompareRun or SearchResult)."""
        self.add(f"{where} json", tables.to_json_bytes(obj))
        if hasattr(obj, "movement"):
            self.add(f"{where} movement csv", tables.to_csv_bytes(tables.movement_table(obj.movement, None)))
            self.add(f"{where} summary csv", tables.to_csv_bytes(tables.summary_table(obj.movement.summary)))
        if hasattr(obj, "hits"):
            self.add(f"{where} results csv", tables.to_csv_bytes(tables.results_table(obj.hits, None)))
        if hasattr(obj, "rank_matrix") and not obj.rank_matrix.empty:
            self.add(f"{where} rank matrix csv", tables.to_csv_bytes(obj.rank_matrix))

    def playground(self, where: str, pg: Playground, search: Any = None) -> None:
        """Reprs of the session, its spec and rerankers, and the rerank cache's keys and values."""
        self.add(f"{where} playground", pg)
        self.add(f"{where} spec", pg.spec)
        self.add(f"{where} keys", pg.keys)
        self.add(f"{where} server", pg.server)
        if pg.connected:
            self.add(f"{where} weaviate client", pg.client)
        with pg.cache._lock:  # the cache offers no public view of its keys; read them under its lock
            items = list(pg.cache._data.items())
        for key, value in items:
            self.add(f"{where} cache key", key)
            self.add(f"{where} cache value", value)
        if search is not None:
            for choice in (RerankChoice("jina", V3), LOCAL):
                try:
                    reranker = pg.reranker(choice, search)
                except PlaygroundError as err:
                    self.add(f"{where} reranker {choice.label}", err)
                else:
                    self.add(f"{where} reranker {choice.label}", reranker)
                    self.add(f"{where} inner reranker {choice.label}", reranker.inner)

    def assert_clean(self, caplog: pytest.LogCaptureFixture | None = None, extra: tuple[str, ...] = ()) -> None:
        """No key, nor its last 16 characters (a cut-off key), in anything seen or logged."""
        needles = [part for key in (*CANARIES, *extra) for part in (key, key[-16:])]
        seen = list(self.seen)
        if caplog is not None:
            for record in caplog.records:
                seen.append((f"log {record.name}", caplog.handler.format(record)))
                seen.append((f"log args {record.name}", repr(record.args)))
        leaks = [(where, text) for where, text in seen if any(needle in text for needle in needles)]
        assert not leaks, "a key leaked:\n" + "\n".join(f"- {w}: {t[:300]!r}" for w, t in leaks[:10])


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog at DEBUG for every logger, also those that do not propagate to the root."""
    caplog.set_level(logging.DEBUG)
    silent: list[logging.Logger] = []
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            caplog.set_level(logging.DEBUG, logger=name)  # caplog restores every level afterwards
            if not logger.propagate:
                logger.addHandler(caplog.handler)
                silent.append(logger)
    yield caplog
    for logger in silent:
        logger.removeHandler(caplog.handler)


# -- real parts --------------------------------------------------------------------------------------------


class MultiKeyStandIn(JinaStandIn):
    """The Jina stand-in accepting several keys (one per simulated user); the log keeps what was sent."""

    def __init__(self, keys: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(api_key=keys[0], **kwargs)
        self.keys = set(keys)

    def _answer(self, method: str, path: str, headers: dict[str, str], raw: bytes, body: Any, fault: Any) -> Any:
        sent = headers.get("authorization", "")
        if sent.removeprefix("Bearer ") in self.keys:
            headers = {**headers, "authorization": f"Bearer {self.api_key}"}  # a copy: the log is untouched
        return super()._answer(method, path, headers, raw, body, fault)


@pytest.fixture(scope="module")
def auth_weaviate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WeaviateEndpoint]:
    """A weaviate-server that accepts only the two Weaviate canaries (anonymous access off)."""
    root = tmp_path_factory.mktemp("weaviate-auth")
    env = {
        "AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED": "false",
        "AUTHENTICATION_APIKEY_ENABLED": "true",
        "AUTHENTICATION_APIKEY_ALLOWED_KEYS": f"{WV_CANARY},{WV_CANARY_B}",
        "AUTHENTICATION_APIKEY_USERS": "alice,bob",
    }
    with start_weaviate(data_dir=root / "data", log_path=root / "weaviate.log", env=env, progress=lambda _: None) as p:
        yield p.endpoint


@pytest.fixture(scope="module")
def collection(auth_weaviate: WeaviateEndpoint) -> str:
    name = unique_collection_name("Keys")
    client = weaviate.connect_to_local(
        host=auth_weaviate.host, port=auth_weaviate.http_port, grpc_port=auth_weaviate.grpc_port,
        auth_credentials=weaviate.auth.AuthApiKey(WV_CANARY), skip_init_checks=True,
    )
    try:
        create_collection(client, name, docs(CORPUS, numbered="n"), properties={"n": wc.DataType.INT})
    finally:
        client.close()
    return name


@pytest.fixture(scope="module")
def jina() -> Iterator[MultiKeyStandIn]:
    with MultiKeyStandIn((JINA_CANARY, JINA_CANARY_B)) as server:
        yield server


@pytest.fixture
def stand_in(jina: MultiKeyStandIn) -> Iterator[MultiKeyStandIn]:
    jina.reset()
    yield jina
    jina.reset()


def spec_for(endpoint: WeaviateEndpoint, weaviate_key: str | None, **kw: Any) -> ConnectionSpec:
    return ConnectionSpec(http_host=endpoint.host, http_port=endpoint.http_port, grpc_port=endpoint.grpc_port,
                          weaviate_api_key=weaviate_key, init_timeout=2.0, **kw)


def with_jina(key: str | None) -> ProviderKeys:
    return ProviderKeys.of(JINAAI_APIKEY=key)


def keyword(collection: str, query: str, **kw: Any) -> SearchRequest:
    return SearchRequest(collection, query, mode=SearchMode.KEYWORD, text_property="body", **kw)


def expected_order(query: str, texts: list[str], model: str) -> tuple[int, ...]:
    return tuple(sorted(range(len(texts)), key=lambda i: (-stand_in_score(query, texts[i], model), i)))


# Every way the Jina API can fail, as the stand-in plays it. Retry-After "0" keeps the retried ones fast.
JINA_FAULTS: list[tuple[str, Fault]] = [
    ("400", Fault(status=400)),
    ("401", Fault(status=401, body_shape="error_message")),
    ("403", Fault(status=403)),
    ("422", Fault(status=422, body_shape="detail_list")),
    ("429", Fault(status=429, retry_after="30")),
    ("500", Fault(status=500, retry_after="0")),
    ("502", Fault(status=502, retry_after="0", body_shape="error_message")),
    ("503", Fault(status=503, retry_after="0")),
    ("timeout", Fault(latency_s=1.5)),
    ("malformed JSON", Fault(malformed_json=True)),
    ("missing results", Fault(missing_field="results")),
    ("missing score", Fault(missing_field="relevance_score")),
    ("wrong count", Fault(wrong_count=True)),
    ("bad index", Fault(bad_index=True)),
    ("key echoed back", Fault(status=401, message=f"invalid key {JINA_CANARY}")),
]


# -- a whole session ------------------------------------------------------------------------------------------


def test_a_whole_session_through_every_jina_fault_never_shows_a_key(
    auth_weaviate: WeaviateEndpoint, collection: str, stand_in: MultiKeyStandIn, all_logs: pytest.LogCaptureFixture
) -> None:
    seen = Exposure()
    http = make_client(timeout=0.75, connect_timeout=0.75)
    pg = Playground(spec_for(auth_weaviate, WV_CANARY), keys=with_jina(JINA_CANARY), jina_base_url=stand_in.url,
                    http_client=http)
    try:
        pg.connect()
        assert collection in {c.name for c in pg.collections()}
        first = pg.search(keyword(collection, "cat food"))
        hybrid = pg.search(replace(keyword(collection, "cats at night"), mode=SearchMode.HYBRID, embedder="local"))
        run = pg.rerank(first, RerankChoice("jina", V3), 3)
        assert run.result.order == expected_order("cat food", [h.text for h in first.hits], V3)
        assert stand_in.rerank_requests()[-1].headers["authorization"] == f"Bearer {JINA_CANARY}"
        both = pg.compare(hybrid, [RerankChoice("jina", V3), RerankChoice("jina", TINY), LOCAL])
        assert not both.errors and len(both.results) == 3
        for where, obj in [("search", first), ("hybrid", hybrid), ("rerank", run), ("compare", both)]:
            seen.export(where, obj)
        seen.playground("healthy", pg, first)

        for i, (label, fault) in enumerate(JINA_FAULTS):
            stand_in.set_fault(fault)
            search = pg.search(keyword(collection, f"cats dogs {i}"))
            with pytest.raises(ProviderError) as failed:
                pg.rerank(search, RerankChoice("jina", V3), 5)
            seen.add(f"{label} rerank", failed.value)
            partial = pg.compare(search, [RerankChoice("jina", TINY), LOCAL])
            assert list(partial.errors) == [RerankChoice("jina", TINY).label], label
            seen.export(f"{label} compare", partial)
            for err in partial.errors.values():
                seen.add(f"{label} compare error", err)
            stand_in.clear_faults()

        # a wrong key, then no key, then the right one again
        pg.set_jina_key(JINA_CANARY_WRONG)
        search = pg.search(keyword(collection, "cat windowsill"))
        with pytest.raises(AuthRejected) as wrong:
            pg.rerank(search, RerankChoice("jina", V3), 3)
        seen.add("wrong key", wrong.value)
        seen.playground("wrong key", pg, search)
        pg.set_jina_key(None)
        with pytest.raises(KeyRequired) as missing:
            pg.rerank(search, RerankChoice("jina", V3), 3)
        seen.add("no key", missing.value)
        pg.set_jina_key(JINA_CANARY)

        # nothing listens at the base URL
        pg.jina_base_url = f"http://127.0.0.1:{free_port()}"
        with pytest.raises(ProviderError) as refused:
            pg.rerank(search, RerankChoice("jina", TINY), 3)
        seen.add("refused", refused.value)
        pg.jina_base_url = stand_in.url

        last = pg.rerank(search, RerankChoice("jina", V3), 3)  # the session still works
        seen.export("after", last)
        seen.playground("after", pg, search)
    finally:
        pg.close()
        http.close()

    sent = {r.headers["authorization"] for r in stand_in.rerank_requests()}
    assert sent == {f"Bearer {JINA_CANARY}", f"Bearer {JINA_CANARY_WRONG}"}  # the keys really were used
    assert seen.errors == 2 * len(JINA_FAULTS) + 3
    assert "HTTP Request: POST" in all_logs.text  # httpx logged its request lines, and we read them
    assert any(r.name.startswith("httpcore") for r in all_logs.records)
    seen.assert_clean(all_logs)


def test_weaviate_connect_failures_never_show_a_key(
    auth_weaviate: WeaviateEndpoint, collection: str, all_logs: pytest.LogCaptureFixture
) -> None:
    seen = Exposure()
    closed = free_port()
    good = spec_for(auth_weaviate, WV_CANARY)
    cases: list[tuple[ConnectionSpec, type[ConnectError]]] = [
        (replace(good, http_port=closed), WeaviateUnreachable),
        (spec_for(auth_weaviate, WV_CANARY_WRONG), WeaviateAuthError),
        (spec_for(auth_weaviate, None), WeaviateAuthError),
        (replace(good, grpc_port=closed, init_timeout=1.0), GrpcUnreachable),
        (replace(good, http_secure=True), TlsMismatch),
        (replace(good, http_host="no-such-host.invalid"), WeaviateUnreachable),
    ]
    pg = Playground(cases[0][0], keys=with_jina(JINA_CANARY))  # the Jina key goes along on every connect
    try:
        for spec, error in cases:
            with pytest.raises(error) as failed:
                pg.connect(spec)
            assert not pg.connected
            seen.add(f"connect {error.__name__}", failed.value)
            seen.playground(f"after {error.__name__}", pg)
        # the same session then connects with the right key, and a failed reconnect keeps that connection
        info = pg.connect(good)
        with pytest.raises(WeaviateAuthError) as refused:
            pg.connect(spec_for(auth_weaviate, WV_CANARY_WRONG))
        seen.add("reconnect with a wrong key", refused.value)
        assert pg.server == info and pg.search(keyword(collection, "cat")).hits
        seen.playground("connected", pg)
    finally:
        pg.close()
    assert "HTTP Request: GET" in all_logs.text
    seen.assert_clean(all_logs)


# -- the server-side module: the key travels in the X-JinaAI-Api-Key header ---------------------------------


@pytest.mark.namespace
def test_the_module_path_sends_the_canary_in_the_header_and_never_shows_it(
    weaviate_with_jina_module: Any, server_side_jina_stand_in: JinaStandIn, all_logs: pytest.LogCaptureFixture
) -> None:
    endpoint, module_jina = weaviate_with_jina_module.endpoint, server_side_jina_stand_in
    seen = Exposure()
    name = unique_collection_name("KeysModule")
    spec = ConnectionSpec(http_host=endpoint.host, http_port=endpoint.http_port, grpc_port=endpoint.grpc_port,
                          weaviate_api_key=endpoint.api_key)
    pg = Playground(spec, keys=with_jina(JINA_CANARY))
    old_key, module_jina.api_key = module_jina.api_key, JINA_CANARY
    try:
        pg.connect()
        create_collection(pg.client, name, docs(CORPUS), reranker_model=TINY)
        module = RerankChoice("weaviate_module", TINY)
        search = pg.search(keyword(name, "cat food"))
        run = pg.rerank(search, module, 3)
        assert run.result.order == expected_order("cat food", [h.text for h in search.hits], TINY)
        assert module_jina.rerank_requests()[-1].headers["authorization"] == f"Bearer {JINA_CANARY}"
        seen.export("module rerank", run)

        faults = [Fault(status=401), Fault(status=500), Fault(status=429), Fault(status=422),
                  Fault(status=500, message=f"upstream said: bad key {JINA_CANARY}"), Fault(malformed_json=True)]
        for i, fault in enumerate(faults):
            module_jina.set_fault(fault)
            failing = pg.search(keyword(name, f"cats {i}"))
            with pytest.raises(ProviderError) as failed:
                pg.rerank(failing, module, 3)
            seen.add(f"module {fault.status}", failed.value)
            partial = pg.compare(failing, [module, LOCAL])
            assert list(partial.errors) == [module.label]
            seen.export(f"module {fault.status} compare", partial)
            module_jina.clear_faults()

        pg.set_jina_key(JINA_CANARY_WRONG)  # the client is rebuilt with the new header
        wrong = pg.search(keyword(name, "cat windowsill"))
        with pytest.raises(AuthRejected) as refused:
            pg.rerank(wrong, module, 3)
        seen.add("module wrong key", refused.value)
        assert module_jina.rerank_requests()[-1].headers["authorization"] == f"Bearer {JINA_CANARY_WRONG}"
        pg.set_jina_key(JINA_CANARY)
        assert pg.rerank(wrong, module, 3).result.ranked  # and back
        seen.playground("module", pg, search)
    finally:
        module_jina.api_key = old_key
        if pg.connected:
            pg.client.collections.delete(name)
        pg.close()
    assert seen.errors == len(faults) + 1
    seen.assert_clean(all_logs)


@pytest.mark.namespace
def test_the_module_path_scrubs_a_key_echoed_in_an_unmapped_error(
    weaviate_with_jina_module: Any, server_side_jina_stand_in: JinaStandIn
) -> None:
    """A key without Jina's ``jina_`` prefix (no pattern can spot it) echoed by a misbehaving server."""
    endpoint, module_jina = weaviate_with_jina_module.endpoint, server_side_jina_stand_in
    odd_key = "plain-7d6c5b4a39281706f5e4c3b2a1"
    name = unique_collection_name("KeysEcho")
    pg = Playground(ConnectionSpec(http_host=endpoint.host, http_port=endpoint.http_port,
                                   grpc_port=endpoint.grpc_port, weaviate_api_key=endpoint.api_key),
                    keys=with_jina(odd_key))
    old_key, module_jina.api_key = module_jina.api_key, odd_key
    try:
        pg.connect()
        create_collection(pg.client, name, docs(CORPUS), reranker_model=TINY)
        module_jina.set_fault(Fault(status=418, message=f"I am a teapot and your key is {odd_key}"))
        with pytest.raises(ProviderError) as failed:
            pg.rerank(pg.search(keyword(name, "cat")), RerankChoice("weaviate_module", TINY), 3)
        assert module_jina.rerank_requests()[-1].headers["authorization"] == f"Bearer {odd_key}"
        assert "418" in str(failed.value) and "teapot" in str(failed.value)  # the server's words, minus the key
        seen = Exposure()
        seen.add("echo", failed.value)
        seen.assert_clean(extra=(odd_key,))
    finally:
        module_jina.api_key = old_key
        if pg.connected:
            pg.client.collections.delete(name)
        pg.close()


# -- sessions side by side ----------------------------------------------------------------------------------


def session_script(collection: str, tag: str) -> list[tuple[str, str, SearchRequest | None]]:
    """What one simulated user does: its own queries (the tag makes them unique to the session)."""
    return [
        ("rerank", "jina", keyword(collection, f"cat food {tag}")),
        ("rerank", "local", keyword(collection, f"big cats {tag}")),
        ("compare", "", keyword(collection, f"cats dogs {tag}")),
        ("rerank", "jina", replace(keyword(collection, f"kittens food {tag}"), mode=SearchMode.HYBRID,
                                   embedder="local")),
    ]


def run_session(pg: Playground, script: list[tuple[str, str, SearchRequest | None]],
                start: threading.Barrier | None = None) -> list[tuple[str, ...]]:
    """Run ``script``; return what the user saw: uuids in reranked order per step."""
    if start is not None:
        start.wait(timeout=30)
    out: list[tuple[str, ...]] = []
    for action, reranker, request in script:
        assert request is not None
        search = pg.search(request)
        if action == "rerank":
            model = V3 if reranker == "jina" else LOCAL.model
            run = pg.rerank(search, RerankChoice(reranker, model), 5)
            out.append(tuple(m.uuid for m in run.movement.moves))
        else:
            both = pg.compare(search, [RerankChoice("jina", TINY), RerankChoice("jina", V3), LOCAL])
            assert not both.errors, both.errors
            for result in both.results.values():
                out.append(tuple(search.hits[i].uuid for i in result.order))
    return out


def test_two_sessions_with_different_keys_never_see_each_others_key_cache_or_results(
    auth_weaviate: WeaviateEndpoint, collection: str, stand_in: MultiKeyStandIn, all_logs: pytest.LogCaptureFixture
) -> None:
    keys = {"alice": (WV_CANARY, JINA_CANARY), "bob": (WV_CANARY_B, JINA_CANARY_B)}
    scripts = {user: session_script(collection, user) for user in keys}

    def new_session(user: str) -> Playground:
        weaviate_key, jina_key = keys[user]
        pg = Playground(spec_for(auth_weaviate, weaviate_key), keys=with_jina(jina_key), jina_base_url=stand_in.url)
        pg.connect()
        return pg

    alone = {}
    for user in keys:  # what each would see on its own
        pg = new_session(user)
        try:
            alone[user] = run_session(pg, scripts[user])
        finally:
            pg.close()
    stand_in.reset()

    sessions = {user: new_session(user) for user in keys}
    try:
        assert sessions["alice"].cache is not sessions["bob"].cache
        start = threading.Barrier(len(sessions))
        with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
            futures = {user: pool.submit(run_session, pg, scripts[user], start) for user, pg in sessions.items()}
            together = {user: f.result(timeout=120) for user, f in futures.items()}
        assert together == alone

        # every request the stand-in got carried the key of the session whose query it was
        owner = {f"Bearer {jina_key}": user for user, (_, jina_key) in keys.items()}
        requests = stand_in.rerank_requests()
        assert len(requests) == 2 * 4  # per session: 2 single reranks + 2 Jina models in the compare
        for request in requests:
            assert request.json["query"].endswith(owner[request.headers["authorization"]])

        # Bob asks exactly what Alice asked: his own cache is empty, so his own key pays for it
        alice_step = scripts["alice"][0][2]
        assert alice_step is not None
        search = sessions["bob"].search(alice_step)
        bob_run = sessions["bob"].rerank(search, RerankChoice("jina", V3), 5)
        assert not bob_run.result.cached and bob_run.result.api_calls == 1
        assert stand_in.rerank_requests()[-1].headers["authorization"] == f"Bearer {JINA_CANARY_B}"
        assert tuple(m.uuid for m in bob_run.movement.moves) == alone["alice"][0]
        # a third session without a Jina key gets no one's paid-for result
        keyless = Playground(spec_for(auth_weaviate, WV_CANARY), keys=with_jina(None), jina_base_url=stand_in.url)
        keyless.connect()
        try:
            with pytest.raises(KeyRequired):
                keyless.rerank(keyless.search(alice_step), RerankChoice("jina", V3), 5)
        finally:
            keyless.close()

        seen = Exposure()
        for user, pg in sessions.items():
            other = "bob" if user == "alice" else "alice"
            view = [repr(pg), repr(pg.spec)] + [repr(k) + repr(v) for k, v in list(pg.cache._data.items())]
            assert not any(key in text for key in keys[other] for text in view)
            seen.playground(user, pg)
        seen.assert_clean(all_logs)
    finally:
        for pg in sessions.values():
            pg.close()


def test_five_concurrent_sessions_see_only_their_own_results(
    auth_weaviate: WeaviateEndpoint, collection: str, stand_in: MultiKeyStandIn
) -> None:
    """Five users at once, each with its own Playground, key and cache: each sees what it would alone."""
    extra = tuple(f"jina_CANARY_user{i}_{uuid.uuid4().hex}" for i in range(5))
    stand_in.keys.update(extra)
    try:
        users = [f"user{i}" for i in range(5)]
        scripts = {user: session_script(collection, user) for user in users}
        jina_keys = dict(zip(users, extra, strict=True))

        def new_session(user: str) -> Playground:
            pg = Playground(spec_for(auth_weaviate, WV_CANARY if user < "user3" else WV_CANARY_B),
                            keys=with_jina(jina_keys[user]), jina_base_url=stand_in.url)
            pg.connect()
            return pg

        alone = {}
        for user in users:  # what each would see on its own
            pg = new_session(user)
            try:
                alone[user] = run_session(pg, scripts[user])
            finally:
                pg.close()
        stand_in.reset()

        sessions = {user: new_session(user) for user in users}
        try:
            start = threading.Barrier(len(users))
            with ThreadPoolExecutor(max_workers=len(users)) as pool:
                futures = {u: pool.submit(run_session, sessions[u], scripts[u], start) for u in users}
                together = {u: f.result(timeout=180) for u, f in futures.items()}
        finally:
            for pg in sessions.values():
                pg.close()
        assert together == alone
        owner = {f"Bearer {key}": user for user, key in jina_keys.items()}
        requests = stand_in.rerank_requests()
        assert len(requests) == 4 * len(users)
        for request in requests:
            assert request.json["query"].endswith(owner[request.headers["authorization"]])
        assert {owner[r.headers["authorization"]] for r in requests} == set(users)
    finally:
        stand_in.keys.difference_update(extra)
