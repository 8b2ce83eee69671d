"""``ccm init``: the state directory, a commented config that documents every setting, the first token."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ccm.cli.init import CONFIG_TEMPLATE
from ccm.settings import ENVIRONMENT_VARIABLES, WEBHOOK_VARIABLES, Settings, load_settings
from ccm.tokens import TokenRole, TokenStore

CCM = str(Path(sys.executable).with_name("ccm"))
DEPLOY_DOC = Path(__file__).resolve().parent.parent / "docs" / "deploy.md"


def run_init(*arguments: str, home: Path) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CCM_")}
    environment["HOME"] = str(home)
    return subprocess.run([CCM, *arguments], capture_output=True, text=True, env=environment, timeout=30)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_creates_state(tmp_path: Path) -> None:
    state_dir = tmp_path / "var" / "ccm"

    result = run_init("init", "--state-dir", str(state_dir), home=tmp_path)

    assert result.returncode == 0, result.stderr
    assert mode(state_dir) == 0o700
    assert mode(state_dir / "ccm.yaml") == 0o600
    assert (state_dir / "pipelines.d").is_dir()
    token = result.stdout.strip()
    record = TokenStore(state_dir).authenticate(token)
    assert record is not None
    assert (record.name, record.role) == ("admin", TokenRole.ADMIN)
    assert "It is shown only now" in result.stderr
    assert f"Set CCM_HOME={state_dir}" in result.stderr


def test_init_config_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state_dir = tmp_path / "state"
    specs_dir = tmp_path / "etc" / "pipelines.d"

    result = run_init("--pipelines-dir", str(specs_dir), "init", "--state-dir", str(state_dir), home=tmp_path)

    assert result.returncode == 0, result.stderr
    assert specs_dir.is_dir()
    assert yaml.safe_load((state_dir / "ccm.yaml").read_text()) == {"pipelines_dir": str(specs_dir)}
    for variable in [*ENVIRONMENT_VARIABLES, *WEBHOOK_VARIABLES, "CCM_CONFIG"]:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("CCM_HOME", str(state_dir))
    assert load_settings().specs_dir == specs_dir


def test_init_again_keeps_everything(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    run_init("init", "--state-dir", str(state_dir), home=tmp_path)
    (state_dir / "ccm.yaml").write_text("api_port: 9000\n")
    state_dir.chmod(0o755)

    result = run_init("init", "--state-dir", str(state_dir), home=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert (state_dir / "ccm.yaml").read_text() == "api_port: 9000\n"
    assert len(TokenStore(state_dir).records()) == 1
    assert mode(state_dir) == 0o700
    assert f"Set the mode of the state directory {state_dir} to 0700 (it was 0755)." in result.stderr
    assert "Kept the 1 existing API token(s)" in result.stderr


@pytest.mark.parametrize("field", sorted(Settings.model_fields), ids=str)
def test_init_documents_every_setting(field: str) -> None:
    assert f"# {field}:" in CONFIG_TEMPLATE or f"{{{field}_line}}" in CONFIG_TEMPLATE
    assert f"`{field}`" in DEPLOY_DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize("variable", sorted([*ENVIRONMENT_VARIABLES, *WEBHOOK_VARIABLES]), ids=str)
def test_init_documents_every_variable(variable: str) -> None:
    assert variable in CONFIG_TEMPLATE
    assert f"`{variable}`" in DEPLOY_DOC.read_text(encoding="utf-8")
