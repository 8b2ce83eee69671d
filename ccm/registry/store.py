"""The Registry: load and save ``pipelines.json`` with a lock, backups, recovery and a cache."""

from __future__ import annotations

import logging
import os
from contextlib import AbstractContextManager
from pathlib import Path
from typing import NamedTuple

from ccm.pipeline import utc_now
from ccm.registry.data import (
    InvalidRegistryContent,
    RegistryData,
    content_without_last_updated,
    parse_registry,
    render_registry,
)
from ccm.registry.errors import RegistryCorruptError, RegistryError
from ccm.registry.files import (
    list_backups,
    prune_backups,
    remove_temp_files,
    set_aside,
    write_atomically,
    write_backup,
)
from ccm.registry.lock import RegistryLock

logger = logging.getLogger(__name__)

REGISTRY_FILE = "pipelines.json"
LOCK_FILE = "pipelines.lock"
BACKUPS_DIRECTORY = "backups"


class _FileKey(NamedTuple):
    """What changes whenever the registry file is replaced, by this process or another."""

    mtime_ns: int
    size: int
    inode: int

    @classmethod
    def of(cls, stat: os.stat_result) -> _FileKey:
        return cls(stat.st_mtime_ns, stat.st_size, stat.st_ino)


class _Cached(NamedTuple):
    key: _FileKey
    data: RegistryData


