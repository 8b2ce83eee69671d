"""Secrets: no GitHub token or API token leaks into logs, the audit log, responses or state files.

A full scenario runs with distinctive token values: provisions, a trigger, faults, a pass with
an invalid GitHub token, a request with an unknown API token, and a teardown. It runs in this
process (logs captured at DEBUG) and as ``ccm -vv reconcile`` subprocesses (output captured).
Then every captured text, every response, and every file of the state directory is searched
for the token values. The token file must be mode 0600 and hold digests only.
"""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from ccm.api import PipelineAPI
from ccm.audit import AuditLog
from ccm.github.client import GitHubClient
from ccm.github.options import ClientOptions
from ccm.github.sandbox import Fault, FaultKind, RouteKind, SandboxSeed, SandboxServer, SandboxWorld
from ccm.manager import PipelineManager
from ccm.monitor.service import PipelineMonitor
from ccm.reconcile.engine import Engine
from ccm.reconcile.passes import PassRequest, run_pass
from ccm.registry import Registry
from ccm.settings import Settings
from ccm.tokens import TokenRole, TokenStore, digest

from test_api_auth import ROUTES, UNKNOWN_ID
from test_api_harness import ApiHarness, api  # noqa: F401  (api is a fixture)

CCM = str(Path(sys.executable).with_name("ccm"))
GITHUB_TOKEN = "ghp_RELIABILITYgithubSECRET7f3a9c21d84e"
WRONG_GITHUB_TOKEN = "ghp_WRONGtokenNEVERaccepted5b6c7d8e9f0a"
UNKNOWN_API_TOKEN = "ccm_UNKNOWNapiTOKENthatNOBODYissued0123456789"
DEPLOY = ".github/workflows/deploy.yml"


def search(haystack: str, secrets: dict[str, str]) -> list[str]:
    return [label for label, value in secrets.items() if value in haystack]


