"""Operator keys never reach a host typed on the Connect page; the local Weaviate refuses strangers.

The operator's deployment is real: the test Weaviate (API-key auth on, its key is the operator's
``WEAVIATE_API_KEY``) and the Jina stand-in (the operator's ``JINA_BASE_URL``, holding the operator's Jina key).
The typed host is a recording listener (HTTP + gRPC on 127.0.0.1). A session connects to it as every connection
kind, reconnects, changes keys, goes back to the operator's server and out again; the listener must never see
an operator key, while it does see a key the user typed (so the recorder is known to work).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest
import weaviate
from weaviate.classes.init import AdditionalConfig, Timeout
from weaviate.exceptions import WeaviateBaseError

from rerank_playground.connection import ConnectionSpec
from rerank_playground.deployment import deployment_from_settings
from rerank_playground.errors import ConnectError, WeaviateAuthError
from rerank_playground.models import SearchMode, SearchRequest
from rerank_playground.playground import Playground
from rerank_playground.rerankers.choice import RerankChoice
from testkit.jina_stand_in import JinaStandIn
from testkit.recording_listener import RecordingListener
from testkit.weaviate_data import connect as connect_with_key
from weaviate_local.server import WeaviateEndpoint

pytestmark = pytest.mark.weaviate

OPERATOR_JINA = "jina_OPERATOR_trust_0f9e8d7c6b5a4f3e2d1c"
USER_JINA = "jina_USER_trust_a1b2c3d4e5f60718293a"
USER_WEAVIATE = "wv-user-typed-key-5566778899"
FIGURES: dict[str, Any] = {}


@pytest.fixture
def listener() -> Iterator[RecordingListener]:
    with RecordingListener() as recorder:
        yield recorder


@pytest.fixture
def operator_jina(jina_stand_in: JinaStandIn) -> Iterator[JinaStandIn]:
    old, jina_stand_in.api_key = jina_stand_in.api_key, OPERATOR_JINA
    try:
        yield jina_stand_in
    finally:
        jina_stand_in.api_key = old


@pytest.fixture(scope="module")
def docs(weaviate_server: WeaviateEndpoint) -> Iterator[str]:
    import weaviate.classes.config as wc

    name = "TrustDocs"
    client = connect_with_key(weaviate_server)
    try:
        client.collections.delete(name)
        client.collections.create(name, properties=[wc.Property(name="body", data_type=wc.DataType.TEXT)],
                                  vector_config=wc.Configure.Vectors.self_provided())
        client.collections.use(name).data.insert_many([{"body": t} for t in ("a cat", "two cats", "a dog")])
        yield name
        client.collections.delete(name)
    finally:
        client.close()


def typed_specs(listener: RecordingListener, pg: Playground) -> dict[str, ConnectionSpec]:
    """What the Connect page builds for a typed address: the operator's keys ride along (the Weaviate key in the
    spec, the Jina key in the session's ProviderKeys), bound elsewhere."""
    keys = {"weaviate_api_key": pg.spec.weaviate_key, "init_timeout": 2.0}
    http, grpc_port = listener.http_port, listener.grpc_port
    return {
        # the operator's REST endpoint with a typed gRPC port: the gRPC side is a typed host too
        "grpc-elsewhere": ConnectionSpec(kind="custom", http_port=pg.spec.http_port, grpc_port=grpc_port, **keys),
        "local": ConnectionSpec(kind="local", http_port=http, grpc_port=grpc_port, **keys),
        "demo": ConnectionSpec(kind="demo", http_port=http, grpc_port=grpc_port, **keys),
        "custom": ConnectionSpec(kind="custom", http_host="127.0.0.1", http_port=http, grpc_host="localhost",
                                 grpc_port=grpc_port, **keys),
        "cloud": ConnectionSpec(kind="cloud", cluster_url=listener.url, **keys),
    }


def poke_grpc(pg: Playground) -> None:
    """gRPC calls through the client the session built (its metadata carries whatever keys it holds)."""
    for _ in range(2):
        with contextlib.suppress(WeaviateBaseError):  # the listener answers UNIMPLEMENTED
            pg.client.collections.use("Anything").query.bm25("cat", limit=1)


