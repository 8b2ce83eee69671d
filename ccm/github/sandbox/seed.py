"""Seeds: the starting state of a sandbox world, read from YAML or built in code.

A *seed* lists repositories with their branches, workflows and runs, plus the knobs of the
simulation: time scale, rate limit, accepted tokens, and run defaults (success rate, duration,
queue time). Seeds are validated strictly: unknown fields are errors, and each error names the
file, the line and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from ccm.github.sandbox.clock import MAX_SECONDS
from ccm.spec.messages import describe_format
from ccm.spec.models import REPOSITORY_PATTERN, WORKFLOW_FILE_PATTERN

SeedWorkflowState = Literal["active", "disabled_manually", "disabled_inactivity", "disabled_fork", "deleted"]
SeedRunStatus = Literal["queued", "in_progress", "completed"]
SeedConclusion = Literal[
    "success", "failure", "cancelled", "skipped", "neutral", "timed_out", "action_required", "stale"
]


# Seed fields that have the format of a spec field, whose error message describes that format.
_SPEC_FIELDS = {"full_name": "repository", "path": "workflow_file"}


class SeedError(Exception):
    """A seed file that cannot be used; the message names the file, the line and the field."""


# Simulated seconds per wall second at most: a million turns a day into under a tenth of a second.
MAX_TIME_SCALE = 1_000_000.0


class _Seed(BaseModel):
    # Every span of seconds is at most MAX_SECONDS (ten years), and NaN and infinity are
    # rejected, because the world computes timestamps from them and saves them.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _check_range(value: tuple[float, float] | None) -> tuple[float, float] | None:
    if value is not None and not 0 < value[0] <= value[1] <= MAX_SECONDS:
        raise ValueError(
            f"{list(value)} is not a range [min, max] with 0 < min <= max <= {MAX_SECONDS:.0f} "
            "(ten years)"
        )
    return value


class RunDefaults(_Seed):
    """Run settings for workflows that do not set their own."""

    success_rate: float = Field(default=0.9, ge=0, le=1, description="share of runs that succeed")
    duration_seconds: tuple[float, float] = Field(
        default=(60.0, 240.0), description="[min, max] simulated seconds a run spends in progress"
    )
    queued_seconds: float = Field(
        default=5.0, ge=0, le=MAX_SECONDS, description="simulated seconds before a run starts"
    )
    cancel_seconds: float = Field(
        default=0.0,
        ge=0,
        le=MAX_SECONDS,
        description="simulated seconds from a cancel request to the cancelled run",
    )

    _duration = field_validator("duration_seconds")(_check_range)


class RateLimitSeed(_Seed):
    """The primary rate limit per token; GitHub's default is 5,000 requests an hour."""

    limit: int = Field(default=5000, ge=1, description="requests per window")
    window_seconds: float = Field(default=3600.0, gt=0, le=MAX_SECONDS, description="wall seconds")


class WorkflowSeed(_Seed):
    """One workflow file of a repository."""

    path: str = Field(pattern=WORKFLOW_FILE_PATTERN.pattern)
    name: str | None = Field(
        default=None, min_length=1, description="default: the file name without extension"
    )
    state: SeedWorkflowState = "active"
    dispatch: bool = Field(default=True, description="whether the workflow has a workflow_dispatch trigger")
    success_rate: float | None = Field(default=None, ge=0, le=1)
    duration_seconds: tuple[float, float] | None = None
    schedule_every_seconds: float | None = Field(
        default=None,
        gt=0,
        le=MAX_SECONDS,
        description="start a push run this often (simulated seconds) while active",
    )

    _duration = field_validator("duration_seconds")(_check_range)

    @property
    def display_name(self) -> str:
        return self.name or Path(self.path).stem


