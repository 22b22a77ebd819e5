"""Connect page and the session's first connection, against the real test Weaviate."""

from __future__ import annotations

import socket

import pytest

from tests.app.conftest import AppEnv
from tests.app.helpers import assert_healthy, frame_with, values

pytestmark = pytest.mark.weaviate


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


def test_connect_page_shows_the_server(app_env: AppEnv) -> None:
    at = app_env.new_app().run()
    at.switch_page("pages/connect.py").run()
    assert_healthy(at)
    assert any(s.startswith("Connected to local Weaviate") for s in values(at.success))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["reranker-jinaai"] == "available"  # the test server enables the module (launcher env)
    assert int(metrics["Collections"]) >= 2
    assert at.segmented_control(key="connect.kind").value == "local"
    assert at.text_input(key="connect.host").value == app_env.weaviate.host
    assert at.number_input(key="connect.http_port").value == app_env.weaviate.http_port
    assert at.number_input(key="connect.grpc_port").value == app_env.weaviate.grpc_port
    assert "module" in frame_with(at, "module").columns


def test_wrong_port_is_actionable_and_keeps_the_old_connection(app_env: AppEnv) -> None:
    at = app_env.new_app().run()
    at.switch_page("pages/connect.py").run()
    at.number_input(key="connect.http_port").set_value(closed_port()).run()
    at.button(key="connect.connect").click().run()
    assert_healthy(at)
    errors = values(at.error)
    assert len(errors) == 1
    assert "Nothing answers at http://127.0.0.1:" in errors[0]
    assert "Check the host and port" in errors[0]
    assert any("Still connected to local Weaviate" in i for i in values(at.info))
    # the previous connection still searches
    at.switch_page("pages/search.py").run()
    at.button(key="search.run").click().run()
    assert_healthy(at)
    assert not at.error
    assert frame_with(at, "was", "rerank score").shape[0] == 10


def test_wrong_grpc_port_says_so(app_env: AppEnv) -> None:
    at = app_env.new_app().run()
    at.switch_page("pages/connect.py").run()
    at.number_input(key="connect.grpc_port").set_value(closed_port()).run()
    at.button(key="connect.connect").click().run()
    assert_healthy(at)
    errors = values(at.error)
    assert len(errors) == 1 and "gRPC" in errors[0]


def test_failed_auto_connect_is_not_an_error_wall(app_env: AppEnv) -> None:
    app_env.monkeypatch.setenv("WEAVIATE_URL", f"http://127.0.0.1:{closed_port()}")
    at = app_env.new_app().run()
    assert_healthy(at)
    assert values(at.sidebar.warning) == ["Not connected — open the Connect page"]
    assert not at.error
    assert any("Not connected" in i for i in values(at.info))

    at.switch_page("pages/connect.py").run()
    assert_healthy(at)
    assert any("Nothing answers" in e for e in values(at.error))  # why the startup connect failed
    at.number_input(key="connect.http_port").set_value(app_env.weaviate.http_port).run()
    # the local server's key is bound to the configured (wrong) address: this one asks for its own key
    assert any("never to an address typed here" in i for i in values(at.info))
    at.text_input(key="connect.api_key").input(app_env.weaviate.api_key or "")
    at.button(key="connect.connect").click().run()
    assert_healthy(at)
    assert any(s.startswith("Connected to local Weaviate") for s in values(at.success))
    assert not at.error
    at.switch_page("pages/search.py").run()
    at.button(key="search.run").click().run()
    assert_healthy(at)
    assert len(at.get("plotly_chart")) == 1


def test_cloud_form_asks_for_a_cluster_url(app_env: AppEnv) -> None:
    at = app_env.new_app().run()
    at.switch_page("pages/connect.py").run()
    at.segmented_control(key="connect.kind").set_value("cloud").run()
    assert at.text_input(key="connect.cluster_url").value == ""
    at.button(key="connect.connect").click().run()
    assert_healthy(at)
    assert any("Enter the cluster URL" in e for e in values(at.error))
    assert any("Still connected" in i for i in values(at.info))
