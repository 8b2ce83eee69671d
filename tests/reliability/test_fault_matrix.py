"""GitHub faults x operations: every pass ends, the fleet converges, nothing unsafe is repeated.

Each case serves a fleet of four pipelines. Three of them (alpha, beta, gamma) are never faulted,
and alpha and beta need work in the faulted pass. The fourth, victim, has one operation faulted for the whole
pass: a fault matched by route kind and the victim's path, in force until removed. Then:

1. the faulted pass returns (no exception escapes ``run_pass``);
2. the faulted request was sent as often as the error class allows: ``MAX_ATTEMPTS`` times for a
   temporary error on a request that is safe to repeat, once for a permanent one;
3. a temporary fault never marks the victim ``error``, and a permanent one on a change does;
4. the registry loads with a fresh reader, was never set aside, and has one record per name;
5. with the fault removed, a dry run shows drift on the victim only (the others converged);
6. the next pass converges the victim, a dry run after it is in sync, and no pipeline changed id.

Dispatch is not part of a pass, so its row sends one ``dispatch_workflow`` under each fault. It
checks that exactly one dispatch request reached the sandbox, and that the error names the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from ccm.github.errors import (
    Conflict,
    DispatchOutcomeUnknown,
    Forbidden,
    GitHubError,
    NotFound,
    RateLimited,
    Unprocessable,
)
from ccm.github.models import RunStatus, WorkflowState
from ccm.github.sandbox import RouteKind
from ccm.github.sandbox.world import RunFilter
from ccm.pipeline import PipelineStatus

from conftest import MAX_ATTEMPTS, Fleet, FleetFactory, check_registry, spec_text, wait_until

DEPLOY = ".github/workflows/deploy.yml"
VICTIM = "acme/victim"


@dataclass(frozen=True)
class FaultCase:
    fault: dict[str, Any]
    temporary: bool
    dispatch_error: type[GitHubError]


FAULTS: dict[str, FaultCase] = {
    "500": FaultCase({"kind": "status", "status": 500}, True, DispatchOutcomeUnknown),
    "502": FaultCase({"kind": "status", "status": 502}, True, DispatchOutcomeUnknown),
    "503": FaultCase({"kind": "status", "status": 503}, True, DispatchOutcomeUnknown),
    "timeout": FaultCase({"kind": "timeout", "hold_seconds": 2.0}, True, DispatchOutcomeUnknown),
    "reset": FaultCase({"kind": "connection_reset"}, True, DispatchOutcomeUnknown),
    "primary-403": FaultCase(
        {"kind": "primary_rate_limit", "reset_after_seconds": 1}, True, RateLimited
    ),
    "secondary-403-retry-after": FaultCase(
        {"kind": "secondary_rate_limit", "status": 403, "retry_after_seconds": 2}, True, RateLimited
    ),
    "secondary-403": FaultCase({"kind": "secondary_rate_limit", "status": 403}, True, RateLimited),
    "secondary-429-retry-after": FaultCase(
        {"kind": "secondary_rate_limit", "status": 429, "retry_after_seconds": 2}, True, RateLimited
    ),
    "secondary-429": FaultCase({"kind": "secondary_rate_limit", "status": 429}, True, RateLimited),
    "403-permission": FaultCase(
        {"kind": "status", "status": 403, "message": "Resource not accessible by integration"},
        False,
        Forbidden,
    ),
    "404": FaultCase({"kind": "status", "status": 404}, False, NotFound),
    "409": FaultCase({"kind": "status", "status": 409}, False, Conflict),
    "422": FaultCase({"kind": "status", "status": 422}, False, Unprocessable),
}


@dataclass(frozen=True)
class Operation:
    route: RouteKind
    workflow_state: str  # the victim workflow's state when the world starts
    run_in_flight: bool  # whether the victim has a push run in flight
    spec: dict[str, Any] | None  # the victim's spec fields in the faulted pass; None: torn down
    is_change: bool  # whether the faulted request changes GitHub (a permanent error marks error)


OPERATIONS: dict[str, Operation] = {
    "list-workflows": Operation(RouteKind.LIST_WORKFLOWS, "disabled_manually", False, {}, False),
    "list-runs": Operation(
        RouteKind.LIST_RUNS, "active", True, {"config": {"auto_deploy": False}}, False
    ),
    "enable": Operation(RouteKind.ENABLE_WORKFLOW, "disabled_manually", False, {}, True),
    "disable": Operation(RouteKind.DISABLE_WORKFLOW, "active", False, {"enabled": False}, True),
    "cancel": Operation(
        RouteKind.CANCEL_RUN, "active", True, {"config": {"auto_deploy": False}}, True
    ),
    "teardown-disable": Operation(RouteKind.DISABLE_WORKFLOW, "active", False, None, True),
    "teardown-cancel": Operation(RouteKind.CANCEL_RUN, "active", True, None, True),
}


def repository(name: str, state: str = "active", run_in_flight: bool = False) -> dict[str, Any]:
    runs = []
    if run_in_flight:
        runs.append(
            {
                "workflow": DEPLOY,
                "event": "push",
                "status": "in_progress",
                "started_seconds_ago": 10,
                "duration_seconds": 36_000,
            }
        )
    return {"full_name": name, "workflows": [{"path": DEPLOY, "state": state}], "runs": runs}


def fleet_seed(operation: Operation) -> dict[str, Any]:
    return {
        "random_seed": 7,
        "repositories": [
            repository("acme/alpha", "disabled_manually"),
            repository("acme/beta", "active", run_in_flight=True),
            repository("acme/gamma"),
            repository(VICTIM, operation.workflow_state, operation.run_in_flight),
        ],
    }


def write_others(fleet: Fleet) -> None:
    fleet.write("alpha", spec_text("alpha", "acme/alpha"))
    fleet.write("beta", spec_text("beta", "acme/beta", enabled=False))


def in_flight(fleet: Fleet, full_name: str) -> list[int]:
    return [
        item.run.id
        for item in fleet.world.runs(full_name, RunFilter())
        if item.view.status is not RunStatus.COMPLETED
    ]


def workflow_state(fleet: Fleet, full_name: str) -> WorkflowState:
    return next(w.state for w in fleet.world.workflows(full_name) if w.path == DEPLOY)


def check_others_converged(fleet: Fleet) -> None:
    assert workflow_state(fleet, "acme/alpha") is WorkflowState.ACTIVE
    assert workflow_state(fleet, "acme/beta") is WorkflowState.DISABLED_MANUALLY
    assert in_flight(fleet, "acme/beta") == []
    current = fleet.current()
    assert current["alpha"].status is PipelineStatus.ACTIVE
    assert current["beta"].status is PipelineStatus.INACTIVE
    assert current["gamma"].status is PipelineStatus.ACTIVE


def check_victim_converged(fleet: Fleet, operation: Operation) -> None:
    current = fleet.current()
    if operation.spec is None:
        assert "victim" not in current
        assert workflow_state(fleet, VICTIM) is WorkflowState.DISABLED_MANUALLY
        assert in_flight(fleet, VICTIM) == []
        return
    enabled = operation.spec.get("enabled", True)
    wanted = WorkflowState.ACTIVE if enabled else WorkflowState.DISABLED_MANUALLY
    assert workflow_state(fleet, VICTIM) is wanted
    assert current["victim"].status is (PipelineStatus.ACTIVE if enabled else PipelineStatus.INACTIVE)
    if operation.run_in_flight:
        assert in_flight(fleet, VICTIM) == []


def prepare_fleet(make_fleet: FleetFactory, operation: Operation) -> Fleet:
    """Write the victim's spec for ``operation`` and the other pipelines, without faults."""
    fleet = make_fleet(fleet_seed(operation))
    fleet.write("gamma", spec_text("gamma", "acme/gamma"))
    if operation.spec is None:
        # A teardown needs a registered pipeline first; register it without faults.
        fleet.write("victim", spec_text("victim", VICTIM))
        assert fleet.reconcile().exit_code == 0
        fleet.remove("victim")
    else:
        fleet.write("victim", spec_text("victim", VICTIM, **operation.spec))
    write_others(fleet)
    return fleet


