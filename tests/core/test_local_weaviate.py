"""Where the app finds the local servers' per-install key: it reads it, never makes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from rerank_playground.local_weaviate import api_key_path, cache_root, read_local_api_key


def test_cache_root_default_is_outside_the_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RERANK_PLAYGROUND_CACHE", raising=False)
    assert cache_root() == Path.home() / ".cache" / "rerank-playground"


def test_the_key_lives_under_the_cache_root_from_the_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RERANK_PLAYGROUND_CACHE", str(tmp_path / "cache"))
    assert api_key_path() == tmp_path / "cache" / "weaviate" / "api-key"


def test_reading_a_missing_or_empty_key_gives_none_and_makes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RERANK_PLAYGROUND_CACHE", str(tmp_path / "cache"))
    assert read_local_api_key() is None
    assert not (tmp_path / "cache").exists()
    api_key_path().parent.mkdir(parents=True)
    api_key_path().write_text("\n")
    assert read_local_api_key() is None


def test_reading_the_key_drops_the_line_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RERANK_PLAYGROUND_CACHE", str(tmp_path / "cache"))
    api_key_path().parent.mkdir(parents=True)
    api_key_path().write_text("rp-abc123\n")
    assert read_local_api_key() == "rp-abc123"
