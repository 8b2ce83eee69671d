"""``ccm token create|list|revoke``: manage the tokens of the REST API.

A running API server picks up created and revoked tokens on the next request, so rotating a
token needs no restart: create the new one, switch the caller over, revoke the old one.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console
from rich.table import Table

from ccm.cli.common import print_error, settings_from_args
from ccm.settings import SettingsError
from ccm.tokens import TokenError, TokenRole, TokenStore


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "token",
        help="create, list and revoke REST API tokens",
        description="Manage REST API tokens. Roles: admin (everything), api (provision, "
        "teardown, trigger and reads), viewer (reads only).",
    )
    actions = parser.add_subparsers(dest="token_command", metavar="ACTION", required=True)

    create = actions.add_parser("create", help="create a token and print it once")
    create.add_argument("--name", required=True, help="unique name, logged as the actor of its requests")
    create.add_argument("--role", required=True, choices=[role.value for role in TokenRole])
    create.set_defaults(handler=run_create)

    listing = actions.add_parser("list", help="list tokens: names, roles, creation times, never the tokens")
    listing.add_argument("-o", "--output", choices=("table", "json"), default="table", help="output format")
    listing.set_defaults(handler=run_list)

    revoke = actions.add_parser("revoke", help="revoke a token by name; requests with it fail at once")
    revoke.add_argument("name")
    revoke.set_defaults(handler=run_revoke)


def run_create(args: argparse.Namespace) -> int:
    try:
        token = _store(args).create(args.name, TokenRole(args.role))
    except (SettingsError, TokenError) as error:
        print_error(str(error))
        return 1
    print(token)
    Console(stderr=True, highlight=False).print(
        f"Created the {args.role} token {args.name!r}. It is shown only now: store it in the "
        "caller's configuration and send it in the CCM-Token header."
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    try:
        records = _store(args).records()
    except (SettingsError, TokenError) as error:
        print_error(str(error))
        return 1
    if args.output == "json":
        rows = [
            {
                "name": record.name,
                "role": record.role.value,
                "created_at": record.model_dump(mode="json")["created_at"],
                "hash_suffix": record.hash_suffix,
            }
            for record in records
        ]
        print(json.dumps(rows, indent=2))
        return 0
    table = Table(title=f"{len(records)} API tokens", title_justify="left")
    for column in ("name", "role", "created", "hash ends in"):
        table.add_column(column)
    for record in records:
        table.add_row(
            record.name, record.role.value, record.created_at.strftime("%Y-%m-%d %H:%M:%SZ"), record.hash_suffix
        )
    Console(highlight=False).print(table)
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    try:
        record = _store(args).revoke(args.name)
    except (SettingsError, TokenError) as error:
        print_error(str(error))
        return 1
    print(f"Revoked the {record.role.value} token {record.name!r}.")
    return 0


def _store(args: argparse.Namespace) -> TokenStore:
    return TokenStore(settings_from_args(args).state_dir)
