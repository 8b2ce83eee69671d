"""Sandbox world: runs over simulated time, cancel, scheduled activity, workflow states, dispatch."""

from __future__ import annotations

import pytest

from ccm.github.models import RunConclusion, RunStatus, WorkflowState
from ccm.github.sandbox import ManualClock, RunDefaults, SandboxSeed, SandboxWorld
from ccm.github.sandbox.errors import GitHubError
from ccm.github.sandbox.world import RunFilter

DEPLOY = ".github/workflows/deploy.yml"
NIGHTLY = ".github/workflows/nightly.yml"
REPOSITORY = "acme/api-service"


def make_seed(**changes: object) -> SandboxSeed:
    data: dict[str, object] = {
        "random_seed": 7,
        "defaults": RunDefaults(success_rate=0.5, duration_seconds=(100, 200), queued_seconds=5),
        "repositories": [
            {
                "full_name": REPOSITORY,
                "branches": ["main", "production"],
                "workflows": [
                    {"path": DEPLOY, "name": "Deploy"},
                    {"path": ".github/workflows/ci.yml", "dispatch": False},
                    {"path": ".github/workflows/old.yml", "state": "disabled_inactivity"},
                    {"path": ".github/workflows/gone.yml", "state": "deleted"},
                    {"path": ".github/workflows/fork.yml", "state": "disabled_fork"},
                    {"path": ".github/workflows/off.yml", "state": "disabled_manually"},
                ],
                "runs": [
                    {
                        "workflow": DEPLOY,
                        "status": "in_progress",
                        "started_seconds_ago": 30,
                        "duration_seconds": 90,
                    },
                    {"workflow": DEPLOY, "status": "queued", "started_seconds_ago": 3},
                    {
                        "workflow": DEPLOY,
                        "conclusion": "failure",
                        "started_seconds_ago": 7200,
                        "duration_seconds": 301,
                    },
                ],
            }
        ],
    }
    data.update(changes)
    return SandboxSeed.model_validate(data)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def world(clock: ManualClock) -> SandboxWorld:
    return SandboxWorld.open(make_seed(), clock=clock)


def test_dispatched_run_lifecycle(world: SandboxWorld, clock: ManualClock) -> None:
    started = world.now()
    run_id = world.dispatch(REPOSITORY, "deploy.yml", "main", None).run.id

    queued = world.run(REPOSITORY, run_id)
    assert queued.view.status is RunStatus.QUEUED
    assert queued.run.event == "workflow_dispatch"
    assert queued.view.updated_at == started

    clock.advance(5)
    running = world.run(REPOSITORY, run_id)
    assert running.view.status is RunStatus.IN_PROGRESS
    assert running.view.updated_at == started + 5

    clock.advance(running.run.duration_seconds)
    done = world.run(REPOSITORY, run_id)
    assert done.view.status is RunStatus.COMPLETED
    assert done.view.conclusion is done.run.conclusion
    assert done.view.updated_at == started + 5 + done.run.duration_seconds
    assert 100 <= done.run.duration_seconds <= 200


def test_idle_run_keeps_updated_at(world: SandboxWorld, clock: ManualClock) -> None:
    run_id = world.dispatch(REPOSITORY, "deploy.yml", "main", None).run.id
    clock.advance(6)
    first = world.run(REPOSITORY, run_id).view

    clock.advance(10)

    assert world.run(REPOSITORY, run_id).view == first


def test_outcomes_repeat_for_same_seed(clock: ManualClock) -> None:
    def outcomes(random_seed: int) -> list[tuple[RunConclusion, float]]:
        world = SandboxWorld.open(make_seed(random_seed=random_seed), clock=clock)
        runs = [world.dispatch(REPOSITORY, "deploy.yml", "main", None).run for _ in range(12)]
        return [(run.conclusion, run.duration_seconds) for run in runs]

    assert outcomes(7) == outcomes(7)
    assert outcomes(7) != outcomes(8)
    assert {conclusion for conclusion, _ in outcomes(7)} == {RunConclusion.SUCCESS, RunConclusion.FAILURE}


@pytest.mark.parametrize(
    ("rate", "expected"),
    [(1.0, RunConclusion.SUCCESS), (0.0, RunConclusion.FAILURE)],
    ids=["always", "never"],
)
def test_success_rate_bounds(clock: ManualClock, rate: float, expected: RunConclusion) -> None:
    world = SandboxWorld.open(make_seed(defaults=RunDefaults(success_rate=rate)), clock=clock)

    runs = [world.dispatch(REPOSITORY, "deploy.yml", "main", None).run for _ in range(10)]

    assert {run.conclusion for run in runs} == {expected}


