"""Webhook delivery: POST each alert to every target, retried a bounded number of times.

Delivery runs in a thread of its own (``Outbox``), so a slow or failing webhook never delays a
reconcile pass. Transport errors and 429 and 5xx responses are retried with exponential waits.
Other responses are final. An alert that still fails is logged and dropped. Webhook URLs often contain
their secret, so logs name only the scheme and host.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import tenacity

from ccm import __version__
from ccm.notifications.alerts import Alert
from ccm.settings import WebhookFormat, WebhookTarget, redact_url

logger = logging.getLogger(__name__)

# Three attempts, 1 s then 2 s apart, keep a lost alert's delay under the 5-second timeout of
# each attempt times three.
ATTEMPTS = 3
FIRST_WAIT_SECONDS = 1.0
# Alerts queued beyond this are dropped with a warning rather than kept in memory without bound.
MAX_QUEUED_ALERTS = 1000


class _RedactWebhookUrls(logging.Filter):
    """Replace webhook URLs in httpx's request log lines with their scheme and host.

    httpx logs every request with its full URL at INFO, whatever the caller configured. This
    filter sits on the ``httpx`` logger, so the secret stays out of every handler.
    """

    def __init__(self) -> None:
        super().__init__()
        self.urls: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and self.urls:
            record.args = tuple(
                redact_url(str(arg)) if str(arg) in self.urls else arg for arg in record.args
            )
        return True


_REDACT = _RedactWebhookUrls()
logging.getLogger("httpx").addFilter(_REDACT)


class DeliveryError(Exception):
    """A webhook did not accept an alert. ``retryable`` is True when another attempt may succeed."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def payload(alert: Alert, webhook_format: WebhookFormat) -> dict[str, Any]:
    """Build the JSON body of an alert: Slack's ``{"text": ...}``, or ccm's object."""
    if webhook_format is WebhookFormat.SLACK:
        return {"text": alert.text}
    run = None
    if alert.run_id is not None:
        run = {"id": alert.run_id, "url": alert.run_url, "conclusion": alert.conclusion, "branch": alert.branch}
    return {
        "event": alert.kind.value,
        "text": alert.text,
        "time": alert.model_dump(mode="json")["time"],
        "pipeline": {
            "pipeline_id": alert.pipeline_id,
            "name": alert.pipeline_name,
            "repository": alert.repository,
            "workflow_file": alert.workflow_file,
        },
        "run": run,
        "status_reason": alert.status_reason,
    }


class WebhookSender:
    """Sends one alert to one target with retries. ``sleep`` waits between attempts."""

    def __init__(self, timeout_seconds: float, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._http = httpx.Client(
            timeout=timeout_seconds,
            follow_redirects=False,
            headers={"User-Agent": f"ccm/{__version__}"},
        )
        self._sleep = sleep

    def close(self) -> None:
        self._http.close()

    def send(self, alert: Alert, target: WebhookTarget) -> bool:
        """Deliver ``alert`` to ``target``; return whether it was accepted. Failures are logged."""
        _REDACT.urls.add(str(httpx.URL(target.url)))
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(ATTEMPTS),
            wait=tenacity.wait_exponential(multiplier=FIRST_WAIT_SECONDS),
            retry=tenacity.retry_if_exception(lambda error: isinstance(error, DeliveryError) and error.retryable),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            retrying(self._post, alert, target)
        except DeliveryError as error:
            logger.error(
                "Sending the %s alert of pipeline %s to %s failed: %s The alert is dropped.",
                alert.kind.value, alert.pipeline_id, target.label, error,
            )
            return False
        logger.info("sent the %s alert of pipeline %s to %s", alert.kind.value, alert.pipeline_id, target.label)
        return True

    def _post(self, alert: Alert, target: WebhookTarget) -> None:
        try:
            response = self._http.post(target.url, json=payload(alert, target.format))
        except httpx.TransportError as error:
            # The exception text can contain the URL, so only its type is kept.
            raise DeliveryError(f"{type(error).__name__} after {ATTEMPTS} attempts.", retryable=True) from None
        if response.status_code == 429 or response.status_code >= 500:
            raise DeliveryError(f"HTTP {response.status_code} after {ATTEMPTS} attempts.", retryable=True)
        if response.status_code >= 300:
            raise DeliveryError(
                f"HTTP {response.status_code}, which is not retried. Check the webhook URL and format.",
                retryable=False,
            )


class Outbox:
    """A queue of alerts and the thread that delivers them to every target."""

    def __init__(self, targets: Sequence[WebhookTarget], sender: WebhookSender) -> None:
        self.targets = tuple(targets)
        self._sender = sender
        self._queue: queue.Queue[Alert | None] = queue.Queue(maxsize=MAX_QUEUED_ALERTS)
        self._thread = threading.Thread(target=self._deliver, name="ccm-webhooks", daemon=True)
        self._dropped = 0

    def start(self) -> None:
        self._thread.start()

    def put(self, alert: Alert) -> None:
        """Queue ``alert`` for every target; a full queue drops it with a warning."""
        if not self.targets:
            return
        try:
            self._queue.put_nowait(alert)
        except queue.Full:
            self._dropped += 1
            logger.warning(
                "The webhook queue is full (%d alerts); dropped the %s alert of %s (%d dropped so far).",
                MAX_QUEUED_ALERTS, alert.kind.value, alert.pipeline_id, self._dropped,
            )

    def stop(self, timeout: float) -> None:
        """Deliver what is queued within ``timeout`` seconds, then stop; the rest is dropped."""
        if self._thread.is_alive():
            try:
                self._queue.put(None, timeout=timeout)
            except queue.Full:
                pass
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning(
                    "Webhook delivery did not finish within %.0f s; about %d queued alerts are dropped.",
                    timeout, self._queue.qsize(),
                )
        self._sender.close()

    def _deliver(self) -> None:
        while True:
            alert = self._queue.get()
            if alert is None:
                return
            for target in self.targets:
                self._sender.send(alert, target)
