"""Typed views of the GitHub Actions objects that ccm reads.

Only the fields ccm uses are kept. GitHub adds states, statuses and conclusions over time, so
every enum here has an ``UNKNOWN`` member and parsing maps any value it does not know to it
instead of failing: an unknown value must never break an observation.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


class _TolerantEnum(str, enum.Enum):
    """A str-enum whose unknown values parse as ``UNKNOWN``."""

    @classmethod
    def _missing_(cls, value: object) -> _TolerantEnum:
        return cls["UNKNOWN"]


class WorkflowState(_TolerantEnum):
    """The ``state`` of a workflow as GitHub reports it."""

    ACTIVE = "active"
    DISABLED_MANUALLY = "disabled_manually"
    DISABLED_INACTIVITY = "disabled_inactivity"
    DISABLED_FORK = "disabled_fork"
    DELETED = "deleted"
    UNKNOWN = "unknown"


class RunStatus(_TolerantEnum):
    """The ``status`` of a workflow run."""

    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    WAITING = "waiting"
    REQUESTED = "requested"
    PENDING = "pending"
    UNKNOWN = "unknown"


class RunConclusion(_TolerantEnum):
    """The ``conclusion`` of a completed workflow run."""

    SUCCESS = "success"
    FAILURE = "failure"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    NEUTRAL = "neutral"
    ACTION_REQUIRED = "action_required"
    STALE = "stale"
    TIMED_OUT = "timed_out"
    STARTUP_FAILURE = "startup_failure"
    UNKNOWN = "unknown"


class RepositoryPermissions(BaseModel):
    """Permissions of the token in a repository; GitHub sends them to authenticated callers only."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    admin: bool = False
    push: bool = False
    pull: bool = False


class Repository(BaseModel):
    """One repository: ``GET /repos/{owner}/{repo}``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: int
    full_name: str
    default_branch: str
    private: bool = False
    archived: bool = False
    permissions: RepositoryPermissions | None = None


class Workflow(BaseModel):
    """One workflow of a repository: ``GET /repos/{owner}/{repo}/actions/workflows``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: int
    name: str
    path: str
    state: WorkflowState


class WorkflowRun(BaseModel):
    """One workflow run: ``GET /repos/{owner}/{repo}/actions/runs``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: int
    workflow_id: int
    path: str = ""
    event: str
    head_branch: str | None = None
    status: RunStatus
    conclusion: RunConclusion | None = None
    created_at: datetime
    updated_at: datetime
    run_started_at: datetime | None = None
    html_url: str = ""

    @field_validator("conclusion", mode="before")
    @classmethod
    def _empty_conclusion(cls, value: Any) -> Any:
        return value or None

    @property
    def in_flight(self) -> bool:
        """Whether the run has not completed yet (queued, waiting or in progress)."""
        return self.status is not RunStatus.COMPLETED

    @property
    def workflow_file(self) -> str:
        """The run's workflow path without a ``@ref`` suffix, as in ``.github/workflows/x.yml``."""
        return self.path.split("@", 1)[0]
