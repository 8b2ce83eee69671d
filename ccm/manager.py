"""``PipelineManager``: provision, tear down and read pipelines from Python.

This is the facade that VPS Manager code, the REST API and the command line call. It never
changes GitHub or the registry itself: provisioning writes a spec file and teardown removes
one, and a reconcile pass scoped to that pipeline converges GitHub before the method returns.
So a pipeline made through the API and one made by dropping a file into ``pipelines.d/`` are
the same thing, and the next pass over the whole directory agrees with both.
"""

from __future__ import annotations

import enum
import logging
import re
import secrets
import threading
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ccm.github.errors import (
    DispatchOutcomeUnknown,
    Forbidden,
    GitHubError,
    GitHubTemporaryError,
    NotFound,
    Unprocessable,
)
from ccm.github.models import WorkflowState
from ccm.monitor.metrics import parse_time_range, range_metrics
from ccm.pipeline import Pipeline, SpecAuthor, Timestamp, utc_now
from ccm.reconcile.engine import Engine
from ccm.reconcile.passes import PassRequest, PassResult, run_pass
from ccm.spec import PipelineSpec, load_specs, remove_spec_file, write_spec

logger = logging.getLogger(__name__)


class ManagerError(Exception):
    """Base of the errors a caller of ``PipelineManager`` can act on."""


