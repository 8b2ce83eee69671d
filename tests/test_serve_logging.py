"""Log output: text on a terminal, JSON lines under systemd with the pass context as fields."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccm.github.sandbox import RepositorySeed, SandboxSeed, SandboxServer, SandboxWorld, WorkflowSeed
from ccm.logcontext import pipeline_logger
from ccm.logsetup import LogFormat, configure_root_logger, default_log_format
from test_serve_harness import spec_text, start_serve


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, LogFormat.TEXT),
        ({"INVOCATION_ID": "0123abcd"}, LogFormat.JSON),
        ({"JOURNAL_STREAM": "8:12345"}, LogFormat.JSON),
        ({"INVOCATION_ID": ""}, LogFormat.TEXT),
    ],
    ids=["terminal", "systemd-invocation", "journal-stream", "empty-variable"],
)
def test_log_format_default(environ: dict[str, str], expected: LogFormat) -> None:
    assert default_log_format(environ) is expected


def test_json_lines_carry_context(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_root_logger(logging.INFO, LogFormat.JSON, stream)

    log = pipeline_logger(logging.getLogger("ccm.test"), "ab12cd34", "pipe_0123456789ab", "site", "acme/site")
    log.info("enable_workflow: %s", "self-heal")

    entry = json.loads(stream.getvalue())
    assert entry["level"] == "INFO"
    assert entry["logger"] == "ccm.test"
    assert entry["message"].endswith("enable_workflow: self-heal")
    assert entry["pass_id"] == "ab12cd34"
    assert entry["pipeline_id"] == "pipe_0123456789ab"
    assert entry["repository"] == "acme/site"
    assert entry["time"].endswith("+00:00")


def test_json_lines_keep_exceptions(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_root_logger(logging.INFO, LogFormat.JSON, stream)

    try:
        raise ValueError("broken")
    except ValueError:
        logging.getLogger("ccm.test").exception("pass failed")

    entry = json.loads(stream.getvalue())
    assert "ValueError: broken" in entry["exception"]


def test_text_lines_quiet_httpx(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_root_logger(logging.INFO, LogFormat.TEXT, stream)

    logging.getLogger("httpx").info("HTTP Request: POST https://hooks.example/secret")
    logging.getLogger("ccm.test").info("kept")

    assert stream.getvalue().endswith(" INFO ccm.test: kept\n")
    assert "secret" not in stream.getvalue()


def test_serve_logs_json_lines(tmp_path: Path) -> None:
    seed = SandboxSeed(repositories=[RepositorySeed(full_name="acme/site", workflows=[WorkflowSeed(path=".github/workflows/deploy.yml")])])
    (tmp_path / "pipelines.d").mkdir()
    (tmp_path / "pipelines.d" / "site.yaml").write_text(spec_text("site", "acme/site"), encoding="utf-8")
    with SandboxServer(SandboxWorld.open(seed)) as server:
        serve = start_serve(tmp_path, server.url, log_format="json")
        assert serve.stop() == 0

    entries = [json.loads(line) for line in serve.log.lines]
    passes = [entry for entry in entries if "pass applied" in entry["message"]]
    assert len(passes) == 1
    assert len(passes[0]["pass_id"]) == 8
    registered = [entry for entry in entries if entry.get("pipeline") == "site"]
    assert registered and registered[0]["repository"] == "acme/site"
