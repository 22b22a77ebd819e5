"""One request gate shared by every thread that calls Jina through the same HTTP client (a batch run's workers).

``SharedRateLimiter.acquire`` blocks while a pause is pending (any thread's 429 ``Retry-After``, or a backoff set
through ``pause``) and spaces requests to at most ``requests_per_second``. It sits in the HTTP client as httpx event
hooks (``limited_http_client``), so the Jina client's own retries pass through it too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from rerank_playground.jina_http import make_client, parse_retry_after


class SharedRateLimiter:
    """One gate for every worker of a run.

    Without a rate cap and without a pending pause, ``acquire`` returns without taking the lock: the gate costs
    nothing and serializes nothing until a 429 arrives or a rate is set.
    """

    def __init__(self, requests_per_second: float | None = None, *, default_pause_s: float = 1.0) -> None:
        self.interval = 1.0 / requests_per_second if requests_per_second else 0.0
        self.default_pause_s = default_pause_s
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._cond = threading.Condition()
        self.rate_limited = 0  # 429s seen
        self.waited_s = 0.0

    def pause(self, seconds: float) -> None:
        with self._cond:
            self._paused_until = max(self._paused_until, time.monotonic() + max(0.0, seconds))
            self._cond.notify_all()

    def acquire(self) -> None:
        if not self.interval and time.monotonic() >= self._paused_until:
            return  # no cap, no pause: a float read is atomic, a pause set a moment later applies to the next call
        with self._cond:
            started = time.monotonic()
            while True:
                now = time.monotonic()
                wake = max(self._paused_until, self._next_slot)
                if now >= wake:
                    self._next_slot = max(now, self._next_slot) + self.interval
                    self.waited_s += now - started
                    return
                self._cond.wait(timeout=wake - now)

    def observe(self, response: httpx.Response) -> None:
        if response.status_code == 429:
            with self._cond:
                self.rate_limited += 1
            wait = parse_retry_after(response.headers.get("retry-after"))
            self.pause(self.default_pause_s if wait is None else wait)

    def hooks(self) -> dict[str, list[Callable[[Any], None]]]:
        return {"request": [lambda _request: self.acquire()], "response": [self.observe]}


def limited_http_client(limiter: SharedRateLimiter, timeout_s: float) -> httpx.Client:
    """The Jina HTTP client (``jina_http.make_client``) with every request passing ``limiter``. The caller closes
    it."""
    return make_client(timeout_s, min(5.0, timeout_s), event_hooks=limiter.hooks())
