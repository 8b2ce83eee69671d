"""Pipelines: the registry's record of each pipeline that ccm manages.

A *pipeline* is created when a spec is first converged and keeps its ``pipeline_id`` (``pipe_``
and 12 hex digits) for life, so that a repository can be renamed without breaking references.
The JSON form is the pipeline state object that VPS Manager reads: ``pipeline_id``,
``repository``, ``workflow_file``, ``status``, ``created_at``, ``last_updated``, ``config``,
``metrics`` and ``vps_integration``, plus the fields ccm needs to converge (``name``,
``enabled``, ``source``, ``status_reason``, ``workflow_id``, ``deleted_at``).
"""

from __future__ import annotations

import enum
import re
import secrets
from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from ccm.spec.models import PipelineConfig, SpecAuthor

PIPELINE_ID_PATTERN = re.compile(r"^pipe_[0-9a-f]{12}$")


def _format_timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Timestamp = Annotated[datetime, PlainSerializer(_format_timestamp, return_type=str)]


def utc_now() -> datetime:
    """Return the current time in UTC, truncated to whole seconds as the registry stores it."""
    return datetime.now(UTC).replace(microsecond=0)


def new_pipeline_id() -> str:
    """Return a fresh ``pipe_`` id with 48 random bits."""
    return f"pipe_{secrets.token_hex(6)}"


class PipelineStatus(str, enum.Enum):
    """The registry status of a pipeline."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    ERROR = "error"


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PipelineMetrics(_Record):
    """Run metrics kept with the record; the monitor refreshes them."""

    last_run: Timestamp | None = None
    last_status: str | None = None
    run_count: int = 0
    success_rate: float | None = None
    average_duration_seconds: float | None = None


class VpsIntegration(_Record):
    """The VPS Manager side of a pipeline."""

    requested_by: str = "operator"
    linked_domain: str | None = None
    linked_app: str | None = None


class SpecSource(_Record):
    """The spec file a pipeline came from, relative to ``pipelines.d/``."""

    file: str
    written_by: SpecAuthor = SpecAuthor.OPERATOR


class Pipeline(_Record):
    """One registry record. Updated by copies (``model_copy(update=...)``), never in place."""

    pipeline_id: Annotated[str, Field(pattern=PIPELINE_ID_PATTERN.pattern)]
    name: str
    repository: str
    workflow_file: str
    status: PipelineStatus
    status_reason: str | None = None
    enabled: bool = True
    created_at: Timestamp
    last_updated: Timestamp
    deleted_at: Timestamp | None = None
    workflow_id: int | None = None
    config: PipelineConfig = Field(default_factory=PipelineConfig)
    metrics: PipelineMetrics = Field(default_factory=PipelineMetrics)
    vps_integration: VpsIntegration = Field(default_factory=VpsIntegration)
    source: SpecSource | None = None

    @property
    def is_current(self) -> bool:
        """Whether the record still stands for a spec; torn-down records are history."""
        return self.deleted_at is None
