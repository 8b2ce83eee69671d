"""Reconcile passes over a generated fleet, against the sandbox with 50 ms latency per request.

Each pass runs ``ccm reconcile -o json`` as a separate process, as cron would, so its wall time
includes start-up and its peak RSS is the pass's own. The sandbox runs in this process.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import Report

from ccm.github.sandbox import Fault, FaultKind, SandboxSeed, SandboxServer, SandboxWorld

LATENCY_MS = 50
CCM = str(Path(sys.executable).with_name("ccm"))


def run(report: Report) -> None:
    for pipelines_per_repository in (1, 10):
        _fleet(report, repositories=100, pipelines_per_repository=pipelines_per_repository)


def _fleet(report: Report, repositories: int, pipelines_per_repository: int) -> None:
    total = repositories * pipelines_per_repository
    seed = SandboxSeed.generated(repositories=repositories, workflows_per_repository=pipelines_per_repository)
    world = SandboxWorld.open(seed)
    world.faults.add(Fault(kind=FaultKind.LATENCY, latency_ms=LATENCY_MS))
    with tempfile.TemporaryDirectory(prefix="ccm-bench-") as scratch, SandboxServer(world) as server:
        state_dir = Path(scratch) / "state"
        specs_dir = Path(scratch) / "pipelines.d"
        specs_dir.mkdir()
        _write_specs(seed, specs_dir)
        name = f"reconcile {total} pipelines / {repositories} repos"

        cold = _pass(server.url, state_dir, specs_dir)
        report.add(
            name,
            "cold pass wall time",
            cold.seconds,
            "s",
            target="<= 10 s" if total >= 1000 else "",
            met=cold.seconds <= 10 if total >= 1000 else None,
        )
        report.add(name, "cold pass GitHub requests counted", cold.counted, "")
        report.add(name, "cold pass peak RSS", cold.peak_rss_mib, "MiB")

        idle = _pass(server.url, state_dir, specs_dir)
        report.add(
            name,
            "idle pass wall time",
            idle.seconds,
            "s",
            target="<= 1 s" if total >= 1000 else "",
            met=idle.seconds <= 1 if total >= 1000 else None,
        )
        report.add(
            name, "idle pass GitHub requests counted", idle.counted, "", target="0", met=idle.counted == 0
        )
        report.add(name, "idle pass 304 answers", idle.not_modified, "")
        report.add(name, "idle pass peak RSS", idle.peak_rss_mib, "MiB")


class _PassMeasurement:
    def __init__(self, seconds: float, counted: int, not_modified: int, peak_rss_mib: float) -> None:
        self.seconds = seconds
        self.counted = counted
        self.not_modified = not_modified
        self.peak_rss_mib = peak_rss_mib


def _pass(url: str, state_dir: Path, specs_dir: Path) -> _PassMeasurement:
    environment = {**os.environ, "GITHUB_TOKEN": "bench-token", "CCM_HOME": str(state_dir)}
    environment.pop("CCM_CONFIG", None)
    command = [CCM, "--github", url, "--pipelines-dir", str(specs_dir), "reconcile", "-o", "json"]
    started = time.monotonic()
    process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = process.communicate(timeout=300)
    seconds = time.monotonic() - started
    if process.returncode != 0:
        raise RuntimeError(f"ccm reconcile exited {process.returncode}: {stderr.decode()[-2000:]}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = json.loads(stdout)["summary"]
    requests = summary["github_requests"]
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far, in KiB on Linux; passes only grow.
    return _PassMeasurement(seconds, requests["counted"], requests["not_modified"], usage.ru_maxrss / 1024)


def _write_specs(seed: SandboxSeed, specs_dir: Path) -> None:
    for repository in seed.repositories:
        documents = []
        for workflow in repository.workflows:
            stem = Path(workflow.path).stem
            documents.append(
                f"name: {repository.full_name.split('/')[1]}-{stem}\n"
                f"repository: {repository.full_name}\n"
                f"workflow_file: {workflow.path}\n"
            )
        (specs_dir / f"{repository.full_name.split('/')[1]}.yaml").write_text("---\n".join(documents))
