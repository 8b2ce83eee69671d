"""Render a reconcile pass for people: a pure function from a ``PassResult`` to a Rich table."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ccm.pipeline import PipelineStatus
from ccm.reconcile.apply import Outcome
from ccm.reconcile.passes import PassResult

_OUTCOME_STYLE = {Outcome.APPLIED: "green", Outcome.FAILED: "red", Outcome.SKIPPED: "yellow"}


def render_pass(result: PassResult, github_label: str) -> RenderableType:
    """Return the plan (dry run) or the applied actions as a table, with errors and a summary."""
    parts: list[RenderableType] = [Text(f"GitHub: {github_label}", style="bold magenta")]
    for error in result.spec_errors:
        parts.append(Text(f"invalid spec: {error}", style="red"))

    if result.plan.actions:
        title = "Plan (dry run: nothing changed)" if result.dry_run else "Applied"
        table = Table(title=title, title_justify="left", expand=False)
        table.add_column("pipeline", no_wrap=True)
        table.add_column("action", no_wrap=True)
        table.add_column("reason", ratio=3)
        table.add_column("before -> after" if result.dry_run else "before -> after, result", ratio=2)
        outcomes = {id(r.action): r for r in result.results}
        for action in result.plan.actions:
            change = Text(f"{action.before} -> {action.after}")
            applied = outcomes.get(id(action))
            if applied is not None:
                change.append(f"\n{applied.outcome.value}", style=_OUTCOME_STYLE[applied.outcome])
                if applied.detail:
                    change.append(f": {applied.detail}", style=_OUTCOME_STYLE[applied.outcome])
            table.add_row(Text(action.pipeline_name), action.kind.value, Text(action.reason), change)
        parts.append(table)

    for held in result.plan.held:
        parts.append(Text(f"held: {held.pipeline_name}: {held.reason}", style="yellow"))
    if result.plan.refusal:
        parts.append(Text(result.plan.refusal, style="bold red"))
    parts.append(Text(_summary(result)))
    return Group(*parts)


def _summary(result: PassResult) -> str:
    actions = len(result.plan.actions)
    problems = []
    if result.spec_errors:
        problems.append(_count(len(result.spec_errors), "spec error"))
    if result.plan.held:
        problems.append(_count(len(result.plan.held), "pipeline") + " held")
    if result.plan.refusal:
        problems.append("teardowns refused by the prune guard")

    if result.dry_run:
        state = f"{_count(actions, 'change')} pending" if actions else "no changes planned"
    elif actions:
        applied = sum(1 for r in result.results if r.outcome is Outcome.APPLIED)
        state = f"{applied} of {_count(actions, 'action')} applied"
        if result.failed:
            state += f", {len(result.failed)} failed"
    else:
        state = "nothing to apply"
    if result.converged:
        state = "in sync" if result.dry_run or not actions else state
    elif problems:
        state += "; not converged: " + ", ".join(problems)

    in_error = sum(1 for p in result.pipelines.values() if p.is_current and p.status is PipelineStatus.ERROR)
    if in_error:
        state += f"; {_count(in_error, 'pipeline')} in error (see ccm pipelines)"
    return (
        f"{state}; GitHub requests: {result.requests.counted} counted against the rate limit, "
        f"{result.requests.not_modified} not modified (304); {result.duration_seconds:.2f}s"
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
