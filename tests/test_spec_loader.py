"""Loading pipelines.d/: which files are read, and errors located by file, line and field."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ccm.spec import (
    PipelineConfig,
    PipelineSpec,
    SpecAuthor,
    SpecDirectoryError,
    SpecError,
    is_spec_file,
    load_specs,
)
from ccm.spec.loader import MAX_FILE_BYTES

VALID = """\
name: api
repository: acme/api
workflow_file: .github/workflows/deploy.yml
"""


def write(directory: Path, name: str, text: str | bytes) -> Path:
    path = directory / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def only_error(directory: Path) -> SpecError:
    errors = load_specs(directory).errors
    assert len(errors) == 1, [str(error) for error in errors]
    return errors[0]


# (id, file text, line, field, message fragment)
BAD_INPUTS = [
    (
        "syntax",
        VALID + "config:\n  auto_deploy: [true\n",
        6,
        "",
        "Invalid YAML: while parsing a flow sequence",
    ),
    (
        "unknown-top-field",
        VALID + "enable: true\n",
        4,
        "enable",
        "Unknown field 'enable'. Did you mean enabled?",
    ),
    (
        "unknown-nested-field",
        VALID + "config:\n  environment: staging\n  autodeploy: false\n",
        6,
        "config.autodeploy",
        "Did you mean auto_deploy? The fields here are trigger_branches, environment, auto_deploy,",
    ),
    (
        "bool-as-text",
        VALID + "config:\n  auto_deploy: 'false'\n",
        5,
        "config.auto_deploy",
        "Input should be a valid boolean. Write true or false without quotes.",
    ),
    (
        "number-as-bool",
        VALID + "enabled: 1\n",
        4,
        "enabled",
        "Input should be a valid boolean. Write true or false.",
    ),
    (
        "yes-as-string",
        VALID + "vps:\n  linked_app: yes\n",
        5,
        "vps.linked_app",
        'YAML reads yes as a boolean, so write "yes" in quotes to keep it as text.',
    ),
    (
        "on-as-string",
        VALID + "config:\n  environment: on\n",
        5,
        "config.environment",
        'YAML reads on as a boolean, so write "on" in quotes',
    ),
    (
        "float-as-string",
        VALID + "config:\n  environment: 1.0\n",
        5,
        "config.environment",
        'YAML reads 1.0 as a number, so write "1.0" in quotes',
    ),
    (
        "date-in-list",
        VALID + "config:\n  trigger_branches:\n    - main\n    - 2026-01-05\n",
        7,
        "config.trigger_branches[1]",
        'YAML reads 2026-01-05 as a date, so write "2026-01-05" in quotes',
    ),
    (
        "null-as-string",
        VALID + "config:\n  environment:\n",
        5,
        "config.environment",
        "The value is empty. Write a text value.",
    ),
    (
        "invalid-date",
        VALID + "vps:\n  linked_app: 2026-13-45\n",
        5,
        "vps.linked_app",
        "YAML cannot read '2026-13-45': month must be in 1..12. Write it in quotes if it is text.",
    ),
    (
        "duplicate-key",
        VALID + "enabled: true\nenabled: false\n",
        5,
        "enabled",
        "The key 'enabled' appears twice in this mapping, first on line 4. Remove one of them.",
    ),
    (
        "duplicate-nested-key",
        VALID + "config:\n  auto_deploy: true\n  environment: x\n  auto_deploy: false\n",
        7,
        "config.auto_deploy",
        "appears twice in this mapping, first on line 5.",
    ),
    (
        "anchor",
        VALID + "config: &base\n  auto_deploy: false\n",
        4,
        "",
        "Anchors (&name) and aliases (*name) are not supported",
    ),
    (
        "merge-key",
        VALID + "config:\n  <<: {auto_deploy: false}\n",
        5,
        "config",
        "Merge keys (<<) are not supported in spec files.",
    ),
    (
        "boolean-key",
        VALID + "yes: 1\n",
        4,
        "",
        "YAML reads the key yes as a boolean, but keys are field names",
    ),
    (
        "custom-tag",
        VALID + "vps:\n  linked_app: !secret app\n",
        5,
        "vps.linked_app",
        "The tag !secret is not supported in spec files. Remove it.",
    ),
    (
        "missing-field",
        "# comment\nname: api\nworkflow_file: .github/workflows/deploy.yml\n",
        2,
        "repository",
        "The required field repository is missing. Add it to this spec.",
    ),
    (
        "bad-name",
        VALID.replace("name: api", "name: My_API"),
        1,
        "name",
        "'My_API' is not a valid spec name. Spec names are 1 to 64 lowercase letters",
    ),
    (
        "bad-repository",
        VALID.replace("acme/api", "acme"),
        2,
        "repository",
        "'acme' is not a valid repository. Write it as owner/name",
    ),
    (
        "bad-workflow-file",
        VALID.replace(".github/workflows/deploy.yml", "deploy.yml"),
        3,
        "workflow_file",
        "Write the path of the workflow in its repository, such as .github/workflows/deploy.yml.",
    ),
    (
        "bad-branch",
        VALID + "config:\n  trigger_branches: [main, 'feature..x']\n",
        5,
        "config.trigger_branches",
        "'feature..x' is not a valid Git branch name. Branch names are",
    ),
    (
        "empty-branch-list",
        VALID + "config:\n  trigger_branches: []\n",
        5,
        "config.trigger_branches",
        "List should have at least 1 item after validation, not 0.",
    ),
    (
        "list-expected",
        VALID + "config:\n  trigger_branches: main\n",
        5,
        "config.trigger_branches",
        "Input should be a list.",
    ),
    (
        "mapping-expected",
        VALID + "vps: myapp\n",
        4,
        "vps",
        "Input should be a mapping of fields",
    ),
    (
        "document-is-list",
        "- name: api\n",
        1,
        "",
        "The document is a list, but a spec must be a mapping of fields",
    ),
    (
        "document-is-scalar",
        "just text\n",
        1,
        "",
        "The document is the single value 'just text', but a spec must be a mapping",
    ),
    (
        "control-character",
        VALID + "vps:\n  linked_app: a\x07b\n",
        5,
        "",
        "The file contains the control character U+0007, which YAML does not allow.",
    ),
    (
        "nul-byte",
        VALID + "vps:\n  linked_app: a\x00b\n",
        5,
        "",
        "The file contains a NUL byte, so it is not text. Save the spec as UTF-8 text.",
    ),
    (
        "latin-1",
        (VALID + "vps:\n  linked_app: caf\xe9\n").encode("latin-1"),
        5,
        "",
        "The file is not valid UTF-8: byte 0xe9 cannot be decoded.",
    ),
    (
        "domain-escape-sequence",
        VALID + 'vps:\n  linked_domain: "\\e]0;pwned\\a\\e[31mRED"\n',
        5,
        "vps.linked_domain",
        "'\\x1b]0;pwned\\x07\\x1b[31mRED' is not a valid domain name. Domain names are labels of "
        "letters, digits and hyphens separated by dots, such as topengineer.us. A label has 1 to 63 "
        "characters and does not start or end with a hyphen, and the whole name has at most 253 "
        "characters.",
    ),
    (
        "domain-label-too-long",
        VALID + f"vps:\n  linked_domain: {'a' * 64}.example.com\n",
        5,
        "vps.linked_domain",
        "is not a valid domain name.",
    ),
    (
        "domain-too-long",
        VALID + f"vps:\n  linked_domain: {'.'.join(['a' * 60] * 5)}\n",
        5,
        "vps.linked_domain",
        "is not a valid domain name.",
    ),
    (
        "domain-markup",
        VALID + 'vps:\n  linked_domain: "[red]x[/red]"\n',
        5,
        "vps.linked_domain",
        "'[red]x[/red]' is not a valid domain name.",
    ),
    (
        "app-line-break",
        VALID + 'vps:\n  linked_app: "x\\ny"\n',
        5,
        "vps.linked_app",
        "'x\\ny' is not a valid app name. App names are 1 to 100 letters, digits, '.', '_' or '-', "
        "starting with a letter or digit, such as topengineer-api.",
    ),
    (
        "app-leading-dot",
        VALID + "vps:\n  linked_app: .hidden\n",
        5,
        "vps.linked_app",
        "'.hidden' is not a valid app name.",
    ),
    (
        "app-too-long",
        VALID + f"vps:\n  linked_app: {'a' * 101}\n",
        5,
        "vps.linked_app",
        "is not a valid app name.",
    ),
    (
        "requester-escape",
        VALID + 'vps:\n  requested_by: "ops\\e[2J"\n',
        5,
        "vps.requested_by",
        "'ops\\x1b[2J' is not a valid requester. Write 1 to 100 printable ASCII characters (letters, "
        "digits, spaces and punctuation), such as vps-manager.",
    ),
    (
        "requester-empty",
        VALID + 'vps:\n  requested_by: ""\n',
        5,
        "vps.requested_by",
        "'' is not a valid requester.",
    ),
    (
        "branch-c1-control",
        VALID + 'config:\n  trigger_branches: ["main\\x9b31m"]\n',
        5,
        "config.trigger_branches",
        "'main\\x9b31m' is not a valid Git branch name.",
    ),
    (
        "branch-delete-character",
        VALID + 'config:\n  trigger_branches: ["main\\x7f"]\n',
        5,
        "config.trigger_branches",
        "'main\\x7f' is not a valid Git branch name.",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "field", "fragment"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_input_located(tmp_path: Path, text: str | bytes, line: int, field: str, fragment: str) -> None:
    write(tmp_path, "api.yaml", text)

    error = only_error(tmp_path)

    assert error.file == "api.yaml"
    assert error.line == line
    assert error.field == field
    assert fragment in error.message


def test_error_str_format(tmp_path: Path) -> None:
    write(tmp_path, "api.yaml", VALID + "enabled: true\nconfig:\n  auto_deploy: maybe\n")

    error = only_error(tmp_path)

    assert str(error) == (
        "api.yaml:6: config.auto_deploy: Input should be a valid boolean. Write true or false."
    )
    assert error.column == 16


def test_bad_file_loads_nothing(tmp_path: Path) -> None:
    second = VALID.replace("api", "web")
    write(tmp_path, "fleet.yaml", f"{VALID}---\n{second}enabled: maybe\n")
    write(tmp_path, "other.yaml", VALID.replace("api", "other"))

    specs = load_specs(tmp_path)

    assert set(specs.specs) == {"other"}
    assert specs.broken_files == frozenset({"fleet.yaml"})
    assert [str(error) for error in specs.errors] == [
        "fleet.yaml:8: enabled: Input should be a valid boolean. Write true or false."
    ]


def test_several_errors_in_one_file(tmp_path: Path) -> None:
    write(tmp_path, "api.yaml", "name: API\nrepository: acme\nworkflow_file: x.yml\nextra: 1\n")

    errors = load_specs(tmp_path).errors

    assert [(error.line, error.field) for error in errors] == [
        (1, "name"),
        (2, "repository"),
        (3, "workflow_file"),
        (4, "extra"),
    ]


def test_errors_before_syntax_error_kept(tmp_path: Path) -> None:
    write(tmp_path, "api.yaml", f"{VALID}enabled: maybe\n---\nname: [web\n")

    errors = load_specs(tmp_path).errors

    assert [(error.line, error.field) for error in errors] == [(4, "enabled"), (7, "")]
    assert errors[1].message.startswith("Invalid YAML:")


def test_multi_document_file(tmp_path: Path) -> None:
    text = (
        "# Specs of the acme fleet.\n"
        "---\n"
        f"{VALID}"
        "---\n"
        "---\n"
        "# an empty document between two markers\n"
        "---\n"
        "name: topengineer.us\n"
        "repository: acme/site\n"
        "workflow_file: .github/workflows/pages.yaml\n"
        "enabled: false\n"
        "config:\n"
        "  trigger_branches: [main, release/v2]\n"
        "  environment: '1.0'\n"
        "  auto_deploy: false\n"
        "vps:\n"
        "  linked_domain: topengineer.us\n"
        "  linked_app: 'yes'\n"
        "...\n"
    )
    write(tmp_path, "fleet.yml", text)

    specs = load_specs(tmp_path)

    assert specs.errors == []
    assert list(specs.specs) == ["api", "topengineer.us"]
    assert specs.files == {"api": "fleet.yml", "topengineer.us": "fleet.yml"}
    site = specs.specs["topengineer.us"]
    assert site.enabled is False
    assert site.config == PipelineConfig(
        trigger_branches=["main", "release/v2"], environment="1.0", auto_deploy=False
    )
    assert site.vps.linked_app == "yes"
    assert specs.specs["api"] == PipelineSpec(
        name="api", repository="acme/api", workflow_file=".github/workflows/deploy.yml"
    )


def test_files_in_sorted_order(tmp_path: Path) -> None:
    for name in ("b", "c", "a"):
        write(tmp_path, f"{name}.yaml", VALID.replace("api", name) + "enabled: maybe\n")

    errors = load_specs(tmp_path).errors

    assert [error.file for error in errors] == ["a.yaml", "b.yaml", "c.yaml"]


def test_empty_directory_loads_empty(tmp_path: Path) -> None:
    specs = load_specs(tmp_path)

    assert specs.specs == {}
    assert specs.errors == []


def test_empty_file_loads_empty(tmp_path: Path) -> None:
    write(tmp_path, "empty.yaml", "# nothing yet\n")

    specs = load_specs(tmp_path)

    assert specs.specs == {}
    assert specs.errors == []
    assert specs.broken_files == frozenset()


@pytest.mark.parametrize(
    "name",
    [
        "api.yaml",
        "api.yml",
        "topengineer.us.yaml",
    ],
)
def test_spec_file_names(name: str) -> None:
    assert is_spec_file(Path("/srv/pipelines.d") / name)


@pytest.mark.parametrize(
    "name",
    [
        ".hidden.yaml",
        ".#api.yaml",
        "#api.yaml#",
        "api.yaml~",
        ".api.yaml.swp",
        ".api.yaml.swx",
        "api.yaml.bak",
        "api.yaml.orig",
        "api.yaml.tmp",
        "4913",
        ".~lock.api.yaml#",
        "~api.yaml",
        "api.json",
        "README.md",
        "api.YAML",
    ],
)
def test_ignored_file_names(tmp_path: Path, name: str) -> None:
    write(tmp_path, name, "this: [is not valid")

    assert not is_spec_file(tmp_path / name)
    assert load_specs(tmp_path).errors == []


def test_subdirectory_not_read(tmp_path: Path) -> None:
    (tmp_path / "disabled").mkdir()
    write(tmp_path / "disabled", "old.yaml", VALID)
    (tmp_path / "dir.yaml").mkdir()

    specs = load_specs(tmp_path)

    assert specs.specs == {}
    assert specs.errors == []


def test_duplicate_name_across_files(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", VALID)
    write(tmp_path, "b.yaml", "# second copy\n" + VALID.replace("acme/api", "acme/other"))
    write(tmp_path, "c.yaml", VALID.replace("api", "web"))

    specs = load_specs(tmp_path)

    assert set(specs.specs) == {"web"}
    assert specs.broken_files == frozenset({"a.yaml", "b.yaml"})
    assert [str(error) for error in specs.errors] == [
        "a.yaml:1: name: The spec name 'api' is also used at b.yaml:2. Spec names must be unique "
        "in the spec directory, so rename or remove all but one.",
        "b.yaml:2: name: The spec name 'api' is also used at a.yaml:1. Spec names must be unique "
        "in the spec directory, so rename or remove all but one.",
    ]


def test_duplicate_name_in_one_file(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", f"{VALID}---\n{VALID.replace('acme/api', 'acme/other')}")

    specs = load_specs(tmp_path)

    assert specs.specs == {}
    assert [(error.line, error.field) for error in specs.errors] == [(1, "name"), (5, "name")]
    assert "is also used at a.yaml:5." in specs.errors[0].message
    assert "is also used at a.yaml:1." in specs.errors[1].message


def test_duplicate_workflow_claim(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", VALID)
    write(tmp_path, "b.yaml", VALID.replace("name: api", "name: api-copy").replace("acme/", "ACME/"))

    specs = load_specs(tmp_path)

    assert specs.specs == {}
    assert specs.broken_files == frozenset({"a.yaml", "b.yaml"})
    assert [str(error) for error in specs.errors] == [
        "a.yaml:3: workflow_file: The workflow .github/workflows/deploy.yml of acme/api is also "
        "claimed by spec 'api-copy' at b.yaml:1. A workflow belongs to one spec only, so remove "
        "or change all but one.",
        "b.yaml:3: workflow_file: The workflow .github/workflows/deploy.yml of ACME/api is also "
        "claimed by spec 'api' at a.yaml:1. A workflow belongs to one spec only, so remove or "
        "change all but one.",
    ]


def test_oversized_file_not_read(tmp_path: Path) -> None:
    padding = "# padding\n" * (MAX_FILE_BYTES // 10 + 1)
    write(tmp_path, "big.yaml", VALID + padding)

    error = only_error(tmp_path)

    assert error.file == "big.yaml"
    assert error.line is None
    assert error.message == (
        f"The file is {len(VALID) + len(padding)} bytes, larger than the limit of 262144 bytes, "
        "so it was not read. Split the specs into several files."
    )


def test_alias_bomb_rejected(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 30)]
    write(tmp_path, "bomb.yaml", "\n".join(lines) + "\n")

    error = only_error(tmp_path)

    assert (error.file, error.line) == ("bomb.yaml", 1)
    assert error.message.startswith("Anchors (&name) and aliases (*name) are not supported")


def test_deep_nesting_rejected(tmp_path: Path) -> None:
    write(tmp_path, "deep.yaml", "[" * 100_000)

    error = only_error(tmp_path)

    assert error.line == 1
    assert "nests deeper than 32 levels" in error.message


def test_symlink_inside_followed(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    write(tmp_path / "shared", "api.spec", VALID)
    (tmp_path / "api.yaml").symlink_to("shared/api.spec")

    specs = load_specs(tmp_path)

    assert list(specs.specs) == ["api"]
    assert specs.files == {"api": "api.yaml"}


def test_symlink_outside_rejected(tmp_path: Path) -> None:
    outside = write(tmp_path, "outside.yaml", VALID)
    directory = tmp_path / "pipelines.d"
    directory.mkdir()
    (directory / "api.yaml").symlink_to(outside)

    error = only_error(directory)

    assert error.file == "api.yaml"
    assert error.message == (
        f"The file is a symbolic link to {outside}, outside the spec directory {directory}. "
        "Copy the spec into the directory or remove the link."
    )


def test_dangling_symlink_rejected(tmp_path: Path) -> None:
    (tmp_path / "api.yaml").symlink_to("gone.yaml")

    error = only_error(tmp_path)

    assert error.message == (
        f"The file is a symbolic link to {tmp_path / 'gone.yaml'}, which does not exist. Remove the link."
    )


def test_fifo_rejected(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "api.yaml")

    error = only_error(tmp_path)

    assert error.message == "The file is not a regular file. Replace it with a YAML file or remove it."


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "api.yaml", VALID)
    path.chmod(0)

    error = only_error(tmp_path)

    assert error.message == (
        "Cannot read the file: Permission denied. Give the user that runs ccm read access to it."
    )


def test_missing_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(SpecDirectoryError) as raised:
        load_specs(tmp_path / "pipelines.d")

    assert str(raised.value) == (
        f"The spec directory {tmp_path / 'pipelines.d'} does not exist. Create it, or point "
        "--pipelines-dir (or CCM_PIPELINES_DIR) at the spec directory."
    )


def test_file_as_directory_raises(tmp_path: Path) -> None:
    path = write(tmp_path, "pipelines.d", VALID)

    with pytest.raises(SpecDirectoryError, match="is not a directory. Create it, or point"):
        load_specs(path)


def test_author_from_marker(tmp_path: Path) -> None:
    write(tmp_path, "api.yaml", "# Managed by the ccm API: edits are kept.\n" + VALID)
    write(tmp_path, "web.yaml", "# Managed by hand.\n" + VALID.replace("api", "web"))

    specs = load_specs(tmp_path)

    assert specs.authors == {"api": SpecAuthor.API, "web": SpecAuthor.OPERATOR}
