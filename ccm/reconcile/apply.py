"""Apply: carry out a plan on GitHub and in the registry, one pipeline at a time.

Each pipeline's actions run in plan order. A GitHub error stops the remaining actions of that
pipeline only, so one bad repository never stops the pass. Permanent errors (a permission, a
missing workflow, a refused change) mark the pipeline ``error`` with GitHub's message. Temporary
ones (GitHub down, rate limited) leave its status alone, because the next pass retries. Every
action gets one audit line with its result: a GitHub change when it is made, a registry change
once the pass has saved the registry (``audit_result``, called by the pass).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from ccm.audit import AuditLog
from ccm.github.client import GitHubClient
from ccm.github.results import CancelOutcome
from ccm.github.errors import GitHubError, GitHubTemporaryError
from ccm.logcontext import pipeline_logger
from ccm.pipeline import (
    Pipeline,
    PipelineStatus,
    SpecAuthor,
    SpecSource,
    VpsIntegration,
    new_pipeline_id,
)
from ccm.reconcile.actions import Action, ActionKind, Plan
from ccm.reconcile.state import DesiredState
from ccm.spec.models import PipelineSpec

logger = logging.getLogger(__name__)


class Outcome(str, enum.Enum):
    APPLIED = "applied"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class ActionResult:
    action: Action
    pipeline_id: str | None
    outcome: Outcome
    detail: str = ""


@dataclass(frozen=True)
class ApplyContext:
    """The inputs of one apply besides the plan: collaborators and the identity of the pass."""

    client: GitHubClient
    audit: AuditLog
    desired: DesiredState
    pass_id: str
    actor: str | None  # a token name; None means each pipeline's spec file
    now: datetime


def apply_plan(plan: Plan, pipelines: dict[str, Pipeline], context: ApplyContext) -> list[ActionResult]:
    """Apply ``plan``, updating ``pipelines`` (by pipeline_id) in place; return one result per action."""
    results: list[ActionResult] = []
    for name, group in groupby(plan.actions, key=lambda action: action.pipeline_name):
        results.extend(_apply_pipeline(name, list(group), pipelines, context))
    return results


def _apply_pipeline(
    name: str, actions: list[Action], pipelines: dict[str, Pipeline], context: ApplyContext
) -> Iterator[ActionResult]:
    pipeline_id = actions[0].pipeline_id
    failure: GitHubError | None = None
    for action in actions:
        log = pipeline_logger(logger, context.pass_id, pipeline_id, name, action.repository)
        if failure is not None:
            result = ActionResult(action, pipeline_id, Outcome.SKIPPED, "an earlier action failed")
            audit_result(context, result)
            yield result
            continue
        try:
            pipeline_id, detail = _apply_action(action, pipeline_id, pipelines, context)
        except GitHubError as error:
            failure = error
            result = ActionResult(action, pipeline_id, Outcome.FAILED, str(error))
            if isinstance(error, GitHubTemporaryError):
                log.error("%s failed; the next pass retries it: %s", action.kind.value, error)
            else:
                log.error("%s failed; the pipeline is marked error: %s", action.kind.value, error)
                _mark_failed(pipelines, pipeline_id, action, error, context.now)
        else:
            result = ActionResult(action, pipeline_id, Outcome.APPLIED, detail)
            log.info("%s: %s (%s -> %s)", action.kind.value, action.reason, action.before, action.after)
        # A registry change exists only once the registry is saved, so the pass audits it after
        # the save. A GitHub change, or a failure, is audited at once.
        if action.kind.calls_github or result.outcome is not Outcome.APPLIED:
            audit_result(context, result)
        yield result


def _apply_action(
    action: Action, pipeline_id: str | None, pipelines: dict[str, Pipeline], context: ApplyContext
) -> tuple[str | None, str]:
    """Carry out one action; return the pipeline id (new after a register) and a detail."""
    client = context.client
    workflow = action.workflow_id if action.workflow_id is not None else action.workflow_file.rsplit("/", 1)[-1]
    match action.kind:
        case ActionKind.REGISTER:
            record = _new_record(action, context)
            pipelines[record.pipeline_id] = record
            return record.pipeline_id, f"registered as {record.pipeline_id}"
        case ActionKind.ENABLE_WORKFLOW:
            client.enable_workflow(action.repository, workflow)
            return pipeline_id, "workflow enabled"
        case ActionKind.DISABLE_WORKFLOW:
            client.disable_workflow(action.repository, workflow)
            return pipeline_id, "workflow disabled"
        case ActionKind.CANCEL_RUN:
            if action.run_id is None:
                raise ValueError(f"cancel_run for {action.pipeline_name} names no run")
            outcome = client.cancel_run(action.repository, action.run_id)
            if outcome is CancelOutcome.ALREADY_COMPLETED:
                return pipeline_id, f"run {action.run_id} had already completed"
            return pipeline_id, f"cancel of run {action.run_id} requested"
        case _:
            _update_record(action, _require(pipelines, pipeline_id, action), pipelines, context)
            return pipeline_id, action.after


def _require(pipelines: dict[str, Pipeline], pipeline_id: str | None, action: Action) -> Pipeline:
    if pipeline_id is None or pipeline_id not in pipelines:
        raise LookupError(f"{action.kind.value} for {action.pipeline_name} names no registered pipeline")
    return pipelines[pipeline_id]


def _new_record(action: Action, context: ApplyContext) -> Pipeline:
    spec = action.spec
    if spec is None:
        raise ValueError(f"register of {action.pipeline_name} carries no spec")
    return Pipeline(
        pipeline_id=new_pipeline_id(),
        created_at=context.now,
        last_updated=context.now,
        status=action.status or PipelineStatus.ACTIVE,
        status_reason=action.status_reason,
        workflow_id=action.workflow_id,
        **_spec_fields(spec, action.spec_file, context.desired),
    )


def _spec_fields(spec: PipelineSpec, spec_file: str | None, desired: DesiredState) -> dict[str, object]:
    source = None
    if spec_file is not None:
        author = desired.spec_authors.get(spec.name, SpecAuthor.OPERATOR)
        source = SpecSource(file=spec_file, written_by=author)
    return {
        "name": spec.name,
        "repository": spec.repository,
        "workflow_file": spec.workflow_file,
        "enabled": spec.enabled,
        "config": spec.config,
        "vps_integration": VpsIntegration(
            requested_by=spec.vps.requested_by,
            linked_domain=spec.vps.linked_domain,
            linked_app=spec.vps.linked_app,
        ),
        "source": source,
    }


def _update_record(
    action: Action, record: Pipeline, pipelines: dict[str, Pipeline], context: ApplyContext
) -> None:
    update: dict[str, object] = {"last_updated": context.now}
    if action.spec is not None:
        update.update(_spec_fields(action.spec, action.spec_file, context.desired))
    if action.workflow_id is not None:
        update["workflow_id"] = action.workflow_id
    if action.status is not None:
        update["status"] = action.status
        update["status_reason"] = action.status_reason
    if action.kind is ActionKind.DEACTIVATE:
        update["deleted_at"] = context.now
    pipelines[record.pipeline_id] = record.model_copy(update=update)


def _mark_failed(
    pipelines: dict[str, Pipeline], pipeline_id: str | None, action: Action, error: GitHubError, now: datetime
) -> None:
    if pipeline_id is None or pipeline_id not in pipelines:
        return
    reason = f"{action.kind.value} failed: {error}"
    pipelines[pipeline_id] = pipelines[pipeline_id].model_copy(
        update={"status": PipelineStatus.ERROR, "status_reason": reason, "last_updated": now}
    )


def audit_result(context: ApplyContext, result: ActionResult) -> None:
    action = result.action
    actor = context.actor
    if actor is None:
        actor = f"file:{context.desired.spec_files.get(action.pipeline_name, '(removed)')}"
    context.audit.append(
        pass_id=context.pass_id,
        actor=actor,
        action=action.kind.value,
        pipeline_id=result.pipeline_id,
        pipeline_name=action.pipeline_name,
        repository=action.repository,
        result=result.outcome.value,
        reason=action.reason,
        before=action.before,
        after=action.after,
        error=result.detail if result.outcome is Outcome.FAILED else None,
    )
