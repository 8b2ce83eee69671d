"""The sandbox world: the state of a simulated GitHub and the operations its endpoints perform.

A *world* holds repositories, workflows and runs, a simulated clock, the primary rate limit,
the faults in force and the request counters. Every operation runs under one lock and reads
the simulated time once, so all of one request's reads use the same moment. Scheduled activity (a push
run every ``schedule_every_seconds`` while the workflow is active) is created lazily, for the
repository a request touches, before the request reads or changes it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from ccm.github.models import RunConclusion, RunStatus, WorkflowState
from ccm.github.sandbox.build import build_state
from ccm.github.sandbox.clock import MAX_SECONDS, Clock, SystemClock, TimeAnchor
from ccm.github.sandbox.counters import RequestCounters
from ccm.github.sandbox.errors import GitHubError, not_found
from ccm.github.sandbox.faults import FaultSet
from ccm.github.sandbox.ratelimit import RateLimiter
from ccm.github.sandbox.records import RepositoryRecord, WorkflowRecord
from ccm.github.sandbox.runs import RunView, SimulatedRun, draw_outcome
from ccm.github.sandbox.seed import SandboxSeed
from ccm.github.sandbox.store import WorldState, WorldStore

logger = logging.getLogger(__name__)

SYSTEM_CLOCK = SystemClock()
# GitHub's limit for requests without a token, which the 401 responses count against.
UNAUTHENTICATED_LIMIT = 60
# Maximum scheduled runs created at once for a workflow after a long pause of the clock.
# Older slots are skipped, so a world resumed after days does not create thousands of runs.
MAX_SCHEDULE_CATCH_UP = 50

_WORKFLOWS_DOCS = "https://docs.github.com/rest/actions/workflows"
_RUNS_DOCS = "https://docs.github.com/rest/actions/workflow-runs"
_DISPATCH_DOCS = f"{_WORKFLOWS_DOCS}#create-a-workflow-dispatch-event"


class ObservedRun(BaseModel):
    """A run, its state at the request's moment, and the records it belongs to."""

    model_config = ConfigDict(frozen=True)

    run: SimulatedRun
    view: RunView
    workflow: WorkflowRecord
    repository: RepositoryRecord


class RunFilter(BaseModel):
    """The filters of the run list endpoints; ``status`` is a status or a conclusion."""

    model_config = ConfigDict(frozen=True)

    branch: str | None = None
    event: str | None = None
    status: str | None = None
    actor: str | None = None
    head_sha: str | None = None
    created_after: float | None = None
    created_before: float | None = None

    def accepts(self, observed: ObservedRun) -> bool:
        run, view = observed.run, observed.view
        if self.branch is not None and run.branch != self.branch:
            return False
        if self.event is not None and run.event != self.event:
            return False
        if self.actor is not None and observed.repository.owner.lower() != self.actor.lower():
            return False
        if self.head_sha is not None and run.head_sha != self.head_sha:
            return False
        if self.created_after is not None and run.created_at < self.created_after:
            return False
        if self.created_before is not None and run.created_at > self.created_before:
            return False
        if self.status is None:
            return True
        if self.status in {status.value for status in RunStatus}:
            return view.status.value == self.status
        return view.conclusion is not None and view.conclusion.value == self.status


RUN_FILTER_STATUSES = frozenset(
    {status.value for status in RunStatus if status is not RunStatus.UNKNOWN}
) | frozenset(conclusion.value for conclusion in RunConclusion if conclusion is not RunConclusion.UNKNOWN)


