"""Settings from the config file, variables and options: bad input stops ccm with one sentence."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ccm.settings import ENVIRONMENT_VARIABLES, WEBHOOK_VARIABLES, SettingsError, load_settings

CCM = str(Path(sys.executable).with_name("ccm"))
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SETTING_NAMES = (
    "state_dir, pipelines_dir, github, github_token_file, sandbox_seed, github_timeout_seconds, "
    "observe_concurrency, api_host, api_port, resync_interval_seconds, watch_debounce_ms, "
    "backoff_initial_seconds, backoff_max_seconds, webhooks, webhook_timeout_seconds"
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for variable in [*ENVIRONMENT_VARIABLES, *WEBHOOK_VARIABLES, "CCM_CONFIG"]:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("CCM_HOME", str(tmp_path))


def config_error(tmp_path: Path, content: bytes) -> str:
    (tmp_path / "ccm.yaml").write_bytes(content)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    return str(raised.value)


class TestConfigFile:
    def test_not_utf8(self, tmp_path: Path) -> None:
        message = config_error(tmp_path, b"\xff\xfe")

        assert message == f"The config file {tmp_path / 'ccm.yaml'} is not UTF-8 text (byte 0). Save it as UTF-8."

    def test_duplicate_key(self, tmp_path: Path) -> None:
        message = config_error(tmp_path, b"api_port: 8001\ngithub: sandbox\napi_port: 8002\n")

        assert message == (
            f"The config file {tmp_path / 'ccm.yaml'} is invalid at line 3: The key 'api_port' appears "
            "twice in this mapping, first on line 1. Remove one of them."
        )

    def test_unknown_key(self, tmp_path: Path) -> None:
        message = config_error(tmp_path, b"github: sandbox\ngithub_timeout: 5\n")

        assert message == (
            f"The config file {tmp_path / 'ccm.yaml'} has the unknown setting 'github_timeout' at line 2. "
            f"Did you mean github_timeout_seconds? The settings are {SETTING_NAMES}."
        )

    def test_invalid_value_names_file(self, tmp_path: Path) -> None:
        message = config_error(tmp_path, b"api_port: 99999\n")

        assert message == (
            "Invalid settings: api_port: Input should be less than or equal to 65535 "
            f"(set in the config file {tmp_path / 'ccm.yaml'})."
        )

    def test_invalid_yaml_names_line(self, tmp_path: Path) -> None:
        message = config_error(tmp_path, b"github: sandbox\napi_port: [8000\n")

        assert message.startswith(f"The config file {tmp_path / 'ccm.yaml'} cannot be read at line ")
        assert "Invalid YAML:" in message

    def test_two_documents(self, tmp_path: Path) -> None:
        message = config_error(tmp_path, b"github: sandbox\n---\napi_port: 8001\n")

        assert message == (
            f"The config file {tmp_path / 'ccm.yaml'} contains 2 YAML documents, but settings are one "
            "mapping. Remove the '---' line at line 3."
        )

    def test_not_mapping(self, tmp_path: Path) -> None:
        message = config_error(tmp_path, b"- github\n")

        assert message == f"The config file {tmp_path / 'ccm.yaml'} must contain a mapping of settings."

    def test_valid_file_read(self, tmp_path: Path) -> None:
        (tmp_path / "ccm.yaml").write_text("# comment only\ngithub: sandbox\napi_port: 8001\n")

        settings = load_settings()

        assert (settings.github, settings.api_port) == ("sandbox", 8001)

    def test_empty_file_read(self, tmp_path: Path) -> None:
        (tmp_path / "ccm.yaml").write_text("# nothing set\n")

        assert load_settings().api_port == 8000


class TestGitHubSetting:
    @pytest.mark.parametrize(
        "value",
        ["sandbox", "https://api.github.com", "https://ghe.example.com/api/v3", "http://127.0.0.1:8765"],
        ids=["sandbox", "github", "enterprise", "loopback"],
    )
    def test_accepted(self, value: str) -> None:
        assert load_settings({"github": value}).github == value

    @pytest.mark.parametrize(
        "value",
        ["sandbx", "", "ftp://x", "https://", "api.github.com", "Sandbox"],
        ids=["typo", "empty", "ftp", "no-host", "no-scheme", "capitalised"],
    )
    def test_rejected(self, value: str) -> None:
        with pytest.raises(SettingsError) as raised:
            load_settings({"github": value})

        assert str(raised.value) == (
            f"Invalid settings: github: {value!r} is neither 'sandbox' nor an http:// or https:// URL "
            "with a host. Give 'sandbox' for the built-in simulator, or the GitHub REST API base URL, "
            "such as https://api.github.com or https://HOST/api/v3 for GitHub Enterprise Server "
            "(set on the command line)."
        )

    def test_variable_named(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CCM_GITHUB", "sandbx")

        with pytest.raises(SettingsError, match=r"\(set by the environment variable CCM_GITHUB\)\.$"):
            load_settings()


def run_ccm(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CCM_") and key not in {"GITHUB_TOKEN", "GH_TOKEN"}
    }
    environment["CCM_HOME"] = str(tmp_path / "state")
    environment["COLUMNS"] = "200"
    return subprocess.run([CCM, *arguments], env=environment, capture_output=True, text=True, timeout=60)


def sandbox_reconcile(tmp_path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return run_ccm(
        tmp_path, "--github", "sandbox", "--sandbox-seed", str(EXAMPLES / "sandbox.yaml"),
        "--pipelines-dir", str(EXAMPLES / "pipelines.d"), *options, "reconcile", "--dry-run",
    )


class TestCommandLine:
    def test_bad_github_fails_fast(self, tmp_path: Path) -> None:
        started = time.monotonic()
        done = run_ccm(tmp_path, "--github", "sandbx", "--pipelines-dir", str(EXAMPLES / "pipelines.d"),
                       "reconcile", "--dry-run")

        assert done.returncode == 1
        assert done.stderr.startswith("Invalid settings: github: 'sandbx' is neither 'sandbox' nor")
        assert "Traceback" not in done.stderr
        assert time.monotonic() - started < 5

    def test_config_not_utf8(self, tmp_path: Path) -> None:
        (tmp_path / "state").mkdir()
        (tmp_path / "state" / "ccm.yaml").write_bytes(b"\xff\xfe")

        done = run_ccm(tmp_path, "pipelines")

        assert done.returncode == 1
        assert done.stderr == (
            f"The config file {tmp_path / 'state' / 'ccm.yaml'} is not UTF-8 text (byte 0). Save it as UTF-8.\n"
        )

    @pytest.mark.parametrize(
        ("content", "problem"),
        [
            (b'{"format_version": 1', "is not valid JSON (Expecting ',' delimiter at line 1 column 21)"),
            (b"\x9c\x00\xff garbage", "is not valid JSON (byte 0 is not UTF-8)"),
            (b'{"format_version": 1}', "is JSON but not a world this version of ccm can read "
                                       "(random_seed: Field required; 5 more problems)"),
        ],
        ids=["invalid-json", "not-utf8", "wrong-shape"],
    )
    def test_corrupt_sandbox_world(self, tmp_path: Path, content: bytes, problem: str) -> None:
        world = tmp_path / "state" / "sandbox-world.json"
        world.parent.mkdir()
        world.write_bytes(content)

        done = sandbox_reconcile(tmp_path)

        assert done.returncode == 1
        assert done.stderr == f"The sandbox world {world} {problem}. Delete it to start again from the seed.\n"

    def test_missing_seed_names_options(self, tmp_path: Path) -> None:
        done = run_ccm(tmp_path, "--github", "sandbox", "--sandbox-seed", str(tmp_path / "gone.yaml"),
                       "--pipelines-dir", str(EXAMPLES / "pipelines.d"), "reconcile", "--dry-run")

        assert done.returncode == 1
        assert done.stderr == (
            f"Cannot read the sandbox seed {tmp_path / 'gone.yaml'}: No such file or directory. Check the "
            "seed path, set by --sandbox-seed, CCM_SANDBOX_SEED or sandbox_seed in the config file.\n"
        )

    def test_corrupt_cache_recovered(self, tmp_path: Path) -> None:
        first = sandbox_reconcile(tmp_path)
        assert first.returncode == 2, first.stderr
        cache_files = list((tmp_path / "state" / "github-cache").glob("*.json"))
        assert len(cache_files) == 1
        cache_files[0].write_bytes(os.urandom(20) + b"\xff")

        second = sandbox_reconcile(tmp_path)

        assert second.returncode == 2, second.stderr
        assert "Traceback" not in second.stderr
        assert f"Discarding the corrupt GitHub response cache {cache_files[0]} (" in second.stderr
        assert "Plan (dry run: nothing changed)" in second.stdout
