"""JSON errors of the REST API: ``{"error": code, "detail": sentence}`` with the matching status.

``error`` is a stable code that a program can switch on; ``detail`` is a full sentence that names
the value at fault and the fix. Some errors carry more fields: ``problems`` (the invalid fields of
a request), ``pipeline_id`` (the existing pipeline of a 409) and ``github_message`` (GitHub's own
words when it rejected a trigger).
"""

from __future__ import annotations

import enum
import json
from typing import Any

from bottle import HTTPResponse

from ccm.github.errors import GitHubError, GitHubPermanentError, GitHubTemporaryError
from ccm.manager import (
    GitHubUnavailable,
    InvalidRequest,
    ManagerError,
    NameTaken,
    PipelineExists,
    PipelineNotFound,
    PipelineTornDown,
    RepositoryRejected,
    SpecNotRemovable,
    TriggerOutcomeUnknown,
    TriggerRefusal,
    TriggerRejected,
)
from ccm.reconcile.passes import PassRefused
from ccm.registry import RegistryLockTimeout
from ccm.spec import OperatorSpecFileError, SpecDirectoryError

JSON_CONTENT_TYPE = "application/json"


class ErrorCode(str, enum.Enum):
    MISSING_TOKEN = "missing_token"
    INVALID_TOKEN = "invalid_token"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    INVALID_JSON = "invalid_json"
    INVALID_REQUEST = "invalid_request"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    BODY_TOO_LARGE = "body_too_large"
    PIPELINE_NOT_FOUND = "pipeline_not_found"
    PIPELINE_EXISTS = "pipeline_exists"
    NAME_TAKEN = "name_taken"
    PIPELINE_TORN_DOWN = "pipeline_torn_down"
    SPEC_NOT_REMOVABLE = "spec_not_removable"
    REPOSITORY_REJECTED = "repository_rejected"
    WORKFLOW_NOT_DISPATCHABLE = TriggerRefusal.WORKFLOW_NOT_DISPATCHABLE.value
    WORKFLOW_DISABLED = TriggerRefusal.WORKFLOW_DISABLED.value
    REF_NOT_FOUND = TriggerRefusal.REF_NOT_FOUND.value
    WORKFLOW_NOT_FOUND = TriggerRefusal.WORKFLOW_NOT_FOUND.value
    DISPATCH_REJECTED = TriggerRefusal.REJECTED.value
    TRIGGER_OUTCOME_UNKNOWN = "trigger_outcome_unknown"
    PASS_REFUSED = "pass_refused"
    GITHUB_ERROR = "github_error"
    GITHUB_UNAVAILABLE = "github_unavailable"
    REGISTRY_BUSY = "registry_busy"
    SPEC_DIRECTORY_UNAVAILABLE = "spec_directory_unavailable"
    NOT_CONVERGED = "not_converged"
    INTERNAL_ERROR = "internal_error"


# Every status of the API's error responses, for the OpenAPI document.
ERROR_STATUSES = (400, 401, 403, 404, 405, 409, 413, 415, 422, 500, 502, 503)

_TRIGGER_STATUSES = {
    TriggerRefusal.WORKFLOW_NOT_DISPATCHABLE: 422,
    TriggerRefusal.WORKFLOW_DISABLED: 409,
    TriggerRefusal.REF_NOT_FOUND: 422,
    TriggerRefusal.WORKFLOW_NOT_FOUND: 422,
    TriggerRefusal.REJECTED: 422,
}


class ApiError(Exception):
    """An error response: the status, the code, the sentence and any extra fields."""

    def __init__(self, status: int, code: ErrorCode, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.extra = extra

    def response(self, headers: dict[str, str] | None = None) -> HTTPResponse:
        return json_response(
            self.status, {"error": self.code.value, "detail": self.detail, **self.extra}, headers
        )


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> HTTPResponse:
    return json_bytes_response(status, json.dumps(payload).encode("utf-8"), headers)


def json_bytes_response(status: int, body: bytes, headers: dict[str, str] | None = None) -> HTTPResponse:
    return HTTPResponse(body=body, status=status, headers={"Content-Type": JSON_CONTENT_TYPE, **(headers or {})})


def api_error_from(error: Exception) -> ApiError | None:
    """Return the ``ApiError`` for an error that the manager or the engine raises by design, else None."""
    message = str(error)
    match error:
        case InvalidRequest() if error.detail:
            return ApiError(400, ErrorCode.INVALID_REQUEST, message, problems=error.detail)
        case InvalidRequest():
            return ApiError(400, ErrorCode.INVALID_REQUEST, message)
        case PipelineNotFound():
            return ApiError(404, ErrorCode.PIPELINE_NOT_FOUND, message)
        case PipelineExists():
            return ApiError(409, ErrorCode.PIPELINE_EXISTS, message, pipeline_id=error.pipeline_id)
        case NameTaken():
            return ApiError(409, ErrorCode.NAME_TAKEN, message)
        case PipelineTornDown():
            return ApiError(409, ErrorCode.PIPELINE_TORN_DOWN, message)
        case SpecNotRemovable() | OperatorSpecFileError():
            return ApiError(409, ErrorCode.SPEC_NOT_REMOVABLE, message)
        case RepositoryRejected():
            return ApiError(422, ErrorCode.REPOSITORY_REJECTED, message)
        case TriggerRejected():
            return ApiError(
                _TRIGGER_STATUSES[error.reason],
                ErrorCode(error.reason.value),
                message,
                github_message=error.github_message,
            )
        case TriggerOutcomeUnknown():
            return ApiError(502, ErrorCode.TRIGGER_OUTCOME_UNKNOWN, message)
        case GitHubUnavailable() | GitHubTemporaryError():
            return ApiError(503, ErrorCode.GITHUB_UNAVAILABLE, message)
        case GitHubPermanentError():
            return ApiError(502, ErrorCode.GITHUB_ERROR, message)
        case GitHubError():
            # The monitor raises the base class when GitHub failed and nothing is cached yet.
            return ApiError(503, ErrorCode.GITHUB_UNAVAILABLE, message)
        case PassRefused():
            return ApiError(409, ErrorCode.PASS_REFUSED, message)
        case RegistryLockTimeout():
            return ApiError(503, ErrorCode.REGISTRY_BUSY, message)
        case SpecDirectoryError():
            return ApiError(503, ErrorCode.SPEC_DIRECTORY_UNAVAILABLE, message)
        case ManagerError():
            # The spec file changed but the pass did not converge the pipeline (GitHub failed
            # during it); the next pass retries, and so may the caller.
            return ApiError(503, ErrorCode.NOT_CONVERGED, message)
    return None


def internal_error() -> ApiError:
    return ApiError(
        500,
        ErrorCode.INTERNAL_ERROR,
        "The server failed to handle the request; the error is in its log. Retry later, and "
        "report it if it repeats.",
    )
