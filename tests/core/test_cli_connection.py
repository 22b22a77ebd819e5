"""The CLI finds Weaviate as the app does: flags, then a resumed run's stored endpoints, then the environment over
``.streamlit/secrets.toml``, and a Weaviate on this machine gets the local server's per-install key (bound to that
server only). Nothing here connects: the spec is what a connection would use."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from rerank_playground.cli import connection_from
from rerank_playground.errors import InvalidInput
from rerank_playground.jina_http import API_KEY_ENV
from rerank_playground.keys import http_endpoint


def _args(**flags: object) -> argparse.Namespace:
    return argparse.Namespace(**{"url": None, "grpc_port": None, "jina_base_url": None, **flags})


@pytest.fixture
def local_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    cache = tmp_path / "cache"
    (cache / "weaviate").mkdir(parents=True)
    (cache / "weaviate" / "api-key").write_text("per-install-key\n")
    monkeypatch.setenv("RERANK_PLAYGROUND_CACHE", str(cache))
    monkeypatch.chdir(tmp_path)  # no project secrets file unless a test writes one
    return "per-install-key"


def test_a_local_weaviate_gets_the_per_install_key(local_key: str) -> None:
    spec, _, _ = connection_from(_args(), env={"WEAVIATE_URL": "http://127.0.0.1:8099", "WEAVIATE_GRPC_PORT": "50099"})
    assert (spec.url, spec.grpc_target) == ("http://127.0.0.1:8099", ("127.0.0.1", 50099))
    assert spec.weaviate_secret == local_key
    spec, _, _ = connection_from(_args(), env={})  # nothing set: the local server's default address
    assert spec.url == "http://127.0.0.1:8080" and spec.weaviate_secret == local_key


def test_a_remote_weaviate_never_gets_the_local_key(local_key: str) -> None:
    spec, _, _ = connection_from(_args(url="https://search.example.com"), env={})
    assert spec.weaviate_secret is None
    spec, _, _ = connection_from(_args(url="https://search.example.com"), env={"WEAVIATE_API_KEY": "theirs"})
    assert spec.weaviate_secret == "theirs"


def test_the_secrets_file_is_read_and_the_environment_wins(local_key: str, tmp_path: Path) -> None:
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(
        'WEAVIATE_URL = "http://10.0.0.5:8080"\nWEAVIATE_API_KEY = "from-secrets"\nJINAAI_APIKEY = "jina-secret"\n'
        'JINA_BASE_URL = "http://127.0.0.1:9999"\n')
    spec, keys, base = connection_from(_args(), env={})
    assert (spec.url, spec.weaviate_secret, base) == ("http://10.0.0.5:8080", "from-secrets", "http://127.0.0.1:9999")
    assert keys.secret_for(API_KEY_ENV, http_endpoint("http://127.0.0.1:9999")) == "jina-secret"
    # bound to the configured API
    assert keys.secret_for(API_KEY_ENV, http_endpoint("https://elsewhere.example.com")) is None
    spec, _, _ = connection_from(_args(), env={"WEAVIATE_URL": "http://10.0.0.6:8080"})
    assert spec.url == "http://10.0.0.6:8080"
    (tmp_path / ".streamlit" / "secrets.toml").write_text('WEAVIATE_URL = "unterminated\n')
    with pytest.raises(InvalidInput, match="could not be read as TOML"):
        connection_from(_args(), env={})


def test_a_resume_goes_back_to_the_stored_endpoints_unless_flags_say_otherwise(local_key: str) -> None:
    stored = {"url": "http://127.0.0.1:8123", "grpc_port": 50123, "jina_base_url": "http://127.0.0.1:7000"}
    env = {"WEAVIATE_URL": "http://127.0.0.1:8080", "JINA_BASE_URL": "https://api.jina.ai"}
    spec, _, base = connection_from(_args(), stored, env=env)
    assert (spec.url, spec.grpc_target[1], base) == ("http://127.0.0.1:8123", 50123, "http://127.0.0.1:7000")
    assert spec.weaviate_secret == local_key
    spec, _, base = connection_from(_args(url="http://127.0.0.1:8200", jina_base_url="http://127.0.0.1:7100"),
                                    stored, env=env)
    assert (spec.url, spec.grpc_target[1], base) == ("http://127.0.0.1:8200", 50123, "http://127.0.0.1:7100")


def test_a_stored_endpoint_never_receives_a_key_configured_for_another(local_key: str) -> None:
    """The store may be a team's: a run saved against another host must not pull our keys there on resume."""
    env = {"WEAVIATE_URL": "https://ours.example.com", "WEAVIATE_API_KEY": "our-weaviate-key",
           API_KEY_ENV: "our-jina-key", "JINA_BASE_URL": "https://jina.example.com"}
    stored = {"url": "https://theirs.example.net", "grpc_port": 443, "jina_base_url": "https://jina.example.net"}
    spec, keys, base = connection_from(_args(), stored, env=env)
    assert spec.url == "https://theirs.example.net:443"
    assert spec.weaviate_secret is None
    assert base == "https://jina.example.net" and keys.secret_for(API_KEY_ENV, http_endpoint(base)) is None
    same = {"url": "https://ours.example.com", "grpc_port": 50051, "jina_base_url": "https://jina.example.com"}
    spec, keys, base = connection_from(_args(), same, env=env)
    assert spec.weaviate_secret == "our-weaviate-key"
    assert keys.secret_for(API_KEY_ENV, http_endpoint(base)) == "our-jina-key"
