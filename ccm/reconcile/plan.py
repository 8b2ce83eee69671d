"""Plan: the actions that converge the registry and GitHub on the specs, and why each is needed.

``plan()`` is a pure function of the desired state, the registry and the observed state: it does
no I/O, reads no clock and draws no random numbers. Apply assigns the ids of new pipelines, so a
``register`` action, and the actions that follow it for the same pipeline, have no
``pipeline_id``.

A spec matches the *current* registry record of the same name (``deleted_at`` is None). Records
that were torn down are history and never act. A *teardown* is the plan for a current record
that no spec names any more. A *held* pipeline gets no action in this pass, and the plan gives the reason.

Choices that the convergence rules leave open:

- A workflow state that ccm does not know (GitHub added one) puts the pipeline in error, as a
  deleted workflow does. ccm does not enable or disable a workflow whose state it cannot read,
  and the error status shows the case on every screen.
- A pipeline whose repository was not observed (GitHub unavailable, or outside the pass) is held
  as a whole, registry-only changes included. That way, every action of one pipeline rests on
  the same view of GitHub.
- A spec with ``enabled: false`` whose workflow cannot be used is in error too, because the spec
  names a workflow that GitHub does not offer.
- When a spec moves to another repository or workflow file, ``update_config`` points the record
  at the new workflow, which then gets the usual workflow actions. The pipeline keeps its id.
  The workflow at the old place is left as it is, because others may still use it.
- Teardown decides by what GitHub reports now, not by the record's status. A record in error
  whose workflow is usable again still gets the workflow disabled and its runs cancelled.
- A teardown whose workflow another spec now claims (a renamed pipeline) only deactivates the
  record. Disabling the workflow would stop the pipeline that replaces it. For the same reason,
  the prune guard neither counts nor drops that teardown.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ccm.github.models import WorkflowRun, WorkflowState
from ccm.pipeline import Pipeline, PipelineStatus
from ccm.reconcile.actions import Action, ActionKind, HeldPipeline, Plan
from ccm.reconcile.guard import check_prune
from ccm.reconcile.record_diff import FieldChange, diff_record
from ccm.reconcile.state import DesiredState, ObservedState
from ccm.reconcile.workflow_check import (
    RESUMABLE_STATES,
    UnknownWorkflow,
    UnusableWorkflow,
    UsableWorkflow,
    check_workflow,
)
from ccm.spec.models import PipelineSpec

# The one event that a deploy freeze (config.auto_deploy: false) lets through.
_MANUAL_EVENT = "workflow_dispatch"
# GitHub reports a workflow disabled through the API as disabled_manually.
_DISABLED_BY_CCM = WorkflowState.DISABLED_MANUALLY


class PlanOptions(BaseModel):
    """The scope of one pass, and whether it may tear down many pipelines at once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scope: frozenset[str] | None = Field(
        default=None,
        description="spec names to converge, teardowns included; None converges every pipeline",
    )
    allow_prune: bool = Field(
        default=False,
        description="let teardowns through the prune guard (--allow-prune, or an API teardown)",
    )


def plan(
    desired: DesiredState,
    known: Mapping[str, Pipeline],
    observed: ObservedState,
    options: PlanOptions,
) -> Plan:
    """Compare specs, registry records (keyed by pipeline id) and GitHub, and list the actions.

    Actions are grouped by pipeline name in sorted order. Within a pipeline, ``register`` comes
    first, then the workflow change, the run cancellations, and the record changes last.
    """
    current = _current_records(known)
    names = sorted(
        name
        for name in desired.specs.keys() | current.keys()
        if options.scope is None or name in options.scope
    )
    claimed = {spec.workflow_key for spec in desired.specs.values()}
    outcomes = [
        _plan_pipeline(name, desired, current.get(name, ()), observed, claimed) for name in names
    ]

    # The guard counts every current active record in scope, held ones included, so that a pass
    # holding back part of the fleet cannot make the teardown of the rest look small.
    active_count = sum(
        1
        for name in names
        for record in current.get(name, ())
        if record.status is PipelineStatus.ACTIVE
    )
    torn_down = [outcome.prunes for outcome in outcomes if outcome.prunes is not None]
    refusal = None if options.allow_prune else check_prune(torn_down, active_count)

    actions: list[Action] = []
    held: list[HeldPipeline] = []
    for outcome in outcomes:
        if refusal is not None and outcome.prunes is not None:
            held.append(
                HeldPipeline(
                    pipeline_name=outcome.prunes.name,
                    pipeline_id=outcome.prunes.pipeline_id,
                    reason="The prune guard held back this teardown. "
                    "Run `ccm reconcile --allow-prune` to tear it down.",
                )
            )
            continue
        actions.extend(outcome.actions)
        if outcome.held is not None:
            held.append(outcome.held)
    return Plan(actions=tuple(actions), held=tuple(held), refusal=refusal)


