"""The dashboard's view state and what each key does to it: pure functions, no terminal.

Keys arrive as names: a printable character, or ``up``, ``down``, ``enter``, ``escape``,
``backspace``. ``handle_key`` returns the new state and, when the key requests work beyond the
screen (quit, open a pipeline, trigger a run, change the refresh interval), a ``Command``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ccm.monitor.metrics import FAILURE_CONCLUSIONS
from ccm.monitor.models import PipelineStats
from ccm.pipeline import PipelineStatus

REFRESH_STEPS_SECONDS = (1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0)
DEFAULT_REFRESH_SECONDS = 10.0
# Below this health score an active pipeline shows as a warning.
WARNING_HEALTH_BELOW = 70.0
_FAILED_LAST_RUN = frozenset(conclusion.value for conclusion in FAILURE_CONCLUSIONS)


class DisplayState(str, enum.Enum):
    """The state a pipeline shows as: its registry status, refined by its runs and health."""

    ACTIVE = "active"
    ERROR = "error"
    INACTIVE = "inactive"
    RUNNING = "running"
    WARNING = "warning"


def display_state(stats: PipelineStats) -> DisplayState:
    """Return error or inactive from the registry; else warning, running or active from the runs.

    Stale values show as a warning even with a run in flight, because the run counts are as old
    as the last response from GitHub.
    """
    if stats.status is PipelineStatus.ERROR:
        return DisplayState.ERROR
    if stats.status is PipelineStatus.INACTIVE:
        return DisplayState.INACTIVE
    if stats.stale:
        return DisplayState.WARNING
    if stats.active_runs:
        return DisplayState.RUNNING
    last_failed = stats.last_run is not None and stats.last_run.status in _FAILED_LAST_RUN
    low_health = stats.health_score is not None and stats.health_score < WARNING_HEALTH_BELOW
    if last_failed or low_health:
        return DisplayState.WARNING
    return DisplayState.ACTIVE


def matches_filter(stats: PipelineStats, text: str) -> bool:
    """Match ``status:WORD``, ``domain:TEXT``, ``app:TEXT``, or plain text in any of those and the name.

    A status word is a registry status or a display state, matched exactly; the other parts
    match case-insensitive substrings. Several terms separated by spaces must all match.
    """
    for term in text.lower().split():
        field_name, _, value = term.partition(":")
        if not value:
            field_name, value = "", term
        domain = (stats.linked_domain or "").lower()
        app = (stats.linked_app or "").lower()
        states = {stats.status.value, display_state(stats).value}
        if field_name == "status":
            matched = value in states
        elif field_name == "domain":
            matched = value in domain
        elif field_name == "app":
            matched = value in app
        else:
            searched = (stats.name.lower(), stats.repository.lower(), domain, app, *states)
            matched = any(value in item for item in searched)
        if not matched:
            return False
    return True


class Mode(str, enum.Enum):
    LIST = "list"
    FILTER = "filter"  # typing a filter after / or f
    DETAIL = "detail"  # drilled into one pipeline
    CONFIRM_TRIGGER = "confirm_trigger"  # t was pressed; y starts the run


class CommandKind(str, enum.Enum):
    QUIT = "quit"
    OPEN = "open"  # fetch the drill-down of pipeline_id
    TRIGGER = "trigger"
    SET_REFRESH = "set_refresh"


@dataclass(frozen=True)
class Command:
    kind: CommandKind
    pipeline_id: str | None = None


@dataclass(frozen=True)
class ViewState:
    mode: Mode = Mode.LIST
    filter_text: str = ""
    draft: str = ""  # the filter being typed, or the pipeline number being typed
    selected: int = 0  # index into the filtered pipelines
    detail_id: str | None = None
    previous_mode: Mode = Mode.LIST  # where a trigger confirmation returns to
    refresh_seconds: float = DEFAULT_REFRESH_SECONDS
    message: str = ""


def visible_pipelines(pipelines: Sequence[PipelineStats], state: ViewState) -> list[PipelineStats]:
    """Return the pipelines that pass the filter, which is the one being typed while in filter mode."""
    text = state.draft if state.mode is Mode.FILTER else state.filter_text
    return [stats for stats in pipelines if matches_filter(stats, text)]


def handle_key(
    state: ViewState, key: str, pipelines: Sequence[PipelineStats]
) -> tuple[ViewState, Command | None]:
    """Apply one key to the view state."""
    if state.mode is Mode.FILTER:
        return _filter_key(state, key), None
    if state.mode is Mode.CONFIRM_TRIGGER:
        return _confirm_key(state, key)
    if key == "q":
        return state, Command(CommandKind.QUIT)
    if key in ("+", "-"):
        return _step_refresh(state, 1 if key == "+" else -1), Command(CommandKind.SET_REFRESH)
    if state.mode is Mode.DETAIL:
        return _detail_key(state, key)
    return _list_key(state, key, visible_pipelines(pipelines, state))


def _list_key(state: ViewState, key: str, visible: list[PipelineStats]) -> tuple[ViewState, Command | None]:
    last = max(len(visible) - 1, 0)
    if key in ("/", "f"):
        return replace(state, mode=Mode.FILTER, draft=state.filter_text, message=""), None
    if key == "up":
        return replace(state, selected=max(state.selected - 1, 0), draft=""), None
    if key == "down":
        return replace(state, selected=min(state.selected + 1, last), draft=""), None
    if key.isdigit():
        return replace(state, draft=state.draft + key), None
    if key == "backspace":
        return replace(state, draft=state.draft[:-1]), None
    if key == "escape":
        return replace(state, draft="", filter_text="", selected=0, message=""), None
    if key == "enter":
        index = int(state.draft) - 1 if state.draft else state.selected
        if not 0 <= index < len(visible):
            return replace(state, draft="", message=f"No pipeline has the number {index + 1}."), None
        chosen = visible[index]
        opened = replace(state, mode=Mode.DETAIL, selected=index, detail_id=chosen.pipeline_id, draft="", message="")
        return opened, Command(CommandKind.OPEN, chosen.pipeline_id)
    if key == "t" and visible:
        chosen = visible[min(state.selected, last)]
        return _ask_trigger(state, chosen.pipeline_id), None
    return state, None


def _detail_key(state: ViewState, key: str) -> tuple[ViewState, Command | None]:
    if key in ("escape", "backspace", "b"):
        return replace(state, mode=Mode.LIST, detail_id=None, message=""), None
    if key == "t" and state.detail_id is not None:
        return _ask_trigger(state, state.detail_id), None
    if key == "enter" and state.detail_id is not None:
        return state, Command(CommandKind.OPEN, state.detail_id)
    return state, None


def _ask_trigger(state: ViewState, pipeline_id: str) -> ViewState:
    return replace(
        state, mode=Mode.CONFIRM_TRIGGER, previous_mode=state.mode, detail_id=pipeline_id, draft="", message=""
    )


def _confirm_key(state: ViewState, key: str) -> tuple[ViewState, Command | None]:
    back = replace(state, mode=state.previous_mode)
    if state.previous_mode is Mode.LIST:
        back = replace(back, detail_id=None)
    if key == "y" and state.detail_id is not None:
        return replace(back, message=f"Triggering a run of {state.detail_id}…"), Command(
            CommandKind.TRIGGER, state.detail_id
        )
    return replace(back, message="Trigger cancelled."), None


def _filter_key(state: ViewState, key: str) -> ViewState:
    if key == "enter":
        return replace(state, mode=Mode.LIST, filter_text=state.draft.strip(), draft="", selected=0)
    if key == "escape":
        return replace(state, mode=Mode.LIST, draft="")
    if key == "backspace":
        return replace(state, draft=state.draft[:-1])
    if len(key) == 1 and key.isprintable():
        return replace(state, draft=state.draft + key)
    return state


def _step_refresh(state: ViewState, direction: int) -> ViewState:
    steps = REFRESH_STEPS_SECONDS
    current = min(range(len(steps)), key=lambda index: abs(steps[index] - state.refresh_seconds))
    chosen = steps[min(max(current + direction, 0), len(steps) - 1)]
    return replace(state, refresh_seconds=chosen, message=f"Refreshing every {chosen:g} s.")

