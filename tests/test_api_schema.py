"""The REST API against its own OpenAPI document, with schemathesis: no 5xx, no response off-schema.

Bounded for the normal test run: 25 examples per operation from a fixed seed, so a run takes
seconds and a failure reproduces. Requests use an admin token, so every operation is reachable.
The document is fetched from the running server, so the test covers what the server serves.

NOTE: schemathesis' own pytest integration (``from_fixture`` and ``parametrize``) fails under
pytest 9 with schemathesis 4.32 (it reads ``Function._nodeid``), so each operation's strategy
is driven by hypothesis directly.
"""

from __future__ import annotations

import httpx
import hypothesis
import pytest
import schemathesis
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ccm.api.openapi import build_openapi
from ccm.tokens import TokenRole
from test_api_harness import ApiHarness, api  # noqa: F401

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
OPERATION_IDS = [
    str(result.ok().definition.raw["operationId"])
    for result in schemathesis.openapi.from_dict(build_openapi()).get_all_operations()
]


def test_document_valid() -> None:
    document = build_openapi()
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert len(OPERATION_IDS) == 11


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_operation_conforms(api: ApiHarness, operation_id: str) -> None:
    document = httpx.get(f"{api.url}/api/openapi.json").json()
    operation = schemathesis.openapi.from_dict(document).find_operation_by_id(operation_id)
    headers = {"CCM-Token": api.tokens[TokenRole.ADMIN]}

    @hypothesis.given(case=operation.as_strategy())
    @hypothesis.settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[hypothesis.HealthCheck.too_slow, hypothesis.HealthCheck.filter_too_much],
    )
    @hypothesis.seed(20260105)
    def conforms(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=api.url, headers=headers, checks=CHECKS)

    conforms()
