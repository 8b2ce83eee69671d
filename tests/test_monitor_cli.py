"""``ccm monitor`` and ``ccm report`` as real processes: one frame, exports, and the live dashboard.

The live dashboard runs on a pseudo-terminal (and, where tmux can start, inside tmux), fed keys
the way a person types them; the screen is read back as text.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccm.github.sandbox import Fault, FaultKind, SandboxSeed, SandboxServer, SandboxWorld

ROOT = Path(__file__).resolve().parents[1]
CCM = str(Path(sys.executable).with_name("ccm"))
EXAMPLE_ARGS = [
    "--github", "sandbox",
    "--sandbox-seed", str(ROOT / "examples" / "sandbox.yaml"),
    "--pipelines-dir", str(ROOT / "examples" / "pipelines.d"),
]
ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|[()][0-9A-Za-z]|[=>78])")


def environment(state_dir: Path, **extra: str) -> dict[str, str]:
    values = {key: value for key, value in os.environ.items() if not key.startswith("CCM_")}
    values.update({"CCM_HOME": str(state_dir), "TERM": "xterm-256color", "COLUMNS": "160", **extra})
    return values


def ccm(state_dir: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CCM, *args], env=environment(state_dir, **extra), capture_output=True, text=True, timeout=60
    )


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state directory where the example fleet has been reconciled once."""
    state_dir = tmp_path_factory.mktemp("examples")
    result = ccm(state_dir, *EXAMPLE_ARGS, "reconcile")
    assert result.returncode == 0, result.stderr
    return state_dir


def row_of(text: str, name: str) -> str:
    return next(line for line in text.splitlines() if f" {name} " in line)


def test_once_examples(examples: Path) -> None:
    result = ccm(examples, *EXAMPLE_ARGS, "monitor", "--once", "--width", "160")

    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "CI/CD PIPELINE MONITOR" in text
    assert "SANDBOX: simulated GitHub at http://127.0.0.1:" in text
    assert "⟳ Running" in row_of(text, "api-service")
    assert "api.topengineer.us · api-service" in row_of(text, "api-service")
    assert "⏸ Inactive" in row_of(text, "docs")
    assert "✓ Active" in row_of(text, "portfolio")
    assert "in sync" in row_of(text, "portfolio")
    assert "✗ Error" in row_of(text, "status-page")
    assert "error" in row_of(text, "status-page").split("✗ Error", 1)[1]
    assert "topengineer.us · topengineer-site" in row_of(text, "topengineer.us")


def test_once_svg(examples: Path, tmp_path: Path) -> None:
    picture = tmp_path / "frame.svg"

    result = ccm(examples, *EXAMPLE_ARGS, "monitor", "--once", "--width", "120", "--svg", str(picture))

    assert result.returncode == 0, result.stderr
    assert picture.read_text(encoding="utf-8").startswith("<svg")


