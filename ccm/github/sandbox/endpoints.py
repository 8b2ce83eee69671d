"""The simulated GitHub endpoints: each turns a request into a ``Reply`` or raises GitHubError."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import bottle

from ccm.github.sandbox import payloads
from ccm.github.sandbox.errors import GitHubError, not_found
from ccm.github.sandbox.payloads import BASE_MARKER
from ccm.github.sandbox.ratelimit import RateLimitStatus
from ccm.github.sandbox.world import RUN_FILTER_STATUSES, RunFilter, SandboxWorld

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100
_RUNS_DOCS = "https://docs.github.com/rest/actions/workflow-runs"


@dataclass(frozen=True)
class Reply:
    """A status, a JSON body (None for no body) and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    """The parts of one request that an endpoint reads."""

    request: bottle.BaseRequest
    arguments: dict[str, str]
    rate: RateLimitStatus

    @property
    def repository(self) -> str:
        return f"{self.arguments['owner']}/{self.arguments['repo']}"

    def query(self, name: str) -> str | None:
        value = self.request.query.get(name)
        return value if value else None


Endpoint = Callable[[SandboxWorld, Call], Reply]


def rate_limit(world: SandboxWorld, call: Call) -> Reply:
    return Reply(status=200, body=payloads.rate_limit_overview(call.rate, world.clock.time()))


def get_repository(world: SandboxWorld, call: Call) -> Reply:
    return Reply(status=200, body=payloads.full_repository(world.repository(call.repository)))


def list_workflows(world: SandboxWorld, call: Call) -> Reply:
    workflows = world.workflows(call.repository)
    page, link = _paginate(workflows, call)
    return Reply(
        status=200,
        body={"total_count": len(workflows), "workflows": [payloads.workflow(record) for record in page]},
        headers=link,
    )


def get_workflow(world: SandboxWorld, call: Call) -> Reply:
    return Reply(
        status=200, body=payloads.workflow(world.workflow(call.repository, call.arguments["workflow_id"]))
    )


def enable_workflow(world: SandboxWorld, call: Call) -> Reply:
    world.enable_workflow(call.repository, call.arguments["workflow_id"])
    return Reply(status=204)


def disable_workflow(world: SandboxWorld, call: Call) -> Reply:
    world.disable_workflow(call.repository, call.arguments["workflow_id"])
    return Reply(status=204)


def dispatch(world: SandboxWorld, call: Call) -> Reply:
    docs = "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event"
    try:
        body = json.loads(call.request.body.read() or b"null")
    except (ValueError, UnicodeDecodeError) as error:
        raise GitHubError(400, "Problems parsing JSON", docs) from error
    if not isinstance(body, dict):
        raise GitHubError(400, "Problems parsing JSON", docs)

    observed = world.dispatch(
        call.repository, call.arguments["workflow_id"], body.get("ref"), body.get("inputs")
    )
    if body.get("return_run_details") is not True:
        return Reply(status=204)
    run_url = f"{BASE_MARKER}/repos/{observed.repository.full_name}/actions/runs/{observed.run.id}"
    return Reply(
        status=200,
        body={
            "workflow_run_id": observed.run.id,
            "run_url": run_url,
            "html_url": f"{BASE_MARKER}/{observed.repository.full_name}/actions/runs/{observed.run.id}",
        },
    )


def list_runs(world: SandboxWorld, call: Call) -> Reply:
    workflow_id = call.arguments.get("workflow_id")
    runs = world.runs(call.repository, _run_filter(call), workflow_id)
    page, link = _paginate(runs, call)
    return Reply(
        status=200,
        body={
            "total_count": len(runs),
            "workflow_runs": [payloads.workflow_run(observed) for observed in page],
        },
        headers=link,
    )


def get_run(world: SandboxWorld, call: Call) -> Reply:
    return Reply(status=200, body=payloads.workflow_run(world.run(call.repository, _run_id(call))))


def cancel_run(world: SandboxWorld, call: Call) -> Reply:
    world.cancel_run(call.repository, _run_id(call))
    return Reply(status=202, body={})


