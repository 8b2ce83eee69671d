"""Shared set-up of the ``ccm serve`` tests: the command as a real process against a sandbox.

The sandbox world lives in the test process and is served on 127.0.0.1, so tests read and
change GitHub's state directly while ``ccm serve`` talks to it over HTTP. The API listens on a
port picked by the kernel (``--port 0``) and read back from the start-up banner. This module
contains no tests; the ``test_serve_*`` and ``test_notify_*`` modules import it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ccm.github.sandbox import SandboxWorld

CCM = str(Path(sys.executable).with_name("ccm"))
START_TIMEOUT_SECONDS = 15.0


class LineReader:
    """Collects the lines of a process's output in a thread, so tests can wait for one."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._condition:
                self.lines.append(line.rstrip("\n"))
                self._condition.notify_all()

    def count(self, needle: str, start: int = 0) -> int:
        with self._condition:
            return sum(needle in line for line in self.lines[start:])

    def mark(self) -> int:
        """Return the number of lines so far, to count only what comes after."""
        with self._condition:
            return len(self.lines)

    def wait_for(self, needle: str, timeout: float, *, start: int = 0, times: int = 1) -> str:
        """Wait until ``needle`` appeared ``times`` times after line ``start``; return the last such line."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                found = [line for line in self.lines[start:] if needle in line]
                if len(found) >= times:
                    return found[times - 1]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    tail = "\n".join(self.lines[-30:])
                    raise AssertionError(f"{needle!r} did not appear {times} time(s) within {timeout} s; last lines:\n{tail}")
                self._condition.wait(remaining)

    def text(self) -> str:
        with self._condition:
            return "\n".join(self.lines)


@dataclass
class ServeProcess:
    process: subprocess.Popen[str]
    api_url: str
    stdout: LineReader
    log: LineReader
    state_dir: Path
    specs_dir: Path
    exit_seconds: float | None = field(default=None)

    def stop(self, timeout: float = 15.0) -> int:
        """Send SIGTERM, wait for the exit, record how long it took; return the exit status."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(timeout=timeout)
        self.exit_seconds = time.monotonic() - started
        return status


def serve_environment(state_dir: Path, **variables: str) -> dict[str, str]:
    """Return an environment with the sandbox token and no systemd or ccm variables of the caller."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CCM_") and key not in ("INVOCATION_ID", "JOURNAL_STREAM", "GITHUB_TOKEN", "GH_TOKEN")
    }
    environment.update({"GITHUB_TOKEN": "test-token", "CCM_HOME": str(state_dir)}, **variables)
    return environment


def start_serve(
    tmp_path: Path,
    github_url: str,
    *,
    resync_seconds: float = 3600.0,
    log_format: str = "text",
    variables: dict[str, str] | None = None,
) -> ServeProcess:
    """Start ``ccm serve`` and wait until its first pass finished."""
    state_dir = tmp_path / "state"
    specs_dir = tmp_path / "pipelines.d"
    specs_dir.mkdir(exist_ok=True)
    environment = serve_environment(
        state_dir, CCM_RESYNC_INTERVAL_SECONDS=str(resync_seconds), **(variables or {})
    )
    command = [
        CCM, "--log-format", log_format, "--github", github_url, "--pipelines-dir", str(specs_dir),
        "serve", "--port", "0",
    ]
    process = subprocess.Popen(
        command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stderr is not None
    stdout = LineReader(process.stdout)
    log = LineReader(process.stderr)
    banner = stdout.wait_for("ccm serve: API at", START_TIMEOUT_SECONDS)
    match = re.search(r"API at (http://127\.0\.0\.1:\d+);", banner)
    assert match, banner
    log.wait_for("pass applied", START_TIMEOUT_SECONDS)
    return ServeProcess(process, match.group(1), stdout, log, state_dir, specs_dir)


def wait_until(condition: Callable[[], bool], timeout: float, message: str) -> float:
    """Poll ``condition`` every 20 ms until it holds; return the seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{message} (waited {timeout} s)")
        time.sleep(0.02)
    return time.monotonic() - started


def workflow_state(world: SandboxWorld, repository: str) -> str:
    """Return the state of the repository's only workflow, as the sandbox holds it."""
    (workflow,) = world.workflows(repository)
    return workflow.state.value


def spec_text(name: str, repository: str, **fields: str) -> str:
    lines = [f"name: {name}", f"repository: {repository}", "workflow_file: .github/workflows/deploy.yml"]
    lines += [f"{key}: {value}" for key, value in fields.items()]
    return "\n".join(lines) + "\n"
