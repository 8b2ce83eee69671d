"""PipelineMonitor stats for one pipeline, cold and cached, against the sandbox with 50 ms latency.

The pipeline's workflow has 300 runs in its history, so a cold read fetches the three pages of
the metrics tier. A cached read is served within the status tier's 10 s without a request.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from harness import Report
from pydantic import SecretStr

from ccm.audit import AuditLog
from ccm.github.client import GitHubClient
from ccm.github.sandbox import Fault, FaultKind, HistorySeed, RepositorySeed, SandboxSeed, SandboxServer, SandboxWorld, WorkflowSeed
from ccm.monitor.service import PipelineMonitor
from ccm.reconcile.engine import Engine
from ccm.reconcile.passes import PassRequest, run_pass
from ccm.registry import Registry
from ccm.settings import Settings

LATENCY_MS = 50
CACHED_READS = 200
DEPLOY = ".github/workflows/deploy.yml"
SEED = SandboxSeed(
    repositories=[
        RepositorySeed(
            full_name="bench/shop",
            workflows=[WorkflowSeed(path=DEPLOY)],
            history=HistorySeed(count=300, every_seconds=480),
        )
    ]
)


def run(report: Report) -> None:
    world = SandboxWorld.open(SEED)
    with tempfile.TemporaryDirectory(prefix="ccm-bench-monitor-") as scratch, SandboxServer(world) as server:
        specs_dir = Path(scratch) / "pipelines.d"
        specs_dir.mkdir()
        (specs_dir / "shop.yaml").write_text(f"name: shop\nrepository: bench/shop\nworkflow_file: {DEPLOY}\n")
        settings = Settings(state_dir=Path(scratch) / "state", pipelines_dir=specs_dir, github=server.url)
        with GitHubClient(server.url, SecretStr("bench-token"), state_dir=settings.state_dir) as client:
            engine = Engine(settings, client, Registry(settings.state_dir), AuditLog(settings.state_dir / "audit.log"), server.url)
            run_pass(engine, PassRequest())
            pipeline_id = engine.registry.load().current_by_name()["shop"].pipeline_id
            world.faults.add(Fault(kind=FaultKind.LATENCY, latency_ms=LATENCY_MS))
            monitor = PipelineMonitor(engine)
            name = f"monitor stats, 1 pipeline, {LATENCY_MS} ms latency"

            sent_before = client.counts().sent
            started = time.perf_counter()
            monitor.get_pipeline_stats(pipeline_id)
            cold = time.perf_counter() - started
            report.add(name, "cold read", cold * 1000, "ms", target="<= 5 s", met=cold <= 5)
            report.add(name, "cold read GitHub requests", client.counts().sent - sent_before, "")

            timings = []
            for _ in range(CACHED_READS):
                started = time.perf_counter()
                monitor.get_pipeline_stats(pipeline_id)
                timings.append(time.perf_counter() - started)
            cached = statistics.median(timings)
            slowest = max(timings)
            report.add(name, "cached read, median", cached * 1000, "ms", target="<= 50 ms", met=cached <= 0.05)
            report.add(name, "cached read, slowest of 200", slowest * 1000, "ms")
