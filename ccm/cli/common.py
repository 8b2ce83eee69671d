"""What the subcommands share: settings from the global options, and error output."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.text import Text

from ccm.settings import Settings, load_settings


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Resolve settings with the global command-line options taking precedence."""
    return load_settings(
        {
            "state_dir": args.state_dir,
            "pipelines_dir": args.pipelines_dir,
            "github": args.github,
            "sandbox_seed": args.sandbox_seed,
        }
    )


def print_error(message: str) -> None:
    Console(stderr=True, highlight=False, soft_wrap=True).print(Text(message, style="red"))
