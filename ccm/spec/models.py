"""Pipeline specs: the desired state of one pipeline, as written in ``pipelines.d/``.

A *spec* is one YAML document. Its ``name`` is its key across the whole directory. Models are
strict: unknown fields are errors, and no value is converted to another type, so ``environment:
1.0`` or ``linked_app: yes`` (a YAML 1.1 float and boolean) are rejected rather than read as text.
"""

from __future__ import annotations

import enum
import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

# GitHub account names: alphanumerics and single hyphens, no hyphen at either end, 39 at most
# (the length is checked in PipelineSpec).
_OWNER = r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*"
# GitHub repository names: ASCII letters, digits, '.', '-' and '_', 100 at most.
_REPO = r"[A-Za-z0-9._-]{1,100}"
REPOSITORY_PATTERN = re.compile(rf"^{_OWNER}/{_REPO}$")
WORKFLOW_FILE_PATTERN = re.compile(r"^\.github/workflows/[A-Za-z0-9._-]+\.ya?ml$")
# Spec names double as file names for specs written by the API, so they stay filesystem-safe.
NAME_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
# Git forbids ASCII control characters, DEL included. The C1 controls (U+0080 to U+009F) are
# forbidden here too, because some terminals act on them as escape sequences.
_BRANCH_FORBIDDEN = re.compile(r"(\.\.|[\x00-\x20\x7f-\x9f~^:?*\[\\]|@\{|//)")
_BRANCH_RULES = (
    "Branch names are 1 to 255 characters without spaces, control characters, '..', '//', '@{', "
    "'~', '^', ':', '?', '*', '[' or '\\', and do not start with '/' or '-' or end with '/', '.' "
    "or '.lock'."
)

# Domain names (RFC 1123 host names): dot-separated labels of 1 to 63 letters, digits and inner
# hyphens, 253 characters in all.
_DOMAIN_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
DOMAIN_RULES = (
    "Domain names are labels of letters, digits and hyphens separated by dots, such as "
    "topengineer.us. A label has 1 to 63 characters and does not start or end with a hyphen, "
    "and the whole name has at most 253 characters."
)
APP_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
APP_NAME_RULES = (
    "App names are 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit, "
    "such as topengineer-api."
)
# Printable ASCII: a space, letters, digits and punctuation, and no control characters, which
# could move the cursor or rewrite a terminal that shows the value.
_PRINTABLE_ASCII = re.compile(r"^[\x20-\x7e]+$")
REQUESTER_RULES = (
    "Write 1 to 100 printable ASCII characters (letters, digits, spaces and punctuation), such "
    "as vps-manager."
)


def _check_domain(domain: str) -> str:
    labels = domain.split(".")
    if len(domain) > 253 or not all(_DOMAIN_LABEL.match(label) for label in labels):
        raise ValueError(f"{domain!r} is not a valid domain name. {DOMAIN_RULES}")
    return domain


def _check_app_name(app: str) -> str:
    if not APP_NAME_PATTERN.match(app):
        raise ValueError(f"{app!r} is not a valid app name. {APP_NAME_RULES}")
    return app


def _check_requester(requester: str) -> str:
    if len(requester) > 100 or not _PRINTABLE_ASCII.match(requester):
        raise ValueError(f"{requester!r} is not a valid requester. {REQUESTER_RULES}")
    return requester


SpecName = Annotated[str, Field(pattern=NAME_PATTERN.pattern, examples=["topengineer.us"])]
DomainName = Annotated[str, AfterValidator(_check_domain), Field(examples=["topengineer.us"])]
AppName = Annotated[str, AfterValidator(_check_app_name), Field(examples=["topengineer-api"])]
Requester = Annotated[str, AfterValidator(_check_requester), Field(examples=["vps-manager"])]


class SpecAuthor(str, enum.Enum):
    """Who wrote a pipeline's spec file: an operator by hand, or the REST API."""

    OPERATOR = "operator"
    API = "api"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class PipelineConfig(_Strict):
    """How a pipeline deploys: branches, GitHub environment, deploy freeze, alerts."""

    trigger_branches: list[str] = Field(default_factory=lambda: ["main"], min_length=1, max_length=50)
    environment: str = Field(default="production", pattern=r"^[A-Za-z0-9._-]{1,255}$")
    auto_deploy: bool = Field(
        default=True,
        description="When false, in-flight runs not started by workflow_dispatch are cancelled.",
    )
    notifications_enabled: bool = True

    @field_validator("trigger_branches")
    @classmethod
    def _valid_branches(cls, branches: list[str]) -> list[str]:
        for branch in branches:
            check_branch_name(branch)
        repeated = sorted({branch for branch in branches if branches.count(branch) > 1})
        if repeated:
            listed = ", ".join(map(repr, repeated))
            raise ValueError(f"trigger_branches lists {listed} more than once. Remove the repeats.")
        return branches


def check_branch_name(branch: str) -> str:
    """Return ``branch`` if Git accepts it as a branch name, else raise ``ValueError``."""
    if not branch or len(branch) > 255 or _BRANCH_FORBIDDEN.search(branch):
        raise ValueError(f"{branch!r} is not a valid Git branch name. {_BRANCH_RULES}")
    if branch.startswith(("/", "-")) or branch.endswith(("/", ".", ".lock")):
        raise ValueError(f"{branch!r} is not a valid Git branch name. {_BRANCH_RULES}")
    return branch


BranchName = Annotated[str, AfterValidator(check_branch_name)]


class VpsLink(_Strict):
    """The VPS side of a pipeline: the domain and app it deploys to, as VPS Manager records them."""

    linked_domain: DomainName | None = None
    linked_app: AppName | None = None
    requested_by: Requester = "operator"


class PipelineSpec(_Strict):
    """The desired state of one pipeline."""

    name: SpecName
    repository: str = Field(pattern=REPOSITORY_PATTERN.pattern, examples=["acme/api-service"])
    workflow_file: str = Field(
        pattern=WORKFLOW_FILE_PATTERN.pattern, examples=[".github/workflows/deploy.yml"]
    )
    enabled: bool = True
    config: PipelineConfig = Field(default_factory=PipelineConfig)
    vps: VpsLink = Field(default_factory=VpsLink)

    @field_validator("repository")
    @classmethod
    def _github_name_rules(cls, repository: str) -> str:
        owner, repo = repository.split("/", 1)
        if len(owner) > 39:
            raise ValueError(f"owner {owner!r} is longer than GitHub's 39 characters")
        if repo in {".", ".."}:
            raise ValueError(f"{repository!r} is not a valid repository name")
        return repository

    @property
    def workflow_key(self) -> tuple[str, str]:
        """The (repository, workflow file) pair; at most one spec may claim each pair."""
        return (self.repository.lower(), self.workflow_file)
