"""Alerts from a running ``ccm serve``: one per failing streak and status change, restarts included.

The sandbox starts a run of ``acme/flaky`` every simulated minute (one wall second at
``time_scale: 60``) and every run fails, so the pipeline fails over and over. The receiver must
still get exactly one ``failed`` alert, also after ``ccm serve`` restarts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccm.github.sandbox import RepositorySeed, RunDefaults, SandboxSeed, SandboxServer, SandboxWorld, WorkflowSeed
from test_notify_webhook import Receiver
from test_serve_harness import spec_text, start_serve, wait_until

DEPLOY = ".github/workflows/deploy.yml"
FAILING = WorkflowSeed(path=DEPLOY, success_rate=0.0, schedule_every_seconds=60, duration_seconds=(5.0, 5.0))
SEED = SandboxSeed(
    time_scale=60.0,
    defaults=RunDefaults(queued_seconds=0.0),
    repositories=[
        RepositorySeed(full_name="acme/flaky", workflows=[FAILING]),
        RepositorySeed(full_name="acme/muted", workflows=[FAILING]),
        RepositorySeed(full_name="acme/moved", workflows=[WorkflowSeed(path=".github/workflows/other.yml")]),
    ],
)
MUTED = spec_text("muted", "acme/muted") + "config:\n  notifications_enabled: false\n"


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    with SandboxServer(SandboxWorld.open(SEED)) as server:
        yield server.url


def ledger_run_id(state_dir: Path, pipeline_name: str) -> int | None:
    registry = json.loads((state_dir / "pipelines.json").read_text())
    pipeline_id = next(p["pipeline_id"] for p in registry["pipelines"].values() if p["name"] == pipeline_name)
    ledger = json.loads((state_dir / "alerts.json").read_text())
    return ledger["pipelines"].get(pipeline_id, {}).get("run_id")


def test_serve_alerts_once_per_failed_run(tmp_path: Path, sandbox_url: str) -> None:
    specs_dir = tmp_path / "pipelines.d"
    specs_dir.mkdir()
    (specs_dir / "flaky.yaml").write_text(spec_text("flaky", "acme/flaky"), encoding="utf-8")
    (specs_dir / "muted.yaml").write_text(MUTED, encoding="utf-8")
    (specs_dir / "moved.yaml").write_text(spec_text("moved", "acme/moved"), encoding="utf-8")

    with Receiver() as receiver:
        variables = {"CCM_WEBHOOK_URLS": receiver.url}
        serve = start_serve(tmp_path, sandbox_url, resync_seconds=0.3, variables=variables)
        try:
            bodies = receiver.wait_for(2, 10.0)
            first_failure = next(body for body in bodies if body["event"] == "failed")
            alerted_run = first_failure["run"]["id"]  # type: ignore[index]
            # Runs that failed after the first alerted one have been read; each alerts once.
            wait_until(
                lambda: (ledger_run_id(serve.state_dir, "flaky") or 0) >= alerted_run + 2,
                10.0,
                "no newer failed runs of acme/flaky were read",
            )
            mark = serve.log.mark()
            serve.log.wait_for("pass applied", 5.0, start=mark, times=2)
        finally:
            assert serve.stop() == 0, serve.log.text()

        restarted = start_serve(tmp_path, sandbox_url, resync_seconds=0.3, variables=variables)
        try:
            restarted.log.wait_for("pass applied", 5.0, times=4)
        finally:
            assert restarted.stop() == 0, restarted.log.text()

    events = {(body["event"], body["pipeline"]["name"]) for body in receiver.bodies}  # type: ignore[index]
    assert events == {("error", "moved"), ("failed", "flaky")}
    failed_runs = [body["run"]["id"] for body in receiver.bodies if body["event"] == "failed"]  # type: ignore[index]
    # One alert per failed run, never two for the same run, also across the restart.
    assert len(failed_runs) == len(set(failed_runs))
    assert len(failed_runs) >= 3
    assert [body["event"] for body in receiver.bodies].count("error") == 1
    error = next(body for body in receiver.bodies if body["event"] == "error")
    assert "Workflow file .github/workflows/deploy.yml is not in repository acme/moved" in str(error["text"])
    assert "muted" not in json.dumps(receiver.bodies)