def test_once_from_api(examples: Path) -> None:
    created = ccm(examples, "token", "create", "--role", "viewer", "--name", "monitor-test")
    assert created.returncode == 0, created.stderr
    token = created.stdout.split()[0]
    server = subprocess.Popen(
        [CCM, *EXAMPLE_ARGS, "api", "--port", "0"], env=environment(examples), stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        url = re.search(r"serving (http://127\.0\.0\.1:[0-9]+)", banner)
        assert url is not None, banner

        result = ccm(examples, "monitor", "--once", "--width", "160", "--url", url.group(1), CCM_TOKEN=token)
    finally:
        server.terminate()
        server.wait(timeout=10)

    assert result.returncode == 0, result.stderr
    assert "SANDBOX: simulated GitHub at" in result.stdout
    assert "⟳ Running" in row_of(result.stdout, "api-service")
    assert "✗ Error" in row_of(result.stdout, "status-page")
    assert [line.split()[1] for line in result.stdout.splitlines() if re.match(r"^ +[0-9] ", line)] == [
        "api-service", "docs", "portfolio", "status-page", "topengineer.us"
    ]


def test_once_api_needs_token(examples: Path) -> None:
    result = ccm(examples, "monitor", "--once", "--url", "http://127.0.0.1:9")

    assert result.returncode == 2
    assert "--url needs an API token: pass --token or set CCM_TOKEN." in result.stderr


def test_report_json(examples: Path) -> None:
    result = ccm(examples, *EXAMPLE_ARGS, "report", "-o", "json")

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    rows = {row["name"]: row for row in document["pipelines"]}
    assert sorted(rows) == ["api-service", "docs", "portfolio", "status-page", "topengineer.us"]
    assert rows["status-page"]["status"] == "error"
    assert rows["status-page"]["sync_status"] == "error"
    assert rows["api-service"]["active_runs"] == 1
    assert rows["docs"]["state"] == "inactive"
    assert document["github"].startswith("SANDBOX")


@pytest.mark.parametrize(("report_format", "first_line"), [
    pytest.param("csv", "pipeline_id,name,repository,workflow_file,status,state,sync_status,", id="csv"),
    pytest.param("md", "| pipeline_id | name | repository |", id="markdown"),
])
def test_report_file(examples: Path, tmp_path: Path, report_format: str, first_line: str) -> None:
    output = tmp_path / f"report.{report_format}"

    result = ccm(examples, *EXAMPLE_ARGS, "report", "-o", report_format, "--output", str(output))

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    lines = output.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith(first_line)
    assert len(lines) == 6 + (report_format == "md")


def test_report_unwritable(examples: Path, tmp_path: Path) -> None:
    output = tmp_path / "missing" / "report.csv"

    result = ccm(examples, *EXAMPLE_ARGS, "report", "-o", "csv", "--output", str(output))

    assert result.returncode == 1
    assert f"Cannot write the report to {output}: No such file or directory. Choose another --output path." in (
        " ".join(result.stderr.split())
    )


def test_live_needs_terminal(examples: Path) -> None:
    result = subprocess.run(
        [CCM, *EXAMPLE_ARGS, "monitor"], env=environment(examples), capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=30,
    )

    assert result.returncode == 2
    assert "pass --once to print one frame" in " ".join(result.stderr.split())


@pytest.mark.parametrize("interval", ["0", "-1", "nan", "inf"])
def test_interval_rejected(tmp_path: Path, interval: str) -> None:
    result = ccm(tmp_path, "monitor", "--once", "--interval", interval)

    assert result.returncode == 2
    assert " ".join(result.stderr.split()) == (
        f"--interval must be a finite number of seconds greater than 0, not {float(interval):g}."
    )


class Terminal:
    """A process on a pseudo-terminal of a fixed size; its output is kept as plain text."""

    def __init__(self, argv: list[str], env: dict[str, str], columns: int = 160, rows: int = 45) -> None:
        self.master, self.slave = os.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.process = subprocess.Popen(
            argv, stdin=self.slave, stdout=self.slave, stderr=self.slave, env=env, start_new_session=True
        )
        self.raw = b""
        self.mark = 0

    def send(self, keys: bytes) -> None:
        self.mark = len(self.text())
        os.write(self.master, keys)

    def text(self) -> str:
        return ANSI.sub("", self.raw.decode("utf-8", errors="replace"))

    def expect(self, needle: str, timeout: float = 20.0) -> float:
        """Wait until ``needle`` appears in the output written since the last ``send``; return the wait."""
        started = time.monotonic()
        deadline = started + timeout
        while needle not in self.text()[self.mark :]:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{needle!r} did not appear within {timeout} s; output:\n{self.text()[-3000:]}")
            ready, _, _ = select.select([self.master], [], [], min(remaining, 0.2))
            if ready:
                try:
                    self.raw += os.read(self.master, 65536)
                except OSError:  # the process closed the terminal
                    time.sleep(0.05)
        return time.monotonic() - started

    def wait(self, timeout: float = 20.0) -> int:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.raw += os.read(self.master, 65536)
                except OSError:
                    break
        return self.process.wait(timeout=max(deadline - time.monotonic(), 1))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def terminal_factory() -> Iterator[list[Terminal]]:
    started: list[Terminal] = []
    yield started
    for terminal in started:
        terminal.close()


def test_live_keys(examples: Path, terminal_factory: list[Terminal]) -> None:
    terminal = Terminal([CCM, *EXAMPLE_ARGS, "monitor"], environment(examples))
    terminal_factory.append(terminal)
    terminal.expect("status-page")

    terminal.send(b"/status:error")
    terminal.expect("Filter: status:error")
    terminal.send(b"\r")
    terminal.expect("filter: status:error")
    assert "portfolio" not in terminal.text()[terminal.mark :].split("filter: status:error")[-1]

    terminal.send(b"1\r")
    terminal.expect("Workflow file .github/workflows/release.yml is not in repository acme/status-page.")
    terminal.expect("Pending plan")

    terminal.send(b"\x1b")
    terminal.expect("number+Enter open")
    terminal.send(b"q")
    assert terminal.wait() == 0
    attributes = termios.tcgetattr(terminal.slave)
    assert attributes[3] & termios.ICANON  # cbreak mode was undone
    assert attributes[3] & termios.ECHO


def test_live_trigger(examples: Path, terminal_factory: list[Terminal]) -> None:
    terminal = Terminal([CCM, *EXAMPLE_ARGS, "monitor"], environment(examples))
    terminal_factory.append(terminal)
    terminal.expect("portfolio")

    terminal.send(b"/app:portfolio\r")
    terminal.expect("filter: app:portfolio")
    terminal.send(b"t")
    terminal.expect("Press y to confirm")
    terminal.send(b"y")
    terminal.expect("Triggered run ")
    terminal.send(b"q")
    assert terminal.wait() == 0

    audit = (examples / "audit.log").read_text(encoding="utf-8")
    assert '"actor":"ccm monitor"' in audit


def test_live_responsive_with_100_pipelines(tmp_path: Path, terminal_factory: list[Terminal]) -> None:
    seed = SandboxSeed.generated(repositories=100, workflows_per_repository=1, history_runs=20)
    specs_dir = tmp_path / "pipelines.d"
    specs_dir.mkdir()
    for repository in seed.repositories:
        name = repository.full_name.split("/")[1]
        (specs_dir / f"{name}.yaml").write_text(
            f"name: {name}\nrepository: {repository.full_name}\nworkflow_file: {repository.workflows[0].path}\n"
            f"vps: {{linked_domain: {name}.example.com, linked_app: {name}}}\n",
            encoding="utf-8",
        )
    state_dir = tmp_path / "state"
    with SandboxServer(SandboxWorld.open(seed)) as server:
        args = ["--github", server.url, "--pipelines-dir", str(specs_dir)]
        reconciled = ccm(state_dir, *args, "reconcile", GITHUB_TOKEN="load-test-token")
        assert reconciled.returncode == 0, reconciled.stderr
        # Every GitHub request now takes 200 ms, so a refresh of 100 pipelines takes seconds.
        server.world.faults.add(Fault(kind=FaultKind.LATENCY, latency_ms=200))

        terminal = Terminal(
            [CCM, *args, "monitor", "--interval", "1"], environment(state_dir, GITHUB_TOKEN="load-test-token")
        )
        terminal_factory.append(terminal)
        # Keys are typed while the first refresh (about 100 x 2 requests) is still running.
        terminal.expect("Reading pipelines…", timeout=30)
        waits = []
        for text in ("service-01", "service-042", "status:active"):
            terminal.send(b"/" + text.encode())
            waits.append(terminal.expect(f"Filter: {text}", timeout=10))
            terminal.send(b"\x1b")
            waits.append(terminal.expect("number+Enter open", timeout=10))
        answered_during_refresh = "of 100" not in terminal.text()

        terminal.expect("of 100", timeout=60)
        terminal.send(b"q")
        assert terminal.wait(timeout=30) == 0

    assert answered_during_refresh
    assert max(waits) < 1.0, waits


def _tmux_usable() -> str | None:
    """Return why tmux cannot run a session here, or None when it can."""
    if shutil.which("tmux") is None:
        return "tmux is not installed"
    probe = subprocess.run(
        ["tmux", "-L", "ccm-probe", "new-session", "-d", "-s", "probe", "true"], capture_output=True, text=True
    )
    subprocess.run(["tmux", "-L", "ccm-probe", "kill-server"], capture_output=True)
    if probe.returncode != 0:
        return f"tmux cannot start a server: {probe.stderr.strip() or probe.returncode}"
    return None


def test_live_in_tmux(examples: Path) -> None:
    reason = _tmux_usable()
    if reason is not None:
        pytest.skip(reason)
    socket = f"ccm-monitor-{os.getpid()}"
    tmux = ["tmux", "-L", socket]
    command = " ".join([CCM, *EXAMPLE_ARGS, "monitor"]) + "; echo exit=$?; sleep 30"
    env = environment(examples)
    subprocess.run([*tmux, "new-session", "-d", "-s", "monitor", "-x", "160", "-y", "45", command], env=env, check=True)

    def screen() -> str:
        return subprocess.run([*tmux, "capture-pane", "-p", "-t", "monitor"], capture_output=True, text=True).stdout

    def wait_for(needle: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = screen()
            if needle in text:
                return text
            time.sleep(0.1)
        raise AssertionError(f"{needle!r} did not appear within {timeout} s; screen:\n{screen()}")

    def keys(*names: str) -> None:
        subprocess.run([*tmux, "send-keys", "-t", "monitor", *names], check=True)

    def type_text(text: str) -> None:
        subprocess.run([*tmux, "send-keys", "-t", "monitor", "-l", text], check=True)

    try:
        wait_for("status-page")
        keys("/")
        type_text("domain:status")
        keys("Enter")
        filtered = wait_for("filter: domain:status")
        assert " topengineer.us " not in filtered
        keys("1", "Enter")
        wait_for("Pending plan")
        keys("Escape")
        wait_for("number+Enter open")
        keys("q")
        wait_for("exit=0")
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
