"""``ccm monitor``: the live dashboard, or one frame with ``--once``."""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from ccm.cli.common import print_error, settings_from_args
from ccm.client import CcmClient
from ccm.monitor.dashboard import render_dashboard
from ccm.monitor.live import run_dashboard
from ccm.monitor.service import PipelineMonitor
from ccm.monitor.remote import RemoteSource
from ccm.monitor.source import DashboardSource, LocalSource
from ccm.monitor.view import DEFAULT_REFRESH_SECONDS, ViewState
from ccm.registry import RegistryError
from ccm.runtime import open_engine
from ccm.settings import SettingsError


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    monitor = subparsers.add_parser(
        "monitor",
        help="live dashboard of pipeline health, drift and runs",
        description="Show a live dashboard of every pipeline: status, drift, health, success rate, "
        "runs. Keys: arrows select, Enter opens, / filters, t triggers a run, +/- change the "
        "refresh interval, q quits.",
    )
    monitor.add_argument("--once", action="store_true", help="print one frame and exit")
    monitor.add_argument(
        "--interval",
        type=float,
        default=DEFAULT_REFRESH_SECONDS,
        help=f"seconds between refreshes of the live dashboard; default {DEFAULT_REFRESH_SECONDS:g}",
    )
    monitor.add_argument("--width", type=int, help="columns of the --once frame; default: the terminal's")
    monitor.add_argument("--svg", type=Path, help="with --once, also save the frame as an SVG picture")
    monitor.add_argument(
        "--url", help="read from a ccm server's REST API at this base URL instead of this machine's state"
    )
    monitor.add_argument("--token", help="API token for --url; default $CCM_TOKEN")
    monitor.set_defaults(handler=run_monitor)


def run_monitor(args: argparse.Namespace) -> int:
    if not 0 < args.interval < math.inf:
        print_error(f"--interval must be a finite number of seconds greater than 0, not {args.interval:g}.")
        return 2
    if args.svg is not None and not args.once:
        print_error("--svg saves a single frame; add --once.")
        return 2
    if not args.once and not sys.stdin.isatty():
        print_error("The live dashboard reads keys from a terminal, and standard input is not one. "
                    "Run it in a terminal, or pass --once to print one frame.")
        return 2

    if args.url is not None:
        token = args.token or os.environ.get("CCM_TOKEN", "")
        if not token:
            print_error("--url needs an API token: pass --token or set CCM_TOKEN.")
            return 2
        with CcmClient(args.url, token) as client:
            return _show(args, RemoteSource(client, time.time))

    try:
        settings = settings_from_args(args)
        with open_engine(settings) as engine:
            return _show(args, LocalSource(PipelineMonitor(engine), time.time))
    except (SettingsError, RegistryError) as error:
        print_error(str(error))
        return 1


def _show(args: argparse.Namespace, source: DashboardSource) -> int:
    if not args.once:
        return run_dashboard(source, console=Console(), refresh_seconds=args.interval)
    snapshot = source.fleet()
    console = Console(width=args.width, record=args.svg is not None, highlight=False)
    view = ViewState(refresh_seconds=args.interval)
    console.print(render_dashboard(snapshot, view, None, now=time.time()))
    if args.svg is not None:
        console.save_svg(str(args.svg), title="ccm monitor")
    return 1 if snapshot.error else 0