class RunSeed(_Seed):
    """A run present when the world starts.

    Give ``status`` (queued, in_progress) for a run in flight, or ``conclusion`` for a finished one.
    """

    workflow: str = Field(description="the path of one of the repository's workflows")
    event: str = Field(default="push", min_length=1)
    branch: str | None = Field(default=None, description="default: the repository's default branch")
    status: SeedRunStatus | None = None
    conclusion: SeedConclusion | None = None
    started_seconds_ago: float = Field(
        ge=0, le=MAX_SECONDS, description="simulated seconds since the run was created"
    )
    duration_seconds: float | None = Field(
        default=None, gt=0, le=MAX_SECONDS, description="time in progress; default: drawn"
    )

    @model_validator(mode="after")
    def _consistent(self) -> RunSeed:
        if self.status is None and self.conclusion is None:
            raise ValueError(
                "a run needs a status (queued, in_progress) or a conclusion (success, failure, ...)"
            )
        if self.conclusion is not None and self.status not in (None, "completed"):
            raise ValueError(
                f"a run with status {self.status} cannot have a conclusion; remove conclusion or status"
            )
        if self.status == "completed" and self.conclusion is None:
            raise ValueError("a completed run needs a conclusion")
        if self.duration_seconds is not None:
            if self.in_flight and self.duration_seconds <= self.started_seconds_ago:
                raise ValueError(
                    f"an in-flight run needs duration_seconds ({self.duration_seconds}) greater than "
                    f"started_seconds_ago ({self.started_seconds_ago})"
                )
            if not self.in_flight and self.duration_seconds > self.started_seconds_ago:
                raise ValueError(
                    f"a completed run needs duration_seconds ({self.duration_seconds}) of at most "
                    f"started_seconds_ago ({self.started_seconds_ago})"
                )
        return self

    @property
    def in_flight(self) -> bool:
        return self.conclusion is None


class HistorySeed(_Seed):
    """Completed past runs generated for every workflow of a repository."""

    count: int = Field(ge=0, le=1000, description="runs per workflow")
    every_seconds: float = Field(gt=0, le=MAX_SECONDS, description="simulated seconds between two runs")

    @model_validator(mode="after")
    def _within_span(self) -> HistorySeed:
        if self.count * self.every_seconds > MAX_SECONDS:
            raise ValueError(
                f"count ({self.count}) times every_seconds ({self.every_seconds:g}) reaches back "
                f"more than {MAX_SECONDS:.0f} seconds (ten years); lower one of them"
            )
        return self


class RepositorySeed(_Seed):
    """One repository; ``accessible: false`` makes the sandbox respond 404, as for a missing token scope."""

    full_name: str = Field(pattern=REPOSITORY_PATTERN.pattern)
    default_branch: str = Field(default="main", min_length=1)
    branches: list[str] = Field(default_factory=list, description="default: only the default branch")
    accessible: bool = True
    private: bool = True
    workflows: list[WorkflowSeed] = Field(default_factory=list)
    runs: list[RunSeed] = Field(default_factory=list)
    history: HistorySeed | None = None

    @model_validator(mode="after")
    def _consistent(self) -> RepositorySeed:
        if self.branches and self.default_branch not in self.branches:
            raise ValueError(
                f"branches {self.branches} must include the default branch {self.default_branch!r}"
            )
        paths = [workflow.path for workflow in self.workflows]
        duplicates = sorted({path for path in paths if paths.count(path) > 1})
        if duplicates:
            raise ValueError(f"workflows list {', '.join(duplicates)} more than once")
        for index, run in enumerate(self.runs):
            if run.workflow not in paths:
                raise ValueError(
                    f"runs[{index}].workflow {run.workflow!r} is not one of the workflows {paths}"
                )
            if run.branch is not None and run.branch not in self.all_branches:
                raise ValueError(
                    f"runs[{index}].branch {run.branch!r} is not one of the branches {self.all_branches}"
                )
        return self

    @property
    def all_branches(self) -> list[str]:
        return self.branches or [self.default_branch]


