"""Metrics: pure functions from lists of workflow runs to counts, rates and durations.

How a run counts:

- Status ``in_progress`` is an *active* run. ``queued``, ``waiting``, ``requested`` and
  ``pending`` are *queued* runs. A status GitHub adds later (parsed as ``unknown``) is in flight
  but counts as neither active nor queued.
- A completed run's conclusion ``success`` is a success; ``failure``, ``timed_out`` and
  ``startup_failure`` are failures. ``cancelled``, ``skipped``, ``neutral``, ``action_required``,
  ``stale`` and ``unknown`` count as neither, because they do not show whether the pipeline
  works. They are left out of success rates, durations and failure streaks, but they are in
  ``run_count``.
- A run belongs to a window by its ``created_at``. Its duration is ``updated_at`` minus
  ``run_started_at`` (``created_at`` when GitHub omits it), so it includes time spent queued.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from ccm.github.models import RunConclusion, RunStatus, WorkflowRun
from ccm.monitor.models import LastRun, RangeMetrics, RunSummary, WindowMetrics

SUCCESS_CONCLUSIONS = frozenset({RunConclusion.SUCCESS})
FAILURE_CONCLUSIONS = frozenset({RunConclusion.FAILURE, RunConclusion.TIMED_OUT, RunConclusion.STARTUP_FAILURE})
ACTIVE_STATUSES = frozenset({RunStatus.IN_PROGRESS})
QUEUED_STATUSES = frozenset({RunStatus.QUEUED, RunStatus.WAITING, RunStatus.REQUESTED, RunStatus.PENDING})

DAY_SECONDS = 24 * 3600.0
_TIME_RANGE = re.compile(r"^([1-9][0-9]{0,3})([hd])$")
_UNIT_SECONDS = {"h": 3600.0, "d": DAY_SECONDS}


class RunOutcome(str, enum.Enum):
    """The class of a run in the metrics."""

    SUCCESS = "success"
    FAILURE = "failure"
    OTHER = "other"  # completed with a conclusion that is neither success nor failure
    IN_FLIGHT = "in_flight"


def run_outcome(run: WorkflowRun) -> RunOutcome:
    if run.status is not RunStatus.COMPLETED:
        return RunOutcome.IN_FLIGHT
    if run.conclusion in SUCCESS_CONCLUSIONS:
        return RunOutcome.SUCCESS
    if run.conclusion in FAILURE_CONCLUSIONS:
        return RunOutcome.FAILURE
    return RunOutcome.OTHER


def run_duration_seconds(run: WorkflowRun) -> float | None:
    """Return the seconds from the run's start to its completion; None while it is in flight."""
    if run.status is not RunStatus.COMPLETED:
        return None
    started = run.run_started_at or run.created_at
    return max((run.updated_at - started).total_seconds(), 0.0)


def summarize_run(run: WorkflowRun) -> RunSummary:
    return RunSummary(
        id=run.id,
        status=run.status,
        conclusion=run.conclusion,
        event=run.event,
        branch=run.head_branch,
        created_at=run.created_at,
        started_at=run.run_started_at,
        duration_seconds=run_duration_seconds(run),
        html_url=run.html_url,
    )


def newest_first(runs: Iterable[WorkflowRun]) -> list[WorkflowRun]:
    return sorted(runs, key=lambda run: (run.created_at, run.id), reverse=True)


def count_active(runs: Iterable[WorkflowRun]) -> int:
    return sum(1 for run in runs if run.status in ACTIVE_STATUSES)


def count_queued(runs: Iterable[WorkflowRun]) -> int:
    return sum(1 for run in runs if run.status in QUEUED_STATUSES)


def last_run(runs: Iterable[WorkflowRun]) -> LastRun | None:
    """Return the newest run by ``created_at``, or None when there is none."""
    ordered = newest_first(runs)
    if not ordered:
        return None
    newest = ordered[0]
    completed = newest.status is RunStatus.COMPLETED and newest.conclusion is not None
    return LastRun(
        timestamp=newest.created_at,
        status=newest.conclusion.value if completed and newest.conclusion else newest.status.value,
        duration_seconds=run_duration_seconds(newest),
        branch=newest.head_branch,
    )


