"""Build the first state of a world from a seed: ids, timestamps, and the seeded and past runs."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ccm.github.models import RunConclusion, WorkflowState
from ccm.github.sandbox.clock import TimeAnchor
from ccm.github.sandbox.records import RepositoryRecord, WorkflowRecord
from ccm.github.sandbox.runs import SimulatedRun, draw_outcome
from ccm.github.sandbox.seed import RepositorySeed, RunSeed, SandboxSeed
from ccm.github.sandbox.store import WorldState

FIRST_REPOSITORY_ID = 100_001
FIRST_WORKFLOW_ID = 1_000_001
FIRST_RUN_ID = 1_000_000_001
_DAY = 86_400.0


class _PlannedRun(BaseModel):
    """A run to create, before it has an id: a seeded one (``seed``) or a past one (``None``)."""

    model_config = ConfigDict(frozen=True)

    created_at: float
    workflow: WorkflowRecord
    event: str
    branch: str
    seed: RunSeed | None = None


def build_state(seed: SandboxSeed, wall_now: float) -> WorldState:
    """Return the world that ``seed`` describes, starting at wall time ``wall_now``."""
    now = wall_now
    repositories: list[RepositoryRecord] = []
    workflows: list[WorkflowRecord] = []
    runs: list[SimulatedRun] = []
    next_workflow_id = FIRST_WORKFLOW_ID
    next_run_id = FIRST_RUN_ID

    for index, repository_seed in enumerate(seed.repositories):
        repository = RepositoryRecord(
            id=FIRST_REPOSITORY_ID + index,
            full_name=repository_seed.full_name,
            default_branch=repository_seed.default_branch,
            branches=tuple(repository_seed.all_branches),
            accessible=repository_seed.accessible,
            private=repository_seed.private,
            created_at=now - 365 * _DAY,
        )
        repositories.append(repository)

        by_path: dict[str, WorkflowRecord] = {}
        for workflow_seed in repository_seed.workflows:
            every = workflow_seed.schedule_every_seconds
            by_path[workflow_seed.path] = WorkflowRecord(
                id=next_workflow_id,
                repository=repository.full_name,
                path=workflow_seed.path,
                name=workflow_seed.display_name,
                state=WorkflowState(workflow_seed.state),
                dispatch=workflow_seed.dispatch,
                success_rate=(
                    seed.defaults.success_rate
                    if workflow_seed.success_rate is None
                    else workflow_seed.success_rate
                ),
                duration_seconds=workflow_seed.duration_seconds or seed.defaults.duration_seconds,
                queued_seconds=seed.defaults.queued_seconds,
                cancel_seconds=seed.defaults.cancel_seconds,
                schedule_every_seconds=every,
                next_schedule_at=None if every is None else now + every,
                created_at=now - 180 * _DAY,
                updated_at=now - 180 * _DAY,
            )
            next_workflow_id += 1
        workflows.extend(by_path.values())

        # Ids and run numbers follow creation time, as on GitHub, so plan every run first.
        planned = _planned_runs(repository_seed, repository, by_path, now)
        run_numbers: dict[int, int] = {}
        for plan in sorted(planned, key=lambda plan: plan.created_at):
            run_numbers[plan.workflow.id] = run_numbers.get(plan.workflow.id, 0) + 1
            runs.append(_create_run(seed, plan, next_run_id, run_numbers[plan.workflow.id], now))
            next_run_id += 1

    return WorldState(
        random_seed=seed.random_seed,
        time=TimeAnchor(wall_at=wall_now, simulated_at=now, scale=seed.time_scale),
        next_run_id=next_run_id,
        repositories=repositories,
        workflows=workflows,
        runs=runs,
    )


def _planned_runs(
    repository_seed: RepositorySeed,
    repository: RepositoryRecord,
    by_path: dict[str, WorkflowRecord],
    now: float,
) -> list[_PlannedRun]:
    planned = [
        _PlannedRun(
            created_at=now - run_seed.started_seconds_ago,
            workflow=by_path[run_seed.workflow],
            event=run_seed.event,
            branch=run_seed.branch or repository.default_branch,
            seed=run_seed,
        )
        for run_seed in repository_seed.runs
    ]
    history = repository_seed.history
    if history is not None:
        for workflow in by_path.values():
            planned.extend(
                _PlannedRun(
                    created_at=now - (history.count - step) * history.every_seconds,
                    workflow=workflow,
                    event="push",
                    branch=repository.default_branch,
                )
                for step in range(history.count)
            )
    return planned


def _create_run(
    seed: SandboxSeed, plan: _PlannedRun, run_id: int, run_number: int, now: float
) -> SimulatedRun:
    workflow = plan.workflow
    conclusion, drawn = draw_outcome(
        seed.random_seed, run_id, workflow.success_rate, workflow.duration_seconds
    )
    age = now - plan.created_at
    run_seed = plan.seed

    # Seeded and past runs skip the queue (queued runs wait their age plus the usual queue time),
    # and a run that must have completed by now gets a duration that fits in its age.
    queued_seconds = 0.0
    if run_seed is None:
        duration = min(drawn, age)
    elif run_seed.status == "queued":
        queued_seconds = age + workflow.queued_seconds
        duration = run_seed.duration_seconds or drawn
    elif run_seed.in_flight:
        duration = run_seed.duration_seconds or age + drawn
    else:
        conclusion = RunConclusion(run_seed.conclusion)
        duration = run_seed.duration_seconds or min(drawn, age)

    return SimulatedRun(
        id=run_id,
        run_number=run_number,
        workflow_id=workflow.id,
        repository=workflow.repository,
        event=plan.event,
        branch=plan.branch,
        created_at=plan.created_at,
        queued_seconds=queued_seconds,
        duration_seconds=duration,
        conclusion=conclusion,
        cancel_seconds=workflow.cancel_seconds,
    )
