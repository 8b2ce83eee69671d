"""Runtime: build the engine of one process from its settings, and close it cleanly."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ccm.audit import AuditLog
from ccm.github.client import GitHubClient
from ccm.github.options import ClientOptions
from ccm.github.connect import connect
from ccm.reconcile.engine import Engine
from ccm.registry import Registry
from ccm.settings import Settings


@contextmanager
def open_engine(settings: Settings) -> Iterator[Engine]:
    """Yield an engine; on exit save the GitHub response cache and stop a sandbox it started."""
    with connect(settings) as target:
        options = ClientOptions(read_timeout_seconds=settings.github_timeout_seconds)
        client = GitHubClient(
            target.base_url,
            target.token,
            state_dir=settings.state_dir,
            options=options,
            cache_scope=target.cache_scope,
        )
        try:
            yield Engine(
                settings=settings,
                client=client,
                registry=Registry(settings.state_dir),
                audit=AuditLog(settings.state_dir / "audit.log"),
                github_label=target.label,
            )
        finally:
            client.close()
