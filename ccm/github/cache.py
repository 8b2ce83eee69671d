"""The conditional-request cache: the last ``ETag`` and parsed result of each GET.

GitHub does not count a ``304 Not Modified`` response against the rate limit, so a GET sent with
``If-None-Match: <last ETag>`` costs nothing when the data has not changed, and the client
reuses the result it parsed last time. Entries are keyed by the full request URL, in one file
per token (``<state_dir>/github-cache/<token hash>.json``), because two tokens may see different
data at the same URL. The file lets a new process, such as ``ccm reconcile`` run from cron, start
with the ETags of the last one.

Entries hold the trimmed data of the models (only the fields they keep), never raw bodies, so
100 repositories with 100 runs each stay within a few MB. A cache file that cannot be read is
discarded with a warning: losing it costs requests, never correctness.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from ccm import __version__
from ccm.atomicfile import replace_file

logger = logging.getLogger(__name__)

CACHE_DIRECTORY = "github-cache"


class CacheEntry(BaseModel):
    """The ``ETag`` of one GET response, its trimmed data, and its ``Link: rel="next"`` URL."""

    model_config = ConfigDict(frozen=True)

    etag: str
    data: Any
    next_url: str | None = None


class _CacheFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ccm_version: str
    entries: dict[str, CacheEntry]


def token_hash(token: SecretStr) -> str:
    """Return a short SHA-256 hex digest of the token, safe to use in a file name."""
    return hashlib.sha256(token.get_secret_value().encode()).hexdigest()[:24]


class ResponseCache:
    """The cache of one token, loaded on first use and written by ``save()``. Thread-safe.

    The least recently used entries beyond ``max_entries`` are dropped. Two processes saving
    the same file do not merge their entries: the last ``save()`` wins, which only costs the
    other process's ETags.
    """

    def __init__(self, state_dir: Path, token: SecretStr, *, max_entries: int) -> None:
        self.path = state_dir / CACHE_DIRECTORY / f"{token_hash(token)}.json"
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, CacheEntry] | None = None
        self._dirty = False

    def __repr__(self) -> str:
        return f"ResponseCache(path={str(self.path)!r})"

    def __len__(self) -> int:
        with self._lock:
            return len(self._loaded())

    def get(self, url: str) -> CacheEntry | None:
        with self._lock:
            entries = self._loaded()
            entry = entries.get(url)
            if entry is not None:
                entries.move_to_end(url)
            return entry

    def put(self, url: str, entry: CacheEntry) -> None:
        with self._lock:
            entries = self._loaded()
            entries[url] = entry
            entries.move_to_end(url)
            while len(entries) > self._max_entries:
                entries.popitem(last=False)
            self._dirty = True

    def save(self) -> None:
        """Write the cache atomically if it changed; a failed write is logged, not raised."""
        with self._lock:
            if not self._dirty or self._entries is None:
                return
            document = {
                "ccm_version": __version__,
                "entries": {url: entry.model_dump() for url, entry in self._entries.items()},
            }
            self._dirty = False

        try:
            self._write(json.dumps(document, separators=(",", ":")))
        except OSError as error:
            with self._lock:
                self._dirty = True
            logger.warning(
                "Cannot write the GitHub response cache %s: %s. The next process starts "
                "without these ETags and fetches fresh data.",
                self.path,
                error,
            )

    def _write(self, text: str) -> None:
        # Write a temporary file in the same directory, then rename it over the old one, so a
        # reader never finds half a file, even after a crash. Mode 0600, because entries
        # describe private repositories.
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        replace_file(self.path, text.encode("utf-8"), mode=0o600)

    def _loaded(self) -> OrderedDict[str, CacheEntry]:
        """Return the entries, reading the file on first use. The caller holds the lock."""
        if self._entries is None:
            self._entries = OrderedDict(self._read())
        return self._entries

    def discard(self, url: str) -> None:
        """Drop the entry of ``url``, such as one whose data no longer parses."""
        with self._lock:
            if self._loaded().pop(url, None) is not None:
                self._dirty = True

    def _read(self) -> dict[str, CacheEntry]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as error:
            logger.warning(
                "Cannot read the GitHub response cache %s: %s. Starting with an empty cache.",
                self.path,
                error,
            )
            return {}

        # UnicodeDecodeError and JSONDecodeError are ValueErrors. RecursionError comes from
        # JSON nested deeper than the parser's recursion allows.
        try:
            cache_file = _CacheFile.model_validate(json.loads(raw.decode("utf-8")))
        except (ValueError, ValidationError, RecursionError) as error:
            logger.warning(
                "Discarding the corrupt GitHub response cache %s (%s). Starting with an empty "
                "cache; it is rewritten on the next save.",
                self.path,
                type(error).__name__,
            )
            return {}
        if cache_file.ccm_version != __version__:
            # Entries hold model dumps of the writing version, which another version may not parse.
            logger.info(
                "Ignoring the GitHub response cache %s written by ccm %s.",
                self.path,
                cache_file.ccm_version,
            )
            return {}
        return cache_file.entries
