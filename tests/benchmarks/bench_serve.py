"""``ccm serve``: latency from a spec file saved to its workflow enabled on GitHub.

``ccm serve`` runs as a separate process against the sandbox served from this process, with 50
pipelines already converged. Each of 20 saves writes a new spec for a disabled workflow the way an
editor does (a temporary file renamed into place), and the clock stops when the sandbox reports
the workflow active. The resync interval is an hour, so the watcher does the work.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from harness import Report

from ccm.github.sandbox import RepositorySeed, SandboxSeed, SandboxServer, SandboxWorld, WorkflowSeed

CCM = str(Path(sys.executable).with_name("ccm"))
DEPLOY = ".github/workflows/deploy.yml"
CONVERGED = 50
SAVES = 20
TARGET_P95_SECONDS = 1.0


def run(report: Report) -> None:
    names = [f"acme/app-{index:03d}" for index in range(CONVERGED + SAVES)]
    seed = SandboxSeed(
        repositories=[
            RepositorySeed(full_name=name, workflows=[WorkflowSeed(path=DEPLOY, state="disabled_manually")])
            for name in names
        ]
    )
    world = SandboxWorld.open(seed)
    with tempfile.TemporaryDirectory(prefix="ccm-bench-serve-") as scratch, SandboxServer(world) as server:
        specs_dir = Path(scratch) / "pipelines.d"
        specs_dir.mkdir()
        for name in names[:CONVERGED]:
            _save(specs_dir, name)
        process, started = _start(server.url, Path(scratch) / "state", specs_dir)
        try:
            latencies = [_measure(world, specs_dir, name) for name in names[CONVERGED:]]
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)

    p50 = statistics.median(latencies)
    p95 = statistics.quantiles(latencies, n=20)[-1]
    name = f"serve: save to workflow enabled, {SAVES} saves, {CONVERGED} pipelines"
    report.add(name, "start to first pass applied", started, "s")
    report.add(name, "latency p50", p50, "s")
    report.add(name, "latency p95", p95, "s", target=f"<= {TARGET_P95_SECONDS:g} s", met=p95 <= TARGET_P95_SECONDS)
    report.add(name, "latency max", max(latencies), "s")


def _save(specs_dir: Path, repository: str) -> None:
    short = repository.split("/")[1]
    temporary = specs_dir / f".{short}.yaml.tmp"
    temporary.write_text(f"name: {short}\nrepository: {repository}\nworkflow_file: {DEPLOY}\n", encoding="utf-8")
    os.replace(temporary, specs_dir / f"{short}.yaml")


def _start(github_url: str, state_dir: Path, specs_dir: Path) -> tuple[subprocess.Popen[str], float]:
    """Start ``ccm serve``; return it and the seconds until its first pass was applied."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CCM_")}
    environment.update(
        {"GITHUB_TOKEN": "bench-token", "CCM_HOME": str(state_dir), "CCM_RESYNC_INTERVAL_SECONDS": "3600"}
    )
    command = [
        CCM, "--log-format", "text", "--github", github_url, "--pipelines-dir", str(specs_dir),
        "serve", "--port", "0",
    ]
    started = time.monotonic()
    process = subprocess.Popen(
        command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    first_pass = threading.Event()

    def read(stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            if "pass applied" in line:
                first_pass.set()

    threading.Thread(target=read, args=(process.stderr,), daemon=True).start()
    if not first_pass.wait(60):
        process.kill()
        raise RuntimeError("ccm serve did not finish its first pass within 60 s")
    return process, time.monotonic() - started


def _measure(world: SandboxWorld, specs_dir: Path, repository: str) -> float:
    started = time.monotonic()
    _save(specs_dir, repository)
    while world.workflows(repository)[0].state.value != "active":
        if time.monotonic() - started > 10:
            raise RuntimeError(f"{repository} was not enabled within 10 s of its save")
        time.sleep(0.005)
    latency = time.monotonic() - started
    # Let the pass finish its registry write before the next save, as separate edits would.
    time.sleep(0.3)
    return latency
