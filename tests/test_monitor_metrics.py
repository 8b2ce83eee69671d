"""Monitor metrics and health on hand-made run lists: every status and conclusion, unknown ones too."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

import pytest

from ccm.github.models import RunConclusion, RunStatus, WorkflowRun
from ccm.monitor.health import calculate_health, weighted_success_rate
from ccm.monitor.metrics import (
    RunOutcome,
    consecutive_failures,
    count_active,
    count_queued,
    last_run,
    metrics_for_window,
    parse_time_range,
    range_metrics,
    recent_failures,
    run_outcome,
    success_rate_trend,
)
from ccm.pipeline import PipelineStatus

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z
HOUR = 3600.0
_ids = count(1)


def run(
    conclusion: str | None = "success",
    *,
    status: str = "completed",
    hours_ago: float = 1.0,
    duration: float = 120.0,
    run_id: int | None = None,
    branch: str = "main",
) -> WorkflowRun:
    """Build a run as GitHub would send it; ``conclusion=None`` with another status is in flight."""
    created = NOW - hours_ago * HOUR
    in_flight = status != "completed"
    return WorkflowRun.model_validate(
        {
            "id": run_id if run_id is not None else next(_ids),
            "workflow_id": 1,
            "event": "push",
            "head_branch": branch,
            "status": status,
            "conclusion": None if in_flight else conclusion,
            "created_at": datetime.fromtimestamp(created, UTC).isoformat(),
            "updated_at": datetime.fromtimestamp(created + (0 if in_flight else duration), UTC).isoformat(),
            "run_started_at": datetime.fromtimestamp(created, UTC).isoformat(),
        }
    )


@pytest.mark.parametrize(
    ("conclusion", "outcome"),
    [
        pytest.param("success", RunOutcome.SUCCESS, id="success"),
        pytest.param("failure", RunOutcome.FAILURE, id="failure"),
        pytest.param("timed_out", RunOutcome.FAILURE, id="timed_out"),
        pytest.param("startup_failure", RunOutcome.FAILURE, id="startup_failure"),
        pytest.param("cancelled", RunOutcome.OTHER, id="cancelled"),
        pytest.param("skipped", RunOutcome.OTHER, id="skipped"),
        pytest.param("neutral", RunOutcome.OTHER, id="neutral"),
        pytest.param("action_required", RunOutcome.OTHER, id="action_required"),
        pytest.param("stale", RunOutcome.OTHER, id="stale"),
        pytest.param("some_future_conclusion", RunOutcome.OTHER, id="unknown-conclusion"),
    ],
)
def test_conclusion_outcome(conclusion: str, outcome: RunOutcome) -> None:
    assert run_outcome(run(conclusion)) is outcome


def test_every_conclusion_classified() -> None:
    tested = {"success", "failure", "timed_out", "startup_failure", "cancelled", "skipped", "neutral",
              "action_required", "stale", "unknown"}
    assert {conclusion.value for conclusion in RunConclusion} == tested


@pytest.mark.parametrize(
    ("status", "active", "queued"),
    [
        pytest.param("in_progress", 1, 0, id="in_progress"),
        pytest.param("queued", 0, 1, id="queued"),
        pytest.param("waiting", 0, 1, id="waiting"),
        pytest.param("requested", 0, 1, id="requested"),
        pytest.param("pending", 0, 1, id="pending"),
        pytest.param("some_future_status", 0, 0, id="unknown-status"),
        pytest.param("completed", 0, 0, id="completed"),
    ],
)
def test_status_counts(status: str, active: int, queued: int) -> None:
    runs = [run("success", status=status)]

    assert count_active(runs) == active
    assert count_queued(runs) == queued
    expected = RunOutcome.SUCCESS if status == "completed" else RunOutcome.IN_FLIGHT
    assert run_outcome(runs[0]) is expected


def test_every_status_classified() -> None:
    tested = {"in_progress", "queued", "waiting", "requested", "pending", "completed", "unknown"}
    assert {status.value for status in RunStatus} == tested


def test_window_metrics_counts() -> None:
    runs = [
        run("success", duration=100),
        run("success", duration=200),
        run("failure", duration=300),
        run("timed_out", duration=600),
        run("cancelled", duration=5),
        run("skipped", duration=0),
        run(None, status="in_progress"),
        run("success", hours_ago=25),  # outside the window
    ]

    metrics = metrics_for_window(runs, NOW)

    assert metrics.run_count == 7
    assert metrics.success_count == 2
    assert metrics.failure_count == 2
    assert metrics.success_rate == 50.0
    assert metrics.avg_duration_seconds == 300.0  # cancelled and skipped runs left out


def test_window_metrics_empty() -> None:
    metrics = metrics_for_window([run("cancelled"), run("neutral")], NOW)

    assert metrics.run_count == 2
    assert metrics.success_rate is None
    assert metrics.avg_duration_seconds is None


@pytest.mark.parametrize(
    ("current", "previous", "trend"),
    [
        pytest.param(["success", "success"], ["success", "failure"], 50.0, id="better"),
        pytest.param(["failure", "success"], ["success"], -50.0, id="worse"),
        pytest.param(["success"], [], None, id="no-previous-day"),
        pytest.param([], ["success"], None, id="no-current-day"),
    ],
)
def test_success_rate_trend(current: list[str], previous: list[str], trend: float | None) -> None:
    runs = [run(conclusion, hours_ago=2) for conclusion in current]
    runs += [run(conclusion, hours_ago=30) for conclusion in previous]

    assert success_rate_trend(runs, NOW) == trend


@pytest.mark.parametrize(
    ("newest_first", "streak"),
    [
        pytest.param(["failure", "timed_out", "success", "failure"], 2, id="two-then-success"),
        pytest.param(["success", "failure"], 0, id="newest-success"),
        pytest.param(["failure", "cancelled", "startup_failure", "success"], 2, id="cancelled-skipped"),
        pytest.param(["failure", "failure", "failure"], 3, id="all-failed"),
        pytest.param([], 0, id="no-runs"),
    ],
)
def test_consecutive_failures(newest_first: list[str], streak: int) -> None:
    runs = [run(conclusion, hours_ago=index + 1) for index, conclusion in enumerate(newest_first)]
    runs.insert(0, run(None, status="in_progress", hours_ago=0.1))

    assert consecutive_failures(runs) == streak


def test_last_run_in_flight() -> None:
    runs = [run("success", hours_ago=3), run(None, status="queued", hours_ago=0.5, branch="production")]

    newest = last_run(runs)

    assert newest is not None
    assert newest.status == "queued"
    assert newest.branch == "production"
    assert newest.duration_seconds is None


def test_last_run_completed() -> None:
    newest = last_run([run("failure", hours_ago=1, duration=192), run("success", hours_ago=2)])

    assert newest is not None
    assert newest.status == "failure"
    assert newest.duration_seconds == 192


def test_recent_failures_window() -> None:
    runs = [run("failure", hours_ago=1), run("timed_out", hours_ago=5), run("failure", hours_ago=30),
            run("success", hours_ago=2), run("cancelled", hours_ago=3)]

    failures = recent_failures(runs, NOW - 24 * HOUR)

    assert [summary.conclusion for summary in failures] == [RunConclusion.FAILURE, RunConclusion.TIMED_OUT]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [pytest.param("24h", 86400, id="hours"), pytest.param("7d", 604800, id="days"), pytest.param(" 1h ", 3600, id="spaces")],
)
def test_parse_time_range(text: str, seconds: float) -> None:
    assert parse_time_range(text) == seconds


@pytest.mark.parametrize("text", ["", "24", "0h", "1w", "-1d", "1.5h"])
def test_parse_time_range_invalid(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_time_range(text)
    assert str(caught.value) == (
        f"Invalid time range {text!r}: give a whole number of hours or days, such as '24h' or '7d'."
    )


@pytest.mark.parametrize(
    ("oldest_hours_ago", "truncated", "complete"),
    [
        pytest.param(30, True, True, id="truncated-beyond-range"),
        pytest.param(10, True, False, id="truncated-inside-range"),
        pytest.param(10, False, True, id="all-read"),
    ],
)
def test_range_metrics_complete(oldest_hours_ago: float, truncated: bool, complete: bool) -> None:
    runs = [run("success", hours_ago=1), run("failure", hours_ago=oldest_hours_ago)]

    metrics = range_metrics("pipe_000000000001", "24h", runs, NOW, truncated=truncated)

    assert metrics.complete is complete
    assert metrics.time_range == "24h"


# -- health: the worked examples of ccm.monitor.health -----------------------------------------


def test_health_mostly_successful() -> None:
    runs = [run("failure", hours_ago=0, run_id=1)] + [run("success", hours_ago=0, run_id=10 + i) for i in range(9)]

    health = calculate_health(PipelineStatus.ACTIVE, runs, NOW, stale=False, fetched=True)

    assert health.score == 90.0
    assert health.reasons == ("weighted success rate over 24 h: base 90.0",)


def test_health_failure_streak() -> None:
    runs = [run("success", hours_ago=0, run_id=1), run("success", hours_ago=0, run_id=2),
            run("failure", hours_ago=0, run_id=3), run("failure", hours_ago=0, run_id=4)]

    health = calculate_health(PipelineStatus.ACTIVE, runs, NOW, stale=False, fetched=True)

    assert health.score == 30.0
    assert health.reasons[1] == "2 consecutive failed runs: -20"


def test_health_weights_recent_runs() -> None:
    runs = [run("success", hours_ago=0), run("failure", hours_ago=12)]

    assert weighted_success_rate(runs, NOW) == pytest.approx(200 / 3)
    assert calculate_health(PipelineStatus.ACTIVE, runs, NOW, stale=False, fetched=True).score == 66.7


def test_health_error_without_runs() -> None:
    health = calculate_health(PipelineStatus.ERROR, [], NOW, stale=False, fetched=True)

    assert health.score == 50.0
    assert health.reasons == (
        "no run succeeded or failed in the last 24 h: base 100",
        "pipeline status is error: -50",
    )


def test_health_stale_and_queue() -> None:
    runs = [run("success", hours_ago=0) for _ in range(5)]
    runs += [run(None, status="queued", hours_ago=0.01) for _ in range(6)]

    health = calculate_health(PipelineStatus.ACTIVE, runs, NOW, stale=True, fetched=True)

    assert health.score == 75.0
    assert "values are stale because GitHub failed: -10" in health.reasons
    assert "6 runs queued, more than 3: -15" in health.reasons


def test_health_inactive_not_judged() -> None:
    runs = [run("failure", hours_ago=0) for _ in range(5)]

    health = calculate_health(PipelineStatus.INACTIVE, runs, NOW, stale=True, fetched=True)

    assert health.score == 100.0
    assert health.reasons[0].startswith("inactive:")


@pytest.mark.parametrize("status", [PipelineStatus.ACTIVE, PipelineStatus.ERROR], ids=lambda s: s.value)
def test_health_unknown_without_data(status: PipelineStatus) -> None:
    health = calculate_health(status, [], NOW, stale=True, fetched=False)

    assert health.score is None
    assert health.reasons == ("no data: GitHub has not returned any runs yet, so the health is unknown",)


def test_health_clamped_at_zero() -> None:
    runs = [run("failure", hours_ago=0) for _ in range(6)] + [run(None, status="pending") for _ in range(10)]

    health = calculate_health(PipelineStatus.ERROR, runs, NOW, stale=True, fetched=True)

    assert health.score == 0.0
    assert "6 consecutive failed runs: -40" in health.reasons
    assert "10 runs queued, more than 3: -20" in health.reasons


def test_health_ignores_neutral_conclusions() -> None:
    runs = [run("success", hours_ago=0)] + [run(name, hours_ago=0) for name in
                                             ("cancelled", "skipped", "neutral", "action_required", "stale", "new_one")]

    assert calculate_health(PipelineStatus.ACTIVE, runs, NOW, stale=False, fetched=True).score == 100.0
