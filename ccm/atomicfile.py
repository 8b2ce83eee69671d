"""Atomic file replacement, shared by every file ccm writes: registry, specs, caches, tokens.

The content goes to a unique temporary file in the target's directory (named ``.<name>.*.tmp``,
so the spec loader and the watcher ignore it), is flushed and fsynced, and replaces the target
with one ``rename``. A reader therefore sees the old file or the new one, never a part of one,
even after a crash. The rename is durable once the directory itself is fsynced.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def replace_file(path: Path, content: bytes, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``content`` (file mode ``mode``), durable once this returns.

    Raises ``OSError`` when the directory is missing or not writable; the target is unchanged.
    """
    previous_mtime_ns = _mtime_ns(path)
    descriptor, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(descriptor, "wb") as temp_file:
            temp_file.write(content)
            temp_file.flush()
            os.fchmod(temp_file.fileno(), mode)
            # Linux stamps files from a coarse clock (one tick, 1 to 10 ms). Two writes within a
            # tick could then leave the same (mtime, size, inode) when the new file reuses the
            # inode just freed, and a reader's stat-based cache would miss the change. A
            # nanosecond mtime later than the replaced file's keeps every write's stat distinct.
            mtime_ns = max(time.time_ns(), previous_mtime_ns + 1)
            os.utime(temp_file.fileno(), ns=(mtime_ns, mtime_ns))
            os.fsync(temp_file.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    """Make a rename or an unlink in ``directory`` durable."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _mtime_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0
