"""``CcmClient``: a small client of the ccm REST API, for VPS Manager and scripts.

Responses come back as the API's JSON (dicts and lists), so a newer server that adds fields does
not break an older client. Every error response raises a ``CcmError`` subclass chosen by status,
carrying the API's ``error`` code and ``detail`` sentence::

    with CcmClient("http://127.0.0.1:8000", token) as ccm:
        try:
            pipeline = ccm.provision("acme/shop", ".github/workflows/deploy.yml", linked_app="shop")
        except Conflict as error:
            pipeline_id = error.pipeline_id  # already provisioned: reuse it

The client never retries. A provision repeated after a timeout is safe, because the second one
returns 409 with the existing ``pipeline_id``; a trigger repeated after a timeout may start a
second run.
"""

from __future__ import annotations

from typing import Any

import httpx

TOKEN_HEADER = "CCM-Token"
DEFAULT_TIMEOUT_SECONDS = 30.0

# Named here because the method ``CcmClient.list`` hides the builtin inside the class body.
JsonObjects = list[dict[str, Any]]


class CcmError(Exception):
    """An API call that failed. ``status`` is None when no HTTP response arrived."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "", body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.body = body or {}


class InvalidRequest(CcmError):
    """400, 413 or 415: the request is wrong; ``problems`` lists the invalid fields."""

    @property
    def problems(self) -> list[dict[str, str]]:
        return list(self.body.get("problems") or [])


class Unauthorized(CcmError):
    """401: the token is missing, unknown or revoked."""


class Forbidden(CcmError):
    """403: the token's role does not allow the operation."""


class NotFound(CcmError):
    """404: no pipeline has the id, or the route does not exist."""


class Conflict(CcmError):
    """409: the pipeline exists already, was torn down, or its spec file is an operator's."""

    @property
    def pipeline_id(self) -> str | None:
        """The existing pipeline's id when the conflict is a duplicate provision."""
        value = self.body.get("pipeline_id")
        return value if isinstance(value, str) else None


class Rejected(CcmError):
    """422: GitHub rejected the repository, the workflow or the dispatch."""

    @property
    def github_message(self) -> str | None:
        value = self.body.get("github_message")
        return value if isinstance(value, str) else None


class ServerError(CcmError):
    """5xx: the server, GitHub or the registry failed; the same call may work later."""


class TransportError(CcmError):
    """No HTTP response: the connection failed or timed out."""


_ERRORS_BY_STATUS: dict[int, type[CcmError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: InvalidRequest,
    415: InvalidRequest,
    422: Rejected,
}


class CcmClient:
    """A synchronous client of one ccm server with one token; safe to share between threads."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        # Provisions and teardowns converge on GitHub before responding, which takes seconds
        # when GitHub is slow, so the default timeout is generous.
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={TOKEN_HEADER: token},
            timeout=timeout_seconds,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"CcmClient(base_url={str(self._http.base_url)!r})"

    def __enter__(self) -> CcmClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/api/health")

    def provision(
        self,
        repo: str,
        workflow_file: str,
        config: dict[str, Any] | None = None,
        *,
        linked_domain: str | None = None,
        linked_app: str | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        """Create a pipeline and return ``{pipeline_id, name, repository, status, created_at, ...}``."""
        body: dict[str, Any] = {"repo": repo, "workflow_file": workflow_file}
        optional = {"config": config, "linked_domain": linked_domain, "linked_app": linked_app, "name": name}
        body.update({key: value for key, value in optional.items() if value is not None})
        return self._call("POST", "/api/pipelines/provision", json=body)

    def teardown(self, pipeline_id: str) -> dict[str, Any]:
        """Tear a pipeline down and return ``{success, pipeline_id, status, deleted_at}``."""
        return self._call("DELETE", f"/api/pipelines/{pipeline_id}", params={"preserve_repo": "true"})

    def get(self, pipeline_id: str) -> dict[str, Any]:
        return self._call("GET", f"/api/pipelines/{pipeline_id}")

    def list(
        self,
        *,
        status: str | None = None,
        domain: str | None = None,
        app: str | None = None,
        include_deleted: bool = False,
    ) -> JsonObjects:
        filters = {"status": status, "domain": domain, "app": app}
        params = {key: value for key, value in filters.items() if value is not None}
        if include_deleted:
            params["include_deleted"] = "true"
        return self._call("GET", "/api/pipelines", params=params)

    def stats(self, pipeline_id: str) -> dict[str, Any]:
        return self._call("GET", f"/api/pipelines/{pipeline_id}/stats")

    def runs(self, pipeline_id: str, *, limit: int = 10, branch: str | None = None) -> JsonObjects:
        params: dict[str, Any] = {"limit": limit}
        if branch is not None:
            params["branch"] = branch
        return self._call("GET", f"/api/pipelines/{pipeline_id}/runs", params=params)

    def trigger(
        self, pipeline_id: str, *, branch: str | None = None, workflow_name: str | None = None
    ) -> dict[str, Any]:
        """Start a workflow_dispatch run and return ``{run_id, triggered_at, branch, ...}``."""
        body = {key: value for key, value in {"branch": branch, "workflow_name": workflow_name}.items() if value}
        return self._call("POST", f"/api/pipelines/{pipeline_id}/trigger", json=body)

    def drift(self) -> dict[str, Any]:
        return self._call("GET", "/api/drift")

    def _call(self, method: str, path: str, **options: Any) -> Any:
        try:
            response = self._http.request(method, path, **options)
        except httpx.HTTPError as error:
            raise TransportError(
                f"{method} {path} got no response from {self._http.base_url}: {type(error).__name__}: "
                f"{error}. Check that ccm is running and reachable."
            ) from error
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.is_success and body is not None:
            return body
        raise _error_from(method, path, response, body)


def _error_from(method: str, path: str, response: httpx.Response, body: Any) -> CcmError:
    status = response.status_code
    payload = body if isinstance(body, dict) else {}
    code = str(payload.get("error", ""))
    detail = str(payload.get("detail") or response.text[:300] or response.reason_phrase)
    message = f"{method} {path} failed with {status} {code or response.reason_phrase}: {detail}"
    if response.is_success:
        return CcmError(f"{method} {path} returned {status} without a JSON body.", status=status)
    error_class = _ERRORS_BY_STATUS.get(status, ServerError if status >= 500 else CcmError)
    return error_class(message, status=status, code=code, body=payload)
