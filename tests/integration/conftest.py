"""Fixtures shared by the integration tests that build their own collections on the test Weaviate."""

from __future__ import annotations

import pytest

from rerank_playground.connection import ConnectionSpec, connect


@pytest.fixture(scope="module")
def spec(weaviate_server):  # type: ignore[no-untyped-def]
    return ConnectionSpec(http_host=weaviate_server.host, http_port=weaviate_server.http_port,
                          grpc_port=weaviate_server.grpc_port, weaviate_api_key=weaviate_server.api_key)


@pytest.fixture(scope="module")
def client(spec):  # type: ignore[no-untyped-def]
    c = connect(spec)
    yield c
    c.close()
