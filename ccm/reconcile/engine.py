"""The engine: the collaborators that every pass of one process shares."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

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
    # Serializes the applying passes of this process: a pass started by a file event, the timer or
    # an API call waits for the one in progress. The registry lock guards against other processes.
    pass_lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)
