"""Trust for shared deployments, through the UI (AppTest) against the real test Weaviate and the Jina stand-in.

The app runs as a team server would: the operator's ``WEAVIATE_API_KEY`` (the test Weaviate's key) and
``JINAAI_APIKEY`` (a canary the stand-in accepts) are set on the server.

- The Connect page, every connection kind typed to a recording listener, with reconnects and key changes:
  no request the listener sees carries an operator key; the page says why before the click.
- Locked mode refuses another host with a message, before any request.
- Token budgets: a session or deployment budget that a request would exceed stops it before the call.
- A shared link fills the form and runs the free search; a paid reranker waits for a click.
- Key-shaped text never enters the URL from any URL-carried field.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from rerank_playground.deployment import DEFAULT_SESSION_BUDGET, deployment_from_settings, deployment_meter
from testkit.recording_listener import RecordingListener
from tests.app.conftest import AppEnv
from tests.app.helpers import all_text, assert_healthy, frame_with, values

pytestmark = pytest.mark.weaviate

OPERATOR_JINA = "jina_OPERATOR_ui_trust_9a8b7c6d5e4f3a2b1c0d"
USER_JINA = "jina_USER_ui_trust_0a1b2c3d4e5f6a7b8c9d"
KEY_IN_QUERY = "jina_PASTED_in_query_1f2e3d4c5b6a79880706"
V3 = "jina-reranker-v3"


@pytest.fixture
def team(app_env: AppEnv) -> Iterator[AppEnv]:
    """The app configured like a team server: both operator keys set; the stand-in takes the operator's and the
    user's Jina key."""
    assert app_env.weaviate.api_key
    app_env.monkeypatch.setenv("WEAVIATE_API_KEY", app_env.weaviate.api_key)
    app_env.monkeypatch.setenv("JINAAI_APIKEY", OPERATOR_JINA)
    old = app_env.jina.api_key
    app_env.jina.api_key = OPERATOR_JINA
    try:
        yield app_env
    finally:
        app_env.jina.api_key = old


@pytest.fixture
def listener() -> Iterator[RecordingListener]:
    with RecordingListener() as recorder:
        yield recorder


def connect_to(at: AppTest, kind: str, listener: RecordingListener) -> AppTest:
    at.segmented_control(key="connect.kind").set_value(kind).run()
    if kind == "cloud":
        at.text_input(key="connect.cluster_url").set_value(listener.url).run()
    else:
        at.text_input(key="connect.host").set_value("127.0.0.1").run()
        at.number_input(key="connect.http_port").set_value(listener.http_port).run()
        at.number_input(key="connect.grpc_port").set_value(listener.grpc_port).run()
    assert any("never to an address typed here" in i for i in values(at.info)), values(at.info)  # says why, first
    at.button(key="connect.connect").click().run()
    assert_healthy(at)
    return at


def connect_home(at: AppTest, env: AppEnv) -> AppTest:
    at.segmented_control(key="connect.kind").set_value("local").run()
    at.text_input(key="connect.host").set_value("127.0.0.1").run()
    at.number_input(key="connect.http_port").set_value(env.weaviate.http_port).run()
    at.number_input(key="connect.grpc_port").set_value(env.weaviate.grpc_port).run()
    assert not any("never to an address typed here" in i for i in values(at.info))
    at.button(key="connect.connect").click().run()
    assert_healthy(at)
    assert not at.error, values(at.error)
    return at


def test_the_connect_page_never_sends_operator_keys_to_a_typed_host(team: AppEnv, listener: RecordingListener) -> None:
    operator_keys = (team.weaviate.api_key, OPERATOR_JINA)
    at = team.new_app().run()
    assert_healthy(at)
    at.switch_page("pages/connect.py").run()
    for kind in ("local", "demo", "custom", "cloud"):
        connect_to(at, kind, listener)
        if kind != "cloud":  # the cloud kind's gRPC host is derived from the URL: its REST probe is what went
            assert not at.error, (kind, values(at.error))
            connect_to(at, kind, listener)  # a reconnect to the same address
        connect_home(at, team)
    assert listener.carrying(*operator_keys) == []

    assert len(listener.seen("http")) >= 10