@dataclass(frozen=True)
class _Outcome:
    """The plan for one pipeline: its actions, or why it is held."""

    actions: tuple[Action, ...] = ()
    held: HeldPipeline | None = None
    prunes: Pipeline | None = None  # the record that these actions tear down


@dataclass(frozen=True)
class _Subject:
    """The pipeline and workflow that a group of actions is about."""

    name: str
    pipeline_id: str | None
    repository: str
    workflow_file: str
    workflow_id: int | None

    def action(
        self, kind: ActionKind, reason: str, before: str, after: str, **fields: Any
    ) -> Action:
        return Action(
            kind=kind,
            pipeline_name=self.name,
            pipeline_id=self.pipeline_id,
            repository=self.repository,
            workflow_file=self.workflow_file,
            workflow_id=self.workflow_id,
            reason=reason,
            before=before,
            after=after,
            **fields,
        )


def _current_records(known: Mapping[str, Pipeline]) -> dict[str, list[Pipeline]]:
    by_name: dict[str, list[Pipeline]] = defaultdict(list)
    for pipeline_id in sorted(known):
        record = known[pipeline_id]
        if record.is_current:
            by_name[record.name].append(record)
    return by_name


def _plan_pipeline(
    name: str,
    desired: DesiredState,
    records: Collection[Pipeline],
    observed: ObservedState,
    claimed: set[tuple[str, str]],
) -> _Outcome:
    # The registry keeps at most one current record per name. If it contains more, acting on
    # either one could undo the other, so neither acts.
    if len(records) > 1:
        ids = ", ".join(record.pipeline_id for record in records)
        return _hold(
            name,
            None,
            f"The registry has {len(records)} current pipelines named {name!r} ({ids}). "
            "Set deleted_at on all but one of them in pipelines.json.",
        )
    record = next(iter(records), None)
    pipeline_id = record.pipeline_id if record is not None else None

    # A broken spec file holds back its pipelines before anything else. A spec missing from the
    # desired state may only be missing because its file failed to load.
    spec_file = desired.spec_files.get(name)
    for file in (record.source.file if record and record.source else None, spec_file):
        if file is not None and file in desired.broken_files:
            return _hold(
                name,
                pipeline_id,
                f"The spec file {file} is invalid, so this pipeline is left as it is until the "
                "file is fixed.",
            )

    spec = desired.specs.get(name)
    if spec is None:
        assert record is not None, "every planned name has a spec or a current record"
        # A spec renamed into a file that is also broken looks like a removed spec, so nothing
        # is torn down while any spec file is invalid.
        if desired.broken_files:
            files = ", ".join(sorted(desired.broken_files))
            return _hold(
                name,
                pipeline_id,
                f"No valid spec names this pipeline, but the invalid spec file(s) {files} may "
                "still declare it, so it is not torn down until they are fixed.",
            )
        return _plan_teardown(record, observed, claimed)
    return _plan_spec(spec, spec_file, record, observed)


