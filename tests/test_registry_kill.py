"""Registry crash safety: a writer killed at random moments never leaves a mixed or broken file."""

from __future__ import annotations

import inspect
import random
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ccm.pipeline import Pipeline, PipelineMetrics, PipelineStatus
from ccm.registry import Registry, RegistryData

KILLS = 50
SEED = 20260105


def build_state(number: int) -> RegistryData:
    """Return saved state ``number``: every record carries the number, and the count varies."""
    created = datetime(2026, 1, 5, 10, 30, tzinfo=UTC)
    pipelines = [
        Pipeline(
            pipeline_id=f"pipe_{index:012x}",
            name=f"app-{index}",
            repository=f"acme/app-{index}",
            workflow_file=".github/workflows/deploy.yml",
            status=PipelineStatus.ACTIVE,
            created_at=created,
            last_updated=created,
            metrics=PipelineMetrics(run_count=number),
        )
        for index in range(20 + number % 7)
    ]
    return RegistryData(pipelines={p.pipeline_id: p for p in pipelines})


def state_number(data: RegistryData) -> int:
    """Return the state number of a registry built by ``build_state``, 0 when it is empty."""
    counts = {p.metrics.run_count for p in data.pipelines.values()}
    assert len(counts) <= 1, f"records of different saves are mixed: run counts {counts}"
    return counts.pop() if counts else 0


# The writer saves state n+1 over state n in a loop and prints n+1 once save() has returned.
WRITER_SCRIPT = (
    textwrap.dedent(
        """
        import sys
        from datetime import UTC, datetime
        from pathlib import Path
        from ccm.pipeline import Pipeline, PipelineMetrics, PipelineStatus
        from ccm.registry import Registry, RegistryData
        """
    )
    + inspect.getsource(build_state)
    + inspect.getsource(state_number)
    + textwrap.dedent(
        """
        registry = Registry(Path(sys.argv[1]), backup_count=5)
        while True:
            with registry.lock():
                number = state_number(registry.load()) + 1
                registry.save(build_state(number))
            print(number, flush=True)
        """
    )
)


@pytest.mark.slow
def test_killed_writer_leaves_saved_state(tmp_path: Path) -> None:
    randomness = random.Random(SEED)
    reader = Registry(tmp_path, backup_count=5)
    confirmed = 0

    for trial in range(KILLS):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER_SCRIPT, str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Wait for one completed save so that the kill lands in the loop, not in start-up.
        first_line = writer.stdout.readline()
        time.sleep(randomness.uniform(0, 0.03))
        writer.send_signal(signal.SIGKILL)
        rest, errors = writer.communicate(timeout=10)
        assert writer.returncode == -signal.SIGKILL, f"trial {trial}: the writer failed: {errors}"
        printed = [int(line) for line in (first_line + rest).split()]
        assert printed, f"trial {trial}: the writer saved nothing: {errors}"
        confirmed = printed[-1]

        loaded = reader.load()

        assert list(tmp_path.glob("pipelines.json.corrupt-*")) == [], f"trial {trial}: recovered"
        number = state_number(loaded)
        # The kill may land after the rename and before the print, so one more save may be on disk.
        assert number in (confirmed, confirmed + 1), f"trial {trial}"
        assert loaded.pipelines == build_state(number).pipelines, f"trial {trial}"

    assert confirmed >= KILLS
    with reader.lock():
        # State confirmed + 2 differs from both states that may be on disk, so this save writes.
        reader.save(build_state(confirmed + 2))
    leftovers = [path.name for path in tmp_path.rglob("*.tmp")]
    assert leftovers == []
    assert len(list((tmp_path / "backups").iterdir())) == 5
