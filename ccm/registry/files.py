"""File operations of the registry: atomic writes, timestamped backups and set-aside copies.

Every file is replaced atomically (``ccm.atomicfile``), so a reader or a crash sees the old
content or the new, never a mix. Files are created with mode 0600 and directories with 0700,
because the registry records which repositories a VPS deploys from.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

from ccm.atomicfile import TEMP_SUFFIX, replace_file

_BACKUP_NAME = re.compile(r"^pipelines-(\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)(?:-(\d+))?\.json$")
_STAMP_FORMAT = "%Y-%m-%d-%H-%M-%S"


def make_private_directory(path: Path) -> None:
    """Create ``path`` with mode 0700 if it is missing; parents get the default mode."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def write_atomically(path: Path, content: bytes) -> None:
    """Replace ``path`` with ``content`` in one rename, durable once this returns."""
    replace_file(path, content)


def remove_temp_files(directory: Path, name_prefix: str) -> None:
    """Delete the temporary files that killed writers of ``name_prefix*`` left in ``directory``.

    Call this only while holding the registry lock, when no other writer can be using them.
    """
    temp_prefix = f".{name_prefix}"
    for entry in _scan(directory):
        if entry.name.startswith(temp_prefix) and entry.name.endswith(TEMP_SUFFIX):
            Path(entry.path).unlink(missing_ok=True)


def list_backups(directory: Path) -> list[Path]:
    """Return the backups in ``directory``, newest first by the timestamp in their names."""
    return [path for _, path in sorted(_backups_by_age(directory), reverse=True)]


def write_backup(directory: Path, content: bytes, now: datetime) -> Path:
    """Write ``content`` as ``pipelines-YYYY-MM-DD-HH-MM-SS.json`` (UTC), adding ``-N`` if taken."""
    make_private_directory(directory)
    stamp = now.strftime(_STAMP_FORMAT)
    # The number only grows within one second, even after older backups are pruned, so that
    # names keep sorting by age.
    numbers = [number for (other, number), _ in _backups_by_age(directory) if other == stamp]
    suffix = f"-{max(numbers) + 1}" if numbers else ""
    path = directory / f"pipelines-{stamp}{suffix}.json"
    write_atomically(path, content)
    return path


def prune_backups(directory: Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest backups and return the deleted paths."""
    removed = list_backups(directory)[keep:]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def set_aside(path: Path, now: datetime) -> Path:
    """Copy ``path`` to ``<name>.corrupt-<timestamp>`` and return the copy.

    An existing copy with the same content is reused, so that loading the same bad file again
    does not pile up copies.
    """
    content = path.read_bytes()
    prefix = f"{path.name}.corrupt-"
    for entry in _scan(path.parent):
        if entry.name.startswith(prefix) and entry.stat().st_size == len(content):
            candidate = Path(entry.path)
            if candidate.read_bytes() == content:
                return candidate

    aside = _unused_path(path.parent, f"{prefix}{now.strftime(_STAMP_FORMAT)}")
    write_atomically(aside, content)
    return aside


def _backups_by_age(directory: Path) -> list[tuple[tuple[str, int], Path]]:
    keyed = []
    for entry in _scan(directory):
        match = _BACKUP_NAME.match(entry.name)
        if match:
            keyed.append(((match[1], int(match[2] or 0)), Path(entry.path)))
    return keyed


def _unused_path(directory: Path, stem: str) -> Path:
    candidate = directory / stem
    number = 0
    while candidate.exists():
        number += 1
        candidate = directory / f"{stem}-{number}"
    return candidate


def _scan(directory: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as entries:
            return list(entries)
    except FileNotFoundError:
        return []
