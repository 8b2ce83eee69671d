"""``RemoteSource``: the dashboard's data read from a ccm server's REST API with ``CcmClient``.

The server's monitor caches by refresh tier. This source adds only a cache of the drift plan,
because each ``GET /api/drift`` runs a dry-run pass on the server. The API has no
failures endpoint, so the drill-down takes failures from the newest 100 runs.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from pydantic import ValidationError

from ccm.client import CcmClient, CcmError
from ccm.monitor.drift import SyncStatus
from ccm.monitor.metrics import FAILURE_CONCLUSIONS
from ccm.monitor.models import PipelineStats, RunSummary
from ccm.monitor.source import FleetSnapshot, PendingAction, PipelineDetail
from ccm.pipeline import PipelineStatus

STATS_CONCURRENCY = 8
DRIFT_SECONDS = 60.0
FAILURE_HOURS = 24


class RemoteSource:
    """Reads stats, runs and drift from a ccm server and triggers runs through it."""

    def __init__(self, client: CcmClient, clock: Callable[[], float]) -> None:
        self._client = client
        self._clock = clock
        self._drift: dict[str, Any] | None = None
        self._drift_at: float | None = None
        self._drift_error: str | None = None

    def fleet(self) -> FleetSnapshot:
        now = self._clock()
        drift = self._current_drift(now)
        label = str(drift.get("github", "")) if drift else "unknown (the drift plan is not available)"
        base = FleetSnapshot(github_label=label, sandbox=label.startswith("SANDBOX"), taken_at=now)
        try:
            ids = [entry["pipeline_id"] for entry in self._client.list()]
            with ThreadPoolExecutor(max_workers=STATS_CONCURRENCY) as pool:
                documents = list(pool.map(self._client.stats, ids))
            pipelines = tuple(sorted((PipelineStats.model_validate(document) for document in documents), key=lambda stats: stats.name))
        except (CcmError, ValidationError, KeyError, TypeError) as error:
            return replace(base, error=f"The ccm server failed: {error}")
        return replace(
            base,
            pipelines=pipelines,
            sync={stats.pipeline_id: _sync_status(drift, stats) for stats in pipelines},
            drift_error=self._drift_error,
            spec_errors=tuple(str(error) for error in (drift or {}).get("spec_errors", ())),
        )

    def detail(self, pipeline_id: str) -> PipelineDetail:
        try:
            runs = [RunSummary.model_validate(run) for run in self._client.runs(pipeline_id, limit=100)]
            stats = PipelineStats.model_validate(self._client.stats(pipeline_id))
        except (CcmError, ValidationError) as error:
            return PipelineDetail(pipeline_id=pipeline_id, error=f"The ccm server failed: {error}")
        since = self._clock() - FAILURE_HOURS * 3600
        failures = tuple(
            run for run in runs if run.conclusion in FAILURE_CONCLUSIONS and run.created_at.timestamp() > since
        )
        pending = tuple(
            PendingAction(
                kind=str(action.get("action", "")),
                reason=str(action.get("reason", "")),
                before=str(action.get("before", "")),
                after=str(action.get("after", "")),
            )
            for action in (self._drift or {}).get("actions", ())
            if action.get("pipeline") == stats.name
        )
        return PipelineDetail(pipeline_id=pipeline_id, runs=tuple(runs[:10]), failures=failures, pending=pending)

    def trigger(self, pipeline_id: str) -> str:
        try:
            result = self._client.trigger(pipeline_id)
        except CcmError as error:
            return f"Trigger failed: {error}"
        run = f"run {result['run_id']}" if result.get("run_id") is not None else "a run"
        return f"Triggered {run} of {pipeline_id} on {result.get('branch', 'its first trigger branch')}."

    def _current_drift(self, now: float) -> dict[str, Any] | None:
        if self._drift_at is not None and now - self._drift_at < DRIFT_SECONDS:
            return self._drift
        self._drift_at = now
        try:
            self._drift = self._client.drift()
            self._drift_error = None
        except CcmError as error:
            self._drift_error = str(error)
        return self._drift


def _sync_status(drift: dict[str, Any] | None, stats: PipelineStats) -> SyncStatus:
    if stats.status is PipelineStatus.ERROR:
        return SyncStatus.ERROR
    if drift is None or any(held.get("pipeline_name") == stats.name for held in drift.get("held", ())):
        return SyncStatus.UNKNOWN
    if any(action.get("pipeline") == stats.name for action in drift.get("actions", ())):
        return SyncStatus.OUT_OF_SYNC
    return SyncStatus.IN_SYNC
