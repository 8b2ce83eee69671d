"""The notifier: compare the registry and the latest runs with the ledger, and queue alerts.

``ccm serve`` calls ``check`` after every pass. Status alerts (error, torn down, error cleared)
come from the registry alone. Run alerts need the latest completed runs of each active
pipeline, so they are read only when asked (on the resync), with conditional requests that cost
nothing while no run completes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from ccm.github.errors import GitHubError
from ccm.github.models import WorkflowRun
from ccm.notifications.alerts import Alert, PipelineSeen, run_alerts, status_alerts
from ccm.notifications.ledger import Ledger, LedgerStore
from ccm.notifications.webhook import Outbox
from ccm.pipeline import Pipeline, PipelineStatus, utc_now
from ccm.reconcile.engine import Engine

logger = logging.getLogger(__name__)

# Completed runs read per pipeline and check. Runs that complete beyond this many between two
# checks are not looked at one by one, but the newest of them still sets the run health.
RUNS_PER_CHECK = 20


class Notifier:
    """Finds the alerts of the engine's pipelines and hands them to an outbox."""

    def __init__(
        self, engine: Engine, store: LedgerStore, outbox: Outbox, *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self.engine = engine
        self._store = store
        self._outbox = outbox
        self._clock = clock
        self._ledger: Ledger | None = None

    def check(self, *, read_runs: bool) -> list[Alert]:
        """Update the ledger from the registry (and the latest runs if ``read_runs``); queue the alerts."""
        now = self._clock()
        ledger = self._ledger or self._store.load(now)
        records = sorted(self.engine.registry.load().pipelines.values(), key=lambda record: record.pipeline_id)
        runs = self._latest_runs([record for record in records if _wants_runs(record)]) if read_runs else {}

        seen_by_id: dict[str, PipelineSeen] = {}
        alerts: list[Alert] = []
        muted: list[Alert] = []
        for record in records:
            found, seen = status_alerts(record, ledger.pipelines.get(record.pipeline_id), ledger.since, now)
            if not record.config.notifications_enabled:
                seen = seen.model_copy(update={"run_health": None, "run_id": None})
            elif record.pipeline_id in runs:
                run_found, seen = run_alerts(record, runs[record.pipeline_id], seen, now)
                found += run_found
            seen_by_id[record.pipeline_id] = seen
            (alerts if record.config.notifications_enabled else muted).extend(found)

        updated = ledger.model_copy(update={"pipelines": seen_by_id})
        if updated != ledger or self._ledger is None:
            self._store.save(updated)
        self._ledger = updated

        for alert in muted:
            logger.info("no alert sent for pipeline %s, whose notifications are disabled: %s", alert.pipeline_id, alert.text)
        for alert in alerts:
            logger.warning("alert: %s", alert.text)
            self._outbox.put(alert)
        return alerts

    def _latest_runs(self, records: list[Pipeline]) -> dict[str, tuple[WorkflowRun, ...]]:
        """Read the latest completed runs of each pipeline; one that fails to read is left out."""
        if not records:
            return {}

        def read(record: Pipeline) -> tuple[str, tuple[WorkflowRun, ...] | None]:
            try:
                listing = self.engine.client.list_runs(
                    record.repository, workflow=record.workflow_file, status="completed", per_page=RUNS_PER_CHECK
                )
            except GitHubError as error:
                logger.warning(
                    "Cannot read the runs of pipeline %s (%s) for alerts; the next check tries again: %s",
                    record.pipeline_id, record.repository, error,
                )
                return record.pipeline_id, None
            return record.pipeline_id, listing.items

        workers = min(self.engine.settings.observe_concurrency, len(records))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ccm-alerts") as pool:
            return {pipeline_id: runs for pipeline_id, runs in pool.map(read, records) if runs is not None}


def _wants_runs(record: Pipeline) -> bool:
    return record.is_current and record.status is PipelineStatus.ACTIVE and record.config.notifications_enabled
