"""The audit log: one JSON line per provision, teardown and GitHub mutation.

``<state_dir>/audit.log`` records who acted (a token name, or the spec file for changes made on
behalf of ``pipelines.d/``), what was done to which pipeline, and the result. Lines are appended
and flushed as they happen, so a killed process loses at most the line being written.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


logger = logging.getLogger(__name__)


class AuditRecord(BaseModel):
    """One audit line."""

    model_config = ConfigDict(frozen=True)

    time: str
    pass_id: str
    actor: str
    action: str
    pipeline_id: str | None
    pipeline_name: str
    repository: str
    result: str
    reason: str = ""
    before: str = ""
    after: str = ""
    error: str | None = None


class AuditQuery(BaseModel):
    """A filter over audit records: a record matches when it matches every field that is set."""

    model_config = ConfigDict(frozen=True)

    pipeline: str | None = Field(default=None, description="a pipeline id or a pipeline name")
    actor: str | None = Field(default=None, description="a token name, or file:NAME.yaml")
    action: str | None = Field(default=None, description="an action kind, such as enable_workflow")
    since: datetime | None = Field(default=None, description="timezone-aware; records at or after it")
    limit: int | None = Field(default=None, ge=1, description="the newest this many of the matches")

    def matches(self, record: AuditRecord) -> bool:
        if self.pipeline is not None and self.pipeline not in (record.pipeline_id, record.pipeline_name):
            return False
        if self.actor is not None and record.actor != self.actor:
            return False
        if self.action is not None and record.action != self.action:
            return False
        return self.since is None or datetime.fromisoformat(record.time) >= self.since


class AuditLog:
    """Append-only JSON-lines file, safe to share between threads of one process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, **fields: Any) -> AuditRecord:
        record = AuditRecord(time=datetime.now(UTC).isoformat(timespec="milliseconds"), **fields)
        line = json.dumps(record.model_dump(), separators=(",", ":")) + "\n"
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(descriptor, line.encode("utf-8"))
                finally:
                    os.close(descriptor)
            except OSError as error:
                # The change was made, so failing here would only hide it: the record goes to
                # the process log instead, and the pass goes on.
                logger.error(
                    "Cannot write the audit log %s (%s); the record is: %s",
                    self.path,
                    error.strerror,
                    line.rstrip(),
                )
        return record

    def read(self) -> list[AuditRecord]:
        """Return every record; a torn last line (a killed writer) is skipped."""
        return list(self._records())

    def query(self, query: AuditQuery) -> list[AuditRecord]:
        """Return the records that match, oldest first, reading the file line by line."""
        matching: deque[AuditRecord] = deque(maxlen=query.limit)
        matching.extend(record for record in self._records() if query.matches(record))
        return list(matching)

    def _records(self) -> Iterator[AuditRecord]:
        try:
            lines = self.path.open(encoding="utf-8")
        except FileNotFoundError:
            return
        with lines:
            for line in lines:
                try:
                    yield AuditRecord.model_validate_json(line)
                except ValueError:
                    continue
