"""Actions and plans: the output of ``plan()``.

An *action* is one step toward convergence for one pipeline. A *plan* is the ordered list of
actions of one pass, each with its reason and the before and after it expects. A pipeline with at
least one planned action has *drift*.
"""

from __future__ import annotations

import enum

from pydantic import BaseModel, ConfigDict, Field

from ccm.pipeline import PipelineStatus
from ccm.spec.models import PipelineSpec


class ActionKind(str, enum.Enum):
    """The kind of an action. Only the workflow and run kinds call GitHub."""

    REGISTER = "register"
    ENABLE_WORKFLOW = "enable_workflow"
    DISABLE_WORKFLOW = "disable_workflow"
    CANCEL_RUN = "cancel_run"
    UPDATE_CONFIG = "update_config"
    DEACTIVATE = "deactivate"
    MARK_ERROR = "mark_error"
    MARK_ACTIVE = "mark_active"
    # A spec with `enabled: false`: status inactive, but the record stays current (no deleted_at),
    # unlike DEACTIVATE, which is teardown.
    MARK_INACTIVE = "mark_inactive"

    @property
    def calls_github(self) -> bool:
        return self in {ActionKind.ENABLE_WORKFLOW, ActionKind.DISABLE_WORKFLOW, ActionKind.CANCEL_RUN}


class Action(BaseModel):
    """One step for one pipeline, with why it is needed and the change it makes."""

    model_config = ConfigDict(frozen=True)

    kind: ActionKind
    pipeline_name: str
    pipeline_id: str | None = Field(
        default=None, description="None until the pipeline is registered by this plan"
    )
    repository: str
    workflow_file: str
    reason: str
    before: str
    after: str
    run_id: int | None = Field(default=None, description="the run to cancel, for cancel_run")
    workflow_id: int | None = None
    spec: PipelineSpec | None = Field(
        default=None, description="the spec to record, for register and update_config"
    )
    spec_file: str | None = Field(
        default=None,
        description="the spec's file relative to pipelines.d/, for register and update_config",
    )
    status: PipelineStatus | None = Field(
        default=None, description="the status to record, for register, mark_* and deactivate"
    )
    status_reason: str | None = Field(
        default=None,
        description="the status_reason to record with status; set for status error, else None",
    )


class HeldPipeline(BaseModel):
    """A pipeline that the pass leaves alone on purpose, and why."""

    model_config = ConfigDict(frozen=True)

    pipeline_name: str
    pipeline_id: str | None
    reason: str


class Plan(BaseModel):
    """The actions of one pass, the pipelines held back, and a refusal if the pass must not run."""

    model_config = ConfigDict(frozen=True)

    actions: tuple[Action, ...] = ()
    held: tuple[HeldPipeline, ...] = ()
    refusal: str | None = Field(
        default=None,
        description="set when the prune guard rejects the teardowns, whose actions are then dropped",
    )

    @property
    def in_sync(self) -> bool:
        return not self.actions and self.refusal is None

    def drifted(self) -> set[str]:
        """Return the names of the pipelines that have at least one action."""
        return {action.pipeline_name for action in self.actions}
