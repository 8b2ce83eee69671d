"""``ccm report``: the status of every pipeline as JSON, CSV or Markdown."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ccm.cli.common import print_error, settings_from_args
from ccm.monitor.report import ReportFormat, render_report
from ccm.monitor.service import PipelineMonitor
from ccm.monitor.source import LocalSource
from ccm.registry import RegistryError
from ccm.runtime import open_engine
from ccm.settings import SettingsError


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    report = subparsers.add_parser(
        "report",
        help="export the status of every pipeline as JSON, CSV or Markdown",
        description="Export one row per pipeline: status, drift, health, 24 h metrics, last run.",
    )
    report.add_argument(
        "-o", "--format", choices=[f.value for f in ReportFormat], default="json", help="output format; default json"
    )
    report.add_argument("--output", type=Path, help="file to write; default standard output")
    report.set_defaults(handler=run_report)


def run_report(args: argparse.Namespace) -> int:
    try:
        settings = settings_from_args(args)
        with open_engine(settings) as engine:
            snapshot = LocalSource(PipelineMonitor(engine), time.time).fleet()
    except (SettingsError, RegistryError) as error:
        print_error(str(error))
        return 1
    if snapshot.error:
        print_error(snapshot.error)
        return 1

    text = render_report(snapshot, ReportFormat(args.format))
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as error:
        print_error(f"Cannot write the report to {args.output}: {error.strerror}. Choose another --output path.")
        return 1
    return 0
