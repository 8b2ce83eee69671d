"""The registry lock: one writer at a time across processes and threads.

Processes exclude each other with ``flock`` on ``pipelines.lock``; the kernel releases it when
the holder exits, even on SIGKILL, so a crash never leaves a stale lock. Threads of one process
exclude each other with an ``RLock`` first, which also makes the lock re-entrant within a thread.
The holder writes its pid into the lock file so that a waiter that times out can name it.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ccm.registry.errors import RegistryLockTimeout
from ccm.registry.files import make_private_directory

_FIRST_POLL_SECONDS = 0.005
_MAX_POLL_SECONDS = 0.1


class RegistryLock:
    """An exclusive, re-entrant lock on the registry of one state directory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread_lock = threading.RLock()
        # The thread that holds the file lock; changed only while _thread_lock is held.
        self._owner: int | None = None

    @property
    def held_by_current_thread(self) -> bool:
        return self._owner == threading.get_ident()

    @contextmanager
    def hold(self, timeout: float) -> Iterator[None]:
        """Hold the lock for the ``with`` block, waiting at most ``timeout`` seconds for it."""
        deadline = time.monotonic() + timeout
        if not self._thread_lock.acquire(timeout=max(timeout, 0)):
            raise RegistryLockTimeout(
                f"Timed out after {timeout:g} s: another thread of this process holds the "
                f"registry lock {self.path}; wait for its write to finish."
            )
        try:
            if self._owner is not None:
                # Re-entered by the thread that already holds the file lock.
                yield
                return

            descriptor = self._lock_file(deadline, timeout)
            self._owner = threading.get_ident()
            try:
                yield
            finally:
                self._owner = None
                _unlock_file(descriptor)
        finally:
            self._thread_lock.release()

    def _lock_file(self, deadline: float, timeout: float) -> int:
        make_private_directory(self.path.parent)
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            self._wait_for_flock(descriptor, deadline, timeout)
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        except BaseException:
            os.close(descriptor)
            raise
        return descriptor

    def _wait_for_flock(self, descriptor: int, deadline: float, timeout: float) -> None:
        # flock has no timeout of its own, so poll with a growing interval.
        interval = _FIRST_POLL_SECONDS
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RegistryLockTimeout(self._timeout_message(descriptor, timeout)) from None
                time.sleep(min(interval, remaining))
                interval = min(interval * 2, _MAX_POLL_SECONDS)

    def _timeout_message(self, descriptor: int, timeout: float) -> str:
        holder = _read_pid(descriptor)
        if holder == os.getpid():
            return (
                f"Timed out after {timeout:g} s: this process (pid {holder}) holds the registry "
                f"lock {self.path} through another Registry object; share one Registry per state "
                "directory."
            )
        who = "another ccm process" if holder is None else f"another ccm process (pid {holder})"
        return (
            f"Timed out after {timeout:g} s: {who} holds the registry lock {self.path}; "
            "wait for it to finish or stop it."
        )


def _unlock_file(descriptor: int) -> None:
    try:
        # Clear the pid first, so a later waiter never names a process that has let go.
        os.ftruncate(descriptor, 0)
        fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def _read_pid(descriptor: int) -> int | None:
    text = os.pread(descriptor, 32, 0).decode("ascii", errors="replace").strip()
    return int(text) if text.isdigit() else None