class SandboxWorld:
    """A simulated GitHub; thread-safe, optionally persisted to a JSON file."""

    def __init__(
        self,
        state: WorldState,
        seed: SandboxSeed,
        *,
        clock: Clock = SYSTEM_CLOCK,
        store: WorldStore | None = None,
    ) -> None:
        self.seed = seed
        self.clock = clock
        self.faults = FaultSet()
        self.counters = RequestCounters()
        self.unauthenticated_limits = RateLimiter(UNAUTHENTICATED_LIMIT, 3600.0, clock)
        self._store = store
        self._lock = threading.RLock()
        self._dirty = False
        self._random_seed: int
        self._anchor: TimeAnchor
        self._next_run_id: int
        self._repositories: dict[str, RepositoryRecord]
        self._workflows: dict[int, WorkflowRecord]
        self._runs: dict[int, SimulatedRun]
        # Indexes by repository full name, so that a request costs the size of one repository.
        self._workflow_ids: dict[str, list[int]]
        self._run_ids: dict[str, list[int]]
        self._run_numbers: dict[int, int]
        self.rate_limits: RateLimiter
        self._load(state)

    @classmethod
    def open(
        cls, seed: SandboxSeed, persist_path: Path | None = None, *, clock: Clock = SYSTEM_CLOCK
    ) -> SandboxWorld:
        """Resume the world saved at ``persist_path`` if the file exists, else start from ``seed``.

        A resumed world keeps its records, runs, clock and rate limit usage, and takes the
        seed's ``time_scale``, ``tokens`` and rate limit settings.
        """
        if persist_path is None:
            return cls(build_state(seed, clock.time()), seed, clock=clock)
        store = WorldStore(persist_path)
        with store.locked():
            if store.exists():
                state = store.read()
                state = state.model_copy(update={"time": state.time.rescaled(clock.time(), seed.time_scale)})
                logger.info("Resumed the sandbox world from %s", persist_path)
            else:
                state = build_state(seed, clock.time())
                logger.info("Started a new sandbox world from the seed; saving it to %s", persist_path)
            world = cls(state, seed, clock=clock, store=store)
            store.write(world._state())
        return world

    # --- time, tokens and persistence ------------------------------------------------------

    def now(self) -> float:
        """Return the simulated time in epoch seconds."""
        with self._lock:
            return self._anchor.simulated(self.clock.time())

    def skip_time(self, seconds: float) -> None:
        """Move simulated time forward by ``seconds``; runs progress, wall time does not move."""
        if not 0 <= seconds <= MAX_SECONDS:
            raise ValueError(
                f"skip_time({seconds}) needs seconds from 0 to {MAX_SECONDS:.0f} (ten years): "
                "simulated time cannot go back, and cannot jump further than that."
            )
        with self._transaction():
            self._anchor = self._anchor.skipped(seconds)
            self._dirty = True

    def accepts_token(self, token: str) -> bool:
        return bool(token) and (not self.seed.tokens or token in self.seed.tokens)

    def save(self) -> None:
        """Write the world now, with the rate limit usage that is otherwise saved only with changes.

        If another process saved the file since this world last read it, its version is kept and
        this world's unsaved rate limit usage is dropped.
        """
        if self._store is not None:
            with self._lock, self._store.locked():
                if not self._store.changed():
                    self._store.write(self._state())

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[float]:
        """Run one operation at one simulated moment, and persist it if it changed the world."""
        with self._lock:
            if self._store is None:
                yield self._anchor.simulated(self.clock.time())
                return
            with self._store.locked():
                if self._store.changed():
                    self._load(self._store.read())
                yield self._anchor.simulated(self.clock.time())
                if self._dirty:
                    self._store.write(self._state())
                    self._dirty = False

    def _load(self, state: WorldState) -> None:
        self._random_seed = state.random_seed
        self._anchor = state.time
        self._next_run_id = state.next_run_id
        self._repositories = {record.full_name.lower(): record for record in state.repositories}
        self._workflows = {record.id: record for record in state.workflows}
        self._runs = {run.id: run for run in state.runs}
        self._workflow_ids = {}
        for workflow in sorted(state.workflows, key=lambda workflow: workflow.id):
            self._workflow_ids.setdefault(workflow.repository, []).append(workflow.id)
        self._run_ids = {}
        self._run_numbers = {}
        for run in state.runs:
            self._run_ids.setdefault(run.repository, []).append(run.id)
            self._run_numbers[run.workflow_id] = max(
                self._run_numbers.get(run.workflow_id, 0), run.run_number
            )
        self.rate_limits = RateLimiter(
            self.seed.rate_limit.limit, self.seed.rate_limit.window_seconds, self.clock, state.rate_windows
        )

    def _state(self) -> WorldState:
        return WorldState(
            random_seed=self._random_seed,
            time=self._anchor,
            next_run_id=self._next_run_id,
            repositories=list(self._repositories.values()),
            workflows=list(self._workflows.values()),
            runs=list(self._runs.values()),
            rate_windows=self.rate_limits.windows(),
        )

    # --- repositories and workflows --------------------------------------------------------

    def repository(self, full_name: str) -> RepositoryRecord:
        with self._transaction():
            return self._repository(full_name, "https://docs.github.com/rest/repos/repos#get-a-repository")

    def workflows(self, full_name: str) -> list[WorkflowRecord]:
        with self._transaction() as now:
            repository = self._repository(full_name, f"{_WORKFLOWS_DOCS}#list-repository-workflows")
            self._run_schedules(repository, now)
            return self._workflows_of(repository)

    def workflow(self, full_name: str, workflow_id: str) -> WorkflowRecord:
        with self._transaction() as now:
            repository = self._repository(full_name, f"{_WORKFLOWS_DOCS}#get-a-workflow")
            self._run_schedules(repository, now)
            return self._workflow(repository, workflow_id, f"{_WORKFLOWS_DOCS}#get-a-workflow")

    def enable_workflow(self, full_name: str, workflow_id: str) -> None:
        self._set_workflow_state(
            full_name, workflow_id, WorkflowState.ACTIVE, f"{_WORKFLOWS_DOCS}#enable-a-workflow"
        )

    def disable_workflow(self, full_name: str, workflow_id: str) -> None:
        self._set_workflow_state(
            full_name, workflow_id, WorkflowState.DISABLED_MANUALLY, f"{_WORKFLOWS_DOCS}#disable-a-workflow"
        )

    def _set_workflow_state(self, full_name: str, workflow_id: str, target: WorkflowState, docs: str) -> None:
        with self._transaction() as now:
            repository = self._repository(full_name, docs)
            # Schedules run up to now under the old state before the state changes.
            self._run_schedules(repository, now)
            workflow = self._workflow(repository, workflow_id, docs)

            # NOTE: GitHub does not document these two cases. The sandbox treats a deleted
            # workflow as gone (404) and a fork's workflow as needing Actions enabled in the UI (422).
            if workflow.state is WorkflowState.DELETED:
                raise not_found(docs)
            if workflow.state is WorkflowState.DISABLED_FORK:
                raise GitHubError(
                    422,
                    "Workflows in this fork are disabled; enable Actions for the fork on GitHub first.",
                    docs,
                )

            if workflow.state is target:
                return
            self._workflows[workflow.id] = workflow.model_copy(update={"state": target, "updated_at": now})
            self._dirty = True
            logger.debug("Set workflow %s of %s to %s", workflow.path, repository.full_name, target.value)

    # --- runs ------------------------------------------------------------------------------

    def dispatch(self, full_name: str, workflow_id: str, ref: Any, inputs: Any) -> ObservedRun:
        """Create a ``workflow_dispatch`` run as ``POST .../dispatches`` does, or raise GitHub's 404/422."""
        with self._transaction() as now:
            repository = self._repository(full_name, _DISPATCH_DOCS)
            self._run_schedules(repository, now)
            workflow = self._workflow(repository, workflow_id, _DISPATCH_DOCS)
            if workflow.state is WorkflowState.DELETED:
                raise not_found(_DISPATCH_DOCS)
            if not isinstance(ref, str) or not ref:
                raise GitHubError(422, 'Invalid request.\n\n"ref" wasn\'t supplied.', _DISPATCH_DOCS)
            if inputs is not None and (not isinstance(inputs, Mapping) or len(inputs) > 25):
                raise GitHubError(
                    422,
                    'Invalid request.\n\n"inputs" must be an object of at most 25 properties.',
                    _DISPATCH_DOCS,
                )
            if not workflow.active:
                raise GitHubError(
                    422, "Cannot trigger a 'workflow_dispatch' on a disabled workflow", _DISPATCH_DOCS
                )
            if not workflow.dispatch:
                raise GitHubError(422, "Workflow does not have 'workflow_dispatch' trigger", _DISPATCH_DOCS)
            branch = ref.removeprefix("refs/heads/")
            if branch not in repository.branches:
                raise GitHubError(422, f"No ref found for: {ref}", _DISPATCH_DOCS)

            run = self._start_run(workflow, "workflow_dispatch", branch, now)
            logger.debug("Dispatched run %d of %s on %s", run.id, workflow.path, branch)
            return self._observe(run, now)

    def runs(
        self, full_name: str, run_filter: RunFilter, workflow_id: str | None = None
    ) -> list[ObservedRun]:
        """Return the runs that match, newest first, of the repository or of one workflow."""
        docs = f"{_RUNS_DOCS}#list-workflow-runs-for-a-{'workflow' if workflow_id else 'repository'}"
        with self._transaction() as now:
            repository = self._repository(full_name, docs)
            self._run_schedules(repository, now)
            only = None if workflow_id is None else self._workflow(repository, workflow_id, docs).id
            observed = [
                self._observe(self._runs[run_id], now)
                for run_id in self._run_ids.get(repository.full_name, [])
                if only is None or self._runs[run_id].workflow_id == only
            ]
        matching = [item for item in observed if run_filter.accepts(item)]
        return sorted(matching, key=lambda item: (item.run.created_at, item.run.id), reverse=True)

    def run(self, full_name: str, run_id: int) -> ObservedRun:
        with self._transaction() as now:
            repository = self._repository(full_name, f"{_RUNS_DOCS}#get-a-workflow-run")
            self._run_schedules(repository, now)
            return self._observe(self._run(repository, run_id, f"{_RUNS_DOCS}#get-a-workflow-run"), now)

    def cancel_run(self, full_name: str, run_id: int, *, force: bool = False) -> None:
        """Request the cancellation of a run; a forced one takes effect at once. 409 if it completed."""
        docs = f"{_RUNS_DOCS}#{'force-cancel' if force else 'cancel'}-a-workflow-run"
        with self._transaction() as now:
            repository = self._repository(full_name, docs)
            self._run_schedules(repository, now)
            run = self._run(repository, run_id, docs)
            if run.completed_by(now):
                raise GitHubError(409, "Cannot cancel a workflow run that is completed.", docs)
            if run.cancel_requested_at is not None and not force:
                return
            update: dict[str, Any] = {"cancel_requested_at": now}
            if force:
                update["cancel_seconds"] = 0.0
            self._runs[run.id] = run.model_copy(update=update)
            self._dirty = True
            logger.debug("Cancel requested for run %d of %s", run.id, repository.full_name)

    # --- helpers (callers hold the lock) ---------------------------------------------------

    def _repository(self, full_name: str, docs: str) -> RepositoryRecord:
        repository = self._repositories.get(full_name.lower())
        if repository is None or not repository.accessible:
            raise not_found(docs)
        return repository

    def _workflows_of(self, repository: RepositoryRecord) -> list[WorkflowRecord]:
        return [
            self._workflows[workflow_id] for workflow_id in self._workflow_ids.get(repository.full_name, [])
        ]

    def _workflow(self, repository: RepositoryRecord, workflow_id: str, docs: str) -> WorkflowRecord:
        for workflow in self._workflows_of(repository):
            if workflow_id.isdigit() and workflow.id == int(workflow_id):
                return workflow
            if not workflow_id.isdigit() and workflow.file_name == workflow_id:
                return workflow
        raise not_found(docs)

    def _run(self, repository: RepositoryRecord, run_id: int, docs: str) -> SimulatedRun:
        run = self._runs.get(run_id)
        if run is None or run.repository != repository.full_name:
            raise not_found(docs)
        return run

    def _observe(self, run: SimulatedRun, now: float) -> ObservedRun:
        workflow = self._workflows[run.workflow_id]
        return ObservedRun(
            run=run,
            view=run.view(now),
            workflow=workflow,
            repository=self._repositories[workflow.repository.lower()],
        )

    def _start_run(
        self, workflow: WorkflowRecord, event: str, branch: str, created_at: float
    ) -> SimulatedRun:
        run_id = self._next_run_id
        self._next_run_id += 1
        conclusion, duration = draw_outcome(
            self._random_seed, run_id, workflow.success_rate, workflow.duration_seconds
        )
        run_number = self._run_numbers.get(workflow.id, 0) + 1
        self._run_numbers[workflow.id] = run_number
        run = SimulatedRun(
            id=run_id,
            run_number=run_number,
            workflow_id=workflow.id,
            repository=workflow.repository,
            event=event,
            branch=branch,
            created_at=created_at,
            queued_seconds=workflow.queued_seconds,
            duration_seconds=duration,
            conclusion=conclusion,
            cancel_seconds=workflow.cancel_seconds,
        )
        self._runs[run_id] = run
        self._run_ids.setdefault(run.repository, []).append(run_id)
        self._dirty = True
        return run

    def _run_schedules(self, repository: RepositoryRecord, now: float) -> None:
        """Create the scheduled push runs that are due by ``now`` for the repository's active workflows."""
        for workflow in self._workflows_of(repository):
            every, due = workflow.schedule_every_seconds, workflow.next_schedule_at
            if every is None or due is None or due > now:
                continue
            slots = int((now - due) // every) + 1
            if workflow.active:
                first = max(0, slots - MAX_SCHEDULE_CATCH_UP)
                for slot in range(first, slots):
                    self._start_run(workflow, "push", repository.default_branch, due + slot * every)
            self._workflows[workflow.id] = workflow.model_copy(
                update={"next_schedule_at": due + slots * every}
            )
            self._dirty = True
