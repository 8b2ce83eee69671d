"""The spec watcher: report changes in ``pipelines.d/`` to the scheduler, debounced.

The watcher watches the directory and its parent, neither recursively. The directory watch
reports spec files written, renamed into place and deleted. Editor temporary, backup and lock files are
ignored by name (``is_spec_file``), so a save that writes ``.x.yaml.tmp`` and renames it to
``x.yaml`` reports ``x.yaml`` once. Subdirectories are not read by the loader, so changes inside
them are not watched. The parent watch reports the directory itself removed or created.

When the directory disappears, the watcher watches the nearest ancestor that exists and re-arms
when the missing part comes back. Each such change is reported as well, so the scheduler runs a
pass: it fails with ``SpecDirectoryError`` (logged, nothing torn down) while the directory is
missing, and converges again once it is back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from watchfiles import Change, watch

from ccm.spec import is_spec_file

logger = logging.getLogger(__name__)

# Maximum milliseconds a burst of changes is grouped before it is reported anyway, so that a
# directory written to without pause still gets passes.
MAX_GROUP_MS = 2000
# How often the watch loop wakes without changes, in milliseconds; it also checks for stop then.
IDLE_WAKE_MS = 1000
# After watching fails (the ancestor vanished between two checks), wait this long before re-arming.
REARM_DELAY_SECONDS = 1.0

# Called from the watcher thread with the names of the spec files that changed; an empty set
# means the directory itself appeared or disappeared.
ChangeListener = Callable[[frozenset[str]], None]


class SpecWatcher:
    """Watches one spec directory in a background thread until ``stop()``."""

    def __init__(self, directory: Path, listener: ChangeListener, *, debounce_ms: int) -> None:
        self.directory = directory.absolute()
        self._listener = listener
        self._debounce_ms = debounce_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"The watcher of {self.directory} is already running.")
        self._thread = threading.Thread(target=self._run, name="ccm-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop watching; the watch loop notices within ``debounce_ms``."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("The watcher of %s did not stop within %.0f s.", self.directory, timeout)

    def _run(self) -> None:
        logger.info("watching %s for spec changes", self.directory)
        while not self._stop.is_set():
            paths = self._watch_paths()
            if paths[0] != self.directory:
                logger.debug("the spec directory %s is missing; watching %s until it is back", self.directory, paths[0])
            try:
                self._watch_until_rearm(paths)
            except OSError as error:
                logger.warning(
                    "Watching %s failed (%s); trying again in %.0f s.",
                    ", ".join(map(str, paths)), error, REARM_DELAY_SECONDS,
                )
                self._stop.wait(REARM_DELAY_SECONDS)

    def _watch_paths(self) -> list[Path]:
        """Return the directory and its parent, or the nearest existing ancestor when it is missing."""
        if self.directory.is_dir():
            return [self.directory, self.directory.parent]
        ancestor = self.directory.parent
        while not ancestor.is_dir() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        return [ancestor]

    def _watch_until_rearm(self, paths: list[Path]) -> None:
        """Report changes until the directory or one of its ancestors is created or removed."""
        changes_seen = watch(
            *paths,
            watch_filter=None,
            recursive=False,
            step=self._debounce_ms,
            debounce=max(MAX_GROUP_MS, self._debounce_ms),
            rust_timeout=IDLE_WAKE_MS,
            stop_event=self._stop,
            raise_interrupt=False,
        )
        for changes in changes_seen:
            spec_files, structural = self._classify(changes)
            if spec_files or structural:
                self._listener(spec_files)
            if structural:
                logger.info("the spec directory %s or a parent was created or removed; re-arming the watch", self.directory)
                return

    def _classify(self, changes: set[tuple[Change, str]]) -> tuple[frozenset[str], bool]:
        """Return the names of changed spec files, and whether the directory's path changed."""
        spec_files: set[str] = set()
        structural = False
        for _change, raw_path in changes:
            path = Path(raw_path)
            if path == self.directory or self.directory.is_relative_to(path):
                structural = True
            elif path.parent == self.directory and is_spec_file(path):
                spec_files.add(path.name)
        return frozenset(spec_files), structural
