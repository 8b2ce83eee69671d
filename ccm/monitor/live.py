"""The live dashboard: a background refresher, a key loop on the terminal, and Rich ``Live``.

Fetching and drawing are separate so that keys never wait for GitHub. A worker thread takes
snapshots from the source on a timer and runs the slow commands (open a pipeline, trigger a
run). The key loop redraws from the latest snapshot. The terminal is put in cbreak mode
(keys arrive one at a time, without echo, and Ctrl-C still interrupts) and restored on exit,
including exits by an exception.
"""

from __future__ import annotations

import collections
import logging
import os
import queue
import select
import sys
import termios
import threading
import time
import tty
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TextIO

from rich.console import Console
from rich.live import Live

from ccm.monitor.dashboard import render_dashboard
from ccm.monitor.source import DashboardSource, FleetSnapshot, PipelineDetail
from ccm.monitor.view import CommandKind, ViewState, handle_key

logger = logging.getLogger(__name__)

KEY_POLL_SECONDS = 0.1
# Redraw at least this often so that "updated 5 s ago" and run ages keep moving.
REDRAW_SECONDS = 1.0
NOTICE_LINES = 3
# Lines of a frame around the table rows: header, table borders, caption, keys, message, notices.
FRAME_LINES = 12 + NOTICE_LINES

_ESCAPE_SEQUENCES = {
    b"\x1b[A": "up",
    b"\x1b[B": "down",
    b"\x1bOA": "up",
    b"\x1bOB": "down",
    b"\x1b[C": "right",
    b"\x1b[D": "left",
}
_CONTROL_KEYS = {b"\r": "enter", b"\n": "enter", b"\x7f": "backspace", b"\x08": "backspace", b"\x1b": "escape"}


def decode_keys(data: bytes) -> list[str]:
    """Split bytes read from a terminal into key names (see ``ccm.monitor.view``)."""
    keys: list[str] = []
    index = 0
    while index < len(data):
        sequence = next((seq for seq in _ESCAPE_SEQUENCES if data.startswith(seq, index)), None)
        if sequence is not None:
            keys.append(_ESCAPE_SEQUENCES[sequence])
            index += len(sequence)
            continue
        byte = data[index : index + 1]
        if byte in _CONTROL_KEYS:
            keys.append(_CONTROL_KEYS[byte])
        elif byte.isascii() and byte.decode().isprintable():
            keys.append(byte.decode())
        index += 1
    return keys


class TerminalKeys:
    """Keys from a terminal in cbreak mode, read with a timeout; the settings come back on exit."""

    def __init__(self, stream: TextIO) -> None:
        self._fd = stream.fileno()
        self._saved: list[object] | None = None

    def __enter__(self) -> TerminalKeys:
        self._saved = termios.tcgetattr(self._fd)
        tty.setcbreak(self._fd)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._saved is not None:
            termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)

    def read(self, timeout: float) -> list[str]:
        """Return the keys pressed, waiting up to ``timeout`` seconds for the first one."""
        ready, _, _ = select.select([self._fd], [], [], timeout)
        if not ready:
            return []
        return decode_keys(os.read(self._fd, 64))


@dataclass(frozen=True)
class _Task:
    kind: CommandKind | None  # None: a timed refresh
    pipeline_id: str | None = None


