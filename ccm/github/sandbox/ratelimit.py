"""The primary rate limit: a budget of requests per token and per window of wall time.

As on GitHub, a window starts with the first counted request and resets ``window_seconds``
later. Budgets are keyed by a SHA-256 digest of the token, so no token is kept in memory
longer than a request or written to the persisted world.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from ccm.github.sandbox.clock import Clock


class RateWindow(BaseModel):
    """The usage of one token in its current window."""

    model_config = ConfigDict(frozen=True)

    key: str
    started_at: float
    used: int


class RateLimitStatus(BaseModel):
    """The ``X-RateLimit-*`` values of one response."""

    model_config = ConfigDict(frozen=True)

    limit: int
    remaining: int
    used: int
    reset: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Used": str(self.used),
            "X-RateLimit-Reset": str(self.reset),
            "X-RateLimit-Resource": "core",
        }


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class RateLimiter:
    """Request budgets per token; thread-safe."""

    def __init__(
        self, limit: int, window_seconds: float, clock: Clock, windows: Sequence[RateWindow] = ()
    ) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._windows = {window.key: window for window in windows}

    def status(self, key: str) -> RateLimitStatus:
        with self._lock:
            return self._status(self._current(key))

    def consume(self, key: str) -> RateLimitStatus:
        """Count one request against the budget of ``key`` and return the status after it."""
        with self._lock:
            window = self._current(key)
            window = window.model_copy(update={"used": window.used + 1})
            self._windows[key] = window
            return self._status(window)

    def windows(self) -> list[RateWindow]:
        with self._lock:
            return list(self._windows.values())

    def _current(self, key: str) -> RateWindow:
        now = self._clock.time()
        window = self._windows.get(key)
        if window is None or now >= window.started_at + self.window_seconds:
            window = RateWindow(key=key, started_at=now, used=0)
            self._windows[key] = window
        return window

    def _status(self, window: RateWindow) -> RateLimitStatus:
        return RateLimitStatus(
            limit=self.limit,
            remaining=max(self.limit - window.used, 0),
            used=window.used,
            reset=math.ceil(window.started_at + self.window_seconds),
        )
