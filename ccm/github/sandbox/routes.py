"""Route kinds: which GitHub endpoint a request calls, for faults and counters."""

from __future__ import annotations

import enum


class RouteKind(str, enum.Enum):
    """One GitHub REST endpoint that the sandbox serves, or ``unknown`` for any other path."""

    RATE_LIMIT = "rate_limit"
    GET_REPOSITORY = "get_repository"
    LIST_WORKFLOWS = "list_workflows"
    GET_WORKFLOW = "get_workflow"
    ENABLE_WORKFLOW = "enable_workflow"
    DISABLE_WORKFLOW = "disable_workflow"
    DISPATCH = "dispatch"
    LIST_RUNS = "list_runs"
    LIST_WORKFLOW_RUNS = "list_workflow_runs"
    GET_RUN = "get_run"
    CANCEL_RUN = "cancel_run"
    FORCE_CANCEL_RUN = "force_cancel_run"
    UNKNOWN = "unknown"
