"""``ccm pipelines``: list the registry's pipelines."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ccm.cli.common import print_error, settings_from_args
from ccm.pipeline import Pipeline, PipelineStatus
from ccm.registry import Registry, RegistryError
from ccm.settings import SettingsError

# "pipe_" and 12 hex digits.
_ID_WIDTH = 17
_STATUS_STYLE = {
    PipelineStatus.ACTIVE: ("✓ active", "green"),
    PipelineStatus.ERROR: ("✗ error", "red"),
    PipelineStatus.INACTIVE: ("⏸ inactive", "bright_black"),
}


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "pipelines",
        help="list the pipelines in the registry",
        description="List the registry's pipelines; torn-down ones only with --all.",
    )
    parser.add_argument("--all", action="store_true", help="include torn-down pipelines")
    parser.add_argument("-o", "--output", choices=("table", "json"), default="table")
    parser.set_defaults(handler=run_pipelines)


def run_pipelines(args: argparse.Namespace) -> int:
    try:
        data = Registry(settings_from_args(args).state_dir).load()
    except (SettingsError, RegistryError) as error:
        print_error(str(error))
        return 1
    pipelines = sorted(
        (p for p in data.pipelines.values() if args.all or p.is_current),
        key=lambda p: (p.name, p.created_at),
    )
    if args.output == "json":
        print(json.dumps([p.model_dump(mode="json") for p in pipelines], indent=2))
    else:
        Console(highlight=False).print(render_pipelines(pipelines))
    return 0


def render_pipelines(pipelines: list[Pipeline]) -> Table:
    """Return the table of ``pipelines``; every value is plain text, never Rich markup."""
    # Ids are copied into other commands, so their column is never wrapped or cut. On a narrow
    # terminal the other columns fold their values onto more lines, the reason first because it
    # is the longest, and cut nothing.
    table = Table(title=f"{len(pipelines)} pipelines", title_justify="left")
    table.add_column("pipeline", overflow="fold")
    table.add_column("id", no_wrap=True, min_width=_ID_WIDTH)
    table.add_column("status", no_wrap=True)
    for column in ("repository", "workflow", "domain", "reason"):
        table.add_column(column, overflow="fold")
    for pipeline in pipelines:
        label, style = _STATUS_STYLE[pipeline.status]
        table.add_row(
            Text(pipeline.name),
            Text(pipeline.pipeline_id),
            Text(label, style=style),
            Text(pipeline.repository),
            Text(pipeline.workflow_file.removeprefix(".github/workflows/")),
            Text(pipeline.vps_integration.linked_domain or ""),
            Text(pipeline.status_reason or ""),
        )
    return table
