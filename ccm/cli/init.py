"""``ccm init``: create the state directory, a commented config, pipelines.d/ and the first admin token.

Running it again changes nothing that exists: the config and tokens are kept, and only missing
parts are created. The admin token is printed once, on standard output, so a script can capture
it; everything else goes to standard error.
"""

from __future__ import annotations

import argparse
import os
import stat
from pathlib import Path
from typing import Any

from rich.console import Console

from ccm.cli.common import print_error
from ccm.registry.files import make_private_directory, write_atomically
from ccm.settings import SettingsError, load_settings
from ccm.tokens import TokenError, TokenRole, TokenStore

CONFIG_FILE = "ccm.yaml"
ADMIN_TOKEN_NAME = "admin"

CONFIG_TEMPLATE = """\
# ccm configuration. Each key can also be set by the CCM_* variable named next to it, which wins
# over this file; command-line options win over both. Values shown are the defaults.

# Registry, backups, tokens, audit log, alert ledger and GitHub response cache. This file is read
# from $CCM_HOME/ccm.yaml (or $CCM_CONFIG), so the state directory itself is set by CCM_HOME.
# state_dir: {state_dir}

# Spec directory watched by `ccm serve`. Default: <state_dir>/pipelines.d.  [CCM_PIPELINES_DIR]
{pipelines_dir_line}

# GitHub REST API base URL: https://api.github.com, https://HOST/api/v3 for GitHub Enterprise
# Server, or "sandbox" for the built-in simulator.  [CCM_GITHUB]
# github: https://api.github.com

# The GitHub token comes from GITHUB_TOKEN or GH_TOKEN, then from the systemd credential
# "github-token" (LoadCredential=), then from this file. It is never logged.  [CCM_GITHUB_TOKEN_FILE]
# github_token_file: /etc/ccm/github-token

# YAML seed of the sandbox, for github: sandbox.  [CCM_SANDBOX_SEED]
# sandbox_seed: examples/sandbox.yaml

# Seconds to wait for one GitHub response.  [CCM_GITHUB_TIMEOUT_SECONDS]
# github_timeout_seconds: 10

# Repositories observed at once in a pass (1 to 64).  [CCM_OBSERVE_CONCURRENCY]
# observe_concurrency: 16

# Address and TCP port of the REST API of `ccm serve`. Keep the loopback address and put a
# TLS-terminating reverse proxy in front to reach it from elsewhere.  [CCM_API_HOST, CCM_API_PORT]
# api_host: 127.0.0.1
# api_port: 8000

# Seconds between full passes of `ccm serve`, which catch changes made on GitHub and read the
# latest runs for alerts.  [CCM_RESYNC_INTERVAL_SECONDS]
# resync_interval_seconds: 60

# Milliseconds of quiet after a change in the spec directory before a pass starts.  [CCM_WATCH_DEBOUNCE_MS]
# watch_debounce_ms: 200

# A failing pipeline is left alone for backoff_initial_seconds, doubling after each further
# failure up to backoff_max_seconds; a success resets it.  [CCM_BACKOFF_INITIAL_SECONDS, CCM_BACKOFF_MAX_SECONDS]
# backoff_initial_seconds: 30
# backoff_max_seconds: 900

# Webhooks that receive alerts (failed, recovered, error, torn_down) as a JSON POST. format: json
# sends ccm's object, format: slack sends {{"text": ...}}. The variables take comma-separated
# URLs and replace this list.  [CCM_WEBHOOK_URLS, CCM_SLACK_WEBHOOK_URLS]
# webhooks:
#   - url: https://hooks.slack.com/services/T000/B000/XXXX
#     format: slack
#   - url: https://alerts.example.com/ccm
#     format: json

# Seconds to wait for a webhook to respond, per attempt (3 attempts).  [CCM_WEBHOOK_TIMEOUT_SECONDS]
# webhook_timeout_seconds: 5
"""


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "init",
        help="create the state directory, a commented ccm.yaml, pipelines.d/ and the first admin token",
        description="Prepare a state directory for ccm. Existing files are kept, so running it "
        "again only adds what is missing. The first admin token is printed once.",
    )
    parser.add_argument(
        "--state-dir",
        dest="init_state_dir",
        metavar="DIR",
        help="the state directory to create; default --state-dir before the command, $CCM_HOME or ~/.ccm",
    )
    parser.set_defaults(handler=run_init)


def run_init(args: argparse.Namespace) -> int:
    state_dir_option = args.init_state_dir or args.state_dir
    try:
        settings = load_settings({"state_dir": state_dir_option, "pipelines_dir": args.pipelines_dir})
    except SettingsError as error:
        print_error(str(error))
        return 1
    state_dir = settings.state_dir.absolute()
    specs_dir = settings.specs_dir.absolute()
    console = Console(stderr=True, highlight=False, soft_wrap=True)

    try:
        _create_state_dir(state_dir, console)
        _write_config(state_dir / CONFIG_FILE, state_dir, Path(args.pipelines_dir) if args.pipelines_dir else None, console)
        if specs_dir.is_dir():
            console.print(f"Kept the spec directory {specs_dir}.")
        else:
            specs_dir.mkdir(parents=True)
            console.print(f"Created the spec directory {specs_dir}.")
    except OSError as error:
        print_error(f"Cannot initialise {state_dir}: {error}. Check that the user running ccm may write there.")
        return 1

    tokens = TokenStore(state_dir)
    try:
        existing = tokens.records()
        if existing:
            console.print(
                f"Kept the {len(existing)} existing API token(s); create more with `ccm token create`."
            )
        else:
            token = tokens.create(ADMIN_TOKEN_NAME, TokenRole.ADMIN)
            print(token, flush=True)
            console.print(
                f"Created the admin API token {ADMIN_TOKEN_NAME!r}, printed above. It is shown only "
                "now: store it, and send it in the CCM-Token header."
            )
    except TokenError as error:
        print_error(str(error))
        return 1

    if os.environ.get("CCM_HOME") is None and state_dir != (Path.home() / ".ccm").absolute():
        console.print(f"Set CCM_HOME={state_dir} for ccm to find this state directory and its config.")
    return 0


def _create_state_dir(state_dir: Path, console: Console) -> None:
    if not state_dir.is_dir():
        make_private_directory(state_dir)
        console.print(f"Created the state directory {state_dir} (mode 0700).")
        return
    mode = stat.S_IMODE(state_dir.stat().st_mode)
    if mode & 0o077:
        state_dir.chmod(0o700)
        console.print(f"Set the mode of the state directory {state_dir} to 0700 (it was {mode:04o}).")
    else:
        console.print(f"Kept the state directory {state_dir}.")


def _write_config(path: Path, state_dir: Path, pipelines_dir: Path | None, console: Console) -> None:
    if path.exists():
        console.print(f"Kept the config file {path}.")
        return
    if pipelines_dir is not None:
        pipelines_dir_line = f"pipelines_dir: {pipelines_dir.expanduser().absolute()}"
    else:
        pipelines_dir_line = f"# pipelines_dir: {state_dir / 'pipelines.d'}"
    content = CONFIG_TEMPLATE.format(state_dir=state_dir, pipelines_dir_line=pipelines_dir_line)
    write_atomically(path, content.encode("utf-8"))
    console.print(f"Created the config file {path}; every setting is described in it.")
