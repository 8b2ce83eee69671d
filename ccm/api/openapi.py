"""The OpenAPI 3.1 document of the REST API, served at ``GET /api/openapi.json``.

Request and response schemas come from the same pydantic models that validate the requests and
render the responses, so the document cannot drift from the code on field names or types. Each
operation lists every status it can respond with.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from ccm import __version__
from ccm.api.auth import TOKEN_HEADER
from ccm.api.bodies import MAX_BODY_BYTES, ProvisionRequest, TriggerRequest
from ccm.api.responses import ErrorResponse, HealthResponse, ProvisionResponse, TeardownResponse, drift_schema
from ccm.github.client import MAX_PER_PAGE
from ccm.manager import TriggerResult
from ccm.monitor.models import PipelineStats, RunSummary
from ccm.pipeline import PIPELINE_ID_PATTERN, Pipeline

_MODELS: tuple[tuple[type[BaseModel], JsonSchemaMode], ...] = (
    (ProvisionRequest, "validation"),
    (TriggerRequest, "validation"),
    (Pipeline, "serialization"),
    (PipelineStats, "serialization"),
    (RunSummary, "serialization"),
    (TriggerResult, "serialization"),
    (ProvisionResponse, "serialization"),
    (TeardownResponse, "serialization"),
    (HealthResponse, "serialization"),
    (ErrorResponse, "serialization"),
)

_ERROR_MEANINGS = {
    400: "Invalid request: unknown or invalid query parameter, invalid JSON, invalid or unknown field",
    401: f"Missing or unknown {TOKEN_HEADER}",
    403: "The token's role does not allow this operation",
    404: "No pipeline has this id",
    409: "Conflict with the current state (see the error code)",
    413: f"The body is larger than {MAX_BODY_BYTES} bytes",
    415: "The body is not application/json",
    422: "GitHub rejected the repository, the workflow or the dispatch (see the error code)",
    500: "Unexpected server error; details are in the server log only",
    502: "GitHub returned an error, or a dispatch's response was lost",
    503: "GitHub is unavailable, or the registry is busy; retry later",
}


@functools.cache
def openapi_json() -> bytes:
    """Return the document as JSON bytes, built once per process."""
    return json.dumps(build_openapi(), indent=1).encode("utf-8")


def build_openapi() -> dict[str, Any]:
    _, definitions = models_json_schema(_MODELS, ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = definitions.get("$defs", {})
    schemas["Drift"] = drift_schema()

    pipeline_id = {
        "name": "pipeline_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": PIPELINE_ID_PATTERN.pattern},
    }
    read, write = (400, 401, 403, 500), (400, 401, 403, 404, 409, 413, 415, 422, 500, 502, 503)
    paths = {
        "/api/health": {
            "get": _operation(
                "health", "Liveness: returns 200 while the server runs", "HealthResponse", (400, 500), public=True
            ),
        },
        "/api/openapi.json": {
            "get": {
                **_operation("openapi", "This OpenAPI document", None, (400, 500), public=True),
                "responses": {
                    "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                    **_errors((400, 500)),
                },
            },
        },
        "/api/pipelines": {
            "get": _operation(
                "listPipelines",
                "List pipelines, oldest first; torn-down ones only with include_deleted=true",
                {"type": "array", "items": _ref("Pipeline")},
                (*read, 503),
                parameters=[
                    _query("status", {"type": "string", "enum": ["active", "inactive", "error"]}),
                    _query("domain", {"type": "string"}, "linked domain, compared without case"),
                    _query("app", {"type": "string"}, "linked app"),
                    _query("include_deleted", {"type": "boolean", "default": False}),
                ],
            ),
        },
        "/api/pipelines/provision": {
            "post": _operation(
                "provisionPipeline",
                "Create a pipeline: check GitHub, write its spec file, converge it",
                "ProvisionResponse",
                write,
                status=201,
                body="ProvisionRequest",
            ),
        },
        "/api/pipelines/{pipeline_id}": {
            "get": _operation(
                "getPipeline", "One pipeline record", "Pipeline", (*read, 404), parameters=[pipeline_id]
            ),
            "delete": _operation(
                "teardownPipeline",
                "Tear a pipeline down: cancel runs, disable the workflow, mark it inactive; the "
                "repository and workflow file stay",
                "TeardownResponse",
                (400, 401, 403, 404, 409, 500, 502, 503),
                parameters=[
                    pipeline_id,
                    _query(
                        "preserve_repo",
                        {"type": "boolean", "default": True},
                        "must be true: ccm never deletes repositories",
                    ),
                ],
            ),
        },
        "/api/pipelines/{pipeline_id}/stats": {
            "get": _operation(
                "getPipelineStats",
                "Run metrics, last run and health of a pipeline",
                "PipelineStats",
                (*read, 404, 502, 503),
                parameters=[pipeline_id],
            ),
        },
        "/api/pipelines/{pipeline_id}/runs": {
            "get": _operation(
                "getPipelineRuns",
                "The newest workflow runs of a pipeline, newest first",
                {"type": "array", "items": _ref("RunSummary")},
                (*read, 404, 502, 503),
                parameters=[
                    pipeline_id,
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 10}),
                    _query("branch", {"type": "string", "minLength": 1, "maxLength": 255}),
                ],
            ),
        },
        "/api/pipelines/{pipeline_id}/trigger": {
            "post": _operation(
                "triggerPipeline",
                "Start a workflow_dispatch run; sent to GitHub once, never retried",
                "TriggerResult",
                write,
                status=202,
                body="TriggerRequest",
                body_required=False,
                parameters=[pipeline_id],
            ),
        },
        "/api/drift": {
            "get": _operation(
                "getDrift",
                "The current plan: a dry-run reconcile pass over every spec",
                "Drift",
                (*read, 409, 502, 503),
            ),
        },        "/metrics": {
            "get": {
                "operationId": "getMetrics",
                "summary": "Pipeline health, runs and ccm's own counters in the Prometheus text format",
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    **_errors(read),
                },
            },
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ccm REST API",
            "version": __version__,
            "description": "Provision, tear down, trigger and read the GitHub Actions pipelines that ccm manages.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"ccmToken": {"type": "apiKey", "in": "header", "name": TOKEN_HEADER}},
        },
        "security": [{"ccmToken": []}],
    }


def _operation(
    operation_id: str,
    summary: str,
    success_schema: str | dict[str, Any] | None,
    errors: tuple[int, ...],
    *,
    status: int = 200,
    body: str | None = None,
    body_required: bool = True,
    parameters: list[dict[str, Any]] | None = None,
    public: bool = False,
) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": operation_id, "summary": summary}
    if public:
        operation["security"] = []
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    if success_schema is not None:
        schema = _ref(success_schema) if isinstance(success_schema, str) else success_schema
        operation["responses"] = {
            str(status): {"description": "OK", "content": {"application/json": {"schema": schema}}},
            **_errors(errors),
        }
    return operation


def _errors(statuses: tuple[int, ...]) -> dict[str, Any]:
    return {
        str(status): {
            "description": _ERROR_MEANINGS[status],
            "content": {"application/json": {"schema": _ref("ErrorResponse")}},
        }
        for status in sorted(set(statuses))
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    parameter: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        parameter["description"] = description
    return parameter
