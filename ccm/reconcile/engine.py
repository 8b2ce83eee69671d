"""The engine: the collaborators that every pass of one process shares."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from ccm.audit import AuditLog
from ccm.github.client import GitHubClient
from ccm.registry import Registry
from ccm.settings import Settings


class PassStatistics:
    """Counts of the passes of one process, for ``GET /metrics``. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.passes = 0
        self.failed_passes = 0  # passes that ended with exit status 1 or raised
        self.actions_applied = 0
        self.actions_failed = 0
        self.last_duration_seconds = 0.0

    def record(self, *, failed: bool, applied: int, action_failures: int, duration_seconds: float) -> None:
        with self._lock:
            self.passes += 1
            self.failed_passes += failed
            self.actions_applied += applied
            self.actions_failed += action_failures
            self.last_duration_seconds = duration_seconds


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
    statistics: PassStatistics = field(default_factory=PassStatistics, compare=False, repr=False)
