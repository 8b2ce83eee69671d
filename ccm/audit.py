"""The audit log: one JSON line per provision, teardown and GitHub mutation.

``<state_dir>/audit.log`` records who acted (a token name, or the spec file for changes made on
behalf of ``pipelines.d/``), what was done to which pipeline, and the result. Lines are appended
and flushed as they happen, so a killed process loses at most the line being written.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict


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


class AuditLog:
    """Append-only JSON-lines file, safe to share between threads of one process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, **fields: Any) -> AuditRecord:
        record = AuditRecord(time=datetime.now(UTC).isoformat(timespec="milliseconds"), **fields)
        line = json.dumps(record.model_dump(), separators=(",", ":")) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(descriptor, line.encode("utf-8"))
            finally:
                os.close(descriptor)
        return record

    def read(self) -> list[AuditRecord]:
        """Return every record; a torn last line (a killed writer) is skipped."""
        if not self.path.exists():
            return []
        records = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(AuditRecord.model_validate_json(line))
            except ValueError:
                continue
        return records
