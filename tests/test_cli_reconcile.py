"""``ccm reconcile`` as a user runs it: exit codes and messages of the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CCM = str(Path(sys.executable).with_name("ccm"))
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_ccm(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"GITHUB_TOKEN", "GH_TOKEN", "CCM_CONFIG", "CCM_GITHUB", "CCM_GITHUB_TOKEN_FILE"}
    }
    environment["CCM_HOME"] = str(tmp_path / "state")
    environment["COLUMNS"] = "200"
    return subprocess.run([CCM, *arguments], env=environment, capture_output=True, text=True, timeout=60)


def test_no_token_names_both_ways(tmp_path: Path) -> None:
    done = run_ccm(tmp_path, "--pipelines-dir", str(EXAMPLES / "pipelines.d"), "reconcile", "--dry-run")

    assert done.returncode == 1
    assert "No GitHub token: set GITHUB_TOKEN or GH_TOKEN" in done.stderr
    assert "--github sandbox --sandbox-seed examples/sandbox.yaml" in done.stderr
    assert not (tmp_path / "state" / "pipelines.json").exists()


def test_sandbox_without_seed_is_explained(tmp_path: Path) -> None:
    done = run_ccm(tmp_path, "--github", "sandbox", "--pipelines-dir", str(EXAMPLES / "pipelines.d"), "reconcile")

    assert done.returncode == 1
    assert "The GitHub sandbox needs a seed: pass --sandbox-seed FILE" in done.stderr


def test_missing_pipelines_dir_is_error(tmp_path: Path) -> None:
    done = run_ccm(
        tmp_path, "--github", "sandbox", "--sandbox-seed", str(EXAMPLES / "sandbox.yaml"),
        "--pipelines-dir", str(tmp_path / "nowhere"), "reconcile",
    )

    assert done.returncode == 1
    assert str(tmp_path / "nowhere") in done.stderr
    assert not (tmp_path / "state" / "pipelines.json").exists()


def test_dry_run_table_says_sandbox(tmp_path: Path) -> None:
    done = run_ccm(
        tmp_path, "--github", "sandbox", "--sandbox-seed", str(EXAMPLES / "sandbox.yaml"),
        "--pipelines-dir", str(EXAMPLES / "pipelines.d"), "reconcile", "--dry-run",
    )

    assert done.returncode == 2
    assert "SANDBOX: simulated GitHub at http://127.0.0.1:" in done.stdout
    assert "Plan (dry run: nothing changed)" in done.stdout
    assert "enable_workflow" in done.stdout
    assert "10 changes pending" in done.stdout
    assert not (tmp_path / "state" / "pipelines.json").exists()


def test_rejected_token_fails_pass(tmp_path: Path) -> None:
    from ccm.github.sandbox import SandboxSeed, SandboxServer, SandboxWorld

    seed = SandboxSeed.model_validate(
        {"tokens": ["the-right-token"], "repositories": [{"full_name": "acme/web", "workflows": [{"path": ".github/workflows/deploy.yml"}]}]}
    )
    specs = tmp_path / "pipelines.d"
    specs.mkdir()
    (specs / "web.yaml").write_text("name: web\nrepository: acme/web\nworkflow_file: .github/workflows/deploy.yml\n")
    with SandboxServer(SandboxWorld.open(seed)) as server:
        environment = {**os.environ, "GITHUB_TOKEN": "a-wrong-token", "CCM_HOME": str(tmp_path / "state")}
        environment.pop("CCM_CONFIG", None)
        done = subprocess.run(
            [CCM, "--github", server.url, "--pipelines-dir", str(specs), "reconcile", "--dry-run"],
            env=environment, capture_output=True, text=True, timeout=60,
        )

    assert done.returncode == 1
    assert "GitHub request failed" in done.stderr
    assert "401" in done.stderr
    assert "a-wrong-token" not in done.stderr + done.stdout


def test_global_options_after_command(tmp_path: Path) -> None:
    done = run_ccm(
        tmp_path, "reconcile", "--dry-run", "--github", "sandbox", "--sandbox-seed", str(EXAMPLES / "sandbox.yaml"),
        "--pipelines-dir", str(EXAMPLES / "pipelines.d"), "-o", "json", "-v",
    )

    assert done.returncode == 2, done.stderr
    assert json.loads(done.stdout)["github"].startswith("SANDBOX")
    assert " INFO " in done.stderr
