"""Sandbox faults and counters, driven from Python and over the admin API."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from pydantic import ValidationError

from ccm.github.sandbox import (
    Fault,
    FaultKind,
    ManualClock,
    RouteKind,
    SandboxSeed,
    SandboxServer,
    SandboxWorld,
)

WORKFLOWS = "/repos/acme/app/actions/workflows"
RUNS = "/repos/acme/app/actions/runs"

SEED = SandboxSeed.model_validate(
    {
        "repositories": [
            {
                "full_name": "acme/app",
                "workflows": [{"path": ".github/workflows/deploy.yml"}],
                "runs": [
                    {
                        "workflow": ".github/workflows/deploy.yml",
                        "status": "in_progress",
                        "started_seconds_ago": 5,
                        "duration_seconds": 600,
                    }
                ],
            }
        ]
    }
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def world(clock: ManualClock) -> SandboxWorld:
    return SandboxWorld.open(SEED, clock=clock)


@pytest.fixture
def server(world: SandboxWorld) -> Iterator[SandboxServer]:
    with SandboxServer(world) as server:
        yield server


@pytest.fixture
def github(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer t"}, timeout=5) as client:
        yield client


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (500, "Internal Server Error"),
        (502, "Bad Gateway"),
        (503, "Service Unavailable"),
        (404, "Not Found"),
        (409, "Conflict"),
        (422, "Unprocessable Entity"),
        (403, "Forbidden"),
    ],
    ids=lambda value: str(value),
)
def test_status_fault_once(world: SandboxWorld, github: httpx.Client, status: int, message: str) -> None:
    world.faults.add(Fault(kind=FaultKind.STATUS, status=status, route=RouteKind.LIST_WORKFLOWS, count=1))

    failed = github.get(WORKFLOWS)
    recovered = github.get(WORKFLOWS)

    assert failed.status_code == status
    assert failed.json()["message"] == message
    assert recovered.status_code == 200


def test_status_fault_custom_message(world: SandboxWorld, github: httpx.Client) -> None:
    world.faults.add(Fault(kind=FaultKind.STATUS, status=503, message="Try later."))

    assert github.get(WORKFLOWS).json()["message"] == "Try later."
    assert github.get(WORKFLOWS).status_code == 503


def test_fault_matches_method_route_path(world: SandboxWorld, github: httpx.Client) -> None:
    world.faults.add(Fault(kind=FaultKind.STATUS, status=500, method="put"))
    world.faults.add(Fault(kind=FaultKind.STATUS, status=502, route=RouteKind.CANCEL_RUN))
    world.faults.add(Fault(kind=FaultKind.STATUS, status=503, path_pattern=r"/actions/runs$"))

    assert github.get(WORKFLOWS).status_code == 200
    assert github.put(f"{WORKFLOWS}/deploy.yml/disable").status_code == 500
    assert github.post(f"{RUNS}/1000000001/cancel").status_code == 502
    assert github.get(RUNS).status_code == 503
    assert github.get(f"{RUNS}/1000000001").status_code == 200


def test_latency_fault(world: SandboxWorld, github: httpx.Client) -> None:
    world.faults.add(Fault(kind=FaultKind.LATENCY, latency_ms=50, route=RouteKind.LIST_WORKFLOWS))

    started = time.perf_counter()
    response = github.get(WORKFLOWS)
    elapsed = time.perf_counter() - started

    assert response.status_code == 200
    assert elapsed >= 0.05


def test_timeout_fault_released_on_stop(clock: ManualClock) -> None:
    world = SandboxWorld.open(SEED, clock=clock)
    server = SandboxServer(world).start()
    world.faults.add(Fault(kind=FaultKind.TIMEOUT, hold_seconds=30, count=1))

    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{server.url}{WORKFLOWS}", headers={"Authorization": "Bearer t"}, timeout=0.2)
    started = time.perf_counter()
    server.stop()

    assert time.perf_counter() - started < 5


def test_connection_reset_fault(world: SandboxWorld, github: httpx.Client) -> None:
    world.faults.add(Fault(kind=FaultKind.CONNECTION_RESET, count=1))

    with pytest.raises(httpx.RemoteProtocolError):
        github.get(WORKFLOWS)
    assert github.get(WORKFLOWS).status_code == 200


def test_primary_limit_fault(world: SandboxWorld, github: httpx.Client, clock: ManualClock) -> None:
    world.faults.add(Fault(kind=FaultKind.PRIMARY_RATE_LIMIT, reset_after_seconds=30, count=1))

    limited = github.get(WORKFLOWS)
    after = github.get(WORKFLOWS)

    assert limited.status_code == 403
    assert limited.json()["message"].startswith("API rate limit exceeded for user ID ")
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert limited.headers["X-RateLimit-Reset"] == str(int(clock.time()) + 30)
    assert after.headers["X-RateLimit-Remaining"] == "4999"


@pytest.mark.parametrize(
    ("status", "retry_after"),
    [(403, 60), (403, None), (429, 5), (429, None)],
    ids=["403-retry-after", "403-no-header", "429-retry-after", "429-no-header"],
)
def test_secondary_limit_fault(
    world: SandboxWorld, github: httpx.Client, status: int, retry_after: int | None
) -> None:
    world.faults.add(
        Fault(kind=FaultKind.SECONDARY_RATE_LIMIT, status=status, retry_after_seconds=retry_after)
    )

    response = github.post(f"{RUNS}/1000000001/cancel")

    assert response.status_code == status
    assert response.json()["message"].startswith("You have exceeded a secondary rate limit.")
    assert response.headers.get("Retry-After") == (None if retry_after is None else str(retry_after))
    assert response.headers["X-RateLimit-Remaining"] == "5000"


def test_fault_count_and_clear(world: SandboxWorld, github: httpx.Client) -> None:
    world.faults.add(Fault(kind=FaultKind.STATUS, status=502, count=2))
    lasting = world.faults.add(Fault(kind=FaultKind.STATUS, status=503, route=RouteKind.GET_RUN))

    statuses = [github.get(WORKFLOWS).status_code for _ in range(3)]
    still = github.get(f"{RUNS}/1000000001").status_code
    world.faults.remove(lasting)

    assert statuses == [502, 502, 200]
    assert still == 503
    assert github.get(f"{RUNS}/1000000001").status_code == 200


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param(
            {"kind": "status"}, r"a status fault needs a status from 400 to 599 \[", id="no-status"
        ),
        pytest.param(
            {"kind": "status", "status": 200},
            "a status fault needs a status from 400 to 599, not 200",
            id="status-not-error",
        ),
        pytest.param(
            {"kind": "timeout", "hold_seconds": 1e308},
            "hold_seconds\n  Input should be less than or equal to 600",
            id="hold-too-long",
        ),
        pytest.param(
            {"kind": "timeout", "hold_seconds": float("nan")},
            "hold_seconds\n  Input should be a finite number",
            id="hold-nan",
        ),
        pytest.param(
            {"kind": "latency", "latency_ms": 10**9},
            "latency_ms\n  Input should be less than or equal to 600000",
            id="latency-too-long",
        ),
        pytest.param(
            {"kind": "secondary_rate_limit", "retry_after_seconds": 10**12},
            "retry_after_seconds\n  Input should be less than or equal to 315360000",
            id="retry-after-too-long",
        ),
        pytest.param(
            {"kind": "primary_rate_limit", "reset_after_seconds": 10**12},
            "reset_after_seconds\n  Input should be less than or equal to 315360000",
            id="reset-too-far",
        ),
        pytest.param({"kind": "latency"}, "a latency fault needs latency_ms > 0", id="no-latency"),
        pytest.param(
            {"kind": "secondary_rate_limit", "status": 500},
            "a rate limit fault responds with 403 or 429",
            id="limit-status",
        ),
        pytest.param(
            {"kind": "status", "status": 500, "path_pattern": "("},
            "is not a valid regular expression",
            id="bad-regex",
        ),
        pytest.param({"kind": "explode"}, "Input should be 'latency'", id="unknown-kind"),
    ],
)
def test_invalid_fault(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Fault.model_validate(fields)


def test_counters_by_outcome(world: SandboxWorld, github: httpx.Client) -> None:
    etag = github.get(WORKFLOWS).headers["ETag"]
    github.get(WORKFLOWS, headers={"If-None-Match": etag})
    github.get("/repos/acme/missing")
    world.faults.add(Fault(kind=FaultKind.STATUS, status=500, count=1))
    github.get(RUNS)

    counters = world.counters.snapshot()

    assert counters.kind(RouteKind.LIST_WORKFLOWS).model_dump() == {
        "requests": 2,
        "counted": 1,
        "not_modified": 1,
        "errors": 0,
    }
    assert counters.kind(RouteKind.GET_REPOSITORY).model_dump() == {
        "requests": 1,
        "counted": 1,
        "not_modified": 0,
        "errors": 1,
    }
    assert counters.kind(RouteKind.LIST_RUNS).model_dump() == {
        "requests": 1,
        "counted": 0,
        "not_modified": 0,
        "errors": 1,
    }
    assert counters.total.requests == 4
    world.counters.reset()
    assert world.counters.snapshot().total.requests == 0


def test_admin_faults(server: SandboxServer, github: httpx.Client) -> None:
    admin = httpx.Client(base_url=f"{server.url}/_sandbox")

    added = admin.post(
        "/faults",
        json=[
            {"kind": "status", "status": 502, "route": "list_runs", "count": 2},
            {"kind": "latency", "latency_ms": 1},
        ],
    )
    listed = admin.get("/faults").json()
    failed = github.get(RUNS)
    removed = admin.delete(f"/faults/{added.json()['ids'][0]}")
    missing = admin.delete("/faults/999")
    cleared = admin.delete("/faults")

    assert added.status_code == 201
    assert [item["fault"]["kind"] for item in listed] == ["status", "latency"]
    assert listed[0]["remaining"] == 2
    assert failed.status_code == 502
    assert removed.status_code == 204
    assert missing.status_code == 404
    assert missing.json()["message"] == "No fault with id 999 is in force."
    assert cleared.status_code == 204
    assert admin.get("/faults").json() == []
    assert github.get(RUNS).status_code == 200


def test_admin_invalid_fault(server: SandboxServer) -> None:
    response = httpx.post(f"{server.url}/_sandbox/faults", json={"kind": "status", "status": 200})

    assert response.status_code == 422
    assert response.json()["message"] == (
        "Invalid fault: 0: a status fault needs a status from 400 to 599, not 200."
    )


def test_admin_counters(server: SandboxServer, github: httpx.Client) -> None:
    github.get(WORKFLOWS)

    counters = httpx.get(f"{server.url}/_sandbox/counters").json()
    reset = httpx.post(f"{server.url}/_sandbox/counters/reset")

    assert counters["by_kind"]["list_workflows"] == {
        "requests": 1,
        "counted": 1,
        "not_modified": 0,
        "errors": 0,
    }
    assert counters["total"]["requests"] == 1
    assert reset.status_code == 204
    assert httpx.get(f"{server.url}/_sandbox/counters").json()["total"]["requests"] == 0


def test_admin_skip_time(server: SandboxServer, github: httpx.Client, world: SandboxWorld) -> None:
    before = world.now()

    skipped = httpx.post(f"{server.url}/_sandbox/time/skip", json={"seconds": 3600})
    invalid = httpx.post(f"{server.url}/_sandbox/time/skip", json={"seconds": -1})

    assert skipped.json()["now"] == before + 3600
    assert github.get(f"{RUNS}/1000000001").json()["status"] == "completed"
    assert invalid.status_code == 422


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        pytest.param(b'{"seconds": NaN}', "NaN", id="nan"),
        pytest.param(b'{"seconds": 1e400}', "Infinity", id="overflow"),
        pytest.param(b'{"seconds": -Infinity}', "-Infinity", id="minus-infinity"),
        pytest.param(b'{"seconds": 315360001}', "315360001", id="over-ten-years"),
        pytest.param(b'{"seconds": "60"}', '"60"', id="text"),
        pytest.param(b'{"seconds": true}', "true", id="boolean"),
        pytest.param(b"{}", "null", id="missing"),
    ],
)
def test_admin_skip_rejects(server: SandboxServer, world: SandboxWorld, body: bytes, shown: str) -> None:
    before = world.now()

    response = httpx.post(f"{server.url}/_sandbox/time/skip", content=body)

    assert response.status_code == 422
    assert response.json()["message"] == (
        f"seconds {shown} is not a number of simulated seconds from 0 to 315360000 (ten years). "
        'Send {"seconds": N} with N in that range.'
    )
    assert world.now() == before


@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), -1.0, 4e8], ids=["nan", "inf", "negative", "huge"])
def test_skip_time_rejects(world: SandboxWorld, seconds: float) -> None:
    with pytest.raises(ValueError, match=r"needs seconds from 0 to 315360000 \(ten years\)"):
        world.skip_time(seconds)


def test_admin_timeout_hold_bounded(server: SandboxServer) -> None:
    response = httpx.post(f"{server.url}/_sandbox/faults", json={"kind": "timeout", "hold_seconds": 1e308})

    assert response.status_code == 422
    assert response.json()["message"] == (
        "Invalid fault: 0.hold_seconds: Input should be less than or equal to 600."
    )
    assert httpx.get(f"{server.url}/_sandbox/faults").json() == []
