"""The ``ccm serve`` process: start the parts, wait for SIGTERM or SIGINT, stop them in order.

Stopping takes the parts down from the outside in. First the API stops accepting requests and
finishes those in progress. Then the watcher stops, and the scheduler starts no new pass and
waits for the one in progress. Last, queued alerts get a short time to go out. The GitHub response cache is
saved when the engine closes. Each wait is bounded so that the process exits within
``STOP_BUDGET_SECONDS`` of the signal. A pass still running then is abandoned, which is safe
because the registry is written in one atomic rename and the next start converges again.
"""

from __future__ import annotations

import logging
import signal
import time
from dataclasses import dataclass

from ccm.api import PipelineAPI
from ccm.manager import PipelineManager
from ccm.monitor.service import PipelineMonitor
from ccm.notifications.ledger import LedgerStore
from ccm.notifications.notifier import Notifier
from ccm.notifications.webhook import Outbox, WebhookSender
from ccm.reconcile.engine import Engine
from ccm.reconcile.passes import PassResult
from ccm.runtime import open_engine
from ccm.serve.scheduler import PassScheduler, Trigger
from ccm.serve.watcher import SpecWatcher
from ccm.settings import Settings
from ccm.tokens import TokenStore

logger = logging.getLogger(__name__)

# systemd's TimeoutStopSec in systemd/ccm.service is 15 s; the process aims to exit well before.
STOP_BUDGET_SECONDS = 9.0
WEBHOOK_FLUSH_SECONDS = 2.0


class ServeError(Exception):
    """``ccm serve`` cannot start; the message names the cause and the fix."""


@dataclass(frozen=True)
class ServeOptions:
    """The API's listening address: the settings give the defaults, the command line overrides them."""

    host: str
    port: int


class Daemon:
    """The parts of ``ccm serve`` around one engine."""

    def __init__(self, engine: Engine, options: ServeOptions) -> None:
        settings = engine.settings
        self.engine = engine
        self.reads = engine.client.for_waiting_callers()
        self.api = PipelineAPI(
            PipelineManager(engine),
            PipelineMonitor(engine, client=self.reads),
            TokenStore(settings.state_dir),
            host=options.host,
            port=options.port,
        )
        self.outbox = Outbox(settings.webhooks, WebhookSender(settings.webhook_timeout_seconds))
        self.notifier = Notifier(engine, LedgerStore(settings.state_dir), self.outbox)
        self.scheduler = PassScheduler(engine, self._after_pass)
        self.watcher = SpecWatcher(
            settings.specs_dir, self.scheduler.files_changed, debounce_ms=settings.watch_debounce_ms
        )

    def start(self) -> None:
        """Start the API first, so that a taken port fails before any pass runs."""
        try:
            self.api.start()
        except OSError as error:
            raise ServeError(
                f"Cannot listen on {self.api.host}:{self.api.port}: {error.strerror or error}. "
                "Choose another --port or api_port, or stop the process that uses it."
            ) from error
        self.outbox.start()
        self.watcher.start()
        self.scheduler.start()

    def stop(self) -> None:
        deadline = time.monotonic() + STOP_BUDGET_SECONDS
        self.api.stop()
        self.watcher.stop(timeout=max(deadline - time.monotonic(), 0.1))
        remaining = max(deadline - time.monotonic() - WEBHOOK_FLUSH_SECONDS, 0.1)
        if not self.scheduler.stop(timeout=remaining):
            logger.warning(
                "The pass in progress did not finish within the stop budget of %.0f s; exiting "
                "without it. The next start converges again.",
                STOP_BUDGET_SECONDS,
            )
        self.outbox.stop(timeout=max(deadline - time.monotonic(), 0.1))
        self.reads.close()

    def _after_pass(self, trigger: Trigger, result: PassResult | None) -> None:
        self.notifier.check(read_runs=trigger in (Trigger.STARTUP, Trigger.RESYNC))


def serve(settings: Settings, options: ServeOptions) -> int:
    """Run ``ccm serve`` until SIGTERM or SIGINT; return the exit status.

    Both signals are blocked before any thread starts, so every thread inherits the mask and
    the main thread receives them in ``sigwait``. A Python signal handler would not do: the
    kernel may deliver the signal to another thread, and then a main thread blocked on a lock
    never runs the handler. A signal that arrives during start-up waits and stops the process
    as soon as it has started. The signals stay blocked until the process exits.
    """
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)

    with open_engine(settings) as engine:
        daemon = Daemon(engine, options)
        daemon.start()
        logger.info(
            "ccm serve started: API at %s, watching %s, resync every %.0f s, %d webhook(s), GitHub: %s",
            daemon.api.url, settings.specs_dir, settings.resync_interval_seconds,
            len(settings.webhooks), engine.github_label,
        )
        print(f"ccm serve: API at {daemon.api.url}; watching {settings.specs_dir}; GitHub: {engine.github_label}", flush=True)
        received = signal.sigwait(stop_signals)
        logger.info("received %s; stopping", signal.Signals(received).name)
        daemon.stop()
    logger.info("ccm serve stopped")
    return 0
