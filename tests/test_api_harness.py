"""Shared set-up of the REST API tests: a sandbox, an engine, and the API on real loopback HTTP.

Each test that uses the ``api`` fixture gets a fresh state directory, ``pipelines.d`` and sandbox
world, and one token per role. This module contains no tests; the ``test_api_*`` modules import it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from ccm.api import PipelineAPI
from ccm.audit import AuditLog
from ccm.github.client import ClientOptions, GitHubClient
from ccm.github.sandbox import RepositorySeed, RunDefaults, SandboxSeed, SandboxServer, SandboxWorld, WorkflowSeed
from ccm.github.sandbox.world import RunFilter
from ccm.manager import PipelineManager
from ccm.monitor.service import PipelineMonitor
from ccm.reconcile.engine import Engine
from ccm.registry import Registry
from ccm.settings import Settings
from ccm.tokens import TokenRole, TokenStore

REPO = "owner/topengineer-api"
DEPLOY = ".github/workflows/deploy.yml"
NO_DISPATCH = ".github/workflows/nightly.yml"
HIDDEN_REPO = "owner/private-tool"

# The provision request VPS Manager sends for a new app, with every documented field.
EXAMPLE_BODY: dict[str, Any] = {
    "repo": REPO,
    "workflow_file": DEPLOY,
    "config": {
        "trigger_branches": ["production"],
        "environment": "production",
        "auto_deploy": True,
        "notifications_enabled": True,
    },
    "linked_domain": "topengineer.us",
    "linked_app": "topengineer-api",
}

SEED = SandboxSeed(
    random_seed=3,
    defaults=RunDefaults(success_rate=1.0, duration_seconds=(600.0, 600.0), queued_seconds=1.0),
    repositories=[
        RepositorySeed(
            full_name=REPO,
            branches=["main", "production"],
            workflows=[
                WorkflowSeed(path=DEPLOY, name="Deploy", state="disabled_manually"),
                WorkflowSeed(path=NO_DISPATCH, name="Nightly", dispatch=False),
            ],
        ),
        RepositorySeed(
            full_name="owner/blog",
            workflows=[WorkflowSeed(path=DEPLOY, name="Deploy")],
        ),
        RepositorySeed(full_name=HIDDEN_REPO, accessible=False, workflows=[WorkflowSeed(path=DEPLOY)]),
    ],
)


@dataclass
class ApiHarness:
    url: str
    tokens: dict[TokenRole, str]
    token_store: TokenStore
    state_dir: Path
    specs_dir: Path
    world: SandboxWorld
    manager: PipelineManager
    engine: Engine

    def call(
        self, method: str, path: str, role: TokenRole | None = TokenRole.ADMIN, **options: Any
    ) -> httpx.Response:
        headers = dict(options.pop("headers", {}))
        if role is not None:
            headers["CCM-Token"] = self.tokens[role]
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **options)

    def provision(self, **changes: Any) -> dict[str, Any]:
        response = self.call("POST", "/api/pipelines/provision", json={**EXAMPLE_BODY, **changes})
        assert response.status_code == 201, response.text
        return response.json()

    def fingerprint(self) -> tuple[Any, ...]:
        """Return everything a rejected request must leave unchanged: registry, specs, GitHub."""
        registry = self.state_dir / "pipelines.json"
        specs = sorted((path.name, path.read_bytes()) for path in self.specs_dir.iterdir())
        workflows = [(w.repository, w.path, w.state) for repo in (REPO, "owner/blog") for w in self.world.workflows(repo)]
        runs = len(self.world.runs(REPO, RunFilter()))
        return (registry.read_bytes() if registry.exists() else None, specs, workflows, runs)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiHarness]:
    state_dir = tmp_path / "state"
    specs_dir = tmp_path / "pipelines.d"
    state_dir.mkdir()
    specs_dir.mkdir()
    world = SandboxWorld.open(SEED)
    with SandboxServer(world) as sandbox:
        settings = Settings(state_dir=state_dir, pipelines_dir=specs_dir, github=sandbox.url)
        client = GitHubClient(
            sandbox.url,
            SecretStr("sandbox-token"),
            state_dir=state_dir,
            options=ClientOptions(max_attempts=1),
        )
        engine = Engine(
            settings=settings,
            client=client,
            registry=Registry(state_dir),
            audit=AuditLog(state_dir / "audit.log"),
            github_label=f"SANDBOX at {sandbox.url}",
        )
        store = TokenStore(state_dir)
        tokens = {role: store.create(f"{role.value}-token", role) for role in TokenRole}
        manager = PipelineManager(engine)
        server = PipelineAPI(manager, PipelineMonitor(engine), store, port=0)
        with server, client:
            yield ApiHarness(
                url=server.url,
                tokens=tokens,
                token_store=store,
                state_dir=state_dir,
                specs_dir=specs_dir,
                world=world,
                manager=manager,
                engine=engine,
            )
