"""Backoff of failing pipelines: the table itself, and the scheduler deferring them in real passes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from ccm.audit import AuditLog
from ccm.github.client import ClientOptions, GitHubClient
from ccm.github.sandbox import Fault, FaultKind, RepositorySeed, SandboxSeed, SandboxServer, SandboxWorld, WorkflowSeed
from ccm.reconcile.engine import Engine
from ccm.reconcile.passes import PassResult
from ccm.registry import Registry
from ccm.serve.backoff import Backoff
from ccm.serve.scheduler import PassScheduler, Trigger
from ccm.settings import Settings
from test_serve_harness import spec_text, workflow_state

DEPLOY = ".github/workflows/deploy.yml"


@pytest.mark.parametrize(
    ("failures", "delay"),
    [(1, 30), (2, 60), (3, 120), (5, 480), (6, 900), (7, 900), (200, 900)],
    ids=["first", "second", "third", "fifth", "capped", "past-cap", "many"],
)
def test_backoff_doubles_to_cap(failures: int, delay: float) -> None:
    backoff = Backoff(30, 900)
    for _ in range(failures):
        entry = backoff.record_failure("site", 1000.0, "enable_workflow failed")

    assert entry.failures == failures
    assert entry.delay_seconds == delay
    assert entry.retry_at == 1000.0 + delay


def test_backoff_defers_until_retry_time() -> None:
    backoff = Backoff(30, 900)
    backoff.record_failure("broken", 100.0, "GitHub was unavailable")

    assert set(backoff.deferred(100.0)) == {"broken"}
    assert set(backoff.deferred(129.9)) == {"broken"}
    assert backoff.deferred(130.0) == {}


def test_backoff_forget_resets() -> None:
    backoff = Backoff(30, 900)
    backoff.record_failure("broken", 0.0, "x")
    backoff.record_failure("broken", 0.0, "x")

    assert backoff.forget("broken") is not None
    assert backoff.forget("broken") is None
    assert backoff.record_failure("broken", 0.0, "x").delay_seconds == 30


def test_backoff_rejects_bad_range() -> None:
    with pytest.raises(ValueError, match="0 < initial_seconds <= max_seconds, not 60 and 30"):
        Backoff(60, 30)


class ManualMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class SchedulerSetup:
    scheduler: PassScheduler
    clock: ManualMonotonic
    world: SandboxWorld
    specs_dir: Path


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[SchedulerSetup]:
    seed = SandboxSeed(
        repositories=[
            RepositorySeed(full_name=name, workflows=[WorkflowSeed(path=DEPLOY, state="disabled_manually")])
            for name in ("acme/good", "acme/broken", "acme/other")
        ]
    )
    world = SandboxWorld.open(seed)
    specs_dir = tmp_path / "pipelines.d"
    specs_dir.mkdir()
    for name in ("good", "broken"):
        (specs_dir / f"{name}.yaml").write_text(spec_text(name, f"acme/{name}"), encoding="utf-8")
    with SandboxServer(world) as server:
        settings = Settings(state_dir=tmp_path / "state", pipelines_dir=specs_dir, github=server.url)
        client = GitHubClient(
            server.url, SecretStr("test-token"), state_dir=settings.state_dir, options=ClientOptions(max_attempts=1)
        )
        engine = Engine(
            settings=settings,
            client=client,
            registry=Registry(settings.state_dir),
            audit=AuditLog(settings.state_dir / "audit.log"),
            github_label=server.url,
        )
        clock = ManualMonotonic()
        with client:
            yield SchedulerSetup(PassScheduler(engine, _ignore_pass, clock=clock), clock, world, specs_dir)


def _ignore_pass(trigger: Trigger, result: PassResult | None) -> None:
    return None


def run(setup: SchedulerSetup, trigger: Trigger = Trigger.RESYNC, changed: frozenset[str] = frozenset()) -> PassResult:
    result = setup.scheduler.run_once(trigger, changed)
    assert result is not None
    return result


def test_scheduler_defers_unavailable_repository(setup: SchedulerSetup) -> None:
    fault = setup.world.faults.add(Fault(kind=FaultKind.STATUS, status=502, path_pattern="/acme/broken/"))

    first = run(setup)
    assert workflow_state(setup.world, "acme/good") == "active"
    assert first.observed.get("acme/broken") is not None
    entry = setup.scheduler.backoff.entry("broken")
    assert entry is not None and entry.failures == 1 and entry.delay_seconds == 30
    assert "GitHub was unavailable for acme/broken" in entry.reason

    # A new spec in a healthy repository converges while broken waits, and broken costs nothing.
    (setup.specs_dir / "other.yaml").write_text(spec_text("other", "acme/other"), encoding="utf-8")
    setup.clock.now += 10
    second = run(setup)
    assert workflow_state(setup.world, "acme/other") == "active"
    assert second.observed.get("acme/broken") is None
    assert setup.scheduler.backoff.entry("broken") == entry

    setup.world.faults.remove(fault)
    setup.clock.now += 21
    third = run(setup)
    assert third.observed.get("acme/broken") is not None
    assert workflow_state(setup.world, "acme/broken") == "active"
    assert setup.scheduler.backoff.entry("broken") is None


def test_scheduler_backs_off_failed_action(setup: SchedulerSetup) -> None:
    setup.world.faults.add(Fault(kind=FaultKind.STATUS, status=422, method="PUT", path_pattern="/acme/broken/"))

    run(setup)
    setup.clock.now += 31
    run(setup)

    entry = setup.scheduler.backoff.entry("broken")
    assert entry is not None
    assert entry.failures == 2
    assert entry.delay_seconds == 60
    assert entry.reason.startswith("enable_workflow failed")
    assert setup.scheduler.backoff.entry("good") is None


def test_scheduler_retries_edited_spec_at_once(setup: SchedulerSetup) -> None:
    fault = setup.world.faults.add(Fault(kind=FaultKind.STATUS, status=502, path_pattern="/acme/broken/"))
    run(setup)
    setup.world.faults.remove(fault)

    setup.clock.now += 1
    result = run(setup, Trigger.FILES, frozenset({"broken.yaml"}))

    assert result.observed.get("acme/broken") is not None
    assert workflow_state(setup.world, "acme/broken") == "active"
    assert setup.scheduler.backoff.entry("broken") is None