def test_tokens_never_leak(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    state_dir, specs_dir = tmp_path / "state", tmp_path / "pipelines.d"
    specs_dir.mkdir()
    seed = SandboxSeed.model_validate(
        {
            "tokens": [GITHUB_TOKEN],
            "repositories": [
                {"full_name": f"acme/{name}", "workflows": [{"path": DEPLOY}]} for name in ("web", "api", "docs")
            ],
        }
    )
    world = SandboxWorld.open(seed)
    captured: list[str] = []

    with SandboxServer(world) as sandbox:
        settings = Settings(state_dir=state_dir, pipelines_dir=specs_dir, github=sandbox.url)
        client = GitHubClient(
            sandbox.url, SecretStr(GITHUB_TOKEN), state_dir=state_dir, options=ClientOptions(max_attempts=2, backoff_initial_seconds=0)
        )
        engine = Engine(settings, client, Registry(state_dir), AuditLog(state_dir / "audit.log"), "SANDBOX")
        captured.append(repr(client))
        tokens = TokenStore(state_dir)
        issued = {role.value: tokens.create(f"{role.value}-caller", role) for role in TokenRole}
        secrets = {"github": GITHUB_TOKEN, "wrong github": WRONG_GITHUB_TOKEN, "unknown api": UNKNOWN_API_TOKEN}
        secrets.update({f"api {role}": token for role, token in issued.items()})

        with client, PipelineAPI(PipelineManager(engine), PipelineMonitor(engine), tokens, port=0) as server:
            http = httpx.Client(base_url=server.url, headers={"CCM-Token": issued["api"]}, timeout=30)
            responses: list[httpx.Response] = []
            for name in ("web", "api"):
                responses.append(http.post("/api/pipelines/provision", json={"repo": f"acme/{name}", "workflow_file": DEPLOY}))
            web_id = responses[0].json()["pipeline_id"]
            responses.append(http.post(f"/api/pipelines/{web_id}/trigger", json={}))
            responses.append(http.get(f"/api/pipelines/{web_id}/stats"))
            responses.append(http.get("/api/pipelines", headers={"CCM-Token": UNKNOWN_API_TOKEN}))
            responses.append(http.delete(f"/api/pipelines/{web_id}", headers={"CCM-Token": issued["viewer"]}))

            # Faults: GitHub fails while provisioning and triggering, and a pass fails as a whole.
            world.faults.add(world_fault(RouteKind.LIST_WORKFLOWS))
            responses.append(http.post("/api/pipelines/provision", json={"repo": "acme/docs", "workflow_file": DEPLOY}))
            world.faults.clear()
            world.faults.add(world_fault(RouteKind.DISPATCH))
            responses.append(http.post(f"/api/pipelines/{web_id}/trigger", json={}))
            world.faults.clear()
            run_pass(engine, PassRequest())
            responses.append(http.delete(f"/api/pipelines/{web_id}"))
            responses.append(http.get("/api/drift", headers={"CCM-Token": issued["admin"]}))
            http.close()

        statuses = [response.status_code for response in responses]
        assert statuses == [201, 201, 202, 200, 401, 403, 503, 502, 200, 200], [r.text for r in responses]
        for response in responses:
            captured.append(response.text)
            captured.append(str(response.headers))

        accepted = run_ccm(sandbox.url, state_dir, specs_dir, GITHUB_TOKEN)
        rejected = run_ccm(sandbox.url, state_dir, specs_dir, WRONG_GITHUB_TOKEN)
        captured += [accepted.stdout, accepted.stderr, rejected.stdout, rejected.stderr]

    captured.append(caplog.text)
    captured.extend(record.getMessage() for record in caplog.records)
    for path in sorted(state_dir.rglob("*")):
        if path.is_file():
            captured.append(path.read_bytes().decode("utf-8", errors="replace"))

    leaks = {label for text in captured for label in search(text, secrets)}
    assert leaks == set(), f"token values found in captured output: {sorted(leaks)}"
    assert accepted.returncode == 0, accepted.stderr
    assert rejected.returncode == 1
    assert "401 Unauthorized: Bad credentials" in rejected.stdout + rejected.stderr

    token_file = state_dir / "tokens.json"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    content = token_file.read_text(encoding="utf-8")
    for token in issued.values():
        assert digest(token) in content


def world_fault(route: RouteKind) -> Fault:
    return Fault(kind=FaultKind.STATUS, status=502, route=route)


def run_ccm(url: str, state_dir: Path, specs_dir: Path, token: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "GITHUB_TOKEN": token, "CCM_HOME": str(state_dir)}
    for variable in ("CCM_CONFIG", "CCM_GITHUB", "CCM_PIPELINES_DIR", "GH_TOKEN"):
        environment.pop(variable, None)
    done = subprocess.run(
        [CCM, "-vv", "--github", url, "--pipelines-dir", str(specs_dir), "reconcile", "-o", "json"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done


# Every caller that the API must reject, on every route that must reject it: no token and an
# unknown token everywhere, and the viewer role on the routes that change things.
REFUSALS = [
    (caller, route)
    for caller in ("none", "unknown", "viewer")
    for route in ROUTES
    if caller != "viewer" or route[3]
]


@pytest.mark.parametrize(
    ("caller", "route"),
    REFUSALS,
    ids=[f"{caller}-{route[0]} {route[1].replace(UNKNOWN_ID, '{id}')}" for caller, route in REFUSALS],
)
def test_refused_caller_changes_nothing(api: ApiHarness, caller: str, route: tuple[str, str, object, bool, int]) -> None:
    """The role table of the API tests, on a pipeline that exists, with state compared."""
    method, path, body, _, _ = route
    pipeline_id = api.provision()["pipeline_id"]
    headers = {}
    if caller == "unknown":
        headers["CCM-Token"] = UNKNOWN_API_TOKEN
    elif caller == "viewer":
        headers["CCM-Token"] = api.tokens[TokenRole.VIEWER]
    before = api.fingerprint()
    audit_before = (api.state_dir / "audit.log").read_bytes()

    response = api.call(method, path.replace(UNKNOWN_ID, pipeline_id), role=None, headers=headers, json=body)

    assert response.status_code == (403 if caller == "viewer" else 401), response.text
    assert api.fingerprint() == before
    assert (api.state_dir / "audit.log").read_bytes() == audit_before
    assert UNKNOWN_API_TOKEN not in response.text