def _plan_spec(
    spec: PipelineSpec, spec_file: str | None, record: Pipeline | None, observed: ObservedState
) -> _Outcome:
    pipeline_id = record.pipeline_id if record is not None else None
    check = check_workflow(observed, spec.repository, spec.workflow_file)
    if isinstance(check, UnknownWorkflow):
        return _hold(spec.name, pipeline_id, check.reason)

    workflow_id = check.workflow.id if isinstance(check, UsableWorkflow) else None
    subject = _Subject(spec.name, pipeline_id, spec.repository, spec.workflow_file, workflow_id)
    if isinstance(check, UnusableWorkflow):
        status, status_reason = PipelineStatus.ERROR, check.problem
    else:
        status = PipelineStatus.ACTIVE if spec.enabled else PipelineStatus.INACTIVE
        status_reason = None

    actions: list[Action] = []
    if record is None:
        actions.append(_register(subject, spec, spec_file, status, status_reason))
    if isinstance(check, UsableWorkflow):
        actions.extend(_workflow_actions(subject, spec, check))
    if record is not None:
        actions.extend(_record_changes(subject, spec, spec_file, record, status, status_reason))
    return _Outcome(actions=tuple(actions))


def _plan_teardown(
    record: Pipeline, observed: ObservedState, claimed: set[tuple[str, str]]
) -> _Outcome:
    check = check_workflow(observed, record.repository, record.workflow_file)
    if isinstance(check, UnknownWorkflow):
        return _hold(record.name, record.pipeline_id, check.reason)

    workflow_id = check.workflow.id if isinstance(check, UsableWorkflow) else record.workflow_id
    subject = _Subject(
        record.name, record.pipeline_id, record.repository, record.workflow_file, workflow_id
    )
    reason = f"No spec in pipelines.d/ names pipeline {record.name!r} any more, so it is torn down."
    if (record.repository.lower(), record.workflow_file) in claimed:
        detail = (
            "Another spec now claims its workflow, so ccm leaves the workflow and its runs alone."
        )
        return _Outcome(actions=(_deactivate(subject, record, f"{reason} {detail}"),))
    if isinstance(check, UnusableWorkflow):
        detail = f"Nothing changes on GitHub. {check.problem}"
        return _Outcome(
            actions=(_deactivate(subject, record, f"{reason} {detail}"),), prunes=record
        )

    actions: list[Action] = []
    if check.workflow.state is WorkflowState.ACTIVE:
        actions.append(
            subject.action(
                ActionKind.DISABLE_WORKFLOW,
                reason,
                "workflow active",
                f"workflow {_DISABLED_BY_CCM.value}",
            )
        )
    for run in check.runs_in_flight:
        actions.append(_cancel(subject, run, f"{reason} Run {run.id} ({run.event}) is in flight."))
    actions.append(_deactivate(subject, record, reason))
    return _Outcome(actions=tuple(actions), prunes=record)


def _deactivate(subject: _Subject, record: Pipeline, reason: str) -> Action:
    return subject.action(
        ActionKind.DEACTIVATE,
        reason,
        f"status {record.status.value}",
        "status inactive, deleted",
        status=PipelineStatus.INACTIVE,
    )


def _register(
    subject: _Subject,
    spec: PipelineSpec,
    spec_file: str | None,
    status: PipelineStatus,
    status_reason: str | None,
) -> Action:
    # A pipeline registered in error gives the problem as its reason, which is also the status
    # reason that its record keeps.
    origin = f" in {spec_file}" if spec_file else ""
    reason = status_reason or f"Spec {spec.name!r}{origin} is not registered yet."
    return subject.action(
        ActionKind.REGISTER,
        reason,
        "not registered",
        f"registered, status {status.value}",
        spec=spec,
        spec_file=spec_file,
        status=status,
        status_reason=status_reason,
    )


