"""``POST /api/pipelines/<id>/trigger``: the sandbox's run id, and GitHub's refusals as 4xx."""

from __future__ import annotations

import pytest

from ccm.audit import AuditLog
from ccm.github.sandbox.world import RunFilter
from ccm.tokens import TokenRole
from test_api_harness import NO_DISPATCH, REPO, ApiHarness, api  # noqa: F401


def test_trigger_returns_sandbox_run(api: ApiHarness) -> None:
    pipeline_id = api.provision()["pipeline_id"]

    response = api.call("POST", f"/api/pipelines/{pipeline_id}/trigger", role=TokenRole.API)

    assert response.status_code == 202
    body = response.json()
    [run] = api.world.runs(REPO, RunFilter(event="workflow_dispatch"))
    assert body["run_id"] == run.run.id
    assert body["branch"] == "production"
    assert run.run.branch == "production"
    assert body["triggered_at"].endswith("Z")
    [entry] = [e for e in AuditLog(api.state_dir / "audit.log").read() if e.action == "trigger"]
    assert (entry.actor, entry.result, entry.after) == ("api-token", "ok", f"run {run.run.id}")


def test_trigger_named_branch(api: ApiHarness) -> None:
    pipeline_id = api.provision()["pipeline_id"]
    body = {"branch": "main", "workflow_name": "deploy.yml"}

    response = api.call("POST", f"/api/pipelines/{pipeline_id}/trigger", json=body)

    assert response.status_code == 202
    assert response.json()["branch"] == "main"
    [run] = api.world.runs(REPO, RunFilter(event="workflow_dispatch"))
    assert run.run.branch == "main"


@pytest.mark.parametrize(
    ("setup", "body", "status", "code", "github_words"),
    [
        ("none", {"branch": "gh-pages"}, 422, "ref_not_found", "No ref found for: gh-pages"),
        ("no_dispatch", {}, 422, "workflow_not_dispatchable", "does not have 'workflow_dispatch' trigger"),
        ("disabled", {}, 409, "workflow_disabled", "disabled workflow"),
    ],
    ids=["unknown-branch", "no-dispatch-trigger", "disabled-workflow"],
)
def test_trigger_github_refusal(
    api: ApiHarness, setup: str, body: dict[str, str], status: int, code: str, github_words: str
) -> None:
    changes = {"workflow_file": NO_DISPATCH, "name": "nightly"} if setup == "no_dispatch" else {}
    pipeline_id = api.provision(**changes)["pipeline_id"]
    if setup == "disabled":
        api.world.disable_workflow(REPO, "deploy.yml")
    before = api.fingerprint()

    response = api.call("POST", f"/api/pipelines/{pipeline_id}/trigger", json=body)

    assert response.status_code == status
    assert response.json()["error"] == code
    assert github_words in response.json()["github_message"]
    assert github_words in response.json()["detail"]
    assert api.fingerprint() == before


def test_trigger_other_workflow_rejected(api: ApiHarness) -> None:
    pipeline_id = api.provision()["pipeline_id"]
    before = api.fingerprint()

    response = api.call("POST", f"/api/pipelines/{pipeline_id}/trigger", json={"workflow_name": "ci.yml"})

    assert response.status_code == 400
    assert response.json()["detail"] == (
        f"workflow_name 'ci.yml' is not the workflow of the pipeline {pipeline_id}, which is "
        ".github/workflows/deploy.yml. Leave workflow_name out or pass that file."
    )
    assert api.fingerprint() == before


def test_trigger_torn_down_conflict(api: ApiHarness) -> None:
    pipeline_id = api.provision()["pipeline_id"]
    api.call("DELETE", f"/api/pipelines/{pipeline_id}")
    before = api.fingerprint()

    response = api.call("POST", f"/api/pipelines/{pipeline_id}/trigger")

    assert response.status_code == 409
    assert response.json()["error"] == "pipeline_torn_down"
    assert api.fingerprint() == before


@pytest.mark.parametrize(
    "branch",
    ["x\n2026-12-04 21:09:00,000 INFO forged line", "a\u0000b", "../../etc", "release..1", "-rf"],
    ids=["newline", "nul", "dot-dot-path", "double-dot", "leading-dash"],
)
def test_trigger_invalid_branch_rejected(api: ApiHarness, branch: str) -> None:
    pipeline_id = api.provision()["pipeline_id"]
    before = api.fingerprint()

    response = api.call("POST", f"/api/pipelines/{pipeline_id}/trigger", json={"branch": branch})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "is not a valid Git branch name" in response.json()["detail"]
    assert api.fingerprint() == before
