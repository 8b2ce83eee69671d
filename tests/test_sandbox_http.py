"""Sandbox over HTTP: authentication, rate limit headers, ETags, pagination and every endpoint."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ccm.github.sandbox import ManualClock, RateLimitSeed, SandboxSeed, SandboxServer, SandboxWorld

REPOSITORY = "/repos/acme/api-service"
WORKFLOWS = f"{REPOSITORY}/actions/workflows"
RUNS = f"{REPOSITORY}/actions/runs"


def make_seed(**changes: object) -> SandboxSeed:
    data: dict[str, object] = {
        "repositories": [
            {
                "full_name": "acme/api-service",
                "branches": ["main", "production"],
                "workflows": [{"path": f".github/workflows/job-{index}.yml"} for index in range(7)]
                + [{"path": ".github/workflows/ci.yml", "dispatch": False}],
                "runs": [
                    {
                        "workflow": ".github/workflows/job-0.yml",
                        "status": "in_progress",
                        "started_seconds_ago": 30,
                        "duration_seconds": 3600,
                    },
                    {
                        "workflow": ".github/workflows/job-0.yml",
                        "conclusion": "success",
                        "started_seconds_ago": 9000,
                        "duration_seconds": 120,
                    },
                ],
            },
            {"full_name": "acme/hidden", "accessible": False},
            {"full_name": "acme/other", "workflows": [{"path": ".github/workflows/job-0.yml"}]},
        ]
    }
    data.update(changes)
    return SandboxSeed.model_validate(data)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def world(clock: ManualClock) -> SandboxWorld:
    return SandboxWorld.open(make_seed(), clock=clock)


@pytest.fixture
def server(world: SandboxWorld) -> Iterator[SandboxServer]:
    with SandboxServer(world) as server:
        yield server


@pytest.fixture
def github(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=server.url, headers={"Authorization": "Bearer test-token"}, timeout=5
    ) as client:
        yield client


def test_missing_token_rejected(server: SandboxServer) -> None:
    response = httpx.get(f"{server.url}{REPOSITORY}")

    assert response.status_code == 401
    assert response.json()["message"] == "Requires authentication"
    assert response.json()["documentation_url"].startswith("https://docs.github.com/rest")
    assert response.headers["X-RateLimit-Limit"] == "60"


def test_token_scheme_accepted(server: SandboxServer) -> None:
    response = httpx.get(f"{server.url}{REPOSITORY}", headers={"Authorization": "token abc"})

    assert response.status_code == 200
    assert response.json()["full_name"] == "acme/api-service"


def test_unlisted_token_rejected(clock: ManualClock) -> None:
    world = SandboxWorld.open(make_seed(tokens=["good"]), clock=clock)
    with SandboxServer(world) as server:
        bad = httpx.get(f"{server.url}{REPOSITORY}", headers={"Authorization": "Bearer bad"})
        good = httpx.get(f"{server.url}{REPOSITORY}", headers={"Authorization": "Bearer good"})

    assert bad.status_code == 401
    assert bad.json()["message"] == "Bad credentials"
    assert good.status_code == 200


def test_rate_limit_headers(github: httpx.Client, clock: ManualClock) -> None:
    first = github.get(REPOSITORY)
    second = github.get(WORKFLOWS)

    assert first.headers["X-RateLimit-Limit"] == "5000"
    assert first.headers["X-RateLimit-Remaining"] == "4999"
    assert second.headers["X-RateLimit-Remaining"] == "4998"
    assert second.headers["X-RateLimit-Used"] == "2"
    assert second.headers["X-RateLimit-Reset"] == str(int(clock.time()) + 3600)
    assert second.headers["X-RateLimit-Resource"] == "core"
    assert first.headers["X-GitHub-Request-Id"] != second.headers["X-GitHub-Request-Id"]
    assert first.headers["Content-Type"] == "application/json; charset=utf-8"


def test_rate_limit_endpoint_free(github: httpx.Client) -> None:
    github.get(REPOSITORY)

    body = github.get("/rate_limit").json()
    again = github.get("/rate_limit")

    assert body["resources"]["core"] == {
        "limit": 5000,
        "remaining": 4999,
        "used": 1,
        "reset": body["rate"]["reset"],
    }
    assert again.headers["X-RateLimit-Remaining"] == "4999"


def test_conditional_request_not_counted(github: httpx.Client) -> None:
    first = github.get(WORKFLOWS)
    etag = first.headers["ETag"]

    cached = github.get(WORKFLOWS, headers={"If-None-Match": etag})
    strong = github.get(WORKFLOWS, headers={"If-None-Match": etag.removeprefix("W/")})

    assert etag.startswith('W/"')
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached.headers["ETag"] == etag
    assert cached.headers["X-RateLimit-Remaining"] == first.headers["X-RateLimit-Remaining"]
    assert strong.status_code == 304


def test_etag_changes_with_state(github: httpx.Client) -> None:
    etag = github.get(WORKFLOWS).headers["ETag"]

    github.put(f"{WORKFLOWS}/job-1.yml/disable")
    after = github.get(WORKFLOWS, headers={"If-None-Match": etag})

    assert after.status_code == 200
    assert after.headers["ETag"] != etag


def test_etag_stable_across_servers(clock: ManualClock) -> None:
    etags = []
    for _ in range(2):
        with SandboxServer(SandboxWorld.open(make_seed(), clock=clock)) as server:
            response = httpx.get(f"{server.url}{RUNS}", headers={"Authorization": "Bearer t"})
            etags.append(response.headers["ETag"])

    assert etags[0] == etags[1]


def test_idle_world_same_etag(github: httpx.Client, clock: ManualClock) -> None:
    etag = github.get(RUNS).headers["ETag"]
    clock.advance(60)

    assert github.get(RUNS, headers={"If-None-Match": etag}).status_code == 304


def test_workflow_pagination(github: httpx.Client, server: SandboxServer) -> None:
    first = github.get(WORKFLOWS, params={"per_page": 3})
    last = github.get(WORKFLOWS, params={"per_page": 3, "page": 3})

    assert first.json()["total_count"] == 8
    assert [workflow["path"] for workflow in first.json()["workflows"]] == [
        ".github/workflows/job-0.yml",
        ".github/workflows/job-1.yml",
        ".github/workflows/job-2.yml",
    ]
    assert first.headers["Link"] == (
        f'<{server.url}{WORKFLOWS}?per_page=3&page=2>; rel="next", '
        f'<{server.url}{WORKFLOWS}?per_page=3&page=3>; rel="last"'
    )
    assert len(last.json()["workflows"]) == 2
    assert last.headers["Link"] == (
        f'<{server.url}{WORKFLOWS}?per_page=3&page=1>; rel="first", '
        f'<{server.url}{WORKFLOWS}?per_page=3&page=2>; rel="prev"'
    )


def test_per_page_capped(github: httpx.Client) -> None:
    response = github.get(WORKFLOWS, params={"per_page": 500})

    assert len(response.json()["workflows"]) == 8
    assert "Link" not in response.headers


def test_workflow_by_id_or_file(github: httpx.Client) -> None:
    by_file = github.get(f"{WORKFLOWS}/job-3.yml").json()
    by_id = github.get(f"{WORKFLOWS}/{by_file['id']}").json()

    assert by_id == by_file
    assert by_file["path"] == ".github/workflows/job-3.yml"
    assert by_file["state"] == "active"
    assert github.get(f"{WORKFLOWS}/nope.yml").status_code == 404


def test_enable_disable(github: httpx.Client) -> None:
    disabled = github.put(f"{WORKFLOWS}/job-2.yml/disable")
    state_after_disable = github.get(f"{WORKFLOWS}/job-2.yml").json()["state"]
    enabled = github.put(f"{WORKFLOWS}/job-2.yml/enable")

    assert disabled.status_code == 204
    assert disabled.content == b""
    assert state_after_disable == "disabled_manually"
    assert enabled.status_code == 204
    assert github.get(f"{WORKFLOWS}/job-2.yml").json()["state"] == "active"


def test_dispatch_without_details(github: httpx.Client) -> None:
    response = github.post(f"{WORKFLOWS}/job-1.yml/dispatches", json={"ref": "production"})

    runs = github.get(f"{WORKFLOWS}/job-1.yml/runs").json()
    assert response.status_code == 204
    assert runs["total_count"] == 1
    assert runs["workflow_runs"][0]["event"] == "workflow_dispatch"
    assert runs["workflow_runs"][0]["head_branch"] == "production"
    assert runs["workflow_runs"][0]["status"] == "queued"


def test_dispatch_with_details(github: httpx.Client, server: SandboxServer) -> None:
    response = github.post(
        f"{WORKFLOWS}/job-1.yml/dispatches", json={"ref": "main", "return_run_details": True}
    )

    body = response.json()
    assert response.status_code == 200
    assert body["run_url"] == f"{server.url}{RUNS}/{body['workflow_run_id']}"
    assert github.get(body["run_url"]).json()["id"] == body["workflow_run_id"]


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        pytest.param(b'{"ref": "main"', 400, "Problems parsing JSON", id="truncated-json"),
        pytest.param(b'["main"]', 400, "Problems parsing JSON", id="not-an-object"),
        pytest.param(b'{"ref": "nope"}', 422, "No ref found for: nope", id="unknown-ref"),
    ],
)
def test_dispatch_bad_body(github: httpx.Client, content: bytes, status: int, message: str) -> None:
    response = github.post(
        f"{WORKFLOWS}/job-1.yml/dispatches", content=content, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == status
    assert response.json()["message"] == message


def test_cancel_run(github: httpx.Client) -> None:
    running = github.get(RUNS, params={"status": "in_progress"}).json()["workflow_runs"][0]

    cancelled = github.post(f"{RUNS}/{running['id']}/cancel")
    again = github.post(f"{RUNS}/{running['id']}/cancel")

    assert cancelled.status_code == 202
    assert cancelled.json() == {}
    assert github.get(f"{RUNS}/{running['id']}").json()["conclusion"] == "cancelled"
    assert again.status_code == 409
    assert again.json()["message"] == "Cannot cancel a workflow run that is completed."


def test_force_cancel_run(github: httpx.Client) -> None:
    running = github.get(RUNS, params={"status": "in_progress"}).json()["workflow_runs"][0]

    response = github.post(f"{RUNS}/{running['id']}/force-cancel")

    assert response.status_code == 202
    assert github.get(f"{RUNS}/{running['id']}").json()["status"] == "completed"


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/repos/acme/hidden", id="inaccessible"),
        pytest.param("/repos/acme/missing/actions/workflows", id="unknown-repository"),
        pytest.param(f"{RUNS}/99", id="unknown-run"),
        pytest.param(f"{RUNS}/abc", id="run-id-not-number"),
        pytest.param("/repos/acme/other/actions/runs/1000000001", id="run-of-other-repository"),
        pytest.param("/user/repos", id="unknown-endpoint"),
    ],
)
def test_not_found(github: httpx.Client, path: str) -> None:
    response = github.get(path)

    assert response.status_code == 404
    assert response.json()["message"] == "Not Found"
    assert response.json()["status"] == "404"


def test_repository_name_ignores_case(github: httpx.Client) -> None:
    response = github.get("/repos/ACME/Api-Service")

    assert response.status_code == 200
    assert response.json()["full_name"] == "acme/api-service"


def test_runs_newest_first(github: httpx.Client) -> None:
    body = github.get(RUNS).json()

    created = [run["created_at"] for run in body["workflow_runs"]]
    assert body["total_count"] == 2
    assert created == sorted(created, reverse=True)
    assert body["workflow_runs"][0]["status"] == "in_progress"
    assert body["workflow_runs"][1]["conclusion"] == "success"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({"status": "in_progress"}, 1, id="status"),
        pytest.param({"status": "success"}, 1, id="conclusion"),
        pytest.param({"branch": "production"}, 0, id="branch"),
        pytest.param({"event": "push"}, 2, id="event"),
        pytest.param({"created": ">=2025-12-31T23:00:00Z"}, 1, id="created-after"),
        pytest.param({"created": "2025-12-31"}, 2, id="created-day"),
        pytest.param({"created": "2026-01-01"}, 0, id="created-other-day"),
        pytest.param({"created": "*..2025-12-31T22:00:00Z"}, 1, id="created-range"),
    ],
)
def test_run_filters(github: httpx.Client, params: dict[str, str], expected: int) -> None:
    assert github.get(RUNS, params=params).json()["total_count"] == expected


@pytest.mark.parametrize(
    ("params", "message"),
    [
        pytest.param({"status": "done"}, "status 'done' is not one of", id="status"),
        pytest.param({"created": "yesterday"}, "created 'yesterday' is not a date", id="created"),
    ],
)
def test_run_filter_invalid(github: httpx.Client, params: dict[str, str], message: str) -> None:
    response = github.get(RUNS, params=params)

    assert response.status_code == 422
    assert message in response.json()["message"]


def test_primary_limit_until_reset(clock: ManualClock) -> None:
    world = SandboxWorld.open(make_seed(rate_limit=RateLimitSeed(limit=2, window_seconds=60)), clock=clock)
    with (
        SandboxServer(world) as server,
        httpx.Client(base_url=server.url, headers={"Authorization": "Bearer t"}) as github,
    ):
        allowed = [github.get(REPOSITORY).status_code for _ in range(2)]
        limited = github.get(REPOSITORY)
        clock.advance(60)
        reset = github.get(REPOSITORY)

    assert allowed == [200, 200]
    assert limited.status_code == 403
    assert limited.json()["message"].startswith("API rate limit exceeded for user ID ")
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert limited.headers["X-RateLimit-Reset"] == str(int(clock.time()))
    assert reset.status_code == 200
    assert reset.headers["X-RateLimit-Remaining"] == "1"
