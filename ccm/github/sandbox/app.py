"""The sandbox's WSGI app: GitHub's REST endpoints, and the admin API under ``/_sandbox/``.

Each GitHub request goes through the same steps, in GitHub's order: injected faults, then
authentication, then the primary rate limit, then the endpoint, then the conditional response
(a 304 for a matching ``If-None-Match``), and last the rate limit count and the headers. The
admin API is not authenticated, counted, limited or faulted.
"""

from __future__ import annotations

import functools
import hashlib
import http
import itertools
import json
import logging
import os
import time
from typing import Any

import bottle
from pydantic import TypeAdapter, ValidationError

from ccm.github.sandbox import endpoints
from ccm.github.sandbox.clock import MAX_SECONDS
from ccm.github.sandbox.endpoints import Call, Endpoint, Reply
from ccm.github.sandbox.errors import GitHubError
from ccm.github.sandbox.faults import Fault, FaultKind
from ccm.github.sandbox.payloads import BASE_MARKER
from ccm.github.sandbox.ratelimit import RateLimiter, RateLimitStatus, token_key
from ccm.github.sandbox.routes import RouteKind
from ccm.github.sandbox.world import SandboxWorld

logger = logging.getLogger(__name__)

API_VERSION = "2022-11-28"
_RATE_LIMIT_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
_REPOSITORY = "/repos/<owner>/<repo>"
_WORKFLOW = f"{_REPOSITORY}/actions/workflows/<workflow_id>"
_RUN = f"{_REPOSITORY}/actions/runs/<run_id>"

ROUTES: tuple[tuple[str, str, RouteKind, Endpoint], ...] = (
    ("GET", "/rate_limit", RouteKind.RATE_LIMIT, endpoints.rate_limit),
    ("GET", _REPOSITORY, RouteKind.GET_REPOSITORY, endpoints.get_repository),
    ("GET", f"{_REPOSITORY}/actions/workflows", RouteKind.LIST_WORKFLOWS, endpoints.list_workflows),
    ("GET", _WORKFLOW, RouteKind.GET_WORKFLOW, endpoints.get_workflow),
    ("PUT", f"{_WORKFLOW}/enable", RouteKind.ENABLE_WORKFLOW, endpoints.enable_workflow),
    ("PUT", f"{_WORKFLOW}/disable", RouteKind.DISABLE_WORKFLOW, endpoints.disable_workflow),
    ("POST", f"{_WORKFLOW}/dispatches", RouteKind.DISPATCH, endpoints.dispatch),
    ("GET", f"{_WORKFLOW}/runs", RouteKind.LIST_WORKFLOW_RUNS, endpoints.list_runs),
    ("GET", f"{_REPOSITORY}/actions/runs", RouteKind.LIST_RUNS, endpoints.list_runs),
    ("GET", _RUN, RouteKind.GET_RUN, endpoints.get_run),
    ("POST", f"{_RUN}/cancel", RouteKind.CANCEL_RUN, endpoints.cancel_run),
    ("POST", f"{_RUN}/force-cancel", RouteKind.FORCE_CANCEL_RUN, endpoints.force_cancel_run),
)

_request_ids = itertools.count(1)


def build_app(world: SandboxWorld) -> bottle.Bottle:
    """Return the Bottle app that serves ``world``."""
    app = bottle.Bottle()
    for method, path, kind, endpoint in ROUTES:
        app.route(path, method, functools.partial(_serve, world, kind, endpoint))
    _add_admin_routes(app, world)
    app.route("/<path:path>", "ANY", functools.partial(_serve, world, RouteKind.UNKNOWN, endpoints.unknown))
    app.route("/", "ANY", functools.partial(_serve, world, RouteKind.UNKNOWN, endpoints.unknown))
    return app


