"""``ccm validate [DIR]``: check every spec file and print each error with its file and line.

Each error is one line, ``file:line: field: message``, followed by a one-line summary.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from ccm.settings import SettingsError, load_settings
from ccm.spec import SpecDirectoryError, SpecError, SpecSet, load_specs


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check the spec files and print every error with its file and line",
        description="Check every spec file in the spec directory, changing nothing. "
        "Exit status: 0 when all specs are valid, 1 when there is an error.",
    )
    parser.add_argument(
        "directory",
        metavar="DIR",
        nargs="?",
        type=Path,
        help="spec directory to check; default the configured one (--pipelines-dir)",
    )
    parser.set_defaults(handler=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    # Rich writes colour only when stdout is a terminal. Soft wrapping keeps each error on one
    # line however narrow the terminal, so the output stays easy to grep.
    console = Console(highlight=False, soft_wrap=True)
    stderr = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        directory = args.directory or load_settings(
            {"state_dir": args.state_dir, "pipelines_dir": args.pipelines_dir}
        ).specs_dir
        specs = load_specs(directory)
    except (SettingsError, SpecDirectoryError) as error:
        stderr.print(Text(str(error), style="red"))
        return 1

    for error in specs.errors:
        console.print(_error_line(error))
    console.print(_summary(specs, directory))
    return 1 if specs.errors else 0


def _error_line(error: SpecError) -> Text:
    location = error.file if error.line is None else f"{error.file}:{error.line}"
    line = Text().append(location, style="bold")
    if error.field:
        line.append(": ").append(error.field, style="cyan")
    return line.append(": ").append(error.message)


def _summary(specs: SpecSet, directory: Path) -> Text:
    if specs.errors:
        return Text(
            f"{_count(len(specs.errors), 'error')} in {_count(len(specs.broken_files), 'file')}",
            style="bold red",
        )
    if not specs.specs:
        return Text(f"No specs in {directory}.", style="yellow")
    spec_count = len(specs.specs)
    verb = "is" if spec_count == 1 else "are"
    file_count = len(set(specs.files.values()))
    return Text(
        f"{_count(spec_count, 'spec')} in {_count(file_count, 'file')} {verb} valid", style="green"
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
