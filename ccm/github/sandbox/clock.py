"""Clocks of the sandbox: wall time, and the simulated time that runs progress on.

*Wall time* is what the rate limit windows use, because clients compare ``X-RateLimit-Reset``
with their own clock. *Simulated time* is wall time sped up by ``time_scale`` from an anchor, so
``time_scale: 60`` makes a run of one minute finish in one second. Both are epoch seconds.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field


# The maximum span of seconds that a seed, a fault or a time skip may give: ten years. Longer
# spans serve no test, and values near the float limit would turn timestamps into inf or NaN,
# which the persisted world cannot store.
MAX_SECONDS = 10 * 365 * 86400.0


class Clock(Protocol):
    """A source of wall time in epoch seconds."""

    def time(self) -> float: ...


class SystemClock:
    """The machine's clock."""

    def time(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when a test advances it, so tests never sleep."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = start
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` of wall time."""
        if seconds < 0:
            raise ValueError(f"A clock cannot go back: advance({seconds}) needs seconds >= 0.")
        with self._lock:
            self._now += seconds


class TimeAnchor(BaseModel):
    """Maps wall time to simulated time: ``simulated = simulated_at + (wall - wall_at) * scale``."""

    model_config = ConfigDict(frozen=True)

    wall_at: float
    simulated_at: float
    scale: float = Field(gt=0, description="simulated seconds per wall second")

    def simulated(self, wall: float) -> float:
        return self.simulated_at + (wall - self.wall_at) * self.scale

    def rescaled(self, wall: float, scale: float) -> TimeAnchor:
        """Return an anchor that continues from ``wall`` at a new scale, without a jump."""
        return TimeAnchor(wall_at=wall, simulated_at=self.simulated(wall), scale=scale)

    def skipped(self, seconds: float) -> TimeAnchor:
        """Return an anchor whose simulated time is ``seconds`` ahead of this one."""
        return self.model_copy(update={"simulated_at": self.simulated_at + seconds})