def _serve(world: SandboxWorld, kind: RouteKind, endpoint: Endpoint, **arguments: str) -> bottle.HTTPResponse:
    request = bottle.request
    request_id = f"{os.getpid():04X}:{next(_request_ids):08X}"
    method = request.method
    base = f"{request.urlparts.scheme}://{request.urlparts.netloc}"

    # Faults come first: they stand for the network and GitHub's front end failing.
    plan = world.faults.plan(method, kind, request.path)
    if plan.latency_seconds:
        time.sleep(plan.latency_seconds)
    fault = plan.fault
    if fault is not None and fault.kind is FaultKind.TIMEOUT:
        world.faults.hold(fault.hold_seconds)
        fault = None

    token = _token(request.get_header("Authorization", ""))
    authenticated = token is not None and world.accepts_token(token)
    limiter: RateLimiter = world.rate_limits if authenticated else world.unauthenticated_limits
    key = token_key(token) if authenticated and token else "unauthenticated"
    rate = limiter.status(key)

    if fault is not None:
        reply, counted = _fault_reply(fault, key, rate, request_id, world.clock.time()), False
    elif not authenticated:
        message = "Requires authentication" if token is None else "Bad credentials"
        reply, counted = _error_reply(GitHubError(401, message)), True
    elif rate.remaining == 0 and kind is not RouteKind.RATE_LIMIT:
        reply, counted = _primary_limit_reply(key, rate, request_id), False
    else:
        try:
            reply = endpoint(world, Call(request=request, arguments=arguments, rate=rate))
        except GitHubError as error:
            reply = _error_reply(error)
        except Exception:
            logger.exception("The sandbox failed on %s %s; responding with 500", method, request.path)
            reply = _error_reply(GitHubError(500, "Server Error"))
        # GET /rate_limit is free on GitHub.
        counted = kind is not RouteKind.RATE_LIMIT

    body = None if reply.body is None else json.dumps(reply.body, separators=(",", ":"))
    headers = {"X-GitHub-Request-Id": request_id, **reply.headers}
    status = reply.status
    if body is not None and method == "GET" and status == 200:
        etag = 'W/"' + hashlib.sha256(body.encode()).hexdigest() + '"'
        headers["ETag"] = etag
        if _matches(request.get_header("If-None-Match"), etag):
            status, body, counted = 304, None, False

    if counted:
        rate = limiter.consume(key)
    if fault is None or fault.kind is not FaultKind.PRIMARY_RATE_LIMIT:
        headers.update(rate.headers())
    headers.update(_common_headers())
    world.counters.record(kind, counted=counted, not_modified=status == 304, error=status >= 400)
    logger.debug(
        "%s %s -> %d (%s%s)", method, request.path, status, kind.value, ", counted" if counted else ""
    )

    if fault is not None and fault.kind is FaultKind.CONNECTION_RESET:
        # A Content-Length larger than the body makes waitress close the connection after the
        # headers. Clients see the peer close mid-response, as with a reset connection.
        headers["Content-Length"] = "1024"
        return bottle.HTTPResponse(body="", status=200, headers=headers)
    if body is None:
        return bottle.HTTPResponse(body="", status=status, headers=headers)
    headers["Content-Type"] = "application/json; charset=utf-8"
    return bottle.HTTPResponse(body=body.replace(BASE_MARKER, base), status=status, headers=headers)


