"""Dashboard render functions as plain text on a fixed-width console, key handling, key decoding."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from rich.console import Console

from ccm.github.models import RunConclusion, RunStatus
from ccm.monitor.dashboard import format_age, format_duration, render_dashboard
from ccm.monitor.drift import SyncStatus
from ccm.monitor.live import decode_keys
from ccm.monitor.models import LastRun, PipelineStats, RunSummary, WindowMetrics
from ccm.monitor.report import ReportFormat, render_report
from ccm.monitor.source import FleetSnapshot, PendingAction, PipelineDetail
from ccm.monitor.view import CommandKind, DisplayState, Mode, ViewState, display_state, handle_key, matches_filter
from ccm.pipeline import PipelineStatus

NOW = 1_767_225_600.0
SANDBOX_LABEL = "SANDBOX: simulated GitHub at http://127.0.0.1:1; nothing on github.com changes"


def at(seconds_ago: float) -> datetime:
    return datetime.fromtimestamp(NOW - seconds_ago, UTC)


def stats(name: str, **changes: object) -> PipelineStats:
    values: dict[str, object] = {
        "pipeline_id": f"pipe_{abs(hash(name)) % 16**12:012x}",
        "name": name,
        "repository": f"acme/{name}",
        "workflow_file": ".github/workflows/deploy.yml",
        "status": PipelineStatus.ACTIVE,
        "linked_domain": f"{name}.example.com",
        "linked_app": name,
        "last_run": LastRun(timestamp=at(300), status="success", duration_seconds=192, branch="main"),
        "metrics_24h": WindowMetrics(run_count=21, success_count=20, failure_count=1, success_rate=95.2,
                                     avg_duration_seconds=192),
        "health_score": 95.0,
        "observed_at": at(0),
    }
    values.update(changes)
    return PipelineStats.model_validate(values)


FLEET = (
    stats("topengineer.us", success_rate_trend=2.0),
    stats("api-service", status=PipelineStatus.ERROR, status_reason="Workflow file is missing.", health_score=22.0,
          last_run=LastRun(timestamp=at(3600), status="failure", duration_seconds=301, branch="production"),
          metrics_24h=WindowMetrics(run_count=10, success_count=7, failure_count=3, success_rate=70.0,
                                    avg_duration_seconds=301)),
    stats("docs", status=PipelineStatus.INACTIVE, last_run=None, metrics_24h=WindowMetrics(), health_score=100.0),
    stats("portfolio", active_runs=1,
          last_run=LastRun(timestamp=at(20), status="in_progress", branch="main")),
    stats("shop", stale=True, age_seconds=125.0, health_score=85.0),
)


def snapshot(**changes: object) -> FleetSnapshot:
    values: dict[str, object] = {
        "github_label": SANDBOX_LABEL,
        "sandbox": True,
        "taken_at": NOW - 3,
        "pipelines": FLEET,
        "sync": {FLEET[0].pipeline_id: SyncStatus.OUT_OF_SYNC, FLEET[1].pipeline_id: SyncStatus.ERROR,
                 FLEET[2].pipeline_id: SyncStatus.IN_SYNC, FLEET[3].pipeline_id: SyncStatus.IN_SYNC},
    }
    values.update(changes)
    return FleetSnapshot(**values)  # type: ignore[arg-type]


def text_of(renderable: object) -> str:
    console = Console(width=120, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def row_of(text: str, name: str) -> str:
    return next(line for line in text.splitlines() if f" {name} " in line)


def test_table_rows() -> None:
    text = text_of(render_dashboard(snapshot(), ViewState(), None, now=NOW))

    assert "CI/CD PIPELINE MONITOR" in text
    assert SANDBOX_LABEL in text
    assert "updated just now · refresh every 10 s" in text
    top = row_of(text, "topengineer.us")
    for cell in ("✓ Active", "drift", "95", "95.2% ↑2", "3m 12s", "success 5 min ago", "0/0"):
        assert cell in top
    assert "✗ Error" in row_of(text, "api-service")
    assert "failure 1 h ago" in row_of(text, "api-service")
    assert "⏸ Inactive" in row_of(text, "docs")
    assert "no runs" in row_of(text, "docs")
    assert "⟳ Running" in row_of(text, "portfolio")
    assert "1/0" in row_of(text, "portfolio")
    shop = row_of(text, "shop")
    assert "⚠ Stale 2m 05s" in shop
    assert "unknown" in shop


def test_table_colours() -> None:
    console = Console(width=120, record=True, color_system="truecolor")
    console.print(render_dashboard(snapshot(), ViewState(), None, now=NOW))
    segments = {segment.text.strip(): segment.style for segment in console._record_buffer if segment.style}

    assert segments["✓ Active"].color.name == "green"
    assert segments["✗ Error"].color.name == "red"
    assert segments["⏸ Inactive"].color.name == "bright_black"
    assert segments["⟳ Running"].color.name == "blue"
    assert segments["⚠ Stale 2m 05s"].color.name == "yellow"


def test_github_label_without_sandbox() -> None:
    text = text_of(render_dashboard(snapshot(sandbox=False, github_label="https://api.github.com"), ViewState(),
                                    None, now=NOW))

    assert "GitHub: https://api.github.com" in text
    assert "SANDBOX" not in text


def test_filter_applied() -> None:
    text = text_of(render_dashboard(snapshot(), ViewState(filter_text="status:error"), None, now=NOW))

    assert "api-service" in text
    assert "topengineer.us " not in text
    assert "filter: status:error" in text


def test_filter_matches_nothing() -> None:
    text = text_of(render_dashboard(snapshot(), ViewState(filter_text="nothing-like-this"), None, now=NOW))

    assert "No pipeline matches the filter." in text


def test_detail_view() -> None:
    target = FLEET[1]
    detail = PipelineDetail(
        pipeline_id=target.pipeline_id,
        runs=(RunSummary(id=42, status=RunStatus.COMPLETED, conclusion=RunConclusion.FAILURE, event="push",
                         branch="production", created_at=at(3600), duration_seconds=301),),
        failures=(RunSummary(id=42, status=RunStatus.COMPLETED, conclusion=RunConclusion.FAILURE, event="push",
                             branch="production", created_at=at(3600), duration_seconds=301),),
        pending=(PendingAction(kind="enable_workflow", reason="The spec enables it.", before="disabled_manually",
                               after="active"),),
    )
    view = ViewState(mode=Mode.DETAIL, detail_id=target.pipeline_id)

    text = text_of(render_dashboard(snapshot(), view, detail, now=NOW))

    assert f"api-service ({target.pipeline_id})" in text
    assert "Workflow file is missing." in text
    assert "Last 10 runs" in text
    assert "Failures in the last 24 h" in text
    assert "42 " in text
    assert "5m 01s" in text
    assert "enable_workflow" in text
    assert "disabled_manually -> active" in text
    assert "Esc or b back" in text


def test_detail_reading() -> None:
    view = ViewState(mode=Mode.DETAIL, detail_id=FLEET[0].pipeline_id)

    assert "Reading runs…" in text_of(render_dashboard(snapshot(), view, None, now=NOW))


def test_markup_shown_as_text() -> None:
    # Registry records and GitHub's run data are not validated like specs, so values may hold
    # Rich markup; the dashboard must show it as written.
    target = stats("[red]x", repository="acme/[b]y", linked_domain="[i]d", linked_app="[u]a",
                   workflow_file=".github/workflows/[s]w.yml")
    detail = PipelineDetail(
        pipeline_id=target.pipeline_id,
        runs=(RunSummary(id=42, status=RunStatus.COMPLETED, conclusion=RunConclusion.FAILURE, event="[e]push",
                         branch="[bold]main", created_at=at(3600), duration_seconds=301),),
        pending=(PendingAction(kind="[k]enable", reason="[r]why", before="[o]old", after="[n]new"),),
    )
    view = ViewState(mode=Mode.DETAIL, detail_id=target.pipeline_id)

    text = text_of(render_dashboard(snapshot(pipelines=(target,)), view, detail, now=NOW))

    for value in ("[red]x (", "acme/[b]y .github/workflows/[s]w.yml", "[i]d · [u]a", "[e]push", "[bold]main",
                  "[k]enable", "[o]old -> [n]new", "[r]why"):
        assert value in text
    assert "╭─ [red]x " in text


def test_confirm_prompt() -> None:
    view = ViewState(mode=Mode.CONFIRM_TRIGGER, detail_id=FLEET[0].pipeline_id)

    text = text_of(render_dashboard(snapshot(), view, None, now=NOW))

    assert f"Trigger a workflow_dispatch run of topengineer.us ({FLEET[0].pipeline_id})" in text
    assert "Press y to confirm" in text


def test_notices_and_errors() -> None:
    text = text_of(render_dashboard(snapshot(error="The registry is corrupt."), ViewState(), None, now=NOW,
                                    notices=["warning: GitHub failed"]))

    assert "The registry is corrupt." in text
    assert "warning: GitHub failed" in text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [pytest.param(None, "—", id="none"), pytest.param(45, "45s", id="seconds"),
     pytest.param(192, "3m 12s", id="minutes"), pytest.param(7500, "2h 05m", id="hours")],
)
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [pytest.param(3, "just now", id="now"), pytest.param(30, "30 s ago", id="seconds"),
     pytest.param(300, "5 min ago", id="minutes"), pytest.param(7200, "2 h ago", id="hours"),
     pytest.param(200000, "2 d ago", id="days")],
)
def test_format_age(seconds: float, text: str) -> None:
    assert format_age(seconds) == text


@pytest.mark.parametrize(
    ("pipeline", "state"),
    [
        pytest.param(FLEET[0], DisplayState.ACTIVE, id="active"),
        pytest.param(FLEET[1], DisplayState.ERROR, id="error"),
        pytest.param(FLEET[2], DisplayState.INACTIVE, id="inactive"),
        pytest.param(FLEET[3], DisplayState.RUNNING, id="running"),
        pytest.param(FLEET[4], DisplayState.WARNING, id="stale-warning"),
        pytest.param(stats("x", stale=True, active_runs=1), DisplayState.WARNING, id="stale-over-running"),
        pytest.param(stats("x", stale=True, status=PipelineStatus.ERROR), DisplayState.ERROR, id="error-over-stale"),
        pytest.param(stats("x", health_score=60.0), DisplayState.WARNING, id="low-health"),
        pytest.param(stats("x", last_run=LastRun(timestamp=at(5), status="timed_out")), DisplayState.WARNING,
                     id="last-run-failed"),
    ],
)
def test_display_state(pipeline: PipelineStats, state: DisplayState) -> None:
    assert display_state(pipeline) is state


@pytest.mark.parametrize(
    ("text", "names"),
    [
        pytest.param("status:active", ["topengineer.us", "portfolio", "shop"], id="registry-status"),
        pytest.param("status:inactive", ["docs"], id="status-inactive"),
        pytest.param("status:running", ["portfolio"], id="display-state"),
        pytest.param("domain:shop.example", ["shop"], id="domain"),
        pytest.param("app:API", ["api-service"], id="app-any-case"),
        pytest.param("port", ["portfolio"], id="plain-text"),
        pytest.param("status:warning shop", ["shop"], id="two-terms"),
    ],
)
def test_filter_terms(text: str, names: list[str]) -> None:
    assert [item.name for item in FLEET if matches_filter(item, text)] == names


def press(keys: list[str], state: ViewState | None = None) -> tuple[ViewState, list[object]]:
    state = state or ViewState()
    commands = []
    for key in keys:
        state, command = handle_key(state, key, FLEET)
        if command is not None:
            commands.append(command)
    return state, commands


def test_keys_filter_then_open() -> None:
    state, commands = press(["/", "a", "p", "p", ":", "d", "o", "c", "s", "enter", "enter"])

    assert state.filter_text == "app:docs"
    assert state.mode is Mode.DETAIL
    assert commands[-1].kind is CommandKind.OPEN  # type: ignore[attr-defined]
    assert commands[-1].pipeline_id == FLEET[2].pipeline_id  # type: ignore[attr-defined]


def test_keys_number_opens() -> None:
    state, commands = press(["4", "enter"])

    assert state.detail_id == FLEET[3].pipeline_id
    assert len(commands) == 1


def test_keys_number_out_of_range() -> None:
    state, commands = press(["9", "enter"])

    assert state.mode is Mode.LIST
    assert state.message == "No pipeline has the number 9."
    assert commands == []


def test_keys_arrows_clamp() -> None:
    state, _ = press(["down", "down", "up", "down", "down", "down", "down", "down"])

    assert state.selected == len(FLEET) - 1


@pytest.mark.parametrize(
    ("answer", "triggered"), [pytest.param("y", True, id="confirmed"), pytest.param("n", False, id="cancelled")]
)
def test_keys_trigger_confirmation(answer: str, triggered: bool) -> None:
    state, commands = press(["down", "t", answer])

    assert state.mode is Mode.LIST
    assert state.detail_id is None
    if triggered:
        assert commands[-1].kind is CommandKind.TRIGGER  # type: ignore[attr-defined]
        assert commands[-1].pipeline_id == FLEET[1].pipeline_id  # type: ignore[attr-defined]
    else:
        assert commands == []
        assert state.message == "Trigger cancelled."


def test_keys_trigger_from_detail() -> None:
    state, commands = press(["2", "enter", "t", "y"])

    assert state.mode is Mode.DETAIL
    assert state.detail_id == FLEET[1].pipeline_id
    assert commands[-1].kind is CommandKind.TRIGGER  # type: ignore[attr-defined]


def test_keys_refresh_steps() -> None:
    faster, commands = press(["-", "-"])
    slowest, _ = press(["+"] * 10)

    assert faster.refresh_seconds == 2.0
    assert commands[0].kind is CommandKind.SET_REFRESH  # type: ignore[attr-defined]
    assert slowest.refresh_seconds == 60.0


def test_keys_back_and_quit() -> None:
    state, _ = press(["1", "enter", "escape"])
    _, commands = press(["q"], state)

    assert state.mode is Mode.LIST
    assert commands[0].kind is CommandKind.QUIT  # type: ignore[attr-defined]


def test_keys_q_types_into_filter() -> None:
    state, commands = press(["f", "q"])

    assert state.draft == "q"
    assert commands == []


@pytest.mark.parametrize(
    ("data", "keys"),
    [
        pytest.param(b"q", ["q"], id="letter"),
        pytest.param(b"\x1b[A\x1b[B", ["up", "down"], id="arrows"),
        pytest.param(b"\x1bOA", ["up"], id="application-mode-arrow"),
        pytest.param(b"12\r", ["1", "2", "enter"], id="number-enter"),
        pytest.param(b"\x1b", ["escape"], id="escape"),
        pytest.param(b"a\x7f", ["a", "backspace"], id="backspace"),
        pytest.param(b"\x01\xc3\xa9", [], id="control-and-non-ascii"),
    ],
)
def test_decode_keys(data: bytes, keys: list[str]) -> None:
    assert decode_keys(data) == keys


@pytest.mark.parametrize("report_format", list(ReportFormat), ids=lambda f: f.value)
def test_report_rows(report_format: ReportFormat) -> None:
    text = render_report(snapshot(), report_format)

    assert "api-service" in text
    assert "out_of_sync" in text
    assert "95.2" in text
    if report_format is ReportFormat.CSV:
        assert text.splitlines()[0].startswith("pipeline_id,name,repository,")
        assert len(text.splitlines()) == len(FLEET) + 1
    if report_format is ReportFormat.MARKDOWN:
        assert text.splitlines()[1].startswith("| --- |")


@pytest.mark.parametrize(
    ("name", "cell"),
    [
        pytest.param('=HYPERLINK("x")', '\'=HYPERLINK("x")', id="equals"),
        pytest.param("+1", "'+1", id="plus"),
        pytest.param("-1", "'-1", id="minus"),
        pytest.param("@SUM(A1)", "'@SUM(A1)", id="at"),
        pytest.param("\tx", "'\tx", id="tab"),
        pytest.param("\rx", "'\rx", id="carriage-return"),
        pytest.param("plain", "plain", id="plain"),
    ],
)
def test_report_csv_formula_quoted(name: str, cell: str) -> None:
    text = render_report(snapshot(pipelines=(stats(name, success_rate_trend=-3.0),), sync={}),
                         ReportFormat.CSV)

    row = list(csv.DictReader(io.StringIO(text, newline="")))[0]
    assert row["name"] == cell
    assert row["linked_app"] == cell
    assert row["success_rate_trend"] == "-3.0"


def test_report_markdown_cells_escaped() -> None:
    pipeline = stats("a|b\nc", linked_app="d\r\ne")

    text = render_report(snapshot(pipelines=(pipeline,), sync={}), ReportFormat.MARKDOWN)

    lines = text.splitlines()
    assert len(lines) == 3
    assert " a\\|b<br>c " in lines[2]
    assert " d<br>e " in lines[2]


def test_table_window_follows_selection() -> None:
    many = tuple(stats(f"service-{number:03d}") for number in range(100))

    text = text_of(render_dashboard(snapshot(pipelines=many, sync={}), ViewState(selected=50), None, now=NOW,
                                    table_rows=10))

    assert "pipelines 46-55 of 100" in text
    assert " service-050 " in text
    assert " service-044 " not in text
    assert " service-056 " not in text


def test_stale_row_with_run_in_flight() -> None:
    running = stats("portfolio", active_runs=1, stale=True, age_seconds=22.0,
                    last_run=LastRun(timestamp=at(60), status="in_progress", branch="main"))

    text = text_of(render_dashboard(snapshot(pipelines=(running,), sync={}), ViewState(), None, now=NOW))

    row = row_of(text, "portfolio")
    assert "⚠ Stale 22s" in row
    assert "Running" not in row


def test_health_unknown_shown_as_dash() -> None:
    unknown = stats("shop", stale=True, age_seconds=None, health_score=None, last_run=None,
                    metrics_24h=WindowMetrics())

    text = text_of(render_dashboard(snapshot(pipelines=(unknown,), sync={}), ViewState(), None, now=NOW))

    row = row_of(text, "shop")
    assert "⚠ Stale (no data)" in row
    assert "90" not in row
    health_cell = row.split("unknown")[1].split()[0]  # the column after Drift
    assert health_cell == "—"


def test_detail_stale_line() -> None:
    view = ViewState(mode=Mode.DETAIL, detail_id=FLEET[4].pipeline_id)

    text = text_of(render_dashboard(snapshot(), view, None, now=NOW))

    assert "GitHub failed on the last refresh; values are 2m 05s old" in text
