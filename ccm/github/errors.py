"""Errors of the GitHub client: one tree, split into temporary and permanent failures.

A *temporary* error (``GitHubTemporaryError``: transport failures, timeouts, 5xx, rate limits) may
succeed when the same request is sent again later, so the client retries it when the request is
safe to repeat. A *permanent* error (``GitHubPermanentError``: 401, 403 for a missing permission,
404, 409, 422 and other 4xx) fails the same way every time until someone changes the token, the
repository or the request. ``DispatchOutcomeUnknown`` is neither: a workflow dispatch whose
response was lost may or may not have started a run, so it must not be sent again blindly.

Responses and httpx exceptions become these errors in this module only (``error_from_response``
and ``error_from_transport``). GitHub's response bodies are cut to ``BODY_EXCERPT_CHARS``
characters before they reach a message.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import httpx

BODY_EXCERPT_CHARS = 300


class GitHubError(Exception):
    """A request to GitHub that failed. ``str(error)`` is a full sentence with the fix."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        documentation_url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.request_id = request_id
        self.documentation_url = documentation_url


class GitHubTemporaryError(GitHubError):
    """A failure that may go away when the same request is sent again later."""


class GitHubPermanentError(GitHubError):
    """A failure that repeats until the token, the repository or the request changes."""


class TransportError(GitHubTemporaryError):
    """No HTTP response: the connection failed, broke or timed out.

    ``request_sent`` is False only when the request certainly never left this machine (the
    connection was never made), so GitHub cannot have acted on it.
    """

    def __init__(self, message: str, *, request_sent: bool) -> None:
        super().__init__(message)
        self.request_sent = request_sent


class ServerError(GitHubTemporaryError):
    """A 5xx response: GitHub or a proxy in front of it failed."""


class RateLimitKind(str, enum.Enum):
    """The GitHub rate limit that rejected a request."""

    PRIMARY = "primary"  # the hourly request budget of the token is used up
    SECONDARY = "secondary"  # too many requests at once or too fast, whatever the budget


class RateLimited(GitHubTemporaryError):
    """A 403 or 429 response from a rate limit.

    ``reset_at`` is when the primary limit's window resets (``X-RateLimit-Reset``), and
    ``retry_after`` the seconds to wait that GitHub sent (``Retry-After``). Each is None when
    GitHub did not send the header.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: RateLimitKind,
        reset_at: datetime | None,
        retry_after: float | None,
        status: int | None = None,
        request_id: str | None = None,
        documentation_url: str | None = None,
    ) -> None:
        super().__init__(
            message, status=status, request_id=request_id, documentation_url=documentation_url
        )
        self.kind = kind
        self.reset_at = reset_at
        self.retry_after = retry_after


class Unauthorized(GitHubPermanentError):
    """401: the token is missing, invalid, expired or revoked."""


class Forbidden(GitHubPermanentError):
    """403 that is not a rate limit: the token lacks a permission, or the action is blocked."""


class NotFound(GitHubPermanentError):
    """404: the repository, workflow or run does not exist, or the token cannot see it."""


class Conflict(GitHubPermanentError):
    """409: the object is not in a state that allows the request (a completed run, say)."""


class Unprocessable(GitHubPermanentError):
    """422: GitHub understood the request but rejected its content."""


class DispatchOutcomeUnknown(GitHubError):
    """A workflow dispatch whose response was lost: GitHub may or may not have started a run."""


_HINTS: dict[int, str] = {
    400: "Check the request parameters.",
    401: "Check that the GitHub token is valid and has not expired or been revoked.",
    403: "Check that the token has the Actions permission this request needs "
    "(fine-grained: Actions read and write; classic: the repo and workflow scopes).",
    404: "Check the repository and workflow names, and that the token can access the repository.",
    409: "The object changed state on GitHub; read it again before acting on it.",
    422: "Check the values sent, such as the ref and the workflow inputs.",
}

_PERMANENT_CLASSES: dict[int, type[GitHubPermanentError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: Unprocessable,
}


def excerpt(text: str) -> str:
    """Cut ``text`` to ``BODY_EXCERPT_CHARS`` characters on one line, marking the cut."""
    flat = " ".join(text.split())
    if len(flat) <= BODY_EXCERPT_CHARS:
        return flat
    return flat[:BODY_EXCERPT_CHARS] + "…"


def _github_message(response: httpx.Response) -> tuple[str, str | None]:
    """Return GitHub's ``message`` (with its ``errors`` details) and ``documentation_url``."""
    try:
        body: Any = response.json()
    except ValueError:
        return excerpt(response.text), None
    if not isinstance(body, dict):
        return excerpt(response.text), None

    message = str(body.get("message") or "").strip()
    details = body.get("errors")
    if details:
        message = f"{message} ({details})" if message else str(details)
    documentation_url = body.get("documentation_url")
    return excerpt(message or response.text), (
        str(documentation_url) if documentation_url else None
    )