def test_after_key_changes_only_the_users_own_key_reaches_a_typed_host(
    team: AppEnv, listener: RecordingListener
) -> None:
    at = team.new_app().run()
    at.sidebar.text_input(key="sidebar.jina_key").input(USER_JINA)  # the user's own key...
    at.sidebar.button(key="sidebar.save_key").click().run()
    at.switch_page("pages/connect.py").run()
    assert not any("never to an address typed here" in i for i in values(at.info))  # nothing withheld now
    at.segmented_control(key="connect.kind").set_value("custom").run()
    at.text_input(key="connect.host").set_value("127.0.0.1").run()
    at.number_input(key="connect.http_port").set_value(listener.http_port).run()
    at.number_input(key="connect.grpc_port").set_value(listener.grpc_port).run()
    at.button(key="connect.connect").click().run()
    assert listener.carrying(USER_JINA), "...goes where the user says (and the recorder sees it)"
    # what "Use the server's key" does (AppTest does not redraw the sidebar after the first run)
    operator_key = deployment_from_settings(dict(os.environ)).jina_key
    at.session_state["_pg"].set_jina_key(operator_key)
    at.session_state["_jina_source"] = "server"
    connect_to(at, "custom", listener)  # reconnect with the server's key in the session
    connect_to(at, "local", listener)
    assert listener.carrying(team.weaviate.api_key, OPERATOR_JINA) == []


def test_locked_mode_refuses_another_host_before_any_request(team: AppEnv, listener: RecordingListener) -> None:
    team.monkeypatch.setenv("RERANK_PLAYGROUND_LOCKED", "true")
    at = team.new_app().run()
    at.switch_page("pages/connect.py").run()
    assert any("This deployment is locked" in c for c in values(at.caption))
    at.segmented_control(key="connect.kind").set_value("custom").run()
    at.text_input(key="connect.host").set_value("127.0.0.1").run()
    at.number_input(key="connect.http_port").set_value(listener.http_port).run()
    at.number_input(key="connect.grpc_port").set_value(listener.grpc_port).run()
    at.button(key="connect.connect").click().run()
    assert_healthy(at)
    errors = values(at.error)
    assert len(errors) == 1 and "locked to the configured Weaviate" in errors[0], errors
    assert any("Still connected" in i for i in values(at.info))
    assert listener.seen() == []  # refused before any network call
    connect_home(at, team)  # the configured server is still allowed


def test_the_session_budget_stops_a_paid_call_before_it_is_made(team: AppEnv) -> None:
    # > the bound of 5 candidates of up to 4,096 characters (UTF-8 bytes + special tokens)
    team.monkeypatch.setenv("RERANK_PLAYGROUND_SESSION_TOKEN_BUDGET", "25000")
    at = team.new_app().run()
    assert at.segmented_control(key="search.reranker").value == "jina"
    at.number_input(key="search.k").set_value(5).run()
    at.button(key="search.run").click().run()
    assert_healthy(at)
    assert not at.error, values(at.error)
    spent = at.session_state["_pg"].spend.session.spent
    assert 0 < spent < 25000 and len(team.jina.rerank_requests()) == 1
    at.number_input(key="search.k").set_value(400).run()
    at.text_input(key="search.query").set_value("volcano eruption history").run()
    assert any("Expected Jina tokens" in w for w in values(at.warning) + values(at.caption))
    at.button(key="search.run").click().run()
    assert_healthy(at)
    errors = values(at.error)
    assert len(errors) == 1 and "browser tab's token budget" in errors[0] and "upper bound" in errors[0], errors
    assert len(team.jina.rerank_requests()) == 1  # refused before the call
    assert frame_with(at, "explain score").shape[0] > 0  # the (free) search is still shown
    at.segmented_control(key="search.reranker").set_value("local").run()
    at.button(key="search.run").click().run()  # the local baseline costs nothing and still works
    assert not at.error


