"""``ccm api``: serve the REST API in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import threading
from contextlib import closing
from types import FrameType
from typing import Any

from ccm.api import PipelineAPI
from ccm.api.server import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_THREADS
from ccm.cli.common import print_error, settings_from_args
from ccm.manager import PipelineManager
from ccm.monitor.service import PipelineMonitor
from ccm.runtime import open_engine
from ccm.settings import SettingsError
from ccm.tokens import TokenStore


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "api",
        help="serve the REST API (provision, teardown, trigger, stats) in the foreground",
        description="Serve the REST API that VPS Manager calls, until Ctrl-C or SIGTERM. Every "
        "route but /api/health and /api/openapi.json needs a token from `ccm token create`.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on; default {DEFAULT_HOST}")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"TCP port; 0 picks a free one; default {DEFAULT_PORT}"
    )
    parser.add_argument(
        "--threads", type=int, default=DEFAULT_THREADS, help=f"worker threads; default {DEFAULT_THREADS}"
    )
    parser.set_defaults(handler=run_api)


def run_api(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        print_error(f"--port {args.port} is not a TCP port; give 0 to 65535.")
        return 2
    if args.threads < 1:
        print_error(f"--threads {args.threads} must be at least 1.")
        return 2
    try:
        settings = settings_from_args(args)
        with open_engine(settings) as engine, closing(engine.client.for_waiting_callers()) as reads:
            tokens = TokenStore(settings.state_dir)
            api = PipelineAPI(
                PipelineManager(engine),
                PipelineMonitor(engine, client=reads),
                tokens,
                host=args.host,
                port=args.port,
                threads=args.threads,
            )
            try:
                api.start()
            except OSError as error:
                print_error(f"Cannot listen on {args.host}:{args.port}: {error.strerror}. Choose another --port.")
                return 2
            return _serve(api, engine.github_label, has_tokens=bool(tokens.records()))
    except SettingsError as error:
        print_error(str(error))
        return 1


def _serve(api: PipelineAPI, github_label: str, *, has_tokens: bool) -> int:
    stopping = threading.Event()

    def request_stop(signal_number: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    print(f"ccm API serving {api.url} (GitHub: {github_label}). Press Ctrl-C to stop.", flush=True)
    if not has_tokens:
        print_error(
            "No API token exists yet, so every route but /api/health and /api/openapi.json returns "
            "401. Create one with `ccm token create --role api --name vps-manager`."
        )
    stopping.wait()
    api.stop()
    print("ccm API stopped.", flush=True)
    return 0
