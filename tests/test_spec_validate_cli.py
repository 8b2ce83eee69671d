"""``ccm validate`` run as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

VALID = """\
name: {name}
repository: acme/{name}
workflow_file: .github/workflows/deploy.yml
"""


def run_ccm(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CCM_")}
    environment["CCM_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "ccm.cli.main", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=30,
        check=False,
    )


def test_validate_valid_directory(tmp_path: Path) -> None:
    directory = tmp_path / "specs"
    directory.mkdir()
    (directory / "a.yaml").write_text(
        VALID.format(name="api") + "---\n" + VALID.format(name="web"), encoding="utf-8"
    )
    (directory / "b.yml").write_text(VALID.format(name="topengineer.us"), encoding="utf-8")

    result = run_ccm("validate", str(directory), home=tmp_path)

    assert result.returncode == 0
    assert result.stdout == "3 specs in 2 files are valid\n"
    assert result.stderr == ""


def test_validate_prints_errors(tmp_path: Path) -> None:
    directory = tmp_path / "specs"
    directory.mkdir()
    text = VALID.format(name="api") + "config:\n  auto_deploy: maybe\n  environment: 1.0\n"
    (directory / "api.yaml").write_text(text, encoding="utf-8")
    (directory / "web.yaml").write_text(VALID.format(name="web"), encoding="utf-8")

    result = run_ccm("validate", str(directory), home=tmp_path)

    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "api.yaml:5: config.auto_deploy: Input should be a valid boolean. Write true or false.",
        "api.yaml:6: config.environment: Input should be a valid string. YAML reads 1.0 as a number, "
        'so write "1.0" in quotes to keep it as text.',
        "2 errors in 1 file",
    ]


def test_validate_configured_directory(tmp_path: Path) -> None:
    directory = tmp_path / "pipelines.d"
    directory.mkdir()
    (directory / "api.yaml").write_text(VALID.format(name="api"), encoding="utf-8")

    result = run_ccm("--state-dir", str(tmp_path), "validate", home=tmp_path / "unused")

    assert result.returncode == 0
    assert result.stdout == "1 spec in 1 file is valid\n"


def test_validate_missing_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"

    result = run_ccm("--pipelines-dir", str(missing), "validate", home=tmp_path)

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"The spec directory {missing} does not exist. Create it, or point --pipelines-dir "
        "(or CCM_PIPELINES_DIR) at the spec directory.\n"
    )


def test_validate_empty_directory(tmp_path: Path) -> None:
    result = run_ccm("validate", str(tmp_path), home=tmp_path)

    assert result.returncode == 0
    assert result.stdout == f"No specs in {tmp_path}.\n"


def test_validate_shows_values_as_text(tmp_path: Path) -> None:
    directory = tmp_path / "specs"
    directory.mkdir()
    text = VALID.format(name="api") + 'vps:\n  linked_domain: "\\e]0;pwned\\a\\e[31mRED"\n  linked_app: "[red]x[/red]"\n'
    (directory / "[bold]api.yaml").write_text(text, encoding="utf-8")

    result = run_ccm("validate", str(directory), home=tmp_path)

    assert result.returncode == 1
    assert "\x1b" not in result.stdout
    assert "\x07" not in result.stdout
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        "[bold]api.yaml:5: vps.linked_domain: '\\x1b]0;pwned\\x07\\x1b[31mRED' is not a valid domain name."
    )
    assert lines[1].startswith("[bold]api.yaml:6: vps.linked_app: '[red]x[/red]' is not a valid app name.")
