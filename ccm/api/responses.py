"""Response bodies of the REST API that are not a model of another layer."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ccm.pipeline import PipelineStatus, Timestamp


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


class ProvisionResponse(_Answer):
    """The pipeline that a provision created, converged on GitHub before the response."""

    pipeline_id: str = Field(examples=["pipe_abc123def456"])
    name: str = Field(description="the spec name, also the file pipelines.d/<name>.yaml")
    repository: str
    status: PipelineStatus
    status_reason: str | None = Field(default=None, description="why the status is error; else null")
    created_at: Timestamp


class TeardownResponse(_Answer):
    """A pipeline torn down: runs cancelled, workflow disabled, record kept as inactive."""

    success: bool
    pipeline_id: str
    status: PipelineStatus
    deleted_at: Timestamp


class HealthResponse(_Answer):
    status: str = Field(examples=["ok"])
    version: str


class Problem(_Answer):
    field: str = Field(description="dotted path of the field, such as config.trigger_branches.0")
    message: str


class ErrorResponse(_Answer):
    """Every error response. The optional fields appear where they apply."""

    error: str = Field(description="stable code, such as pipeline_not_found or invalid_token")
    detail: str = Field(description="a full sentence naming the value at fault and the fix")
    problems: list[Problem] | None = Field(default=None, description="invalid fields (400)")
    pipeline_id: str | None = Field(
        default=None, description="the pipeline that already exists (409 pipeline_exists); null when none is registered yet"
    )
    github_message: str | None = Field(default=None, description="GitHub's error, for a rejected trigger")


def drift_schema() -> dict[str, Any]:
    """Return the JSON Schema of a dry-run pass report (``pass_to_json``)."""
    action = {
        "type": "object",
        "required": ["pipeline", "repository", "workflow_file", "action", "reason", "before", "after"],
        "properties": {
            "pipeline": {"type": "string"},
            "pipeline_id": {"type": ["string", "null"]},
            "repository": {"type": "string"},
            "workflow_file": {"type": "string"},
            "action": {"type": "string", "description": "register, enable_workflow, cancel_run, ..."},
            "reason": {"type": "string"},
            "before": {"type": "string"},
            "after": {"type": "string"},
            "run_id": {"type": "integer"},
        },
    }
    return {
        "type": "object",
        "description": "The plan of a dry-run reconcile pass over every spec: what would change and why.",
        "required": ["pass_id", "dry_run", "github", "in_sync", "actions", "held", "spec_errors", "summary"],
        "properties": {
            "pass_id": {"type": "string"},
            "dry_run": {"type": "boolean"},
            "github": {"type": "string", "description": "the GitHub API in use, or the sandbox banner"},
            "in_sync": {"type": "boolean"},
            "actions": {"type": "array", "items": action},
            "held": {"type": "array", "items": {"type": "object"}},
            "refusal": {"type": ["string", "null"]},
            "spec_errors": {"type": "array", "items": {"type": "string"}},
            "summary": {"type": "object"},
            "exit_code": {"type": "integer"},
        },
    }
