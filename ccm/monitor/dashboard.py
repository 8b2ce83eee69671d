"""Render functions of the dashboard: a snapshot and a view state in, a Rich renderable out.

Nothing here reads the clock, the terminal or GitHub, so every frame can be tested as text on
a fixed-width console. ``now`` (epoch seconds) is passed in for the "5 min ago" columns.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Group, JustifyMethod, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ccm.monitor.drift import SyncStatus
from ccm.monitor.models import PipelineStats, RunSummary
from ccm.monitor.source import FleetSnapshot, PipelineDetail
from ccm.monitor.view import DisplayState, Mode, ViewState, display_state, visible_pipelines

TITLE = "CI/CD PIPELINE MONITOR"
STATE_LOOK: dict[DisplayState, tuple[str, str]] = {
    DisplayState.ACTIVE: ("✓ Active", "green"),
    DisplayState.ERROR: ("✗ Error", "red"),
    DisplayState.INACTIVE: ("⏸ Inactive", "bright_black"),
    DisplayState.RUNNING: ("⟳ Running", "blue"),
    DisplayState.WARNING: ("⚠ Warning", "yellow"),
}
SYNC_LOOK: dict[SyncStatus, tuple[str, str]] = {
    SyncStatus.IN_SYNC: ("in sync", "green"),
    SyncStatus.OUT_OF_SYNC: ("drift", "yellow"),
    SyncStatus.ERROR: ("error", "red"),
    SyncStatus.UNKNOWN: ("unknown", "bright_black"),
}
_OUTCOME_STYLE = {
    "success": "green",
    "failure": "red",
    "timed_out": "red",
    "startup_failure": "red",
    "in_progress": "blue",
}
# The table's columns; the squeezed one gives way first on a narrow terminal.
_COLUMNS: tuple[tuple[str, JustifyMethod], ...] = (
    ("#", "right"),
    ("Pipeline", "left"),
    ("Status", "left"),
    ("Drift", "left"),
    ("Health", "right"),
    ("Success", "right"),
    ("Duration", "right"),
    ("Last Run", "left"),
    ("Run/Q", "right"),
    ("Domain · App", "left"),
)
_SQUEEZED = frozenset({"Domain · App"})
LIST_KEYS = "↑/↓ select · number+Enter open · Enter open selected · / or f filter · t trigger · +/- refresh · q quit"
DETAIL_KEYS = "Esc or b back · t trigger · Enter reload · +/- refresh · q quit"
FILTER_KEYS = "type a filter (status:error, domain:x, app:x or any text) · Enter apply · Esc cancel"


def format_duration(seconds: float | None) -> str:
    """Return ``45s``, ``3m 12s`` or ``2h 05m``; a dash for None."""
    if seconds is None:
        return "—"
    total = int(round(seconds))
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return f"{total // 60}m {total % 60:02d}s"
    return f"{total // 3600}h {total % 3600 // 60:02d}m"


def format_age(seconds: float) -> str:
    """Return how long ago, such as ``just now``, ``5 min ago``, ``3 h ago`` or ``2 d ago``."""
    if seconds < 10:
        return "just now"
    if seconds < 60:
        return f"{int(seconds)} s ago"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


def health_style(score: float) -> str:
    if score >= 80:
        return "green"
    if score >= 50:
        return "yellow"
    return "red"


def render_dashboard(
    snapshot: FleetSnapshot | None,
    view: ViewState,
    detail: PipelineDetail | None,
    *,
    now: float,
    notices: Sequence[str] = (),
    table_rows: int | None = None,
) -> RenderableType:
    """Return one frame: header, the pipeline table or a drill-down, and the footer.

    ``table_rows`` limits the pipelines shown to a window that keeps the selected one in view;
    None shows them all.
    """
    parts: list[RenderableType] = [render_header(snapshot, view, now)]
    if snapshot is None:
        parts.append(Text("Reading pipelines…", style="italic"))
    elif snapshot.error is not None:
        parts.append(Text(snapshot.error, style="bold red"))
    elif view.detail_id is not None and (view.mode is Mode.DETAIL or view.previous_mode is Mode.DETAIL):
        parts.append(render_detail(snapshot, view.detail_id, detail, now))
    else:
        parts.append(render_table(snapshot, view, now, table_rows))
    parts.append(render_footer(snapshot, view, notices))
    return Group(*parts)


def render_header(snapshot: FleetSnapshot | None, view: ViewState, now: float) -> RenderableType:
    lines: list[Text] = [Text(TITLE, style="bold", justify="center")]
    if snapshot is None:
        return Group(*lines)
    if snapshot.sandbox:
        lines.append(Text(snapshot.github_label, style="bold black on yellow"))
    else:
        lines.append(Text(f"GitHub: {snapshot.github_label}", style="bold"))

    status = [f"updated {format_age(now - snapshot.taken_at)}", f"refresh every {view.refresh_seconds:g} s"]
    if snapshot.rate_limit is not None:
        limit = snapshot.rate_limit
        status.append(f"rate limit {limit.remaining:,}/{limit.limit:,} left")
    if view.filter_text:
        status.append(f"filter: {view.filter_text}")
    lines.append(Text(" · ".join(status), style="dim"))
    if snapshot.drift_error:
        lines.append(Text(f"Drift is from the last good plan: {snapshot.drift_error}", style="yellow"))
    for error in snapshot.spec_errors:
        lines.append(Text(f"invalid spec: {error}", style="red"))
    return Group(*lines)


def render_table(
    snapshot: FleetSnapshot, view: ViewState, now: float, table_rows: int | None = None
) -> RenderableType:
    """Return the table of the pipelines that pass the filter, the selected one highlighted."""
    visible = visible_pipelines(snapshot.pipelines, view)
    first, last = 0, len(visible)
    if table_rows is not None and len(visible) > table_rows:
        first = min(max(view.selected - table_rows // 2, 0), len(visible) - table_rows)
        last = first + table_rows
    rows = [_row(index, visible[index], snapshot, now) for index in range(first, last)]

    # Rich shrinks every column of a table wider than the terminal. The other columns get
    # their content's width as a minimum, so a narrow terminal cuts Domain · App first (with
    # an ellipsis), before a status, a rate or a duration.
    caption = f"pipelines {first + 1}-{last} of {len(visible)}" if (first, last) != (0, len(visible)) else None
    table = Table(expand=True, pad_edge=False, box=box.SIMPLE_HEAD, caption=caption, caption_justify="left")
    for index, (header, justify) in enumerate(_COLUMNS):
        fixed = header not in _SQUEEZED
        widths = [Text(header).cell_len] + [row[index].cell_len for row in rows]
        table.add_column(
            header,
            justify=justify,
            no_wrap=True,
            overflow="ellipsis",
            min_width=max(widths) if fixed else None,
            ratio=None if fixed else 1,
        )
    for index, row in enumerate(rows, start=first):
        selected = index == view.selected and view.mode is not Mode.FILTER
        table.add_row(*row, style="reverse" if selected else None)
    if not visible:
        empty = "No pipeline matches the filter." if snapshot.pipelines else "No pipelines are registered yet."
        return Group(table, Text(empty, style="italic"))
    return table



def _row(index: int, stats: PipelineStats, snapshot: FleetSnapshot, now: float) -> list[Text]:
    state = display_state(stats)
    label, colour = STATE_LOOK[state]
    if stats.stale and state is DisplayState.WARNING:
        label = f"⚠ Stale {'(no data)' if stats.age_seconds is None else format_duration(stats.age_seconds)}"
    sync_label, sync_colour = SYNC_LOOK[snapshot.sync.get(stats.pipeline_id, SyncStatus.UNKNOWN)]
    return [
        Text(str(index + 1)),
        Text(stats.name),
        Text(label, style=colour),
        Text(sync_label, style=sync_colour),
        _health_cell(stats.health_score, "{:.0f}"),
        _success_cell(stats),
        Text(format_duration(stats.metrics_24h.avg_duration_seconds)),
        _last_run_cell(stats, now),
        Text(f"{stats.active_runs}/{stats.queue_length}"),
        Text(" · ".join(part for part in (stats.linked_domain, stats.linked_app) if part) or "—"),
    ]


def _health_cell(score: float | None, number_format: str) -> Text:
    if score is None:
        return Text("—", style="dim")
    return Text(number_format.format(score), style=health_style(score))


def _success_cell(stats: PipelineStats) -> Text:
    rate = stats.metrics_24h.success_rate
    if rate is None:
        return Text("—")
    text = Text(f"{rate:.1f}%")
    trend = stats.success_rate_trend
    if trend is not None and trend != 0:
        text.append(f" {'↑' if trend > 0 else '↓'}{abs(trend):.0f}", style="green" if trend > 0 else "red")
    return text


def _last_run_cell(stats: PipelineStats, now: float) -> Text:
    if stats.last_run is None:
        text = Text("no runs", style="dim")
    else:
        status = stats.last_run.status
        text = Text(status, style=_OUTCOME_STYLE.get(status, ""))
        text.append(f" {format_age(now - stats.last_run.timestamp.timestamp())}")
    return text


def render_detail(
    snapshot: FleetSnapshot, pipeline_id: str, detail: PipelineDetail | None, now: float
) -> RenderableType:
    """Return the drill-down of one pipeline: facts, health reasons, runs, failures, pending plan."""
    stats = next((item for item in snapshot.pipelines if item.pipeline_id == pipeline_id), None)
    if stats is None:
        return Text(f"The pipeline {pipeline_id} is no longer in the registry.", style="red")

    label, colour = STATE_LOOK[display_state(stats)]
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold", no_wrap=True)
    facts.add_column()
    # Values are wrapped in Text, because Rich would read a plain string as markup: a name such
    # as "[red]x" must show as written.
    facts.add_row("Pipeline", Text(f"{stats.name} ({stats.pipeline_id})"))
    facts.add_row("Workflow", Text(f"{stats.repository} {stats.workflow_file}"))
    facts.add_row("Status", Text(label, style=colour))
    if stats.stale:
        age = "GitHub has not answered yet" if stats.age_seconds is None else f"{format_duration(stats.age_seconds)} old"
        facts.add_row("Stale", Text(f"GitHub failed on the last refresh; values are {age}", style="yellow"))
    if stats.status_reason:
        facts.add_row("Reason", Text(stats.status_reason, style=colour))
    facts.add_row("Domain · App", Text(f"{stats.linked_domain or '—'} · {stats.linked_app or '—'}"))
    metrics = stats.metrics_24h
    facts.add_row(
        "Last 24 h",
        Text(
            f"{metrics.run_count} runs, {metrics.success_count} succeeded, {metrics.failure_count} failed, "
            f"mean duration {format_duration(metrics.avg_duration_seconds)}"
        ),
    )
    facts.add_row("Health", _health_cell(stats.health_score, "{:.1f}"))
    for reason in stats.health_reasons:
        facts.add_row("", Text(f"• {reason}", style="dim"))

    parts: list[RenderableType] = [facts]
    if detail is None or detail.pipeline_id != pipeline_id:
        parts.append(Text("Reading runs…", style="italic"))
    elif detail.error is not None:
        parts.append(Text(detail.error, style="red"))
    else:
        parts.append(_runs_table("Last 10 runs", detail.runs, now))
        parts.append(_runs_table("Failures in the last 24 h", detail.failures, now))
        parts.append(_pending_table(detail))
    return Panel(Group(*parts), title=Text(stats.name), title_align="left")


def _runs_table(title: str, runs: Sequence[RunSummary], now: float) -> RenderableType:
    if not runs:
        return Text(f"{title}: none", style="dim")
    table = Table(title=title, title_justify="left", expand=True, pad_edge=False)
    for column in ("Run", "Result", "Event", "Branch", "Created", "Duration"):
        table.add_column(column, no_wrap=True)
    for run in runs:
        result = run.conclusion.value if run.conclusion is not None else run.status.value
        table.add_row(
            Text(str(run.id)),
            Text(result, style=_OUTCOME_STYLE.get(result, "")),
            Text(run.event),
            Text(run.branch or "—"),
            Text(format_age(now - run.created_at.timestamp())),
            Text(format_duration(run.duration_seconds)),
        )
    return table


def _pending_table(detail: PipelineDetail) -> RenderableType:
    if not detail.pending:
        return Text("Pending plan: nothing to change (in sync).", style="green")
    table = Table(title="Pending plan (next reconcile pass)", title_justify="left", expand=True, pad_edge=False)
    table.add_column("Action", no_wrap=True)
    table.add_column("Change")
    table.add_column("Reason")
    for action in detail.pending:
        table.add_row(Text(action.kind), Text(f"{action.before} -> {action.after}"), Text(action.reason))
    return table


def render_footer(snapshot: FleetSnapshot | None, view: ViewState, notices: Sequence[str]) -> RenderableType:
    lines: list[Text] = []
    if view.mode is Mode.FILTER:
        lines.append(Text(f"Filter: {view.draft}▏", style="bold cyan"))
        lines.append(Text(FILTER_KEYS, style="dim"))
    elif view.mode is Mode.CONFIRM_TRIGGER:
        name = _name_of(snapshot, view.detail_id)
        lines.append(
            Text(
                f"Trigger a workflow_dispatch run of {name} on its first trigger branch? "
                "Press y to confirm, any other key to cancel.",
                style="bold yellow",
            )
        )
    else:
        if view.draft:
            lines.append(Text(f"Open pipeline number {view.draft} (Enter)", style="bold cyan"))
        lines.append(Text(DETAIL_KEYS if view.mode is Mode.DETAIL else LIST_KEYS, style="dim"))
    if view.message:
        lines.append(Text(view.message, style="bold"))
    lines.extend(Text(notice, style="yellow") for notice in notices)
    return Group(*lines)


def _name_of(snapshot: FleetSnapshot | None, pipeline_id: str | None) -> str:
    if snapshot is not None:
        for stats in snapshot.pipelines:
            if stats.pipeline_id == pipeline_id:
                return f"{stats.name} ({pipeline_id})"
    return str(pipeline_id)