def _workflow_actions(subject: _Subject, spec: PipelineSpec, check: UsableWorkflow) -> list[Action]:
    """Plan the workflow change for the spec's enabled flag, then the runs to cancel."""
    actions: list[Action] = []
    state = check.workflow.state
    if spec.enabled and state in RESUMABLE_STATES:
        actions.append(
            subject.action(
                ActionKind.ENABLE_WORKFLOW,
                f"The spec enables the pipeline but GitHub reports the workflow {state.value}, "
                "so ccm enables it again (self-heal).",
                f"workflow {state.value}",
                "workflow active",
            )
        )
    if not spec.enabled and state is WorkflowState.ACTIVE:
        actions.append(
            subject.action(
                ActionKind.DISABLE_WORKFLOW,
                "The spec sets enabled: false but the workflow is active.",
                "workflow active",
                f"workflow {_DISABLED_BY_CCM.value}",
            )
        )

    for run in check.runs_in_flight:
        if not spec.enabled:
            reason = f"Run {run.id} ({run.event}) is in flight but the spec sets enabled: false."
        elif not spec.config.auto_deploy and run.event != _MANUAL_EVENT:
            reason = (
                f"Deploy freeze: config.auto_deploy is false and run {run.id} was started by "
                f"{run.event}, not {_MANUAL_EVENT}."
            )
        else:
            continue
        actions.append(_cancel(subject, run, reason))
    return actions


def _cancel(subject: _Subject, run: WorkflowRun, reason: str) -> Action:
    return subject.action(
        ActionKind.CANCEL_RUN,
        reason,
        f"run {run.id} {run.status.value}",
        f"run {run.id} cancelled",
        run_id=run.id,
    )


def _record_changes(
    subject: _Subject,
    spec: PipelineSpec,
    spec_file: str | None,
    record: Pipeline,
    status: PipelineStatus,
    status_reason: str | None,
) -> list[Action]:
    """Plan the record's update from the spec, then its status change."""
    actions: list[Action] = []
    changes = diff_record(record, spec, spec_file, subject.workflow_id)
    if changes:
        actions.append(
            subject.action(
                ActionKind.UPDATE_CONFIG,
                _describe_update(changes, record, spec),
                ", ".join(f"{change.field}: {json.dumps(change.recorded)}" for change in changes),
                ", ".join(f"{change.field}: {json.dumps(change.wanted)}" for change in changes),
                spec=spec,
                spec_file=spec_file,
            )
        )

    # Only an error status carries a reason worth comparing: a new problem is a new status.
    if record.status is status and (
        status is not PipelineStatus.ERROR or record.status_reason == status_reason
    ):
        return actions
    if status_reason is not None:
        kind, reason = ActionKind.MARK_ERROR, status_reason
    elif status is PipelineStatus.ACTIVE:
        kind = ActionKind.MARK_ACTIVE
        reason = (
            "The spec enables the pipeline again."
            if record.status is PipelineStatus.INACTIVE
            else "The workflow is usable again and the spec enables the pipeline."
        )
    else:
        kind, reason = ActionKind.MARK_INACTIVE, "The spec sets enabled: false."
    actions.append(
        subject.action(
            kind,
            reason,
            _describe_status(record.status, record.status_reason),
            _describe_status(status, status_reason),
            status=status,
            status_reason=status_reason,
        )
    )
    return actions


def _describe_update(changes: list[FieldChange], record: Pipeline, spec: PipelineSpec) -> str:
    sentences = []
    from_spec = [change.field for change in changes if change.field != "workflow_id"]
    if from_spec:
        sentences.append(f"The spec differs from the registry record in {', '.join(from_spec)}.")
    if "repository" in from_spec or "workflow_file" in from_spec:
        sentences.append(
            f"The record now points at {spec.workflow_file} in {spec.repository}, and the workflow "
            f"{record.workflow_file} in {record.repository} is left as it is."
        )
    for change in changes:
        if change.field == "workflow_id" and change.recorded is None:
            sentences.append(f"The record learns the workflow's id from GitHub: {change.wanted}.")
        elif change.field == "workflow_id":
            sentences.append(
                f"GitHub lists the workflow with id {change.wanted}, not {change.recorded}."
            )
    return " ".join(sentences)


def _describe_status(status: PipelineStatus, status_reason: str | None) -> str:
    if status is PipelineStatus.ERROR and status_reason:
        return f"status error: {status_reason}"
    return f"status {status.value}"


def _hold(name: str, pipeline_id: str | None, reason: str) -> _Outcome:
    return _Outcome(held=HeldPipeline(pipeline_name=name, pipeline_id=pipeline_id, reason=reason))
