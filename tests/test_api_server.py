"""``ccm api`` as a real process: serves the sandbox-backed API on loopback, stops on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx

CCM = str(Path(sys.executable).with_name("ccm"))
SEED = """\
repositories:
  - full_name: acme/site
    workflows:
      - {path: .github/workflows/deploy.yml}
"""


def test_cli_serves_until_sigterm(tmp_path: Path) -> None:
    (tmp_path / "seed.yaml").write_text(SEED, encoding="utf-8")
    (tmp_path / "pipelines.d").mkdir()
    config = tmp_path / "ccm.yaml"
    config.touch()
    env = {**os.environ, "CCM_CONFIG": str(config), "CCM_HOME": str(tmp_path / "state")}
    token = subprocess.run(
        [CCM, "token", "create", "--role", "api", "--name", "vps"], capture_output=True, text=True, env=env, check=True
    ).stdout.strip()

    command = [
        CCM, "--github", "sandbox", "--sandbox-seed", str(tmp_path / "seed.yaml"),
        "--pipelines-dir", str(tmp_path / "pipelines.d"), "api", "--port", "0",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        match = re.match(r"ccm API serving (http://127\.0\.0\.1:\d+) \(GitHub: SANDBOX", banner)
        assert match, banner
        url = match.group(1)

        body = {"repo": "acme/site", "workflow_file": ".github/workflows/deploy.yml"}
        created = httpx.post(f"{url}/api/pipelines/provision", json=body, headers={"CCM-Token": token}, timeout=30)
        assert created.status_code == 201, created.text
        assert (tmp_path / "pipelines.d" / "site.yaml").exists()
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)

    assert process.returncode == 0, stderr
    assert stdout.endswith("ccm API stopped.\n")


def test_cli_warns_without_tokens(tmp_path: Path) -> None:
    (tmp_path / "seed.yaml").write_text(SEED, encoding="utf-8")
    config = tmp_path / "ccm.yaml"
    config.touch()
    env = {**os.environ, "CCM_CONFIG": str(config), "CCM_HOME": str(tmp_path / "state")}
    command = [CCM, "--github", "sandbox", "--sandbox-seed", str(tmp_path / "seed.yaml"), "api", "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        process.stdout.readline()
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "No API token exists yet" in " ".join(stderr.split())
