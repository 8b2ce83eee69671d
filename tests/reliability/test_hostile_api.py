"""Hostile API requests: random bodies, query parameters and paths never get a 5xx or change state.

Every case runs against the API on real loopback HTTP with one pipeline provisioned. A response
below 400 may change state on purpose. A rejected one (400 and up) must leave the registry, the
spec files and the sandbox's workflows and runs as they were. It must also be JSON with an
``error`` code and a ``detail`` sentence. Schemathesis runs each operation of the OpenAPI document with
more examples than the API's own conformance test.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

from ccm.api.openapi import build_openapi
from ccm.tokens import TokenRole

from conftest import SOAK, report, trials
from test_api_harness import ApiHarness, api  # noqa: F401  (api is a fixture)

EXAMPLES = trials(60, 1000)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=not SOAK,
    database=None,
)
REQUEST_TIMEOUT_SECONDS = 20.0
OPERATION_IDS = [
    str(result.ok().definition.raw["operationId"])
    for result in schemathesis.openapi.from_dict(build_openapi()).get_all_operations()
]


def check_rejection(api: ApiHarness, response: httpx.Response, before: tuple[Any, ...]) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/json", response.text
        body = response.json()
        assert body["error"] and body["detail"].strip(), body
        assert api.fingerprint() == before, f"a rejected request changed state: {response.text}"


@pytest.mark.slow
@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_schemathesis_operation(api: ApiHarness, operation_id: str) -> None:
    api.provision()
    document = httpx.get(f"{api.url}/api/openapi.json").json()
    operation = schemathesis.openapi.from_dict(document).find_operation_by_id(operation_id)
    headers = {"CCM-Token": api.tokens[TokenRole.ADMIN]}
    checks = [not_a_server_error, status_code_conformance, content_type_conformance]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=not SOAK,
        suppress_health_check=list(HealthCheck),
    )
    def conforms(case: schemathesis.Case) -> None:
        before = api.fingerprint()
        response = case.call(base_url=api.url, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS)
        case.validate_response(response, checks=checks)
        if response.status_code >= 400:
            assert api.fingerprint() == before, f"a rejected request changed state: {response.text}"

    conforms()
    report(f"schemathesis {operation_id}: up to {EXAMPLES} examples, no 5xx, no change on rejection")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=15), children, max_size=5),
    max_leaves=20,
)
provision_fields = st.fixed_dictionaries(
    {},
    optional={
        "repo": st.one_of(st.just("owner/topengineer-api"), st.just("owner/private-tool"), json_values),
        "workflow_file": st.one_of(st.just(".github/workflows/deploy.yml"), json_values),
        "config": st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "trigger_branches": json_values,
                    "auto_deploy": json_values,
                    "environment": json_values,
                    "notifications_enabled": json_values,
                },
            ),
            json_values,
        ),
        "linked_domain": json_values,
        "linked_app": json_values,
        "name": json_values,
        "extra": json_values,
    },
)
raw_bodies = st.one_of(
    st.binary(max_size=512),
    json_values.map(lambda value: json.dumps(value).encode()),
    provision_fields.map(lambda value: json.dumps(value).encode()),
    st.sampled_from(
        [
            b'{"repo": "a", "repo": "b"}',
            b'{"repo": NaN}',
            b'{"repo": Infinity}',
            b"[" * 10_000,
            b'{"a":' * 5_000,
            b"\xff\xfe{\x00}\x00",
            b'{"config": {"trigger_branches": ["' + b"x" * 70_000 + b'"]}}',
        ]
    ),
)


@pytest.mark.slow
def test_random_bodies_rejected(api: ApiHarness) -> None:
    pipeline_id = api.provision()["pipeline_id"]
    targets = ["/api/pipelines/provision", f"/api/pipelines/{pipeline_id}/trigger"]

    @FUZZ
    @given(body=raw_bodies, target=st.sampled_from(targets), content_type=st.sampled_from(
        ["application/json", "text/plain", "application/x-www-form-urlencoded", ""]
    ))
    def rejected(body: bytes, target: str, content_type: str) -> None:
        before = api.fingerprint()
        headers = {"Content-Type": content_type} if content_type else {}
        response = api.call("POST", target, content=body, headers=headers)
        check_rejection(api, response, before)

    rejected()
    report(f"API fuzz of bodies: up to {EXAMPLES} examples, no 5xx, no change on rejection")


query_values = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["true", "false", "0", "-1", "999999999999999999999", "24h", "7d", "active", "", "%00"]),
)
query_names = st.one_of(
    st.sampled_from(["status", "domain", "app", "include_deleted", "limit", "branch", "range", "preserve_repo"]),
    st.text(min_size=1, max_size=10),
)


@pytest.mark.slow
def test_random_queries_rejected(api: ApiHarness) -> None:
    pipeline_id = api.provision()["pipeline_id"]
    targets = [
        ("GET", "/api/pipelines"),
        ("GET", f"/api/pipelines/{pipeline_id}"),
        ("GET", f"/api/pipelines/{pipeline_id}/stats"),
        ("GET", f"/api/pipelines/{pipeline_id}/runs"),
        ("GET", "/api/drift"),
        # Only values that keep preserve_repo from being true, so the pipeline survives.
        ("DELETE", f"/api/pipelines/{pipeline_id}"),
    ]

    @FUZZ
    @given(
        target=st.sampled_from(targets),
        query=st.lists(st.tuples(query_names, query_values), max_size=4),
    )
    def rejected(target: tuple[str, str], query: list[tuple[str, str]]) -> None:
        method, path = target
        if method == "DELETE":
            query = [(name, value) for name, value in query if name != "preserve_repo"]
            query.append(("preserve_repo", "false"))
        before = api.fingerprint()
        response = api.call(method, path, params=query)
        check_rejection(api, response, before)
        if method == "DELETE":
            assert response.status_code == 400, response.text

    rejected()
    report(f"API fuzz of query parameters: up to {EXAMPLES} examples, no 5xx, no change on rejection")


@pytest.mark.slow
def test_random_paths_rejected(api: ApiHarness) -> None:
    api.provision()
    segments = st.text(
        alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="/?#"), max_size=20
    )

    @FUZZ
    @given(
        method=st.sampled_from(["GET", "POST", "DELETE", "PUT", "PATCH"]),
        parts=st.lists(segments, min_size=1, max_size=4),
    )
    def rejected(method: str, parts: list[str]) -> None:
        before = api.fingerprint()
        path = "/api/pipelines/" + "/".join(quote(part, safe="") for part in parts)
        response = api.call(method, path)
        check_rejection(api, response, before)

    rejected()
    report(f"API fuzz of paths: up to {EXAMPLES} examples, no 5xx, no change on rejection")



@pytest.mark.parametrize("opening", [b"[", b'{"a":'], ids=["arrays", "objects"])
@pytest.mark.parametrize("target", ["provision", "trigger"])
def test_deep_body_rejected(api: ApiHarness, target: str, opening: bytes) -> None:
    pipeline_id = api.provision()["pipeline_id"]
    path = "/api/pipelines/provision" if target == "provision" else f"/api/pipelines/{pipeline_id}/trigger"
    before = api.fingerprint()

    response = api.call("POST", path, content=opening * 5_000, headers={"Content-Type": "application/json"})

    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_json"
    assert response.json()["detail"] == (
        "The request body nests arrays and objects deeper than 32 levels; the documented bodies "
        "need three. Send a JSON object with the documented fields."
    )
    assert api.fingerprint() == before
