"""Status and fault mapping of the shared Jina HTTP plumbing (httpx.MockTransport, no network)."""

from __future__ import annotations

import json
import logging
import socket
import traceback
from collections.abc import Callable

import httpx
import pytest

from rerank_playground.errors import (
    AuthRejected,
    BadResponse,
    KeyRequired,
    PlaygroundError,
    ProviderError,
    ProviderServerError,
    ProviderTimeout,
    ProviderUnreachable,
    RateLimited,
    RequestRejected,
)
from rerank_playground.jina_http import (
    DEFAULT_BASE_URL,
    RetryPolicy,
    make_client,
    parse_retry_after,
    post_json,
    resolve_base_url,
    server_detail,
)

# Deliberately NOT in the "jina_..." shape the generic scrubber recognises: only our own handling can hide it.
CANARY = "canary-Zq81xPlm0Wt4"
MODEL = "jina-reranker-v2-base-multilingual"
BASE = "https://jina.test"
OK_BODY = {"model": MODEL, "usage": {"total_tokens": 7}, "results": [{"index": 0, "relevance_score": 0.5}]}


class SleepRecorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def policy(attempts: int = 3, sleep: SleepRecorder | None = None, **kw: float) -> RetryPolicy:
    return RetryPolicy(
        attempts=attempts, base_delay=0.5, max_delay=8.0, jitter=0.0, sleep=sleep or SleepRecorder(), **kw
    )


