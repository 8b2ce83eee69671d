"""REST API bad input: each case gets its JSON error and changes nothing."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from test_api_harness import EXAMPLE_BODY, ApiHarness, api  # noqa: F401

JSON = {"Content-Type": "application/json"}
LARGE = b'{"repo": "' + b"a" * (65 * 1024) + b'"}'


def _chunks(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), 8192):
        yield data[start : start + 8192]


# (id, method, path, request options, status, error code)
CASES: list[tuple[str, str, str, dict[str, Any], int, str]] = [
    ("malformed-json", "POST", "/api/pipelines/provision", {"content": b'{"repo": ', "headers": JSON}, 400, "invalid_json"),
    ("json-array", "POST", "/api/pipelines/provision", {"json": [EXAMPLE_BODY]}, 400, "invalid_json"),
    ("not-utf8", "POST", "/api/pipelines/provision", {"content": b'{"repo": "\xff"}', "headers": JSON}, 400, "invalid_json"),
    ("duplicate-key", "POST", "/api/pipelines/provision", {"content": b'{"repo": "a/b", "repo": "c/d"}', "headers": JSON}, 400, "invalid_json"),
    ("nan", "POST", "/api/pipelines/provision", {"content": b'{"repo": NaN}', "headers": JSON}, 400, "invalid_json"),
    ("empty-body", "POST", "/api/pipelines/provision", {"headers": JSON}, 400, "invalid_request"),
    ("form-content-type", "POST", "/api/pipelines/provision", {"data": {"repo": "owner/x"}}, 415, "unsupported_media_type"),
    ("text-content-type", "POST", "/api/pipelines/provision", {"content": b"{}", "headers": {"Content-Type": "text/plain"}}, 415, "unsupported_media_type"),
    ("unknown-field", "POST", "/api/pipelines/provision", {"json": {**EXAMPLE_BODY, "owner": "me"}}, 400, "invalid_request"),
    ("unknown-config-field", "POST", "/api/pipelines/provision", {"json": {**EXAMPLE_BODY, "config": {"cron": "* * * * *"}}}, 400, "invalid_request"),
    ("missing-repo", "POST", "/api/pipelines/provision", {"json": {"workflow_file": ".github/workflows/deploy.yml"}}, 400, "invalid_request"),
    ("wrong-type", "POST", "/api/pipelines/provision", {"json": {**EXAMPLE_BODY, "config": {"auto_deploy": "yes"}}}, 400, "invalid_request"),
    ("name-escapes", "POST", "/api/pipelines/provision", {"json": {**EXAMPLE_BODY, "name": "../../etc/cron.d/x"}}, 400, "invalid_request"),
    ("name-dotdot", "POST", "/api/pipelines/provision", {"json": {**EXAMPLE_BODY, "name": ".."}}, 400, "invalid_request"),
    ("domain-escape-sequence", "POST", "/api/pipelines/provision", {"json": {**EXAMPLE_BODY, "linked_domain": "\x1b]0;pwned\x07\x1b[31mRED"}}, 400, "invalid_request"),
    ("domain-markup", "POST", "/api/pipelines/provision", {"json": {**EXAMPLE_BODY, "linked_domain": "[red]x[/red]"}}, 400, "invalid_request"),
    ("app-line-break", "POST", "/api/pipelines/provision", {"json": {**EXAMPLE_BODY, "linked_app": "x\ny"}}, 400, "invalid_request"),
    ("branch-escape-sequence", "POST", "/api/pipelines/provision", {"json": {**EXAMPLE_BODY, "config": {"trigger_branches": ["main\x9b2J"]}}}, 400, "invalid_request"),
    ("workflow-escapes", "POST", "/api/pipelines/provision", {"json": {**EXAMPLE_BODY, "workflow_file": ".github/workflows/../../x.yml"}}, 400, "invalid_request"),
    ("body-over-limit", "POST", "/api/pipelines/provision", {"content": LARGE, "headers": JSON}, 413, "body_too_large"),
    ("chunked-over-limit", "POST", "/api/pipelines/provision", {"content": _chunks(LARGE), "headers": JSON}, 413, "body_too_large"),
    ("trigger-unknown-field", "POST", "/api/pipelines/{id}/trigger", {"json": {"ref": "main"}}, 400, "invalid_request"),
    ("trigger-empty-branch", "POST", "/api/pipelines/{id}/trigger", {"json": {"branch": ""}}, 400, "invalid_request"),
    ("unknown-id", "GET", "/api/pipelines/pipe_ffffffffffff", {}, 404, "pipeline_not_found"),
    ("malformed-id", "DELETE", "/api/pipelines/not-an-id", {}, 404, "pipeline_not_found"),
    ("encoded-slash-id", "DELETE", "/api/pipelines/..%2F..%2Fetc", {}, 404, "not_found"),
    ("unknown-route", "GET", "/api/pipeline", {}, 404, "not_found"),
    ("trailing-slash", "GET", "/api/pipelines/", {}, 404, "not_found"),
    ("wrong-method", "PUT", "/api/pipelines/{id}", {}, 405, "method_not_allowed"),
    ("unknown-query", "GET", "/api/pipelines?state=active", {}, 400, "invalid_request"),
    ("repeated-query", "GET", "/api/pipelines?app=a&app=b", {}, 400, "invalid_request"),
    ("bad-status", "GET", "/api/pipelines?status=running", {}, 400, "invalid_request"),
    ("bad-limit", "GET", "/api/pipelines/{id}/runs?limit=0", {}, 400, "invalid_request"),
    ("limit-not-number", "GET", "/api/pipelines/{id}/runs?limit=ten", {}, 400, "invalid_request"),
    ("bad-preserve-repo", "DELETE", "/api/pipelines/{id}?preserve_repo=maybe", {}, 400, "invalid_request"),
    ("delete-query-on-provision", "POST", "/api/pipelines/provision?preserve_repo=true", {"json": EXAMPLE_BODY}, 400, "invalid_request"),
]


@pytest.mark.parametrize(("method", "path", "options", "status", "code"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input(api: ApiHarness, method: str, path: str, options: dict[str, Any], status: int, code: str) -> None:
    pipeline_id = api.provision(repo="owner/blog", linked_app="blog", linked_domain="blog.example")["pipeline_id"]
    before = api.fingerprint()

    response = api.call(method, path.replace("{id}", pipeline_id), **options)

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"] == code
    assert body["detail"].endswith((".", ")")), body["detail"]
    assert api.fingerprint() == before


# (id, method, path, request options, the sentence the detail must contain)
MESSAGES: list[tuple[str, str, str, dict[str, Any], str]] = [
    ("duplicate-key", "POST", "/api/pipelines/provision", {"content": b'{"repo": "a/b", "repo": "c/d"}', "headers": JSON},
     "the key 'repo' appears more than once in one object"),
    ("duplicate-keys", "POST", "/api/pipelines/provision",
     {"content": b'{"repo": "a/b", "repo": "c/d", "name": "x", "name": "y"}', "headers": JSON},
     "the keys 'name', 'repo' appear more than once in one object"),
    ("unknown-query", "GET", "/api/pipelines?state=active", {},
     "Unknown query parameter 'state'; this endpoint accepts app, domain, include_deleted, status."),
    ("unknown-queries", "GET", "/api/pipelines?state=active&x=1", {},
     "Unknown query parameters 'state', 'x'; this endpoint accepts"),
    ("query-on-bare-endpoint", "GET", "/api/drift?x=1", {},
     "Unknown query parameter 'x'; this endpoint accepts no query parameters."),
    ("repeated-query", "GET", "/api/pipelines?app=a&app=b", {},
     "The query parameter 'app' must be given only once."),
    ("wrong-method", "PUT", "/api/pipelines/{id}", {}, "PUT is not allowed on /api/pipelines/"),
    ("unknown-token", "GET", "/api/pipelines", {"role": None, "headers": {"CCM-Token": "ccm_unknown"}},
     "The CCM-Token header contains no valid token: it is unknown or was revoked."),
]


@pytest.mark.parametrize(("method", "path", "options", "sentence"), [case[1:] for case in MESSAGES],
                         ids=[case[0] for case in MESSAGES])
def test_error_wording(api: ApiHarness, method: str, path: str, options: dict[str, Any], sentence: str) -> None:
    pipeline_id = api.provision(repo="owner/blog", linked_app="blog", linked_domain="blog.example")["pipeline_id"]

    response = api.call(method, path.replace("{id}", pipeline_id), **options)

    detail = response.json()["detail"]
    assert sentence in detail
    assert ".." not in detail
    assert not re.search(r",\S", detail.replace("', '", "")), detail


def test_method_not_allowed_lists_methods(api: ApiHarness) -> None:
    pipeline_id = api.provision(repo="owner/blog")["pipeline_id"]

    response = api.call("PUT", f"/api/pipelines/{pipeline_id}")

    assert response.json()["detail"].endswith("; use DELETE, GET.")


def test_invalid_fields_listed(api: ApiHarness) -> None:
    body = {**EXAMPLE_BODY, "owner": "me", "config": {"trigger_branches": ["ok", "bad..name"]}}
    response = api.call("POST", "/api/pipelines/provision", json=body)

    problems = response.json()["problems"]
    assert {"field": "owner", "message": "Extra inputs are not permitted"} in problems
    assert [p["field"] for p in problems] == ["config.trigger_branches", "owner"]
    assert "'bad..name' is not a valid Git branch name" in problems[0]["message"]


def test_free_text_fields_checked(api: ApiHarness) -> None:
    body = {**EXAMPLE_BODY, "linked_domain": "\x1b[31mred.example", "linked_app": "x\ny"}
    response = api.call("POST", "/api/pipelines/provision", json=body)

    problems = {problem["field"]: problem["message"] for problem in response.json()["problems"]}
    assert problems["linked_domain"].startswith(
        "Value error, '\\x1b[31mred.example' is not a valid domain name. Domain names are labels"
    )
    assert problems["linked_app"].startswith("Value error, 'x\\ny' is not a valid app name. App names are")


def test_body_limit_message(api: ApiHarness) -> None:
    response = api.call("POST", "/api/pipelines/provision", content=LARGE, headers=JSON)
    assert response.json()["detail"] == (
        f"The request body has {len(LARGE)} bytes; the limit is 65536 bytes (64 KiB). "
        "Send only the documented fields."
    )


def test_unexpected_error_hidden(api: ApiHarness, caplog: pytest.LogCaptureFixture) -> None:
    # A registry file that is not JSON, with no backup to recover from, is not an error the
    # API expects, so it must respond 500 without internals and log the traceback.
    (api.state_dir / "pipelines.json").write_text("{ torn", encoding="utf-8")

    with caplog.at_level(logging.ERROR, logger="ccm.api.app"):
        response = api.call("GET", "/api/pipelines")

    assert response.status_code == 500
    assert response.json() == {
        "error": "internal_error",
        "detail": "The server failed to handle the request; the error is in its log. Retry "
        "later, and report it if it repeats.",
    }
    [record] = [r for r in caplog.records if r.name == "ccm.api.app"]
    assert record.getMessage() == "GET /api/pipelines failed with an unexpected error"
    assert record.exc_info is not None
