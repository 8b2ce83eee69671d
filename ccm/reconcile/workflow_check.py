"""Workflow check: what one pass's observed state means for the workflow that a pipeline names.

The check has three outcomes. A workflow is *usable* when its repository is accessible and GitHub
lists it as active or as disabled in a way that ccm can undo. It is *unusable* when the repository
is not accessible, the workflow is not listed, or its state is ``deleted``, ``disabled_fork`` or
one that ccm does not know. The pipeline is then in error, and ccm changes nothing on GitHub. It
is *unknown* when GitHub was unavailable or the pass did not observe the repository, and then
the pipeline is held.
"""

from __future__ import annotations

from dataclasses import dataclass

from ccm.github.models import Workflow, WorkflowRun, WorkflowState
from ccm.reconcile.state import Access, ObservedState

# Disabled states that ccm turns back to active for an enabled spec (self-heal).
RESUMABLE_STATES = frozenset({WorkflowState.DISABLED_MANUALLY, WorkflowState.DISABLED_INACTIVITY})


@dataclass(frozen=True)
class UsableWorkflow:
    """A workflow that ccm may enable or disable, with its in-flight runs, oldest first."""

    workflow: Workflow
    runs_in_flight: tuple[WorkflowRun, ...]


@dataclass(frozen=True)
class UnusableWorkflow:
    """A workflow that ccm cannot act on. ``problem`` is the pipeline's status reason."""

    problem: str


@dataclass(frozen=True)
class UnknownWorkflow:
    """A workflow whose state GitHub did not report in this pass, and why."""

    reason: str


WorkflowCheck = UsableWorkflow | UnusableWorkflow | UnknownWorkflow


def check_workflow(observed: ObservedState, repository: str, workflow_file: str) -> WorkflowCheck:
    """Classify what GitHub reports about ``workflow_file`` in ``repository``.

    Problems leave out the observation's ``detail`` because it may change from pass to pass
    (a request id, a timestamp). A changed status reason would plan a new ``mark_error`` each time.
    """
    observation = observed.get(repository)
    if observation is None:
        return UnknownWorkflow(
            f"The GitHub state of {repository} is unknown because this pass did not observe it. "
            "The pipeline is left as it is."
        )
    if observation.access is Access.UNAVAILABLE:
        detail = f" ({observation.detail})" if observation.detail else ""
        return UnknownWorkflow(
            f"The GitHub state of {repository} is unknown because GitHub was unavailable{detail}. "
            "The pipeline is left as it is until a pass can observe it."
        )
    if observation.access is Access.NOT_FOUND:
        return UnusableWorkflow(
            f"Repository {repository} was not found on GitHub, or the token cannot see it. "
            "Check repository in the spec and the token's access to it."
        )
    if observation.access is Access.FORBIDDEN:
        return UnusableWorkflow(
            f"GitHub denied the token access to repository {repository} (403 Forbidden). "
            f"Grant the token read and write access to Actions on {repository}."
        )

    workflow = observation.workflow(workflow_file)
    if workflow is None:
        return UnusableWorkflow(
            f"Workflow file {workflow_file} is not in repository {repository}. "
            "Push the file, or fix workflow_file in the spec."
        )
    if workflow.state is WorkflowState.DELETED:
        return UnusableWorkflow(
            f"GitHub reports workflow {workflow_file} of {repository} as deleted. "
            "Restore the file, or point workflow_file at an existing workflow."
        )
    if workflow.state is WorkflowState.DISABLED_FORK:
        return UnusableWorkflow(
            f"Workflow {workflow_file} of {repository} is disabled because the repository is a "
            "fork. Enable workflows in the fork's Actions tab on GitHub."
        )
    # ccm does not enable or disable a workflow whose state it cannot read.
    if workflow.state is not WorkflowState.ACTIVE and workflow.state not in RESUMABLE_STATES:
        return UnusableWorkflow(
            f"GitHub reports workflow {workflow_file} of {repository} in a state that ccm does "
            "not know, so ccm leaves it alone. Check the workflow on GitHub, and upgrade ccm if "
            "GitHub added a workflow state."
        )
    return UsableWorkflow(workflow, tuple(observation.runs_in_flight(workflow.id)))