def force_cancel_run(world: SandboxWorld, call: Call) -> Reply:
    world.cancel_run(call.repository, _run_id(call), force=True)
    return Reply(status=202, body={})


def unknown(world: SandboxWorld, call: Call) -> Reply:
    raise not_found()


def _run_id(call: Call) -> int:
    text = call.arguments["run_id"]
    if not text.isdigit():
        raise not_found(f"{_RUNS_DOCS}#get-a-workflow-run")
    return int(text)


def _run_filter(call: Call) -> RunFilter:
    status = call.query("status")
    if status is not None and status not in RUN_FILTER_STATUSES:
        raise GitHubError(
            422,
            f"Invalid request.\n\nstatus {status!r} is not one of {', '.join(sorted(RUN_FILTER_STATUSES))}.",
            f"{_RUNS_DOCS}#list-workflow-runs-for-a-repository",
        )
    after, before = _created_range(call.query("created"))
    return RunFilter(
        branch=call.query("branch"),
        event=call.query("event"),
        status=status,
        actor=call.query("actor"),
        head_sha=call.query("head_sha"),
        created_after=after,
        created_before=before,
    )


_DATE = r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2})?)?"


def _created_range(value: str | None) -> tuple[float | None, float | None]:
    """Parse GitHub's date search syntax: ``DATE``, ``>=DATE``, ``<DATE``, ``A..B`` (and ``*`` ends)."""
    if value is None:
        return None, None
    if match := re.fullmatch(rf"({_DATE}|\*)\.\.({_DATE}|\*)", value):
        start, end = match.groups()
        return (None if start == "*" else _date_start(start)), (None if end == "*" else _date_end(end))
    if match := re.fullmatch(rf"(>=|<=|>|<)?({_DATE})", value):
        operator, date = match.groups()
        if operator in (">=", ">"):
            return (_date_start(date) if operator == ">=" else _date_end(date) + 1e-6), None
        if operator in ("<=", "<"):
            return None, (_date_end(date) if operator == "<=" else _date_start(date) - 1e-6)
        return _date_start(date), _date_end(date)
    raise GitHubError(
        422,
        f"Invalid request.\n\ncreated {value!r} is not a date, a date range (A..B) or a comparison (>=DATE).",
        f"{_RUNS_DOCS}#list-workflow-runs-for-a-repository",
    )


def _parse_date(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _date_start(text: str) -> float:
    return _parse_date(text).timestamp()


def _date_end(text: str) -> float:
    """Return the last moment of a date: the end of the day for a bare date, else the time itself."""
    seconds = _parse_date(text).timestamp()
    return seconds + 86_400 - 1e-6 if "T" not in text else seconds


def _paginate(items: list[Any], call: Call) -> tuple[list[Any], dict[str, str]]:
    """Return one page of ``items`` and the Link header that GitHub sends with it."""
    per_page = min(max(_positive(call.query("per_page"), DEFAULT_PER_PAGE), 1), MAX_PER_PAGE)
    page = _positive(call.query("page"), 1)
    last = max(1, math.ceil(len(items) / per_page))

    relations: list[tuple[str, int]] = []
    if page < last:
        relations += [("next", page + 1), ("last", last)]
    if page > 1:
        relations += [("first", 1), ("prev", min(page - 1, last))]
    if not relations:
        return items[(page - 1) * per_page : page * per_page], {}
    request = call.request
    base = f"{request.urlparts.scheme}://{request.urlparts.netloc}{request.path}"
    query = dict(request.query.items())
    links = [f'<{base}?{urlencode({**query, "page": number})}>; rel="{name}"' for name, number in relations]
    return items[(page - 1) * per_page : page * per_page], {"Link": ", ".join(links)}


def _positive(text: str | None, default: int) -> int:
    """Parse a page parameter; GitHub ignores values that are not positive integers."""
    if text is None or not text.isdigit() or int(text) < 1:
        return default
    return int(text)
