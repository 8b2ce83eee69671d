"""The values the monitor reports: run summaries, window metrics, health and pipeline stats.

``PipelineStats.model_dump(mode="json")`` is the stats document of the REST API and of
``ccm report -o json``. Rates are percentages from 0 to 100, durations are seconds, and
timestamps are UTC in ISO 8601.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ccm.github.models import RunConclusion, RunStatus
from ccm.pipeline import PipelineStatus, Timestamp


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True)


class RunSummary(_Value):
    """One workflow run as the monitor shows it."""

    id: int
    status: RunStatus
    conclusion: RunConclusion | None = None
    event: str
    branch: str | None = None
    created_at: Timestamp
    started_at: Timestamp | None = None
    duration_seconds: float | None = Field(
        default=None, description="from run start to completion; None while the run is in flight"
    )
    html_url: str = ""


class LastRun(_Value):
    """The newest run of a pipeline, completed or not."""

    timestamp: Timestamp = Field(description="when the run was created")
    status: str = Field(description="the conclusion of a completed run, else its status (in_progress, queued)")
    duration_seconds: float | None = Field(default=None, description="None while the run is in flight")
    branch: str | None = None


class WindowMetrics(_Value):
    """Counts over the runs created in one time window."""

    run_count: int = Field(default=0, description="runs created in the window, in flight or completed")
    success_count: int = 0
    failure_count: int = Field(default=0, description="conclusions failure, timed_out and startup_failure")
    success_rate: float | None = Field(
        default=None, description="percent of successes among successes and failures; None without either"
    )
    avg_duration_seconds: float | None = Field(
        default=None, description="mean duration of the runs that succeeded or failed"
    )


class Health(_Value):
    """A health score from 0 to 100 and the reasons that produced it, one line each."""

    score: float | None = Field(ge=0, le=100, description="None while GitHub has never returned the runs")
    reasons: tuple[str, ...] = ()


class PipelineStats(_Value):
    """Everything the monitor reports about one pipeline."""

    pipeline_id: str
    name: str
    repository: str
    workflow_file: str
    status: PipelineStatus
    status_reason: str | None = None
    linked_domain: str | None = None
    linked_app: str | None = None
    last_run: LastRun | None = None
    metrics_24h: WindowMetrics = Field(default_factory=WindowMetrics)
    error_count_24h: int = 0
    success_rate_trend: float | None = Field(
        default=None,
        description="success rate of the last 24 h minus that of the 24 h before, in percentage points",
    )
    health_score: float | None = Field(
        ge=0, le=100, description="None while GitHub has never returned the runs, so the health is unknown"
    )
    health_reasons: tuple[str, ...] = ()
    active_runs: int = Field(default=0, description="runs in progress")
    queue_length: int = Field(default=0, description="runs queued, waiting, requested or pending")
    stale: bool = Field(
        default=False, description="some values come from the cache because GitHub failed"
    )
    age_seconds: float | None = Field(
        default=None,
        description="age of the oldest value shown; None before GitHub first returns the runs",
    )
    observed_at: Timestamp = Field(description="when these stats were assembled, by the monitor's clock")


class RangeMetrics(WindowMetrics):
    """Window metrics of one pipeline over a requested time range, such as ``24h`` or ``7d``."""

    pipeline_id: str
    time_range: str
    start: Timestamp
    end: Timestamp
    complete: bool = Field(
        description="False when the range contains more runs than were read, so the counts are partial"
    )
