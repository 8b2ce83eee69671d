"""``PipelineMonitor``: stats, runs, failures and health of pipelines, cached by refresh tier.

Each pipeline has its own cache and lock. Reads refresh only what is due:

- the *status* tier (10 s) reads the newest page of the workflow's runs (100 runs): runs in
  flight, the queue and the last run;
- the *metrics* tier (60 s) reads up to ``WINDOW_PAGES`` pages, enough for 48 h: the 24 h
  metrics and the 24 h before them for the trend. It refreshes the status tier too;
- the *health* tier (30 s) recomputes the score from the cached runs without a request.

Both run reads send ``If-None-Match``, so an unchanged page costs a free 304. When GitHub fails,
the last values are served with ``stale`` set and ``age_seconds`` counted from the fetch they
came from; GitHub is asked again after the tier's interval, not on every read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from ccm.github.client import MAX_PER_PAGE, GitHubClient
from ccm.github.errors import GitHubError, NotFound
from ccm.github.models import WorkflowRun
from ccm.github.ratelimit import RateLimit
from ccm.manager import PipelineNotFound
from ccm.monitor.drift import DriftSnapshot, DriftTracker
from ccm.monitor.health import calculate_health
from ccm.monitor.metrics import (
    DAY_SECONDS,
    count_active,
    count_queued,
    last_run,
    metrics_for_window,
    newest_first,
    recent_failures,
    success_rate_trend,
    summarize_run,
    utc_datetime,
)
from ccm.monitor.models import Health, PipelineStats, RunSummary
from ccm.monitor.tiers import RefreshIntervals, Tier
from ccm.pipeline import Pipeline, PipelineStatus
from ccm.reconcile.engine import Engine

logger = logging.getLogger(__name__)

# Three pages of 100 runs cover 48 h for a workflow that runs up to 6 times an hour. A busier
# workflow has its oldest runs of the 48 h cut off, which lowers the previous day's counts first.
WINDOW_PAGES = 3
MAX_FAILURE_HOURS = 48
Runs = tuple[WorkflowRun, ...]


class _PipelineCache:
    """The cached runs and health of one pipeline; read and written under ``lock``."""

    def __init__(self, intervals: RefreshIntervals) -> None:
        self.lock = threading.Lock()
        self.recent: Tier[Runs] = Tier(intervals.status_seconds)
        self.window: Tier[Runs] = Tier(intervals.metrics_seconds)
        self.health: Tier[Health] = Tier(intervals.health_seconds)
        # The stale and fetched flags the cached health was computed with.
        self.health_inputs: tuple[bool, bool] = (False, False)
        self.by_branch: dict[str, Tier[Runs]] = {}

    def runs(self) -> list[WorkflowRun]:
        """Return the window's runs updated with the fresher status-tier runs, newest first."""
        merged: dict[int, WorkflowRun] = {}
        for tier in (self.window, self.recent):
            if tier.latest is not None:
                merged.update((run.id, run) for run in tier.latest.value)
        return newest_first(merged.values())

    @property
    def stale(self) -> bool:
        return self.recent.stale or self.window.stale

    def oldest_fetch(self) -> float | None:
        fetched = [tier.latest.fetched_at for tier in (self.recent, self.window) if tier.latest is not None]
        return min(fetched) if len(fetched) == 2 else None


