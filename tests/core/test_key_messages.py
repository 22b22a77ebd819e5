"""The core's key messages name the setting a script or the CLI can change (JINAAI_APIKEY), never the app's
sidebar; the app adds where it takes a key (``components/safe.text``)."""

from __future__ import annotations

import httpx
import pytest

from rerank_playground.errors import AuthRejected, KeyRequired, PlaygroundError
from rerank_playground.jina_http import post_json


def reply(status: int) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(status, json={"detail": "no"})))


def test_a_missing_or_rejected_key_names_the_setting_not_the_sidebar() -> None:
    for key, status, kind in ((None, 200, KeyRequired), ("bad", 401, AuthRejected)):
        with pytest.raises(kind) as info:
            post_json(reply(status), "https://jina.test", "/v1/rerank", key, {}, model="m")
        assert "JINAAI_APIKEY" in str(info.value) and "sidebar" not in str(info.value)


def test_the_app_adds_where_it_takes_a_key() -> None:
    from components.safe import SIDEBAR_HINT, text

    assert text(KeyRequired("m needs a key.", hint="Set JINAAI_APIKEY.")).endswith(SIDEBAR_HINT.replace(".", "\\."))
    assert SIDEBAR_HINT.split()[0] not in text(PlaygroundError("Something else."))
