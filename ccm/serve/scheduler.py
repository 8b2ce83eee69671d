"""The scheduler: one thread that runs the passes of ``ccm serve``, one at a time.

A trigger only marks a pass as due. A file change and the timer both run a pass over the
whole directory, because a full pass is level-based and the prune guard then protects against
a mass deletion. Changes that arrive while a pass runs are merged into the next pass, so a burst
of saves costs at most one pass in progress and one after it.

Pipelines that failed in a pass back off (``ccm.serve.backoff``). The next passes defer them:
the pass neither plans for them nor observes their repositories unless another pipeline needs
the same repository, so one broken repository cannot slow the passes of the others. Editing a
pipeline's spec file ends its backoff at once, because the operator has just acted on it.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Iterable

from ccm.reconcile.engine import Engine
from ccm.reconcile.passes import PassRefused, PassRequest, PassResult, run_pass
from ccm.reconcile.state import Access
from ccm.registry import RegistryError
from ccm.serve.backoff import Backoff
from ccm.spec import SpecDirectoryError

logger = logging.getLogger(__name__)

# While the spec directory is missing, every pass fails the same way. The error is logged on the
# first failure and then on every REPEAT_LOG_EVERY-th, with the count.
REPEAT_LOG_EVERY = 10


class Trigger(str, enum.Enum):
    STARTUP = "startup"
    FILES = "files"
    RESYNC = "resync"


# Called in the scheduler thread after every pass; the result is None when the pass did not run.
PassListener = Callable[[Trigger, PassResult | None], None]


class PassScheduler:
    """Runs full passes on start, on spec file changes and every ``resync_interval_seconds``."""

    def __init__(
        self, engine: Engine, listener: PassListener, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        settings = engine.settings
        self.engine = engine
        self.backoff = Backoff(settings.backoff_initial_seconds, settings.backoff_max_seconds)
        self._listener = listener
        self._clock = clock
        self._interval = settings.resync_interval_seconds
        self._condition = threading.Condition()
        self._pending: Trigger | None = Trigger.STARTUP
        self._changed_files: set[str] = set()
        self._stopping = False
        self._next_resync = clock() + self._interval
        self._thread: threading.Thread | None = None
        # Spec name -> spec file, from the last pass, to end the backoff of edited specs.
        self._spec_files: dict[str, str] = {}
        self._directory_failures = 0

    def start(self) -> None:
        """Run passes in a background thread, the first one at once."""
        if self._thread is not None:
            raise RuntimeError("The pass scheduler is already running.")
        # A daemon thread, so that a pass stuck past the stop timeout cannot keep the process
        # alive. Passes are safe to interrupt, because the next start converges again.
        self._thread = threading.Thread(target=self._loop, name="ccm-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> bool:
        """Start no more passes, wait up to ``timeout`` for the one in progress; return whether it ended."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def files_changed(self, names: Iterable[str]) -> None:
        """Ask for a pass because these spec files (names in ``pipelines.d/``) changed.

        An empty ``names`` requests a pass too, as after the directory itself appeared or vanished.
        """
        with self._condition:
            self._changed_files.update(names)
            if self._pending is None:
                self._pending = Trigger.FILES
            self._condition.notify_all()

    def run_once(self, trigger: Trigger, changed_files: frozenset[str] = frozenset()) -> PassResult | None:
        """Run one full pass now in the calling thread; return None when it could not run."""
        now = self._clock()
        for name, file in self._spec_files.items():
            if file in changed_files and self.backoff.forget(name) is not None:
                logger.info("spec file %s changed, so pipeline %s is retried now instead of after its backoff", file, name)

        deferred = self.backoff.deferred(now)
        for name, entry in sorted(deferred.items()):
            logger.debug(
                "pipeline %s is deferred for %.0f s more after %d failures: %s",
                name, entry.retry_at - now, entry.failures, entry.reason,
            )
        try:
            result = run_pass(self.engine, PassRequest(deferred=frozenset(deferred)))
        except SpecDirectoryError as error:
            self._report_missing_directory(error)
            return None
        except (PassRefused, RegistryError) as error:
            logger.error("The %s pass did not run: %s", trigger.value, error)
            return None

        if self._directory_failures:
            logger.info(
                "The spec directory %s is back after %d failed pass(es); converging again.",
                self.engine.settings.specs_dir, self._directory_failures,
            )
            self._directory_failures = 0
        self._record_outcomes(result, frozenset(deferred), now)
        return result

    def _loop(self) -> None:
        while True:
            due = self._wait_for_trigger()
            if due is None:
                return
            trigger, changed_files = due
            if trigger is Trigger.FILES:
                listed = ", ".join(sorted(changed_files)) or "the directory itself"
                logger.info("spec files changed (%s); running a pass", listed)
            else:
                logger.debug("running the %s pass", trigger.value)

            result: PassResult | None = None
            try:
                result = self.run_once(trigger, changed_files)
            except Exception:
                # The scheduler must outlive any one pass, so an unexpected error is logged with
                # its traceback and the next trigger tries again.
                logger.exception("The %s pass failed unexpectedly; the next trigger runs a new one.", trigger.value)
            try:
                self._listener(trigger, result)
            except Exception:
                logger.exception("Handling the end of the %s pass failed; the scheduler goes on.", trigger.value)

    def _wait_for_trigger(self) -> tuple[Trigger, frozenset[str]] | None:
        """Block until a pass is due; return its trigger and changed files, or None to stop."""
        with self._condition:
            while not self._stopping:
                now = self._clock()
                resync_due = now >= self._next_resync
                if resync_due:
                    self._next_resync = now + self._interval
                if self._pending is not None or resync_due:
                    # A resync that is due reads runs for alerts too, so it wins over file changes
                    # that arrived at the same time. The pass handles both.
                    trigger = Trigger.RESYNC if resync_due or self._pending is None else self._pending
                    changed = frozenset(self._changed_files)
                    self._pending = None
                    self._changed_files.clear()
                    return trigger, changed
                self._condition.wait(timeout=self._next_resync - now)
        return None

    def _record_outcomes(self, result: PassResult, deferred: frozenset[str], now: float) -> None:
        """Update the backoff from one pass: failing pipelines wait longer, the others are forgotten."""
        records = {p.name: p for p in result.pipelines.values() if p.is_current}
        self._spec_files = dict(result.desired.spec_files)
        for name, record in records.items():
            if record.source is not None:
                self._spec_files.setdefault(name, record.source.file)

        failing: dict[str, str] = {}
        for failed in result.failed:
            failing.setdefault(failed.action.pipeline_name, f"{failed.action.kind.value} failed: {failed.detail}")
        for held in result.plan.held:
            spec = result.desired.specs.get(held.pipeline_name)
            record = records.get(held.pipeline_name)
            repository = None
            if spec is not None:
                repository = spec.repository
            elif record is not None:
                repository = record.repository
            observation = result.observed.get(repository) if repository is not None else None
            if observation is not None and observation.access is Access.UNAVAILABLE:
                failing.setdefault(held.pipeline_name, f"GitHub was unavailable for {repository}: {observation.detail}")

        for name, reason in sorted(failing.items()):
            entry = self.backoff.record_failure(name, now, reason)
            logger.warning(
                "pipeline %s failed %d time(s) in a row; passes leave it alone for %.0f s: %s",
                name, entry.failures, entry.delay_seconds, reason,
            )
        considered = (set(result.desired.specs) | set(records)) - deferred
        for name in sorted(considered - failing.keys()):
            if self.backoff.forget(name) is not None:
                logger.info("pipeline %s succeeded again; its backoff is reset", name)

    def _report_missing_directory(self, error: SpecDirectoryError) -> None:
        self._directory_failures += 1
        count = self._directory_failures
        if count == 1 or count % REPEAT_LOG_EVERY == 0:
            logger.error(
                "%s No pipeline is changed while it is missing; ccm keeps watching and converges "
                "again when it is back (%d failed pass(es) so far).",
                error, count,
            )