@pytest.mark.parametrize("fault_name", FAULTS)
@pytest.mark.parametrize("operation_name", OPERATIONS)
def test_fault_during_pass(make_fleet: FleetFactory, operation_name: str, fault_name: str) -> None:
    operation, case = OPERATIONS[operation_name], FAULTS[fault_name]
    fleet = prepare_fleet(make_fleet, operation)
    ids_before = {name: p.pipeline_id for name, p in fleet.current().items()}

    fault_id = fleet.inject(route=operation.route, path_pattern=f"^/repos/{VICTIM}/", **case.fault)
    faulted = fleet.reconcile()
    fired = fleet.fired(fault_id)
    fleet.clear_faults()

    # A 403 or 404 while observing shows that the repository is out of reach, so the pass
    # records that and succeeds. Any other fault leaves the victim unconverged (exit status 1).
    access_denied = not operation.is_change and fault_name in ("403-permission", "404")
    assert fired == (MAX_ATTEMPTS if case.temporary else 1), "the faulted request was sent a wrong number of times"
    assert faulted.exit_code == (0 if access_denied else 1)
    victim = fleet.current().get("victim")
    if case.temporary and victim is not None:
        assert victim.status is not PipelineStatus.ERROR, victim.status_reason
    if operation.is_change and not case.temporary:
        assert victim is not None and victim.status is PipelineStatus.ERROR
        assert str(case.fault["status"]) in (victim.status_reason or "")
    if access_denied:
        assert victim is not None and victim.status is PipelineStatus.ERROR
    check_registry(fleet.state_dir)
    check_others_converged(fleet)

    pending = fleet.reconcile(dry_run=True)
    assert pending.plan.drifted() <= {"victim"}, [a.reason for a in pending.plan.actions]

    converging = fleet.reconcile()
    assert converging.exit_code == 0, [r.detail for r in converging.failed]
    check_victim_converged(fleet, operation)
    check_others_converged(fleet)
    after = fleet.reconcile(dry_run=True)
    assert after.plan.in_sync and not after.plan.held, [a.reason for a in after.plan.actions]

    data = check_registry(fleet.state_dir)
    by_name = [p.name for p in data.pipelines.values()]
    assert len(by_name) == len(set(by_name)), "a spec was registered twice"
    for name, pipeline_id in ids_before.items():
        assert data.pipelines[pipeline_id].name == name


