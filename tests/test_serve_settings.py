"""Settings of ``ccm serve``: the systemd credential, webhook variables, and range checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccm.settings import (
    ENVIRONMENT_VARIABLES,
    WEBHOOK_VARIABLES,
    Settings,
    SettingsError,
    WebhookFormat,
    load_settings,
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for variable in [*ENVIRONMENT_VARIABLES, *WEBHOOK_VARIABLES, "CCM_CONFIG", "GITHUB_TOKEN", "GH_TOKEN", "CREDENTIALS_DIRECTORY"]:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("CCM_HOME", str(tmp_path / "state"))


def test_token_from_systemd_credential(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "github-token").write_text("ghp_from_credential\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    (tmp_path / "file-token").write_text("ghp_from_file\n")

    settings = load_settings({"github_token_file": str(tmp_path / "file-token")})
    token = settings.github_token()

    assert token is not None and token.get_secret_value() == "ghp_from_credential"
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_from_environment")
    token = settings.github_token()
    assert token is not None and token.get_secret_value() == "ghp_from_environment"


def test_token_falls_back_to_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "empty"))
    (tmp_path / "file-token").write_text("ghp_from_file\n")

    token = load_settings({"github_token_file": str(tmp_path / "file-token")}).github_token()

    assert token is not None and token.get_secret_value() == "ghp_from_file"


def test_webhook_variables_replace_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "ccm.yaml"
    config.write_text("webhooks:\n  - url: https://config.example/hook\n")
    monkeypatch.setenv("CCM_CONFIG", str(config))
    assert [target.url for target in load_settings().webhooks] == ["https://config.example/hook"]

    monkeypatch.setenv("CCM_WEBHOOK_URLS", "http://127.0.0.1:9000/a, http://127.0.0.1:9000/b")
    monkeypatch.setenv("CCM_SLACK_WEBHOOK_URLS", "https://hooks.example/T/B/x")
    targets = load_settings().webhooks

    assert [(target.url, target.format) for target in targets] == [
        ("http://127.0.0.1:9000/a", WebhookFormat.JSON),
        ("http://127.0.0.1:9000/b", WebhookFormat.JSON),
        ("https://hooks.example/T/B/x", WebhookFormat.SLACK),
    ]
    assert "T/B/x" not in repr(load_settings())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"webhooks": [{"url": "ftp://files.example/secret-path"}]}, "webhook URL ftp://files.example/... must be an http:// or https:// URL"),
        ({"backoff_initial_seconds": 600, "backoff_max_seconds": 60}, "backoff_max_seconds (60.0) must be at least backoff_initial_seconds (600.0)"),
        ({"api_port": 70000}, "api_port: Input should be less than or equal to 65535"),
        ({"resync_interval_seconds": 0}, "resync_interval_seconds: Input should be greater than 0"),
    ],
    ids=["webhook-scheme", "backoff-range", "api-port", "resync-interval"],
)
def test_settings_reject_bad_value(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(overrides)

    assert message in str(raised.value)
    assert "secret-path" not in str(raised.value)


def test_settings_read_serve_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCM_API_PORT", "9100")
    monkeypatch.setenv("CCM_RESYNC_INTERVAL_SECONDS", "15")
    monkeypatch.setenv("CCM_WATCH_DEBOUNCE_MS", "100")

    settings = load_settings()

    assert (settings.api_port, settings.resync_interval_seconds, settings.watch_debounce_ms) == (9100, 15.0, 100)
    assert Settings().api_host == "127.0.0.1"
