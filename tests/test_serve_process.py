"""``ccm serve`` as a real process: the watcher converges saves, deletions and directory outages.

The resync interval is an hour, so every change here is the watcher's doing.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccm.github.sandbox import RepositorySeed, SandboxSeed, SandboxServer, SandboxWorld, WorkflowSeed
from ccm.registry import Registry
from test_serve_harness import ServeProcess, spec_text, start_serve, wait_until, workflow_state

DEPLOY = ".github/workflows/deploy.yml"
REPOSITORIES = [f"acme/site-{index}" for index in range(5)]
SEED = SandboxSeed(
    repositories=[
        RepositorySeed(full_name=name, workflows=[WorkflowSeed(path=DEPLOY, state="disabled_manually")])
        for name in REPOSITORIES
    ],
)


@pytest.fixture
def world() -> Iterator[tuple[SandboxWorld, str]]:
    world = SandboxWorld.open(SEED)
    with SandboxServer(world) as server:
        yield world, server.url


@pytest.fixture
def serve(tmp_path: Path, world: tuple[SandboxWorld, str]) -> Iterator[ServeProcess]:
    """``ccm serve`` with site-0 to site-2 converged by its first pass."""
    specs_dir = tmp_path / "pipelines.d"
    specs_dir.mkdir()
    for name in REPOSITORIES[:3]:
        short = name.split("/")[1]
        (specs_dir / f"{short}.yaml").write_text(spec_text(short, name), encoding="utf-8")
    process = start_serve(tmp_path, world[1])
    yield process
    if process.process.poll() is None:
        process.stop()


def current_names(serve: ServeProcess) -> set[str]:
    return {p.name for p in Registry(serve.state_dir).load().pipelines.values() if p.is_current}


def test_serve_converges_new_spec_within_2s(serve: ServeProcess, world: tuple[SandboxWorld, str]) -> None:
    sandbox, _ = world
    assert workflow_state(sandbox, "acme/site-3") == "disabled_manually"

    (serve.specs_dir / "site-3.yaml").write_text(spec_text("site-3", "acme/site-3"), encoding="utf-8")
    wait_until(
        lambda: workflow_state(sandbox, "acme/site-3") == "active" and "site-3" in current_names(serve),
        2.0,
        "site-3 was not enabled and registered",
    )


def test_serve_rename_save_makes_one_pass(serve: ServeProcess, world: tuple[SandboxWorld, str]) -> None:
    sandbox, _ = world
    mark = serve.log.mark()

    temporary = serve.specs_dir / ".site-4.yaml.tmp"
    temporary.write_text(spec_text("site-4", "acme/site-4"), encoding="utf-8")
    os.replace(temporary, serve.specs_dir / "site-4.yaml")
    wait_until(lambda: workflow_state(sandbox, "acme/site-4") == "active", 2.0, "site-4 was not enabled")
    # Long enough for a second, wrongly triggered pass to start and finish.
    time.sleep(1.0)

    assert serve.log.count("spec files changed", mark) == 1
    assert serve.log.count("spec files changed (site-4.yaml)", mark) == 1
    assert serve.log.count("pass applied", mark) == 1


def test_serve_deleted_spec_tears_down(serve: ServeProcess, world: tuple[SandboxWorld, str]) -> None:
    sandbox, _ = world
    assert workflow_state(sandbox, "acme/site-1") == "active"

    (serve.specs_dir / "site-1.yaml").unlink()
    wait_until(lambda: "site-1" not in current_names(serve), 10.0, "site-1 was not torn down")

    assert workflow_state(sandbox, "acme/site-1") == "disabled_manually"
    assert current_names(serve) == {"site-0", "site-2"}
    audit = [json.loads(line) for line in (serve.state_dir / "audit.log").read_text().splitlines()]
    teardown = [record for record in audit if record["action"] == "deactivate"]
    assert [(r["pipeline_name"], r["actor"], r["result"]) for r in teardown] == [
        ("site-1", "file:(removed)", "applied")
    ]


def test_serve_invalid_save_keeps_pipeline(serve: ServeProcess, world: tuple[SandboxWorld, str]) -> None:
    sandbox, _ = world
    mark = serve.log.mark()

    broken = spec_text("site-0", "acme/site-0", enabled="maybe")
    (serve.specs_dir / "site-0.yaml").write_text(broken, encoding="utf-8")
    line = serve.log.wait_for("site-0.yaml:4", 3.0, start=mark)

    assert "ERROR" in line
    assert "left as they are until the file is fixed" in line
    assert "enabled" in line
    serve.log.wait_for("pass applied", 3.0, start=mark)
    assert workflow_state(sandbox, "acme/site-0") == "active"
    assert "site-0" in current_names(serve)


def test_serve_survives_directory_removal(serve: ServeProcess, world: tuple[SandboxWorld, str]) -> None:
    sandbox, _ = world
    saved = {path.name: path.read_text() for path in serve.specs_dir.iterdir()}
    mark = serve.log.mark()

    shutil.rmtree(serve.specs_dir)
    line = serve.log.wait_for(f"The spec directory {serve.specs_dir} does not exist", 3.0, start=mark)
    assert "ERROR" in line
    assert "converges again when it is back" in line
    assert current_names(serve) == {"site-0", "site-1", "site-2"}

    serve.specs_dir.mkdir()
    for name, text in saved.items():
        (serve.specs_dir / name).write_text(text, encoding="utf-8")
    (serve.specs_dir / "site-3.yaml").write_text(spec_text("site-3", "acme/site-3"), encoding="utf-8")
    wait_until(
        lambda: workflow_state(sandbox, "acme/site-3") == "active" and "site-3" in current_names(serve),
        3.0,
        "site-3 was not enabled and registered",
    )

    serve.log.wait_for(f"The spec directory {serve.specs_dir} is back", 1.0, start=mark)
    assert current_names(serve) == {"site-0", "site-1", "site-2", "site-3"}
    assert all(workflow_state(sandbox, name) == "active" for name in REPOSITORIES[:3])


def test_serve_ignores_subdirectory_removal(serve: ServeProcess) -> None:
    parked = serve.specs_dir / "disabled"
    parked.mkdir()
    (parked / "old.yaml").write_text(spec_text("old", "acme/site-4"), encoding="utf-8")
    mark = serve.log.mark()

    shutil.rmtree(parked)
    time.sleep(0.8)

    assert serve.log.count("spec files changed", mark) == 0
    assert current_names(serve) == {"site-0", "site-1", "site-2"}


def test_serve_sigterm_exits_cleanly(serve: ServeProcess) -> None:
    before = Registry(serve.state_dir).load().pipelines

    status = serve.stop()

    assert status == 0, serve.log.text()
    assert serve.exit_seconds is not None and serve.exit_seconds < 10
    assert Registry(serve.state_dir).load().pipelines == before
    assert not list(serve.state_dir.glob("pipelines.json.corrupt-*"))
    assert "ccm serve stopped" in serve.log.text()
