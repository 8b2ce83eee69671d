"""Provisions at once: one pipeline per spec, no lost update, no deadlock, every wait bounded.

Identical provisions race for one workflow and exactly one wins; different ones all win. They run
through ``PipelineManager`` from threads, through the REST API from concurrent HTTP clients, and
through the API while ``ccm reconcile`` processes converge the same state directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ccm.api import PipelineAPI
from ccm.github.sandbox import SandboxSeed, SandboxServer, SandboxWorld
from ccm.manager import PipelineExists, PipelineManager
from ccm.monitor.service import PipelineMonitor
from ccm.pipeline import Pipeline
from ccm.reconcile.engine import Engine
from ccm.reconcile.passes import PassRequest, run_pass
from ccm.tokens import TokenRole, TokenStore

from conftest import VirtualTime, build_engine, check_registry, trials, wait_until

CCM = str(Path(sys.executable).with_name("ccm"))
WORKFLOW = ".github/workflows/job-00.yml"
# Generous bounds: a provision is one scoped pass over loopback, well under a second alone.
FUTURE_TIMEOUT_SECONDS = 60.0


def repository(number: int) -> str:
    return f"fleet/service-{number:03d}"


@dataclass
class Service:
    engine: Engine
    manager: PipelineManager
    world: SandboxWorld
    sandbox_url: str
    state_dir: Path
    specs_dir: Path


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    world = SandboxWorld.open(SandboxSeed.generated(repositories=40, workflows_per_repository=1))
    with SandboxServer(world) as sandbox:
        state_dir, specs_dir = tmp_path / "state", tmp_path / "pipelines.d"
        specs_dir.mkdir()
        engine = build_engine(sandbox.url, state_dir, specs_dir, VirtualTime())
        with engine.client:
            yield Service(engine, PipelineManager(engine), world, sandbox.url, state_dir, specs_dir)


def run_all(calls: list[Callable[[], Any]]) -> list[Any]:
    """Start every call at once (a barrier releases them together); return results or exceptions."""
    barrier = threading.Barrier(len(calls), timeout=FUTURE_TIMEOUT_SECONDS)

    def started(call: Callable[[], Any]) -> Any:
        barrier.wait()
        try:
            return call()
        except Exception as error:  # noqa: BLE001  (each outcome is checked by the caller)
            return error

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(started, call) for call in calls]
        return [future.result(timeout=FUTURE_TIMEOUT_SECONDS) for future in futures]


def check_one_per_spec(service: Service) -> dict[str, Pipeline]:
    current = check_registry(service.state_dir).current_by_name()
    spec_files = sorted(path.name for path in service.specs_dir.iterdir())
    assert spec_files == sorted(f"{name}.yaml" for name in current)
    workflows = Counter((p.repository, p.workflow_file) for p in current.values())
    assert max(workflows.values(), default=1) == 1, "two pipelines manage one workflow"
    return current


def test_identical_provisions_once(service: Service) -> None:
    for attempt in range(trials(3, 20)):
        repo = repository(attempt)
        outcomes = run_all([lambda repo=repo: service.manager.provision_pipeline(repo, WORKFLOW)] * 12)

        won = [outcome for outcome in outcomes if isinstance(outcome, Pipeline)]
        lost = [outcome for outcome in outcomes if isinstance(outcome, PipelineExists)]
        assert len(won) == 1, outcomes
        assert len(lost) == 11, [o for o in outcomes if not isinstance(o, PipelineExists)]
        assert all(error.pipeline_id in (None, won[0].pipeline_id) for error in lost)
    assert len(check_one_per_spec(service)) == trials(3, 20)


def test_different_provisions_all(service: Service) -> None:
    outcomes = run_all(
        [lambda number=number: service.manager.provision_pipeline(repository(number), WORKFLOW) for number in range(24)]
    )

    assert all(isinstance(outcome, Pipeline) for outcome in outcomes), outcomes
    current = check_one_per_spec(service)
    assert {p.pipeline_id for p in outcomes} == {p.pipeline_id for p in current.values()}
    assert service.manager.update_pipeline_status(outcomes[0].pipeline_id).status.value == "active"


def test_api_provisions_at_once(service: Service) -> None:
    tokens = TokenStore(service.state_dir)
    token = tokens.create("vps-manager", TokenRole.API)
    with PipelineAPI(service.manager, PipelineMonitor(service.engine), tokens, port=0) as api:

        def provision(number: int) -> httpx.Response:
            body = {"repo": repository(number), "workflow_file": WORKFLOW}
            return httpx.post(
                f"{api.url}/api/pipelines/provision", json=body, headers={"CCM-Token": token}, timeout=FUTURE_TIMEOUT_SECONDS
            )

        # Eight requests for service-000 and one each for service-001 to service-016.
        responses = run_all([lambda: provision(0)] * 8 + [lambda n=n: provision(n) for n in range(1, 17)])

    statuses = [r.status_code if isinstance(r, httpx.Response) else repr(r) for r in responses]
    assert sorted(statuses[:8]) == [201] + [409] * 7, statuses
    assert statuses[8:] == [201] * 16, statuses
    current = check_one_per_spec(service)
    assert len(current) == 17
    created = {r.json()["pipeline_id"] for r in responses if r.status_code == 201}
    assert created == {p.pipeline_id for p in current.values()}


@pytest.mark.slow
def test_api_provisions_during_reconciles(service: Service) -> None:
    """API provisions in one process while ``ccm reconcile`` runs in others on the same files."""
    tokens = TokenStore(service.state_dir)
    token = tokens.create("vps-manager", TokenRole.API)
    environment = {**os.environ, "GITHUB_TOKEN": "reconcile-token", "CCM_HOME": str(service.state_dir)}
    for variable in ("CCM_CONFIG", "CCM_GITHUB", "CCM_PIPELINES_DIR"):
        environment.pop(variable, None)
    command = [CCM, "--github", service.sandbox_url, "--pipelines-dir", str(service.specs_dir), "reconcile"]
    stop = threading.Event()
    exit_codes: list[int] = []

    def reconcile_loop() -> None:
        while not stop.is_set():
            done = subprocess.run(command, env=environment, capture_output=True, timeout=FUTURE_TIMEOUT_SECONDS)
            exit_codes.append(done.returncode)

    provisions = trials(12, 40)
    with PipelineAPI(service.manager, PipelineMonitor(service.engine), tokens, port=0) as api:
        loops = [threading.Thread(target=reconcile_loop, name=f"reconcile-{i}") for i in range(2)]
        for loop in loops:
            loop.start()
        try:
            with httpx.Client(base_url=api.url, headers={"CCM-Token": token}, timeout=FUTURE_TIMEOUT_SECONDS) as http:
                responses = run_all(
                    [
                        lambda n=n: http.post(
                            "/api/pipelines/provision", json={"repo": repository(n), "workflow_file": WORKFLOW}
                        )
                        for n in range(provisions)
                    ]
                )
        finally:
            stop.set()
            for loop in loops:
                loop.join(timeout=FUTURE_TIMEOUT_SECONDS)

    assert not any(loop.is_alive() for loop in loops), "a reconcile loop did not stop"
    assert [r.status_code for r in responses] == [201] * provisions, [r.text for r in responses if r.status_code != 201]
    assert exit_codes and set(exit_codes) <= {0}, exit_codes
    current = check_one_per_spec(service)
    assert {r.json()["pipeline_id"] for r in responses} == {p.pipeline_id for p in current.values()}
    final = subprocess.run([*command, "--dry-run"], env=environment, capture_output=True, timeout=FUTURE_TIMEOUT_SECONDS)
    assert final.returncode == 0, final.stdout.decode()


def waits_for_registry_lock(thread: threading.Thread) -> bool:
    """Return whether ``thread`` is inside the registry lock's wait loop right now."""
    frame = sys._current_frames().get(thread.ident or -1)
    while frame is not None:
        if frame.f_code.co_name == "_wait_for_flock":
            return True
        frame = frame.f_back
    return False


def test_pass_waiting_keeps_new_pipeline(service: Service) -> None:
    """A full pass that waits for the lock while a provision registers must not tear it down."""
    service.manager.provision_pipeline(repository(0), WORKFLOW)
    service.manager.provision_pipeline(repository(1), WORKFLOW)
    # The other process: its own engine, registry and lock file descriptor on the same files.
    other = build_engine(service.sandbox_url, service.state_dir, service.specs_dir, VirtualTime())
    outcome: list[Any] = []

    with other.client:
        with service.engine.registry.lock():
            waiting = threading.Thread(target=lambda: outcome.append(run_pass(other, PassRequest())))
            waiting.start()
            wait_until(lambda: waits_for_registry_lock(waiting))
            # A provision completes while the full pass waits; the lock is re-entrant in this thread.
            provisioned = service.manager.provision_pipeline(repository(2), WORKFLOW)
        waiting.join(timeout=FUTURE_TIMEOUT_SECONDS)

    assert not waiting.is_alive()
    assert [action.kind.value for action in outcome[0].plan.actions] == []
    current = check_one_per_spec(service)
    assert current[provisioned.name].pipeline_id == provisioned.pipeline_id
    assert current[provisioned.name].deleted_at is None
