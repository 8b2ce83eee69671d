"""Render a reconcile pass for people: a pure function from a ``PassResult`` to a Rich table."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

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
        table.add_column("pipeline")
        table.add_column("action")
        table.add_column("reason")
        table.add_column("before -> after")
        if not result.dry_run:
            table.add_column("result")
        outcomes = {id(r.action): r for r in result.results}
        for action in result.plan.actions:
            row = [
                action.pipeline_name,
                action.kind.value,
                action.reason,
                f"{action.before} -> {action.after}",
            ]
            applied = outcomes.get(id(action))
            if not result.dry_run and applied is not None:
                row.append(Text(f"{applied.outcome.value} {applied.detail}".strip(), style=_OUTCOME_STYLE[applied.outcome]))
            elif not result.dry_run:
                row.append("")
            table.add_row(*row)
        parts.append(table)

    for held in result.plan.held:
        parts.append(Text(f"held: {held.pipeline_name}: {held.reason}", style="yellow"))
    if result.plan.refusal:
        parts.append(Text(result.plan.refusal, style="bold red"))
    parts.append(Text(_summary(result)))
    return Group(*parts)


def _summary(result: PassResult) -> str:
    if result.dry_run:
        state = "in sync" if result.plan.in_sync else f"{len(result.plan.actions)} changes pending"
    elif not result.plan.actions:
        state = "in sync, nothing to apply"
    else:
        applied = sum(1 for r in result.results if r.outcome is Outcome.APPLIED)
        state = f"{applied} of {len(result.plan.actions)} actions applied"
        if result.failed:
            state += f", {len(result.failed)} failed"
    return (
        f"{state}; GitHub requests: {result.requests.counted} counted against the rate limit, "
        f"{result.requests.not_modified} not modified (304); {result.duration_seconds:.2f}s"
    )