class Refresher:
    """A worker thread that keeps the latest snapshot and detail and runs triggers."""

    def __init__(self, source: DashboardSource, refresh_seconds: float) -> None:
        self._source = source
        self._refresh_seconds = refresh_seconds
        self._tasks: queue.Queue[_Task] = queue.Queue()
        self._lock = threading.Lock()
        self._fleet: FleetSnapshot | None = None
        self._detail: PipelineDetail | None = None
        self._focus: str | None = None
        self._messages: list[str] = []
        self._stopping = threading.Event()
        self.changed = threading.Event()
        self._thread = threading.Thread(target=self._work, name="ccm-monitor-refresh", daemon=True)

    def start(self) -> Refresher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._tasks.put(_Task(CommandKind.QUIT))
        self._thread.join(timeout=5)

    @property
    def fleet(self) -> FleetSnapshot | None:
        with self._lock:
            return self._fleet

    @property
    def detail(self) -> PipelineDetail | None:
        with self._lock:
            return self._detail

    def take_messages(self) -> list[str]:
        with self._lock:
            messages, self._messages = self._messages, []
            return messages

    def set_refresh_seconds(self, seconds: float) -> None:
        self._refresh_seconds = seconds
        self._tasks.put(_Task(None))

    def open(self, pipeline_id: str) -> None:
        with self._lock:
            self._focus = pipeline_id
        self._tasks.put(_Task(CommandKind.OPEN, pipeline_id))

    def close_detail(self) -> None:
        with self._lock:
            self._focus = None

    def trigger(self, pipeline_id: str) -> None:
        self._tasks.put(_Task(CommandKind.TRIGGER, pipeline_id))

    def _work(self) -> None:
        next_refresh = time.monotonic()  # the first snapshot is taken at once
        while not self._stopping.is_set():
            try:
                task = self._tasks.get(timeout=max(next_refresh - time.monotonic(), 0.0))
            except queue.Empty:
                task = _Task(None)
            if task.kind is CommandKind.QUIT:
                return
            # One worker does everything so that nothing reaches GitHub twice at once; an
            # unexpected error is shown and logged, and the next refresh tries again.
            try:
                if task.kind is None:
                    self._refresh()
                    next_refresh = time.monotonic() + self._refresh_seconds
                elif task.kind is CommandKind.OPEN and task.pipeline_id is not None:
                    self._load_detail(task.pipeline_id)
                elif task.kind is CommandKind.TRIGGER and task.pipeline_id is not None:
                    message = self._source.trigger(task.pipeline_id)
                    with self._lock:
                        self._messages.append(message)
                    self._refresh()
            except Exception as error:  # the dashboard must outlive any one failed refresh
                logger.exception("The dashboard refresh failed; retrying on the next one.")
                with self._lock:
                    self._messages.append(f"Refresh failed: {error}")
            self.changed.set()

    def _refresh(self) -> None:
        fleet = self._source.fleet()
        with self._lock:
            self._fleet = fleet
            focus = self._focus
        if focus is not None:
            self._load_detail(focus)
        self.changed.set()

    def _load_detail(self, pipeline_id: str) -> None:
        detail = self._source.detail(pipeline_id)
        with self._lock:
            if self._focus == pipeline_id:
                self._detail = detail


class _NoticeHandler(logging.Handler):
    """Keeps the last warnings so the dashboard shows them instead of printing over the screen."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.lines: collections.deque[str] = collections.deque(maxlen=NOTICE_LINES)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname.lower()}: {record.getMessage()}")


@contextmanager
def _logs_on_screen() -> Iterator[_NoticeHandler]:
    """Route log records to the dashboard's notice lines for the duration, then restore the handlers."""
    root = logging.getLogger()
    saved = root.handlers[:]
    handler = _NoticeHandler()
    root.handlers = [handler]
    try:
        yield handler
    finally:
        root.handlers = saved


def run_dashboard(
    source: DashboardSource,
    *,
    console: Console,
    refresh_seconds: float,
    clock: Callable[[], float] = time.time,
    stdin: TextIO = sys.stdin,
) -> int:
    """Show the dashboard until ``q`` (exit status 0) or Ctrl-C (130)."""
    view = ViewState(refresh_seconds=refresh_seconds)
    refresher = Refresher(source, refresh_seconds).start()
    try:
        with _logs_on_screen() as notices, TerminalKeys(stdin) as keys, Live(
            console=console, screen=True, auto_refresh=False, transient=True
        ) as live:
            last_draw = 0.0
            while True:
                redraw = False
                for key in keys.read(KEY_POLL_SECONDS):
                    fleet = refresher.fleet
                    previous = view
                    view, command = handle_key(view, key, fleet.pipelines if fleet else ())
                    redraw = True
                    if command is None:
                        if previous.detail_id is not None and view.detail_id is None:
                            refresher.close_detail()
                        continue
                    if command.kind is CommandKind.QUIT:
                        return 0
                    if command.kind is CommandKind.SET_REFRESH:
                        refresher.set_refresh_seconds(view.refresh_seconds)
                    elif command.kind is CommandKind.OPEN and command.pipeline_id is not None:
                        refresher.open(command.pipeline_id)
                    elif command.kind is CommandKind.TRIGGER and command.pipeline_id is not None:
                        refresher.trigger(command.pipeline_id)

                messages = refresher.take_messages()
                if messages:
                    view = replace(view, message=messages[-1])
                if refresher.changed.is_set():
                    refresher.changed.clear()
                    redraw = True
                now = clock()
                if redraw or now - last_draw >= REDRAW_SECONDS:
                    frame = render_dashboard(
                        refresher.fleet,
                        view,
                        refresher.detail,
                        now=now,
                        notices=list(notices.lines),
                        table_rows=max(console.size.height - FRAME_LINES, 1),
                    )
                    live.update(frame, refresh=True)
                    last_draw = now
    except KeyboardInterrupt:
        return 130
    finally:
        refresher.stop()
