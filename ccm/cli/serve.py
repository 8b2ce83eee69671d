"""``ccm serve``: the REST API, the spec watcher and the periodic resync, until SIGTERM."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from ccm.cli.common import print_error, settings_from_args
from ccm.registry import RegistryError
from ccm.settings import SettingsError


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the API, the pipelines.d/ watcher and the periodic resync until SIGTERM",
        description="Converge GitHub on pipelines.d/ continuously: a pass on start, within a "
        "second of every saved spec file, and every resync interval; serve the REST API in the "
        "same process. Logs at INFO by default. SIGTERM or Ctrl-C stops it cleanly (exit 0).",
    )
    parser.add_argument("--host", help="address the API listens on; default api_host of the config, 127.0.0.1")
    parser.add_argument("--port", type=int, help="TCP port of the API; 0 picks a free one; default api_port, 8000")
    parser.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    # Imported here, because the daemon pulls in the API server and the watcher.
    from ccm.serve.daemon import ServeError, ServeOptions, serve

    # A service logs its passes and alerts, so INFO is its default level. -vv still lowers it to DEBUG.
    root = logging.getLogger()
    root.setLevel(min(root.level, logging.INFO))
    try:
        settings = settings_from_args(args)
    except SettingsError as error:
        print_error(str(error))
        return 1
    options = ServeOptions(
        host=args.host if args.host is not None else settings.api_host,
        port=args.port if args.port is not None else settings.api_port,
    )
    if not 0 <= options.port <= 65535:
        print_error(f"--port {options.port} is not a TCP port; give 0 to 65535.")
        return 2
    try:
        return serve(settings, options)
    except (SettingsError, ServeError, RegistryError) as error:
        print_error(str(error))
        return 1
