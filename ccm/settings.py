"""Settings: where ccm keeps its state, where specs live, and which GitHub it talks to.

Sources, later ones winning: built-in defaults, the config file (``$CCM_CONFIG``, else
``$CCM_HOME/ccm.yaml`` when it exists), ``CCM_*`` environment variables, command-line options.
The GitHub token is read from ``GITHUB_TOKEN``, ``GH_TOKEN``, the systemd credential
``github-token`` (``LoadCredential=``) or ``github_token_file``, and is never part of the
settings' printable form.
"""

from __future__ import annotations

import difflib
import enum
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from ccm.spec.yamlload import YamlSyntaxError, parse_documents

SANDBOX = "sandbox"
DEFAULT_GITHUB_URL = "https://api.github.com"
# The name of the token under systemd: ``LoadCredential=github-token:/etc/ccm/github-token``
# makes it readable as ``$CREDENTIALS_DIRECTORY/github-token``.
GITHUB_TOKEN_CREDENTIAL = "github-token"

ENVIRONMENT_VARIABLES = {
    "CCM_HOME": "state_dir",
    "CCM_PIPELINES_DIR": "pipelines_dir",
    "CCM_GITHUB": "github",
    "CCM_GITHUB_TOKEN_FILE": "github_token_file",
    "CCM_SANDBOX_SEED": "sandbox_seed",
    "CCM_GITHUB_TIMEOUT_SECONDS": "github_timeout_seconds",
    "CCM_OBSERVE_CONCURRENCY": "observe_concurrency",
    "CCM_API_HOST": "api_host",
    "CCM_API_PORT": "api_port",
    "CCM_RESYNC_INTERVAL_SECONDS": "resync_interval_seconds",
    "CCM_WATCH_DEBOUNCE_MS": "watch_debounce_ms",
    "CCM_BACKOFF_INITIAL_SECONDS": "backoff_initial_seconds",
    "CCM_BACKOFF_MAX_SECONDS": "backoff_max_seconds",
    "CCM_WEBHOOK_TIMEOUT_SECONDS": "webhook_timeout_seconds",
}
# Comma-separated webhook URLs by payload format. Setting either variable replaces the
# ``webhooks`` list of the config file.
WEBHOOK_VARIABLES = {"CCM_WEBHOOK_URLS": "json", "CCM_SLACK_WEBHOOK_URLS": "slack"}


class SettingsError(Exception):
    """A config file or variable that cannot be used; the message names it and the fix."""


class WebhookFormat(str, enum.Enum):
    """The body of an alert: ccm's own JSON object, or Slack's ``{"text": ...}``."""

    JSON = "json"
    SLACK = "slack"


