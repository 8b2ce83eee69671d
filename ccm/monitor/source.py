"""Dashboard sources: where the dashboard reads its snapshots and sends its triggers.

``LocalSource`` reads through an engine in this process (the registry, GitHub or the sandbox).
A source returns plain values (``FleetSnapshot``, ``PipelineDetail``) so that the render
functions need no engine, and a source reading the REST API can return the same values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from ccm.github.errors import GitHubError
from ccm.github.ratelimit import RateLimit
from ccm.manager import ManagerError, PipelineManager
from ccm.monitor.drift import SyncStatus
from ccm.monitor.models import PipelineStats, RunSummary
from ccm.monitor.service import PipelineMonitor
from ccm.registry import RegistryError


@dataclass(frozen=True)
class PendingAction:
    """One planned action of a pipeline, as the drill-down shows it."""

    kind: str
    reason: str
    before: str
    after: str


@dataclass(frozen=True)
class FleetSnapshot:
    """Everything the pipeline table shows, taken at ``taken_at`` (epoch seconds)."""

    github_label: str
    sandbox: bool
    taken_at: float
    pipelines: tuple[PipelineStats, ...] = ()
    sync: dict[str, SyncStatus] = field(default_factory=dict)  # by pipeline_id
    drift_error: str | None = None
    spec_errors: tuple[str, ...] = ()
    rate_limit: RateLimit | None = None
    error: str | None = None  # set when the pipelines could not be read at all


@dataclass(frozen=True)
class PipelineDetail:
    """The drill-down of one pipeline: its last runs, recent failures and pending plan."""

    pipeline_id: str
    runs: tuple[RunSummary, ...] = ()
    failures: tuple[RunSummary, ...] = ()
    pending: tuple[PendingAction, ...] = ()
    error: str | None = None


class DashboardSource(Protocol):
    def fleet(self) -> FleetSnapshot: ...

    def detail(self, pipeline_id: str) -> PipelineDetail: ...

    def trigger(self, pipeline_id: str) -> str:
        """Start a run and return a one-line message saying what happened."""
        ...


class LocalSource:
    """Reads through a ``PipelineMonitor`` and triggers through a ``PipelineManager``."""

    def __init__(self, monitor: PipelineMonitor, clock: Callable[[], float]) -> None:
        self.monitor = monitor
        self.manager = PipelineManager(monitor.engine)
        self._clock = clock

    def fleet(self) -> FleetSnapshot:
        engine = self.monitor.engine
        base = FleetSnapshot(
            github_label=engine.github_label, sandbox=engine.settings.uses_sandbox, taken_at=self._clock()
        )
        try:
            pipelines = self.monitor.get_all_pipeline_stats()
        except RegistryError as error:
            return replace(base, error=str(error))
        drift = self.monitor.get_drift()
        return replace(
            base,
            pipelines=tuple(pipelines),
            sync={stats.pipeline_id: drift.sync_status(stats.name, stats.status) for stats in pipelines},
            drift_error=drift.error,
            spec_errors=drift.spec_errors,
            rate_limit=self.monitor.rate_limit,
        )

    def detail(self, pipeline_id: str) -> PipelineDetail:
        try:
            runs = self.monitor.get_workflow_runs(pipeline_id, limit=10)
            failures = self.monitor.get_recent_failures(pipeline_id, hours=24)
            name = self.monitor.get_pipeline_stats(pipeline_id).name
        except (GitHubError, ManagerError, RegistryError) as error:
            return PipelineDetail(pipeline_id=pipeline_id, error=str(error))
        pending = tuple(
            PendingAction(kind=action.kind.value, reason=action.reason, before=action.before, after=action.after)
            for action in self.monitor.get_drift().actions_for(name)
        )
        return PipelineDetail(pipeline_id=pipeline_id, runs=tuple(runs), failures=tuple(failures), pending=pending)

    def trigger(self, pipeline_id: str) -> str:
        try:
            result = self.manager.trigger_pipeline(pipeline_id, actor="ccm monitor")
        except ManagerError as error:
            return f"Trigger failed: {error}"
        run = f"run {result.run_id}" if result.run_id is not None else "a run"
        return f"Triggered {run} of {pipeline_id} on {result.branch}."
