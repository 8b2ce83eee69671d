"""Registry: round trip, file format, lock, backups, recovery from corruption and the cache."""

from __future__ import annotations

import json
import logging
import os
import shutil
import re
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from ccm.pipeline import Pipeline, PipelineMetrics, PipelineStatus
from ccm.registry.files import list_backups
from ccm.registry import (
    Registry,
    RegistryCorruptError,
    RegistryData,
    RegistryLockTimeout,
)

CREATED = datetime(2026, 1, 5, 10, 30, tzinfo=UTC)
BACKUP_NAME = re.compile(r"^pipelines-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d(-\d+)?\.json$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

LOCK_SCRIPT = """
import sys
from pathlib import Path
from ccm.registry import Registry, RegistryLockTimeout

registry = Registry(Path(sys.argv[1]))
try:
    with registry.lock(timeout=float(sys.argv[2])):
        print("acquired")
except RegistryLockTimeout as error:
    print(error)
    sys.exit(3)
"""

ADD_PIPELINE_SCRIPT = """
import sys
from pathlib import Path
from ccm.pipeline import Pipeline
from ccm.registry import Registry

registry = Registry(Path(sys.argv[1]))
with registry.lock():
    registry.save(registry.load().with_pipeline(Pipeline.model_validate_json(sys.argv[2])))
"""


def make_pipeline(number: int, *, run_count: int = 0, deleted: bool = False) -> Pipeline:
    return Pipeline(
        pipeline_id=f"pipe_{number:012x}",
        name=f"app-{number}",
        repository=f"acme/app-{number}",
        workflow_file=".github/workflows/deploy.yml",
        status=PipelineStatus.INACTIVE if deleted else PipelineStatus.ACTIVE,
        created_at=CREATED,
        last_updated=CREATED,
        deleted_at=CREATED if deleted else None,
        metrics=PipelineMetrics(run_count=run_count),
    )


def make_data(*numbers: int, run_count: int = 0) -> RegistryData:
    data = RegistryData()
    for number in numbers:
        data = data.with_pipeline(make_pipeline(number, run_count=run_count))
    return data


def save(registry: Registry, data: RegistryData) -> RegistryData:
    with registry.lock():
        return registry.save(data)


def run_script(source: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", source, *arguments],
        capture_output=True,
        text=True,
        timeout=30,
    )


def backups(state_dir: Path) -> list[Path]:
    """Return the backups oldest first, in the order the registry itself reads them."""
    return list(reversed(list_backups(state_dir / "backups")))


def aside_copies(state_dir: Path) -> list[Path]:
    return sorted(state_dir.glob("pipelines.json.corrupt-*"))


# Snapshot


def test_data_current_by_name() -> None:
    data = make_data(1, 2).with_pipeline(make_pipeline(3, deleted=True).model_copy(update={"name": "app-1"}))

    current = data.current_by_name()

    assert sorted(current) == ["app-1", "app-2"]
    assert current["app-1"].pipeline_id == "pipe_000000000001"


def test_data_with_pipeline_replaces() -> None:
    data = make_data(1, 2)

    updated = data.with_pipeline(make_pipeline(1, run_count=7))

    assert updated.pipelines["pipe_000000000001"].metrics.run_count == 7
    assert data.pipelines["pipe_000000000001"].metrics.run_count == 0
    assert len(updated.pipelines) == 2


def test_data_rejects_wrong_key() -> None:
    with pytest.raises(ValidationError) as caught:
        RegistryData(pipelines={"pipe_00000000000f": make_pipeline(1)})

    assert (
        "the record under key 'pipe_00000000000f' has pipeline_id 'pipe_000000000001'; "
        "each record must be stored under its own pipeline_id"
    ) in str(caught.value)


def test_data_rejects_two_current_records() -> None:
    twin = make_pipeline(2).model_copy(update={"name": "app-1"})

    with pytest.raises(ValidationError) as caught:
        make_data(1).with_pipeline(twin)

    assert (
        "pipelines pipe_000000000001 and pipe_000000000002 are both current records of the "
        "spec 'app-1'; at most one record per spec name may lack deleted_at"
    ) in str(caught.value)


# Load and save


def test_round_trip(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "state")
    data = make_data(3, 1, 2).with_pipeline(make_pipeline(4, deleted=True))

    saved = save(registry, data)
    loaded = Registry(tmp_path / "state").load()

    assert loaded == saved
    assert loaded.pipelines == data.pipelines
    assert loaded.last_updated is not None


def test_first_run_is_empty(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"

    data = Registry(state_dir).load()

    assert data.pipelines == {}
    assert data.last_updated is None
    assert not state_dir.exists()


def test_file_shape(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    save(registry, make_data(2, 1))

    text = (tmp_path / "pipelines.json").read_text()
    document = json.loads(text)

    assert list(document) == ["pipelines", "registry_version", "last_updated"]
    assert document["registry_version"] == "2.0"
    assert TIMESTAMP.match(document["last_updated"])
    assert list(document["pipelines"]) == ["pipe_000000000001", "pipe_000000000002"]
    record = document["pipelines"]["pipe_000000000001"]
    assert set(record) == {
        "pipeline_id",
        "name",
        "repository",
        "workflow_file",
        "status",
        "status_reason",
        "enabled",
        "created_at",
        "last_updated",
        "deleted_at",
        "workflow_id",
        "config",
        "metrics",
        "vps_integration",
        "source",
    }
    assert record["created_at"] == "2026-01-05T10:30:00Z"
    assert record["status"] == "active"
    assert text.startswith('{\n  "pipelines": {\n    "pipe_000000000001": {\n      "pipeline_id"')
    assert text.endswith("}\n")


def test_file_modes(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    registry = Registry(state_dir)
    save(registry, make_data(1))
    save(registry, make_data(1, 2))

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(state_dir) == 0o700
    assert mode(state_dir / "backups") == 0o700
    assert mode(state_dir / "pipelines.json") == 0o600
    assert mode(state_dir / "pipelines.lock") == 0o600
    assert [mode(path) for path in backups(state_dir)] == [0o600, 0o600]


def test_save_logs_count(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ccm.registry")

    save(Registry(tmp_path), make_data(1, 2, 3))

    assert [record.getMessage() for record in caplog.records] == [
        f"Saved the registry {tmp_path / 'pipelines.json'} with 3 pipelines."
    ]


def test_unchanged_save_skips_write(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    first = save(registry, make_data(1))
    before = (tmp_path / "pipelines.json").stat()

    second = save(registry, make_data(1))

    after = (tmp_path / "pipelines.json").stat()
    assert second == first
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert len(backups(tmp_path)) == 1


def test_save_removes_temp_files(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    save(registry, make_data(1))
    leftovers = [
        tmp_path / ".pipelines.json.abc123.tmp",
        tmp_path / "backups" / ".pipelines-2026-01-05-10-30-00.json.abc123.tmp",
    ]
    (tmp_path / "backups").mkdir(exist_ok=True)
    for leftover in leftovers:
        leftover.write_text("{")
    unrelated = tmp_path / ".tokens.json.abc123.tmp"
    unrelated.write_text("{")

    save(registry, make_data(1, 2))

    assert [path.exists() for path in leftovers] == [False, False]
    assert unrelated.exists()


def test_save_without_lock_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError) as caught:
        Registry(tmp_path).save(make_data(1))

    assert str(caught.value) == (
        "Registry.save() was called without the registry lock; do the whole "
        "read-modify-write inside `with registry.lock():`."
    )
    assert not (tmp_path / "pipelines.json").exists()


def test_backup_count_below_one_raises(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as caught:
        Registry(tmp_path, backup_count=0)

    assert str(caught.value) == (
        "backup_count must be at least 1, because a corrupt registry is recovered from its backups; got 0."
    )


# Lock


def test_lock_reentrant(tmp_path: Path) -> None:
    registry = Registry(tmp_path)

    with registry.lock():
        with registry.lock(timeout=0):
            registry.save(make_data(1))
        saved = registry.save(make_data(1, 2))

    assert Registry(tmp_path).load() == saved
    with pytest.raises(RuntimeError):
        registry.save(make_data(1))


def test_lock_excludes_thread(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    errors: list[Exception] = []

    def take_lock() -> None:
        try:
            with registry.lock(timeout=0.1):
                pass
        except RegistryLockTimeout as error:
            errors.append(error)

    with registry.lock():
        thread = threading.Thread(target=take_lock)
        thread.start()
        thread.join()

    assert [str(error) for error in errors] == [
        f"Timed out after 0.1 s: another thread of this process holds the registry lock "
        f"{tmp_path / 'pipelines.lock'}; wait for its write to finish."
    ]


def test_lock_excludes_second_registry(tmp_path: Path) -> None:
    with Registry(tmp_path).lock():
        with pytest.raises(RegistryLockTimeout) as caught:
            with Registry(tmp_path).lock(timeout=0.05):
                pass

    assert str(caught.value) == (
        f"Timed out after 0.05 s: this process (pid {os.getpid()}) holds the registry lock "
        f"{tmp_path / 'pipelines.lock'} through another Registry object; share one Registry "
        "per state directory."
    )


def test_lock_excludes_process(tmp_path: Path) -> None:
    registry = Registry(tmp_path)

    with registry.lock():
        blocked = run_script(LOCK_SCRIPT, str(tmp_path), "0.2")
    released = run_script(LOCK_SCRIPT, str(tmp_path), "0.2")

    assert blocked.returncode == 3, blocked.stderr
    assert blocked.stdout == (
        f"Timed out after 0.2 s: another ccm process (pid {os.getpid()}) holds the registry "
        f"lock {tmp_path / 'pipelines.lock'}; wait for it to finish or stop it.\n"
    )
    assert released.returncode == 0, released.stderr
    assert released.stdout == "acquired\n"


# Backups


def test_backup_keeps_every_version(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    save(registry, make_data(1))
    first_content = (tmp_path / "pipelines.json").read_bytes()
    [first_backup] = backups(tmp_path)
    assert first_backup.read_bytes() == first_content

    save(registry, make_data(1, 2))

    kept = backups(tmp_path)
    assert len(kept) == 2
    assert all(BACKUP_NAME.match(backup.name) for backup in kept)
    assert kept[0].read_bytes() == first_content
    assert kept[1].read_bytes() == (tmp_path / "pipelines.json").read_bytes()


def test_backups_bounded(tmp_path: Path) -> None:
    registry = Registry(tmp_path, backup_count=3)

    for run_count in range(7):
        save(registry, make_data(1, run_count=run_count))

    kept = backups(tmp_path)
    assert len(kept) == 3
    assert all(BACKUP_NAME.match(path.name) for path in kept)
    kept_run_counts = sorted(
        json.loads(path.read_text())["pipelines"]["pipe_000000000001"]["metrics"]["run_count"]
        for path in kept
    )
    assert kept_run_counts == [4, 5, 6]


def test_backup_restorable(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    first = save(registry, make_data(1))
    save(registry, make_data(1, 2))
    backup = backups(tmp_path)[0]

    os.replace(backup, tmp_path / "pipelines.json")

    assert Registry(tmp_path).load() == first


# Recovery

CORRUPTIONS = [
    pytest.param(
        lambda good: b"",
        "the file is empty",
        id="empty",
    ),
    pytest.param(
        lambda good: good[: good.index(b'"name"')],
        "the file is not valid JSON: EOF while parsing a value at line 5 column 6",
        id="truncated",
    ),
    pytest.param(
        lambda good: b"\x00\xff garbage",
        "the file is not valid JSON: expected value at line 1 column 1",
        id="garbage",
    ),
    pytest.param(
        lambda good: good.replace(b'"status": "active"', b'"status": "paused"', 1),
        "the file does not match the registry schema: pipelines.pipe_000000000001.status: "
        "Input should be 'active', 'inactive' or 'error'",
        id="wrong-schema",
    ),
    pytest.param(
        lambda good: b'{"registry_version": "2.0"}',
        "the file has no 'pipelines' key",
        id="no-pipelines",
    ),
    pytest.param(
        lambda good: good.replace(b'"registry_version": "2.0"', b'"registry_version": "3.1"'),
        "registry_version '3.1' is not supported: this version of ccm reads and writes '2.0' only",
        id="wrong-version",
    ),
]


@pytest.mark.parametrize(("corrupt", "reason"), CORRUPTIONS)
def test_corrupt_file_restores_backup(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    corrupt: Callable[[bytes], bytes],
    reason: str,
) -> None:
    registry = Registry(tmp_path)
    save(registry, make_data(1))
    last = save(registry, make_data(1, 2))
    backup = backups(tmp_path)[-1]
    registry_file = tmp_path / "pipelines.json"
    bad_content = corrupt(registry_file.read_bytes())
    registry_file.write_bytes(bad_content)

    loaded = registry.load()

    # The newest backup is the last save itself, so recovery loses nothing.
    assert loaded == last
    assert registry_file.read_bytes() == backup.read_bytes()
    [aside] = aside_copies(tmp_path)
    assert aside.read_bytes() == bad_content
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "ERROR",
            f"The registry {registry_file} is invalid ({reason}); kept it as {aside} and "
            f"restored the backup {backup}.",
        )
    ]
    assert Registry(tmp_path).load() == last


@pytest.mark.parametrize(("corrupt", "reason"), CORRUPTIONS)
def test_corrupt_file_without_backup_raises(
    tmp_path: Path, corrupt: Callable[[bytes], bytes], reason: str
) -> None:
    registry = Registry(tmp_path)
    save(registry, make_data(1))
    shutil.rmtree(tmp_path / "backups")
    registry_file = tmp_path / "pipelines.json"
    bad_content = corrupt(registry_file.read_bytes())
    registry_file.write_bytes(bad_content)

    with pytest.raises(RegistryCorruptError) as caught:
        registry.load()

    [aside] = aside_copies(tmp_path)
    assert str(caught.value) == (
        f"The registry {registry_file} is invalid ({reason}) and there is no backup in "
        f"{tmp_path / 'backups'}, so ccm cannot tell which pipelines it manages. A copy of the "
        f"file is at {aside}. Restore {registry_file} from a copy of your own, or move it away "
        "to start with an empty registry."
    )
    assert registry_file.read_bytes() == bad_content
    assert aside.read_bytes() == bad_content


def test_corrupt_file_copied_once(tmp_path: Path) -> None:
    (tmp_path / "pipelines.json").write_text("{")
    registry = Registry(tmp_path)

    for _ in range(3):
        with pytest.raises(RegistryCorruptError):
            registry.load()

    assert len(aside_copies(tmp_path)) == 1


def test_invalid_backup_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    registry = Registry(tmp_path)
    save(registry, make_data(1))
    second = save(registry, make_data(1, 2))
    save(registry, make_data(1, 2, 3))
    older, newer = backups(tmp_path)[-2:]
    newer.write_text("")
    (tmp_path / "pipelines.json").write_text("")

    loaded = registry.load()

    assert loaded == second
    assert [(r.levelname, r.getMessage()) for r in caplog.records][0] == (
        "WARNING",
        f"Skipping the invalid backup {newer}: the file is empty.",
    )
    assert f"restored the backup {older}." in caplog.records[1].getMessage()


def test_invalid_backups_raise(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    save(registry, make_data(1))
    shutil.rmtree(tmp_path / "backups")
    save(registry, make_data(1, 2))
    [backup] = backups(tmp_path)
    backup.write_text("[]")
    registry_file = tmp_path / "pipelines.json"
    registry_file.write_text("")

    with pytest.raises(RegistryCorruptError) as caught:
        registry.load()

    [aside] = aside_copies(tmp_path)
    assert str(caught.value) == (
        f"The registry {registry_file} is invalid (the file is empty) and none of the 1 backups "
        f"in {tmp_path / 'backups'} is valid, so ccm cannot tell which pipelines it manages. "
        f"A copy of the file is at {aside}. Repair one of the backups and copy it to "
        f"{registry_file}, or move {registry_file} and {tmp_path / 'backups'} away to start with "
        "an empty registry."
    )


def test_missing_file_restores_backup(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    registry = Registry(tmp_path)
    save(registry, make_data(1))
    last = save(registry, make_data(1, 2))
    backup = backups(tmp_path)[-1]
    registry_file = tmp_path / "pipelines.json"
    registry_file.unlink()

    loaded = registry.load()

    assert loaded == last
    assert registry_file.read_bytes() == backup.read_bytes()
    assert aside_copies(tmp_path) == []
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "ERROR",
            f"The registry {registry_file} is missing although backups exist; restored it "
            f"from the backup {backup}.",
        )
    ]


def test_missing_file_invalid_backups_raise(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    save(registry, make_data(1))
    shutil.rmtree(tmp_path / "backups")
    save(registry, make_data(1, 2))
    [backup] = backups(tmp_path)
    backup.write_text("{}")
    registry_file = tmp_path / "pipelines.json"
    registry_file.unlink()

    with pytest.raises(RegistryCorruptError) as caught:
        registry.load()

    assert str(caught.value) == (
        f"The registry {registry_file} is missing and none of the 1 backups in "
        f"{tmp_path / 'backups'} is valid. Repair one of the backups and copy it to "
        f"{registry_file}, or move {registry_file} and {tmp_path / 'backups'} away to start with "
        "an empty registry."
    )


# Cache


def test_cache_reused_while_unchanged(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    save(registry, make_data(1))
    reader = Registry(tmp_path)

    first = reader.load()

    assert reader.load() is first


def test_cache_refreshed_by_own_save(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    registry.load()

    saved = save(registry, make_data(1))

    assert registry.load() is saved


def test_cache_sees_other_process(tmp_path: Path) -> None:
    save(Registry(tmp_path), make_data(1))
    reader = Registry(tmp_path)
    reader.load()

    for number in (2, 3):
        added = make_pipeline(number)
        result = run_script(ADD_PIPELINE_SCRIPT, str(tmp_path), added.model_dump_json())
        assert result.returncode == 0, result.stderr

        assert reader.load().pipelines[added.pipeline_id] == added

    assert list(reader.load().pipelines) == [
        "pipe_000000000001",
        "pipe_000000000002",
        "pipe_000000000003",
    ]
