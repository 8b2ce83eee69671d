"""Log context: every line of a pass carries the pass id, and pipeline lines carry its identity."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any


class ContextAdapter(logging.LoggerAdapter[logging.Logger]):
    """Prefixes messages with ``key=value`` pairs and passes them as ``extra`` for JSON logs."""

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        context = {key: value for key, value in (self.extra or {}).items() if value is not None}
        prefix = " ".join(f"{key}={value}" for key, value in context.items())
        kwargs["extra"] = {**context, **kwargs.get("extra", {})}
        return (f"[{prefix}] {msg}" if prefix else msg), kwargs


def pipeline_logger(
    logger: logging.Logger, pass_id: str, pipeline_id: str | None, name: str, repository: str
) -> ContextAdapter:
    return ContextAdapter(
        logger,
        {"pass_id": pass_id, "pipeline_id": pipeline_id, "pipeline": name, "repository": repository},
    )
