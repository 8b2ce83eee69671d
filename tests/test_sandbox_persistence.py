"""Persisted sandbox worlds and the ``ccm sandbox`` command in a separate process."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ccm.github.sandbox import ManualClock, SandboxSeed, SandboxServer, SandboxWorld, StoreError
from ccm.github.sandbox.world import RunFilter

REPOSITORY = "acme/app"
SEED_YAML = """\
repositories:
  - full_name: acme/app
    branches: [main, production]
    workflows:
      - {path: .github/workflows/deploy.yml, name: Deploy}
      - {path: .github/workflows/ci.yml}
    runs:
      - {workflow: .github/workflows/deploy.yml, conclusion: success, started_seconds_ago: 600,
         duration_seconds: 60}
"""
# Runs the command module as `ccm sandbox` would, without depending on the registered command list.
CLI = (
    "import argparse, sys\n"
    "from ccm.cli import sandbox\n"
    "parser = argparse.ArgumentParser(prog='ccm')\n"
    "sandbox.register(parser.add_subparsers())\n"
    "args = parser.parse_args(sys.argv[1:])\n"
    "sys.exit(args.handler(args))\n"
)


def seed_file(tmp_path: Path) -> Path:
    path = tmp_path / "seed.yaml"
    path.write_text(SEED_YAML, encoding="utf-8")
    return path


def seed() -> SandboxSeed:
    import yaml

    return SandboxSeed.model_validate(yaml.safe_load(SEED_YAML))


def test_world_resumes_from_file(tmp_path: Path) -> None:
    clock = ManualClock()
    path = tmp_path / "world.json"
    first = SandboxWorld.open(seed(), path, clock=clock)
    first.disable_workflow(REPOSITORY, "ci.yml")
    run_id = first.dispatch(REPOSITORY, "deploy.yml", "production", None).run.id
    clock.advance(10)

    second = SandboxWorld.open(seed(), path, clock=clock)

    assert second.workflow(REPOSITORY, "ci.yml").state.value == "disabled_manually"
    assert second.run(REPOSITORY, run_id).run.branch == "production"
    assert second.run(REPOSITORY, run_id).view == first.run(REPOSITORY, run_id).view
    assert second.now() == first.now()


def test_shared_file_sees_other_world(tmp_path: Path) -> None:
    clock = ManualClock()
    path = tmp_path / "world.json"
    first = SandboxWorld.open(seed(), path, clock=clock)
    second = SandboxWorld.open(seed(), path, clock=clock)

    first.disable_workflow(REPOSITORY, "deploy.yml")
    second.dispatch(REPOSITORY, "ci.yml", "main", None)

    assert second.workflow(REPOSITORY, "deploy.yml").state.value == "disabled_manually"
    assert len(first.runs(REPOSITORY, RunFilter())) == 2


def test_rescaled_time_continues(tmp_path: Path) -> None:
    clock = ManualClock()
    path = tmp_path / "world.json"
    first = SandboxWorld.open(seed(), path, clock=clock)
    clock.advance(100)
    at_switch = first.now()

    faster = SandboxWorld.open(seed().model_copy(update={"time_scale": 60}), path, clock=clock)
    clock.advance(1)

    assert faster.now() == at_switch + 60


def test_rate_limit_usage_persisted(tmp_path: Path) -> None:
    clock = ManualClock()
    path = tmp_path / "world.json"
    world = SandboxWorld.open(seed(), path, clock=clock)
    with SandboxServer(world) as server:
        httpx.get(f"{server.url}/repos/acme/app", headers={"Authorization": "Bearer t"})

    resumed = SandboxWorld.open(seed(), path, clock=clock)
    with SandboxServer(resumed) as server:
        response = httpx.get(f"{server.url}/repos/acme/app", headers={"Authorization": "Bearer t"})

    assert response.headers["X-RateLimit-Used"] == "2"
    assert '"t"' not in path.read_text()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        pytest.param(
            b'{"format_version": 1}',
            "is JSON but not a world this version of ccm can read (random_seed: Field required; 5 more problems)",
            id="missing-fields",
        ),
        pytest.param(
            b"[]",
            "is JSON but not a world this version of ccm can read (the top level: Input should be a valid "
            "dictionary or instance of WorldState)",
            id="list",
        ),
        pytest.param(b"{not json", "is not valid JSON (Expecting property name enclosed in double quotes "
                     "at line 1 column 2)", id="invalid-json"),
        pytest.param(b"", "is not valid JSON (Expecting value at line 1 column 1)", id="empty"),
        pytest.param(b"\xff\xfe\x00\x81", "is not valid JSON (byte 0 is not UTF-8)", id="not-utf8"),
        pytest.param(b"[" * 100_000, "is not valid JSON (arrays or objects nest too deep)", id="nested-too-deep"),
    ],
)
def test_unreadable_world_file(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "world.json"
    path.write_bytes(content)

    with pytest.raises(StoreError) as raised:
        SandboxWorld.open(seed(), path)

    assert str(raised.value) == f"The sandbox world {path} {problem}. Delete it to start again from the seed."


@pytest.fixture
def cli_sandbox(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CLI,
            "sandbox",
            "--seed",
            str(seed_file(tmp_path)),
            "--port",
            "0",
            "--persist",
            str(tmp_path / "world.json"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"GitHub sandbox serving (http://127\.0\.0\.1:\d+) \(1 repositories", line)
        assert match, (
            f"unexpected first line {line!r}; stderr: {process.stderr.read() if process.stderr else ''}"
        )
        yield process, match.group(1)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_cli_serves_until_interrupt(cli_sandbox: tuple[subprocess.Popen[str], str]) -> None:
    process, url = cli_sandbox
    headers = {"Authorization": "Bearer t"}

    httpx.post(f"{url}/_sandbox/faults", json={"kind": "status", "status": 503, "count": 1})
    faulted = httpx.get(f"{url}/repos/acme/app/actions/workflows", headers=headers)
    workflows = httpx.get(f"{url}/repos/acme/app/actions/workflows", headers=headers)
    counters = httpx.get(f"{url}/_sandbox/counters").json()
    process.send_signal(signal.SIGINT)
    stdout, _ = process.communicate(timeout=15)

    assert faulted.status_code == 503
    assert workflows.json()["total_count"] == 2
    assert counters["by_kind"]["list_workflows"]["errors"] == 1
    assert process.returncode == 0
    assert "GitHub sandbox stopped." in stdout


def test_cli_etag_matches_in_process(cli_sandbox: tuple[subprocess.Popen[str], str], tmp_path: Path) -> None:
    _, url = cli_sandbox
    headers = {"Authorization": "Bearer t"}
    world = SandboxWorld.open(seed(), tmp_path / "world.json")

    with SandboxServer(world) as server:
        local = httpx.get(f"{server.url}/repos/acme/app/actions/runs", headers=headers)
    remote = httpx.get(
        f"{url}/repos/acme/app/actions/runs", headers={**headers, "If-None-Match": local.headers["ETag"]}
    )

    assert local.status_code == 200
    assert remote.status_code == 304


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(
            ["--seed", "missing.yaml"],
            "Cannot read the sandbox seed missing.yaml: No such file or directory. Check the --seed path.",
            id="missing-seed",
        ),
        pytest.param(
            ["--time-scale", "0"], "--time-scale must be greater than 0 and at most 1000000, not 0.0.", id="zero-scale"
        ),
        pytest.param(
            ["--time-scale", "nan"], "--time-scale must be greater than 0 and at most 1000000, not nan.", id="nan-scale"
        ),
        pytest.param(
            ["--port", "99999"],
            "--port 99999 is not a TCP port; give 0 to 65535 (0 picks a free one).",
            id="port-too-high",
        ),
        pytest.param(
            ["--port", "-1"], "--port -1 is not a TCP port; give 0 to 65535 (0 picks a free one).", id="negative-port"
        ),
    ],
)
def test_cli_rejects_bad_input(tmp_path: Path, arguments: list[str], message: str) -> None:
    command = [
        sys.executable,
        "-c",
        CLI,
        "sandbox",
        "--seed",
        str(seed_file(tmp_path)),
        "--port",
        "0",
        *arguments,
    ]

    result = subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=tmp_path)

    assert result.returncode == 2
    assert message in result.stderr