class SandboxSeed(_Seed):
    """The starting state and the settings of a sandbox world."""

    time_scale: float = Field(
        default=1.0, gt=0, le=MAX_TIME_SCALE, description="simulated seconds per wall second"
    )
    random_seed: int = Field(default=0, description="seeds run conclusions and durations")
    rate_limit: RateLimitSeed = Field(default_factory=RateLimitSeed)
    tokens: list[str] = Field(default_factory=list, description="accepted tokens; empty: any non-empty token")
    defaults: RunDefaults = Field(default_factory=RunDefaults)
    repositories: list[RepositorySeed] = Field(default_factory=list)

    @field_validator("tokens")
    @classmethod
    def _non_empty_tokens(cls, tokens: list[str]) -> list[str]:
        if any(not token.strip() for token in tokens):
            raise ValueError("tokens must not contain an empty token")
        return tokens

    @model_validator(mode="after")
    def _unique_repositories(self) -> SandboxSeed:
        names = [repository.full_name.lower() for repository in self.repositories]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"repositories list {', '.join(duplicates)} more than once (names ignore case)")
        return self

    @classmethod
    def generated(
        cls,
        *,
        repositories: int = 100,
        workflows_per_repository: int = 10,
        history_runs: int = 0,
        owner: str = "fleet",
        **settings: Any,
    ) -> SandboxSeed:
        """Build a large world: ``repositories`` repositories of ``workflows_per_repository`` workflows each.

        Repositories are ``{owner}/service-NNN`` and workflows ``.github/workflows/job-NN.yml``, all
        active with dispatch. ``settings`` sets the other seed fields (``time_scale``, ``rate_limit``...).
        """
        history = HistorySeed(count=history_runs, every_seconds=3600) if history_runs else None
        return cls(
            repositories=[
                RepositorySeed(
                    full_name=f"{owner}/service-{number:03d}",
                    workflows=[
                        WorkflowSeed(path=f".github/workflows/job-{index:02d}.yml")
                        for index in range(workflows_per_repository)
                    ],
                    history=history,
                )
                for number in range(repositories)
            ],
            **settings,
        )


def load_seed(path: Path) -> SandboxSeed:
    """Read and validate a YAML seed file, raising SeedError that names the file, line and field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SeedError(
            f"Cannot read the sandbox seed {path}: {error.strerror}."
        ) from error
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as error:
        raise SeedError(f"The sandbox seed {path} is not valid YAML: {error}") from error
    duplicates = _duplicate_keys(root)
    if duplicates:
        # safe_load keeps the last of two equal keys without a word, so one of them would be
        # ignored silently.
        raise SeedError(
            f"The sandbox seed {path} repeats keys. Remove all but one of each:\n"
            + "\n".join(f"{path}:{line}: {key!r} appears twice in this mapping" for line, key in duplicates)
        )
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SeedError(
            f"The sandbox seed {path} must be a mapping with keys such as repositories and defaults."
        )

    try:
        return SandboxSeed.model_validate(data)
    except ValidationError as error:
        problems = [
            f"{path}:{_line_of(root, item['loc'])}: {_field_name(item['loc'])}: {_describe(item)}"
            for item in error.errors()
        ]
        raise SeedError(
            f"The sandbox seed {path} is invalid. Fix these fields:\n" + "\n".join(problems)
        ) from error


def _duplicate_keys(node: yaml.Node | None) -> list[tuple[int, str]]:
    """Return (line, key) for every scalar key that a mapping of the document repeats."""
    found: list[tuple[int, str]] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    found.append((key.start_mark.line + 1, key.value))
                seen.add(key.value)
            found.extend(_duplicate_keys(value))
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            found.extend(_duplicate_keys(item))
    return found


def _describe(item: ErrorDetails) -> str:
    """Word a validation error without pydantic's prefix or a raw regular expression."""
    if item["type"] == "string_pattern_mismatch" and item["loc"]:
        spec_field = _SPEC_FIELDS.get(str(item["loc"][-1]))
        described = describe_format(spec_field, item["input"]) if spec_field else None
        if described is not None:
            return described
    return str(item["msg"]).removeprefix("Value error, ")


def _field_name(location: tuple[Any, ...]) -> str:
    name = ""
    for part in location:
        if isinstance(part, int):
            name += f"[{part}]"
        elif name:
            name += f".{part}"
        else:
            name = str(part)
    return name or "(top level)"


def _line_of(root: yaml.Node | None, location: tuple[Any, ...]) -> int:
    """Return the 1-based line of the deepest YAML node on ``location`` that exists."""
    node = root
    line = 1 if root is None else root.start_mark.line + 1
    for part in location:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            child = next((value for key, value in node.value if key.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line
