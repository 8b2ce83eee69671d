"""The engine: the collaborators that every pass of one process shares."""

from __future__ import annotations

from dataclasses import dataclass

from ccm.audit import AuditLog
from ccm.github.client import GitHubClient
from ccm.registry import Registry
from ccm.settings import Settings


@dataclass(frozen=True)
class Engine:
    settings: Settings
    client: GitHubClient
    registry: Registry
    audit: AuditLog
    github_label: str  # "https://api.github.com", or the sandbox banner shown on every screen
