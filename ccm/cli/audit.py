"""``ccm audit``: show the audit log, filtered by pipeline, actor, action and time."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from ccm.audit import AuditLog, AuditQuery
from ccm.cli.common import print_error, settings_from_args
from ccm.settings import SettingsError


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
    table = Table(title=f"{len(records)} audit records from {log.path}", title_justify="left")
    table.add_column("time", no_wrap=True)
    for column in ("actor", "action", "pipeline", "repository", "result", "detail"):
        table.add_column(column)
    for record in records:
        detail = record.error or (f"{record.before} -> {record.after}" if record.before or record.after else record.reason)
        table.add_row(
            record.time.replace("+00:00", "Z"),
            record.actor,
            record.action,
            record.pipeline_id or record.pipeline_name,
            record.repository,
            record.result,
            detail,
        )
    Console(highlight=False).print(table)
    return 0


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
