"""Rate limits: GitHub's ``X-RateLimit-*`` headers as snapshots, and pacing before the limit.

Every GitHub response reports the token's *primary* rate limit for one resource (``core`` for
the endpoints ccm uses): the requests allowed per window, how many are left, and when the window
resets (epoch seconds). ``RateLimitTracker`` keeps the latest snapshot of each resource and,
when few requests are left for the time until the reset, spaces requests out so that the budget
lasts until the reset instead of running out early.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

logger = logging.getLogger(__name__)

CORE = "core"


class RateLimit(BaseModel):
    """One resource's primary rate limit, as the last response reported it."""

    model_config = ConfigDict(frozen=True)

    resource: str = CORE
    limit: int
    remaining: int
    used: int
    reset_at: datetime

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimit | None:
        """Read the ``X-RateLimit-*`` headers; None when a response lacks them or they are invalid."""
        try:
            limit = int(headers["x-ratelimit-limit"])
            remaining = int(headers["x-ratelimit-remaining"])
            reset = int(headers["x-ratelimit-reset"])
        except (KeyError, ValueError):
            return None
        try:
            used = int(headers.get("x-ratelimit-used", limit - remaining))
        except ValueError:
            used = limit - remaining
        return cls(
            resource=headers.get("x-ratelimit-resource", CORE),
            limit=limit,
            remaining=remaining,
            used=used,
            reset_at=datetime.fromtimestamp(reset, UTC),
        )

    def seconds_to_reset(self, now: float) -> float:
        """Seconds from ``now`` (epoch seconds) to the reset; 0 once the reset has passed."""
        return max(self.reset_at.timestamp() - now, 0.0)


class RateLimitTracker:
    """The latest snapshot per resource, and the pacing of requests. Thread-safe."""

    def __init__(
        self, *, pacing_threshold: float, max_pacing_delay: float, clock: Callable[[], float]
    ) -> None:
        self._pacing_threshold = pacing_threshold
        self._max_pacing_delay = max_pacing_delay
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshots: dict[str, RateLimit] = {}
        self._next_slot = 0.0
        self._warned_reset: datetime | None = None

    def update(self, snapshot: RateLimit) -> None:
        with self._lock:
            self._snapshots[snapshot.resource] = snapshot

    def snapshot(self, resource: str = CORE) -> RateLimit | None:
        with self._lock:
            return self._snapshots.get(resource)

    def exhausted(self) -> RateLimit | None:
        """Return the ``core`` snapshot if it has no request left and its reset is still ahead."""
        with self._lock:
            snapshot = self._snapshots.get(CORE)
        if snapshot is None or snapshot.remaining > 0:
            return None
        if snapshot.seconds_to_reset(self._clock()) <= 0:
            return None
        return snapshot

    def pacing_delay(self) -> float:
        """Reserve the next send slot and return the seconds to wait for it (0 when not pacing).

        Pacing starts when fewer than ``pacing_threshold`` of the limit is left. Requests are
        then spaced ``seconds to reset / remaining`` apart, at most ``max_pacing_delay`` each.
        Slots are shared by all threads, so eight threads together keep to the same spacing.
        """
        with self._lock:
            snapshot = self._snapshots.get(CORE)
            now = self._clock()
            if snapshot is None or snapshot.remaining <= 0:
                return 0.0
            to_reset = snapshot.seconds_to_reset(now)
            if to_reset <= 0 or snapshot.remaining >= snapshot.limit * self._pacing_threshold:
                return 0.0

            interval = min(to_reset / snapshot.remaining, self._max_pacing_delay)
            slot = max(now, self._next_slot)
            self._next_slot = slot + interval
            if self._warned_reset != snapshot.reset_at:
                self._warned_reset = snapshot.reset_at
                logger.warning(
                    "GitHub rate limit for %s is low: %d of %d requests left until %s; "
                    "spacing requests %.1f s apart until then.",
                    snapshot.resource,
                    snapshot.remaining,
                    snapshot.limit,
                    snapshot.reset_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    interval,
                )
            return slot - now