def test_the_deployment_budget_is_shared_by_every_session(team: AppEnv) -> None:
    first = team.new_app().run()
    first.button(key="search.run").click().run()
    assert not first.error
    team.monkeypatch.setenv("RERANK_PLAYGROUND_DEPLOYMENT_TOKEN_BUDGET", str(deployment_meter().spent + 10))
    second = team.new_app().run()  # another browser session, same server process
    second.button(key="search.run").click().run()
    assert_healthy(second)
    errors = values(second.error)
    assert len(errors) == 1 and "deployment's token budget" in errors[0], errors
    assert len(team.jina.rerank_requests()) == 1


def test_a_shared_link_runs_the_free_search_and_the_paid_rerank_waits_for_a_click(team: AppEnv) -> None:
    at = team.new_app()
    at.query_params.update({"collection": "DemoWiki", "mode": "keyword", "query": "volcano", "k": "20",
                            "reranker": "jina", "model": V3})
    at.run()
    assert_healthy(at)
    assert frame_with(at, "explain score").shape[0] > 0  # the search ran: its results are shown
    assert not at.get("plotly_chart")
    assert any("waits for your click" in i for i in values(at.info))
    assert team.jina.rerank_requests() == []  # no paid call
    assert any("Expected Jina tokens: about" in c for c in values(at.caption) + values(at.warning))
    at.button(key="search.run").click().run()
    assert_healthy(at)
    assert not at.error and len(team.jina.rerank_requests()) == 1 and len(at.get("plotly_chart")) == 1


def test_a_shared_compare_link_runs_only_the_free_models(team: AppEnv) -> None:
    at = team.new_app()
    at.query_params.update({"collection": "DemoWiki", "mode": "keyword", "query": "volcano", "k": "20",
                            "models": f"local:local-wordllama,jina:{V3}"})
    at.switch_page("pages/compare.py")
    at.run()
    assert_healthy(at)
    assert team.jina.rerank_requests() == []
    assert any("waits for your click" in i or "wait for your click" in i for i in values(at.info)), values(at.info)
    # The picker's own default is the link's models too: a browser that redraws it without its widget state
    # falls back to the default (an empty default dropped a link's models under load).
    picker = at.multiselect(key="compare.models")
    assert picker.value == ["local:local-wordllama", f"jina:{V3}"]
    assert list(picker.proto.default) == list(picker.indices)
    at.run()  # a later run of the page (the browser's window-size report causes one): the note stays until the click
    assert any("wait for your click" in i for i in values(at.info)), values(at.info)
    assert team.jina.rerank_requests() == []
    at.button(key="compare.run").click().run()
    assert_healthy(at)
    assert not at.error and len(team.jina.rerank_requests()) == 1
    assert not any("wait for your click" in i for i in values(at.info))


def test_who_pays_on_the_module_path_is_said(team: AppEnv) -> None:
    at = team.new_app().run()
    at.segmented_control(key="search.reranker").set_value("weaviate_module").run()
    text = " ".join(values(at.info))
    assert "Who pays" in text and "server's own JINAAI_APIKEY if it has one" in text and "operator's" in text


# ------------------------------------------------------------------------------------ keys and URLs


def test_a_key_pasted_into_the_query_box_before_it_was_saved_never_enters_the_url(app_env: AppEnv) -> None:
    at = app_env.new_app().run()
    assert not at.session_state["_pg"].has_jina_key  # no key saved anywhere yet
    at.segmented_control(key="search.reranker").set_value("local").run()
    at.text_input(key="search.query").set_value(KEY_IN_QUERY).run()
    assert_healthy(at)
    assert KEY_IN_QUERY not in json.dumps(dict(at.query_params))
    assert any("looks like an API key" in w for w in values(at.warning))
    at.button(key="search.run").click().run()
    assert KEY_IN_QUERY not in json.dumps(dict(at.query_params))
    at.text_input(key="search.query").set_value("volcano").run()  # an ordinary query is mirrored again
    assert at.query_params["query"] == "volcano"
    assert not any("looks like an API key" in w for w in values(at.warning))


