"""Reports: the status of every pipeline as one row each, in JSON, CSV or Markdown."""

from __future__ import annotations

import csv
import enum
import io
import json
from collections.abc import Sequence
from typing import Any

from ccm.monitor.drift import SyncStatus
from ccm.monitor.source import FleetSnapshot
from ccm.monitor.view import display_state


class ReportFormat(str, enum.Enum):
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "md"


# Column order of the CSV and Markdown forms; the JSON form uses the same keys.
COLUMNS = (
    "pipeline_id",
    "name",
    "repository",
    "workflow_file",
    "status",
    "state",
    "sync_status",
    "health_score",
    "success_rate_24h",
    "success_rate_trend",
    "run_count_24h",
    "error_count_24h",
    "avg_duration_seconds",
    "last_run_at",
    "last_run_status",
    "active_runs",
    "queue_length",
    "linked_domain",
    "linked_app",
    "stale",
    "age_seconds",
)
# A spreadsheet reads a cell starting with one of these as a formula, so the CSV form prefixes
# such a cell with a single quote (OWASP, "CSV Injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def report_rows(snapshot: FleetSnapshot) -> list[dict[str, Any]]:
    """Return one flat row per pipeline, with the keys of ``COLUMNS``."""
    rows = []
    for stats in snapshot.pipelines:
        last = stats.last_run
        rows.append(
            {
                "pipeline_id": stats.pipeline_id,
                "name": stats.name,
                "repository": stats.repository,
                "workflow_file": stats.workflow_file,
                "status": stats.status.value,
                "state": display_state(stats).value,
                "sync_status": snapshot.sync.get(stats.pipeline_id, SyncStatus.UNKNOWN).value,
                "health_score": stats.health_score,
                "success_rate_24h": stats.metrics_24h.success_rate,
                "success_rate_trend": stats.success_rate_trend,
                "run_count_24h": stats.metrics_24h.run_count,
                "error_count_24h": stats.error_count_24h,
                "avg_duration_seconds": stats.metrics_24h.avg_duration_seconds,
                "last_run_at": last.model_dump(mode="json")["timestamp"] if last else None,
                "last_run_status": last.status if last else None,
                "active_runs": stats.active_runs,
                "queue_length": stats.queue_length,
                "linked_domain": stats.linked_domain,
                "linked_app": stats.linked_app,
                "stale": stats.stale,
                "age_seconds": stats.age_seconds,
            }
        )
    return rows


def render_report(snapshot: FleetSnapshot, report_format: ReportFormat) -> str:
    rows = report_rows(snapshot)
    if report_format is ReportFormat.JSON:
        document = {"github": snapshot.github_label, "pipelines": rows}
        return json.dumps(document, indent=2) + "\n"
    if report_format is ReportFormat.CSV:
        return _csv(rows)
    return _markdown(rows)


def _csv(rows: Sequence[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    # CRLF as RFC 4180 has it; the writer also quotes every cell that contains a CR or LF only
    # when both are in its line terminator.
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _csv_cell(value) for key, value in row.items()})
    return buffer.getvalue()


def _csv_cell(value: Any) -> Any:
    """Return a text value that a spreadsheet would run as a formula with a quote in front."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


def _markdown(rows: Sequence[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    for row in rows:
        cells = [_markdown_cell(row[key]) for key in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _markdown_cell(value: Any) -> str:
    """Return the value as one table cell: pipes escaped, line breaks as ``<br>``."""
    if value is None:
        return ""
    text = str(value).replace("\\", "\\\\").replace("|", "\\|")
    return text.replace("\r\n", "<br>").replace("\n", "<br>").replace("\r", "<br>")
