"""The sandbox's requests and responses follow GitHub's OpenAPI description, errors included."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ccm.github.models import RunConclusion
from ccm.github.sandbox import Fault, FaultKind, ManualClock, SandboxSeed, SandboxServer, SandboxWorld
from ccm.github.sandbox.world import RunFilter
from github_openapi import extract
from github_openapi.validate import assert_conforms, find_operation

REPOSITORY = "/repos/acme/app"
WORKFLOWS = f"{REPOSITORY}/actions/workflows"
RUNS = f"{REPOSITORY}/actions/runs"
# Placeholders in paths, filled with the ids of the seeded in-progress and failed runs.
RUNNING = "{running}"
FINISHED = "{finished}"

SEED = SandboxSeed.model_validate(
    {
        "repositories": [
            {
                "full_name": "acme/app",
                "branches": ["main", "production"],
                "workflows": [
                    {"path": ".github/workflows/deploy.yml", "name": "Deploy"},
                    {"path": ".github/workflows/ci.yml", "dispatch": False},
                    {"path": ".github/workflows/off.yml", "state": "disabled_manually"},
                    {"path": ".github/workflows/gone.yml", "state": "deleted"},
                    {"path": ".github/workflows/fork.yml", "state": "disabled_fork"},
                ],
                "runs": [
                    {
                        "workflow": ".github/workflows/deploy.yml",
                        "conclusion": "failure",
                        "started_seconds_ago": 900,
                        "duration_seconds": 300,
                    },
                    {
                        "workflow": ".github/workflows/deploy.yml",
                        "status": "in_progress",
                        "started_seconds_ago": 60,
                        "duration_seconds": 600,
                    },
                ],
                "history": {"count": 3, "every_seconds": 3600},
            },
            {"full_name": "acme/hidden", "accessible": False},
        ]
    }
)


@pytest.fixture
def world() -> SandboxWorld:
    return SandboxWorld.open(SEED, clock=ManualClock())


@pytest.fixture
def server(world: SandboxWorld) -> Iterator[SandboxServer]:
    with SandboxServer(world) as server:
        yield server


@pytest.fixture
def github(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer t"}, timeout=5) as client:
        yield client


def run_ids(world: SandboxWorld) -> dict[str, int]:
    runs = world.runs("acme/app", RunFilter(event="push", branch="main"))
    return {
        "running": next(item.run.id for item in runs if item.view.status.value == "in_progress"),
        "finished": next(item.run.id for item in runs if item.view.conclusion is RunConclusion.FAILURE),
    }


def send(github: httpx.Client, method: str, path: str, **options: Any) -> httpx.Response:
    request = github.build_request(method, path, **options)
    response = github.send(request)
    assert_conforms(request, response)
    return response


ENDPOINT_CASES = [
    pytest.param("GET", "/rate_limit", {}, 200, id="rate-limit"),
    pytest.param("GET", REPOSITORY, {}, 200, id="repository"),
    pytest.param("GET", "/repos/acme/hidden", {}, 404, id="repository-inaccessible"),
    pytest.param("GET", REPOSITORY, {"headers": {"Authorization": ""}}, 401, id="repository-no-token"),
    pytest.param("GET", WORKFLOWS, {"params": {"per_page": 2, "page": 2}}, 200, id="workflows-page"),
    pytest.param("GET", "/repos/acme/missing/actions/workflows", {}, 404, id="workflows-unknown-repository"),
    pytest.param("GET", f"{WORKFLOWS}/deploy.yml", {}, 200, id="workflow-by-file"),
    pytest.param("GET", f"{WORKFLOWS}/1000001", {}, 200, id="workflow-by-id"),
    pytest.param("GET", f"{WORKFLOWS}/gone.yml", {}, 200, id="workflow-deleted"),
    pytest.param("GET", f"{WORKFLOWS}/nope.yml", {}, 404, id="workflow-unknown"),
    pytest.param("PUT", f"{WORKFLOWS}/off.yml/enable", {}, 204, id="enable"),
    pytest.param("PUT", f"{WORKFLOWS}/gone.yml/enable", {}, 404, id="enable-deleted"),
    pytest.param("PUT", f"{WORKFLOWS}/fork.yml/enable", {}, 422, id="enable-fork"),
    pytest.param("PUT", f"{WORKFLOWS}/deploy.yml/disable", {}, 204, id="disable"),
    pytest.param("POST", f"{WORKFLOWS}/deploy.yml/dispatches", {"json": {"ref": "main"}}, 204, id="dispatch"),
    pytest.param(
        "POST",
        f"{WORKFLOWS}/deploy.yml/dispatches",
        {"json": {"ref": "production", "inputs": {"reason": "test"}, "return_run_details": True}},
        200,
        id="dispatch-details",
    ),
    pytest.param(
        "POST", f"{WORKFLOWS}/off.yml/dispatches", {"json": {"ref": "main"}}, 422, id="dispatch-disabled"
    ),
    pytest.param(
        "POST", f"{WORKFLOWS}/ci.yml/dispatches", {"json": {"ref": "main"}}, 422, id="dispatch-no-trigger"
    ),
    pytest.param(
        "POST", f"{WORKFLOWS}/deploy.yml/dispatches", {"json": {"ref": "x"}}, 422, id="dispatch-bad-ref"
    ),
    pytest.param("GET", RUNS, {"params": {"per_page": 3, "status": "completed"}}, 200, id="runs"),
    pytest.param(
        "GET",
        RUNS,
        {"params": {"branch": "main", "event": "push", "status": "failure"}},
        200,
        id="runs-filtered",
    ),
    pytest.param(
        "GET", f"{WORKFLOWS}/deploy.yml/runs", {"params": {"status": "in_progress"}}, 200, id="workflow-runs"
    ),
    pytest.param("GET", f"{RUNS}/{RUNNING}", {}, 200, id="run"),
    pytest.param("GET", f"{RUNS}/42", {}, 404, id="run-unknown"),
    pytest.param("POST", f"{RUNS}/{RUNNING}/cancel", {}, 202, id="cancel"),
    pytest.param("POST", f"{RUNS}/{FINISHED}/cancel", {}, 409, id="cancel-completed"),
    pytest.param("POST", f"{RUNS}/{RUNNING}/force-cancel", {}, 202, id="force-cancel"),
    pytest.param("POST", f"{RUNS}/{FINISHED}/force-cancel", {}, 409, id="force-cancel-completed"),
]


@pytest.mark.parametrize(("method", "path", "options", "status"), ENDPOINT_CASES)
def test_endpoint_conforms(
    world: SandboxWorld, github: httpx.Client, method: str, path: str, options: dict[str, Any], status: int
) -> None:
    response = send(github, method, path.format(**run_ids(world)), **options)

    assert response.status_code == status


@pytest.mark.parametrize(
    "path", ["/rate_limit", WORKFLOWS, f"{WORKFLOWS}/deploy.yml", RUNS, f"{RUNS}/{RUNNING}"]
)
def test_not_modified_conforms(world: SandboxWorld, github: httpx.Client, path: str) -> None:
    path = path.format(**run_ids(world))
    etag = send(github, "GET", path).headers["ETag"]

    response = send(github, "GET", path, headers={"If-None-Match": etag})

    assert response.status_code == 304


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        pytest.param(Fault(kind=FaultKind.STATUS, status=500), 500, id="500"),
        pytest.param(Fault(kind=FaultKind.STATUS, status=502), 502, id="502"),
        pytest.param(Fault(kind=FaultKind.STATUS, status=503, message="Unavailable"), 503, id="503"),
        pytest.param(Fault(kind=FaultKind.PRIMARY_RATE_LIMIT), 403, id="primary-limit"),
        pytest.param(
            Fault(kind=FaultKind.SECONDARY_RATE_LIMIT, status=429, retry_after_seconds=3),
            429,
            id="secondary-limit",
        ),
    ],
)
def test_fault_conforms(world: SandboxWorld, github: httpx.Client, fault: Fault, status: int) -> None:
    world.faults.add(fault)

    for method, path in [
        ("GET", RUNS),
        ("PUT", f"{WORKFLOWS}/deploy.yml/enable"),
        ("POST", f"{RUNS}/1/cancel"),
    ]:
        assert send(github, method, path).status_code == status


@pytest.mark.parametrize(
    ("status", "body", "problem"),
    [
        pytest.param(200, {"id": 1, "name": "x"}, "'node_id' is a required property", id="missing-field"),
        pytest.param(500, {"message": 5}, "5 is not of type 'string'", id="error-shape"),
        pytest.param(
            201, {}, "status 201 is not one of the documented statuses 200", id="undocumented-status"
        ),
    ],
)
def test_checker_rejects_mismatch(status: int, body: dict[str, Any], problem: str) -> None:
    request = httpx.Request("GET", "http://127.0.0.1:9/repos/a/b/actions/workflows/1")

    with pytest.raises(AssertionError, match=problem) as caught:
        assert_conforms(request, httpx.Response(status, json=body, request=request))

    assert str(caught.value).startswith(
        "GET /repos/a/b/actions/workflows/1 (actions/get-workflow) does not follow"
    )


def test_checker_rejects_bad_request() -> None:
    request = httpx.Request(
        "POST", "http://127.0.0.1:9/repos/a/b/actions/workflows/1/dispatches", json={"inputs": {}}
    )

    with pytest.raises(AssertionError, match="request: "):
        assert_conforms(request, httpx.Response(204, request=request))


def test_checker_unknown_operation() -> None:
    request = httpx.Request("DELETE", "http://127.0.0.1:9/repos/a/b")

    with pytest.raises(AssertionError, match=r"DELETE /repos/a/b is not an operation of github-actions.json"):
        assert_conforms(request, httpx.Response(204, request=request))


def test_fixture_covers_operations() -> None:
    for path, methods in extract.OPERATIONS.items():
        for method in methods:
            concrete = path.replace("{owner}", "o").replace("{repo}", "r").replace("{workflow_id}", "1")
            found = find_operation(method, concrete.replace("{run_id}", "2"))
            assert found is not None and found[0] == path


def test_extract_keeps_referenced_parts() -> None:
    description = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "servers": [{"url": "https://api.github.com"}],
        "paths": {
            path: {
                method: {"responses": {"200": {"description": "OK", "$ref": "#/components/responses/ok"}}}
                for method in methods
            }
            for path, methods in extract.OPERATIONS.items()
        }
        | {"/other": {"get": {"responses": {}}}},
        "components": {
            "responses": {
                "ok": {
                    "description": "Response",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/thing"},
                            "examples": {"a": {}},
                        }
                    },
                }
            },
            "schemas": {
                "thing": {
                    "type": "object",
                    "description": "A thing.",
                    "x-github": {},
                    "required": ["description"],
                    "properties": {"description": {"type": "string", "description": "Its text."}},
                },
                "unused": {"type": "string"},
            },
        },
    }

    document = extract.extract(description)

    assert "/other" not in document["paths"]
    assert set(document["components"]["schemas"]) == {"thing"}
    assert document["components"]["schemas"]["thing"] == {
        "type": "object",
        "required": ["description"],
        "properties": {"description": {"type": "string"}},
    }
    assert document["components"]["responses"]["ok"] == {
        "description": "",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/thing"}}},
    }
    json.dumps(document)
