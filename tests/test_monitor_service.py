"""PipelineMonitor against the GitHub sandbox over real HTTP, on a manual clock shared by both.

Pipelines are registered by a real reconcile pass. The client makes one attempt per request,
so an injected fault fails at once instead of waiting for retries.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from ccm.audit import AuditLog
from ccm.github.client import ClientOptions, GitHubClient
from ccm.github.errors import GitHubError
from ccm.github.models import RunConclusion, RunStatus
from ccm.github.sandbox import (
    Fault,
    FaultKind,
    ManualClock,
    RepositorySeed,
    RunDefaults,
    RunSeed,
    SandboxSeed,
    SandboxServer,
    SandboxWorld,
    WorkflowSeed,
)
from ccm.manager import InvalidRequest, PipelineManager, PipelineNotFound
from ccm.monitor.service import PipelineMonitor
from ccm.pipeline import PipelineStatus
from ccm.reconcile.engine import Engine
from ccm.reconcile.passes import PassRequest, run_pass
from ccm.registry import Registry
from ccm.settings import Settings

DEPLOY = ".github/workflows/deploy.yml"
SHOP = "acme/shop"
DAY = 86400.0

SEED = SandboxSeed(
    random_seed=11,
    defaults=RunDefaults(success_rate=1.0, duration_seconds=(100, 100), queued_seconds=5),
    repositories=[
        RepositorySeed(
            full_name=SHOP,
            branches=["main", "production"],
            workflows=[WorkflowSeed(path=DEPLOY, name="Deploy")],
            runs=[
                RunSeed(workflow=DEPLOY, status="in_progress", started_seconds_ago=30, duration_seconds=600),
                RunSeed(workflow=DEPLOY, conclusion="cancelled", started_seconds_ago=600, duration_seconds=10),
                RunSeed(workflow=DEPLOY, conclusion="failure", started_seconds_ago=1800, duration_seconds=300,
                        branch="production"),
                RunSeed(workflow=DEPLOY, conclusion="success", started_seconds_ago=3600, duration_seconds=200),
                RunSeed(workflow=DEPLOY, conclusion="success", started_seconds_ago=7200, duration_seconds=100,
                        branch="production"),
                RunSeed(workflow=DEPLOY, conclusion="failure", started_seconds_ago=30 * 3600, duration_seconds=50),
            ],
        ),
        RepositorySeed(full_name="acme/tools", workflows=[WorkflowSeed(path=".github/workflows/ci.yml")]),
    ],
)

SPECS = f"""\
name: shop
repository: {SHOP}
workflow_file: {DEPLOY}
config: {{trigger_branches: [production, main]}}
vps: {{linked_domain: shop.example.com, linked_app: shop}}
---
name: tools-release
repository: acme/tools
workflow_file: .github/workflows/release.yml
"""


@dataclass
class Fleet:
    clock: ManualClock
    world: SandboxWorld
    engine: Engine
    monitor: PipelineMonitor

    def pipeline_id(self, name: str) -> str:
        return self.engine.registry.load().current_by_name()[name].pipeline_id

    def sent(self) -> int:
        return self.engine.client.counts().sent


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    # Started at the real time, because PipelineManager.get_pipeline_metrics reads the system clock.
    clock = ManualClock(start=float(int(time.time())))
    world = SandboxWorld.open(SEED, clock=clock)
    specs_dir = tmp_path / "pipelines.d"
    specs_dir.mkdir()
    (specs_dir / "fleet.yaml").write_text(SPECS, encoding="utf-8")
    with SandboxServer(world) as server:
        settings = Settings(state_dir=tmp_path / "state", pipelines_dir=specs_dir, github=server.url)
        client = GitHubClient(
            server.url,
            SecretStr("monitor-test-token"),
            state_dir=settings.state_dir,
            options=ClientOptions(max_attempts=1),
            clock=clock.time,
        )
        engine = Engine(
            settings=settings,
            client=client,
            registry=Registry(settings.state_dir),
            audit=AuditLog(settings.state_dir / "audit.log"),
            github_label=server.url,
        )
        run_pass(engine, PassRequest())
        try:
            yield Fleet(clock, world, engine, PipelineMonitor(engine, clock=clock.time))
        finally:
            client.close()


def test_stats_from_sandbox_runs(fleet: Fleet) -> None:
    stats = fleet.monitor.get_pipeline_stats(fleet.pipeline_id("shop"))

    assert stats.status is PipelineStatus.ACTIVE
    assert stats.linked_domain == "shop.example.com"
    assert stats.active_runs == 1
    assert stats.queue_length == 0
    assert stats.metrics_24h.run_count == 5
    assert stats.metrics_24h.success_count == 2
    assert stats.metrics_24h.failure_count == 1
    assert stats.metrics_24h.success_rate == 66.7
    assert stats.metrics_24h.avg_duration_seconds == 200.0
    assert stats.error_count_24h == 1
    assert stats.success_rate_trend == 66.7  # the day before had one failure: 0 %
    assert stats.last_run is not None
    assert stats.last_run.status == "in_progress"
    assert stats.stale is False
    assert stats.age_seconds == 0.0


def test_stats_json_shape(fleet: Fleet) -> None:
    document = fleet.monitor.get_pipeline_stats(fleet.pipeline_id("shop")).model_dump(mode="json")

    required = {"pipeline_id", "status", "last_run", "metrics_24h", "health_score", "active_runs", "queue_length"}
    assert required <= set(document)
    assert set(document["last_run"]) == {"timestamp", "status", "duration_seconds", "branch"}
    assert {"run_count", "success_count", "success_rate", "avg_duration_seconds"} <= set(document["metrics_24h"])
    assert document["last_run"]["timestamp"].endswith("Z")


def test_tiers_limit_requests(fleet: Fleet) -> None:
    pipeline_id = fleet.pipeline_id("shop")
    monitor = fleet.monitor

    before = fleet.sent()
    monitor.get_pipeline_stats(pipeline_id)
    assert fleet.sent() - before == 1  # one page contains every run

    before = fleet.sent()
    monitor.get_pipeline_stats(pipeline_id)
    monitor.get_workflow_runs(pipeline_id)
    monitor.get_recent_failures(pipeline_id)
    fleet.clock.advance(9)
    monitor.get_pipeline_stats(pipeline_id)
    assert fleet.sent() - before == 0

    fleet.clock.advance(1)
    before_not_modified = fleet.engine.client.counts().not_modified
    monitor.get_pipeline_stats(pipeline_id)
    assert fleet.sent() - before == 1  # the status tier, 10 s
    assert fleet.engine.client.counts().not_modified - before_not_modified == 1

    fleet.clock.advance(50)
    monitor.get_pipeline_stats(pipeline_id)
    assert fleet.sent() - before == 2  # the metrics tier at 60 s also refreshes the status


def test_health_tier_holds_score(fleet: Fleet) -> None:
    pipeline_id = fleet.pipeline_id("shop")
    first = fleet.monitor.get_pipeline_stats(pipeline_id)
    registry = fleet.engine.registry
    with registry.lock():
        data = registry.load()
        failed = data.pipelines[pipeline_id].model_copy(update={"status": PipelineStatus.ERROR})
        registry.save(data.with_pipeline(failed))

    fleet.clock.advance(29)
    held = fleet.monitor.get_pipeline_stats(pipeline_id)
    fleet.clock.advance(1)
    rescored = fleet.monitor.get_pipeline_stats(pipeline_id)

    assert held.status is PipelineStatus.ERROR  # the status is read on every call
    assert held.health_score == first.health_score  # the score is kept for 30 s
    assert rescored.health_score == pytest.approx(first.health_score - 50, abs=0.1)  # runs aged 30 s


def test_queue_counted(fleet: Fleet) -> None:
    pipeline_id = fleet.pipeline_id("shop")
    for _ in range(5):
        fleet.world.dispatch(SHOP, "deploy.yml", "main", None)

    stats = fleet.monitor.get_pipeline_stats(pipeline_id)

    assert stats.queue_length == 5
    assert "5 runs queued, more than 3: -10" in stats.health_reasons


def test_stale_after_server_error(fleet: Fleet) -> None:
    pipeline_id = fleet.pipeline_id("shop")
    fresh = fleet.monitor.get_pipeline_stats(pipeline_id)
    fleet.world.faults.add(Fault(kind=FaultKind.STATUS, status=500))
    fleet.clock.advance(61)

    stale = fleet.monitor.get_pipeline_stats(pipeline_id)

    assert stale.stale is True
    assert stale.age_seconds == 61.0
    assert stale.metrics_24h == fresh.metrics_24h
    assert stale.last_run == fresh.last_run
    assert "values are stale because GitHub failed: -10" in stale.health_reasons
    assert stale.health_score == fresh.health_score - 10


def test_stale_asks_once_per_interval(fleet: Fleet) -> None:
    pipeline_id = fleet.pipeline_id("shop")
    fleet.monitor.get_pipeline_stats(pipeline_id)
    fleet.world.faults.add(Fault(kind=FaultKind.STATUS, status=502))
    fleet.clock.advance(60)
    fleet.monitor.get_pipeline_stats(pipeline_id)

    before = fleet.sent()
    fleet.clock.advance(5)
    again = fleet.monitor.get_pipeline_stats(pipeline_id)

    assert fleet.sent() == before
    assert again.stale is True
    assert again.age_seconds == 65.0


def test_stale_recovers(fleet: Fleet) -> None:
    pipeline_id = fleet.pipeline_id("shop")
    fleet.monitor.get_pipeline_stats(pipeline_id)
    fault_id = fleet.world.faults.add(Fault(kind=FaultKind.STATUS, status=500))
    fleet.clock.advance(60)
    assert fleet.monitor.get_pipeline_stats(pipeline_id).stale is True

    fleet.world.faults.remove(fault_id)
    fleet.clock.advance(60)
    recovered = fleet.monitor.get_pipeline_stats(pipeline_id)

    assert recovered.stale is False
    assert recovered.age_seconds == 0.0
    assert not any("stale" in reason for reason in recovered.health_reasons)


def test_stale_without_any_fetch(fleet: Fleet) -> None:
    fleet.world.faults.add(Fault(kind=FaultKind.STATUS, status=503))

    stats = fleet.monitor.get_pipeline_stats(fleet.pipeline_id("shop"))

    assert stats.stale is True
    assert stats.age_seconds is None
    assert stats.last_run is None
    assert stats.metrics_24h.run_count == 0
    assert stats.health_score is None
    assert stats.health_reasons == ("no data: GitHub has not returned any runs yet, so the health is unknown",)


def test_error_pipeline_not_stale(fleet: Fleet) -> None:
    stats = fleet.monitor.get_pipeline_stats(fleet.pipeline_id("tools-release"))

    assert stats.status is PipelineStatus.ERROR
    assert stats.stale is False
    assert stats.health_score == 50.0
    assert stats.last_run is None


def test_unknown_pipeline(fleet: Fleet) -> None:
    with pytest.raises(PipelineNotFound) as caught:
        fleet.monitor.get_pipeline_stats("pipe_000000000000")

    assert str(caught.value) == "No pipeline has the id pipe_000000000000."


def test_all_stats_by_name(fleet: Fleet) -> None:
    names = [stats.name for stats in fleet.monitor.get_all_pipeline_stats()]

    assert names == ["shop", "tools-release"]


def test_workflow_runs_limit(fleet: Fleet) -> None:
    runs = fleet.monitor.get_workflow_runs(fleet.pipeline_id("shop"), limit=2)

    assert [run.status for run in runs] == [RunStatus.IN_PROGRESS, RunStatus.COMPLETED]
    assert runs[1].conclusion is RunConclusion.CANCELLED
    assert runs[1].duration_seconds == 10.0


def test_workflow_runs_branch(fleet: Fleet) -> None:
    runs = fleet.monitor.get_workflow_runs(fleet.pipeline_id("shop"), branch="production")

    assert [run.conclusion for run in runs] == [RunConclusion.FAILURE, RunConclusion.SUCCESS]
    assert {run.branch for run in runs} == {"production"}


@pytest.mark.parametrize("limit", [0, 101])
def test_workflow_runs_limit_invalid(fleet: Fleet, limit: int) -> None:
    with pytest.raises(ValueError) as caught:
        fleet.monitor.get_workflow_runs(fleet.pipeline_id("shop"), limit=limit)

    assert str(caught.value) == f"limit must be between 1 and 100, not {limit}."


def test_workflow_runs_without_cache(fleet: Fleet) -> None:
    fleet.world.faults.add(Fault(kind=FaultKind.STATUS, status=500))

    with pytest.raises(GitHubError) as caught:
        fleet.monitor.get_workflow_runs(fleet.pipeline_id("shop"))

    assert "failed with 500" in str(caught.value)


@pytest.mark.parametrize(("hours", "count"), [pytest.param(24, 1, id="day"), pytest.param(48, 2, id="two-days")])
def test_recent_failures(fleet: Fleet, hours: int, count: int) -> None:
    failures = fleet.monitor.get_recent_failures(fleet.pipeline_id("shop"), hours=hours)

    assert len(failures) == count
    assert {run.conclusion for run in failures} == {RunConclusion.FAILURE}


def test_recent_failures_hours_invalid(fleet: Fleet) -> None:
    with pytest.raises(ValueError) as caught:
        fleet.monitor.get_recent_failures(fleet.pipeline_id("shop"), hours=49)

    assert str(caught.value) == "hours must be between 1 and 48, not 49: the monitor keeps 48 h of runs."


def test_runs_progress_over_time(fleet: Fleet) -> None:
    pipeline_id = fleet.pipeline_id("shop")
    manager = PipelineManager(fleet.engine)
    triggered = manager.trigger_pipeline(pipeline_id)
    assert fleet.monitor.get_pipeline_stats(pipeline_id).queue_length == 1

    fleet.clock.advance(600)  # the dispatched run and the seeded in-progress run both complete
    stats = fleet.monitor.get_pipeline_stats(pipeline_id)

    assert stats.active_runs == 0
    assert stats.queue_length == 0
    assert stats.last_run is not None
    assert stats.last_run.status == "success"
    assert stats.last_run.branch == triggered.branch == "production"
    assert stats.last_run.duration_seconds == 105.0  # 5 s queued, 100 s in progress


def test_health_score_matches_stats(fleet: Fleet) -> None:
    pipeline_id = fleet.pipeline_id("shop")

    assert fleet.monitor.calculate_health_score(pipeline_id) == fleet.monitor.get_pipeline_stats(pipeline_id).health_score


def test_manager_pipeline_metrics(fleet: Fleet) -> None:
    manager = PipelineManager(fleet.engine)

    day = manager.get_pipeline_metrics(fleet.pipeline_id("shop"))
    two_days = manager.get_pipeline_metrics(fleet.pipeline_id("shop"), time_range="2d")

    assert (day["run_count"], day["success_count"], day["failure_count"]) == (5, 2, 1)
    assert day["complete"] is True
    assert day["time_range"] == "24h"
    assert (two_days["run_count"], two_days["failure_count"]) == (6, 2)


def test_manager_metrics_bad_range(fleet: Fleet) -> None:
    with pytest.raises(InvalidRequest) as caught:
        PipelineManager(fleet.engine).get_pipeline_metrics(fleet.pipeline_id("shop"), time_range="week")

    assert "Invalid time range 'week'" in str(caught.value)
