"""Request counters: how many requests of each route kind the sandbox served, and how.

``counted`` requests consumed the primary rate limit, ``not_modified`` ones were answered 304
for free, and ``errors`` are responses of 400 or more plus dropped connections. A 404 is both
counted and an error, as on GitHub; a 304 is never counted.
"""

from __future__ import annotations

import threading
from collections import Counter

from pydantic import BaseModel, ConfigDict

from ccm.github.sandbox.routes import RouteKind


class KindCounts(BaseModel):
    """Counts of one route kind."""

    model_config = ConfigDict(frozen=True)

    requests: int = 0
    counted: int = 0
    not_modified: int = 0
    errors: int = 0


class CounterSnapshot(BaseModel):
    """Counts by route kind at one moment; kinds never requested are absent."""

    model_config = ConfigDict(frozen=True)

    by_kind: dict[RouteKind, KindCounts]

    def kind(self, kind: RouteKind) -> KindCounts:
        return self.by_kind.get(kind, KindCounts())

    @property
    def total(self) -> KindCounts:
        return KindCounts(
            requests=sum(counts.requests for counts in self.by_kind.values()),
            counted=sum(counts.counted for counts in self.by_kind.values()),
            not_modified=sum(counts.not_modified for counts in self.by_kind.values()),
            errors=sum(counts.errors for counts in self.by_kind.values()),
        )


class RequestCounters:
    """Thread-safe counters that the server updates once per request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[RouteKind, str]] = Counter()

    def record(self, kind: RouteKind, *, counted: bool, not_modified: bool, error: bool) -> None:
        with self._lock:
            self._counts[(kind, "requests")] += 1
            self._counts[(kind, "counted")] += counted
            self._counts[(kind, "not_modified")] += not_modified
            self._counts[(kind, "errors")] += error

    def snapshot(self) -> CounterSnapshot:
        with self._lock:
            kinds = {kind for kind, _ in self._counts}
            return CounterSnapshot(
                by_kind={
                    kind: KindCounts(
                        requests=self._counts[(kind, "requests")],
                        counted=self._counts[(kind, "counted")],
                        not_modified=self._counts[(kind, "not_modified")],
                        errors=self._counts[(kind, "errors")],
                    )
                    for kind in sorted(kinds, key=lambda kind: kind.value)
                }
            )

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
