"""Jina keys in the UI: a server key never reaches the browser; a pasted key stays in the session."""

from __future__ import annotations

import json

import pytest

from testkit.jina_stand_in import TEST_JINA_KEY
from tests.app.conftest import AppEnv
from tests.app.helpers import all_text, assert_healthy, values

pytestmark = pytest.mark.weaviate

SECRET = "jina_app_test_secret_0123456789"


def test_server_key_is_used_but_never_sent_to_the_browser(app_env: AppEnv) -> None:
    app_env.use_jina_key(SECRET)
    at = app_env.new_app().run()
    assert_healthy(at)
    assert any("Using the server's Jina key (JINAAI_APIKEY)" in c for c in values(at.sidebar.caption))
    assert at.sidebar.text_input(key="sidebar.jina_key").value == ""
    assert [b.label for b in at.sidebar.button] == ["Use this key", "Clear key"]
    assert SECRET not in all_text(at)
    at.button(key="search.run").click().run()  # Jina v2 by default; the stand-in rejects this key
    assert_healthy(at)
    assert SECRET not in all_text(at)
    assert SECRET not in json.dumps(at.query_params)
    sent = app_env.jina.rerank_requests()
    assert len(sent) >= 1 and sent[0].headers["authorization"] == f"Bearer {SECRET}"
    assert len(values(at.error)) == 1  # the stand-in's 401, shown inline


def test_clear_key_turns_jina_off(with_jina_key: AppEnv) -> None:
    at = with_jina_key.new_app().run()
    assert at.segmented_control(key="search.reranker").value == "jina"
    at.sidebar.button(key="sidebar.clear_key").click().run()
    assert_healthy(at)
    assert at.segmented_control(key="search.reranker").value == "local"  # the automatic choice follows the key
    at.segmented_control(key="search.reranker").set_value("jina").run()
    assert any("needs a Jina key" in w for w in values(at.warning))


def test_pasted_key_lights_up_jina(app_env: AppEnv) -> None:
    at = app_env.new_app().run()
    assert at.segmented_control(key="search.reranker").value == "local"
    at.sidebar.text_input(key="sidebar.jina_key").input(TEST_JINA_KEY)
    at.sidebar.button(key="sidebar.save_key").click().run()
    assert_healthy(at)
    assert at.segmented_control(key="search.reranker").value == "jina"
    at.button(key="search.run").click().run()
    assert_healthy(at)
    assert not at.error
    sent = app_env.jina.rerank_requests()
    assert len(sent) == 1 and sent[0].headers["authorization"] == f"Bearer {TEST_JINA_KEY}"
    assert TEST_JINA_KEY not in all_text(at)
    assert TEST_JINA_KEY not in json.dumps(at.query_params)