class WebhookTarget(BaseModel):
    """One URL that receives alerts as a JSON POST."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(
        repr=False, description="http or https URL; treated as a secret, logs show only its host"
    )
    format: WebhookFormat = WebhookFormat.JSON

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"webhook URL {redact_url(url)} must be an http:// or https:// URL with a host"
            )
        return url

    @property
    def label(self) -> str:
        """The URL without path and query, which for Slack and others carry the secret."""
        return redact_url(self.url)


def redact_url(url: str) -> str:
    """Return ``scheme://host[:port]/...`` of a URL, safe to log."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a port that is not a number
        port = ":?"
    return f"{parts.scheme}://{parts.hostname or '?'}{port}/..."


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
        default=None,
        description="YAML seed of the sandbox, required with github: sandbox; examples/sandbox.yaml "
        "seeds the example pipelines",
    )
    github_timeout_seconds: float = Field(
        default=10.0, gt=0, description="per request; GitHub returns list calls well within it"
    )
    observe_concurrency: int = Field(
        default=16,
        ge=1,
        le=64,
        description="repositories observed at once; GitHub's secondary limit allows 100 concurrent "
        "requests, and 16 keeps an idle pass over 100 repositories near 0.3 s at 50 ms a request",
    )

    api_host: str = Field(
        default="127.0.0.1",
        min_length=1,
        description="address the REST API of `ccm serve` listens on; loopback, because TLS and "
        "exposure belong to a reverse proxy in front of it",
    )
    api_port: int = Field(default=8000, ge=0, le=65535, description="TCP port of the API; 0 picks a free one")
    resync_interval_seconds: float = Field(
        default=60.0,
        gt=0,
        description="time between full passes of `ccm serve`, which catch changes made on GitHub; "
        "an idle pass costs only free 304 answers, so a minute keeps drift short",
    )
    watch_debounce_ms: int = Field(
        default=200,
        ge=10,
        le=10_000,
        description="quiet time after the last change in pipelines.d/ before a pass starts, so "
        "that an editor's write-and-rename save or a copy of several files makes one pass",
    )
    backoff_initial_seconds: float = Field(
        default=30.0, gt=0, description="how long a failing pipeline waits before its first retry"
    )
    backoff_max_seconds: float = Field(
        default=900.0,
        gt=0,
        description="the longest wait between retries of a failing pipeline; the wait doubles "
        "after each failure up to this",
    )
    webhooks: tuple[WebhookTarget, ...] = Field(
        default=(), description="URLs that receive alerts of failed, recovered, error and torn-down pipelines"
    )
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, description="per delivery attempt")

    @field_validator("github")
    @classmethod
    def _sandbox_or_url(cls, github: str) -> str:
        if github == SANDBOX:
            return github
        parts = urlsplit(github)
        if parts.scheme in ("http", "https") and parts.hostname:
            return github
        raise ValueError(
            f"{github!r} is neither 'sandbox' nor an http:// or https:// URL with a host. Give "
            f"'sandbox' for the built-in simulator, or the GitHub REST API base URL, such as "
            f"{DEFAULT_GITHUB_URL} or https://HOST/api/v3 for GitHub Enterprise Server"
        )

    @model_validator(mode="after")
    def _backoff_range(self) -> Settings:
        if self.backoff_max_seconds < self.backoff_initial_seconds:
            raise ValueError(
                f"backoff_max_seconds ({self.backoff_max_seconds}) must be at least "
                f"backoff_initial_seconds ({self.backoff_initial_seconds})"
            )
        return self

    @property
    def specs_dir(self) -> Path:
        return self.pipelines_dir or self.state_dir / "pipelines.d"

    @property
    def uses_sandbox(self) -> bool:
        return self.github == SANDBOX

    def github_token(self) -> SecretStr | None:
        """Return the GitHub token from the environment, a systemd credential or the token file."""
        for variable in ("GITHUB_TOKEN", "GH_TOKEN"):
            value = os.environ.get(variable, "").strip()
            if value:
                return SecretStr(value)
        credentials = os.environ.get("CREDENTIALS_DIRECTORY")
        if credentials:
            credential = Path(credentials) / GITHUB_TOKEN_CREDENTIAL
            try:
                value = credential.read_text(encoding="utf-8").strip()
            except FileNotFoundError:
                value = ""
            except OSError as error:
                raise SettingsError(
                    f"Cannot read the systemd credential {credential}: {error.strerror}. Check "
                    f"LoadCredential={GITHUB_TOKEN_CREDENTIAL}:... in the unit."
                ) from error
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
    # The source of each value, which the message of an invalid value names as the place to fix it.
    sources: dict[str, str] = {}
    home = os.environ.get("CCM_HOME")
    config_path = os.environ.get("CCM_CONFIG")
    if config_path is None:
        default = Path(home).expanduser() if home else Path.home() / ".ccm"
        candidate = default / "ccm.yaml"
        config_path = str(candidate) if candidate.is_file() else None
    if config_path is not None:
        config = _read_config(Path(config_path))
        values.update(config)
        sources.update(dict.fromkeys(config, f"in the config file {config_path}"))

    for variable, field in ENVIRONMENT_VARIABLES.items():
        if os.environ.get(variable):
            values[field] = os.environ[variable]
            sources[field] = f"by the environment variable {variable}"
    webhooks = _webhooks_from_environment()
    if webhooks is not None:
        values["webhooks"] = webhooks
        sources["webhooks"] = "by the environment variables " + " and ".join(WEBHOOK_VARIABLES)
    from_command_line = {key: value for key, value in (overrides or {}).items() if value is not None}
    values.update(from_command_line)
    sources.update(dict.fromkeys(from_command_line, "on the command line"))

    for key in ("state_dir", "pipelines_dir", "github_token_file", "sandbox_seed"):
        if isinstance(values.get(key), str):
            values[key] = Path(values[key]).expanduser()
    try:
        return Settings(**values)
    except ValidationError as error:
        problems = "; ".join(_describe_problem(item, sources) for item in error.errors())
        raise SettingsError(f"Invalid settings: {problems}.") from error


def _describe_problem(item: ErrorDetails, sources: dict[str, str]) -> str:
    """Word one validation error as ``field: message (set SOURCE)``."""
    field = ".".join(str(part) for part in item["loc"])
    message = str(item["msg"]).removeprefix("Value error, ")
    if not field:
        return message
    source = sources.get(str(item["loc"][0]))
    return f"{field}: {message} (set {source})" if source else f"{field}: {message}"


def _webhooks_from_environment() -> list[dict[str, str]] | None:
    """Return the webhooks that ``CCM_*WEBHOOK_URLS`` list, or None when neither is set."""
    if not any(variable in os.environ for variable in WEBHOOK_VARIABLES):
        return None
    return [
        {"url": url.strip(), "format": webhook_format}
        for variable, webhook_format in WEBHOOK_VARIABLES.items()
        for url in os.environ.get(variable, "").split(",")
        if url.strip()
    ]


def _read_config(path: Path) -> dict[str, Any]:
    """Read the config file: one YAML mapping of setting names, each given once."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise SettingsError(f"Cannot read the config file {path}: {error.strerror}.") from error
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SettingsError(
            f"The config file {path} is not UTF-8 text (byte {error.start}). Save it as UTF-8."
        ) from error

    try:
        documents = list(parse_documents(text))
    except YamlSyntaxError as error:
        line = f" at line {error.position.line}" if error.position else ""
        raise SettingsError(f"The config file {path} cannot be read{line}: {error.message}") from error
    if not documents:
        return {}
    if len(documents) > 1:
        raise SettingsError(
            f"The config file {path} contains {len(documents)} YAML documents, but settings are "
            f"one mapping. Remove the '---' line at line {documents[1].start.line}."
        )
    document = documents[0]
    if document.problems:
        problem = document.problems[0]
        raise SettingsError(
            f"The config file {path} is invalid at line {problem.position.line}: {problem.message}"
        )
    if not isinstance(document.value, dict):
        raise SettingsError(f"The config file {path} must contain a mapping of settings.")

    unknown = [key for key in document.value if key not in Settings.model_fields]
    if unknown:
        key = unknown[0]
        line = document.locations[(key,)].key
        suggestion = difflib.get_close_matches(key, list(Settings.model_fields), n=1)
        hint = f" Did you mean {suggestion[0]}?" if suggestion else ""
        raise SettingsError(
            f"The config file {path} has the unknown setting {key!r}"
            f"{f' at line {line.line}' if line else ''}.{hint} The settings are "
            f"{', '.join(Settings.model_fields)}."
        )
    return document.value
