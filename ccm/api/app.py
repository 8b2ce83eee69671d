"""The REST API's routes: a Bottle app over ``PipelineManager`` and ``PipelineMonitor``.

Every route runs through ``_Routes.endpoint``, which authorizes the caller from the headers
before the handler reads any body. It turns the errors that the manager raises by design into
JSON responses, and responds to any other exception with a generic 500 after logging its
traceback. Bottle's own 404 and 405 responses become JSON through ``_routing_error``.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import bottle
from bottle import Bottle, HTTPError, HTTPResponse
from pydantic import BaseModel

from ccm import __version__
from ccm.api.auth import authorize
from ccm.api.bodies import ProvisionRequest, TriggerRequest, read_body, read_optional_body
from ccm.api.errors import (
    ApiError,
    ErrorCode,
    api_error_from,
    internal_error,
    json_bytes_response,
    json_response,
)
from ccm.api.listing import ListingCache, ListingQuery
from ccm.api.openapi import openapi_json
from ccm.api.responses import HealthResponse, ProvisionResponse, TeardownResponse
from ccm.github.client import MAX_PER_PAGE
from ccm.manager import PipelineManager
from ccm.monitor.prometheus import CONTENT_TYPE, render_metrics
from ccm.monitor.service import PipelineMonitor
from ccm.pipeline import Pipeline, PipelineStatus
from ccm.reconcile.passes import PassRequest, run_pass
from ccm.reconcile.report import pass_to_json
from ccm.tokens import Permission, TokenRecord, TokenStore

logger = logging.getLogger(__name__)

Handler = Callable[..., HTTPResponse]
_BOOLEANS = {"true": True, "false": False}


def create_app(manager: PipelineManager, monitor: PipelineMonitor, tokens: TokenStore) -> Bottle:
    """Build the WSGI app of the REST API; serve it with ``PipelineAPI`` or any WSGI server."""
    routes = _Routes(manager, monitor, tokens)
    app = Bottle(catchall=True)
    # Bottle calls this for the errors it raises itself: no route (404), wrong method (405), and
    # an exception outside a handler (500).
    app.default_error_handler = _routing_error

    app.route("/api/health", "GET", routes.endpoint(None, routes.health))
    app.route("/api/openapi.json", "GET", routes.endpoint(None, routes.openapi))
    app.route("/api/pipelines", "GET", routes.endpoint(Permission.READ, routes.list_pipelines))
    app.route("/api/pipelines/provision", "POST", routes.endpoint(Permission.WRITE, routes.provision))
    app.route("/api/pipelines/<pipeline_id>", "GET", routes.endpoint(Permission.READ, routes.get_pipeline))
    app.route("/api/pipelines/<pipeline_id>", "DELETE", routes.endpoint(Permission.WRITE, routes.teardown))
    app.route("/api/pipelines/<pipeline_id>/stats", "GET", routes.endpoint(Permission.READ, routes.stats))
    app.route("/api/pipelines/<pipeline_id>/runs", "GET", routes.endpoint(Permission.READ, routes.runs))
    app.route("/api/pipelines/<pipeline_id>/trigger", "POST", routes.endpoint(Permission.WRITE, routes.trigger))
    app.route("/api/drift", "GET", routes.endpoint(Permission.READ, routes.drift))
    app.route("/metrics", "GET", routes.endpoint(Permission.READ, routes.metrics))
    return app


class _Routes:
    def __init__(self, manager: PipelineManager, monitor: PipelineMonitor, tokens: TokenStore) -> None:
        self._manager = manager
        self._monitor = monitor
        self._tokens = tokens
        self._listings = ListingCache()

    def endpoint(self, permission: Permission | None, handler: Handler) -> Callable[..., HTTPResponse]:
        """Wrap ``handler(caller, **url_arguments)`` with authorization, error responses and logging."""

        @functools.wraps(handler)
        def serve(**url_arguments: str) -> HTTPResponse:
            request = bottle.request
            started = time.perf_counter()
            caller: TokenRecord | None = None
            try:
                if permission is not None:
                    caller = authorize(self._tokens, request, permission)
                response = handler(caller, **url_arguments)
            except ApiError as error:
                response = error.response()
            except Exception as error:  # every error becomes a JSON response, never a traceback
                known = api_error_from(error)
                if known is None:
                    logger.exception("%s %s failed with an unexpected error", request.method, request.path)
                    known = internal_error()
                elif known.status >= 500:
                    logger.error("%s %s failed: %s", request.method, request.path, error)
                response = known.response()

            # Changes at INFO, one line each; reads only at DEBUG, since monitors poll them.
            level = logging.DEBUG if request.method in ("GET", "HEAD") else logging.INFO
            logger.log(
                level,
                "%s %s -> %d (token %s, %.1f ms)",
                request.method,
                request.path,
                response.status_code,
                caller.name if caller else "-",
                (time.perf_counter() - started) * 1000,
            )
            return response

        return serve

    # -- open routes ---------------------------------------------------------------------------

    def health(self, caller: None) -> HTTPResponse:
        _query(set())
        return _model_response(200, HealthResponse(status="ok", version=__version__))

    def openapi(self, caller: None) -> HTTPResponse:
        _query(set())
        return json_bytes_response(200, openapi_json())

    # -- reads ---------------------------------------------------------------------------------

    def metrics(self, caller: TokenRecord) -> HTTPResponse:
        _query(set())
        engine = self._manager.engine
        text = render_metrics(
            self._monitor.get_all_pipeline_stats(),
            engine.statistics,
            engine.client.counts(),
            engine.client.rate_limit,
        )
        return HTTPResponse(body=text.encode("utf-8"), status=200, headers={"Content-Type": CONTENT_TYPE})

    def list_pipelines(self, caller: TokenRecord) -> HTTPResponse:
        query = _query({"status", "domain", "app", "include_deleted"})
        status = query.get("status")
        if status is not None and status not in {item.value for item in PipelineStatus}:
            raise _invalid_parameter("status", status, "active, inactive or error")
        listing = ListingQuery(
            status=PipelineStatus(status) if status is not None else None,
            domain=query.get("domain"),
            app=query.get("app"),
            include_deleted=_boolean(query, "include_deleted", default=False),
        )
        snapshot = self._manager.engine.registry.load()
        return json_bytes_response(200, self._listings.body(snapshot, listing))

    def get_pipeline(self, caller: TokenRecord, pipeline_id: str) -> HTTPResponse:
        _query(set())
        return _model_response(200, self._record(pipeline_id))

    def stats(self, caller: TokenRecord, pipeline_id: str) -> HTTPResponse:
        _query(set())
        self._record(pipeline_id)
        return _model_response(200, self._monitor.get_pipeline_stats(pipeline_id))

    def runs(self, caller: TokenRecord, pipeline_id: str) -> HTTPResponse:
        query = _query({"limit", "branch"})
        limit_text = query.get("limit", "10")
        if not limit_text.isascii() or not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_PER_PAGE:
            raise _invalid_parameter("limit", limit_text, f"a whole number from 1 to {MAX_PER_PAGE}")
        branch = query.get("branch")
        if branch is not None and not 1 <= len(branch) <= 255:
            raise _invalid_parameter("branch", branch, "a branch name of 1 to 255 characters")
        self._record(pipeline_id)
        runs = self._monitor.get_workflow_runs(pipeline_id, limit=int(limit_text), branch=branch)
        return json_response(200, [run.model_dump(mode="json") for run in runs])

    def drift(self, caller: TokenRecord) -> HTTPResponse:
        _query(set())
        engine = self._manager.engine
        result = run_pass(engine, PassRequest(dry_run=True))
        return json_response(200, pass_to_json(result, engine.github_label))

    # -- changes -------------------------------------------------------------------------------

    def provision(self, caller: TokenRecord) -> HTTPResponse:
        _query(set())
        body = read_body(bottle.request, ProvisionRequest)
        record = self._manager.provision_pipeline(
            body.repo,
            body.workflow_file,
            body.config.model_dump(mode="json"),
            name=body.name,
            linked_domain=body.linked_domain,
            linked_app=body.linked_app,
            requested_by=caller.name,
            actor=caller.name,
        )
        logger.info(
            "provision: token %s created %s (%s, %s)",
            caller.name, record.pipeline_id, record.repository, record.workflow_file,
        )
        provisioned = ProvisionResponse(
            pipeline_id=record.pipeline_id,
            name=record.name,
            repository=record.repository,
            status=record.status,
            status_reason=record.status_reason,
            created_at=record.created_at,
        )
        return _model_response(201, provisioned, {"Location": f"/api/pipelines/{record.pipeline_id}"})

    def teardown(self, caller: TokenRecord, pipeline_id: str) -> HTTPResponse:
        query = _query({"preserve_repo"})
        preserve_repo = _boolean(query, "preserve_repo", default=True)
        record = self._manager.deactivate_pipeline(pipeline_id, preserve_repo, actor=caller.name)
        logger.info("teardown: token %s tore down %s (%s)", caller.name, pipeline_id, record.repository)
        # deactivate_pipeline returns only once the record has deleted_at set.
        assert record.deleted_at is not None
        torn_down = TeardownResponse(
            success=True, pipeline_id=pipeline_id, status=record.status, deleted_at=record.deleted_at
        )
        return _model_response(200, torn_down)

    def trigger(self, caller: TokenRecord, pipeline_id: str) -> HTTPResponse:
        _query(set())
        body = read_optional_body(bottle.request, TriggerRequest) or TriggerRequest()
        record = self._record(pipeline_id)
        if body.workflow_name is not None and body.workflow_name not in _workflow_names(record):
            raise ApiError(
                400,
                ErrorCode.INVALID_REQUEST,
                f"workflow_name {body.workflow_name!r} is not the workflow of the pipeline "
                f"{pipeline_id}, which is {record.workflow_file}. Leave workflow_name out or "
                "pass that file.",
            )
        result = self._manager.trigger_pipeline(pipeline_id, body.branch, actor=caller.name)
        return _model_response(202, result)

    def _record(self, pipeline_id: str) -> Pipeline:
        record = self._manager.get_pipeline(pipeline_id)
        if record is None:
            raise ApiError(
                404,
                ErrorCode.PIPELINE_NOT_FOUND,
                f"No pipeline has the id {pipeline_id!r}. Pipeline ids look like pipe_0123456789ab; "
                "list them with GET /api/pipelines.",
            )
        return record


def _model_response(status: int, model: BaseModel, headers: dict[str, str] | None = None) -> HTTPResponse:
    return json_bytes_response(status, model.model_dump_json().encode("utf-8"), headers)


def _workflow_names(record: Pipeline) -> set[str]:
    return {record.workflow_file, record.workflow_file.rsplit("/", 1)[-1]}


def _query(allowed: set[str]) -> dict[str, str]:
    """Return the query parameters, rejecting unknown and repeated ones with 400."""
    query = bottle.request.query
    unknown = sorted(set(query.keys()) - allowed)
    if unknown:
        accepted = f"accepts {', '.join(sorted(allowed))}" if allowed else "accepts no query parameters"
        noun = "parameter" if len(unknown) == 1 else "parameters"
        raise ApiError(
            400,
            ErrorCode.INVALID_REQUEST,
            f"Unknown query {noun} {', '.join(map(repr, unknown))}; this endpoint {accepted}.",
        )
    repeated = sorted(name for name in query.keys() if len(query.getall(name)) > 1)
    if repeated:
        raise ApiError(
            400,
            ErrorCode.INVALID_REQUEST,
            f"The query {'parameter' if len(repeated) == 1 else 'parameters'} {', '.join(map(repr, repeated))} "
            "must be given only once.",
        )
    return {name: query.getunicode(name, default="") for name in query.keys()}


def _boolean(query: dict[str, str], name: str, *, default: bool) -> bool:
    text = query.get(name)
    if text is None:
        return default
    if text.lower() not in _BOOLEANS:
        raise _invalid_parameter(name, text, "true or false")
    return _BOOLEANS[text.lower()]


def _invalid_parameter(name: str, value: str, expected: str) -> ApiError:
    return ApiError(
        400,
        ErrorCode.INVALID_REQUEST,
        f"The query parameter {name}={value!r} is invalid; expected {expected}.",
        problems=[{"field": name, "message": f"expected {expected}"}],
    )


def _routing_error(error: HTTPError) -> str:
    """Return the JSON body of an error that Bottle raised outside the handlers."""
    request = bottle.request
    payload: dict[str, Any]
    if error.status_code == 404:
        payload = {
            "error": ErrorCode.NOT_FOUND.value,
            "detail": f"No route matches {request.path}. The routes are listed at GET /api/openapi.json.",
        }
    elif error.status_code == 405:
        allowed = ", ".join(method.strip() for method in error.headers.get("Allow", "").split(",") if method.strip())
        payload = {
            "error": ErrorCode.METHOD_NOT_ALLOWED.value,
            "detail": f"{request.method} is not allowed on {request.path}; use {allowed or 'another method'}.",
        }
    elif error.status_code < 500:
        payload = {"error": ErrorCode.INVALID_REQUEST.value, "detail": f"The request is invalid: {error.body}"}
    else:
        if error.exception is not None:
            logger.error(
                "%s %s failed outside a handler",
                request.method,
                request.path,
                exc_info=(type(error.exception), error.exception, error.exception.__traceback__),
            )
        fallback = internal_error()
        payload = {"error": fallback.code.value, "detail": fallback.detail}
    bottle.response.content_type = "application/json"
    return json.dumps(payload)
