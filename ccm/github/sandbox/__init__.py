"""The GitHub sandbox: a stateful simulator of the GitHub Actions REST endpoints ccm uses.

Words used across the package:

- *seed*: the starting state and settings of a world (``SandboxSeed``, YAML or built in code).
- *world*: the simulated GitHub (``SandboxWorld``). It contains repositories, workflows, runs, a
  clock, the rate limit, the faults in force and the request counters, and may persist to a file.
- *simulated time*: wall time sped up by ``time_scale``; runs progress on it, lazily.
- *fault*: an injected failure (``Fault``) that matches requests by method, route kind or path.
- *route kind*: which endpoint a request calls (``RouteKind``), the key of faults and counters.
- *server*: the world served over HTTP on loopback (``SandboxServer``).

Usage::

    world = SandboxWorld.open(load_seed(Path("sandbox.yaml")))
    with SandboxServer(world) as server:
        ...  # point a GitHub client at server.url with any token
"""

from ccm.github.sandbox.clock import Clock, ManualClock, SystemClock
from ccm.github.sandbox.counters import CounterSnapshot, KindCounts
from ccm.github.sandbox.faults import Fault, FaultKind
from ccm.github.sandbox.routes import RouteKind
from ccm.github.sandbox.seed import (
    HistorySeed,
    RateLimitSeed,
    RepositorySeed,
    RunDefaults,
    RunSeed,
    SandboxSeed,
    SeedError,
    WorkflowSeed,
    load_seed,
)
from ccm.github.sandbox.server import SandboxServer
from ccm.github.sandbox.store import StoreError
from ccm.github.sandbox.world import SandboxWorld

__all__ = [
    "Clock",
    "CounterSnapshot",
    "Fault",
    "FaultKind",
    "HistorySeed",
    "KindCounts",
    "ManualClock",
    "RateLimitSeed",
    "RepositorySeed",
    "RouteKind",
    "RunDefaults",
    "RunSeed",
    "SandboxSeed",
    "SandboxServer",
    "SandboxWorld",
    "SeedError",
    "StoreError",
    "SystemClock",
    "WorkflowSeed",
    "load_seed",
]