class PipelineMonitor:
    """Monitors the pipelines of one engine. Thread-safe: the API and the dashboard share one."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], float] = time.time,
        intervals: RefreshIntervals = RefreshIntervals(),
        client: GitHubClient | None = None,
    ) -> None:
        self.engine = engine
        # The API passes engine.client.for_waiting_callers(), so that a slow GitHub yields stale
        # values quickly; the dashboard reads in the background and keeps the engine's client.
        self.client = client if client is not None else engine.client
        self.intervals = intervals
        self._clock = clock
        self._caches: dict[str, _PipelineCache] = {}
        self._caches_lock = threading.Lock()
        self._drift = DriftTracker(engine, clock, intervals.drift_seconds)

    def get_pipeline_stats(self, pipeline_id: str) -> PipelineStats:
        """Return the stats of one pipeline; raises ``PipelineNotFound`` for an unknown id."""
        return self._stats(self._record(pipeline_id))

    def get_all_pipeline_stats(self) -> list[PipelineStats]:
        """Return the stats of every current pipeline, by name, fetching several at once."""
        records = sorted(
            (record for record in self.engine.registry.load().pipelines.values() if record.is_current),
            key=lambda record: record.name,
        )
        if not records:
            return []
        workers = min(self.engine.settings.observe_concurrency, len(records))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ccm-monitor") as pool:
            return list(pool.map(self._stats, records))

    def get_workflow_runs(self, pipeline_id: str, limit: int = 10, branch: str | None = None) -> list[RunSummary]:
        """Return the newest ``limit`` runs (1 to 100), of one ``branch`` if given, newest first.

        Served from the status tier's cache. Raises ``GitHubError`` when GitHub fails and no
        runs are cached yet.
        """
        if not 1 <= limit <= MAX_PER_PAGE:
            raise ValueError(f"limit must be between 1 and {MAX_PER_PAGE}, not {limit}.")
        record = self._record(pipeline_id)
        cache = self._cache(pipeline_id)
        with cache.lock:
            now = self._clock()
            if branch is None:
                self._refresh(record, cache, now)
                if cache.recent.latest is None and cache.window.latest is None:
                    raise GitHubError(cache.recent.error or "GitHub returned no runs yet.")
                runs: Iterable[WorkflowRun] = cache.runs()
            else:
                runs = self._branch_runs(record, cache, branch, now)
        return [summarize_run(run) for run in newest_first(runs)[:limit]]

    def get_recent_failures(self, pipeline_id: str, hours: int = 24) -> list[RunSummary]:
        """Return the failed runs created in the last ``hours`` (1 to 48), newest first."""
        if not 1 <= hours <= MAX_FAILURE_HOURS:
            raise ValueError(
                f"hours must be between 1 and {MAX_FAILURE_HOURS}, not {hours}: the monitor keeps "
                f"{MAX_FAILURE_HOURS} h of runs."
            )
        record = self._record(pipeline_id)
        cache = self._cache(pipeline_id)
        with cache.lock:
            now = self._clock()
            self._refresh(record, cache, now)
            return recent_failures(cache.runs(), now - hours * 3600)

    def calculate_health_score(self, pipeline_id: str) -> float | None:
        """Return the health score (0 to 100) of one pipeline, None without data; see ``ccm.monitor.health``."""
        return self.get_pipeline_stats(pipeline_id).health_score

    def get_drift(self) -> DriftSnapshot:
        """Return the plan of the last dry-run pass, running one when the drift interval has passed."""
        return self._drift.current()

    @property
    def rate_limit(self) -> RateLimit | None:
        return self.client.rate_limit

    def _record(self, pipeline_id: str) -> Pipeline:
        record = self.engine.registry.load().pipelines.get(pipeline_id)
        if record is None:
            raise PipelineNotFound(f"No pipeline has the id {pipeline_id}.")
        return record

    def _cache(self, pipeline_id: str) -> _PipelineCache:
        with self._caches_lock:
            cache = self._caches.get(pipeline_id)
            if cache is None:
                cache = self._caches[pipeline_id] = _PipelineCache(self.intervals)
            return cache

    def _stats(self, record: Pipeline) -> PipelineStats:
        cache = self._cache(record.pipeline_id)
        with cache.lock:
            now = self._clock()
            self._refresh(record, cache, now)
            return self._assemble(record, cache, now)

    def _refresh(self, record: Pipeline, cache: _PipelineCache, now: float) -> None:
        """Fetch the run lists that are due: the long list when metrics are due, else the first page."""
        if cache.window.due(now):
            pages, tiers = WINDOW_PAGES, (cache.window, cache.recent)
        elif cache.recent.due(now):
            pages, tiers = 1, (cache.recent,)
        else:
            return

        runs: Runs
        try:
            runs = self.client.list_runs(
                record.repository, workflow=record.workflow_file, per_page=MAX_PER_PAGE, max_pages=pages
            ).items
        except NotFound as error:
            # A pipeline in error often has no workflow to read runs from. That is the error
            # itself, already in status_reason, so the result is "no runs", not a failure.
            if record.status is not PipelineStatus.ERROR:
                self._fetch_failed(record, cache, tiers, error, now)
                return
            runs = ()
        except GitHubError as error:
            self._fetch_failed(record, cache, tiers, error, now)
            return
        for tier in tiers:
            tier.succeeded(runs, now)

    def _fetch_failed(
        self, record: Pipeline, cache: _PipelineCache, tiers: tuple[Tier[Runs], ...], error: GitHubError, now: float
    ) -> None:
        # Logged on the first failure, not again on every failed refresh after it.
        if cache.recent.error is None and cache.window.error is None:
            logger.warning(
                "Cannot read the runs of %s (%s, %s); serving the cached values marked stale "
                "and trying again in %g s: %s",
                record.pipeline_id, record.repository, record.workflow_file,
                tiers[0].interval_seconds, error,
            )
        for tier in tiers:
            tier.failed(str(error), now)

    def _branch_runs(self, record: Pipeline, cache: _PipelineCache, branch: str, now: float) -> Runs:
        tier = cache.by_branch.setdefault(branch, Tier(self.intervals.status_seconds))
        if tier.due(now):
            try:
                listing = self.client.list_runs(
                    record.repository, workflow=record.workflow_file, branch=branch, per_page=MAX_PER_PAGE
                )
                tier.succeeded(listing.items, now)
            except GitHubError as error:
                tier.failed(str(error), now)
                if tier.latest is None:
                    raise
                logger.warning(
                    "Cannot read the runs of %s on branch %s; serving the cached list: %s",
                    record.pipeline_id, branch, error,
                )
        if tier.latest is None:
            raise GitHubError(tier.error or f"GitHub returned no runs of branch {branch} yet.")
        return tier.latest.value

    def _assemble(self, record: Pipeline, cache: _PipelineCache, now: float) -> PipelineStats:
        runs = cache.runs()
        stale = cache.stale
        oldest = cache.oldest_fetch()
        inputs = (stale, oldest is not None)
        # The score is recomputed every health interval, and at once when the values turn
        # stale or fresh or first arrive, so that the score never disagrees with those flags.
        cached = cache.health.latest
        if cached is None or cache.health.due(now) or cache.health_inputs != inputs:
            health = calculate_health(record.status, runs, now, stale=stale, fetched=oldest is not None)
            cache.health.succeeded(health, now)
            cache.health_inputs = inputs
        else:
            health = cached.value

        metrics = metrics_for_window(runs, now)
        return PipelineStats(
            pipeline_id=record.pipeline_id,
            name=record.name,
            repository=record.repository,
            workflow_file=record.workflow_file,
            status=record.status,
            status_reason=record.status_reason,
            linked_domain=record.vps_integration.linked_domain,
            linked_app=record.vps_integration.linked_app,
            last_run=last_run(runs),
            metrics_24h=metrics,
            error_count_24h=metrics.failure_count,
            success_rate_trend=success_rate_trend(runs, now, DAY_SECONDS),
            health_score=health.score,
            health_reasons=health.reasons,
            active_runs=count_active(runs),
            queue_length=count_queued(runs),
            stale=stale,
            age_seconds=None if oldest is None else round(now - oldest, 1),
            observed_at=utc_datetime(now),
        )

