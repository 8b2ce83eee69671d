"""The alert ledger: what was last seen of each pipeline, in ``<state_dir>/alerts.json``.

The ledger is saved before the alerts of a check are sent. A crash between the two loses those
alerts instead of sending them twice, which keeps the promise of at most one alert per run and
transition.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ccm.notifications.alerts import PipelineSeen
from ccm.pipeline import Timestamp
from ccm.registry.files import make_private_directory, write_atomically

logger = logging.getLogger(__name__)

LEDGER_FILE = "alerts.json"


class Ledger(BaseModel):
    """The ledger file's content."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    since: Timestamp = Field(description="when the ledger was started; older teardowns get no alert")
    pipelines: dict[str, PipelineSeen] = Field(default_factory=dict, description="by pipeline id")


class LedgerStore:
    """Reads and writes the ledger of one state directory."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LEDGER_FILE

    def load(self, now: datetime) -> Ledger:
        """Return the saved ledger, or a new one started at ``now``.

        An unreadable or invalid file is moved aside, and a new ledger starts. Pipelines already
        failing or in error then get one alert again.
        """
        try:
            content = self.path.read_bytes()
        except FileNotFoundError:
            return Ledger(since=now)
        try:
            return Ledger.model_validate_json(content)
        except ValidationError as error:
            aside = self.path.with_name(f"{LEDGER_FILE}.invalid-{now:%Y%m%dT%H%M%SZ}")
            self.path.replace(aside)
            logger.error(
                "The alert ledger %s is invalid (%s); moved it to %s and started a new one, so "
                "pipelines that are failing or in error are alerted once more.",
                self.path, error.errors()[0]["msg"], aside,
            )
            return Ledger(since=now)

    def save(self, ledger: Ledger) -> None:
        make_private_directory(self.path.parent)
        write_atomically(self.path, ledger.model_dump_json(indent=1).encode("utf-8") + b"\n")