def dispatch_seed() -> dict[str, Any]:
    return {"repositories": [repository(VICTIM)]}


@pytest.mark.parametrize("fault_name", FAULTS)
def test_fault_during_dispatch(make_fleet: FleetFactory, fault_name: str) -> None:
    case = FAULTS[fault_name]
    fleet = make_fleet(dispatch_seed())
    client = fleet.engine.client
    fleet.inject(route=RouteKind.DISPATCH, **case.fault)

    with pytest.raises(case.dispatch_error) as raised:
        client.dispatch_workflow(VICTIM, DEPLOY, "main")
    fleet.clear_faults()
    # A request held by a timeout fault is counted once the sandbox has finished it.
    wait_until(lambda: fleet.world.counters.snapshot().kind(RouteKind.DISPATCH).requests > 0)
    sent = fleet.world.counters.snapshot().kind(RouteKind.DISPATCH).requests

    assert sent == 1, "a failed dispatch was sent again"
    assert f"POST /repos/{VICTIM}/actions/workflows/deploy.yml/dispatches" in str(raised.value)
    if case.dispatch_error is DispatchOutcomeUnknown:
        assert "ccm never sends a dispatch twice" in str(raised.value)

    result = client.dispatch_workflow(VICTIM, DEPLOY, "main")
    assert result.run_id is not None
    assert fleet.world.counters.snapshot().kind(RouteKind.DISPATCH).requests == 2


TEMPORARY = [name for name, case in FAULTS.items() if case.temporary]


@pytest.mark.parametrize("fault_name", TEMPORARY)
@pytest.mark.parametrize("operation_name", ["list-workflows", "enable", "teardown-cancel"])
def test_passing_fault_retried(make_fleet: FleetFactory, operation_name: str, fault_name: str) -> None:
    operation, case = OPERATIONS[operation_name], FAULTS[fault_name]
    fleet = prepare_fleet(make_fleet, operation)

    # The fault fires on every attempt but the last, so the retries carry the pass through.
    fleet.inject(
        route=operation.route, path_pattern=f"^/repos/{VICTIM}/", count=MAX_ATTEMPTS - 1, **case.fault
    )
    result = fleet.reconcile()
    fleet.clear_faults()

    assert result.exit_code == 0, [r.detail for r in result.failed]
    assert not fleet.world.faults.active(), "the fault did not fire on every attempt but the last"
    check_victim_converged(fleet, operation)
    check_others_converged(fleet)
    check_registry(fleet.state_dir)
