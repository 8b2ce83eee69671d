"""REST API pipeline lifecycle against the sandbox: provision, list, read, stats, runs, teardown."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

from ccm.audit import AuditLog
from ccm.github.models import WorkflowState
from ccm.reconcile.passes import PassRequest, run_pass
from ccm.spec.writer import API_MARKER
from ccm.tokens import TokenRole
from test_api_harness import DEPLOY, EXAMPLE_BODY, HIDDEN_REPO, REPO, ApiHarness, api  # noqa: F401


def test_provision_example(api: ApiHarness) -> None:
    response = api.call("POST", "/api/pipelines/provision", role=TokenRole.API, json=EXAMPLE_BODY)

    assert response.status_code == 201
    body = response.json()
    assert set(body) >= {"pipeline_id", "status", "created_at", "repository"}
    assert body["repository"] == REPO
    assert body["status"] == "active"
    assert body["name"] == "topengineer-api"
    assert body["pipeline_id"].startswith("pipe_")
    assert response.headers["location"] == f"/api/pipelines/{body['pipeline_id']}"


def test_provision_converges(api: ApiHarness) -> None:
    created = api.provision()

    spec_file = api.specs_dir / "topengineer-api.yaml"
    assert spec_file.read_text().startswith(API_MARKER)
    workflow = next(w for w in api.world.workflows(REPO) if w.path == DEPLOY)
    assert workflow.state is WorkflowState.ACTIVE
    record = api.call("GET", f"/api/pipelines/{created['pipeline_id']}").json()
    assert record["vps_integration"] == {
        "requested_by": "admin-token",
        "linked_domain": "topengineer.us",
        "linked_app": "topengineer-api",
    }
    assert record["config"]["trigger_branches"] == ["production"]
    actors = {(entry.action, entry.actor) for entry in AuditLog(api.state_dir / "audit.log").read()}
    assert ("register", "admin-token") in actors


def test_provision_duplicate_conflict(api: ApiHarness) -> None:
    created = api.provision()
    before = api.fingerprint()

    response = api.call("POST", "/api/pipelines/provision", json=EXAMPLE_BODY)

    assert response.status_code == 409
    assert response.json()["error"] == "pipeline_exists"
    assert response.json()["pipeline_id"] == created["pipeline_id"]
    assert api.fingerprint() == before


def test_provision_name_taken(api: ApiHarness) -> None:
    api.provision()
    before = api.fingerprint()
    body = {**EXAMPLE_BODY, "repo": "owner/blog"}

    response = api.call("POST", "/api/pipelines/provision", json=body)

    # The same linked_app for another repository must not hand out the first app's pipeline.
    assert response.status_code == 409
    assert response.json()["error"] == "name_taken"
    assert response.json().get("pipeline_id") is None
    assert "pass another name or linked_app" in response.json()["detail"]
    assert api.fingerprint() == before


def test_provision_concurrent_once(api: ApiHarness) -> None:
    start = threading.Barrier(20)

    def provision(_: int) -> tuple[int, str | None]:
        start.wait()
        response = api.call("POST", "/api/pipelines/provision", role=TokenRole.API, json=EXAMPLE_BODY)
        return response.status_code, response.json().get("pipeline_id")

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(provision, range(20)))

    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * 19
    assert len({pipeline_id for _, pipeline_id in results}) == 1
    registry = json.loads((api.state_dir / "pipelines.json").read_text())
    assert len(registry["pipelines"]) == 1
    assert [path.name for path in api.specs_dir.iterdir()] == ["topengineer-api.yaml"]


def test_provision_hidden_repository(api: ApiHarness) -> None:
    before = api.fingerprint()
    response = api.call("POST", "/api/pipelines/provision", json={**EXAMPLE_BODY, "repo": HIDDEN_REPO})

    assert response.status_code == 422
    assert response.json()["error"] == "repository_rejected"
    assert response.json()["detail"].startswith(f"The GitHub token cannot reach the repository {HIDDEN_REPO}")
    assert api.fingerprint() == before


def test_provision_missing_workflow(api: ApiHarness) -> None:
    before = api.fingerprint()
    body = {**EXAMPLE_BODY, "workflow_file": ".github/workflows/release.yml"}
    response = api.call("POST", "/api/pipelines/provision", json=body)

    assert response.status_code == 422
    assert response.json()["detail"] == (
        f"The workflow file .github/workflows/release.yml does not exist in {REPO}. "
        "Commit it to the default branch first."
    )
    assert api.fingerprint() == before


def test_list_filters(api: ApiHarness) -> None:
    first = api.provision()
    second = api.provision(repo="owner/blog", linked_domain="Blog.Example", linked_app="blog")

    def ids(query: str) -> list[str]:
        response = api.call("GET", f"/api/pipelines{query}", role=TokenRole.VIEWER)
        assert response.status_code == 200, response.text
        return [record["pipeline_id"] for record in response.json()]

    assert sorted(ids("")) == sorted([first["pipeline_id"], second["pipeline_id"]])
    assert ids("?domain=blog.example") == [second["pipeline_id"]]
    assert ids("?app=topengineer-api") == [first["pipeline_id"]]
    assert ids("?status=active&app=blog") == [second["pipeline_id"]]
    assert ids("?status=error") == []


def test_list_records_shape(api: ApiHarness) -> None:
    created = api.provision()
    [record] = api.call("GET", "/api/pipelines").json()
    assert record == api.call("GET", f"/api/pipelines/{created['pipeline_id']}").json()
    assert set(record) >= {
        "pipeline_id", "repository", "workflow_file", "status", "created_at", "last_updated",
        "config", "metrics", "vps_integration",
    }


def test_teardown_preserves_repository(api: ApiHarness) -> None:
    created = api.provision()
    pipeline_id = created["pipeline_id"]

    response = api.call("DELETE", f"/api/pipelines/{pipeline_id}?preserve_repo=true", role=TokenRole.API)

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["status"] == "inactive"
    assert body["deleted_at"]
    workflows = {w.path: w.state for w in api.world.workflows(REPO)}
    assert workflows[DEPLOY] is WorkflowState.DISABLED_MANUALLY
    assert len(workflows) == 2
    assert not (api.specs_dir / "topengineer-api.yaml").exists()
    record = api.call("GET", f"/api/pipelines/{pipeline_id}").json()
    assert record["status"] == "inactive"
    assert record["deleted_at"] == body["deleted_at"]
    assert api.call("GET", "/api/pipelines").json() == []
    listed = api.call("GET", "/api/pipelines?include_deleted=true").json()
    assert [item["pipeline_id"] for item in listed] == [pipeline_id]


def test_teardown_twice_same_answer(api: ApiHarness) -> None:
    pipeline_id = api.provision()["pipeline_id"]
    first = api.call("DELETE", f"/api/pipelines/{pipeline_id}")
    second = api.call("DELETE", f"/api/pipelines/{pipeline_id}")
    assert second.status_code == 200
    assert second.json() == first.json()


def test_teardown_without_preserve_rejected(api: ApiHarness) -> None:
    pipeline_id = api.provision()["pipeline_id"]
    before = api.fingerprint()

    response = api.call("DELETE", f"/api/pipelines/{pipeline_id}?preserve_repo=false")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("preserve_repo=false is not supported")
    assert api.fingerprint() == before


def test_teardown_operator_spec_conflict(api: ApiHarness) -> None:
    (api.specs_dir / "blog.yaml").write_text(
        f"name: blog\nrepository: owner/blog\nworkflow_file: {DEPLOY}\n", encoding="utf-8"
    )
    run_pass(api.engine, PassRequest())
    [record] = api.call("GET", "/api/pipelines").json()
    before = api.fingerprint()

    response = api.call("DELETE", f"/api/pipelines/{record['pipeline_id']}")

    assert response.status_code == 409
    assert response.json()["error"] == "spec_not_removable"
    assert str(api.specs_dir / "blog.yaml") in response.json()["detail"]
    assert api.fingerprint() == before


def test_stats_shape(api: ApiHarness) -> None:
    pipeline_id = api.provision()["pipeline_id"]
    response = api.call("GET", f"/api/pipelines/{pipeline_id}/stats", role=TokenRole.VIEWER)

    assert response.status_code == 200
    stats = response.json()
    assert stats["pipeline_id"] == pipeline_id
    assert stats["status"] == "active"
    assert set(stats["metrics_24h"]) >= {"run_count", "success_count", "success_rate", "avg_duration_seconds"}
    assert 0 <= stats["health_score"] <= 100
    assert {"last_run", "active_runs", "queue_length"} <= set(stats)


def test_runs_after_trigger(api: ApiHarness) -> None:
    pipeline_id = api.provision()["pipeline_id"]
    triggered = api.call("POST", f"/api/pipelines/{pipeline_id}/trigger").json()

    response = api.call("GET", f"/api/pipelines/{pipeline_id}/runs?limit=5&branch=production")

    assert response.status_code == 200
    runs = response.json()
    assert [run["id"] for run in runs] == [triggered["run_id"]]
    assert runs[0]["event"] == "workflow_dispatch"
    assert runs[0]["branch"] == "production"


def test_drift_lists_plan(api: ApiHarness) -> None:
    api.provision()
    api.world.disable_workflow(REPO, "deploy.yml")

    response = api.call("GET", "/api/drift", role=TokenRole.VIEWER)

    assert response.status_code == 200
    drift = response.json()
    assert drift["dry_run"] is True
    assert drift["in_sync"] is False
    assert [action["action"] for action in drift["actions"]] == ["enable_workflow"]
    workflow = next(w for w in api.world.workflows(REPO) if w.path == DEPLOY)
    assert workflow.state is WorkflowState.DISABLED_MANUALLY


def test_reprovision_after_teardown(api: ApiHarness) -> None:
    first = api.provision()["pipeline_id"]
    api.call("DELETE", f"/api/pipelines/{first}")

    second = api.provision()["pipeline_id"]

    assert second != first
    assert api.call("GET", f"/api/pipelines/{second}").json()["status"] == "active"
    assert api.call("GET", f"/api/pipelines/{first}").json()["status"] == "inactive"


def test_metrics_prometheus_text(api: ApiHarness) -> None:
    pipeline_id = api.provision()["pipeline_id"]

    response = api.call("GET", "/metrics", role=TokenRole.VIEWER)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    lines = response.text.splitlines()
    labels = f'pipeline_id="{pipeline_id}",name="topengineer-api",repository="owner/topengineer-api",domain="topengineer.us"'
    assert f"ccm_pipeline_up{{{labels}}} 1" in lines
    assert any(line.startswith(f"ccm_pipeline_health_score{{{labels}}} ") for line in lines)
    assert f"ccm_pipeline_runs_in_progress{{{labels}}} 0" in lines
    assert "ccm_reconcile_passes_total 1" in lines
    assert "ccm_reconcile_pass_errors_total 0" in lines
    assert 'ccm_reconcile_actions_total{outcome="failed"} 0' in lines
    assert any(line.startswith('ccm_github_requests_total{kind="counted"} ') for line in lines)
    assert any(line.startswith("ccm_github_rate_limit_remaining ") for line in lines)
    assert "# TYPE ccm_reconcile_passes_total counter" in lines