def test_seeded_runs_progress(world: SandboxWorld, clock: ManualClock) -> None:
    runs = world.runs(REPOSITORY, RunFilter())
    assert [(item.view.status, item.view.conclusion) for item in runs] == [
        (RunStatus.QUEUED, None),
        (RunStatus.IN_PROGRESS, None),
        (RunStatus.COMPLETED, RunConclusion.FAILURE),
    ]

    clock.advance(60)  # the in-progress run was 30 s into its 90 s

    statuses = [item.view.status for item in world.runs(REPOSITORY, RunFilter())]
    assert statuses == [RunStatus.IN_PROGRESS, RunStatus.COMPLETED, RunStatus.COMPLETED]


def test_history_runs_completed(clock: ManualClock) -> None:
    data = make_seed().model_dump()
    data["repositories"][0]["runs"] = []
    data["repositories"][0]["history"] = {"count": 4, "every_seconds": 600}
    world = SandboxWorld.open(SandboxSeed.model_validate(data), clock=clock)

    runs = world.runs(REPOSITORY, RunFilter())

    assert len(runs) == 4 * 6
    assert {item.view.status for item in runs} == {RunStatus.COMPLETED}
    created = [item.run.created_at for item in runs]
    assert created == sorted(created, reverse=True)
    assert [item.run.run_number for item in runs if item.workflow.path == DEPLOY] == [4, 3, 2, 1]


def test_cancel_immediate(world: SandboxWorld, clock: ManualClock) -> None:
    run_id = world.dispatch(REPOSITORY, "deploy.yml", "main", None).run.id
    clock.advance(20)

    world.cancel_run(REPOSITORY, run_id)

    view = world.run(REPOSITORY, run_id).view
    assert view.status is RunStatus.COMPLETED
    assert view.conclusion is RunConclusion.CANCELLED
    assert view.updated_at == world.now()


def test_cancel_after_delay(clock: ManualClock) -> None:
    world = SandboxWorld.open(make_seed(defaults=RunDefaults(cancel_seconds=10)), clock=clock)
    run_id = world.dispatch(REPOSITORY, "deploy.yml", "main", None).run.id
    clock.advance(20)
    requested_at = world.now()

    world.cancel_run(REPOSITORY, run_id)
    pending = world.run(REPOSITORY, run_id).view
    clock.advance(10)
    cancelled = world.run(REPOSITORY, run_id).view

    assert pending.status is RunStatus.IN_PROGRESS
    assert pending.updated_at == requested_at
    assert cancelled.status is RunStatus.COMPLETED
    assert cancelled.conclusion is RunConclusion.CANCELLED


def test_force_cancel_skips_delay(clock: ManualClock) -> None:
    world = SandboxWorld.open(make_seed(defaults=RunDefaults(cancel_seconds=10)), clock=clock)
    run_id = world.dispatch(REPOSITORY, "deploy.yml", "main", None).run.id

    world.cancel_run(REPOSITORY, run_id, force=True)

    assert world.run(REPOSITORY, run_id).view.conclusion is RunConclusion.CANCELLED


def test_cancel_completed_conflict(world: SandboxWorld) -> None:
    completed = world.runs(REPOSITORY, RunFilter(status="completed"))[0]

    with pytest.raises(GitHubError) as caught:
        world.cancel_run(REPOSITORY, completed.run.id)

    assert caught.value.status == 409
    assert caught.value.message == "Cannot cancel a workflow run that is completed."


def test_schedule_starts_push_runs(clock: ManualClock) -> None:
    data = make_seed().model_dump()
    data["repositories"][0]["workflows"].append({"path": NIGHTLY, "schedule_every_seconds": 60})
    world = SandboxWorld.open(SandboxSeed.model_validate(data), clock=clock)
    nightly = world.workflow(REPOSITORY, "nightly.yml").id

    def nightly_runs() -> int:
        return len(world.runs(REPOSITORY, RunFilter(), str(nightly)))

    clock.advance(59)
    assert nightly_runs() == 0
    clock.advance(121)  # slots at 60, 120 and 180 s
    assert nightly_runs() == 3
    assert {item.run.event for item in world.runs(REPOSITORY, RunFilter(), str(nightly))} == {"push"}

    world.disable_workflow(REPOSITORY, "nightly.yml")
    clock.advance(600)
    assert nightly_runs() == 3

    world.enable_workflow(REPOSITORY, "nightly.yml")
    clock.advance(60)
    assert nightly_runs() == 4


def test_time_scale_speeds_runs(clock: ManualClock) -> None:
    world = SandboxWorld.open(make_seed(time_scale=60), clock=clock)
    before = world.now()

    clock.advance(2)

    assert world.now() == before + 120


def test_skip_time(world: SandboxWorld) -> None:
    before = world.now()

    world.skip_time(3600)

    assert world.now() == before + 3600
    assert {item.view.status for item in world.runs(REPOSITORY, RunFilter())} == {RunStatus.COMPLETED}


