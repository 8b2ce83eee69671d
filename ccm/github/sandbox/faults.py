"""Faults: failures injected into the sandbox's responses, in Python or over its admin API.

A *fault* matches requests by method, route kind and path regex (all optional), and fires for
``count`` requests or until it is removed. Latency faults add up and delay the request, which
then goes on. Of the other kinds, the oldest matching fault replaces the response:

- ``status``: an error status with GitHub's JSON error body.
- ``timeout``: hold the request for ``hold_seconds``, longer than a client's timeout, then process
  it normally, so a mutation may take effect after the client gave up (as on GitHub).
- ``connection_reset``: close the connection before a complete response.
- ``primary_rate_limit``: 403 with ``X-RateLimit-Remaining: 0`` and the window's reset time.
- ``secondary_rate_limit``: 403 or 429 with GitHub's secondary limit message, with or without
  ``Retry-After``.
"""

from __future__ import annotations

import enum
import itertools
import re
import threading

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ccm.github.sandbox.clock import MAX_SECONDS
from ccm.github.sandbox.routes import RouteKind

# The maximum time a timeout fault holds a request, in wall seconds. It is longer than ccm's
# client timeouts, and short enough that a forgotten fault does not block a server thread for hours.
MAX_HOLD_SECONDS = 600.0


class FaultKind(str, enum.Enum):
    LATENCY = "latency"
    STATUS = "status"
    TIMEOUT = "timeout"
    CONNECTION_RESET = "connection_reset"
    PRIMARY_RATE_LIMIT = "primary_rate_limit"
    SECONDARY_RATE_LIMIT = "secondary_rate_limit"


class Fault(BaseModel):
    """One injected failure and the requests it matches."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    kind: FaultKind
    method: str | None = Field(default=None, description="HTTP method; None matches any")
    route: RouteKind | None = Field(default=None, description="route kind; None matches any")
    path_pattern: str | None = Field(default=None, description="regex searched in the path")
    count: int | None = Field(default=None, ge=1, description="requests to fire on; None: until removed")
    latency_ms: int = Field(
        default=0, ge=0, le=int(MAX_HOLD_SECONDS * 1000), description="delay of a latency fault"
    )
    status: int | None = Field(default=None, description="status of a status or rate limit fault")
    message: str | None = Field(default=None, description="error message; default: GitHub's for the status")
    retry_after_seconds: int | None = Field(
        default=None, ge=0, le=int(MAX_SECONDS), description="Retry-After of a secondary limit"
    )
    hold_seconds: float = Field(
        default=30.0,
        gt=0,
        le=MAX_HOLD_SECONDS,
        description="wall seconds a timeout fault holds the request",
    )
    reset_after_seconds: int | None = Field(
        default=None,
        ge=0,
        le=int(MAX_SECONDS),
        description="X-RateLimit-Reset of a primary limit fault, from now; default: the window's",
    )

    @field_validator("method")
    @classmethod
    def _upper_method(cls, method: str | None) -> str | None:
        return method.upper() if method else None

    @field_validator("path_pattern")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(
                    f"path_pattern {pattern!r} is not a valid regular expression: {error}"
                ) from error
        return pattern

    @model_validator(mode="after")
    def _complete(self) -> Fault:
        if self.kind is FaultKind.LATENCY and self.latency_ms <= 0:
            raise ValueError("a latency fault needs latency_ms > 0")
        if self.kind is FaultKind.STATUS and self.status is None:
            raise ValueError("a status fault needs a status from 400 to 599")
        if self.kind is FaultKind.STATUS and self.status is not None and not 400 <= self.status <= 599:
            raise ValueError(f"a status fault needs a status from 400 to 599, not {self.status}")
        if self.kind in (
            FaultKind.PRIMARY_RATE_LIMIT,
            FaultKind.SECONDARY_RATE_LIMIT,
        ) and self.status not in (
            None,
            403,
            429,
        ):
            raise ValueError(f"a rate limit fault responds with 403 or 429, not {self.status}")
        return self

    @property
    def rate_limit_status(self) -> int:
        return self.status or 403

    def matches(self, method: str, route: RouteKind, path: str) -> bool:
        if self.method is not None and self.method != method.upper():
            return False
        if self.route is not None and self.route is not route:
            return False
        return self.path_pattern is None or re.search(self.path_pattern, path) is not None


class ActiveFault(BaseModel):
    """A fault in force, with its id and how many more requests it fires on."""

    model_config = ConfigDict(frozen=True)

    id: int
    fault: Fault
    remaining: int | None
    fired: int = 0


class FaultPlan(BaseModel):
    """The effect of the faults on one request: a delay, and the fault that replaces the response, if any."""

    model_config = ConfigDict(frozen=True)

    latency_seconds: float = 0.0
    fault: Fault | None = None


class FaultSet:
    """The faults in force; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._active: dict[int, ActiveFault] = {}
        self._released = threading.Event()

    def add(self, fault: Fault) -> int:
        """Put ``fault`` in force and return its id."""
        with self._lock:
            fault_id = next(self._ids)
            self._active[fault_id] = ActiveFault(id=fault_id, fault=fault, remaining=fault.count)
            return fault_id

    def remove(self, fault_id: int) -> bool:
        """Remove one fault; return whether it was in force."""
        with self._lock:
            return self._active.pop(fault_id, None) is not None

    def clear(self) -> None:
        with self._lock:
            self._active.clear()

    def active(self) -> list[ActiveFault]:
        with self._lock:
            return list(self._active.values())

    def plan(self, method: str, route: RouteKind, path: str) -> FaultPlan:
        """Return what the faults do to this request, using up one firing of each fault applied."""
        with self._lock:
            latency_ms = 0
            replacing: Fault | None = None
            for fault_id, active in list(self._active.items()):
                fault = active.fault
                if not fault.matches(method, route, path):
                    continue
                if fault.kind is FaultKind.LATENCY:
                    latency_ms += fault.latency_ms
                elif replacing is None:
                    replacing = fault
                else:
                    continue
                self._fire(fault_id, active)
            return FaultPlan(latency_seconds=latency_ms / 1000, fault=replacing)

    def _fire(self, fault_id: int, active: ActiveFault) -> None:
        remaining = None if active.remaining is None else active.remaining - 1
        if remaining == 0:
            del self._active[fault_id]
        else:
            self._active[fault_id] = active.model_copy(
                update={"remaining": remaining, "fired": active.fired + 1}
            )

    def hold(self, seconds: float) -> None:
        """Block for ``seconds`` of wall time, or until ``release_holds`` is called."""
        self._released.wait(seconds)

    def release_holds(self) -> None:
        """End every hold now and make later holds return at once; the server calls it on stop."""
        self._released.set()

    def allow_holds(self) -> None:
        """Let timeout faults hold requests again; the server calls it on start."""
        self._released.clear()