def _token(authorization: str) -> str | None:
    """Return the token of a ``Bearer`` or ``token`` Authorization header, None when there is none."""
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() not in ("bearer", "token"):
        return None
    return credentials.strip() or None


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Compare ``If-None-Match`` with ``etag`` weakly (RFC 9110, section 13.1.2)."""
    if not if_none_match:
        return False
    opaque = etag.removeprefix("W/")
    candidates = [candidate.strip() for candidate in if_none_match.split(",")]
    return any(candidate == "*" or candidate.removeprefix("W/") == opaque for candidate in candidates)


def _common_headers() -> dict[str, str]:
    return {
        "X-GitHub-Api-Version-Selected": API_VERSION,
        "X-GitHub-Media-Type": "github.v3; format=json",
        "Cache-Control": "private, max-age=60, s-maxage=60",
        "Vary": "Accept, Authorization, Cookie, X-GitHub-OTP",
    }


def _error_reply(error: GitHubError) -> Reply:
    return Reply(status=error.status, body=error.body())


def _primary_limit_reply(key: str, rate: RateLimitStatus, request_id: str) -> Reply:
    user_id = int(key[:8], 16) if key != "unauthenticated" else 0
    message = (
        f"API rate limit exceeded for user ID {user_id}. If you reach out to GitHub Support for help, "
        f"please include the request ID {request_id}."
    )
    reset = rate.model_copy(update={"remaining": 0, "used": rate.limit})
    return Reply(
        status=403,
        body=GitHubError(403, message, f"{_RATE_LIMIT_DOCS}#about-primary-rate-limits").body(),
        headers=reset.headers(),
    )


def _fault_reply(fault: Fault, key: str, rate: RateLimitStatus, request_id: str, wall_now: float) -> Reply:
    if fault.kind is FaultKind.STATUS:
        status = fault.status or 500
        return _error_reply(GitHubError(status, fault.message or http.HTTPStatus(status).phrase))
    if fault.kind is FaultKind.PRIMARY_RATE_LIMIT:
        exhausted = rate
        if fault.reset_after_seconds is not None:
            exhausted = rate.model_copy(update={"reset": int(wall_now) + fault.reset_after_seconds})
        reply = _primary_limit_reply(key, exhausted, request_id)
        return Reply(status=fault.rate_limit_status, body=reply.body, headers=reply.headers)
    if fault.kind is FaultKind.SECONDARY_RATE_LIMIT:
        message = fault.message or (
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
            f"If you reach out to GitHub Support for help, please include the request ID {request_id}."
        )
        headers = {} if fault.retry_after_seconds is None else {"Retry-After": str(fault.retry_after_seconds)}
        error = GitHubError(
            fault.rate_limit_status, message, f"{_RATE_LIMIT_DOCS}#about-secondary-rate-limits"
        )
        return Reply(status=error.status, body=error.body(), headers=headers)
    # A connection reset sends no body; the status only matters for the counters.
    return Reply(status=599)


# --- admin API ---------------------------------------------------------------------------------

_FAULT_LIST = TypeAdapter(list[Fault])


def _add_admin_routes(app: bottle.Bottle, world: SandboxWorld) -> None:
    def admin_json(status: int, body: Any) -> bottle.HTTPResponse:
        return bottle.HTTPResponse(
            body=json.dumps(body), status=status, headers={"Content-Type": "application/json"}
        )

    def read_json() -> Any:
        try:
            return json.loads(bottle.request.body.read() or b"null")
        except ValueError as error:
            raise bottle.HTTPResponse(
                body=json.dumps({"message": f"The request body is not valid JSON: {error}."}),
                status=400,
                headers={"Content-Type": "application/json"},
            ) from error

    def add_faults() -> bottle.HTTPResponse:
        data = read_json()
        try:
            faults = _FAULT_LIST.validate_python(data if isinstance(data, list) else [data])
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in item['loc']) or 'body'}: "
                f"{str(item['msg']).removeprefix('Value error, ')}"
                for item in error.errors()
            )
            return admin_json(422, {"message": f"Invalid fault: {problems}."})
        ids = [world.faults.add(fault) for fault in faults]
        logger.info("Added sandbox faults %s", ids)
        return admin_json(201, {"ids": ids})

    def list_faults() -> bottle.HTTPResponse:
        return admin_json(200, [active.model_dump(mode="json") for active in world.faults.active()])

    def clear_faults() -> bottle.HTTPResponse:
        world.faults.clear()
        return bottle.HTTPResponse(status=204)

    def remove_fault(fault_id: int) -> bottle.HTTPResponse:
        if not world.faults.remove(fault_id):
            return admin_json(404, {"message": f"No fault with id {fault_id} is in force."})
        return bottle.HTTPResponse(status=204)

    def counters() -> bottle.HTTPResponse:
        snapshot = world.counters.snapshot()
        return admin_json(
            200,
            {
                "by_kind": {kind.value: counts.model_dump() for kind, counts in snapshot.by_kind.items()},
                "total": snapshot.total.model_dump(),
            },
        )

    def reset_counters() -> bottle.HTTPResponse:
        world.counters.reset()
        return bottle.HTTPResponse(status=204)

    def skip_time() -> bottle.HTTPResponse:
        data = read_json()
        seconds = data.get("seconds") if isinstance(data, dict) else None
        # JSON numbers become int or float; NaN and Infinity, which Python's parser accepts, and
        # 1e400, which it reads as infinity, fail the range check.
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= MAX_SECONDS:
            return admin_json(
                422,
                {
                    "message": f"seconds {json.dumps(seconds)} is not a number of simulated seconds "
                    f'from 0 to {MAX_SECONDS:.0f} (ten years). Send {{"seconds": N}} with N in that range.'
                },
            )
        world.skip_time(float(seconds))
        return admin_json(200, {"now": world.now()})

    app.route("/_sandbox/faults", "POST", add_faults)
    app.route("/_sandbox/faults", "GET", list_faults)
    app.route("/_sandbox/faults", "DELETE", clear_faults)
    app.route("/_sandbox/faults/<fault_id:int>", "DELETE", remove_fault)
    app.route("/_sandbox/counters", "GET", counters)
    app.route("/_sandbox/counters/reset", "POST", reset_counters)
    app.route("/_sandbox/time/skip", "POST", skip_time)
