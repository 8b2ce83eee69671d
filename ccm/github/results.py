"""Results of the GitHub client besides models: listings, cancel and dispatch outcomes, counts."""

from __future__ import annotations

import enum
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

ItemT = TypeVar("ItemT", bound=BaseModel)


class Listing(BaseModel, Generic[ItemT]):
    """Items of a list endpoint across the pages read, with GitHub's total and whether more exist."""

    model_config = ConfigDict(frozen=True)

    items: tuple[ItemT, ...]
    total_count: int = Field(description="what GitHub reports as matching, read or not")
    not_modified: bool = Field(description="every page came from the cache after a 304 response")
    truncated: bool = Field(
        description="more items exist than were read: pages left unread or GitHub's result cap"
    )


class CancelOutcome(str, enum.Enum):
    """Result of a cancel request."""

    REQUESTED = "requested"  # 202: GitHub accepted the cancel; the run completes shortly
    ALREADY_COMPLETED = "already_completed"  # 409: the run had completed, nothing to cancel


class DispatchResult(BaseModel):
    """The run a workflow dispatch started, when GitHub returns it (GitHub Enterprise may not)."""

    model_config = ConfigDict(frozen=True)

    run_id: int | None = None
    html_url: str | None = None


class RequestCounts(BaseModel):
    """Requests this client sent, retries included, and how many received a 304 response."""

    model_config = ConfigDict(frozen=True)

    sent: int = 0
    not_modified: int = 0
    no_response: int = Field(default=0, description="sent, but no response came (transport errors)")
    by_method: dict[str, int] = Field(default_factory=dict)

    @property
    def counted(self) -> int:
        """Requests that count against the rate limit: every response except a 304."""
        return self.sent - self.not_modified - self.no_response

    def since(self, earlier: RequestCounts) -> RequestCounts:
        """Return the requests sent after ``earlier`` was taken, such as those of one pass."""
        methods = set(self.by_method) | set(earlier.by_method)
        return RequestCounts(
            sent=self.sent - earlier.sent,
            not_modified=self.not_modified - earlier.not_modified,
            no_response=self.no_response - earlier.no_response,
            by_method={
                method: self.by_method.get(method, 0) - earlier.by_method.get(method, 0)
                for method in sorted(methods)
            },
        )
