"""Alerts: which transitions of a pipeline deserve a message. Pure functions, no I/O.

Each function takes what was last seen of a pipeline (``PipelineSeen``, None for a pipeline seen
for the first time) and what is true now, and returns the alerts with the new ``PipelineSeen``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from ccm.github.models import WorkflowRun
from ccm.monitor.metrics import RunOutcome, run_outcome
from ccm.pipeline import Pipeline, PipelineStatus, Timestamp

TORN_DOWN = "torn_down"  # the seen status of a record with deleted_at


class AlertKind(str, enum.Enum):
    FAILED = "failed"
    RECOVERED = "recovered"
    ERROR = "error"
    TORN_DOWN = "torn_down"


class RunHealth(str, enum.Enum):
    PASSING = "passing"
    FAILING = "failing"


class PipelineSeen(BaseModel):
    """The ledger's record of one pipeline: its last seen status and run health."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: str | None = None  # a PipelineStatus value, or "torn_down"
    run_health: RunHealth | None = None
    run_id: int | None = None  # the newest completed run that set run_health


class Alert(BaseModel):
    """One message about one pipeline."""

    model_config = ConfigDict(frozen=True)

    kind: AlertKind
    pipeline_id: str
    pipeline_name: str
    repository: str
    workflow_file: str
    text: str
    run_id: int | None = None
    run_url: str | None = None
    conclusion: str | None = None
    branch: str | None = None
    status_reason: str | None = None
    time: Timestamp


def status_alerts(
    record: Pipeline, seen: PipelineSeen | None, ledger_since: datetime, now: datetime
) -> tuple[list[Alert], PipelineSeen]:
    """Compare the record's status with the last seen one: entering error, torn down, error cleared.

    A record torn down before the ledger was started (``ledger_since``) is history and gets no
    alert. A record first seen in error does get one, because no alert was sent for it yet.
    """
    current = TORN_DOWN if not record.is_current else record.status.value
    previous = seen.status if seen is not None else None
    updated = (seen or PipelineSeen()).model_copy(update={"status": current})
    if current == previous:
        return [], updated

    name = f"Pipeline {record.name} ({record.repository}, {record.workflow_file})"
    alerts: list[Alert] = []
    if current == PipelineStatus.ERROR.value:
        reason = record.status_reason or "no reason was recorded"
        alerts.append(_alert(AlertKind.ERROR, record, now, f"{name} is in error: {reason}", status_reason=reason))
    elif current == TORN_DOWN:
        deleted_at = record.deleted_at or now
        if seen is not None or deleted_at >= ledger_since:
            text = f"{name} was torn down at {deleted_at:%Y-%m-%d %H:%M:%SZ}; ccm no longer deploys it."
            alerts.append(_alert(AlertKind.TORN_DOWN, record, now, text))
    elif previous == PipelineStatus.ERROR.value:
        text = f"{name} recovered: it is no longer in error, its status is {current}."
        alerts.append(_alert(AlertKind.RECOVERED, record, now, text))
    return alerts, updated


def run_alerts(
    record: Pipeline, runs: Sequence[WorkflowRun], seen: PipelineSeen, now: datetime
) -> tuple[list[Alert], PipelineSeen]:
    """Walk the completed runs newer than the last seen one: alert on every failed run, once, and
    on the first success after a failure (recovered).

    A failed deploy is worth a message even when the one before it failed too, so each failed run
    alerts. The ledger's ``run_id`` makes it exactly once. ``runs`` is newest first, as GitHub
    lists them. On first sight (no run seen yet) only the newest decisive run counts. Runs are
    ordered by id, so a run that completes after a newer one has been seen is ignored.
    """
    decisive = [run for run in runs if run_outcome(run) in (RunOutcome.SUCCESS, RunOutcome.FAILURE)]
    if not decisive:
        return [], seen

    if seen.run_id is None:
        newer = [decisive[0]]
        health: RunHealth | None = None
    else:
        last_seen = seen.run_id
        newer = sorted((run for run in decisive if run.id > last_seen), key=lambda run: run.id)
        health = seen.run_health

    alerts: list[Alert] = []
    for run in newer:
        run_health = RunHealth.PASSING if run_outcome(run) is RunOutcome.SUCCESS else RunHealth.FAILING
        if run_health is RunHealth.FAILING:
            alerts.append(_run_alert(AlertKind.FAILED, record, run, now))
        elif run_health is RunHealth.PASSING and health is RunHealth.FAILING:
            alerts.append(_run_alert(AlertKind.RECOVERED, record, run, now))
        health = run_health

    if not newer:
        return [], seen
    return alerts, seen.model_copy(update={"run_health": health, "run_id": newer[-1].id})


def _run_alert(kind: AlertKind, record: Pipeline, run: WorkflowRun, now: datetime) -> Alert:
    conclusion = run.conclusion.value if run.conclusion is not None else "unknown"
    branch = f" on {run.head_branch}" if run.head_branch else ""
    name = f"Pipeline {record.name} ({record.repository}, {record.workflow_file})"
    if kind is AlertKind.FAILED:
        text = f"{name} failed: run {run.id}{branch} concluded {conclusion}."
    else:
        text = f"{name} recovered: run {run.id}{branch} succeeded."
    if run.html_url:
        text = f"{text} {run.html_url}"
    return _alert(
        kind, record, now, text,
        run_id=run.id, run_url=run.html_url or None, conclusion=conclusion, branch=run.head_branch,
    )


def _alert(kind: AlertKind, record: Pipeline, now: datetime, text: str, **fields: object) -> Alert:
    return Alert(
        kind=kind,
        pipeline_id=record.pipeline_id,
        pipeline_name=record.name,
        repository=record.repository,
        workflow_file=record.workflow_file,
        text=text,
        time=now,
        **fields,
    )
