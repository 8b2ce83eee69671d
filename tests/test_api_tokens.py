"""Token store and ``ccm token``: hashed storage, mode 0600, roles, create/list/revoke."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ccm.tokens import TokenError, TokenRole, TokenStore

CCM = str(Path(sys.executable).with_name("ccm"))


def test_store_keeps_digest_only(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    token = store.create("vps-manager", TokenRole.API)

    content = (tmp_path / "tokens.json").read_text()
    assert token.startswith("ccm_")
    assert len(token) == 4 + 43
    assert token not in content
    assert hashlib.sha256(token.encode()).hexdigest() in content
    assert stat.S_IMODE(os.stat(tmp_path / "tokens.json").st_mode) == 0o600


def test_store_authenticates(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    token = store.create("reader", TokenRole.VIEWER)

    record = store.authenticate(token)
    assert record is not None
    assert (record.name, record.role) == ("reader", TokenRole.VIEWER)
    assert store.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert store.authenticate("not-a-ccm-token") is None


def test_store_sees_other_process(tmp_path: Path) -> None:
    server_side = TokenStore(tmp_path)
    token = TokenStore(tmp_path).create("ops", TokenRole.ADMIN)
    assert server_side.authenticate(token) is not None

    TokenStore(tmp_path).revoke("ops")
    assert server_side.authenticate(token) is None


def test_store_rejects_duplicate_name(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    store.create("ops", TokenRole.ADMIN)
    with pytest.raises(TokenError, match="A token named 'ops' exists already"):
        store.create("ops", TokenRole.VIEWER)


@pytest.mark.parametrize("name", ["", "-lead", "has space", "x" * 65, "../up"], ids=["empty", "dash", "space", "long", "path"])
def test_store_rejects_bad_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(TokenError, match="is not a valid token name"):
        TokenStore(tmp_path).create(name, TokenRole.API)
    assert not (tmp_path / "tokens.json").exists()


def test_store_invalid_file_fails_closed(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    token = store.create("ops", TokenRole.ADMIN)
    (tmp_path / "tokens.json").write_text("{ torn", encoding="utf-8")
    assert store.authenticate(token) is None


def _ccm(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = state_dir / "ccm.yaml"
    config.touch()
    return subprocess.run(
        [CCM, "--state-dir", str(state_dir), "token", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CCM_CONFIG": str(config)},
    )


def test_cli_create_list_revoke(tmp_path: Path) -> None:
    created = _ccm(tmp_path, "create", "--role", "api", "--name", "vps-manager")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("ccm_")

    listed = _ccm(tmp_path, "list", "-o", "json")
    [row] = json.loads(listed.stdout)
    assert row["name"] == "vps-manager"
    assert row["role"] == "api"
    assert row["hash_suffix"] == hashlib.sha256(token.encode()).hexdigest()[-4:]
    assert token not in listed.stdout

    revoked = _ccm(tmp_path, "revoke", "vps-manager")
    assert revoked.stdout == "Revoked the api token 'vps-manager'.\n"
    again = _ccm(tmp_path, "revoke", "vps-manager")
    assert again.returncode == 1
    assert "No token is named 'vps-manager'" in again.stderr
