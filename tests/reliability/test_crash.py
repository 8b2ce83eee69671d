"""SIGKILL of ``ccm reconcile`` during teardowns and of ``ccm api`` during provisions, and two
``ccm reconcile`` processes at once.

The kills of ordinary passes (enable and disable flips) live in ``tests/test_reconcile_kill.py``.
Here the killed passes tear pipelines down: each trial removes a random half of the removable
specs (or restores them), so kills land between a cancel, a disable and the record's
deactivation. Half of the fleet is never removed; those pipelines must keep their id and stay
current through every trial, which is what "no unintended teardown" means here.
"""

from __future__ import annotations

import os
import queue
import random
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from ccm.github.models import WorkflowState
from ccm.github.sandbox import SandboxSeed, SandboxServer, SandboxWorld
from ccm.registry import Registry
from ccm.tokens import TokenRole, TokenStore

from conftest import check_registry, report, trials

CCM = str(Path(sys.executable).with_name("ccm"))
REPOSITORIES = 4
WORKFLOWS = 6


def crash_seed() -> SandboxSeed:
    """Return a fleet whose every workflow has a push run in flight, so teardowns cancel runs."""
    repositories: list[dict[str, Any]] = []
    for number in range(REPOSITORIES):
        paths = [f".github/workflows/job-{index}.yml" for index in range(WORKFLOWS)]
        runs = [
            {"workflow": path, "status": "in_progress", "started_seconds_ago": 5, "duration_seconds": 86_400}
            for path in paths
        ]
        repositories.append(
            {"full_name": f"fleet/service-{number}", "workflows": [{"path": p} for p in paths], "runs": runs}
        )
    return SandboxSeed.model_validate({"random_seed": 11, "repositories": repositories})


def spec_names(seed: SandboxSeed) -> dict[str, tuple[str, str]]:
    """Return every spec name with its repository and workflow path."""
    return {
        f"{r.full_name.split('/')[1]}-{Path(w.path).stem}": (r.full_name, w.path)
        for r in seed.repositories
        for w in r.workflows
    }


def write_specs(specs_dir: Path, specs: dict[str, tuple[str, str]], names: set[str]) -> None:
    for name, (repository, path) in specs.items():
        file = specs_dir / f"{name}.yaml"
        if name in names:
            file.write_text(f"name: {name}\nrepository: {repository}\nworkflow_file: {path}\n", encoding="utf-8")
        else:
            file.unlink(missing_ok=True)


def ccm_environment(state_dir: Path) -> dict[str, str]:
    environment = {**os.environ, "GITHUB_TOKEN": "crash-token", "CCM_HOME": str(state_dir)}
    for variable in ("CCM_CONFIG", "CCM_GITHUB", "CCM_PIPELINES_DIR", "GH_TOKEN"):
        environment.pop(variable, None)
    return environment


