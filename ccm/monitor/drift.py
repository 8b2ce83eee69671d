"""Drift as the monitor shows it: the plan of a dry-run pass, cached for the drift interval.

A dry-run pass observes every repository (conditional requests, so an unchanged fleet costs
little) and plans without changing anything. The *sync status* of a pipeline follows from it:
``error`` when that is the registry status, ``out_of_sync`` when the plan has actions for it, ``unknown``
when there is no plan yet or the pass held the pipeline back, else ``in_sync``.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from ccm.github.errors import GitHubError
from ccm.pipeline import PipelineStatus
from ccm.reconcile.actions import Action, Plan
from ccm.reconcile.engine import Engine
from ccm.reconcile.passes import PassRefused, PassRequest, run_pass
from ccm.registry import RegistryError
from ccm.spec import SpecDirectoryError

logger = logging.getLogger(__name__)


class SyncStatus(str, enum.Enum):
    IN_SYNC = "in_sync"
    OUT_OF_SYNC = "out_of_sync"
    ERROR = "error"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class DriftSnapshot:
    """The last dry-run plan, when it was made, and why the latest attempt failed, if it did."""

    plan: Plan | None = None
    observed_at: float | None = None  # epoch seconds by the monitor's clock
    error: str | None = None
    spec_errors: tuple[str, ...] = ()

    def sync_status(self, name: str, status: PipelineStatus) -> SyncStatus:
        if status is PipelineStatus.ERROR:
            return SyncStatus.ERROR
        if self.plan is None or any(held.pipeline_name == name for held in self.plan.held):
            return SyncStatus.UNKNOWN
        if name in self.plan.drifted():
            return SyncStatus.OUT_OF_SYNC
        return SyncStatus.IN_SYNC

    def actions_for(self, name: str) -> list[Action]:
        if self.plan is None:
            return []
        return [action for action in self.plan.actions if action.pipeline_name == name]


class DriftTracker:
    """Runs a dry-run pass at most once per ``interval_seconds`` and keeps the last good plan."""

    def __init__(self, engine: Engine, clock: Callable[[], float], interval_seconds: float) -> None:
        self._engine = engine
        self._clock = clock
        self._interval_seconds = interval_seconds
        self._lock = threading.Lock()
        self._snapshot = DriftSnapshot()
        self._attempted_at: float | None = None

    def current(self) -> DriftSnapshot:
        """Return the cached plan, running a dry-run pass first when the interval has passed."""
        with self._lock:
            now = self._clock()
            if self._attempted_at is not None and now - self._attempted_at < self._interval_seconds:
                return self._snapshot
            self._attempted_at = now
            try:
                result = run_pass(self._engine, PassRequest(dry_run=True))
            except (PassRefused, SpecDirectoryError, RegistryError, GitHubError) as error:
                logger.warning("The dry-run pass for drift failed; showing the last plan: %s", error)
                self._snapshot = DriftSnapshot(
                    plan=self._snapshot.plan,
                    observed_at=self._snapshot.observed_at,
                    error=str(error),
                    spec_errors=self._snapshot.spec_errors,
                )
                return self._snapshot
            self._snapshot = DriftSnapshot(
                plan=result.plan,
                observed_at=now,
                spec_errors=tuple(str(error) for error in result.spec_errors),
            )
            return self._snapshot
