"""``ccm audit``: filters over a real audit log, in table and JSON output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ccm.audit import AuditLog

CCM = str(Path(sys.executable).with_name("ccm"))

RECORDS = [
    {"time": "2026-01-30T10:00:00.000+00:00", "actor": "file:site.yaml", "action": "register", "pipeline_id": "pipe_aaaaaaaaaaaa", "pipeline_name": "site"},
    {"time": "2026-01-30T10:00:01.000+00:00", "actor": "file:site.yaml", "action": "enable_workflow", "pipeline_id": "pipe_aaaaaaaaaaaa", "pipeline_name": "site"},
    {"time": "2026-01-31T09:00:00.000+00:00", "actor": "vps-manager", "action": "register", "pipeline_id": "pipe_bbbbbbbbbbbb", "pipeline_name": "blog"},
    {"time": "2026-01-31T09:30:00.000+00:00", "actor": "vps-manager", "action": "trigger", "pipeline_id": "pipe_bbbbbbbbbbbb", "pipeline_name": "blog"},
    {"time": "2026-02-01T08:00:00.000+00:00", "actor": "vps-manager", "action": "deactivate", "pipeline_id": "pipe_aaaaaaaaaaaa", "pipeline_name": "site"},
]


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    log = tmp_path / "audit.log"
    lines = []
    for index, fields in enumerate(RECORDS):
        record = {
            "pass_id": f"p{index}", "repository": f"acme/{fields['pipeline_name']}", "result": "applied",
            "reason": "", "before": "", "after": "", "error": None, **fields,
        }
        lines.append(json.dumps(record))
    log.write_text("\n".join(lines) + "\n{\"torn\n", encoding="utf-8")
    return tmp_path


def audit(state_dir: Path, *arguments: str, columns: int = 200) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CCM_")}
    environment["CCM_HOME"] = str(state_dir)
    environment["COLUMNS"] = str(columns)
    return subprocess.run([CCM, "audit", *arguments], capture_output=True, text=True, env=environment, timeout=30)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ([], ["p0", "p1", "p2", "p3", "p4"]),
        (["--pipeline", "pipe_aaaaaaaaaaaa"], ["p0", "p1", "p4"]),
        (["--pipeline", "blog"], ["p2", "p3"]),
        (["--actor", "vps-manager"], ["p2", "p3", "p4"]),
        (["--action", "register"], ["p0", "p2"]),
        (["--since", "2026-01-31"], ["p2", "p3", "p4"]),
        (["--since", "2026-01-31T09:30:00Z"], ["p3", "p4"]),
        (["--since", "2026-01-31T10:30:00+01:00"], ["p3", "p4"]),
        (["--limit", "2"], ["p3", "p4"]),
        (["--actor", "vps-manager", "--pipeline", "site", "--limit", "5"], ["p4"]),
        (["--actor", "nobody"], []),
    ],
    ids=["all", "pipeline-id", "pipeline-name", "actor", "action", "since-date", "since-utc", "since-offset", "limit", "combined", "no-match"],
)
def test_audit_filters(state_dir: Path, arguments: list[str], expected: list[str]) -> None:
    result = audit(state_dir, *arguments, "-o", "json")

    assert result.returncode == 0, result.stderr
    assert [record["pass_id"] for record in json.loads(result.stdout)] == expected


def test_audit_table_shows_records(state_dir: Path) -> None:
    result = audit(state_dir, "--pipeline", "blog")

    assert result.returncode == 0, result.stderr
    assert "2 audit records" in result.stdout
    assert "2026-01-31T09:30:00.000Z" in result.stdout
    assert "trigger" in result.stdout


@pytest.mark.parametrize("columns", [80, 200], ids=["narrow", "wide"])
def test_audit_table_not_cut(state_dir: Path, columns: int) -> None:
    result = audit(state_dir, columns=columns)

    assert result.returncode == 0, result.stderr
    assert "…" not in result.stdout
    for record in RECORDS:
        assert record["pipeline_id"] in result.stdout
        assert record["actor"] in result.stdout
        assert record["action"] in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= columns


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--since", "yesterday"], "--since 'yesterday' is not an ISO 8601 date or time. Give one such as 2026-01-31"),
        (["--limit", "0"], "--limit 0 must be at least 1."),
    ],
    ids=["bad-since", "bad-limit"],
)
def test_audit_rejects_bad_filter(state_dir: Path, arguments: list[str], message: str) -> None:
    result = audit(state_dir, *arguments)

    assert result.returncode == 2
    assert message in result.stderr


def test_audit_missing_log_is_empty(tmp_path: Path) -> None:
    result = audit(tmp_path, "-o", "json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_audit_query_reads_appended(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.log")
    log.append(pass_id="x", actor="admin", action="trigger", pipeline_id=None, pipeline_name="site", repository="acme/site", result="ok")

    assert [record.actor for record in log.read()] == ["admin"]