class InvalidRequest(ManagerError):
    """The request itself is wrong (a field, a value); ``detail`` lists the problems."""

    def __init__(self, message: str, detail: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.detail = detail or []


class PipelineExists(ManagerError):
    """A pipeline for the same repository and workflow, or with the same name, already exists."""

    def __init__(self, message: str, pipeline_id: str | None) -> None:
        super().__init__(message)
        self.pipeline_id = pipeline_id


class NameTaken(ManagerError):
    """The spec name is taken by a pipeline of another repository or workflow."""


class PipelineNotFound(ManagerError):
    pass


class RepositoryRejected(ManagerError):
    """GitHub does not let ccm manage the repository or workflow (access, missing file)."""


class SpecNotRemovable(ManagerError):
    """The pipeline's spec file was written by an operator, so only an operator removes it."""


class GitHubUnavailable(ManagerError):
    """GitHub failed to respond (transport error, 5xx, rate limit); the same request may work later."""


class PipelineTornDown(ManagerError):
    """The pipeline was torn down, so it can no longer be triggered."""


class TriggerRefusal(str, enum.Enum):
    """The reason GitHub rejected a workflow dispatch."""

    WORKFLOW_NOT_DISPATCHABLE = "workflow_not_dispatchable"  # no workflow_dispatch trigger
    WORKFLOW_DISABLED = "workflow_disabled"
    REF_NOT_FOUND = "ref_not_found"
    WORKFLOW_NOT_FOUND = "workflow_not_found"
    REJECTED = "dispatch_rejected"  # any other 4xx, such as a missing permission


# Phrases of GitHub's 422 messages for a workflow dispatch (REST API version 2022-11-28), as the
# sandbox reproduces them.
_DISPATCH_REFUSAL_PHRASES = (
    ("does not have 'workflow_dispatch' trigger", TriggerRefusal.WORKFLOW_NOT_DISPATCHABLE),
    ("on a disabled workflow", TriggerRefusal.WORKFLOW_DISABLED),
    ("no ref found for", TriggerRefusal.REF_NOT_FOUND),
)


class TriggerRejected(ManagerError):
    """GitHub rejected a workflow dispatch; ``github_message`` is GitHub's error as received."""

    def __init__(self, message: str, reason: TriggerRefusal, github_message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.github_message = github_message


class TriggerOutcomeUnknown(ManagerError):
    """The dispatch reached GitHub but its response was lost, so a run may or may not have started."""


class TriggerResult(BaseModel):
    """The run that a manual trigger started."""

    model_config = ConfigDict(frozen=True)

    pipeline_id: str
    branch: str
    run_id: int | None  # None when GitHub does not return run details (older GitHub Enterprise)
    html_url: str | None
    triggered_at: Timestamp


_NAME_INVALID = re.compile(r"[^a-z0-9._-]+")


def derive_name(repository: str, linked_app: str | None) -> str:
    """Return a spec name from the linked app, else the repository name: lower case, file-safe."""
    base = linked_app or repository.rsplit("/", 1)[-1]
    name = _NAME_INVALID.sub("-", base.lower()).strip("-._")[:64].strip("-._")
    return name or "pipeline"


class PipelineManager:
    """Lifecycle of pipelines: provision, teardown, reads and status refresh."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Provisions and teardowns check, write and converge as one step, so two identical
        # requests at once cannot both pass the duplicate check.
        self._lifecycle_lock = threading.Lock()

    def provision_pipeline(
        self,
        repo: str,
        workflow_file: str,
        config: dict[str, Any] | None = None,
        *,
        name: str | None = None,
        linked_domain: str | None = None,
        linked_app: str | None = None,
        requested_by: str = "vps-manager",
        actor: str | None = None,
    ) -> Pipeline:
        """Create a pipeline: check GitHub, write its spec file, converge it, return its record."""
        spec = self._build_spec(repo, workflow_file, config, name, linked_domain, linked_app, requested_by)
        with self._lifecycle_lock:
            self._reject_duplicate(spec)
            self._check_github(spec)
            path = write_spec(self.engine.settings.specs_dir, spec, SpecAuthor.API)
            logger.info(
                "provision: wrote %s for %s (%s)", path.name, spec.repository, spec.workflow_file
            )
            self._converge(spec.name, actor, allow_prune=False)
        record = self._current(spec.name)
        if record is None:
            raise ManagerError(
                f"The spec {path.name} was written but the pipeline {spec.name} was not registered; "
                "see the log of this pass, the next pass retries."
            )
        return record

    def teardown_pipeline(self, pipeline_id: str, preserve_repo: bool = True, *, actor: str | None = None) -> bool:
        """Tear a pipeline down: cancel runs, disable its workflow, mark it inactive.

        The repository, its branches and the workflow file are never deleted, so
        ``preserve_repo=False`` is rejected. Returns True once the pipeline is inactive.
        """
        return self.deactivate_pipeline(pipeline_id, preserve_repo, actor=actor).deleted_at is not None

    def deactivate_pipeline(
        self, pipeline_id: str, preserve_repo: bool = True, *, actor: str | None = None
    ) -> Pipeline:
        """Tear a pipeline down like ``teardown_pipeline`` and return its final record."""
        if not preserve_repo:
            raise InvalidRequest(
                "preserve_repo=false is not supported: ccm never deletes repositories or workflow "
                "files. Delete the repository on GitHub yourself if you mean to."
            )
        with self._lifecycle_lock:
            record = self.get_pipeline(pipeline_id)
            if record is None:
                raise PipelineNotFound(f"No pipeline has the id {pipeline_id}.")
            if not record.is_current:
                return record
            specs_dir = self.engine.settings.specs_dir
            if record.source is not None and record.source.written_by is not SpecAuthor.API:
                raise SpecNotRemovable(
                    f"The pipeline {pipeline_id} comes from {specs_dir / record.source.file}, a spec "
                    "file written by an operator; remove that file to tear the pipeline down."
                )
            removed = remove_spec_file(specs_dir, record.name)
            logger.info(
                "teardown: %s spec file of %s (%s)",
                "removed the" if removed else "no", pipeline_id, record.repository,
            )
            self._converge(record.name, actor, allow_prune=True)
        final = self.get_pipeline(pipeline_id)
        if final is None or final.is_current:
            raise ManagerError(
                f"The pipeline {pipeline_id} was not torn down in this pass; see the log, the next "
                "pass retries."
            )
        return final

    def trigger_pipeline(
        self, pipeline_id: str, branch: str | None = None, actor: str | None = None
    ) -> TriggerResult:
        """Start a ``workflow_dispatch`` run of the pipeline's workflow on ``branch``.

        ``branch`` defaults to the first of the pipeline's trigger branches. The dispatch is sent
        once and never retried, because a repeat could start a second deployment.
        """
        record = self.get_pipeline(pipeline_id)
        if record is None:
            raise PipelineNotFound(f"No pipeline has the id {pipeline_id}.")
        if not record.is_current:
            raise PipelineTornDown(
                f"The pipeline {pipeline_id} was torn down at {record.deleted_at:%Y-%m-%dT%H:%M:%SZ}, "
                "so it cannot be triggered. Provision it again to deploy this repository."
            )
        ref = branch or record.config.trigger_branches[0]
        triggered_at = utc_now()
        audit = {
            "pass_id": secrets.token_hex(4),
            "actor": actor or "manager",
            "action": "trigger",
            "pipeline_id": pipeline_id,
            "pipeline_name": record.name,
            "repository": record.repository,
            "reason": f"manual workflow_dispatch of {record.workflow_file} on {ref}",
        }
        try:
            dispatched = self.engine.client.dispatch_workflow(record.repository, record.workflow_file, ref)
        except GitHubError as error:
            failure = _trigger_failure(record, ref, error)
            self.engine.audit.append(**audit, result="failed", error=str(failure))
            logger.warning("trigger of %s (%s) on %s failed: %s", pipeline_id, record.repository, ref, error)
            raise failure from error

        run = "an unknown run" if dispatched.run_id is None else f"run {dispatched.run_id}"
        self.engine.audit.append(**audit, result="ok", after=run)
        logger.info(
            "trigger: started %s of %s (%s) on %s for %s",
            run, pipeline_id, record.repository, ref, actor or "manager",
        )
        return TriggerResult(
            pipeline_id=pipeline_id,
            branch=ref,
            run_id=dispatched.run_id,
            html_url=dispatched.html_url,
            triggered_at=triggered_at,
        )

    def get_pipelines(self) -> list[Pipeline]:
        """Return every registry record, torn-down ones included, oldest first."""
        pipelines = self.engine.registry.load().pipelines.values()
        return sorted(pipelines, key=lambda p: (p.created_at, p.pipeline_id))

    def get_pipeline(self, pipeline_id: str) -> Pipeline | None:
        return self.engine.registry.load().pipelines.get(pipeline_id)

    def update_pipeline_status(self, pipeline_id: str) -> Pipeline:
        """Converge one pipeline now against live GitHub state and return its record."""
        record = self.get_pipeline(pipeline_id)
        if record is None:
            raise PipelineNotFound(f"No pipeline has the id {pipeline_id}.")
        if record.is_current:
            self._converge(record.name, actor=None, allow_prune=False)
        updated = self.get_pipeline(pipeline_id)
        return updated if updated is not None else record

    def get_pipeline_metrics(self, pipeline_id: str, time_range: str = "24h") -> dict[str, Any]:
        """Compute run metrics of one pipeline over ``time_range`` (``24h``, ``7d``) from GitHub.

        Reads the newest 300 runs for ranges up to 48 h and 1,000 beyond; ``complete`` in the
        result is False when the range contains more runs than that. Raises ``InvalidRequest`` for
        a malformed range and ``GitHubUnavailable`` when GitHub fails.
        """
        record = self.get_pipeline(pipeline_id)
        if record is None:
            raise PipelineNotFound(f"No pipeline has the id {pipeline_id}.")
        try:
            seconds = parse_time_range(time_range)
        except ValueError as error:
            raise InvalidRequest(str(error)) from error
        pages = 3 if seconds <= 48 * 3600 else 10
        try:
            listing = self.engine.client.list_runs(
                record.repository, workflow=record.workflow_file, per_page=100, max_pages=pages
            )
        except GitHubTemporaryError as error:
            raise GitHubUnavailable(
                f"Cannot read the runs of {pipeline_id} ({record.repository}): {error}"
            ) from error
        metrics = range_metrics(pipeline_id, time_range, listing.items, time.time(), truncated=listing.truncated)
        return metrics.model_dump(mode="json")

    def _build_spec(
        self,
        repo: str,
        workflow_file: str,
        config: dict[str, Any] | None,
        name: str | None,
        linked_domain: str | None,
        linked_app: str | None,
        requested_by: str,
    ) -> PipelineSpec:
        fields = {
            "name": name or derive_name(repo, linked_app),
            "repository": repo,
            "workflow_file": workflow_file,
            "config": config or {},
            "vps": {"linked_domain": linked_domain, "linked_app": linked_app, "requested_by": requested_by},
        }
        try:
            return PipelineSpec.model_validate(fields)
        except ValidationError as error:
            detail = [
                {"field": ".".join(str(part) for part in item["loc"]), "message": item["msg"]}
                for item in error.errors()
            ]
            problems = "; ".join(f"{item['field']}: {item['message']}" for item in detail)
            raise InvalidRequest(f"Invalid pipeline: {problems}.", detail) from error

    def _reject_duplicate(self, spec: PipelineSpec) -> None:
        for record in self.engine.registry.load().pipelines.values():
            if not record.is_current:
                continue
            if (record.repository.lower(), record.workflow_file) == spec.workflow_key:
                raise PipelineExists(
                    f"The pipeline {record.pipeline_id} already manages {record.workflow_file} "
                    f"of {record.repository}.",
                    record.pipeline_id,
                )
            if record.name == spec.name:
                raise NameTaken(
                    f"The name {spec.name} is taken by the pipeline {record.pipeline_id} of "
                    f"{record.workflow_file} in {record.repository}; pass another name or linked_app."
                )
        specs = load_specs(self.engine.settings.specs_dir)
        for other in specs.specs.values():
            if other.name == spec.name and other.workflow_key != spec.workflow_key:
                raise NameTaken(
                    f"The name {spec.name} is taken by the spec {specs.files[other.name]} for "
                    f"{other.workflow_file} of {other.repository}; pass another name or linked_app."
                )
            if other.workflow_key == spec.workflow_key:
                raise PipelineExists(
                    f"The spec {specs.files[other.name]} already declares {other.name} for "
                    f"{other.workflow_file} of {other.repository}; it is registered on the next pass.",
                    None,
                )
        if f"{spec.name}.yaml" in specs.broken_files:
            raise PipelineExists(
                f"The spec file {spec.name}.yaml exists and is invalid; fix or remove it first.", None
            )

    def _check_github(self, spec: PipelineSpec) -> None:
        try:
            workflows = self.engine.client.list_workflows(spec.repository).items
        except (NotFound, Forbidden) as error:
            raise RepositoryRejected(
                f"The GitHub token cannot reach the repository {spec.repository} ({error}). Check "
                "the name, and that the token has the Actions read and write permission on it."
            ) from error
        except GitHubError as error:
            raise GitHubUnavailable(
                f"GitHub failed for {spec.repository}: {error} Try again shortly."
            ) from error
        workflow = next((w for w in workflows if w.path == spec.workflow_file), None)
        if workflow is None:
            raise RepositoryRejected(
                f"The workflow file {spec.workflow_file} does not exist in {spec.repository}. "
                "Commit it to the default branch first."
            )
        if workflow.state in {WorkflowState.DELETED, WorkflowState.DISABLED_FORK}:
            raise RepositoryRejected(
                f"The workflow {spec.workflow_file} of {spec.repository} is {workflow.state.value} "
                "on GitHub, so ccm cannot enable it."
            )

    def _converge(self, name: str, actor: str | None, allow_prune: bool) -> PassResult:
        request = PassRequest(scope=frozenset({name}), actor=actor, allow_prune=allow_prune)
        return run_pass(self.engine, request)

    def _current(self, name: str) -> Pipeline | None:
        return self.engine.registry.load().current_by_name().get(name)


def _trigger_failure(record: Pipeline, ref: str, error: GitHubError) -> ManagerError:
    """Map a failed dispatch to the error a caller can act on; GitHub's message stays in it."""
    target = f"{record.workflow_file} of {record.repository} on {ref}"
    if isinstance(error, DispatchOutcomeUnknown):
        return TriggerOutcomeUnknown(str(error))
    if isinstance(error, GitHubTemporaryError):
        return GitHubUnavailable(
            f"GitHub did not accept the dispatch of {target}: {error} No run was started; "
            "trigger again later."
        )
    if isinstance(error, NotFound):
        return TriggerRejected(
            f"GitHub does not find the workflow {target}: {error}",
            TriggerRefusal.WORKFLOW_NOT_FOUND,
            error.message,
        )
    if isinstance(error, Unprocessable):
        lowered = error.message.lower()
        for phrase, reason in _DISPATCH_REFUSAL_PHRASES:
            if phrase in lowered:
                return TriggerRejected(
                    f"GitHub rejected the dispatch of {target}: {_REFUSAL_FIXES[reason]} "
                    f"GitHub's message: {error.message}",
                    reason,
                    error.message,
                )
    return TriggerRejected(
        f"GitHub rejected the dispatch of {target}: {error}", TriggerRefusal.REJECTED, error.message
    )


_REFUSAL_FIXES = {
    TriggerRefusal.WORKFLOW_NOT_DISPATCHABLE: "the workflow has no workflow_dispatch trigger. "
    "Add `workflow_dispatch:` under `on:` in the workflow file to allow manual runs.",
    TriggerRefusal.WORKFLOW_DISABLED: "the workflow is disabled. Wait for the next reconcile "
    "pass to enable it, or check the pipeline's spec for `enabled: false`.",
    TriggerRefusal.REF_NOT_FOUND: "the branch does not exist in the repository. "
    "Push the branch, or pass another branch.",
}
