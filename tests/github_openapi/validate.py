"""Check an httpx request and its response against GitHub's OpenAPI description.

``assert_conforms(request, response)`` raises AssertionError naming the operation and each
violation. GitHub's description documents few error statuses, so two rules fill the gaps. A
4xx or 5xx response that the operation does not list must still have GitHub's ``basic-error``
shape. A ``304 Not Modified`` must respond to a GET and have no body, because GitHub supports
conditional requests on every GET. Any other status that the operation does not list fails.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_schema_validator import OAS30Validator
from werkzeug.datastructures import Headers, ImmutableMultiDict

DESCRIPTION = Path(__file__).with_name("github-actions.json")


@functools.cache
def description() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DESCRIPTION.read_text(encoding="utf-8"))
    return document


@functools.cache
def _openapi() -> OpenAPI:
    return OpenAPI.from_dict(description())


class HttpxOpenAPIRequest:
    """An httpx request in openapi-core's request protocol, as if sent to the described server.

    ``base_path`` is the API prefix of the real base URL, such as ``/api/v3`` on GitHub
    Enterprise Server. It is empty for the sandbox, and it is removed before matching paths.
    """

    def __init__(self, request: httpx.Request, base_path: str = "") -> None:
        self._request = request
        self._base_path = base_path.rstrip("/")
        query = parse_qsl(request.url.query.decode(), keep_blank_values=True)
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(query),
            header=Headers(list(request.headers.items())),
            cookie=ImmutableMultiDict(),
        )

    @property
    def host_url(self) -> str:
        return str(description()["servers"][0]["url"])

    @property
    def path(self) -> str:
        return self._request.url.path.removeprefix(self._base_path)

    @property
    def method(self) -> str:
        return self._request.method.lower()

    @property
    def body(self) -> bytes | None:
        return self._request.content or None

    @property
    def content_type(self) -> str:
        return str(self._request.headers.get("Content-Type", ""))


class HttpxOpenAPIResponse:
    """An httpx response in openapi-core's response protocol."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def data(self) -> bytes | None:
        return self._response.content or None

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def content_type(self) -> str:
        return str(self._response.headers.get("Content-Type", "")).lower()

    @property
    def headers(self) -> Headers:
        return Headers(list(self._response.headers.items()))


def find_operation(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    """Return the path template and operation that describe ``method path``, if any."""
    for template, item in description()["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in item:
            return template, item[method.lower()]
    return None


def assert_conforms(request: httpx.Request, response: httpx.Response, *, base_path: str = "") -> None:
    """Raise AssertionError unless the request and the response follow GitHub's description."""
    openapi_request = HttpxOpenAPIRequest(request, base_path)
    found = find_operation(request.method, openapi_request.path)
    name = f"{request.method} {openapi_request.path}"
    if found is None:
        raise AssertionError(f"{name} is not an operation of {DESCRIPTION.name}; add it to extract.py.")
    template, operation = found
    problems: list[str] = []

    try:
        _openapi().validate_request(openapi_request)
    except Exception as error:  # openapi-core raises a different class for each kind of violation
        problems.append(f"request: {_explain(error)}")

    status = response.status_code
    if status == 304:
        if request.method != "GET" or response.content:
            problems.append("response: 304 Not Modified must answer a GET and have no body")
    elif str(status) in operation["responses"]:
        try:
            _openapi().validate_response(openapi_request, HttpxOpenAPIResponse(response))
        except Exception as error:  # as above
            problems.append(f"response {status}: {_explain(error)}")
    elif status >= 400:
        problems.extend(f"response {status}: {problem}" for problem in _basic_error_problems(response))
    else:
        listed = ", ".join(operation["responses"])
        problems.append(f"response: status {status} is not one of the documented statuses {listed}")

    if problems:
        raise AssertionError(
            f"{name} ({operation.get('operationId', template)}) "
            "does not follow GitHub's OpenAPI description:\n- " + "\n- ".join(problems)
        )


def _basic_error_problems(response: httpx.Response) -> list[str]:
    try:
        body = response.json()
    except ValueError:
        return [f"the body is not JSON: {response.text[:200]!r}"]
    schema = description()["components"]["schemas"]["basic-error"]
    validator = OAS30Validator(schema)
    return [error.message for error in validator.iter_errors(body)]


def _explain(error: BaseException) -> str:
    """Return the error and the schema violations that openapi-core chains under it."""
    parts = [f"{type(error).__name__}: {error}"]
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for schema_error in getattr(current, "schema_errors", ()) or ():
            location = "/".join(str(part) for part in schema_error.absolute_path)
            parts.append(f"{location or '(body)'}: {schema_error.message}")
        current = current.__cause__ or current.__context__
    return "; ".join(parts)