def _epoch_header(response: httpx.Response, name: str) -> datetime | None:
    value = response.headers.get(name, "")
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except ValueError:
        return None


def _seconds_header(response: httpx.Response, name: str) -> float | None:
    # GitHub sends Retry-After in seconds, never in the HTTP-date form of RFC 9110 (section
    # 10.2.3). A value that is not a number is therefore treated as absent.
    value = response.headers.get(name, "")
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(seconds, 0.0)


def _format_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _rate_limit_kind(response: httpx.Response, message: str) -> RateLimitKind | None:
    """Classify a 403 or 429 the way GitHub's REST documentation (version 2022-11-28) does.

    A secondary limit names itself in its message or sends ``Retry-After``. A primary limit
    sends ``X-RateLimit-Remaining: 0``. A 429 with neither is still a rate limit, treated as secondary.
    """
    if response.status_code not in (403, 429):
        return None
    if "secondary rate limit" in message.lower() or "retry-after" in response.headers:
        return RateLimitKind.SECONDARY
    if response.headers.get("x-ratelimit-remaining") == "0":
        return RateLimitKind.PRIMARY
    if response.status_code == 429:
        return RateLimitKind.SECONDARY
    return None


def error_from_response(method: str, path: str, response: httpx.Response) -> GitHubError:
    """Map a response with a 4xx or 5xx status to the matching error."""
    status = response.status_code
    message, documentation_url = _github_message(response)
    request_id = response.headers.get("x-github-request-id")
    failed = f"{method} {path} failed with {status} {response.reason_phrase}"
    # GitHub's message is often the reason phrase again ("Not Found"), which adds nothing.
    if message and message.rstrip(".").lower() != response.reason_phrase.lower():
        failed += f": {message}"
    failed = _end_sentence(failed)
    common: dict[str, Any] = {
        "status": status,
        "request_id": request_id,
        "documentation_url": documentation_url,
    }

    kind = _rate_limit_kind(response, message)
    if kind is not None:
        reset_at = _epoch_header(response, "x-ratelimit-reset")
        retry_after = _seconds_header(response, "retry-after")
        if kind is RateLimitKind.PRIMARY:
            resource = response.headers.get("x-ratelimit-resource", "core")
            when = _format_time(reset_at) if reset_at else "an unknown time"
            text = (
                f"{failed} GitHub's primary rate limit for the {resource} resource is used up "
                f"and resets at {when}. Run the command again after that time."
            )
        else:
            wait = f"{retry_after:g} s" if retry_after is not None else "at least a minute"
            text = (
                f"{failed} GitHub's secondary rate limit rejected the request; retry after "
                f"{wait}, and send fewer requests at once if this repeats."
            )
        return RateLimited(text, kind=kind, reset_at=reset_at, retry_after=retry_after, **common)

    if status >= 500:
        return ServerError(
            f"{failed} GitHub or a proxy in front of it failed; the request can be repeated later.",
            **common,
        )
    hint = _HINTS.get(status, "Check the request against GitHub's REST API documentation.")
    error_class = _PERMANENT_CLASSES.get(status, GitHubPermanentError)
    return error_class(f"{failed} {hint}", **common)


def _end_sentence(text: str) -> str:
    """Return ``text`` with a full stop added, unless it already ends a sentence.

    GitHub's messages end in a period, in none, or in a period inside brackets, as in "... for
    more details.)", which another period would turn into ".).".
    """
    ending = text.rstrip(")\"'")
    if ending.endswith((".", "!", "?", "…")):
        return text
    return f"{text}."


def error_from_transport(method: str, path: str, error: httpx.HTTPError) -> TransportError:
    """Map an httpx exception raised before a response arrived; the caller chains it."""
    # A failed connect or an exhausted connection pool means no byte of the request was sent.
    request_sent = not isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    if isinstance(error, httpx.TimeoutException):
        what = f"timed out ({type(error).__name__})"
    else:
        what = f"failed ({type(error).__name__}: {excerpt(str(error)) or 'no detail'})"
    return TransportError(
        f"{method} {path} {what}. Check the network path to GitHub; the request can be "
        "repeated later.",
        request_sent=request_sent,
    )
