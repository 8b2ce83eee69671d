"""plan(): one table row per convergence rule, then the prune guard, scope, order and idempotence.

Every row is also fed through ``simulate_apply``, a pure stand-in for apply written here, and
planned again: a converged world must plan no actions.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ccm.github.models import RunConclusion, RunStatus, Workflow, WorkflowRun, WorkflowState
from ccm.pipeline import Pipeline, PipelineStatus, SpecSource, VpsIntegration
from ccm.reconcile.actions import Action, ActionKind, Plan
from ccm.reconcile.plan import PlanOptions, plan
from ccm.reconcile.state import Access, DesiredState, ObservedState, RepositoryObservation
from ccm.spec.models import PipelineConfig, PipelineSpec, VpsLink

REPO = "acme/api"
FILE = ".github/workflows/deploy.yml"
OTHER_FILE = ".github/workflows/release.yml"
WORKFLOW_ID = 10
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

Kind = ActionKind
ACTIVE = PipelineStatus.ACTIVE
INACTIVE = PipelineStatus.INACTIVE
ERROR = PipelineStatus.ERROR
TEARDOWN_KINDS = {Kind.DISABLE_WORKFLOW, Kind.CANCEL_RUN, Kind.DEACTIVATE}

NOT_FOUND_PROBLEM = (
    f"Repository {REPO} was not found on GitHub, or the token cannot see it. "
    "Check repository in the spec and the token's access to it."
)
MISSING_PROBLEM = (
    f"Workflow file {FILE} is not in repository {REPO}. Push the file, or fix workflow_file in the spec."
)


# Builders: each returns a real model with defaults for one pipeline "api" in acme/api.


def make_spec(
    name: str = "api",
    *,
    repository: str = REPO,
    workflow_file: str = FILE,
    enabled: bool = True,
    vps: VpsLink | None = None,
    **config: Any,
) -> PipelineSpec:
    return PipelineSpec(
        name=name,
        repository=repository,
        workflow_file=workflow_file,
        enabled=enabled,
        config=PipelineConfig(**config),
        vps=vps or VpsLink(),
    )


def id_for(name: str) -> str:
    return "pipe_" + hashlib.sha256(name.encode()).hexdigest()[:12]


def record_from_spec(
    spec: PipelineSpec,
    file: str | None,
    *,
    status: PipelineStatus,
    status_reason: str | None = None,
    workflow_id: int | None = WORKFLOW_ID,
    pipeline_id: str | None = None,
    deleted: bool = False,
) -> Pipeline:
    return Pipeline(
        pipeline_id=pipeline_id or id_for(spec.name),
        name=spec.name,
        repository=spec.repository,
        workflow_file=spec.workflow_file,
        status=status,
        status_reason=status_reason,
        enabled=spec.enabled,
        created_at=T0,
        last_updated=T0,
        deleted_at=T0 if deleted else None,
        workflow_id=workflow_id,
        config=spec.config,
        vps_integration=VpsIntegration(**spec.vps.model_dump()),
        source=SpecSource(file=file) if file is not None else None,
    )


def make_record(
    name: str = "api",
    *,
    spec: PipelineSpec | None = None,
    file: str | None = None,
    status: PipelineStatus = ACTIVE,
    status_reason: str | None = None,
    workflow_id: int | None = WORKFLOW_ID,
    pipeline_id: str | None = None,
    deleted: bool = False,
) -> Pipeline:
    spec = spec or make_spec(name)
    return record_from_spec(
        spec,
        file or f"{spec.name}.yaml",
        status=status,
        status_reason=status_reason,
        workflow_id=workflow_id,
        pipeline_id=pipeline_id,
        deleted=deleted,
    )


def workflow(
    state: WorkflowState | str = WorkflowState.ACTIVE, *, id: int = WORKFLOW_ID, path: str = FILE
) -> Workflow:
    # WorkflowState maps a state it does not know to UNKNOWN, as parsing GitHub's response does.
    return Workflow(id=id, name=path.rsplit("/", 1)[-1], path=path, state=WorkflowState(state))


def run(
    run_id: int,
    *,
    event: str = "push",
    status: RunStatus = RunStatus.IN_PROGRESS,
    workflow_id: int = WORKFLOW_ID,
) -> WorkflowRun:
    created = T0 + timedelta(seconds=run_id)
    return WorkflowRun(
        id=run_id,
        workflow_id=workflow_id,
        event=event,
        status=status,
        conclusion=RunConclusion.SUCCESS if status is RunStatus.COMPLETED else None,
        created_at=created,
        updated_at=created,
    )


def repo(
    *workflows: Workflow,
    runs: tuple[WorkflowRun, ...] = (),
    access: Access = Access.OK,
    repository: str = REPO,
    detail: str = "",
) -> RepositoryObservation:
    return RepositoryObservation(
        repository=repository, access=access, detail=detail, workflows=workflows, runs=runs
    )


def world(*observations: RepositoryObservation) -> ObservedState:
    return ObservedState(repositories={o.repository.lower(): o for o in observations})


def wanted(
    *specs: PipelineSpec, broken: tuple[str, ...] = (), files: dict[str, str] | None = None
) -> DesiredState:
    return DesiredState(
        specs={spec.name: spec for spec in specs},
        spec_files={spec.name: f"{spec.name}.yaml" for spec in specs} | (files or {}),
        broken_files=frozenset(broken),
    )


def registry(*records: Pipeline) -> dict[str, Pipeline]:
    return {record.pipeline_id: record for record in records}


# A pure stand-in for apply: the world as it would be once every action of a plan succeeded.


def simulate_apply(
    known: dict[str, Pipeline], observed: ObservedState, done: Plan
) -> tuple[dict[str, Pipeline], ObservedState]:
    records = dict(known)
    repositories = dict(observed.repositories)
    for action in done.actions:
        key = action.repository.lower()
        match action.kind:
            case Kind.REGISTER:
                assert action.spec is not None and action.status is not None
                record = record_from_spec(
                    action.spec,
                    action.spec_file,
                    status=action.status,
                    status_reason=action.status_reason,
                    workflow_id=action.workflow_id,
                )
                records[record.pipeline_id] = record
            case Kind.ENABLE_WORKFLOW | Kind.DISABLE_WORKFLOW:
                state = (
                    WorkflowState.ACTIVE
                    if action.kind is Kind.ENABLE_WORKFLOW
                    else WorkflowState.DISABLED_MANUALLY
                )
                observation = repositories[key]
                workflows = tuple(
                    w.model_copy(update={"state": state}) if w.path == action.workflow_file else w
                    for w in observation.workflows
                )
                repositories[key] = observation.model_copy(update={"workflows": workflows})
            case Kind.CANCEL_RUN:
                observation = repositories[key]
                cancelled = {"status": RunStatus.COMPLETED, "conclusion": RunConclusion.CANCELLED}
                runs = tuple(
                    r.model_copy(update=cancelled) if r.id == action.run_id else r for r in observation.runs
                )
                repositories[key] = observation.model_copy(update={"runs": runs})
            case _:
                record = _target(records, action)
                records[record.pipeline_id] = record.model_copy(update=_record_update(action))
    return records, ObservedState(repositories=repositories)


def _target(records: dict[str, Pipeline], action: Action) -> Pipeline:
    if action.pipeline_id is not None:
        return records[action.pipeline_id]
    return next(r for r in records.values() if r.name == action.pipeline_name and r.is_current)


def _record_update(action: Action) -> dict[str, object]:
    update: dict[str, object] = {}
    if action.spec is not None:
        fresh = record_from_spec(action.spec, action.spec_file, status=ACTIVE)
        for field in ("repository", "workflow_file", "enabled", "config", "vps_integration"):
            update[field] = getattr(fresh, field)
        if action.spec_file is not None:
            update["source"] = fresh.source
    if action.workflow_id is not None:
        update["workflow_id"] = action.workflow_id
    if action.status is not None:
        update["status"] = action.status
        update["status_reason"] = action.status_reason
    if action.kind is Kind.DEACTIVATE:
        update["deleted_at"] = T0
    return update


# The rules table.


@dataclass(frozen=True)
class Case:
    desired: DesiredState
    known: dict[str, Pipeline]
    observed: ObservedState
    expected: tuple[tuple[ActionKind, str, str], ...]  # kind, before, after
    words: str = ""  # in the first action's reason, or in the held reason when nothing acts
    held: bool = False
    allow_prune: bool = False

    def plan(self) -> Plan:
        options = PlanOptions(allow_prune=self.allow_prune)
        return plan(self.desired, self.known, self.observed, options)


def case(*args: object, id: str, **kwargs: object) -> object:
    return pytest.param(Case(*args, **kwargs), id=id)  # type: ignore[arg-type]


REGISTERED_ACTIVE = (Kind.REGISTER, "not registered", "registered, status active")
REGISTERED_ERROR = (Kind.REGISTER, "not registered", "registered, status error")
ENABLED = "workflow active"
DISABLED = "workflow disabled_manually"
TORN_DOWN = "status inactive, deleted"
DISABLED_SPEC = make_spec(enabled=False)
FROZEN_SPEC = make_spec(auto_deploy=False)
MOVED_SPEC = make_spec(workflow_file=OTHER_FILE)
SHOP_SPEC = make_spec(repository="acme/shop")


def cancelled(run_id: int, status: str = "in_progress") -> tuple[ActionKind, str, str]:
    return (Kind.CANCEL_RUN, f"run {run_id} {status}", f"run {run_id} cancelled")


RULES = [
    # A spec that is not registered yet.
    case(wanted(make_spec()), {}, world(repo(workflow())), (REGISTERED_ACTIVE,),
         "'api' in api.yaml is not registered yet", id="new-active"),
    case(wanted(make_spec()), {}, world(repo(workflow(WorkflowState.DISABLED_MANUALLY))),
         (REGISTERED_ACTIVE, (Kind.ENABLE_WORKFLOW, DISABLED, ENABLED)),
         id="new-disabled-manually"),
    case(wanted(make_spec()), {}, world(repo(workflow(WorkflowState.DISABLED_INACTIVITY))),
         (REGISTERED_ACTIVE, (Kind.ENABLE_WORKFLOW, "workflow disabled_inactivity", ENABLED)),
         id="new-disabled-inactivity"),
    case(wanted(make_spec()), {}, world(repo(access=Access.NOT_FOUND)), (REGISTERED_ERROR,),
         NOT_FOUND_PROBLEM, id="new-not-found"),
    case(wanted(make_spec()), {}, world(repo(access=Access.FORBIDDEN)), (REGISTERED_ERROR,),
         "(403 Forbidden). Grant the token read and write access to Actions", id="new-forbidden"),
    case(wanted(make_spec()), {}, world(repo(workflow(path=OTHER_FILE))), (REGISTERED_ERROR,),
         MISSING_PROBLEM, id="new-workflow-missing"),
    case(wanted(make_spec()), {}, world(repo(workflow(WorkflowState.DELETED))), (REGISTERED_ERROR,),
         "as deleted. Restore the file", id="new-workflow-deleted"),
    case(wanted(make_spec()), {}, world(repo(workflow(WorkflowState.DISABLED_FORK))),
         (REGISTERED_ERROR,), "because the repository is a fork", id="new-workflow-fork"),
    case(wanted(make_spec()), {}, world(repo(workflow("paused_by_policy"))), (REGISTERED_ERROR,),
         "in a state that ccm does not know", id="new-workflow-unknown-state"),
    case(wanted(make_spec()), {}, world(repo(access=Access.UNAVAILABLE, detail="502 Bad Gateway")),
         (), "GitHub was unavailable (502 Bad Gateway)", held=True, id="new-unavailable"),
    case(wanted(make_spec()), {}, world(), (), "this pass did not observe it", held=True,
         id="new-unobserved"),
    case(wanted(DISABLED_SPEC), {},
         world(repo(workflow(), runs=(run(1), run(2, event="workflow_dispatch")))),
         ((Kind.REGISTER, "not registered", "registered, status inactive"),
          (Kind.DISABLE_WORKFLOW, ENABLED, DISABLED), cancelled(1), cancelled(2)),
         id="new-spec-disabled"),
    case(wanted(FROZEN_SPEC), {},
         world(repo(workflow(), runs=(run(1), run(2, event="workflow_dispatch"),
                                      run(3, event="pull_request", status=RunStatus.QUEUED)))),
         (REGISTERED_ACTIVE, cancelled(1), cancelled(3, "queued")), id="new-deploy-freeze"),

    # A registered spec that is enabled.
    case(wanted(make_spec()), registry(make_record()), world(repo(workflow())), (), id="in-sync"),
    case(wanted(make_spec()), registry(make_record()),
         world(repo(workflow(WorkflowState.DISABLED_MANUALLY))),
         ((Kind.ENABLE_WORKFLOW, DISABLED, ENABLED),),
         "GitHub reports the workflow disabled_manually, so ccm enables it again (self-heal)",
         id="self-heal-manually"),
    case(wanted(make_spec()), registry(make_record()),
         world(repo(workflow(WorkflowState.DISABLED_INACTIVITY))),
         ((Kind.ENABLE_WORKFLOW, "workflow disabled_inactivity", ENABLED),), "self-heal",
         id="self-heal-inactivity"),
    case(wanted(make_spec()),
         registry(make_record(status=ERROR, status_reason=MISSING_PROBLEM, workflow_id=None)),
         world(repo(workflow())),
         ((Kind.UPDATE_CONFIG, "workflow_id: null", "workflow_id: 10"),
          (Kind.MARK_ACTIVE, f"status error: {MISSING_PROBLEM}", "status active")),
         "The record learns the workflow's id from GitHub: 10.", id="error-recovered"),
    case(wanted(make_spec()), registry(make_record(spec=DISABLED_SPEC, status=INACTIVE)),
         world(repo(workflow(WorkflowState.DISABLED_MANUALLY))),
         ((Kind.ENABLE_WORKFLOW, DISABLED, ENABLED),
          (Kind.UPDATE_CONFIG, "enabled: false", "enabled: true"),
          (Kind.MARK_ACTIVE, "status inactive", "status active")),
         id="inactive-enabled-again"),

    # A registered spec with `enabled: false`.
    case(wanted(DISABLED_SPEC), registry(make_record()), world(repo(workflow(), runs=(run(1),))),
         ((Kind.DISABLE_WORKFLOW, ENABLED, DISABLED), cancelled(1),
          (Kind.UPDATE_CONFIG, "enabled: true", "enabled: false"),
          (Kind.MARK_INACTIVE, "status active", "status inactive")),
         "The spec sets enabled: false but the workflow is active.", id="spec-disabled"),
    case(wanted(DISABLED_SPEC), registry(make_record(spec=DISABLED_SPEC, status=INACTIVE)),
         world(repo(workflow(WorkflowState.DISABLED_MANUALLY))), (), id="spec-disabled-in-sync"),
    case(wanted(DISABLED_SPEC), registry(make_record(spec=DISABLED_SPEC, status=INACTIVE)),
         world(repo(workflow(WorkflowState.DISABLED_INACTIVITY),
                    runs=(run(5, status=RunStatus.QUEUED),))),
         (cancelled(5, "queued"),), "Run 5 (push) is in flight but the spec sets enabled: false.",
         id="spec-disabled-run-in-flight"),
    case(wanted(DISABLED_SPEC), registry(make_record(spec=DISABLED_SPEC, status=INACTIVE)),
         world(repo(access=Access.NOT_FOUND)),
         ((Kind.MARK_ERROR, "status inactive", f"status error: {NOT_FOUND_PROBLEM}"),),
         NOT_FOUND_PROBLEM, id="spec-disabled-not-found"),

    # Deploy freeze on a registered spec: only workflow_dispatch runs go through.
    case(wanted(FROZEN_SPEC), registry(make_record(spec=FROZEN_SPEC)),
         world(repo(workflow(), runs=(run(1), run(2, event="workflow_dispatch"),
                                      run(3, status=RunStatus.COMPLETED)))),
         (cancelled(1),),
         "Deploy freeze: config.auto_deploy is false and run 1 was started by push, "
         "not workflow_dispatch.", id="deploy-freeze"),

    # A registered spec whose workflow cannot be used.
    case(wanted(make_spec()), registry(make_record()), world(repo(access=Access.NOT_FOUND)),
         ((Kind.MARK_ERROR, "status active", f"status error: {NOT_FOUND_PROBLEM}"),),
         NOT_FOUND_PROBLEM, id="error-not-found"),
    case(wanted(make_spec()),
         registry(make_record(status=ERROR, status_reason=NOT_FOUND_PROBLEM)),
         world(repo(access=Access.NOT_FOUND)), (), id="error-same-reason"),
    case(wanted(make_spec()),
         registry(make_record(status=ERROR, status_reason=MISSING_PROBLEM)),
         world(repo(access=Access.FORBIDDEN)),
         ((Kind.MARK_ERROR, f"status error: {MISSING_PROBLEM}",
           f"status error: GitHub denied the token access to repository {REPO} (403 Forbidden). "
           f"Grant the token read and write access to Actions on {REPO}."),),
         "403 Forbidden", id="error-new-reason"),
    case(wanted(make_spec()), registry(make_record()), world(repo(workflow(path=OTHER_FILE))),
         ((Kind.MARK_ERROR, "status active", f"status error: {MISSING_PROBLEM}"),),
         MISSING_PROBLEM, id="error-workflow-missing"),
    case(wanted(make_spec()), registry(make_record()), world(repo(workflow(WorkflowState.DELETED))),
         ((Kind.MARK_ERROR, "status active",
           f"status error: GitHub reports workflow {FILE} of {REPO} as deleted. "
           "Restore the file, or point workflow_file at an existing workflow."),),
         "as deleted", id="error-workflow-deleted"),
    case(wanted(make_spec()), registry(make_record()),
         world(repo(workflow(WorkflowState.DISABLED_FORK), runs=(run(1),))),
         ((Kind.MARK_ERROR, "status active",
           f"status error: Workflow {FILE} of {REPO} is disabled because the repository is a "
           "fork. Enable workflows in the fork's Actions tab on GitHub."),),
         "fork", id="error-workflow-fork"),
    case(wanted(make_spec()), registry(make_record()), world(repo(workflow("paused_by_policy"))),
         ((Kind.MARK_ERROR, "status active",
           f"status error: GitHub reports workflow {FILE} of {REPO} in a state that ccm does not "
           "know, so ccm leaves it alone. Check the workflow on GitHub, and upgrade ccm if GitHub "
           "added a workflow state."),),
         "does not know", id="error-workflow-unknown-state"),
    case(wanted(make_spec(environment="staging")), registry(make_record()),
         world(repo(access=Access.UNAVAILABLE)), (), "GitHub was unavailable", held=True,
         id="registered-unavailable"),

    # Spec changes that only the registry record needs.
    case(wanted(make_spec(environment="staging")), registry(make_record()), world(repo(workflow())),
         ((Kind.UPDATE_CONFIG, 'config.environment: "production"',
           'config.environment: "staging"'),),
         "The spec differs from the registry record in config.environment.",
         id="config-changed"),
    case(wanted(make_spec(vps=VpsLink(linked_app="shop"))), registry(make_record()),
         world(repo(workflow())),
         ((Kind.UPDATE_CONFIG, "vps.linked_app: null", 'vps.linked_app: "shop"'),),
         "vps.linked_app",
         id="vps-link-changed"),
    case(wanted(make_spec(), files={"api": "moved.yaml"}), registry(make_record()),
         world(repo(workflow())),
         ((Kind.UPDATE_CONFIG, 'file: "api.yaml"', 'file: "moved.yaml"'),),
         "registry record in file.",
         id="spec-file-moved"),
    case(wanted(MOVED_SPEC), registry(make_record()),
         world(repo(workflow(), workflow(WorkflowState.DISABLED_MANUALLY, id=11, path=OTHER_FILE))),
         ((Kind.ENABLE_WORKFLOW, DISABLED, ENABLED),
          (Kind.UPDATE_CONFIG, f'workflow_file: "{FILE}", workflow_id: 10',
           f'workflow_file: "{OTHER_FILE}", workflow_id: 11')),
         "self-heal", id="workflow-file-moved"),
    case(wanted(SHOP_SPEC), registry(make_record()),
         world(repo(workflow()), repo(workflow(id=20), repository="acme/shop")),
         ((Kind.UPDATE_CONFIG, f'repository: "{REPO}", workflow_id: 10',
           'repository: "acme/shop", workflow_id: 20'),),
         f"The record now points at {FILE} in acme/shop, and the workflow {FILE} in {REPO} is "
         "left as it is.", id="repository-moved"),

    # No spec any more: teardown (the prune guard has its own tests below).
    case(wanted(), registry(make_record()),
         world(repo(workflow(), runs=(run(1), run(2, status=RunStatus.QUEUED)))),
         ((Kind.DISABLE_WORKFLOW, ENABLED, DISABLED), cancelled(1), cancelled(2, "queued"),
          (Kind.DEACTIVATE, "status active", TORN_DOWN)),
         "No spec in pipelines.d/ names pipeline 'api' any more, so it is torn down.",
         allow_prune=True, id="teardown"),
    case(wanted(), registry(make_record()),
         world(repo(workflow(WorkflowState.DISABLED_MANUALLY), runs=(run(1),))),
         (cancelled(1), (Kind.DEACTIVATE, "status active", TORN_DOWN)), "Run 1 (push) is in flight",
         allow_prune=True, id="teardown-workflow-disabled"),
    case(wanted(), registry(make_record(spec=DISABLED_SPEC, status=INACTIVE)),
         world(repo(workflow(WorkflowState.DISABLED_MANUALLY))),
         ((Kind.DEACTIVATE, "status inactive", TORN_DOWN),), "torn down",
         id="teardown-inactive-record"),
    case(wanted(), registry(make_record(status=ERROR, status_reason=MISSING_PROBLEM)),
         world(repo(workflow(path=OTHER_FILE))),
         ((Kind.DEACTIVATE, "status error", TORN_DOWN),),
         f"Nothing changes on GitHub. {MISSING_PROBLEM}", id="teardown-error-record"),
    case(wanted(), registry(make_record()), world(repo(access=Access.NOT_FOUND)),
         ((Kind.DEACTIVATE, "status active", TORN_DOWN),),
         f"Nothing changes on GitHub. {NOT_FOUND_PROBLEM}", allow_prune=True,
         id="teardown-not-found"),
    case(wanted(), registry(make_record(status=ERROR, status_reason=MISSING_PROBLEM)),
         world(repo(workflow())),
         ((Kind.DISABLE_WORKFLOW, ENABLED, DISABLED), (Kind.DEACTIVATE, "status error", TORN_DOWN)),
         "torn down", id="teardown-error-record-usable-again"),
    case(wanted(), registry(make_record()), world(repo(access=Access.UNAVAILABLE)), (),
         "GitHub was unavailable", held=True, allow_prune=True, id="teardown-unavailable"),
    case(wanted(make_spec("api-v2")), registry(make_record()),
         world(repo(workflow(), runs=(run(1),))),
         ((Kind.DEACTIVATE, "status active", TORN_DOWN), REGISTERED_ACTIVE),
         "Another spec now claims its workflow, so ccm leaves the workflow and its runs alone.",
         id="teardown-renamed"),

    # History records and the registry's own consistency.
    case(wanted(), registry(make_record(deleted=True)), world(repo(workflow())), (),
         id="history-ignored"),
    case(wanted(make_spec()), registry(make_record(deleted=True, pipeline_id="pipe_000000000001")),
         world(repo(workflow())), (REGISTERED_ACTIVE,), "not registered yet",
         id="history-then-new-spec"),
    case(wanted(make_spec()),
         registry(make_record(), make_record(pipeline_id="pipe_000000000001")),
         world(repo(workflow(WorkflowState.DISABLED_MANUALLY))), (),
         f"The registry has 2 current pipelines named 'api' (pipe_000000000001, {id_for('api')}). "
         "Set deleted_at on all but one of them in pipelines.json.", held=True,
         id="duplicate-current-records"),

    # A spec file that failed to load holds back its pipelines, even where the spec is missing.
    case(wanted(broken=("api.yaml",)), registry(make_record()), world(repo(workflow())), (),
         "The spec file api.yaml is invalid, so this pipeline is left as it is", held=True,
         id="broken-file-spec-absent"),
    case(wanted(make_spec(environment="staging"), broken=("old.yaml",)),
         registry(make_record(file="old.yaml")), world(repo(workflow())), (),
         "The spec file old.yaml is invalid, so this pipeline is left as it is", held=True,
         id="broken-file-spec-present"),
    case(wanted(make_spec(), broken=("api.yaml",)), {}, world(repo(workflow())), (),
         "spec file api.yaml is invalid", held=True, id="broken-file-new-spec"),
]  # fmt: skip


@pytest.mark.parametrize("row", RULES)
def test_plan_rule(row: Case) -> None:
    result = row.plan()

    assert [(a.kind, a.before, a.after) for a in result.actions] == list(row.expected)
    assert result.refusal is None
    if row.held:
        assert len(result.held) == 1
        assert row.words in result.held[0].reason
    else:
        assert result.held == ()
    if row.words and not row.held:
        assert row.words in result.actions[0].reason


@pytest.mark.parametrize("row", RULES)
def test_plan_rule_idempotent(row: Case) -> None:
    known, observed = simulate_apply(row.known, row.observed, row.plan())
    again = plan(row.desired, known, observed, PlanOptions(allow_prune=row.allow_prune))

    assert again.actions == ()
    assert len(again.held) == (1 if row.held else 0)


# What the actions carry besides kind, before and after.


def test_register_fields() -> None:
    spec = make_spec()
    result = plan(
        wanted(spec),
        {},
        world(repo(workflow(WorkflowState.DISABLED_INACTIVITY))),
        PlanOptions(),
    )

    register, enable = result.actions
    assert register.spec == spec
    assert register.spec_file == "api.yaml"
    assert register.status is ACTIVE
    assert register.status_reason is None
    assert register.workflow_id == WORKFLOW_ID
    assert register.pipeline_id is None
    assert enable.pipeline_id is None
    assert (enable.repository, enable.workflow_file) == (REPO, FILE)


def test_register_error_reason() -> None:
    result = plan(wanted(make_spec()), {}, world(repo(access=Access.NOT_FOUND)), PlanOptions())

    (register,) = result.actions
    assert register.status is ERROR
    assert register.status_reason == NOT_FOUND_PROBLEM
    assert register.reason == NOT_FOUND_PROBLEM
    assert register.workflow_id is None


def test_mark_error_reason() -> None:
    record = make_record()
    result = plan(wanted(make_spec()), registry(record), world(repo(access=Access.NOT_FOUND)), PlanOptions())

    (mark,) = result.actions
    assert mark.pipeline_id == record.pipeline_id
    assert mark.status is ERROR
    assert mark.status_reason == NOT_FOUND_PROBLEM


def test_cancel_oldest_first() -> None:
    runs = (run(9), run(4, event="schedule"), run(7, event="workflow_dispatch"))
    result = plan(
        wanted(FROZEN_SPEC),
        registry(make_record(spec=FROZEN_SPEC)),
        world(repo(workflow(), runs=runs)),
        PlanOptions(),
    )

    assert [a.run_id for a in result.actions] == [4, 9]
    assert all(a.kind is Kind.CANCEL_RUN for a in result.actions)
    assert all(a.workflow_id == WORKFLOW_ID for a in result.actions)


def test_cancel_ignores_other_workflows() -> None:
    runs = (run(1, workflow_id=99), run(2))
    result = plan(
        wanted(DISABLED_SPEC),
        registry(make_record(spec=DISABLED_SPEC, status=INACTIVE)),
        world(repo(workflow(WorkflowState.DISABLED_MANUALLY), runs=runs)),
        PlanOptions(),
    )

    assert [a.run_id for a in result.actions] == [2]


def test_moved_workflow_left_alone() -> None:
    # The spec moves to another workflow file and disables the pipeline: the old workflow stays
    # active and its run goes on, because ccm no longer manages it.
    moved = make_spec(workflow_file=OTHER_FILE, enabled=False)
    result = plan(
        wanted(moved),
        registry(make_record()),
        world(
            repo(
                workflow(),
                workflow(WorkflowState.DISABLED_MANUALLY, id=11, path=OTHER_FILE),
                runs=(run(1),),
            )
        ),
        PlanOptions(),
    )

    assert [a.kind for a in result.actions] == [Kind.UPDATE_CONFIG, Kind.MARK_INACTIVE]
    assert {a.workflow_file for a in result.actions} == {OTHER_FILE}
    assert {a.workflow_id for a in result.actions} == {11}


def test_update_config_carries_spec() -> None:
    spec = make_spec(environment="staging")
    result = plan(
        wanted(spec, files={"api": "moved.yaml"}),
        registry(make_record()),
        world(repo(workflow())),
        PlanOptions(),
    )

    (update,) = result.actions
    assert update.kind is Kind.UPDATE_CONFIG
    assert update.spec == spec
    assert update.spec_file == "moved.yaml"
    assert update.status is None
    assert update.reason == "The spec differs from the registry record in config.environment, file."


def test_teardown_subject_from_record() -> None:
    record = make_record(spec=make_spec(repository="Acme/API"))
    result = plan(wanted(), registry(record), world(repo(workflow(id=12))), PlanOptions(allow_prune=True))

    assert {a.pipeline_id for a in result.actions} == {record.pipeline_id}
    assert {a.repository for a in result.actions} == {"Acme/API"}
    assert {a.workflow_id for a in result.actions} == {12}
    assert result.actions[-1].status is INACTIVE


# The prune guard.


def fleet(total: int, removed: int) -> tuple[DesiredState, dict[str, Pipeline], ObservedState]:
    """Return ``total`` active pipelines p0, p1, ... whose last ``removed`` lost their spec."""
    specs = [make_spec(f"p{i}", workflow_file=f".github/workflows/p{i}.yml") for i in range(total)]
    records = [make_record(spec=spec) for spec in specs]
    workflows = [workflow(id=100 + i, path=spec.workflow_file) for i, spec in enumerate(specs)]
    return wanted(*specs[: total - removed]), registry(*records), world(repo(*workflows))


@pytest.mark.parametrize(
    ("total", "removed", "allow_prune", "rejected"),
    [
        pytest.param(1, 1, False, True, id="1-of-1"),
        pytest.param(2, 1, False, False, id="1-of-2"),
        pytest.param(4, 2, False, False, id="2-of-4"),
        pytest.param(4, 3, False, True, id="3-of-4"),
        pytest.param(4, 4, False, True, id="4-of-4"),
        pytest.param(4, 3, True, False, id="3-of-4-allowed"),
        pytest.param(4, 4, True, False, id="4-of-4-allowed"),
    ],
)
def test_prune_guard_boundary(total: int, removed: int, allow_prune: bool, rejected: bool) -> None:
    desired, known, observed = fleet(total, removed)
    result = plan(desired, known, observed, PlanOptions(allow_prune=allow_prune))

    torn = [a.pipeline_name for a in result.actions if a.kind is Kind.DEACTIVATE]
    if rejected:
        assert result.refusal is not None
        assert f"tear down {removed} of {total} active" in result.refusal
        assert torn == []
        assert not any(a.kind in TEARDOWN_KINDS for a in result.actions)
        assert len(result.held) == removed
        assert not result.in_sync
    else:
        assert result.refusal is None
        assert len(torn) == removed


def test_prune_refusal_message() -> None:
    desired, known, observed = fleet(4, 3)
    result = plan(desired, known, observed, PlanOptions())

    assert result.refusal == (
        "The plan would tear down 3 of 4 active pipelines (p1, p2, p3), which is more than half, "
        "so nothing was torn down. Run `ccm reconcile --allow-prune` to tear them down on purpose."
    )
    assert [h.pipeline_name for h in result.held] == ["p1", "p2", "p3"]
    assert all("--allow-prune" in h.reason for h in result.held)


def test_prune_refusal_all_names() -> None:
    desired, known, observed = fleet(7, 7)
    result = plan(desired, known, observed, PlanOptions())

    assert result.refusal == (
        "The plan would tear down 7 of 7 active pipelines (p0, p1, p2, p3, p4 and 2 more), "
        "which is all of them, so nothing was torn down. "
        "Run `ccm reconcile --allow-prune` to tear them down on purpose."
    )


def test_prune_keeps_other_actions() -> None:
    _, known, observed = fleet(2, 2)
    fresh = make_spec("new", workflow_file=OTHER_FILE)
    fleet_repo = observed.repositories[REPO]
    observed = world(repo(*fleet_repo.workflows, workflow(id=50, path=OTHER_FILE)))
    result = plan(wanted(fresh), known, observed, PlanOptions())

    assert result.refusal is not None
    assert [(a.pipeline_name, a.kind) for a in result.actions] == [("new", Kind.REGISTER)]


def test_prune_empty_desired() -> None:
    desired, known, observed = fleet(3, 0)
    result = plan(DesiredState(), known, observed, PlanOptions())

    assert result.refusal is not None
    assert "3 of 3 active pipelines" in result.refusal
    assert result.actions == ()


def test_prune_ignores_inactive() -> None:
    active = make_record("a", spec=make_spec("a", workflow_file=".github/workflows/a.yml"))
    gone = [
        make_record(
            name,
            spec=make_spec(name, enabled=False, workflow_file=f".github/workflows/{name}.yml"),
            status=INACTIVE,
        )
        for name in ("b", "c", "d")
    ]
    workflows = [workflow(path=active.workflow_file)] + [
        workflow(WorkflowState.DISABLED_MANUALLY, id=20 + i, path=r.workflow_file) for i, r in enumerate(gone)
    ]
    result = plan(
        wanted(make_spec("a", workflow_file=active.workflow_file)),
        registry(active, *gone),
        world(repo(*workflows)),
        PlanOptions(),
    )

    assert result.refusal is None
    assert [a.pipeline_name for a in result.actions] == ["b", "c", "d"]


def test_prune_rename_not_counted() -> None:
    result = plan(
        wanted(make_spec("api-v2")), registry(make_record()), world(repo(workflow())), PlanOptions()
    )

    assert result.refusal is None
    assert [(a.pipeline_name, a.kind) for a in result.actions] == [
        ("api", Kind.DEACTIVATE),
        ("api-v2", Kind.REGISTER),
    ]


def test_broken_file_holds_every_teardown() -> None:
    # p0.yaml is broken, and the other specs are gone. A renamed spec in a broken file looks
    # like a removed one, so no pipeline is torn down while any spec file is invalid.
    desired, known, observed = fleet(4, 4)
    desired = wanted(broken=("p0.yaml",))
    result = plan(desired, known, observed, PlanOptions())

    assert result.actions == ()
    assert result.refusal is None
    assert sorted(h.pipeline_name for h in result.held) == ["p0", "p1", "p2", "p3"]
    assert "may still declare it" in next(h.reason for h in result.held if h.pipeline_name == "p1")


# Scope: a pass for named pipelines.


def test_scope_limits_specs_and_teardowns() -> None:
    desired, known, observed = fleet(4, 2)  # p2 and p3 lost their spec
    changed = make_spec("p0", workflow_file=".github/workflows/p0.yml", environment="staging")
    other = make_spec("p1", workflow_file=".github/workflows/p1.yml", environment="staging")
    desired = wanted(changed, other)
    result = plan(desired, known, observed, PlanOptions(scope=frozenset({"p0", "p2"}), allow_prune=True))

    assert [(a.pipeline_name, a.kind) for a in result.actions] == [
        ("p0", Kind.UPDATE_CONFIG),
        ("p2", Kind.DISABLE_WORKFLOW),
        ("p2", Kind.DEACTIVATE),
    ]


def test_scope_prune_guard() -> None:
    desired, known, observed = fleet(4, 1)  # p3 lost its spec
    scope = frozenset({"p3"})
    rejected = plan(desired, known, observed, PlanOptions(scope=scope))
    allowed = plan(desired, known, observed, PlanOptions(scope=scope, allow_prune=True))

    assert rejected.refusal is not None
    assert "1 of 1 active pipeline (p3)" in rejected.refusal
    assert rejected.actions == ()
    assert allowed.refusal is None
    assert [a.kind for a in allowed.actions] == [Kind.DISABLE_WORKFLOW, Kind.DEACTIVATE]


# Order and determinism.


def mixed_world() -> tuple[DesiredState, dict[str, Pipeline], ObservedState]:
    specs = [
        make_spec("web", workflow_file=".github/workflows/web.yml", enabled=False),
        make_spec("api", workflow_file=".github/workflows/api.yml", auto_deploy=False),
        make_spec("jobs", workflow_file=".github/workflows/jobs.yml"),
    ]
    records = [
        make_record(spec=make_spec("web", workflow_file=".github/workflows/web.yml"), workflow_id=3),
        make_record(spec=make_spec("old", workflow_file=".github/workflows/old.yml"), workflow_id=4),
        make_record(spec=make_spec("zeta", workflow_file=".github/workflows/zeta.yml"), workflow_id=5),
        make_record(spec=make_spec("alpha", workflow_file=".github/workflows/alpha.yml"), workflow_id=6),
    ]
    workflows = (
        workflow(WorkflowState.DISABLED_MANUALLY, id=1, path=".github/workflows/api.yml"),
        workflow(id=2, path=".github/workflows/jobs.yml"),
        workflow(id=3, path=".github/workflows/web.yml"),
        workflow(id=4, path=".github/workflows/old.yml"),
        workflow(id=5, path=".github/workflows/zeta.yml"),
        workflow(id=6, path=".github/workflows/alpha.yml"),
    )
    runs = (run(30, workflow_id=3), run(10, workflow_id=1), run(40, workflow_id=4))
    return wanted(*specs), registry(*records), world(repo(*workflows, runs=runs))


def test_order_by_name_then_kind() -> None:
    desired, known, observed = mixed_world()
    result = plan(desired, known, observed, PlanOptions(allow_prune=True))

    assert [(a.pipeline_name, a.kind, a.run_id) for a in result.actions] == [
        ("alpha", Kind.DISABLE_WORKFLOW, None),
        ("alpha", Kind.DEACTIVATE, None),
        ("api", Kind.REGISTER, None),
        ("api", Kind.ENABLE_WORKFLOW, None),
        ("api", Kind.CANCEL_RUN, 10),
        ("jobs", Kind.REGISTER, None),
        ("old", Kind.DISABLE_WORKFLOW, None),
        ("old", Kind.CANCEL_RUN, 40),
        ("old", Kind.DEACTIVATE, None),
        ("web", Kind.DISABLE_WORKFLOW, None),
        ("web", Kind.CANCEL_RUN, 30),
        ("web", Kind.UPDATE_CONFIG, None),
        ("web", Kind.MARK_INACTIVE, None),
        ("zeta", Kind.DISABLE_WORKFLOW, None),
        ("zeta", Kind.DEACTIVATE, None),
    ]


def test_plan_deterministic() -> None:
    desired, known, observed = mixed_world()
    reordered = dict(reversed(list(known.items())))
    options = PlanOptions(allow_prune=True)

    first = plan(desired, known, observed, options)
    assert plan(desired, known, observed, options) == first
    assert plan(desired, reordered, observed, options) == first


def test_mixed_world_converges() -> None:
    desired, known, observed = mixed_world()
    options = PlanOptions(allow_prune=True)
    first = plan(desired, known, observed, options)
    known, observed = simulate_apply(known, observed, first)

    assert plan(desired, known, observed, options).in_sync
