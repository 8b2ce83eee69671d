"""Request bodies of the REST API: size limit, content type, JSON parsing and validation.

Every failure raises an ``ApiError`` before anything changes. The status is 413 for a body
over ``MAX_BODY_BYTES`` and 415 for a content type other than JSON. It is 400 for JSON that does
not parse and for a body that does not validate, unknown fields included, with each problem listed.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from bottle import BaseRequest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ccm.api.errors import ApiError, ErrorCode
from ccm.spec.models import (
    NAME_PATTERN,
    REPOSITORY_PATTERN,
    WORKFLOW_FILE_PATTERN,
    AppName,
    BranchName,
    DomainName,
    PipelineConfig,
)

# A provision body is under 1 KiB; 64 KiB bounds the memory a request can take.
MAX_BODY_BYTES = 64 * 1024
_READ_CHUNK_BYTES = 16 * 1024
# The deepest body the API documents is three levels (body, config, trigger_branches). Python's
# JSON parser recurses once per level and raises RecursionError near 1,000, which a 64 KiB body
# of brackets reaches, so deeper bodies are rejected before parsing.
MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(r'"(?:\\.|[^"\\])*"')
_JSON_BRACKET = re.compile(r"[\[\]{}]")

BodyT = TypeVar("BodyT", bound=BaseModel)

_JSON_TYPE_NAMES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ProvisionRequest(_Body):
    """The body of ``POST /api/pipelines/provision``."""

    repo: str = Field(pattern=REPOSITORY_PATTERN.pattern, examples=["owner/topengineer-api"])
    workflow_file: str = Field(pattern=WORKFLOW_FILE_PATTERN.pattern, examples=[".github/workflows/deploy.yml"])
    config: PipelineConfig = Field(default_factory=PipelineConfig)
    linked_domain: DomainName | None = None
    linked_app: AppName | None = None
    name: str | None = Field(
        default=None,
        pattern=NAME_PATTERN.pattern,
        description="spec name and file name in pipelines.d/; default: derived from linked_app, "
        "else from the repository name",
    )


class TriggerRequest(_Body):
    """The body of ``POST /api/pipelines/{pipeline_id}/trigger``; it may be empty."""

    branch: BranchName | None = Field(default=None, description="default: the first trigger branch")
    workflow_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="optional check: the pipeline's workflow file, by path or file name",
    )


def read_body(request: BaseRequest, model: type[BodyT]) -> BodyT:
    """Read, parse and validate a body that must be present."""
    body = read_optional_body(request, model)
    if body is None:
        raise ApiError(
            400,
            ErrorCode.INVALID_REQUEST,
            "The request has no body. Send a JSON object with Content-Type: application/json.",
        )
    return body


def read_optional_body(request: BaseRequest, model: type[BodyT]) -> BodyT | None:
    """Read, parse and validate the body; None when it is empty."""
    raw = _read_limited(request)
    if not raw:
        return None
    if request.content_type.split(";", 1)[0].strip().lower() != "application/json":
        raise ApiError(
            415,
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            f"The body has the content type {request.content_type or '(none)'!r}; this endpoint "
            "accepts application/json only. Send JSON with Content-Type: application/json.",
        )
    return validate(model, _parse(raw))


def validate(model: type[BodyT], data: dict[str, Any]) -> BodyT:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = [
            {"field": ".".join(str(part) for part in item["loc"]) or "(body)", "message": item["msg"]}
            for item in error.errors()
        ]
        listed = "; ".join(f"{item['field']}: {item['message']}" for item in problems)
        raise ApiError(
            400,
            ErrorCode.INVALID_REQUEST,
            f"The request body is invalid: {listed}. Fix these fields and send it again.",
            problems=problems,
        ) from error


def _read_limited(request: BaseRequest) -> bytes:
    """Read the body, rejecting it with 413 once it passes ``MAX_BODY_BYTES``."""
    declared = request.environ.get("CONTENT_LENGTH") or "0"
    try:
        length = int(declared)
    except ValueError as error:
        raise ApiError(
            400, ErrorCode.INVALID_REQUEST, f"The Content-Length header {declared!r} is not a number."
        ) from error
    if length > MAX_BODY_BYTES:
        raise _too_large(f"{length} bytes")
    if length <= 0:
        return b""

    # Reading stops at the declared length, and never goes past the limit by more than one
    # chunk, whatever the server passes on.
    stream = request.environ["wsgi.input"]
    chunks: list[bytes] = []
    received = 0
    while received < length:
        chunk = stream.read(min(_READ_CHUNK_BYTES, length - received))
        if not chunk:
            break
        received += len(chunk)
        if received > MAX_BODY_BYTES:
            raise _too_large(f"more than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(size: str) -> ApiError:
    return ApiError(
        413,
        ErrorCode.BODY_TOO_LARGE,
        f"The request body has {size}; the limit is {MAX_BODY_BYTES} bytes (64 KiB). "
        "Send only the documented fields.",
    )


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ApiError(
            400, ErrorCode.INVALID_JSON, f"The request body is not UTF-8 text (byte {error.start}). Send UTF-8 JSON."
        ) from error
    if _nesting_depth(text) > MAX_JSON_DEPTH:
        raise ApiError(
            400,
            ErrorCode.INVALID_JSON,
            f"The request body nests arrays and objects deeper than {MAX_JSON_DEPTH} levels; the "
            "documented bodies need three. Send a JSON object with the documented fields.",
        )
    try:
        data = json.loads(text, object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant)
    except ValueError as error:
        raise ApiError(400, ErrorCode.INVALID_JSON, f"The request body is not valid JSON: {error}.") from error
    if not isinstance(data, dict):
        kind = _JSON_TYPE_NAMES.get(type(data), "value")
        raise ApiError(
            400,
            ErrorCode.INVALID_JSON,
            f"The request body is a JSON {kind}; send a JSON object with the documented fields.",
        )
    return data


def _nesting_depth(text: str) -> int:
    """Return how deep arrays and objects nest in ``text``, ignoring brackets inside strings."""
    depth = deepest = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        subject = f"the key {repeated[0]!r} appears" if len(repeated) == 1 else f"the keys {', '.join(map(repr, repeated))} appear"
        raise ValueError(f"{subject} more than once in one object")
    return dict(pairs)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")