@pytest.mark.slow
def test_kill_during_teardowns(tmp_path: Path) -> None:
    kills = trials(15, 120)
    seed = crash_seed()
    specs = spec_names(seed)
    keepers = {name for index, name in enumerate(sorted(specs)) if index % 2 == 0}
    removable = sorted(set(specs) - keepers)
    specs_dir = tmp_path / "pipelines.d"
    specs_dir.mkdir()
    state_dir = tmp_path / "state"
    environment = ccm_environment(state_dir)
    world = SandboxWorld.open(seed)

    with SandboxServer(world) as server:
        command = [CCM, "--github", server.url, "--pipelines-dir", str(specs_dir), "reconcile", "--allow-prune"]

        def full_pass() -> subprocess.CompletedProcess[bytes]:
            return subprocess.run(command, env=environment, capture_output=True, timeout=60)

        write_specs(specs_dir, specs, set(specs))
        started = time.monotonic()
        assert full_pass().returncode == 0
        pass_seconds = time.monotonic() - started
        keeper_ids = {name: p.pipeline_id for name, p in Registry(state_dir).load().current_by_name().items() if name in keepers}
        assert len(keeper_ids) == len(keepers)
        seen_ids: set[str] = set(Registry(state_dir).load().pipelines)
        rng = random.Random(4321)
        killed_mid_pass = 0

        for trial in range(kills):
            wanted = keepers | set(rng.sample(removable, len(removable) // 2))
            write_specs(specs_dir, specs, wanted)
            process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.2, 1.0) * pass_seconds)
            process.send_signal(signal.SIGKILL)
            killed_mid_pass += process.wait(timeout=30) == -signal.SIGKILL

            data = check_registry(state_dir)
            assert seen_ids <= set(data.pipelines), f"trial {trial}: a pipeline record disappeared"
            seen_ids = set(data.pipelines)
            current = data.current_by_name()
            for name, pipeline_id in keeper_ids.items():
                assert current[name].pipeline_id == pipeline_id, f"trial {trial}: {name} was torn down"

        final = keepers | set(removable[: len(removable) // 2])
        write_specs(specs_dir, specs, final)
        converging = full_pass()
        check = subprocess.run([*command, "--dry-run"], env=environment, capture_output=True, timeout=60)

    assert killed_mid_pass >= kills // 2, "most kills should land before the pass ends"
    assert converging.returncode == 0, converging.stderr.decode()
    assert check.returncode == 0, check.stdout.decode()
    current = check_registry(state_dir).current_by_name()
    assert set(current) == final
    assert {name: current[name].pipeline_id for name in keepers} == keeper_ids
    for name in set(specs) - final:
        repository, path = specs[name]
        state = next(w.state for w in world.workflows(repository) if w.path == path)
        assert state is WorkflowState.DISABLED_MANUALLY, f"{name} was not disabled by its teardown"
    report(
        f"teardown kills: {kills} SIGKILLs ({killed_mid_pass} mid-pass), 0 corrupt registries, "
        "0 lost or duplicated pipelines, 0 unintended teardowns"
    )


@pytest.mark.slow
def test_two_reconciles_at_once(tmp_path: Path) -> None:
    rounds = trials(3, 30)
    seed = crash_seed()
    specs = spec_names(seed)
    specs_dir = tmp_path / "pipelines.d"
    specs_dir.mkdir()
    state_dir = tmp_path / "state"
    environment = ccm_environment(state_dir)
    rng = random.Random(99)

    with SandboxServer(SandboxWorld.open(seed)) as server:
        command = [CCM, "--github", server.url, "--pipelines-dir", str(specs_dir), "reconcile", "--allow-prune"]
        for round_number in range(rounds):
            wanted = set(rng.sample(sorted(specs), len(specs) * 3 // 4))
            write_specs(specs_dir, specs, wanted)
            processes = [
                subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                for _ in range(2)
            ]
            outputs = [process.communicate(timeout=60) for process in processes]

            for process, (_, stderr) in zip(processes, outputs):
                assert process.returncode == 0, f"round {round_number}: {stderr.decode()}"
            current = check_registry(state_dir).current_by_name()
            assert set(current) == wanted, f"round {round_number}: registry differs from the specs"
            check = subprocess.run([*command, "--dry-run"], env=environment, capture_output=True, timeout=60)
            assert check.returncode == 0, f"round {round_number}: {check.stdout.decode()}"
    report(f"concurrent ccm reconcile: {rounds} rounds of 2 processes, registry matches the specs")


def start_api(command: list[str], environment: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """Start ``ccm api`` and return it with its base URL, read from its first line of output."""
    process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(process.stdout.readline() if process.stdout else ""), daemon=True).start()
    try:
        line = lines.get(timeout=30)
    except queue.Empty:
        process.kill()
        raise AssertionError("ccm api printed no URL within 30 s") from None
    match = re.search(r"serving (http://127\.0\.0\.1:\d+)", line)
    assert match, f"unexpected first line of ccm api: {line!r}"
    return process, match.group(1)


@pytest.mark.slow
def test_kill_during_api_provisions(tmp_path: Path) -> None:
    kills = trials(6, 100)
    per_trial = 4
    seed = SandboxSeed.generated(repositories=kills * per_trial, workflows_per_repository=1)
    specs_dir = tmp_path / "pipelines.d"
    specs_dir.mkdir()
    state_dir = tmp_path / "state"
    token = TokenStore(state_dir).create("vps-manager", TokenRole.API)
    environment = ccm_environment(state_dir)
    rng = random.Random(2024)
    confirmed: dict[str, str] = {}  # repository -> pipeline id from a 201 response
    killed_mid_provision = 0

    with SandboxServer(SandboxWorld.open(seed)) as sandbox:
        base = [CCM, "--github", sandbox.url, "--pipelines-dir", str(specs_dir)]
        for trial in range(kills):
            process, url = start_api([*base, "api", "--port", "0"], environment)
            repositories = [seed.repositories[trial * per_trial + i].full_name for i in range(per_trial)]
            with httpx.Client(base_url=url, headers={"CCM-Token": token}, timeout=30) as http:
                with ThreadPoolExecutor(max_workers=per_trial) as pool:
                    futures = [
                        pool.submit(
                            http.post,
                            "/api/pipelines/provision",
                            json={"repo": repository, "workflow_file": ".github/workflows/job-00.yml"},
                        )
                        for repository in repositories
                    ]
                    time.sleep(rng.uniform(0.0, 0.1))
                    process.send_signal(signal.SIGKILL)
                    process.wait(timeout=30)
                    for repository, future in zip(repositories, futures):
                        try:
                            response = future.result(timeout=60)
                        except httpx.TransportError:
                            killed_mid_provision += 1
                            continue
                        if response.status_code == 201:
                            confirmed[repository] = response.json()["pipeline_id"]

            data = check_registry(state_dir)
            current = {p.repository: p.pipeline_id for p in data.pipelines.values() if p.is_current}
            for repository, pipeline_id in confirmed.items():
                assert current.get(repository) == pipeline_id, f"trial {trial}: the pipeline of {repository} was lost"

        converging = subprocess.run([*base, "reconcile"], env=environment, capture_output=True, timeout=120)
        check = subprocess.run([*base, "reconcile", "--dry-run"], env=environment, capture_output=True, timeout=120)

    assert converging.returncode == 0, converging.stderr.decode()
    assert check.returncode == 0, check.stdout.decode()
    current = check_registry(state_dir).current_by_name()
    spec_files = sorted(path.stem for path in specs_dir.glob("*.yaml"))
    assert sorted(current) == spec_files, "a spec file has no pipeline, or a pipeline has no spec file"
    by_repository = {p.repository: p.pipeline_id for p in current.values()}
    assert {repository: by_repository.get(repository) for repository in confirmed} == confirmed
    assert killed_mid_provision > 0, "no kill landed during a provision"
    report(
        f"ccm api kills during provisions: {kills} SIGKILLs, {killed_mid_provision} provisions cut off, "
        f"{len(confirmed)} confirmed, 0 lost or duplicated pipelines"
    )
