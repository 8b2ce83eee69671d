"""Connect: decide which GitHub a process talks to, and start the sandbox when asked for.

The sandbox is used only when the settings contain ``github: sandbox``. It is never a fallback for
a missing token: a process with neither a token nor the sandbox stops with a message that names
both ways forward.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from pydantic import SecretStr

from ccm.settings import Settings, SettingsError

if TYPE_CHECKING:
    from ccm.github.sandbox import SandboxWorld

logger = logging.getLogger(__name__)

# Any non-empty token opens the sandbox unless its seed lists tokens.
SANDBOX_TOKEN = SecretStr("sandbox-token")
SANDBOX_WORLD_FILE = "sandbox-world.json"


@dataclass(frozen=True)
class GitHubTarget:
    base_url: str
    token: SecretStr
    label: str  # shown on every screen, so that the sandbox is never mistaken for GitHub
    cache_scope: str | None = None  # see GitHubClient: stable across sandbox ports


@contextmanager
def connect(settings: Settings) -> Iterator[GitHubTarget]:
    """Yield where to send GitHub requests; with the sandbox, serve it for the block's duration."""
    if not settings.uses_sandbox:
        token = settings.github_token()
        if token is None:
            raise SettingsError(
                "No GitHub token: set GITHUB_TOKEN or GH_TOKEN, or github_token_file in the "
                "config. To try ccm without GitHub, use the built-in simulator: "
                "--github sandbox --sandbox-seed examples/sandbox.yaml."
            )
        yield GitHubTarget(base_url=settings.github, token=token, label=settings.github)
        return

    # Imported here so that a process talking to GitHub never loads the simulator.
    from ccm.github.sandbox import SandboxServer

    world = open_sandbox_world(settings)
    with SandboxServer(world) as server:
        label = f"SANDBOX: simulated GitHub at {server.url}; nothing on github.com changes"
        logger.info("serving the GitHub sandbox at %s", server.url)
        yield GitHubTarget(base_url=server.url, token=SANDBOX_TOKEN, label=label, cache_scope="sandbox:")


def open_sandbox_world(settings: Settings) -> SandboxWorld:
    """Resume the sandbox world kept in the state directory, or start one from the seed."""
    from ccm.github.sandbox import SandboxWorld, SeedError, StoreError, load_seed

    if settings.sandbox_seed is None:
        raise SettingsError(
            "The GitHub sandbox needs a seed: pass --sandbox-seed FILE or set sandbox_seed in "
            "the config (examples/sandbox.yaml seeds the example pipelines)."
        )
    try:
        seed = load_seed(Path(settings.sandbox_seed))
    except SeedError as error:
        if isinstance(error.__cause__, OSError):
            raise SettingsError(
                f"{error} Check the seed path, set by --sandbox-seed, CCM_SANDBOX_SEED or "
                "sandbox_seed in the config file."
            ) from error
        raise SettingsError(str(error)) from error
    settings.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        return SandboxWorld.open(seed, settings.state_dir / SANDBOX_WORLD_FILE)
    except StoreError as error:
        raise SettingsError(str(error)) from error
