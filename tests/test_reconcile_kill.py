"""SIGKILL of ``ccm reconcile`` at random moments of busy passes never corrupts the registry.

Each trial flips the desired state of a 60-pipeline fleet (every workflow enabled, or every one
disabled), starts ``ccm reconcile`` as a real process and kills it after a random delay spread
over the length of a whole pass, so kills land in spec loading, in GitHub calls and in the
registry save. After every kill the registry must load without recovery and hold at most one
current record per spec. At the end one uninterrupted pass converges everything.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ccm.github.sandbox import SandboxSeed, SandboxServer, SandboxWorld
from ccm.registry import Registry

KILLS = 50
CCM = str(Path(sys.executable).with_name("ccm"))


def write_specs(specs_dir: Path, seed: SandboxSeed, enabled: bool) -> None:
    for repository in seed.repositories:
        short = repository.full_name.split("/")[1]
        documents = [
            f"name: {short}-{Path(w.path).stem}\nrepository: {repository.full_name}\n"
            f"workflow_file: {w.path}\nenabled: {str(enabled).lower()}\n"
            for w in repository.workflows
        ]
        (specs_dir / f"{short}.yaml").write_text("---\n".join(documents), encoding="utf-8")


@pytest.mark.slow
def test_kill_during_passes_keeps_registry(tmp_path: Path) -> None:
    seed = SandboxSeed.generated(repositories=6, workflows_per_repository=10)
    specs_dir = tmp_path / "pipelines.d"
    specs_dir.mkdir()
    state_dir = tmp_path / "state"
    registry = Registry(state_dir)
    environment = {**os.environ, "GITHUB_TOKEN": "test-token", "CCM_HOME": str(state_dir)}
    environment.pop("CCM_CONFIG", None)

    with SandboxServer(SandboxWorld.open(seed)) as server:
        command = [CCM, "--github", server.url, "--pipelines-dir", str(specs_dir), "reconcile"]

        def full_pass() -> float:
            started = time.monotonic()
            subprocess.run(command, env=environment, check=True, capture_output=True, timeout=60)
            return time.monotonic() - started

        write_specs(specs_dir, seed, enabled=True)
        pass_seconds = full_pass()
        rng = random.Random(1234)
        killed_mid_pass = 0

        for trial in range(KILLS):
            write_specs(specs_dir, seed, enabled=trial % 2 == 1)
            process = subprocess.Popen(
                command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            time.sleep(rng.uniform(0.3, 1.1) * pass_seconds)
            process.send_signal(signal.SIGKILL)
            killed_mid_pass += process.wait(timeout=30) == -signal.SIGKILL

            data = registry.load()
            names = [p.name for p in data.pipelines.values() if p.is_current]
            assert len(names) == len(set(names)), f"trial {trial}: a spec has two current records"
            assert not list(state_dir.glob("pipelines.json.corrupt-*")), (
                f"trial {trial}: registry was corrupt"
            )

        assert killed_mid_pass >= KILLS // 2, "most kills should land before the pass ends"
        write_specs(specs_dir, seed, enabled=True)
        full_pass()
        check = subprocess.run([*command, "--dry-run"], env=environment, capture_output=True, timeout=60)

    assert check.returncode == 0, check.stdout.decode()
    current = registry.load().current_by_name()
    assert len(current) == 60
    assert all(p.status.value == "active" for p in current.values())
