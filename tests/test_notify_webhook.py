"""Webhook delivery to a receiver on 127.0.0.1: payloads, bounded retries, and secret-free logs."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ccm.notifications.alerts import Alert, AlertKind
from ccm.notifications.webhook import Outbox, WebhookSender
from ccm.settings import WebhookFormat, WebhookTarget

SECRET_PATH = "/hooks/T000/B000/secret-part"


class Receiver:
    """An HTTP server that records POSTed JSON bodies and responds with scripted statuses."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.bodies: list[dict[str, object]] = []
        self.paths: list[str] = []
        self.statuses = list(statuses or [])
        self._condition = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                with receiver._condition:
                    receiver.bodies.append(body)
                    receiver.paths.append(self.path)
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver._condition.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{SECRET_PATH}"

    def wait_for(self, count: int, timeout: float) -> list[dict[str, object]]:
        with self._condition:
            if not self._condition.wait_for(lambda: len(self.bodies) >= count, timeout):
                raise AssertionError(f"expected {count} webhook bodies within {timeout} s, got {self.bodies}")
            return list(self.bodies)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


ALERT = Alert(
    kind=AlertKind.FAILED,
    pipeline_id="pipe_0123456789ab",
    pipeline_name="site",
    repository="acme/site",
    workflow_file=".github/workflows/deploy.yml",
    text="Pipeline site (acme/site, .github/workflows/deploy.yml) failed: run 12 on main concluded failure.",
    run_id=12,
    run_url="https://github.example/acme/site/actions/runs/12",
    conclusion="failure",
    branch="main",
    time=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def sender(sleeps: list[float]) -> Iterator[WebhookSender]:
    sender = WebhookSender(2.0, sleep=sleeps.append)
    yield sender
    sender.close()


def test_webhook_json_payload(sender: WebhookSender) -> None:
    with Receiver() as receiver:
        assert sender.send(ALERT, WebhookTarget(url=receiver.url))

    assert receiver.paths == [SECRET_PATH]
    assert receiver.bodies == [
        {
            "event": "failed",
            "text": ALERT.text,
            "time": "2026-03-01T12:00:00Z",
            "pipeline": {
                "pipeline_id": "pipe_0123456789ab",
                "name": "site",
                "repository": "acme/site",
                "workflow_file": ".github/workflows/deploy.yml",
            },
            "run": {
                "id": 12,
                "url": "https://github.example/acme/site/actions/runs/12",
                "conclusion": "failure",
                "branch": "main",
            },
            "status_reason": None,
        }
    ]


def test_webhook_slack_payload(sender: WebhookSender) -> None:
    with Receiver() as receiver:
        assert sender.send(ALERT, WebhookTarget(url=receiver.url, format=WebhookFormat.SLACK))

    assert receiver.bodies == [{"text": ALERT.text}]


@pytest.mark.parametrize(
    ("statuses", "delivered", "attempts", "waits"),
    [
        ([503, 200], True, 2, [1.0]),
        ([429, 502, 200], True, 3, [1.0, 2.0]),
        ([500, 500, 500, 200], False, 3, [1.0, 2.0]),
        ([404], False, 1, []),
        ([301], False, 1, []),
    ],
    ids=["retry-5xx", "retry-429-then-5xx", "gives-up-after-3", "4xx-final", "no-redirects"],
)
def test_webhook_retries_bounded(
    sender: WebhookSender, sleeps: list[float], statuses: list[int], delivered: bool, attempts: int, waits: list[float]
) -> None:
    with Receiver(statuses) as receiver:
        assert sender.send(ALERT, WebhookTarget(url=receiver.url)) is delivered

    assert len(receiver.bodies) == attempts
    assert sleeps == waits


def test_webhook_failure_log_hides_url(sender: WebhookSender, caplog: pytest.LogCaptureFixture) -> None:
    with Receiver([500, 500, 500]) as receiver, caplog.at_level(logging.INFO):
        sender.send(ALERT, WebhookTarget(url=receiver.url))
        port = receiver.url.split(":")[2].split("/")[0]

    assert f"to http://127.0.0.1:{port}/... failed: HTTP 500 after 3 attempts. The alert is dropped." in caplog.text
    assert "secret-part" not in caplog.text


def test_outbox_sends_to_every_target(sender: WebhookSender) -> None:
    with Receiver() as first, Receiver() as second:
        outbox = Outbox([WebhookTarget(url=first.url), WebhookTarget(url=second.url, format=WebhookFormat.SLACK)], sender)
        outbox.start()
        outbox.put(ALERT)
        outbox.stop(timeout=5)

    assert [body["event"] for body in first.bodies] == ["failed"]
    assert second.bodies == [{"text": ALERT.text}]
