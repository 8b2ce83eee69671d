"""Passes: one level-triggered reconcile pass, from specs and registry to GitHub and back.

A trigger (the command line, an API call, a file event, the timer) only names the pipelines to
look at. The pass re-reads everything itself: specs, registry, GitHub. Running a pass twice, or
killing one half way and running again, gives the same end state, because every action is
planned from what is observed at the start of the pass.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field

from ccm.logcontext import ContextAdapter
from ccm.pipeline import Pipeline, PipelineStatus, utc_now
from ccm.reconcile.actions import Plan
from ccm.reconcile.apply import ActionResult, ApplyContext, Outcome, apply_plan, audit_result
from ccm.reconcile.engine import Engine
from ccm.reconcile.observe import observe
from ccm.reconcile.plan import PlanOptions, plan
from ccm.reconcile.state import DesiredState, ObservedState
from ccm.registry import RegistryData
from ccm.spec import SpecError, SpecSet, load_specs

logger = logging.getLogger(__name__)


class PassRefused(Exception):
    """A pass that must not run at all; the message gives the reason and what to do."""


@dataclass(frozen=True)
class PassRequest:
    dry_run: bool = False
    allow_prune: bool = False
    scope: frozenset[str] | None = None  # spec names; None means every pipeline
    actor: str | None = None  # token name for API passes; None means each spec file
    # Spec names that this pass leaves alone. Their repositories are observed only when another
    # pipeline of the pass needs them. ``ccm serve`` defers pipelines that back off after failures.
    deferred: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RequestCounts:
    counted: int = 0  # responses with a body; counted against the rate limit
    not_modified: int = 0  # 304 responses to conditional requests; free


@dataclass(frozen=True)
class PassResult:
    pass_id: str
    dry_run: bool
    plan: Plan
    spec_errors: tuple[SpecError, ...]
    observed: ObservedState
    desired: DesiredState = field(default_factory=DesiredState)
    results: tuple[ActionResult, ...] = ()
    requests: RequestCounts = field(default_factory=RequestCounts)
    duration_seconds: float = 0.0
    pipelines: dict[str, Pipeline] = field(default_factory=dict)

    @property
    def failed(self) -> list[ActionResult]:
        return [r for r in self.results if r.outcome is Outcome.FAILED]

    @property
    def converged(self) -> bool:
        """Whether every pipeline matches its spec: nothing planned, held, refused or invalid."""
        return self.plan.in_sync and not self.plan.held and not self.spec_errors

    @property
    def exit_code(self) -> int:
        """0 in sync (or converged), 2 changes pending in a dry run, 1 on any error.

        A held pipeline counts as an error, because the pass left it unconverged: its
        repository could not be observed, its spec file is invalid, or the prune guard held it.
        """
        if self.spec_errors or self.failed or self.plan.refusal or self.plan.held:
            return 1
        if self.dry_run and self.plan.actions:
            return 2
        return 0


def run_pass(engine: Engine, request: PassRequest) -> PassResult:
    """Load, observe, plan and (unless a dry run) apply, holding the registry lock to write.

    Every pass that applies is counted in ``engine.statistics``, one that raises as failed.
    """
    if request.dry_run:
        return _run_pass(engine, request)
    started = time.monotonic()
    try:
        result = _run_pass(engine, request)
    except Exception:
        engine.statistics.record(
            failed=True, applied=0, action_failures=0, duration_seconds=time.monotonic() - started
        )
        raise
    applied = sum(1 for r in result.results if r.outcome is Outcome.APPLIED)
    engine.statistics.record(
        failed=result.exit_code == 1,
        applied=applied,
        action_failures=len(result.failed),
        duration_seconds=result.duration_seconds,
    )
    return result


def _run_pass(engine: Engine, request: PassRequest) -> PassResult:
    pass_id = secrets.token_hex(4)
    log = ContextAdapter(logger, {"pass_id": pass_id})
    started = time.monotonic()
    counts_before = engine.client.counts()

    if request.dry_run:
        specs = _load_desired(engine)
        data = engine.registry.load()
        result = _plan_pass(engine, request, pass_id, specs, data.pipelines)
    else:
        with engine.pass_lock, engine.registry.lock():
            # The specs are read under the lock, like the registry. Read before it, they could
            # miss a spec that a provision wrote and registered while this pass waited, and the
            # pass would tear that new pipeline down.
            specs = _load_desired(engine)
            data = engine.registry.load()
            result = _plan_pass(engine, request, pass_id, specs, data.pipelines)
            pipelines = dict(data.pipelines)
            context = ApplyContext(
                client=engine.client,
                audit=engine.audit,
                desired=_desired(specs),
                pass_id=pass_id,
                actor=request.actor,
                now=utc_now(),
            )
            results = apply_plan(result.plan, pipelines, context)
            if results:
                engine.registry.save(RegistryData(pipelines=pipelines, last_updated=data.last_updated))
            for applied in results:
                if not applied.action.kind.calls_github and applied.outcome is Outcome.APPLIED:
                    audit_result(context, applied)
            result = PassResult(**{**result.__dict__, "results": tuple(results), "pipelines": pipelines})
    engine.client.save()

    spent = engine.client.counts().since(counts_before)
    requests = RequestCounts(counted=spent.counted, not_modified=spent.not_modified)
    duration = time.monotonic() - started
    log.info(
        "pass %s: %d actions, %d failed, %d spec errors, GitHub requests: %d counted, %d not modified, %.2fs",
        "planned" if request.dry_run else "applied",
        len(result.plan.actions),
        len(result.failed),
        len(result.spec_errors),
        requests.counted,
        requests.not_modified,
        duration,
    )
    if result.plan.refusal:
        log.error("%s", result.plan.refusal)
    return PassResult(**{**result.__dict__, "requests": requests, "duration_seconds": duration})


def _load_desired(engine: Engine) -> SpecSet:
    specs = load_specs(engine.settings.specs_dir)
    for error in specs.errors:
        logger.error("invalid spec; its pipelines are left as they are until the file is fixed: %s", error)
    return specs


def _desired(specs: SpecSet) -> DesiredState:
    return DesiredState(
        specs=specs.specs,
        spec_files=specs.files,
        spec_authors=specs.authors,
        broken_files=specs.broken_files,
    )


def _plan_pass(
    engine: Engine, request: PassRequest, pass_id: str, specs: SpecSet, known: dict[str, Pipeline]
) -> PassResult:
    desired = _desired(specs)
    has_spec_files = bool(specs.specs or specs.broken_files)
    active = [p for p in known.values() if p.is_current and p.status is PipelineStatus.ACTIVE]
    if not has_spec_files and active and request.scope is None and not request.allow_prune:
        noun = "pipeline is" if len(active) == 1 else "pipelines are"
        raise PassRefused(
            f"The pipelines directory {engine.settings.specs_dir} has no spec files, but "
            f"{len(active)} {noun} active. ccm does not read an empty directory as an "
            "instruction to tear everything down: restore the spec files, or run again with "
            "--allow-prune to tear them all down on purpose."
        )

    scope = _effective_scope(request, desired, known)
    in_scope = [p for p in known.values() if p.is_current and (scope is None or p.name in scope)]
    wanted = [s for s in desired.specs.values() if scope is None or s.name in scope]
    repositories = {s.repository for s in wanted} | {p.repository for p in in_scope}
    runs_needed = {s.repository for s in wanted if not s.enabled or not s.config.auto_deploy}
    runs_needed |= {p.repository for p in in_scope if p.name not in desired.specs}
    observed = observe(engine.client, repositories, runs_needed, engine.settings.observe_concurrency)

    options = PlanOptions(allow_prune=request.allow_prune, scope=scope)
    the_plan = plan(desired, known, observed, options)
    return PassResult(
        pass_id=pass_id,
        dry_run=request.dry_run,
        plan=the_plan,
        spec_errors=tuple(specs.errors),
        observed=observed,
        desired=desired,
        pipelines=dict(known),
    )


def _effective_scope(
    request: PassRequest, desired: DesiredState, known: dict[str, Pipeline]
) -> frozenset[str] | None:
    """Return the spec names the pass converges: the request's scope without the deferred names."""
    if not request.deferred:
        return request.scope
    names = request.scope
    if names is None:
        names = frozenset(desired.specs) | {p.name for p in known.values() if p.is_current}
    return names - request.deferred
