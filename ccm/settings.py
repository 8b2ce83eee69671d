"""Settings: where ccm keeps its state, where specs live, and which GitHub it talks to.

Sources, later ones winning: built-in defaults, the config file (``$CCM_CONFIG``, else
``$CCM_HOME/ccm.yaml`` when it exists), ``CCM_*`` environment variables, command-line options.
The GitHub token is read from ``GITHUB_TOKEN``, ``GH_TOKEN`` or ``github_token_file`` and is
never part of the settings' printable form.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

SANDBOX = "sandbox"
DEFAULT_GITHUB_URL = "https://api.github.com"

_ENVIRONMENT = {
    "CCM_HOME": "state_dir",
    "CCM_PIPELINES_DIR": "pipelines_dir",
    "CCM_GITHUB": "github",
    "CCM_GITHUB_TOKEN_FILE": "github_token_file",
    "CCM_SANDBOX_SEED": "sandbox_seed",
}


class SettingsError(Exception):
    """A config file or variable that cannot be used; the message names it and the fix."""


class Settings(BaseModel):
    """Resolved settings of one ccm process."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    state_dir: Path = Field(
        default_factory=lambda: Path.home() / ".ccm",
        description="registry, backups, tokens, audit log and GitHub response cache",
    )
    pipelines_dir: Path | None = Field(
        default=None, description="spec directory; None means <state_dir>/pipelines.d"
    )
    github: str = Field(
        default=DEFAULT_GITHUB_URL,
        description="GitHub REST API base URL (GitHub Enterprise Server: https://HOST/api/v3), "
        "or 'sandbox' for the built-in simulator",
    )
    github_token_file: Path | None = None
    sandbox_seed: Path | None = Field(
        default=None, description="YAML seed of the sandbox; None means the built-in example"
    )
    github_timeout_seconds: float = Field(
        default=10.0, gt=0, description="per request; GitHub answers list calls well within it"
    )
    observe_concurrency: int = Field(
        default=16,
        ge=1,
        le=64,
        description="repositories observed at once; GitHub's secondary limit allows 100 concurrent "
        "requests, and 16 keeps an idle pass over 100 repositories near 0.3 s at 50 ms a request",
    )

    @property
    def specs_dir(self) -> Path:
        return self.pipelines_dir or self.state_dir / "pipelines.d"

    @property
    def uses_sandbox(self) -> bool:
        return self.github == SANDBOX

    def github_token(self) -> SecretStr | None:
        """Return the GitHub token from the environment or the token file, if there is one."""
        for variable in ("GITHUB_TOKEN", "GH_TOKEN"):
            value = os.environ.get(variable, "").strip()
            if value:
                return SecretStr(value)
        if self.github_token_file is not None:
            try:
                value = self.github_token_file.read_text(encoding="utf-8").strip()
            except OSError as error:
                raise SettingsError(
                    f"Cannot read the GitHub token file {self.github_token_file}: "
                    f"{error.strerror}. Check github_token_file or CCM_GITHUB_TOKEN_FILE."
                ) from error
            if value:
                return SecretStr(value)
        return None


def load_settings(overrides: dict[str, Any] | None = None) -> Settings:
    """Merge defaults, the config file, ``CCM_*`` variables and ``overrides`` (None values skip)."""
    values: dict[str, Any] = {}
    home = os.environ.get("CCM_HOME")
    config_path = os.environ.get("CCM_CONFIG")
    if config_path is None:
        default = Path(home).expanduser() if home else Path.home() / ".ccm"
        candidate = default / "ccm.yaml"
        config_path = str(candidate) if candidate.is_file() else None
    if config_path is not None:
        values.update(_read_config(Path(config_path)))

    for variable, field in _ENVIRONMENT.items():
        if os.environ.get(variable):
            values[field] = os.environ[variable]
    values.update({key: value for key, value in (overrides or {}).items() if value is not None})

    for key in ("state_dir", "pipelines_dir", "github_token_file", "sandbox_seed"):
        if isinstance(values.get(key), str):
            values[key] = Path(values[key]).expanduser()
    try:
        return Settings(**values)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors()
        )
        raise SettingsError(f"Invalid settings: {problems}.") from error


def _read_config(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SettingsError(f"Cannot read the config file {path}: {error.strerror}.") from error
    except yaml.YAMLError as error:
        raise SettingsError(f"The config file {path} is not valid YAML: {error}") from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(f"The config file {path} must contain a mapping of settings.")
    return data
