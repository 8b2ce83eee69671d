"""The systemd unit: ``systemd-analyze verify`` accepts it without a warning, and it is hardened."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parent.parent / "systemd" / "ccm.service"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
CCM = Path(sys.executable).with_name("ccm")


def unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed, so the unit cannot be verified")
def test_systemd_unit_verifies_cleanly(tmp_path: Path) -> None:
    # verify checks that ExecStart exists, so the copy points at this environment's ccm.
    text = UNIT.read_text(encoding="utf-8").replace("ExecStart=/opt/ccm/bin/ccm", f"ExecStart={CCM}")
    assert f"ExecStart={CCM} serve" in text
    copy = tmp_path / "ccm.service"
    copy.write_text(text, encoding="utf-8")

    result = subprocess.run(
        [str(SYSTEMD_ANALYZE), "verify", str(copy)], capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == ""


def test_systemd_unit_hardening() -> None:
    settings = unit_settings()

    expected = {
        "User": "ccm",
        "StateDirectory": "ccm",
        "ProtectSystem": "strict",
        "ProtectHome": "true",
        "PrivateTmp": "true",
        "NoNewPrivileges": "true",
        "ReadWritePaths": "/etc/ccm/pipelines.d",
        "Restart": "on-failure",
        "KillSignal": "SIGTERM",
        "TimeoutStopSec": "15",
        "LoadCredential": "github-token:/etc/ccm/github-token",
        "CapabilityBoundingSet": "",
    }
    for key, value in expected.items():
        assert settings.get(key) == [value], key
    assert settings["Environment"] == ["CCM_HOME=/var/lib/ccm", "CCM_PIPELINES_DIR=/etc/ccm/pipelines.d"]
