"""Backoff: how long each failing pipeline waits before a pass acts on it again.

The first failure defers a pipeline for ``initial_seconds``, and each further failure doubles
the wait up to ``max_seconds``. A success, or an edit of the pipeline's spec file, forgets it. Times are monotonic seconds
passed in by the caller, so the table holds no clock of its own. Not thread-safe: the scheduler
thread owns it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BackoffEntry:
    """A pipeline in backoff: its consecutive failures, the last reason, and when it may retry."""

    failures: int
    delay_seconds: float
    retry_at: float  # monotonic seconds
    reason: str


class Backoff:
    """Per-pipeline exponential backoff, keyed by spec name."""

    def __init__(self, initial_seconds: float, max_seconds: float) -> None:
        if not 0 < initial_seconds <= max_seconds:
            raise ValueError(
                f"Backoff needs 0 < initial_seconds <= max_seconds, not {initial_seconds} and {max_seconds}."
            )
        self.initial_seconds = initial_seconds
        self.max_seconds = max_seconds
        self._entries: dict[str, BackoffEntry] = {}

    def record_failure(self, name: str, now: float, reason: str) -> BackoffEntry:
        """Count one more failure of ``name`` and return its new entry."""
        previous = self._entries.get(name)
        failures = 1 if previous is None else previous.failures + 1
        # The exponent is capped so that a pipeline failing for days cannot overflow the float.
        delay = min(self.initial_seconds * 2 ** min(failures - 1, 32), self.max_seconds)
        entry = BackoffEntry(failures=failures, delay_seconds=delay, retry_at=now + delay, reason=reason)
        self._entries[name] = entry
        return entry

    def forget(self, name: str) -> BackoffEntry | None:
        """Forget ``name``; return the entry it had, or None when it was not backing off."""
        return self._entries.pop(name, None)

    def deferred(self, now: float) -> dict[str, BackoffEntry]:
        """Return the pipelines whose wait has not ended at ``now``, by name."""
        return {name: entry for name, entry in self._entries.items() if entry.retry_at > now}

    def entry(self, name: str) -> BackoffEntry | None:
        return self._entries.get(name)
