"""Shared parts of the reliability suite: trial counts, virtual time and a fleet on the sandbox.

``make test`` runs every trial loop with its short count. ``make soak`` sets ``CCM_SOAK=1``,
which switches every loop to its long count. Loops add a line on what they did with
``report()``, and the lines are printed after the test summary.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from ccm.audit import AuditLog
from ccm.github.client import GitHubClient
from ccm.github.options import ClientOptions
from ccm.github.sandbox import Fault, SandboxSeed, SandboxServer, SandboxWorld
from ccm.pipeline import Pipeline
from ccm.reconcile.engine import Engine
from ccm.reconcile.passes import PassRequest, PassResult, run_pass
from ccm.registry import Registry, RegistryData
from ccm.settings import Settings

# The API tests of the parent folder share their harness (``test_api_harness``) and role table
# (``test_api_auth``); make them importable when this folder runs on its own.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SOAK = os.environ.get("CCM_SOAK", "") not in ("", "0")

# Short enough that a held request (a timeout fault) costs a quarter second per attempt.
READ_TIMEOUT_SECONDS = 0.25
MAX_ATTEMPTS = 4


_REPORT: list[str] = []


def report(line: str) -> None:
    """Add a line, such as the trial count of a loop, to the summary printed after the tests."""
    _REPORT.append(line)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _REPORT:
        terminalreporter.section(f"reliability trials ({'soak' if SOAK else 'short'} counts)")
        for line in _REPORT:
            terminalreporter.write_line(line)


def trials(short: int, long: int) -> int:
    """Return the trial count of a loop: ``long`` under ``make soak``, else ``short``."""
    return long if SOAK else short


class VirtualTime:
    """A clock that ``sleep`` moves forward instead of blocking, shared by the client's threads.

    Backoff and rate-limit waits then cost no wall time, and the clock still passes a rate
    limit's reset time after the client has waited for it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        with self._lock:
            return time.time() + self._offset

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds
            self.slept.append(seconds)


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout`` wall seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"the condition did not hold within {timeout:g} s"
        time.sleep(0.01)


def spec_text(name: str, repository: str, **extra: object) -> str:
    """Return one spec document for ``deploy.yml`` of ``repository``; ``extra`` adds fields."""
    lines = [f"name: {name}", f"repository: {repository}", "workflow_file: .github/workflows/deploy.yml"]
    for key, value in extra.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines += [f"  {inner}: {str(item).lower()}" for inner, item in value.items()]
        else:
            lines.append(f"{key}: {str(value).lower() if isinstance(value, bool) else value}")
    return "\n".join(lines) + "\n"


@dataclass
class Fleet:
    """A sandbox world served on loopback, a spec directory and an engine pointed at both."""

    world: SandboxWorld
    engine: Engine
    specs_dir: Path
    state_dir: Path
    time: VirtualTime
    fault_ids: list[int] = field(default_factory=list)

    def write(self, name: str, text: str) -> None:
        (self.specs_dir / f"{name}.yaml").write_text(text, encoding="utf-8")

    def remove(self, name: str) -> None:
        (self.specs_dir / f"{name}.yaml").unlink()

    def reconcile(self, **options: Any) -> PassResult:
        return run_pass(self.engine, PassRequest(**options))

    def inject(self, **fault: Any) -> int:
        fault_id = self.world.faults.add(Fault.model_validate(fault))
        self.fault_ids.append(fault_id)
        return fault_id

    def fired(self, fault_id: int) -> int:
        """Return how many requests the fault in force has replaced so far."""
        return next((a.fired for a in self.world.faults.active() if a.id == fault_id), 0)

    def clear_faults(self) -> None:
        """Remove every fault, and let the requests delayed by a timeout fault finish now."""
        self.world.faults.clear()
        self.world.faults.release_holds()
        self.world.faults.allow_holds()

    def current(self) -> dict[str, Pipeline]:
        return self.engine.registry.load().current_by_name()


def check_registry(state_dir: Path) -> RegistryData:
    """Load the registry with a fresh reader and check it: valid, never recovered, one record per name.

    ``RegistryData`` itself rejects two current records of one name, so a successful load
    already proves that. The check here repeats it to name the spec in the failure.
    """
    data = Registry(state_dir).load()
    assert not list(state_dir.glob("pipelines.json.corrupt-*")), "the registry was set aside as corrupt"
    names = [p.name for p in data.pipelines.values() if p.is_current]
    assert len(names) == len(set(names)), f"a spec has two current records: {sorted(names)}"
    return data


def build_engine(
    url: str, state_dir: Path, specs_dir: Path, clock: VirtualTime, token: str = "reliability-token"
) -> Engine:
    settings = Settings(state_dir=state_dir, pipelines_dir=specs_dir, github=url)
    options = ClientOptions(read_timeout_seconds=READ_TIMEOUT_SECONDS, max_attempts=MAX_ATTEMPTS)
    client = GitHubClient(
        url, SecretStr(token), state_dir=state_dir, options=options, sleep=clock.sleep, clock=clock.clock
    )
    return Engine(
        settings=settings,
        client=client,
        registry=Registry(state_dir),
        audit=AuditLog(state_dir / "audit.log"),
        github_label=f"SANDBOX at {url}",
    )


FleetFactory = Callable[[dict[str, Any]], Fleet]


@pytest.fixture
def make_fleet(tmp_path: Path) -> Iterator[FleetFactory]:
    """Yield a function that serves a seed and returns its fleet; everything stops at teardown."""
    servers: list[SandboxServer] = []
    engines: list[Engine] = []

    def make(seed: dict[str, Any]) -> Fleet:
        index = len(servers)
        world = SandboxWorld.open(SandboxSeed.model_validate(seed))
        server = SandboxServer(world).start()
        servers.append(server)
        specs_dir = tmp_path / f"pipelines-{index}.d"
        specs_dir.mkdir()
        state_dir = tmp_path / f"state-{index}"
        virtual = VirtualTime()
        engine = build_engine(server.url, state_dir, specs_dir, virtual)
        engines.append(engine)
        return Fleet(world, engine, specs_dir, state_dir, virtual)

    yield make
    for engine in engines:
        engine.client.close()
    for server in servers:
        server.stop()


# A soak trial loop runs for minutes, past the suite's per-test timeout of 120 s.
SOAK_TEST_TIMEOUT_SECONDS = 3600


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not SOAK:
        return
    here = Path(__file__).resolve().parent
    for item in items:
        if item.path.resolve().is_relative_to(here):
            item.add_marker(pytest.mark.timeout(SOAK_TEST_TIMEOUT_SECONDS))
