"""Refresh tiers: how long each kind of value is served from the cache before it is fetched again.

Each tier keeps the last value that GitHub returned, when it was fetched, and when the last
attempt was made. A value is due when its last *attempt* is older than the tier's interval, so
a failing GitHub is asked once per interval, not on every read, while the last good value is
served marked stale with its age.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

ValueT = TypeVar("ValueT")


class RefreshIntervals(BaseModel):
    """Seconds each tier serves a value from the cache, by the monitor's clock."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status_seconds: float = Field(
        default=10.0, gt=0, description="registry status, runs in flight, queue and last run"
    )
    health_seconds: float = Field(default=30.0, gt=0, description="the health score and its reasons")
    metrics_seconds: float = Field(
        default=60.0, gt=0, description="24 h metrics, trend and error count: the longer run list"
    )
    drift_seconds: float = Field(
        default=60.0, gt=0, description="the dry-run plan; each costs one observation of every repository"
    )


@dataclass(frozen=True)
class Fetched(Generic[ValueT]):
    value: ValueT
    fetched_at: float  # epoch seconds by the monitor's clock


class Tier(Generic[ValueT]):
    """One cached value of one tier. Not thread-safe: the caller holds the pipeline's lock."""

    def __init__(self, interval_seconds: float) -> None:
        self.interval_seconds = interval_seconds
        self.latest: Fetched[ValueT] | None = None
        self.attempted_at: float | None = None
        self.error: str | None = None  # the last attempt's failure; None after a success

    def due(self, now: float) -> bool:
        return self.attempted_at is None or now - self.attempted_at >= self.interval_seconds

    def succeeded(self, value: ValueT, now: float) -> None:
        self.latest = Fetched(value, now)
        self.attempted_at = now
        self.error = None

    def failed(self, error: str, now: float) -> None:
        self.attempted_at = now
        self.error = error

    @property
    def stale(self) -> bool:
        """Whether the value served is older than the last attempt, or missing."""
        return self.error is not None or self.latest is None
