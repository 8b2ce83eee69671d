"""Log setup: readable lines on a terminal, one JSON object per line under systemd.

A JSON line carries ``time``, ``level``, ``logger`` and ``message``, then every extra field of
the record, such as the ``pass_id``, ``pipeline_id``, ``pipeline`` and ``repository`` that
``ccm.logcontext`` adds, so that journald or a log shipper can filter on them.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import IO

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Attributes that every LogRecord has; any other attribute came from ``extra``.
_STANDARD_ATTRIBUTES = frozenset(
    logging.LogRecord("", logging.INFO, "", 0, "", None, None).__dict__
) | {"message", "asctime", "taskName"}

# httpx logs every request with its full URL at INFO. The GitHub client logs its own requests,
# and webhook URLs are secrets, so httpx and httpcore are limited to warnings. watchfiles logs
# every batch of changes at INFO, and the scheduler logs the pass that follows.
_QUIET_LOGGERS = ("httpx", "httpcore", "watchfiles")


class LogFormat(str, enum.Enum):
    TEXT = "text"
    JSON = "json"


def default_log_format(environ: Mapping[str, str] = os.environ) -> LogFormat:
    """Return JSON under systemd, which sets ``INVOCATION_ID`` and ``JOURNAL_STREAM``, else text."""
    if environ.get("INVOCATION_ID") or environ.get("JOURNAL_STREAM"):
        return LogFormat.JSON
    return LogFormat.TEXT


class JsonLinesFormatter(logging.Formatter):
    """Format a record as one JSON object on one line, with its extra fields as keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # default=str keeps a line whole when an extra field is not JSON (a Path, an enum).
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_root_logger(level: int, log_format: LogFormat, stream: IO[str] = sys.stderr) -> None:
    """Send records at ``level`` and above to ``stream`` in ``log_format``, replacing other handlers."""
    handler = logging.StreamHandler(stream)
    if log_format is LogFormat.JSON:
        handler.setFormatter(JsonLinesFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
