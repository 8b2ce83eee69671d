"""Sandbox seeds: YAML loading, strict validation with file, line and field, and generated worlds."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccm.github.sandbox import SandboxSeed, SeedError, load_seed

VALID = """\
time_scale: 60
rate_limit: {limit: 100, window_seconds: 600}
tokens: [secret-token]
defaults: {success_rate: 0.5, duration_seconds: [10, 20], queued_seconds: 2}
repositories:
  - full_name: acme/api-service
    branches: [main, production]
    workflows:
      - {path: .github/workflows/deploy.yml, name: Deploy, success_rate: 0.7}
      - {path: .github/workflows/ci.yml, dispatch: false, state: disabled_manually}
    runs:
      - {workflow: .github/workflows/deploy.yml, status: in_progress, started_seconds_ago: 30,
         duration_seconds: 3600}
      - {workflow: .github/workflows/deploy.yml, branch: production, conclusion: failure,
         started_seconds_ago: 7200, duration_seconds: 301}
    history: {count: 20, every_seconds: 3600}
"""


# A repository with one workflow; cases append lines to it.
ONE_WORKFLOW = "repositories:\n  - full_name: acme/x\n    workflows: [{path: .github/workflows/a.yml}]\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "seed.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_valid_seed(tmp_path: Path) -> None:
    seed = load_seed(write(tmp_path, VALID))

    assert seed.time_scale == 60
    assert seed.rate_limit.limit == 100
    assert seed.defaults.duration_seconds == (10, 20)
    repository = seed.repositories[0]
    assert repository.all_branches == ["main", "production"]
    assert [workflow.display_name for workflow in repository.workflows] == ["Deploy", "ci"]
    assert repository.workflows[1].state == "disabled_manually"
    assert repository.runs[1].conclusion == "failure"
    assert repository.history is not None and repository.history.count == 20


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("colour: blue\n", ":1: colour: Extra inputs are not permitted", id="unknown-top-field"),
        pytest.param(
            "repositories:\n  - full_name: acme/x\n    workflows:\n"
            "      - {path: .github/workflows/a.yml, state: on}\n",
            ":4: repositories[0].workflows[0].state: Input should be 'active'",
            id="bad-state",
        ),
        pytest.param(
            "repositories:\n  - full_name: not a name\n",
            ":2: repositories[0].full_name: 'not a name' is not a valid repository. Write it as "
            "owner/name, such as acme/api-service.",
            id="bad-repository-name",
        ),
        pytest.param(
            "repositories:\n  - full_name: acme/x\n    workflows:\n      - {path: deploy.yml}\n",
            ":4: repositories[0].workflows[0].path: 'deploy.yml' is not a valid workflow file. "
            "Write the path of the workflow in its repository, such as .github/workflows/deploy.yml.",
            id="path-outside-workflows",
        ),
        pytest.param(
            "repositories:\n  - full_name: acme/x\n    runs:\n"
            "      - {workflow: .github/workflows/gone.yml, status: queued, started_seconds_ago: 1}\n",
            "runs[0].workflow '.github/workflows/gone.yml' is not one of the workflows []",
            id="run-of-unknown-workflow",
        ),
        pytest.param(
            ONE_WORKFLOW + "    runs:\n"
            "      - {workflow: .github/workflows/a.yml, branch: dev, status: queued,\n"
            "         started_seconds_ago: 1}\n",
            "runs[0].branch 'dev' is not one of the branches ['main']",
            id="run-on-unknown-branch",
        ),
        pytest.param(
            ONE_WORKFLOW + "    runs:\n"
            "      - {workflow: .github/workflows/a.yml, status: in_progress, conclusion: success,\n"
            "         started_seconds_ago: 1}\n",
            ":5: repositories[0].runs[0]: a run with status in_progress cannot have a conclusion;",
            id="in-progress-with-conclusion",
        ),
        pytest.param(
            ONE_WORKFLOW + "    runs:\n"
            "      - {workflow: .github/workflows/a.yml, conclusion: success, started_seconds_ago: 10,\n"
            "         duration_seconds: 60}\n",
            "a completed run needs duration_seconds (60.0) of at most started_seconds_ago (10.0)",
            id="completed-run-too-long",
        ),
        pytest.param(
            "repositories:\n  - {full_name: acme/x}\n  - {full_name: ACME/X}\n",
            "repositories list acme/x more than once",
            id="duplicate-repository",
        ),
        pytest.param(
            "defaults: {duration_seconds: [30, 10]}\n",
            ":1: defaults.duration_seconds: [30.0, 10.0] is not a range",
            id="inverted-duration-range",
        ),
        pytest.param("tokens: ['']\n", "tokens must not contain an empty token", id="empty-token"),
        pytest.param(
            "time_scale: .nan\n", ":1: time_scale: Input should be a finite number", id="nan-time-scale"
        ),
        pytest.param(
            "time_scale: 1e9\n",
            ":1: time_scale: Input should be less than or equal to 1000000",
            id="huge-time-scale",
        ),
        pytest.param(
            "defaults: {queued_seconds: .inf}\n",
            ":1: defaults.queued_seconds: Input should be a finite number",
            id="infinite-queue-time",
        ),
        pytest.param(
            "defaults: {duration_seconds: [1, 1e300]}\n",
            "[1.0, 1e+300] is not a range [min, max] with 0 < min <= max <= 315360000 (ten years)",
            id="huge-duration",
        ),
        pytest.param(
            "rate_limit: {window_seconds: 1e308}\n",
            ":1: rate_limit.window_seconds: Input should be less than or equal to 315360000",
            id="huge-window",
        ),
        pytest.param(
            ONE_WORKFLOW + "    history: {count: 1000, every_seconds: 1e6}\n",
            "count (1000) times every_seconds (1e+06) reaches back more than 315360000 seconds",
            id="history-too-long",
        ),
        pytest.param(
            ONE_WORKFLOW + "    runs:\n"
            "      - {workflow: .github/workflows/a.yml, status: queued, started_seconds_ago: 1e12}\n",
            "runs[0].started_seconds_ago: Input should be less than or equal to 315360000",
            id="run-too-old",
        ),
    ],
)
def test_invalid_seed_names_line_and_field(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)

    with pytest.raises(SeedError) as caught:
        load_seed(path)

    message = str(caught.value)
    assert message.startswith(f"The sandbox seed {path} is invalid. Fix these fields:")
    assert expected in message


def test_seed_not_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "repositories: [\n")

    with pytest.raises(SeedError, match=rf"(?s)The sandbox seed {path} is not valid YAML: .*line 2"):
        load_seed(path)


def test_seed_not_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "- a\n- b\n")

    with pytest.raises(SeedError, match="must be a mapping with keys such as repositories"):
        load_seed(path)


def test_seed_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match=r"Cannot read the sandbox seed .*missing.yaml: No such file"):
        load_seed(tmp_path / "missing.yaml")


def test_generated_seed_size() -> None:
    seed = SandboxSeed.generated(repositories=100, workflows_per_repository=10, history_runs=3, time_scale=30)

    assert len(seed.repositories) == 100
    assert {len(repository.workflows) for repository in seed.repositories} == {10}
    assert seed.repositories[42].full_name == "fleet/service-042"
    assert seed.repositories[0].workflows[9].path == ".github/workflows/job-09.yml"
    assert seed.repositories[0].history is not None and seed.repositories[0].history.count == 3
    assert seed.time_scale == 30


def test_seed_duplicate_keys_rejected(tmp_path: Path) -> None:
    seed_file = tmp_path / "seed.yaml"
    seed_file.write_text(
        "time_scale: 1\nrepositories:\n  - full_name: acme/web\n    accessible: true\n    accessible: false\n"
    )

    with pytest.raises(SeedError) as raised:
        load_seed(seed_file)

    assert str(raised.value) == (
        f"The sandbox seed {seed_file} repeats keys. Remove all but one of each:\n"
        f"{seed_file}:5: 'accessible' appears twice in this mapping"
    )
