"""Alert transitions: which changes of status and run health make an alert, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ccm.github.models import RunConclusion, RunStatus, WorkflowRun
from ccm.notifications.alerts import AlertKind, PipelineSeen, RunHealth, run_alerts, status_alerts
from ccm.pipeline import Pipeline, PipelineStatus

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=1)


def record(status: PipelineStatus = PipelineStatus.ACTIVE, deleted_at: datetime | None = None) -> Pipeline:
    return Pipeline(
        pipeline_id="pipe_0123456789ab",
        name="site",
        repository="acme/site",
        workflow_file=".github/workflows/deploy.yml",
        status=status,
        status_reason="Workflow file .github/workflows/deploy.yml is not in repository acme/site."
        if status is PipelineStatus.ERROR
        else None,
        created_at=SINCE - timedelta(days=30),
        last_updated=NOW,
        deleted_at=deleted_at,
    )


def run(run_id: int, conclusion: str | None) -> WorkflowRun:
    return WorkflowRun(
        id=run_id,
        workflow_id=7,
        event="push",
        head_branch="main",
        status=RunStatus.COMPLETED if conclusion else RunStatus.IN_PROGRESS,
        conclusion=RunConclusion(conclusion) if conclusion else None,
        created_at=NOW - timedelta(minutes=100 - run_id),
        updated_at=NOW,
        html_url=f"https://github.example/acme/site/actions/runs/{run_id}",
    )


def newest_first(*runs: WorkflowRun) -> list[WorkflowRun]:
    return sorted(runs, key=lambda item: item.id, reverse=True)


PASSING = PipelineSeen(status="active", run_health=RunHealth.PASSING, run_id=10)
FAILING = PipelineSeen(status="active", run_health=RunHealth.FAILING, run_id=10)
UNSEEN_RUNS = PipelineSeen(status="active")


@pytest.mark.parametrize(
    ("seen", "runs", "kinds", "health", "last_id"),
    [
        (UNSEEN_RUNS, [], [], None, None),
        (UNSEEN_RUNS, [run(12, "failure"), run(11, "success")], ["failed"], RunHealth.FAILING, 12),
        (UNSEEN_RUNS, [run(12, "success"), run(11, "failure")], [], RunHealth.PASSING, 12),
        (UNSEEN_RUNS, [run(13, "cancelled"), run(12, "timed_out")], ["failed"], RunHealth.FAILING, 12),
        (PASSING, [run(11, "failure")], ["failed"], RunHealth.FAILING, 11),
        (PASSING, [run(12, "failure"), run(11, "failure")], ["failed", "failed"], RunHealth.FAILING, 12),
        (FAILING, [run(12, "failure"), run(11, "failure")], ["failed", "failed"], RunHealth.FAILING, 12),
        (FAILING, [run(11, "success")], ["recovered"], RunHealth.PASSING, 11),
        (PASSING, [run(13, "failure"), run(12, "success"), run(11, "failure")], ["failed", "recovered", "failed"], RunHealth.FAILING, 13),
        (PASSING, [run(10, "failure"), run(9, "failure")], [], RunHealth.PASSING, 10),
        (PASSING, [run(12, None), run(11, "skipped")], [], RunHealth.PASSING, 10),
        (FAILING, [run(11, "startup_failure")], ["failed"], RunHealth.FAILING, 11),
    ],
    ids=[
        "no-runs",
        "first-sight-failing",
        "first-sight-passing",
        "first-sight-skips-cancelled",
        "turns-failed",
        "failing-streak-alerts-each-run",
        "still-failing-alerts-each-run",
        "recovers",
        "flaps-between-checks",
        "old-runs-ignored",
        "undecided-runs-ignored",
        "startup-failure-counts-as-failure",
    ],
)
def test_run_alerts_transitions(
    seen: PipelineSeen, runs: list[WorkflowRun], kinds: list[str], health: RunHealth | None, last_id: int | None
) -> None:
    alerts, updated = run_alerts(record(), newest_first(*runs), seen, NOW)

    assert [alert.kind.value for alert in alerts] == kinds
    assert updated.run_health == health
    assert updated.run_id == last_id


def test_run_alert_names_run() -> None:
    alerts, _ = run_alerts(record(), [run(12, "failure")], PASSING, NOW)

    (alert,) = alerts
    assert alert.run_id == 12
    assert alert.conclusion == "failure"
    assert alert.text == (
        "Pipeline site (acme/site, .github/workflows/deploy.yml) failed: run 12 on main concluded "
        "failure. https://github.example/acme/site/actions/runs/12"
    )


@pytest.mark.parametrize(
    ("seen", "pipeline", "kinds", "status"),
    [
        (None, record(), [], "active"),
        (None, record(PipelineStatus.ERROR), ["error"], "error"),
        (PipelineSeen(status="active"), record(PipelineStatus.ERROR), ["error"], "error"),
        (PipelineSeen(status="error"), record(PipelineStatus.ERROR), [], "error"),
        (PipelineSeen(status="error"), record(), ["recovered"], "active"),
        (PipelineSeen(status="active"), record(deleted_at=NOW), ["torn_down"], "torn_down"),
        (None, record(deleted_at=NOW), ["torn_down"], "torn_down"),
        (None, record(deleted_at=SINCE - timedelta(hours=1)), [], "torn_down"),
        (PipelineSeen(status="torn_down"), record(deleted_at=NOW), [], "torn_down"),
        (PipelineSeen(status="active"), record(PipelineStatus.INACTIVE), [], "inactive"),
    ],
    ids=[
        "first-sight-active",
        "first-sight-error",
        "enters-error",
        "stays-error",
        "error-cleared",
        "torn-down",
        "torn-down-unseen-after-ledger-start",
        "torn-down-before-ledger-start",
        "torn-down-already-seen",
        "disabled-by-spec",
    ],
)
def test_status_alerts_transitions(
    seen: PipelineSeen | None, pipeline: Pipeline, kinds: list[str], status: str
) -> None:
    alerts, updated = status_alerts(pipeline, seen, SINCE, NOW)

    assert [alert.kind.value for alert in alerts] == kinds
    assert updated.status == status


def test_status_alert_error_text() -> None:
    (alert,), _ = status_alerts(record(PipelineStatus.ERROR), PipelineSeen(status="active"), SINCE, NOW)

    assert alert.kind is AlertKind.ERROR
    assert alert.text == (
        "Pipeline site (acme/site, .github/workflows/deploy.yml) is in error: Workflow file "
        ".github/workflows/deploy.yml is not in repository acme/site."
    )


def test_status_alerts_keep_run_health() -> None:
    _, updated = status_alerts(record(PipelineStatus.ERROR), FAILING, SINCE, NOW)

    assert updated.run_health is RunHealth.FAILING
    assert updated.run_id == 10
