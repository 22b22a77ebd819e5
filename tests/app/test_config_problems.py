"""Settings the operator got wrong are said on screen, not swallowed (issue 10, part 6).

No Weaviate is needed: the sidebar draws on the first run whether or not the connection works, and the
Weaviate address points at a closed port so the auto-connect fails fast.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit import config
from streamlit.runtime.secrets import Secrets
from streamlit.testing.v1 import AppTest

from tests.app.conftest import ENV_NAMES
from tests.app.helpers import APP, TIMEOUT, assert_healthy, values


@pytest.fixture
def unreachable_weaviate(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("WEAVIATE_URL", f"http://127.0.0.1:{port}")


@pytest.fixture
def secrets_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """st.secrets reading only ``path`` (written by the test), restored afterwards."""
    path = tmp_path / "secrets.toml"
    saved = config.get_option("secrets.files")
    config.set_option("secrets.files", [str(path)])
    monkeypatch.setattr(st, "secrets", Secrets())
    try:
        yield path
    finally:
        config.set_option("secrets.files", saved)


def sidebar_errors(at: AppTest) -> list[str]:
    return values(at.sidebar.error)


def test_a_malformed_secrets_file_is_reported_without_its_contents(
    unreachable_weaviate: None, secrets_file: Path
) -> None:
    secrets_file.write_text('JINAAI_APIKEY = "jina_canary_ab12\nWEAVIATE_URL = \n')  # unterminated string
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert_healthy(at)
    errors = sidebar_errors(at)
    assert any("secrets file (.streamlit/secrets.toml) could not be read" in e and "not valid TOML (at line 1"
               in e for e in errors), errors
    assert not any("jina_canary_ab12" in e for e in errors)


def test_a_missing_secrets_file_is_not_a_problem(unreachable_weaviate: None, secrets_file: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert_healthy(at)
    assert not [e for e in sidebar_errors(at) if "secrets" in e]


def test_an_invalid_grpc_port_is_reported(unreachable_weaviate: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEAVIATE_GRPC_PORT", "50O51")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert_healthy(at)
    assert any("WEAVIATE_GRPC_PORT is “50O51”, not a port number" in e for e in sidebar_errors(at))


def test_a_grpc_port_out_of_range_is_reported(unreachable_weaviate: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEAVIATE_GRPC_PORT", "70000")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert any("WEAVIATE_GRPC_PORT is “70000”" in e for e in sidebar_errors(at))
