"""Simulated workflow runs: a run's status is a pure function of its definition and the time.

A run is *queued* from ``created_at`` for ``queued_seconds``, then *in progress* for
``duration_seconds``, then *completed* with the conclusion drawn when it was created. A cancel
request completes it as ``cancelled`` ``cancel_seconds`` later, unless it finishes first. Nothing
runs in the background: every request computes the status at the current simulated time, so a
persisted world resumes at the clock's current time.
"""

from __future__ import annotations

import hashlib
import random

from pydantic import BaseModel, ConfigDict, Field

from ccm.github.models import RunConclusion, RunStatus


class RunView(BaseModel):
    """A run as GitHub reports it at one moment."""

    model_config = ConfigDict(frozen=True)

    status: RunStatus
    conclusion: RunConclusion | None
    updated_at: float
    run_started_at: float


class SimulatedRun(BaseModel):
    """The definition of one run; times are simulated epoch seconds."""

    model_config = ConfigDict(frozen=True)

    id: int
    run_number: int
    workflow_id: int
    repository: str = Field(description="full name as seeded, e.g. acme/api-service")
    event: str
    branch: str
    created_at: float
    queued_seconds: float
    duration_seconds: float
    conclusion: RunConclusion = Field(description="the conclusion if the run is not cancelled")
    cancel_requested_at: float | None = None
    cancel_seconds: float = 0.0

    @property
    def started_at(self) -> float:
        return self.created_at + self.queued_seconds

    @property
    def finishes_at(self) -> float:
        """When the run completes as it was drawn, ignoring a cancel request."""
        return self.started_at + self.duration_seconds

    @property
    def cancelled_at(self) -> float | None:
        """When a cancel request takes effect, if there is one and it beats the natural finish."""
        if self.cancel_requested_at is None:
            return None
        cancelled_at = self.cancel_requested_at + self.cancel_seconds
        return cancelled_at if cancelled_at < self.finishes_at else None

    @property
    def head_sha(self) -> str:
        return hashlib.sha1(f"{self.repository}:{self.branch}:{self.id}".encode()).hexdigest()

    def completed_by(self, now: float) -> bool:
        return self.view(now).status is RunStatus.COMPLETED

    def view(self, now: float) -> RunView:
        """Return the status, conclusion and last transition time at simulated time ``now``."""
        cancelled_at = self.cancelled_at
        completes_at = self.finishes_at if cancelled_at is None else cancelled_at
        if now >= completes_at:
            conclusion = self.conclusion if cancelled_at is None else RunConclusion.CANCELLED
            return RunView(
                status=RunStatus.COMPLETED,
                conclusion=conclusion,
                updated_at=completes_at,
                run_started_at=self.created_at,
            )

        # A pending cancel request is a change GitHub reports in updated_at before the status moves.
        transitions = [self.created_at]
        if now >= self.started_at:
            transitions.append(self.started_at)
        if self.cancel_requested_at is not None and now >= self.cancel_requested_at:
            transitions.append(self.cancel_requested_at)
        status = RunStatus.IN_PROGRESS if now >= self.started_at else RunStatus.QUEUED
        return RunView(
            status=status, conclusion=None, updated_at=max(transitions), run_started_at=self.created_at
        )


def draw_outcome(
    random_seed: int, run_id: int, success_rate: float, duration_range: tuple[float, float]
) -> tuple[RunConclusion, float]:
    """Draw a run's conclusion and duration; the same seed and run id always give the same result."""
    rng = random.Random(f"{random_seed}:{run_id}")
    conclusion = RunConclusion.SUCCESS if rng.random() < success_rate else RunConclusion.FAILURE
    return conclusion, rng.uniform(*duration_range)
