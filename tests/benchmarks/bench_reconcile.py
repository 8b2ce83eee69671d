"""Reconcile passes over a generated fleet, against the sandbox with 50 ms latency per request.

Each pass runs ``ccm reconcile -o json`` as a separate process, as cron would, so its wall time
includes start-up and its peak RSS is the pass's own. The sandbox runs in this process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
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
    with tempfile.TemporaryFile() as stderr:
        started = time.monotonic()
        process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=stderr)
        peak = _PeakWatcher(process.pid)
        stdout, _ = process.communicate(timeout=300)
        seconds = time.monotonic() - started
        peak_mib = peak.stop()
        if process.returncode != 0:
            stderr.seek(0)
            raise RuntimeError(f"ccm reconcile exited {process.returncode}: {stderr.read().decode()[-2000:]}")
    requests = json.loads(stdout)["summary"]["github_requests"]
    return _PassMeasurement(seconds, requests["counted"], requests["not_modified"], peak_mib)


class _PeakWatcher:
    """Samples a process's VmHWM (its peak RSS since exec) every 5 ms until it exits.

    getrusage and wait4 cannot be used: Linux carries a parent's peak RSS over fork and exec,
    so every child of this large benchmark process would report at least the parent's size.
    NOTE: growth in the last 5 ms before exit is missed, which a pass that ends by writing JSON
    does not have.
    """

    def __init__(self, pid: int) -> None:
        self._path = Path(f"/proc/{pid}/status")
        self._peak_kib = 0
        self._running = True
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while self._running:
            try:
                for line in self._path.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self._peak_kib = max(self._peak_kib, int(line.split()[1]))
            except (OSError, ValueError):
                return
            time.sleep(0.005)

    def stop(self) -> float:
        self._running = False
        self._thread.join()
        return self._peak_kib / 1024


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
