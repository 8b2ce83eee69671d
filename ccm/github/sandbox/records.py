"""Records of the simulated GitHub: repositories and workflows, as the world stores them."""

from __future__ import annotations

from pathlib import PurePosixPath

from pydantic import BaseModel, ConfigDict

from ccm.github.models import WorkflowState


class RepositoryRecord(BaseModel):
    """One repository; times are simulated epoch seconds."""

    model_config = ConfigDict(frozen=True)

    id: int
    full_name: str
    default_branch: str
    branches: tuple[str, ...]
    accessible: bool
    private: bool
    created_at: float

    @property
    def owner(self) -> str:
        return self.full_name.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.full_name.split("/", 1)[1]


class WorkflowRecord(BaseModel):
    """One workflow with the run settings resolved from the seed."""

    model_config = ConfigDict(frozen=True)

    id: int
    repository: str
    path: str
    name: str
    state: WorkflowState
    dispatch: bool
    success_rate: float
    duration_seconds: tuple[float, float]
    queued_seconds: float
    cancel_seconds: float
    schedule_every_seconds: float | None = None
    next_schedule_at: float | None = None
    created_at: float
    updated_at: float

    @property
    def file_name(self) -> str:
        return PurePosixPath(self.path).name

    @property
    def active(self) -> bool:
        return self.state is WorkflowState.ACTIVE