def scripted(*replies: httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]):
    """A MockTransport handler answering with ``replies`` in turn (the last one repeats)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        reply = replies[min(len(seen), len(replies)) - 1]
        if isinstance(reply, Exception):
            raise reply
        if callable(reply):
            return reply(request)
        return reply

    return handler, seen


def client_for(handler) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler), timeout=httpx.Timeout(5.0, connect=1.0))


def call(handler, *, key: str | None = CANARY, retry: RetryPolicy | None = None):
    with client_for(handler) as client:
        return post_json(
            client,
            BASE,
            "/v1/rerank",
            key,
            {"model": MODEL, "query": "q"},
            model=MODEL,
            retry=retry or policy(),
        )


def assert_no_key(err: BaseException, key: str = CANARY) -> None:
    rendered = "".join(traceback.format_exception(err))
    for text in (str(err), repr(err), rendered, repr(err.args)):
        assert key not in text
    if isinstance(err, PlaygroundError):
        assert key not in err.message and key not in err.hint


# -- success -------------------------------------------------------------------------------------------------


def test_success_sends_headers_and_body_and_returns_json() -> None:
    handler, seen = scripted(
        httpx.Response(200, json=OK_BODY, headers={"X-RateLimit-Remaining-Requests": "9"})
    )
    reply = call(handler)
    assert reply.data == OK_BODY
    assert reply.attempts == 1
    assert reply.headers["x-ratelimit-remaining-requests"] == "9"
    (request,) = seen
    assert str(request.url) == "https://jina.test/v1/rerank"
    assert request.headers["authorization"] == f"Bearer {CANARY}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"
    assert json.loads(request.content) == {"model": MODEL, "query": "q"}


def test_base_url_from_env_and_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JINA_BASE_URL", raising=False)
    assert resolve_base_url() == DEFAULT_BASE_URL == "https://api.jina.ai"
    monkeypatch.setenv("JINA_BASE_URL", "http://127.0.0.1:9999/")
    assert resolve_base_url() == "http://127.0.0.1:9999"
    assert resolve_base_url("https://x.test/") == "https://x.test"


def test_make_client_has_explicit_timeouts() -> None:
    with make_client(timeout=12.0, connect_timeout=3.0) as client:
        assert client.timeout.read == 12.0
        assert client.timeout.connect == 3.0


# -- missing key ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "", "   "])
def test_missing_key_raises_key_required_without_calling(key: str | None) -> None:
    handler, seen = scripted(httpx.Response(200, json=OK_BODY))
    with pytest.raises(KeyRequired) as info:
        call(handler, key=key)
    assert seen == []
    msg = str(info.value)
    assert "JINAAI_APIKEY" in msg and "sidebar" not in msg and "https://jina.ai/reranker" in msg  # the UI adds where
    assert MODEL in msg and info.value.model == MODEL


# -- 4xx -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_auth_errors(status: int) -> None:
    handler, seen = scripted(httpx.Response(status, json={"detail": f"Invalid API key {CANARY}"}))
    with pytest.raises(AuthRejected) as info:
        call(handler)
    assert len(seen) == 1  # not retried
    assert f"HTTP {status}" in str(info.value)
    assert "https://jina.ai/" in str(info.value)
    assert_no_key(info.value)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"detail": "Model 'nope' is not supported"}, "Model 'nope' is not supported"),
        (
            {"detail": [{"loc": ["body", "model"], "msg": "unknown model", "type": "value_error"}]},
            "model: unknown model",
        ),
        ({"error": {"message": "top_n must be positive", "code": 400}}, "top_n must be positive"),
    ],
    ids=["detail_str", "detail_list", "error_message"],
)
@pytest.mark.parametrize("status", [400, 422])
def test_validation_errors_quote_the_server_detail(status: int, body: dict, expected: str) -> None:
    handler, seen = scripted(httpx.Response(status, json=body))
    with pytest.raises(RequestRejected) as info:
        call(handler)
    assert len(seen) == 1
    assert expected in str(info.value)
    assert f"HTTP {status}" in str(info.value)


def test_validation_detail_is_scrubbed_and_shortened() -> None:
    body = {"detail": [{"loc": ["header", "authorization"], "msg": f"key {CANARY} " + "x" * 1000}]}
    handler, _ = scripted(httpx.Response(422, json=body))
    with pytest.raises(RequestRejected) as info:
        call(handler)
    assert_no_key(info.value)
    assert len(str(info.value)) < 600


def test_server_detail_handles_plain_text() -> None:
    response = httpx.Response(400, text=f"bad request from {CANARY}")
    assert server_detail(response, CANARY) == "bad request from ***"


def test_404_points_at_the_base_url() -> None:
    handler, _ = scripted(httpx.Response(404, json={"detail": "Not Found"}))
    with pytest.raises(BadResponse, match="JINA_BASE_URL"):
        call(handler)


# -- 429 -----------------------------------------------------------------------------------------------------


def test_429_with_retry_after_waits_exactly_that_then_succeeds() -> None:
    sleep = SleepRecorder()
    handler, seen = scripted(
        httpx.Response(429, json={"detail": "rate limited"}, headers={"Retry-After": "3"}),
        httpx.Response(200, json=OK_BODY),
    )
    reply = call(handler, retry=policy(sleep=sleep))
    assert sleep.waits == [3.0]
    assert len(seen) == 2 and reply.attempts == 2


def test_429_without_retry_after_backs_off_exponentially_then_raises() -> None:
    sleep = SleepRecorder()
    handler, seen = scripted(httpx.Response(429, json={"detail": "slow down"}))
    with pytest.raises(RateLimited) as info:
        call(handler, retry=policy(attempts=3, sleep=sleep))
    assert len(seen) == 3
    assert sleep.waits == [0.5, 1.0]  # base_delay * 2**(n-1), jitter off
    assert info.value.retry_after is None
    assert "tried 3x" in str(info.value)


def test_429_retry_after_beyond_cap_is_not_waited_out() -> None:
    sleep = SleepRecorder()
    handler, seen = scripted(httpx.Response(429, json={"detail": "quota"}, headers={"Retry-After": "60"}))
    with pytest.raises(RateLimited) as info:
        call(handler, retry=policy(sleep=sleep, retry_after_cap=10.0))
    assert len(seen) == 1 and sleep.waits == []
    assert info.value.retry_after == 60.0
    assert "60 s" in str(info.value)


def test_429_retry_after_on_every_attempt_raises_with_retry_after() -> None:
    sleep = SleepRecorder()
    handler, seen = scripted(httpx.Response(429, json={"detail": "x"}, headers={"Retry-After": "2"}))
    with pytest.raises(RateLimited) as info:
        call(handler, retry=policy(attempts=2, sleep=sleep))
    assert sleep.waits == [2.0] and len(seen) == 2
    assert info.value.retry_after == 2.0


def test_jitter_is_bounded() -> None:
    sleep = SleepRecorder()
    handler, _ = scripted(httpx.Response(503, json={"detail": "busy"}))
    retry = RetryPolicy(attempts=4, base_delay=0.5, max_delay=1.5, jitter=0.25, sleep=sleep)
    with pytest.raises(ProviderServerError):
        call(handler, retry=retry)
    assert len(sleep.waits) == 3
    for wait, floor in zip(sleep.waits, [0.5, 1.0, 1.5], strict=True):
        assert floor <= wait <= floor + 0.25


def test_parse_retry_after() -> None:
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: no wait


# -- 5xx -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_retried_then_raises_server_error(status: int) -> None:
    sleep = SleepRecorder()
    handler, seen = scripted(httpx.Response(status, json={"error": {"message": f"boom {CANARY}"}}))
    with pytest.raises(ProviderServerError) as info:
        call(handler, retry=policy(attempts=3, sleep=sleep))
    assert len(seen) == 3 and len(sleep.waits) == 2
    assert f"HTTP {status}" in str(info.value)
    assert_no_key(info.value)


def test_5xx_then_success_recovers() -> None:
    handler, seen = scripted(httpx.Response(502, text="bad gateway"), httpx.Response(200, json=OK_BODY))
    reply = call(handler)
    assert reply.data == OK_BODY and reply.attempts == 2 and len(seen) == 2


# -- transport failures --------------------------------------------------------------------------------------


def test_read_timeout_maps_to_jina_timeout_and_is_not_retried() -> None:
    handler, seen = scripted(httpx.ReadTimeout("timed out"))
    with pytest.raises(ProviderTimeout) as info:
        call(handler)
    assert len(seen) == 1
    assert "5 s" in str(info.value)
    assert_no_key(info.value)


def test_connect_error_retried_then_unreachable() -> None:
    sleep = SleepRecorder()
    handler, seen = scripted(httpx.ConnectError("nope"))
    with pytest.raises(ProviderUnreachable) as info:
        call(handler, retry=policy(attempts=3, sleep=sleep))
    assert len(seen) == 3 and sleep.waits == [0.5, 1.0]
    assert BASE in str(info.value)
    assert_no_key(info.value)


def test_connection_refused_on_a_closed_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    sleep = SleepRecorder()
    with make_client(timeout=2.0, connect_timeout=1.0) as client, pytest.raises(ProviderUnreachable) as info:
        post_json(client, base, "/v1/rerank", CANARY, {"model": MODEL}, model=MODEL, retry=policy(2, sleep))
    assert base in str(info.value)
    assert "tried 2x" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert_no_key(info.value)


def test_userinfo_in_base_url_is_not_shown() -> None:
    handler, _ = scripted(httpx.ConnectError("nope"))
    with client_for(handler) as client, pytest.raises(ProviderUnreachable) as info:
        post_json(
            client, "https://user:pw-secret@jina.test", "/v1/rerank", CANARY, {}, model=MODEL, retry=policy(1)
        )
    assert "pw-secret" not in str(info.value)


# -- bad bodies ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, content=b'{"results": [', headers={"Content-Type": "application/json"}),
        httpx.Response(200, text="<html>gateway</html>"),
        httpx.Response(200, json=[1, 2, 3]),
    ],
    ids=["truncated", "html", "not-an-object"],
)
def test_bad_json_maps_to_bad_response(response: httpx.Response) -> None:
    handler, _ = scripted(response)
    with pytest.raises(BadResponse) as info:
        call(handler)
    assert_no_key(info.value)


def test_every_mapped_error_is_a_provider_error_naming_provider_and_model() -> None:
    for response in (httpx.Response(401), httpx.Response(422), httpx.Response(429), httpx.Response(500)):
        handler, _ = scripted(response)
        with pytest.raises(ProviderError) as info:
            call(handler, retry=policy(1))
        assert info.value.model == MODEL and info.value.provider == "jina"


def test_no_log_line_carries_the_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for response in (httpx.Response(200, json=OK_BODY), httpx.Response(401), httpx.Response(503)):
        handler, _ = scripted(response)
        try:
            call(handler, retry=policy(2))
        except ProviderError as err:
            logging.getLogger("test").exception("reranker failed: %s", err)
    assert caplog.records  # httpx does log the request line; it must not carry the key
    assert CANARY not in caplog.text


# -- the reply parsers: written once for /v1/rerank and /v1/embeddings --------------------------------------


@pytest.mark.parametrize(
    ("items", "says"),
    [
        ([{"index": 0}, {"index": 0}], "index 0 appears twice"),
        ([{"index": 0}, {"index": 5}], "index 5 is outside the 2"),
        ([{"index": 0}, {"index": "1"}], "has no whole-number 'index'"),
        ([{"index": 0}, {"index": True}], "has no whole-number 'index'"),
        ([{"index": 0}, ["not", "an", "object"]], "is not an object"),
    ],
)
def test_both_replies_check_indices_with_the_same_rules(items: list, says: str) -> None:
    from rerank_playground.jina_embeddings import parse_embeddings_response
    from rerank_playground.rerankers.jina import parse_rerank_response

    scored = [{**item, "relevance_score": 0.5} if isinstance(item, dict) else item for item in items]
    vectors = [{**item, "embedding": [0.1, 0.2]} if isinstance(item, dict) else item for item in items]
    with pytest.raises(BadResponse, match=says) as reranked:
        parse_rerank_response({"results": scored}, n=2, expected=2, model="m")
    with pytest.raises(BadResponse, match=says) as embedded:
        parse_embeddings_response({"data": vectors}, n=2, model="m")
    assert reranked.value.provider == embedded.value.provider == "jina"
    assert "documents" in str(reranked.value) or "outside" not in says
    assert "texts" in str(embedded.value) or "outside" not in says


def test_total_tokens_reads_usage_or_says_none() -> None:
    from rerank_playground.jina_http import total_tokens

    assert total_tokens({"usage": {"total_tokens": 42}}) == 42
    assert total_tokens({"usage": {"total_tokens": True}}) is None
    assert total_tokens({"usage": "lots"}) is None and total_tokens({}) is None
