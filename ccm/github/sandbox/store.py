"""The persisted world: one JSON file, written atomically and shared by processes in turn.

Each request of a persisted world takes an exclusive ``flock`` on ``<file>.lock``. It reloads
the file if another process saved it since this one last read or wrote it. If the request
changed anything, it saves the file again (temporary file, fsync, rename). The lock file contains a
generation number that every save increments, which shows a process whether to reload. File
times and inode numbers cannot, because they repeat within a clock tick. So ``ccm`` commands run one
after another, or even at the same time, see one consistent GitHub.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ccm.atomicfile import replace_file
from ccm.github.sandbox.clock import TimeAnchor
from ccm.github.sandbox.ratelimit import RateWindow
from ccm.github.sandbox.records import RepositoryRecord, WorkflowRecord
from ccm.github.sandbox.runs import SimulatedRun

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1


class WorldState(BaseModel):
    """Everything a world needs to resume: records, runs, clock anchor and rate limit usage."""

    model_config = ConfigDict(frozen=True)

    format_version: int = FORMAT_VERSION
    random_seed: int
    time: TimeAnchor
    next_run_id: int
    repositories: list[RepositoryRecord]
    workflows: list[WorkflowRecord]
    runs: list[SimulatedRun]
    rate_windows: list[RateWindow] = Field(default_factory=list)


def _json_problem(error: ValueError | RecursionError) -> str:
    if isinstance(error, UnicodeDecodeError):
        return f"byte {error.start} is not UTF-8"
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at line {error.lineno} column {error.colno}"
    if isinstance(error, RecursionError):
        return "arrays or objects nest too deep"
    return str(error)


def _first_problem(error: ValidationError) -> str:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "the top level"
    more = error.error_count() - 1
    if more == 0:
        return f"{field}: {first['msg']}"
    return f"{field}: {first['msg']}; {more} more {'problem' if more == 1 else 'problems'}"


class StoreError(Exception):
    """A persisted world file that cannot be read; the message names the file and the fix."""


class WorldStore:
    """Reads and writes one world file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_path = path.with_name(path.name + ".lock")
        self._lock_file: IO[bytes] | None = None
        self._seen_generation: int | None = None

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the exclusive lock that orders the requests of all processes sharing the file.

        ``changed``, ``read`` and ``write`` must be called inside it.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._lock_path, "a+b") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            self._lock_file = lock_file
            try:
                yield
            finally:
                self._lock_file = None
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def exists(self) -> bool:
        return self.path.exists()

    def changed(self) -> bool:
        """Return whether another process saved the world since this store last read or wrote it."""
        return self._generation() != self._seen_generation

    def read(self) -> WorldState:
        try:
            raw = self.path.read_bytes()
        except OSError as error:
            raise StoreError(f"Cannot read the sandbox world {self.path}: {error.strerror}.") from error
        # UnicodeDecodeError and JSONDecodeError are ValueErrors. RecursionError comes from JSON
        # nested deeper than the parser's recursion allows.
        try:
            data = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError) as error:
            raise StoreError(
                f"The sandbox world {self.path} is not valid JSON ({_json_problem(error)}). "
                "Delete it to start again from the seed."
            ) from error
        try:
            state = WorldState.model_validate(data)
        except ValidationError as error:
            raise StoreError(
                f"The sandbox world {self.path} is JSON but not a world this version of ccm can "
                f"read ({_first_problem(error)}). Delete it to start again from the seed."
            ) from error
        if state.format_version != FORMAT_VERSION:
            raise StoreError(
                f"The sandbox world {self.path} has format {state.format_version}, not {FORMAT_VERSION}. "
                f"Delete it to start again from the seed."
            )
        self._seen_generation = self._generation()
        logger.debug("Loaded the sandbox world from %s", self.path)
        return state

    def write(self, state: WorldState) -> None:
        replace_file(self.path, state.model_dump_json().encode("utf-8"))

        generation = self._generation() + 1
        lock_file = self._held_lock_file()
        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(str(generation).encode())
        lock_file.flush()
        self._seen_generation = generation

    def _generation(self) -> int:
        lock_file = self._held_lock_file()
        lock_file.seek(0)
        text = lock_file.read().decode(errors="replace").strip()
        return int(text) if text.isdigit() else 0

    def _held_lock_file(self) -> IO[bytes]:
        if self._lock_file is None:
            raise RuntimeError(f"The sandbox world {self.path} is read or written without holding its lock.")
        return self._lock_file
