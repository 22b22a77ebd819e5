"""Fixtures for the local Jina stand-in (``testkit.jina_stand_in``, a test double for api.jina.ai).
Loaded from tests/conftest.py.

- ``jina_server`` (session): one running :class:`JinaStandIn` on http://127.0.0.1:<free port>,
  key ``TEST_JINA_KEY``.
- ``jina_stand_in`` (function): the same server, reset (log, faults, latency) before and after the test.
- ``weaviate_with_jina_module`` (session): a dedicated Weaviate in its own mount namespace whose
  ``reranker-jinaai`` module reaches the stand-in as https://api.jina.ai (see ``testkit/namespace.py``);
  yields ``ServerSideJina(endpoint, stand_in, ca_pem)``. Slow to start (a second weaviate-server): mark users
  ``@pytest.mark.namespace``.
- ``server_side_jina_stand_in`` (function): that namespace's stand-in, reset before and after the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from testkit.jina_stand_in import TEST_JINA_KEY, JinaStandIn

if TYPE_CHECKING:
    from testkit.namespace import ServerSideJina

@pytest.fixture(scope="session")
def jina_server() -> Iterator[JinaStandIn]:
    with JinaStandIn(api_key=TEST_JINA_KEY) as server:
        yield server


@pytest.fixture
def jina_stand_in(jina_server: JinaStandIn) -> Iterator[JinaStandIn]:
    jina_server.reset()
    yield jina_server
    jina_server.reset()


@pytest.fixture(scope="session")
def weaviate_with_jina_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerSideJina]:
    from testkit.namespace import server_side_jina

    log_path = tmp_path_factory.mktemp("weaviate-jina-module") / "weaviate.log"
    with server_side_jina(TEST_JINA_KEY, log_path=log_path) as running:
        yield running


@pytest.fixture
def server_side_jina_stand_in(weaviate_with_jina_module: ServerSideJina) -> Iterator[JinaStandIn]:
    stand_in = weaviate_with_jina_module.stand_in
    stand_in.reset()
    yield stand_in
    stand_in.reset()
