"""Reconcile passes against the GitHub sandbox over real HTTP: every convergence rule end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ccm.github.models import RunStatus, WorkflowState
from ccm.github.sandbox import SandboxSeed, SandboxServer, SandboxWorld
from ccm.github.sandbox.world import RunFilter
from ccm.pipeline import Pipeline, PipelineStatus
from ccm.reconcile.actions import ActionKind
from ccm.reconcile.engine import Engine
from ccm.reconcile.passes import PassRefused, PassRequest, PassResult, run_pass
from ccm.runtime import open_engine
from ccm.settings import load_settings

SEED = {
    "random_seed": 3,
    "repositories": [
        {
            "full_name": "acme/web",
            "branches": ["main", "production"],
            "workflows": [{"path": ".github/workflows/deploy.yml"}],
        },
        {
            "full_name": "acme/api",
            "workflows": [{"path": ".github/workflows/deploy.yml"}],
            "runs": [
                {
                    "workflow": ".github/workflows/deploy.yml",
                    "event": "push",
                    "status": "in_progress",
                    "started_seconds_ago": 30,
                    "duration_seconds": 7200,
                },
                {
                    "workflow": ".github/workflows/deploy.yml",
                    "event": "workflow_dispatch",
                    "status": "in_progress",
                    "started_seconds_ago": 20,
                    "duration_seconds": 7200,
                },
            ],
        },
        {
            "full_name": "acme/docs",
            "workflows": [{"path": ".github/workflows/publish.yml", "state": "disabled_inactivity"}],
        },
        {"full_name": "acme/blog", "workflows": [{"path": ".github/workflows/deploy.yml"}]},
        {
            "full_name": "acme/secret",
            "accessible": False,
            "workflows": [{"path": ".github/workflows/deploy.yml"}],
        },
    ],
}


def spec(name: str, repository: str, workflow: str = ".github/workflows/deploy.yml", **extra: str) -> str:
    lines = [f"name: {name}", f"repository: {repository}", f"workflow_file: {workflow}"]
    lines += [f"{key}: {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


@dataclass
class Fleet:
    world: SandboxWorld
    engine: Engine
    specs_dir: Path

    def write(self, file: str, text: str) -> None:
        (self.specs_dir / file).write_text(text, encoding="utf-8")

    def remove(self, file: str) -> None:
        (self.specs_dir / file).unlink()

    def reconcile(self, **options: object) -> PassResult:
        return run_pass(self.engine, PassRequest(**options))  # type: ignore[arg-type]

    def pipeline(self, name: str) -> Pipeline:
        return self.engine.registry.load().current_by_name()[name]

    def workflow_state(self, repository: str, path: str = ".github/workflows/deploy.yml") -> WorkflowState:
        return next(w.state for w in self.world.workflows(repository) if w.path == path)

    def in_flight(self, repository: str) -> list[tuple[int, str]]:
        return [
            (item.run.id, item.run.event)
            for item in self.world.runs(repository, RunFilter())
            if item.view.status is not RunStatus.COMPLETED
        ]


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fleet]:
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    monkeypatch.delenv("CCM_CONFIG", raising=False)
    world = SandboxWorld.open(SandboxSeed.model_validate(SEED))
    specs_dir = tmp_path / "pipelines.d"
    specs_dir.mkdir()
    with SandboxServer(world) as server:
        settings = load_settings(
            {"state_dir": tmp_path / "state", "pipelines_dir": specs_dir, "github": server.url}
        )
        with open_engine(settings) as engine:
            yield Fleet(world, engine, specs_dir)


def kinds(result: PassResult, name: str) -> list[ActionKind]:
    return [action.kind for action in result.plan.actions if action.pipeline_name == name]


def test_provision_registers_and_enables(fleet: Fleet) -> None:
    fleet.write("web.yaml", spec("web", "acme/web"))
    fleet.write("docs.yaml", spec("docs", "acme/docs", ".github/workflows/publish.yml"))

    result = fleet.reconcile()

    assert result.exit_code == 0
    assert kinds(result, "web") == [ActionKind.REGISTER]
    assert kinds(result, "docs") == [ActionKind.REGISTER, ActionKind.ENABLE_WORKFLOW]
    assert fleet.pipeline("web").status is PipelineStatus.ACTIVE
    assert fleet.pipeline("web").pipeline_id.startswith("pipe_")
    assert fleet.workflow_state("acme/docs", ".github/workflows/publish.yml") is WorkflowState.ACTIVE
    assert fleet.reconcile(dry_run=True).plan.in_sync


def test_self_heal_after_manual_disable(fleet: Fleet) -> None:
    fleet.write("web.yaml", spec("web", "acme/web"))
    fleet.reconcile()
    fleet.world.disable_workflow("acme/web", "deploy.yml")

    planned = fleet.reconcile(dry_run=True)
    assert planned.exit_code == 2
    assert kinds(planned, "web") == [ActionKind.ENABLE_WORKFLOW]
    assert fleet.workflow_state("acme/web") is WorkflowState.DISABLED_MANUALLY

    fleet.reconcile()
    assert fleet.workflow_state("acme/web") is WorkflowState.ACTIVE


def test_disabled_spec_disables_and_cancels(fleet: Fleet) -> None:
    fleet.write("api.yaml", spec("api", "acme/api", enabled="false"))

    result = fleet.reconcile()

    assert result.exit_code == 0
    assert ActionKind.DISABLE_WORKFLOW in kinds(result, "api")
    assert kinds(result, "api").count(ActionKind.CANCEL_RUN) == 2
    assert fleet.workflow_state("acme/api") is WorkflowState.DISABLED_MANUALLY
    assert fleet.in_flight("acme/api") == []
    assert fleet.pipeline("api").status is PipelineStatus.INACTIVE
    assert fleet.pipeline("api").deleted_at is None


def test_deploy_freeze_cancels_only_push_runs(fleet: Fleet) -> None:
    fleet.write("api.yaml", spec("api", "acme/api") + "config:\n  auto_deploy: false\n")

    result = fleet.reconcile()

    cancels = [a for a in result.plan.actions if a.kind is ActionKind.CANCEL_RUN]
    assert len(cancels) == 1
    assert [event for _, event in fleet.in_flight("acme/api")] == ["workflow_dispatch"]
    assert fleet.workflow_state("acme/api") is WorkflowState.ACTIVE
    assert fleet.reconcile(dry_run=True).plan.in_sync


def test_removed_spec_tears_down_and_keeps_workflow(fleet: Fleet) -> None:
    for name in ("web", "api", "blog"):
        fleet.write(f"{name}.yaml", spec(name, f"acme/{name}"))
    fleet.reconcile()
    api_id = fleet.pipeline("api").pipeline_id

    fleet.remove("api.yaml")
    result = fleet.reconcile()

    # The workflow is disabled first, so that no new run starts while the others are cancelled.
    assert kinds(result, "api") == [
        ActionKind.DISABLE_WORKFLOW,
        ActionKind.CANCEL_RUN,
        ActionKind.CANCEL_RUN,
        ActionKind.DEACTIVATE,
    ]
    record = fleet.engine.registry.load().pipelines[api_id]
    assert record.status is PipelineStatus.INACTIVE
    assert record.deleted_at is not None
    assert [w.path for w in fleet.world.workflows("acme/api")] == [".github/workflows/deploy.yml"]
    assert fleet.workflow_state("acme/api") is WorkflowState.DISABLED_MANUALLY
    assert fleet.world.repository("acme/api").full_name == "acme/api"
    assert fleet.in_flight("acme/api") == []
    assert fleet.pipeline("web").status is PipelineStatus.ACTIVE


def test_missing_workflow_is_error(fleet: Fleet) -> None:
    fleet.write("web.yaml", spec("web", "acme/web", ".github/workflows/release.yml"))
    fleet.write("secret.yaml", spec("secret", "acme/secret"))

    result = fleet.reconcile()

    assert result.exit_code == 0
    web = fleet.pipeline("web")
    assert web.status is PipelineStatus.ERROR
    assert ".github/workflows/release.yml" in (web.status_reason or "")
    assert fleet.pipeline("secret").status is PipelineStatus.ERROR
    assert all(not a.kind.calls_github for a in result.plan.actions)
    assert fleet.reconcile(dry_run=True).plan.in_sync


def test_invalid_edit_keeps_pipeline(fleet: Fleet) -> None:
    fleet.write("web.yaml", spec("web", "acme/web"))
    fleet.write("blog.yaml", spec("blog", "acme/blog"))
    fleet.reconcile()
    before = fleet.pipeline("web")

    fleet.write("web.yaml", spec("web", "acme/web") + "enabled: maybe\n")
    result = fleet.reconcile()

    assert result.exit_code == 1
    assert [e.file for e in result.spec_errors] == ["web.yaml"]
    assert result.spec_errors[0].field == "enabled"
    assert kinds(result, "web") == []
    assert fleet.pipeline("web") == before
    assert fleet.workflow_state("acme/web") is WorkflowState.ACTIVE


def test_prune_guard_refuses_emptying(fleet: Fleet) -> None:
    for name in ("web", "api", "blog"):
        fleet.write(f"{name}.yaml", spec(name, f"acme/{name}"))
    fleet.reconcile()
    fleet.remove("api.yaml")
    fleet.remove("blog.yaml")

    refused = fleet.reconcile()

    assert refused.exit_code == 1
    assert refused.plan.refusal is not None
    assert "--allow-prune" in refused.plan.refusal
    assert fleet.pipeline("api").status is PipelineStatus.ACTIVE
    assert fleet.workflow_state("acme/api") is WorkflowState.ACTIVE

    allowed = fleet.reconcile(allow_prune=True)
    assert allowed.exit_code == 0
    assert set(fleet.engine.registry.load().current_by_name()) == {"web"}


def test_empty_directory_refused(fleet: Fleet) -> None:
    fleet.write("web.yaml", spec("web", "acme/web"))
    fleet.reconcile()
    fleet.remove("web.yaml")

    with pytest.raises(PassRefused, match="has no spec files, but 1 pipeline is active"):
        fleet.reconcile()
    assert fleet.pipeline("web").status is PipelineStatus.ACTIVE

    allowed = fleet.reconcile(allow_prune=True)
    assert allowed.exit_code == 0
    assert fleet.engine.registry.load().current_by_name() == {}
    assert fleet.workflow_state("acme/web") is WorkflowState.DISABLED_MANUALLY


def test_idle_pass_costs_no_counted_requests(fleet: Fleet) -> None:
    fleet.write("web.yaml", spec("web", "acme/web"))
    fleet.write("api.yaml", spec("api", "acme/api") + "config:\n  auto_deploy: false\n")
    fleet.reconcile()
    fleet.reconcile()

    idle = fleet.reconcile()

    assert idle.plan.actions == ()
    assert idle.requests.counted == 0
    assert idle.requests.not_modified == 3


def test_examples_idle_pass_is_free(tmp_path: Path) -> None:
    """The shipped examples converge, and a pass over the unchanged fleet costs only 304s."""
    root = Path(__file__).resolve().parent.parent
    ccm = str(Path(sys.executable).with_name("ccm"))
    environment = {key: value for key, value in os.environ.items() if key not in {"CCM_CONFIG", "GITHUB_TOKEN", "GH_TOKEN"}}
    environment["CCM_HOME"] = str(tmp_path)
    command = [
        ccm, "--github", "sandbox", "--sandbox-seed", str(root / "examples/sandbox.yaml"),
        "--pipelines-dir", str(root / "examples/pipelines.d"), "reconcile", "-o", "json",
    ]

    def reconcile(*extra: str) -> tuple[int, dict[str, Any]]:
        done = subprocess.run([*command, *extra], env=environment, capture_output=True, timeout=60)
        return done.returncode, json.loads(done.stdout)

    first_code, first = reconcile("--dry-run")
    assert first_code == 2
    assert first["github"].startswith("SANDBOX")
    assert {a["pipeline"] for a in first["actions"]} == {"api-service", "docs", "portfolio", "status-page", "topengineer.us"}
    assert reconcile()[0] == 0
    assert reconcile("--dry-run")[0] == 0

    idle_code, idle = reconcile()

    assert idle_code == 0
    assert idle["actions"] == []
    assert idle["summary"]["github_requests"] == {"counted": 0, "not_modified": 7}


def test_audit_matches_registry(fleet: Fleet) -> None:
    fleet.write("web.yaml", spec("web", "acme/web"))
    fleet.write("docs.yaml", spec("docs", "acme/docs", ".github/workflows/publish.yml"))
    fleet.reconcile()

    records = fleet.engine.audit.read()
    registered = {r.pipeline_name: r.pipeline_id for r in records if r.action == "register"}
    current = {name: p.pipeline_id for name, p in fleet.engine.registry.load().current_by_name().items()}
    assert registered == current
    assert [r.action for r in records if r.pipeline_name == "docs"] == ["enable_workflow", "register"]
    assert all(r.actor.startswith("file:") for r in records)