class Registry:
    """The registry of one state directory.

    Readers call ``load()`` at any time; it returns a cached snapshot while the file is unchanged.
    Writers do their whole read-modify-write inside ``with registry.lock():``, and ``save()``
    raises outside it. One instance is meant to be shared by all threads of a process.
    """

    def __init__(self, state_dir: Path, backup_count: int = 20) -> None:
        if backup_count < 1:
            raise ValueError(
                f"backup_count must be at least 1, because a corrupt registry is recovered "
                f"from its backups; got {backup_count}."
            )
        self.state_dir = state_dir
        self.path = state_dir / REGISTRY_FILE
        self.backups_dir = state_dir / BACKUPS_DIRECTORY
        self.backup_count = backup_count
        self._lock = RegistryLock(state_dir / LOCK_FILE)
        self._cached: _Cached | None = None

    def lock(self, timeout: float = 30.0) -> AbstractContextManager[None]:
        """Return a context manager that holds the registry lock, waiting ``timeout`` seconds.

        Raises ``RegistryLockTimeout`` naming the holder's pid when the wait runs out.
        """
        return self._lock.hold(timeout)

    def load(self) -> RegistryData:
        """Return the registry, recovering it from a backup when the file is invalid or missing.

        A missing file with no backups is an empty registry (the first run). Raises
        ``RegistryCorruptError`` when the file is invalid or missing and no backup is valid.
        """
        try:
            return self._read()
        except FileNotFoundError:
            if not list_backups(self.backups_dir):
                return RegistryData()
        except InvalidRegistryContent:
            pass
        return self._recover()

    def save(self, data: RegistryData) -> RegistryData:
        """Write ``data`` with a fresh ``last_updated`` and return the snapshot as written.

        The new version is also kept as a timestamped backup. When only ``last_updated`` would
        change, nothing is written and the current snapshot is returned.
        """
        if not self._lock.held_by_current_thread:
            raise RuntimeError(
                "Registry.save() was called without the registry lock; do the whole "
                "read-modify-write inside `with registry.lock():`."
            )
        now = utc_now()
        # Built anew rather than copied, so that the invariants of RegistryData are checked
        # even for a snapshot that a caller changed with model_copy().
        stamped = RegistryData(pipelines=data.pipelines, last_updated=now)
        content = render_registry(stamped)
        try:
            previous = self.path.read_bytes()
        except FileNotFoundError:
            previous = None
        except OSError as error:
            raise RegistryError(self._access_message("read", error)) from error

        if previous is not None and (
            content_without_last_updated(previous) == content_without_last_updated(content)
        ):
            logger.debug("The registry %s is unchanged; not writing it.", self.path)
            return self.load()

        try:
            remove_temp_files(self.state_dir, f"{REGISTRY_FILE}.")
            remove_temp_files(self.backups_dir, "pipelines-")
            # Every saved version is backed up, the one being written included, so that
            # recovering a corrupt file restores the last save and loses no registration. The
            # backup comes first: a crash between the two leaves a backup one save ahead of the
            # file, never behind it.
            backup = write_backup(self.backups_dir, content, now)
            logger.debug("Backed up the new registry version as %s.", backup)
            write_atomically(self.path, content)
            for removed in prune_backups(self.backups_dir, self.backup_count):
                logger.debug("Deleted the old backup %s.", removed)
            self._cached = _Cached(_FileKey.of(os.stat(self.path)), stamped)
        except OSError as error:
            raise RegistryError(self._access_message("write", error)) from error
        logger.info("Saved the registry %s with %d pipelines.", self.path, len(stamped.pipelines))
        return stamped

    def _read(self) -> RegistryData:
        """Return the file's snapshot, from the cache while the file's stat is unchanged."""
        try:
            cached = self._cached
            if cached is not None and _FileKey.of(os.stat(self.path)) == cached.key:
                return cached.data
            with open(self.path, "rb") as registry_file:
                key = _FileKey.of(os.fstat(registry_file.fileno()))
                content = registry_file.read()
        except FileNotFoundError:
            raise
        except OSError as error:
            raise RegistryError(self._access_message("read", error)) from error
        data = parse_registry(content)
        self._cached = _Cached(key, data)
        return data

    def _recover(self) -> RegistryData:
        # Under the lock, so that no writer replaces the file meanwhile and only one reader
        # recovers. Another process may have recovered already: read the file again first.
        with self.lock():
            try:
                return self._read()
            except FileNotFoundError:
                problem = None
            except InvalidRegistryContent as error:
                problem = str(error)
            backups = list_backups(self.backups_dir)
            if problem is None and not backups:
                return RegistryData()

            try:
                aside = None if problem is None else set_aside(self.path, utc_now())
            except OSError as error:
                raise RegistryError(self._access_message("copy", error)) from error
            for backup in backups:
                try:
                    content = backup.read_bytes()
                    data = parse_registry(content)
                except (OSError, InvalidRegistryContent) as error:
                    logger.warning("Skipping the invalid backup %s: %s.", backup, error)
                    continue
                try:
                    write_atomically(self.path, content)
                    self._cached = _Cached(_FileKey.of(os.stat(self.path)), data)
                except OSError as error:
                    raise RegistryError(self._access_message("restore", error)) from error
                if aside is None:
                    logger.error(
                        "The registry %s is missing although backups exist; restored it from "
                        "the backup %s.",
                        self.path,
                        backup,
                    )
                else:
                    logger.error(
                        "The registry %s is invalid (%s); kept it as %s and restored the "
                        "backup %s.",
                        self.path,
                        problem,
                        aside,
                        backup,
                    )
                return data

            raise RegistryCorruptError(self._corrupt_message(problem, aside, len(backups)))

    def _corrupt_message(self, problem: str | None, aside: Path | None, backup_count: int) -> str:
        if backup_count:
            backups = f"none of the {backup_count} backups in {self.backups_dir} is valid"
            fix = (
                f"Repair one of the backups and copy it to {self.path}, or move {self.path} and "
                f"{self.backups_dir} away to start with an empty registry."
            )
        else:
            backups = f"there is no backup in {self.backups_dir}"
            fix = (
                f"Restore {self.path} from a copy of your own, or move it away to start with an "
                "empty registry."
            )
        if problem is None:
            return f"The registry {self.path} is missing and {backups}. {fix}"
        return (
            f"The registry {self.path} is invalid ({problem}) and {backups}, so ccm cannot tell "
            f"which pipelines it manages. A copy of the file is at {aside}. {fix}"
        )

    def _access_message(self, verb: str, error: OSError) -> str:
        # The failing path may be a backup or a temporary file rather than the registry itself.
        where = f" ({error.filename})" if error.filename and str(error.filename) != str(self.path) else ""
        return (
            f"Cannot {verb} the registry {self.path}{where}: {error.strerror}. Check that ccm "
            f"runs as the owner of {self.state_dir} and that the disk has free space."
        )
