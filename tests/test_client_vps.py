"""``CcmClient`` as VPS Manager uses it, against a real API server and the sandbox."""

from __future__ import annotations

import pytest

from ccm.api import PipelineAPI
from ccm.client import (
    CcmClient,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    Rejected,
    TransportError,
    Unauthorized,
)
from ccm.monitor.service import PipelineMonitor
from ccm.tokens import TokenRole
from test_api_harness import DEPLOY, EXAMPLE_BODY, REPO, ApiHarness, api  # noqa: F401


def _client(api: ApiHarness, role: TokenRole = TokenRole.API) -> CcmClient:
    return CcmClient(api.url, api.tokens[role])


def _provision(client: CcmClient) -> dict[str, object]:
    return client.provision(
        REPO,
        DEPLOY,
        EXAMPLE_BODY["config"],
        linked_domain=EXAMPLE_BODY["linked_domain"],
        linked_app=EXAMPLE_BODY["linked_app"],
    )


def test_client_lifecycle(api: ApiHarness) -> None:
    with _client(api) as ccm:
        created = _provision(ccm)
        pipeline_id = str(created["pipeline_id"])
        assert created["status"] == "active"
        assert ccm.get(pipeline_id)["repository"] == REPO
        assert [p["pipeline_id"] for p in ccm.list(domain="topengineer.us")] == [pipeline_id]
        assert ccm.stats(pipeline_id)["pipeline_id"] == pipeline_id

        triggered = ccm.trigger(pipeline_id, branch="main")
        assert [run["id"] for run in ccm.runs(pipeline_id, limit=1, branch="main")] == [triggered["run_id"]]
        assert ccm.drift()["in_sync"] is True

        removed = ccm.teardown(pipeline_id)
        assert removed["success"] is True
        assert ccm.list() == []
        assert ccm.list(include_deleted=True)[0]["status"] == "inactive"


def test_client_conflict_carries_id(api: ApiHarness) -> None:
    with _client(api) as ccm:
        created = _provision(ccm)
        with pytest.raises(Conflict) as raised:
            _provision(ccm)
    assert raised.value.pipeline_id == created["pipeline_id"]
    assert raised.value.status == 409
    assert raised.value.code == "pipeline_exists"


def test_client_invalid_problems(api: ApiHarness) -> None:
    with _client(api) as ccm, pytest.raises(InvalidRequest) as raised:
        ccm.provision("not a repo", DEPLOY)
    assert [problem["field"] for problem in raised.value.problems] == ["repo"]
    assert str(raised.value).startswith("POST /api/pipelines/provision failed with 400 invalid_request:")


def test_client_rejected_message(api: ApiHarness) -> None:
    with _client(api) as ccm:
        pipeline_id = str(_provision(ccm)["pipeline_id"])
        with pytest.raises(Rejected) as raised:
            ccm.trigger(pipeline_id, branch="release")
    assert raised.value.code == "ref_not_found"
    assert raised.value.github_message is not None
    assert "No ref found for: release" in raised.value.github_message


@pytest.mark.parametrize(
    ("token", "error"),
    [("ccm_unknown", Unauthorized), ("viewer", Forbidden)],
    ids=["unknown-token", "viewer-role"],
)
def test_client_auth_errors(api: ApiHarness, token: str, error: type[Exception]) -> None:
    secret = api.tokens[TokenRole.VIEWER] if token == "viewer" else token
    with CcmClient(api.url, secret) as ccm, pytest.raises(error):
        _provision(ccm)


def test_client_not_found(api: ApiHarness) -> None:
    with _client(api) as ccm, pytest.raises(NotFound) as raised:
        ccm.get("pipe_0123456789ab")
    assert raised.value.code == "pipeline_not_found"


def test_client_server_gone(api: ApiHarness) -> None:
    stopped = PipelineAPI(api.manager, PipelineMonitor(api.engine), api.token_store, port=0).start()
    url = stopped.url
    stopped.stop()
    with CcmClient(url, api.tokens[TokenRole.API], timeout_seconds=2) as ccm, pytest.raises(TransportError) as raised:
        ccm.health()
    assert raised.value.status is None
    assert "Check that ccm is running and reachable." in str(raised.value)
