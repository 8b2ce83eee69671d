"""Options of the GitHub client: timeouts, retries, rate-limit waits, paging and caching."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ClientOptions(BaseModel):
    """Timeouts, retries, rate-limit waits and paging of the client."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    connect_timeout_seconds: float = Field(default=5.0, gt=0, description="TCP and TLS setup")
    read_timeout_seconds: float = Field(
        default=10.0, gt=0, description="between bytes of a response; list calls return well within it"
    )
    write_timeout_seconds: float = Field(default=10.0, gt=0, description="between bytes sent")
    pool_timeout_seconds: float = Field(
        default=10.0, gt=0, description="waiting for a free connection from the pool"
    )
    max_connections: int = Field(
        default=16, ge=1, description="open connections; observation runs 16 repositories at once"
    )
    max_attempts: int = Field(
        default=4, ge=1, description="tries of one request that is safe to repeat, the first included"
    )
    backoff_initial_seconds: float = Field(
        default=1.0, ge=0, description="first wait before a retry; doubles on each retry, plus jitter"
    )
    backoff_max_seconds: float = Field(default=30.0, ge=0, description="maximum wait between retries")
    max_rate_limit_wait_seconds: float = Field(
        default=300.0,
        ge=0,
        description="maximum wait for a rate limit; a longer one raises RateLimited, so a pass "
        "never hangs for most of an hour",
    )
    pacing_threshold: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="fraction of the primary limit left below which requests are spaced out",
    )
    max_pacing_delay_seconds: float = Field(
        default=10.0, ge=0, description="maximum pause that pacing puts before one request"
    )
    max_workflow_pages: int = Field(
        default=10, ge=1, description="pages of 100 workflows that list_workflows reads at most"
    )
    cache_max_entries: int = Field(
        default=20_000,
        ge=1,
        description="cached GET responses kept; each run list page is one entry of about 40 kB",
    )