def test_operator_keys_never_reach_a_typed_host(
    weaviate_server: WeaviateEndpoint, operator_jina: JinaStandIn, listener: RecordingListener, docs: str
) -> None:
    operator_weaviate = weaviate_server.api_key
    assert operator_weaviate
    dep = deployment_from_settings({
        "WEAVIATE_URL": weaviate_server.url, "WEAVIATE_GRPC_PORT": str(weaviate_server.grpc_port),
        "WEAVIATE_API_KEY": operator_weaviate, "JINAAI_APIKEY": OPERATOR_JINA, "JINA_BASE_URL": operator_jina.url,
    })
    pg = Playground(dep.spec, jina_base_url=dep.jina_base_url)
    pg.set_jina_key(dep.jina_key)
    request = SearchRequest(docs, "cat", mode=SearchMode.KEYWORD, limit=3, text_property="body")
    try:
        def at_home() -> None:
            """The operator's own servers do get the operator's keys."""
            pg.connect(dep.spec)
            search = pg.search(request, force=True)
            pg.cache.clear()
            pg.rerank(search, RerankChoice("jina", "jina-reranker-v3"), 3)

        at_home()
        assert operator_jina.rerank_requests()[-1].headers["authorization"] == f"Bearer {OPERATOR_JINA}"
        for kind, spec in typed_specs(listener, pg).items():
            try:
                pg.connect(spec)
            except ConnectError:
                # cloud: its gRPC host is derived (grpc-<host>:443), the REST probe still went;
                # grpc-elsewhere: the client goes without the key, so the operator's server refuses it
                assert kind in ("cloud", "grpc-elsewhere"), kind
                continue
            poke_grpc(pg)
            pg._reconnect()  # what a page does after the server went away and came back
            poke_grpc(pg)
            pg.set_jina_key(None)  # a key change rebuilds the client...
            pg.set_jina_key(dep.jina_key)  # ...and the server's key is back ("Use the server's key")
            poke_grpc(pg)
            at_home()
        carried_operator = listener.carrying(operator_weaviate, OPERATOR_JINA)

        # A key the user typed goes where the user says: the recorder does see it (it works), in REST and gRPC.
        user_spec = typed_specs(listener, pg)["custom"]
        pg.set_jina_key(USER_JINA)
        pg.connect(ConnectionSpec(**{**user_spec.__dict__, "weaviate_api_key": USER_WEAVIATE}))
        poke_grpc(pg)
        seen_user = listener.carrying(USER_JINA, USER_WEAVIATE)
    finally:
        pg.shutdown()

    FIGURES.update(http=len(listener.seen("http")), grpc=len(listener.seen("grpc")),
                   carrying_operator_key=len(carried_operator))
    print(f"\nlistener: {FIGURES['http']} HTTP and {FIGURES['grpc']} gRPC requests; "
          f"{len(carried_operator)} carried an operator key")
    assert carried_operator == []
    assert len(listener.seen("http")) >= 12 and len(listener.seen("grpc")) >= 18  # every kind was really tried
    assert {r.kind for r in seen_user} == {"http", "grpc"}
    grpc_meta = dict(next(r for r in seen_user if r.kind == "grpc").headers)
    assert grpc_meta["x-jinaai-api-key"] == USER_JINA and grpc_meta["authorization"] == f"Bearer {USER_WEAVIATE}"


def test_a_typed_host_that_needs_a_key_is_told_why_the_servers_key_is_not_sent(
    weaviate_server: WeaviateEndpoint,
) -> None:
    """The operator configured another address (here: localhost) for the same server: 127.0.0.1 is a typed host."""
    dep = deployment_from_settings({
        "WEAVIATE_URL": f"http://localhost:{weaviate_server.http_port}",
        "WEAVIATE_GRPC_PORT": str(weaviate_server.grpc_port),
        "WEAVIATE_API_KEY": weaviate_server.api_key or "",
    })
    typed = ConnectionSpec(http_port=weaviate_server.http_port, grpc_port=weaviate_server.grpc_port,
                           weaviate_api_key=dep.spec.weaviate_key, init_timeout=2.0)
    with pytest.raises(WeaviateAuthError, match="only sent to the Weaviate the operator configured"):
        Playground(dep.spec).connect(typed)


# ------------------------------------------------------------------------------------ the local server's door


def refused_for_auth(error: grpc.RpcError) -> bool:
    """1.38 answers UNAUTHENTICATED without a key, and UNKNOWN "unauthorized: invalid api key" for a wrong one."""
    details = (error.details() or "").lower()  # type: ignore[attr-defined]
    return error.code() == grpc.StatusCode.UNAUTHENTICATED or "unauthorized" in details  # type: ignore[attr-defined]


def test_the_local_weaviate_refuses_requests_without_its_key(weaviate_server: WeaviateEndpoint) -> None:
    assert weaviate_server.api_key
    base = weaviate_server.url
    with httpx.Client(timeout=5.0, trust_env=False) as http:
        assert http.get(f"{base}/v1/.well-known/ready").status_code == 200  # liveness stays open
        for path in ("/v1/meta", "/v1/schema", "/v1/objects"):
            assert http.get(base + path).status_code == 401, path
            assert http.get(base + path, headers={"Authorization": "Bearer not-the-key"}).status_code == 401
        keyed = {"Authorization": f"Bearer {weaviate_server.api_key}"}
        assert http.get(f"{base}/v1/schema", headers=keyed).status_code == 200

    with pytest.raises(WeaviateBaseError, match="401"):  # the client without the key cannot even connect
        weaviate.connect_to_local(
            host=weaviate_server.host, port=weaviate_server.http_port, grpc_port=weaviate_server.grpc_port,
            skip_init_checks=True, additional_config=AdditionalConfig(timeout=Timeout(init=5, query=10)),
        )

    # gRPC, spoken directly (the port listens on all interfaces): a search without the key, and with a wrong one
    channel = grpc.insecure_channel(f"127.0.0.1:{weaviate_server.grpc_port}")
    try:
        search = channel.unary_unary("/weaviate.v1.Weaviate/Search", request_serializer=None,
                                     response_deserializer=None)
        for metadata in ((), (("authorization", "Bearer not-the-key"),)):
            with pytest.raises(grpc.RpcError) as raw:
                search(b"", timeout=5, metadata=metadata)
            assert refused_for_auth(raw.value), raw.value
        with pytest.raises(grpc.RpcError) as keyed:  # with the key the same empty request gets past the door
            search(b"", timeout=5, metadata=(("authorization", f"Bearer {weaviate_server.api_key}"),))
        assert not refused_for_auth(keyed.value), keyed.value
    finally:
        channel.close()
