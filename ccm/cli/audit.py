"""``ccm audit``: show the audit log, filtered by pipeline, actor, action and time."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ccm.audit import AuditLog, AuditQuery, AuditRecord
from ccm.cli.common import print_error, settings_from_args
from ccm.settings import SettingsError


COLUMNS = ("time", "actor", "action", "pipeline", "repository", "result", "detail")
# Below this width left for the detail column, records are shown one block each.
MIN_DETAIL_WIDTH = 20


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="show who changed which pipeline, how, and with what result",
        description="Show the audit log (<state-dir>/audit.log): every provision, teardown and "
        "GitHub change, oldest first. Filters combine: a record is shown when it matches all.",
    )
    parser.add_argument("--pipeline", metavar="ID", help="a pipeline id (pipe_...) or a pipeline name")
    parser.add_argument("--actor", metavar="NAME", help="an API token name, or file:NAME.yaml for spec file changes")
    parser.add_argument("--action", metavar="KIND", help="an action such as register, enable_workflow, deactivate, trigger")
    parser.add_argument(
        "--since",
        metavar="ISO",
        help="records at or after this time, such as 2026-01-31 or 2026-01-31T08:00:00Z; no zone means UTC",
    )
    parser.add_argument("--limit", metavar="N", type=int, help="show only the newest N matching records")
    parser.add_argument("-o", "--output", choices=("table", "json"), default="table", help="output format")
    parser.set_defaults(handler=run_audit)


def run_audit(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        print_error(f"--limit {args.limit} must be at least 1.")
        return 2
    try:
        since = parse_since(args.since) if args.since is not None else None
    except ValueError as error:
        print_error(str(error))
        return 2
    try:
        settings = settings_from_args(args)
    except SettingsError as error:
        print_error(str(error))
        return 1

    query = AuditQuery(pipeline=args.pipeline, actor=args.actor, action=args.action, since=since, limit=args.limit)
    log = AuditLog(settings.state_dir / "audit.log")
    try:
        records = log.query(query)
    except OSError as error:
        print_error(f"Cannot read the audit log {log.path}: {error.strerror}. Check --state-dir.")
        return 1

    if args.output == "json":
        print(json.dumps([record.model_dump() for record in records], indent=2))
        return 0
    console = Console(highlight=False)
    title = f"{len(records)} audit records from {log.path}"
    rows = [_row(record) for record in records]
    if console.width >= _table_width(rows) + MIN_DETAIL_WIDTH:
        console.print(_table(title, rows))
    else:
        console.print(Text(title, style="italic"))
        for row in rows:
            console.print(_block(row))
    return 0


def _row(record: AuditRecord) -> tuple[str, ...]:
    detail = record.error or (f"{record.before} -> {record.after}" if record.before or record.after else record.reason)
    return (
        record.time.replace("+00:00", "Z"),
        record.actor,
        record.action,
        record.pipeline_id or record.pipeline_name,
        record.repository,
        record.result,
        detail,
    )


def _table_width(rows: list[tuple[str, ...]]) -> int:
    """Return the width of the table without its detail column: the unwrapped cells, padding and borders."""
    width = 1
    for index, header in enumerate(COLUMNS[:-1]):
        width += max([len(header)] + [len(row[index]) for row in rows]) + 3
    return width + 3


def _table(title: str, rows: list[tuple[str, ...]]) -> Table:
    """Return one line per record; only the detail column folds."""
    table = Table(title=title, title_justify="left")
    for header in COLUMNS[:-1]:
        table.add_column(header, no_wrap=True)
    table.add_column(COLUMNS[-1], overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    return table


def _block(row: tuple[str, ...]) -> Table:
    """Return one record as lines of field and value, for a console too narrow for the table."""
    block = Table.grid(padding=(0, 2))
    block.add_column(style="bold", no_wrap=True)
    block.add_column(overflow="fold")
    for header, cell in zip(COLUMNS, row, strict=True):
        block.add_row(header, Text(cell))
    block.add_row("", "")
    return block


def parse_since(text: str) -> datetime:
    """Parse an ISO 8601 date or time; a time without a zone is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--since {text!r} is not an ISO 8601 date or time. Give one such as 2026-01-31 or "
            "2026-01-31T08:00:00Z."
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
