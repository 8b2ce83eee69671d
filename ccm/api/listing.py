"""The pipeline listing of ``GET /api/pipelines``: filters, and a cache of the JSON bodies.

The registry returns the same snapshot object while ``pipelines.json`` is unchanged, so a body
rendered from one snapshot stays valid until the registry hands out another one. Rendering 1,000
records takes milliseconds; the cache makes a repeated listing cost a dictionary lookup.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

from pydantic import TypeAdapter

from ccm.pipeline import Pipeline, PipelineStatus
from ccm.registry import RegistryData

_PIPELINES_JSON = TypeAdapter(list[Pipeline])


class ListingQuery(NamedTuple):
    """The filters of one listing; all given filters must match."""

    status: PipelineStatus | None = None
    domain: str | None = None
    app: str | None = None
    include_deleted: bool = False

    def accepts(self, pipeline: Pipeline) -> bool:
        if not self.include_deleted and not pipeline.is_current:
            return False
        if self.status is not None and pipeline.status is not self.status:
            return False
        link = pipeline.vps_integration
        # Domain names are case-insensitive (RFC 4343); app names are compared as given.
        if self.domain is not None and (link.linked_domain or "").lower() != self.domain.lower():
            return False
        return self.app is None or link.linked_app == self.app


def render_listing(snapshot: RegistryData, query: ListingQuery) -> bytes:
    """Return the JSON array of the matching records, oldest first."""
    matching = sorted(
        (pipeline for pipeline in snapshot.pipelines.values() if query.accepts(pipeline)),
        key=lambda pipeline: (pipeline.created_at, pipeline.pipeline_id),
    )
    return _PIPELINES_JSON.dump_json(matching)


class ListingCache:
    """Rendered listings of the newest registry snapshot, by query; safe to share between threads."""

    def __init__(self, max_entries: int = 64) -> None:
        # Domain and app filters are free text, so the number of kept bodies is bounded.
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._snapshot: RegistryData | None = None
        self._bodies: dict[ListingQuery, bytes] = {}

    def body(self, snapshot: RegistryData, query: ListingQuery) -> bytes:
        with self._lock:
            if snapshot is not self._snapshot:
                self._snapshot = snapshot
                self._bodies = {}
            cached = self._bodies.get(query)
        if cached is not None:
            return cached

        body = render_listing(snapshot, query)
        with self._lock:
            if snapshot is self._snapshot and len(self._bodies) < self._max_entries:
                self._bodies[query] = body
        return body