def runs_created_between(runs: Iterable[WorkflowRun], start: float, end: float | None) -> list[WorkflowRun]:
    """Return the runs created after ``start`` and at or before ``end`` (epoch seconds; None: no end)."""
    return [
        run
        for run in runs
        if run.created_at.timestamp() > start and (end is None or run.created_at.timestamp() <= end)
    ]


def window_metrics(runs: Sequence[WorkflowRun]) -> WindowMetrics:
    """Compute counts, success rate and mean duration over runs already cut to one window."""
    outcomes = [run_outcome(run) for run in runs]
    successes = outcomes.count(RunOutcome.SUCCESS)
    failures = outcomes.count(RunOutcome.FAILURE)
    durations = [
        duration
        for run, outcome in zip(runs, outcomes, strict=True)
        if outcome in (RunOutcome.SUCCESS, RunOutcome.FAILURE)
        and (duration := run_duration_seconds(run)) is not None
    ]
    decided = successes + failures
    return WindowMetrics(
        run_count=len(runs),
        success_count=successes,
        failure_count=failures,
        success_rate=round(100.0 * successes / decided, 1) if decided else None,
        avg_duration_seconds=round(sum(durations) / len(durations), 1) if durations else None,
    )


def metrics_for_window(runs: Sequence[WorkflowRun], now: float, window_seconds: float = DAY_SECONDS) -> WindowMetrics:
    """Compute the metrics of the runs created in the ``window_seconds`` before ``now``."""
    return window_metrics(runs_created_between(runs, now - window_seconds, None))


def success_rate_trend(runs: Sequence[WorkflowRun], now: float, window_seconds: float = DAY_SECONDS) -> float | None:
    """Return the success rate of the last window minus that of the window before, in points.

    None when either window has no success and no failure to compute a rate from.
    """
    current = metrics_for_window(runs, now, window_seconds).success_rate
    previous_runs = runs_created_between(runs, now - 2 * window_seconds, now - window_seconds)
    previous = window_metrics(previous_runs).success_rate
    if current is None or previous is None:
        return None
    return round(current - previous, 1)


def consecutive_failures(runs: Iterable[WorkflowRun]) -> int:
    """Count the failures among the newest completed runs before the newest success.

    Runs in flight and completed runs that are neither success nor failure are skipped, so a
    cancelled run neither breaks nor extends a streak.
    """
    streak = 0
    for run in newest_first(runs):
        outcome = run_outcome(run)
        if outcome is RunOutcome.SUCCESS:
            break
        if outcome is RunOutcome.FAILURE:
            streak += 1
    return streak


def recent_failures(runs: Iterable[WorkflowRun], since: float) -> list[RunSummary]:
    """Return the failed runs created after ``since`` (epoch seconds), newest first."""
    return [
        summarize_run(run)
        for run in newest_first(runs)
        if run.created_at.timestamp() > since and run_outcome(run) is RunOutcome.FAILURE
    ]


def range_metrics(
    pipeline_id: str, time_range: str, runs: Sequence[WorkflowRun], now: float, *, truncated: bool
) -> RangeMetrics:
    """Compute the metrics of ``time_range`` from the newest runs read, ``truncated`` if more exist.

    The counts are complete unless more runs exist than were read and the oldest run read is
    still inside the range.
    """
    start = now - parse_time_range(time_range)
    inside = runs_created_between(runs, start, None)
    oldest = min((run.created_at.timestamp() for run in runs), default=None)
    complete = not truncated or (oldest is not None and oldest <= start)
    return RangeMetrics(
        **window_metrics(inside).model_dump(),
        pipeline_id=pipeline_id,
        time_range=time_range,
        start=utc_datetime(start),
        end=utc_datetime(now),
        complete=complete,
    )


def parse_time_range(time_range: str) -> float:
    """Return the seconds of a range such as ``24h`` or ``7d`` (1 to 9999 hours or days)."""
    match = _TIME_RANGE.match(time_range.strip())
    if match is None:
        raise ValueError(
            f"Invalid time range {time_range!r}: give a whole number of hours or days, such as "
            "'24h' or '7d'."
        )
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def utc_datetime(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)
