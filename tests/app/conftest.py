"""AppTest fixtures: the real test Weaviate with the demo collections, and the Jina stand-in.

The app reads its settings from the environment, so each test points it at the servers with
``monkeypatch.setenv`` before ``AppTest`` runs. Keys: ``with_jina_key`` sets ``JINAAI_APIKEY``; without it
no Jina key is configured.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rerank_playground.demo.datasets import DEMO_COLLECTION_NAMES
from rerank_playground.demo.loader import load_demo, wait_until_stable
from rerank_playground.deployment import SETTING_NAMES
from testkit.jina_stand_in import TEST_JINA_KEY, JinaStandIn
from testkit.weaviate_data import connect
from tests.app.helpers import APP, TIMEOUT
from weaviate_local.server import WeaviateEndpoint

ENV_NAMES = ("WEAVIATE_URL", "WEAVIATE_GRPC_PORT", "WEAVIATE_API_KEY", "JINAAI_APIKEY", "JINA_BASE_URL",
             "RERANK_PLAYGROUND_DEMO", *SETTING_NAMES)


@dataclass
class AppEnv:
    weaviate: WeaviateEndpoint
    jina: JinaStandIn
    monkeypatch: pytest.MonkeyPatch

    def new_app(self) -> AppTest:
        return AppTest.from_file(APP, default_timeout=TIMEOUT)

    def use_jina_key(self, key: str = TEST_JINA_KEY) -> None:
        self.monkeypatch.setenv("JINAAI_APIKEY", key)


@pytest.fixture(scope="session")
def demo_server(weaviate_server: WeaviateEndpoint) -> WeaviateEndpoint:
    """The session's Weaviate with DemoWiki and DemoJeopardy loaded (idempotent; a few seconds once)."""
    client = connect(weaviate_server)
    try:
        reports = load_demo(client)
        wait_until_stable(client, reports, written_at=time.monotonic())  # ready means stable
    finally:
        client.close()
    return weaviate_server


@pytest.fixture(autouse=True)
def private_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every app test gets its own judgments store: nothing touches the real per-user data folder."""
    path = tmp_path / "store.sqlite3"
    monkeypatch.setenv("RERANK_PLAYGROUND_DB", str(path))
    return path


@pytest.fixture
def app_env(
    monkeypatch: pytest.MonkeyPatch, demo_server: WeaviateEndpoint, jina_stand_in: JinaStandIn
) -> Iterator[AppEnv]:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WEAVIATE_URL", demo_server.url)
    monkeypatch.setenv("WEAVIATE_GRPC_PORT", str(demo_server.grpc_port))
    monkeypatch.setenv("JINA_BASE_URL", jina_stand_in.url)
    yield AppEnv(demo_server, jina_stand_in, monkeypatch)


@pytest.fixture
def with_jina_key(app_env: AppEnv) -> AppEnv:
    app_env.use_jina_key()
    return app_env


@pytest.fixture
def restore_demo_rerankers(demo_server: WeaviateEndpoint) -> Iterator[None]:
    """Put the demo collections' reranker model back after a test that changes it."""
    yield
    from weaviate.classes.config import Reconfigure

    client = connect(demo_server)
    try:
        for name in DEMO_COLLECTION_NAMES:
            config = client.collections.use(name).config.get()
            if config.reranker_config is not None:
                client.collections.use(name).config.update(
                    reranker_config=Reconfigure.Reranker.jinaai(model="jina-reranker-v2-base-multilingual")
                )
    finally:
        client.close()
