"""REST API auth: every route against no token, an unknown token and each role; rotation."""

from __future__ import annotations

import pytest

from ccm.tokens import TokenRole
from test_api_harness import ApiHarness, api  # noqa: F401  (api is a fixture)

UNKNOWN_ID = "pipe_000000000000"

# (method, path, body, whether the route changes things, status for an allowed caller)
ROUTES = [
    ("GET", "/api/pipelines", None, False, 200),
    ("GET", f"/api/pipelines/{UNKNOWN_ID}", None, False, 404),
    ("GET", f"/api/pipelines/{UNKNOWN_ID}/stats", None, False, 404),
    ("GET", f"/api/pipelines/{UNKNOWN_ID}/runs", None, False, 404),
    ("GET", "/api/drift", None, False, 200),
    ("GET", "/metrics", None, False, 200),
    ("POST", "/api/pipelines/provision", {}, True, 400),
    ("DELETE", f"/api/pipelines/{UNKNOWN_ID}", None, True, 404),
    ("POST", f"/api/pipelines/{UNKNOWN_ID}/trigger", {}, True, 404),
]
CALLERS = ["none", "unknown", *[role.value for role in TokenRole]]


def _expected(caller: str, writes: bool, allowed_status: int) -> tuple[int, str | None]:
    if caller == "none":
        return 401, "missing_token"
    if caller == "unknown":
        return 401, "invalid_token"
    if writes and caller == TokenRole.VIEWER.value:
        return 403, "forbidden"
    return allowed_status, None


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(
    ("method", "path", "body", "writes", "allowed_status"),
    ROUTES,
    ids=[f"{method} {path.replace(UNKNOWN_ID, '{id}')}" for method, path, *_ in ROUTES],
)
def test_route_access(
    api: ApiHarness, caller: str, method: str, path: str, body: object, writes: bool, allowed_status: int
) -> None:
    headers = {}
    if caller == "unknown":
        headers["CCM-Token"] = "ccm_" + "x" * 43
    elif caller != "none":
        headers["CCM-Token"] = api.tokens[TokenRole(caller)]
    response = api.call(method, path, role=None, headers=headers, json=body)

    status, code = _expected(caller, writes, allowed_status)
    assert response.status_code == status, response.text
    # Prometheus scrapes /metrics as text; every other response, errors included, is JSON.
    expected_type = "text/plain; version=0.0.4; charset=utf-8" if status == 200 and path == "/metrics" else "application/json"
    assert response.headers["content-type"] == expected_type
    if code is not None:
        assert response.json()["error"] == code


@pytest.mark.parametrize("path", ["/api/health", "/api/openapi.json"])
def test_open_routes_need_no_token(api: ApiHarness, path: str) -> None:
    response = api.call("GET", path, role=None)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"


def test_forbidden_names_role(api: ApiHarness) -> None:
    response = api.call("POST", "/api/pipelines/provision", role=TokenRole.VIEWER, json={})
    assert response.json()["detail"] == (
        "The token 'viewer-token' has the role viewer, which may not provision, tear down or "
        "trigger pipelines. Use a token with one of the roles admin, api."
    )


def test_token_checked_before_body(api: ApiHarness) -> None:
    oversized = b"{" + b" " * (70 * 1024) + b"}"
    headers = {"Content-Type": "application/json"}
    without = api.call("POST", "/api/pipelines/provision", role=None, content=oversized, headers=headers)
    as_viewer = api.call(
        "POST", "/api/pipelines/provision", role=TokenRole.VIEWER, content=b"{not json", headers=headers
    )
    assert without.status_code == 401
    assert as_viewer.status_code == 403


def test_rotation_without_restart(api: ApiHarness) -> None:
    old = api.tokens[TokenRole.API]
    new = api.token_store.create("api-token-2", TokenRole.API)

    for token in (old, new):
        response = api.call("GET", "/api/pipelines", role=None, headers={"CCM-Token": token})
        assert response.status_code == 200

    api.token_store.revoke("api-token")
    revoked = api.call("GET", "/api/pipelines", role=None, headers={"CCM-Token": old})
    current = api.call("GET", "/api/pipelines", role=None, headers={"CCM-Token": new})
    assert revoked.status_code == 401
    assert revoked.json()["error"] == "invalid_token"
    assert current.status_code == 200

