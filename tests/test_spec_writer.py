"""Atomic spec writing, the API marker, and removal of API-written spec files."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from ccm.spec import (
    OperatorSpecFileError,
    PipelineConfig,
    PipelineSpec,
    SpecAuthor,
    SpecFileError,
    VpsLink,
    is_spec_file,
    load_specs,
    remove_spec_file,
    write_spec,
)

SPECS = [
    PipelineSpec(name="topengineer.us", repository="acme/site", workflow_file=".github/workflows/deploy.yml"),
    PipelineSpec(
        name="api_v2-1",
        repository="Acme-Corp/api.service",
        workflow_file=".github/workflows/deploy.yaml",
        enabled=False,
        config=PipelineConfig(
            trigger_branches=["main", "release/2026-01-05", "1.0", "yes"],
            environment="1.0",
            auto_deploy=False,
            notifications_enabled=False,
        ),
        vps=VpsLink(linked_domain="topengineer.us", linked_app="yes", requested_by="vps-manager"),
    ),
    PipelineSpec(
        name="quoting",
        repository="acme/q",
        workflow_file=".github/workflows/q.yml",
        vps=VpsLink(linked_app="null", linked_domain="2026-01-05", requested_by="a: b # c"),
    ),
    PipelineSpec(
        name="text",
        repository="acme/t",
        workflow_file=".github/workflows/t.yml",
        config=PipelineConfig(trigger_branches=["café", "null"]),
        vps=VpsLink(linked_app="017", linked_domain="on", requested_by=" 'quoted' \"both\" "),
    ),
]


@pytest.mark.parametrize("spec", SPECS, ids=[spec.name for spec in SPECS])
@pytest.mark.parametrize("author", list(SpecAuthor), ids=[author.value for author in SpecAuthor])
def test_write_round_trip(tmp_path: Path, spec: PipelineSpec, author: SpecAuthor) -> None:
    path = write_spec(tmp_path, spec, author)

    specs = load_specs(tmp_path)

    assert path == tmp_path / f"{spec.name}.yaml"
    assert specs.errors == []
    assert specs.specs == {spec.name: spec}
    assert specs.files == {spec.name: f"{spec.name}.yaml"}
    assert specs.authors == {spec.name: author}


def test_api_file_has_marker(tmp_path: Path) -> None:
    path = write_spec(tmp_path, SPECS[0], SpecAuthor.API)

    first_line = path.read_text(encoding="utf-8").splitlines()[0]

    assert first_line == (
        "# Managed by the ccm API: edits are kept, but deleting this pipeline through the API "
        "removes this file."
    )


def test_operator_file_has_no_marker(tmp_path: Path) -> None:
    path = write_spec(tmp_path, SPECS[0], SpecAuthor.OPERATOR)

    assert path.read_text(encoding="utf-8").startswith("name: topengineer.us\n")


def test_rewrite_replaces_api_file(tmp_path: Path) -> None:
    write_spec(tmp_path, SPECS[0], SpecAuthor.API)
    changed = SPECS[0].model_copy(update={"enabled": False})

    write_spec(tmp_path, changed, SpecAuthor.API)

    assert load_specs(tmp_path).specs == {changed.name: changed}
    assert sorted(path.name for path in tmp_path.iterdir()) == ["topengineer.us.yaml"]


def test_api_keeps_operator_file(tmp_path: Path) -> None:
    path = write_spec(tmp_path, SPECS[0], SpecAuthor.OPERATOR)
    before = path.read_bytes()

    with pytest.raises(OperatorSpecFileError) as raised:
        write_spec(tmp_path, SPECS[0].model_copy(update={"enabled": False}), SpecAuthor.API)

    assert str(raised.value) == (
        f"The spec file {path} was written by an operator, so the API does not replace it. "
        "Edit the file by hand, or delete it first to let the API manage 'topengineer.us'."
    )
    assert path.read_bytes() == before


def test_remove_api_file(tmp_path: Path) -> None:
    path = write_spec(tmp_path, SPECS[0], SpecAuthor.API)

    removed = remove_spec_file(tmp_path, SPECS[0].name)

    assert removed is True
    assert not path.exists()


def test_remove_missing_file(tmp_path: Path) -> None:
    assert remove_spec_file(tmp_path, "api") is False


def test_remove_operator_file_raises(tmp_path: Path) -> None:
    path = write_spec(tmp_path, SPECS[0], SpecAuthor.OPERATOR)

    with pytest.raises(OperatorSpecFileError) as raised:
        remove_spec_file(tmp_path, SPECS[0].name)

    assert str(raised.value) == (
        f"The spec file {path} was written by an operator, so the API does not remove it. "
        "Delete the file by hand to remove the pipeline."
    )
    assert path.exists()


@pytest.mark.parametrize("name", ["../escape", "a/b", "", ".hidden", "UPPER"])
def test_invalid_name_rejected(tmp_path: Path, name: str) -> None:
    with pytest.raises(SpecFileError, match=f"^{name!r} is not a valid spec name. Spec names are"):
        remove_spec_file(tmp_path, name)


def test_symlink_escape_rejected(tmp_path: Path) -> None:
    directory = tmp_path / "pipelines.d"
    directory.mkdir()
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("keep: me\n", encoding="utf-8")
    (directory / "topengineer.us.yaml").symlink_to(outside)

    with pytest.raises(SpecFileError, match="outside .*pipelines.d. Remove the symbolic link"):
        write_spec(directory, SPECS[0], SpecAuthor.OPERATOR)

    assert outside.read_text(encoding="utf-8") == "keep: me\n"


def test_missing_directory_write_fails(tmp_path: Path) -> None:
    directory = tmp_path / "missing"

    with pytest.raises(SpecFileError) as raised:
        write_spec(directory, SPECS[0], SpecAuthor.API)

    assert str(raised.value) == (
        f"Cannot write the spec file {directory / 'topengineer.us.yaml'}: No such file or directory. "
        "Check that the directory exists and that ccm may write to it."
    )


def test_concurrent_reader_sees_whole_files(tmp_path: Path) -> None:
    # Large enough that a write takes several system calls: 50 branches of 200 characters.
    branches = [f"release/{index:03d}-" + "x" * 191 for index in range(50)]
    versions = [
        SPECS[0].model_copy(update={"config": PipelineConfig(trigger_branches=branches)}),
        SPECS[0].model_copy(update={"enabled": False}),
    ]
    write_spec(tmp_path, versions[0], SpecAuthor.API)
    done = threading.Event()

    def rewrite() -> None:
        try:
            for round_number in range(60):
                write_spec(tmp_path, versions[round_number % 2], SpecAuthor.API)
        finally:
            done.set()

    writer = threading.Thread(target=rewrite)
    writer.start()
    loads = 0
    while not done.is_set():
        specs = load_specs(tmp_path)
        loads += 1
        assert specs.errors == []
        assert specs.specs[SPECS[0].name] in versions
    writer.join()

    assert loads > 1
    assert [path.name for path in tmp_path.iterdir()] == ["topengineer.us.yaml"]


def test_temporary_name_ignored() -> None:
    assert not is_spec_file(Path(".topengineer.us.yaml.0a1b2c3d.tmp"))