@pytest.mark.parametrize(
    ("workflow", "operation", "expected"),
    [
        pytest.param("deploy.yml", "disable", WorkflowState.DISABLED_MANUALLY, id="disable-active"),
        pytest.param("deploy.yml", "enable", WorkflowState.ACTIVE, id="enable-active"),
        pytest.param("off.yml", "enable", WorkflowState.ACTIVE, id="enable-disabled-manually"),
        pytest.param("off.yml", "disable", WorkflowState.DISABLED_MANUALLY, id="disable-disabled-manually"),
        pytest.param("old.yml", "enable", WorkflowState.ACTIVE, id="enable-disabled-inactivity"),
        pytest.param("old.yml", "disable", WorkflowState.DISABLED_MANUALLY, id="disable-disabled-inactivity"),
        pytest.param("gone.yml", "enable", 404, id="enable-deleted"),
        pytest.param("gone.yml", "disable", 404, id="disable-deleted"),
        pytest.param("fork.yml", "enable", 422, id="enable-disabled-fork"),
        pytest.param("fork.yml", "disable", 422, id="disable-disabled-fork"),
    ],
)
def test_workflow_state_changes(
    world: SandboxWorld, workflow: str, operation: str, expected: WorkflowState | int
) -> None:
    change = world.enable_workflow if operation == "enable" else world.disable_workflow

    if isinstance(expected, int):
        with pytest.raises(GitHubError) as caught:
            change(REPOSITORY, workflow)
        assert caught.value.status == expected
    else:
        change(REPOSITORY, workflow)
        assert world.workflow(REPOSITORY, workflow).state is expected


def test_state_change_updates_timestamp(world: SandboxWorld, clock: ManualClock) -> None:
    before = world.workflow(REPOSITORY, "deploy.yml").updated_at
    clock.advance(30)

    world.enable_workflow(REPOSITORY, "deploy.yml")
    unchanged = world.workflow(REPOSITORY, "deploy.yml").updated_at
    world.disable_workflow(REPOSITORY, "deploy.yml")

    assert unchanged == before
    assert world.workflow(REPOSITORY, "deploy.yml").updated_at == world.now()


@pytest.mark.parametrize(
    ("workflow", "ref", "inputs", "status", "message"),
    [
        pytest.param(
            "off.yml",
            "main",
            None,
            422,
            "Cannot trigger a 'workflow_dispatch' on a disabled workflow",
            id="disabled",
        ),
        pytest.param(
            "ci.yml", "main", None, 422, "Workflow does not have 'workflow_dispatch' trigger", id="no-trigger"
        ),
        pytest.param("deploy.yml", "feature", None, 422, "No ref found for: feature", id="unknown-ref"),
        pytest.param(
            "deploy.yml", None, None, 422, 'Invalid request.\n\n"ref" wasn\'t supplied.', id="no-ref"
        ),
        pytest.param(
            "deploy.yml",
            "main",
            {f"k{i}": "v" for i in range(26)},
            422,
            'Invalid request.\n\n"inputs" must be an object of at most 25 properties.',
            id="too-many-inputs",
        ),
        pytest.param("gone.yml", "main", None, 404, "Not Found", id="deleted"),
        pytest.param("missing.yml", "main", None, 404, "Not Found", id="unknown-workflow"),
    ],
)
def test_dispatch_errors(
    world: SandboxWorld,
    workflow: str,
    ref: str | None,
    inputs: dict[str, str] | None,
    status: int,
    message: str,
) -> None:
    before = len(world.runs(REPOSITORY, RunFilter()))

    with pytest.raises(GitHubError) as caught:
        world.dispatch(REPOSITORY, workflow, ref, inputs)

    assert (caught.value.status, caught.value.message) == (status, message)
    assert len(world.runs(REPOSITORY, RunFilter())) == before


def test_dispatch_full_ref(world: SandboxWorld) -> None:
    observed = world.dispatch(REPOSITORY, "deploy.yml", "refs/heads/production", {"reason": "hotfix"})

    assert observed.run.branch == "production"
    assert observed.run.run_number == 4


@pytest.mark.parametrize(
    ("run_filter", "expected"),
    [
        pytest.param(RunFilter(status="in_progress"), 1, id="status"),
        pytest.param(RunFilter(status="failure"), 1, id="conclusion"),
        pytest.param(RunFilter(status="success"), 0, id="conclusion-none"),
        pytest.param(RunFilter(branch="production"), 0, id="branch"),
        pytest.param(RunFilter(event="push"), 3, id="event"),
        pytest.param(RunFilter(event="workflow_dispatch"), 0, id="event-none"),
        pytest.param(RunFilter(actor="ACME"), 3, id="actor"),
    ],
)
def test_run_filters(world: SandboxWorld, run_filter: RunFilter, expected: int) -> None:
    assert len(world.runs(REPOSITORY, run_filter)) == expected


def test_inaccessible_repository(clock: ManualClock) -> None:
    data = make_seed().model_dump()
    data["repositories"][0]["accessible"] = False
    world = SandboxWorld.open(SandboxSeed.model_validate(data), clock=clock)

    with pytest.raises(GitHubError) as caught:
        world.workflows(REPOSITORY)

    assert caught.value.status == 404
