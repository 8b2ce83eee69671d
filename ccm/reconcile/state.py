"""Desired and observed state: the two inputs of ``plan()`` besides the registry.

*Desired state* is what ``pipelines.d/`` declares: valid specs by name, and the spec files that
failed to load (their pipelines are held as they are). *Observed state* is what GitHub reports
now, one observation per repository, because one workflow list and one run list serve every
pipeline of a repository.
"""

from __future__ import annotations

import enum

from pydantic import BaseModel, ConfigDict, Field

from ccm.github.models import Workflow, WorkflowRun
from ccm.pipeline import SpecAuthor
from ccm.spec.models import PipelineSpec


class DesiredState(BaseModel):
    """Valid specs keyed by name, the file each came from, and the files that failed to load."""

    model_config = ConfigDict(frozen=True)

    specs: dict[str, PipelineSpec] = Field(default_factory=dict)
    spec_files: dict[str, str] = Field(
        default_factory=dict, description="spec name -> file path relative to pipelines.d/"
    )
    spec_authors: dict[str, SpecAuthor] = Field(
        default_factory=dict, description="spec name -> who wrote its file (operator or API)"
    )
    broken_files: frozenset[str] = Field(
        default_factory=frozenset,
        description="files relative to pipelines.d/ that failed to parse or validate",
    )


class Access(str, enum.Enum):
    """The outcome of observing one repository."""

    OK = "ok"
    NOT_FOUND = "not_found"  # 404: missing, or the token cannot see it
    FORBIDDEN = "forbidden"  # 403 that is not a rate limit: the token lacks a permission
    UNAVAILABLE = "unavailable"  # GitHub failed (5xx, timeout, rate limit): state unknown


class RepositoryObservation(BaseModel):
    """The state GitHub reported for one repository during a pass."""

    model_config = ConfigDict(frozen=True)

    repository: str
    access: Access
    detail: str = ""
    workflows: tuple[Workflow, ...] = ()
    runs: tuple[WorkflowRun, ...] = ()
    runs_observed: bool = Field(
        default=True, description="False when the pass did not need this repository's runs"
    )

    def workflow(self, path: str) -> Workflow | None:
        """Return the workflow whose file is ``path``, if GitHub lists one."""
        return next((w for w in self.workflows if w.path == path), None)

    def runs_in_flight(self, workflow_id: int) -> list[WorkflowRun]:
        """Return the runs of one workflow that have not completed, oldest first."""
        runs = [r for r in self.runs if r.workflow_id == workflow_id and r.in_flight]
        return sorted(runs, key=lambda r: (r.created_at, r.id))


class ObservedState(BaseModel):
    """Observations by repository name (lower case, since GitHub names are case-insensitive)."""

    model_config = ConfigDict(frozen=True)

    repositories: dict[str, RepositoryObservation] = Field(default_factory=dict)

    def get(self, repository: str) -> RepositoryObservation | None:
        return self.repositories.get(repository.lower())