def test_a_weaviate_key_typed_on_the_connect_page_never_enters_the_url(app_env: AppEnv) -> None:
    typed = "my-weaviate-key-typed-442211"
    at = app_env.new_app().run()
    at.switch_page("pages/connect.py").run()
    at.segmented_control(key="connect.kind").set_value("custom").run()
    at.text_input(key="connect.api_key").input(typed)
    at.button(key="connect.connect").click().run()  # wrong key for this server: refused, but it was typed
    at.switch_page("pages/search.py").run()
    at.text_input(key="search.query").set_value(typed).run()
    assert typed not in json.dumps(dict(at.query_params))
    assert any("looks like an API key" in w for w in values(at.warning))


@pytest.mark.parametrize("field", ["query", "collection", "prop", "mode", "models", "model", "reranker", "k"])
def test_a_link_carrying_a_key_in_any_field_does_not_use_it_or_keep_it(app_env: AppEnv, field: str) -> None:
    at = app_env.new_app()
    at.query_params.update({"collection": "DemoWiki", "mode": "keyword", "query": "volcano", "reranker": "local",
                            field: KEY_IN_QUERY})
    at.run()
    assert_healthy(at)
    assert KEY_IN_QUERY not in json.dumps(dict(at.query_params)), field
    assert KEY_IN_QUERY not in all_text(at)


def test_a_malformed_budget_setting_falls_back_to_the_finite_default(team: AppEnv) -> None:
    team.monkeypatch.setenv("RERANK_PLAYGROUND_SESSION_TOKEN_BUDGET", "lots")
    team.monkeypatch.setenv("RERANK_PLAYGROUND_LOCKED", "true")
    at = team.new_app().run()
    assert_healthy(at)
    pg = at.session_state["_pg"]
    assert pg.spend.budgets.session == DEFAULT_SESSION_BUDGET  # not "no limit"
    assert pg.policy.locked and pg.connected  # the other settings still apply


def test_a_link_to_a_search_that_embeds_with_jina_waits_for_the_click(team: AppEnv) -> None:
    """A text2vec-jinaai collection: its hybrid search embeds the query with Jina (inside Weaviate, on the key
    the app sends), so a link runs nothing paid, not even the search."""
    import weaviate.classes.config as wc
    from weaviate.classes.data import DataObject

    from testkit.jina_stand_in import stand_in_embedding
    from testkit.weaviate_data import connect

    name = "TrustServerVec"
    client = connect(team.weaviate)
    try:
        client.collections.delete(name)
        client.collections.create(
            name, properties=[wc.Property(name="body", data_type=wc.DataType.TEXT)],
            vector_config=wc.Configure.Vectors.text2vec_jinaai(base_url=team.jina.url, model="jina-embeddings-v3",
                                                               vectorize_collection_name=False),
        )
        docs = ["volcanoes erupt lava", "glaciers carve valleys", "lava cools into basalt"]
        assert not client.collections.use(name).data.insert_many(
            [DataObject(properties={"body": d}, vector=stand_in_embedding(d)) for d in docs]).errors
        at = team.new_app()
        at.query_params.update({"collection": name, "mode": "hybrid", "query": "lava", "reranker": "local"})
        at.run()
        assert_healthy(at)
        assert any("embedded by a paid API" in i for i in values(at.info)), values(at.info)
        assert team.jina.requests == []  # neither the app nor Weaviate called Jina
        at.button(key="search.run").click().run()
        assert_healthy(at)
        assert not at.error, values(at.error)
        assert len(team.jina.embedding_requests()) == 1  # the click did (through Weaviate, the operator's key)
    finally:
        client.collections.delete(name)
        client.close()
