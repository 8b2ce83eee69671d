"""``ccm reconcile [--dry-run]``: one reconcile pass from the shell.

Exit status: 0 when in sync (or everything planned was applied), 2 when a dry run finds changes
pending, 1 on errors (an invalid spec file, a failed action, a refused teardown).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console

from ccm.cli.common import print_error, settings_from_args
from ccm.cli.planview import render_pass
from ccm.reconcile.report import pass_to_json
from ccm.github.errors import GitHubError
from ccm.reconcile.passes import PassRefused, PassRequest, run_pass
from ccm.registry import RegistryError
from ccm.runtime import open_engine
from ccm.settings import SettingsError
from ccm.spec import SpecDirectoryError


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "reconcile",
        help="converge GitHub on the specs once (--dry-run: print the plan only)",
        description="Compare the specs, the registry and live GitHub state, and converge. "
        "Exit status: 0 in sync, 2 changes pending (dry run), 1 on errors.",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the plan and change nothing"
    )
    parser.add_argument(
        "--allow-prune",
        action="store_true",
        help="let this pass tear down all active pipelines, or more than half of them",
    )
    parser.add_argument(
        "-o", "--output", choices=("table", "json"), default="table", help="output format"
    )
    parser.set_defaults(handler=run_reconcile)


def run_reconcile(args: argparse.Namespace) -> int:
    request = PassRequest(dry_run=args.dry_run, allow_prune=args.allow_prune)
    try:
        settings = settings_from_args(args)
        with open_engine(settings) as engine:
            result = run_pass(engine, request)
            label = engine.github_label
    except (SettingsError, SpecDirectoryError, PassRefused, RegistryError) as error:
        print_error(str(error))
        return 1
    except GitHubError as error:
        print_error(f"GitHub request failed: {error}")
        return 1

    if args.output == "json":
        print(json.dumps(pass_to_json(result, label), indent=2))
    else:
        Console(highlight=False).print(render_pass(result, label))
    return result.exit_code
