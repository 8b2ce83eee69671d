"""Entry point of the ``ccm`` command: global options, logging, and the subcommands.

Each subcommand module exposes ``register(subparsers)``, which adds its parser and sets
``handler`` to a function ``(args) -> int`` that returns the exit status.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from ccm import __version__
from ccm.logsetup import LogFormat, configure_root_logger, default_log_format

COMMAND_MODULES: tuple[str, ...] = ("validate", "reconcile", "pipelines", "sandbox", "api", "token", "monitor", "report", "serve", "init", "audit")


def add_global_options(parser: argparse.ArgumentParser, default: object) -> None:
    """Add the options every command takes, with ``default`` for those not given."""
    parser.add_argument(
        "--state-dir",
        default=default,
        help="state directory (registry, backups, tokens); default $CCM_HOME or ~/.ccm",
    )
    parser.add_argument(
        "--pipelines-dir",
        default=default,
        help="spec directory; default $CCM_PIPELINES_DIR or <state-dir>/pipelines.d",
    )
    parser.add_argument(
        "--github",
        default=default,
        metavar="URL|sandbox",
        help="GitHub API base URL, or 'sandbox' for the built-in simulator; default https://api.github.com",
    )
    parser.add_argument("--sandbox-seed", default=default, help="YAML seed for --github sandbox")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0 if default is None else default,
        help="more log output (-vv: debug)",
    )
    parser.add_argument(
        "--log-format",
        default=default,
        choices=[log_format.value for log_format in LogFormat],
        help="log lines as text, or as JSON objects; default json under systemd, else text",
    )


class _CommandParser(argparse.ArgumentParser):
    """A subcommand's parser: it also takes the global options, after the command name.

    Their defaults are suppressed here, so that ``ccm --github sandbox reconcile`` keeps the value
    given before the command, and ``ccm reconcile --github sandbox`` sets it after.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        # A command may define one of these options itself (ccm init --state-dir); its own
        # definition then replaces the global one.
        kwargs.setdefault("conflict_handler", "resolve")
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        add_global_options(self, default=argparse.SUPPRESS)


def build_parser(commands: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    """Build the parser with the subcommands in ``commands`` (all of them by default)."""
    parser = argparse.ArgumentParser(
        prog="ccm",
        description="CI/CD Manager: converge GitHub Actions pipelines on the specs in pipelines.d/.",
    )
    parser.add_argument("--version", action="version", version=f"ccm {__version__}")
    add_global_options(parser, default=None)
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_CommandParser
    )

    for name in commands:
        importlib.import_module(f"ccm.cli.{name}").register(subparsers)
    return parser


def configure_logging(verbosity: int, log_format: LogFormat | None = None) -> None:
    level = logging.WARNING
    if verbosity == 1:
        level = logging.INFO
    elif verbosity > 1:
        level = logging.DEBUG
    configure_root_logger(level, log_format or default_log_format(), sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    # Only the modules of the commands named on the line are imported, because importing every
    # command (the API server, the sandbox, the dashboard) costs a cron-run pass a third of a
    # second. Help, a typo or no command at all get the full parser.
    named = [name for name in COMMAND_MODULES if name in arguments]
    parser = build_parser(named or COMMAND_MODULES)
    args = parser.parse_args(arguments)
    configure_logging(args.verbose, LogFormat(args.log_format) if args.log_format else None)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
