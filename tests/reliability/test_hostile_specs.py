"""Hostile spec files: every input ends in a clear error or a valid spec, never a crash or a hang.

Three layers. A table of crafted files (alias bombs, deep nesting, huge files, binary, UTF-16,
Latin-1, duplicate keys, tags) each with the message it must produce. Property tests (hypothesis)
of ``load_specs`` on random bytes, random text, random YAML trees and mutated valid specs. And
property tests of whole reconcile passes with a hostile file in place of a registered spec: the
pipeline of a broken file keeps its record, and no other pipeline changes.
"""

from __future__ import annotations

import hashlib
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccm.pipeline import PipelineStatus
from ccm.spec import SpecSet, load_specs

from conftest import SOAK, FleetFactory, check_registry, report, spec_text, trials

FILE = "hostile.yaml"
VALID = (
    "name: web\nrepository: acme/web\nworkflow_file: .github/workflows/deploy.yml\n"
    "enabled: true\nconfig:\n  auto_deploy: true\n  trigger_branches: [main, production]\n"
    "vps:\n  linked_domain: example.com\n  linked_app: web\n"
)
# An unhurried bound on one load: the loader refuses big files at 256 KiB, so anything slower
# is a hang in the making.
MAX_LOAD_SECONDS = 5.0
FUZZ_EXAMPLES = trials(150, 1000)
PASS_EXAMPLES = trials(25, 1000)
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=not SOAK,
    database=None,
)


def billion_laughs() -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return "\n".join(lines) + "\nname: *a9\n"


def nested_mapping(depth: int) -> str:
    return "".join(f"{'  ' * level}k{level}:\n" for level in range(depth)) + "  " * depth + "v\n"


CRAFTED: dict[str, tuple[bytes, str]] = {
    "alias-bomb": (billion_laughs().encode(), "Anchors (&name) and aliases (*name) are not supported"),
    "brackets-100k": (b"[" * 100_000, "nests deeper than 32 levels"),
    "braces-5k": (b"{a: " * 5_000, "nests deeper than 32 levels"),
    "indent-200": (nested_mapping(200).encode(), "nests deeper than 32 levels"),
    "huge-file": (VALID.encode() + b"#" * (300 * 1024), "larger than the limit of 262144 bytes"),
    "huge-scalar": (b"name: " + b"a" * (250 * 1024) + b"\n", "name"),
    "binary": (bytes(range(256)) * 4, "NUL byte"),
    "utf16-bom": (VALID.encode("utf-16"), "NUL byte"),
    "utf16-le": (VALID.encode("utf-16-le"), "NUL byte"),
    "latin1": ("name: café\n".encode("latin-1"), "not valid UTF-8: byte 0xe9"),
    "duplicate-key": (VALID.encode() + b"name: other\n", "The key 'name' appears twice"),
    "merge-key": (b"base: {enabled: true}\n<<: {repository: acme/web}\n" + VALID.encode(), "Merge keys (<<)"),
    "python-tag": (b"name: !!python/object/apply:os.system ['true']\n", "is not supported in spec files"),
    "custom-tag": (b"name: !shell 'true'\n", "is not supported in spec files"),
    "control-char": (b"name: a\x07b\n", "control character U+0007"),
    "int-digits": (b"name: " + b"9" * 5_000 + b"\n", "YAML cannot read"),
    "bad-date": (b"name: 2026-13-45\n", "YAML cannot read"),
    "list-document": (b"- a\n- b\n", "mapping"),
    "scalar-document": (b"just text\n", "mapping"),
    "unclosed-quote": (b'name: "web\n', "Invalid YAML"),
    "tab-indent": (b"name: web\n\trepository: acme/web\n", "Invalid YAML"),
    "mapping-key": (b"? [a, b]\n: c\n", "cannot be a key"),
    "bool-key": (b"yes: 1\n", "reads the key yes as a boolean"),
    "many-documents": (b"---\nname: x\n" * 10_000, "The required field repository is missing"),
    "empty-file": (b"", "The file is empty"),
    "whitespace-file": (b"\n  \n\t\n", "The file is empty"),
    "bom-then-nul": (b"\xef\xbb\xbf" + b"\x00" * 10, "NUL byte"),
}


@contextmanager
def spec_directory(content: bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="ccm-hostile-") as directory:
        path = Path(directory)
        (path / FILE).write_bytes(content)
        yield path


def snapshot(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def load_checked(directory: Path) -> SpecSet:
    """Load ``directory`` and check what every load must satisfy, valid or not."""
    before = snapshot(directory)
    started = time.monotonic()
    specs = load_specs(directory)
    elapsed = time.monotonic() - started

    assert elapsed < MAX_LOAD_SECONDS, f"loading took {elapsed:.1f} s"
    assert snapshot(directory) == before, "loading changed the spec directory"
    assert (FILE in specs.broken_files) == bool(specs.errors)
    for error in specs.errors:
        assert error.file == FILE
        assert error.message.strip(), "an error without a message"
        assert error.message.rstrip().endswith((".", ")")), f"not a full sentence: {error.message!r}"
        assert error.line is None or error.line >= 1
    if specs.errors:
        assert not specs.specs, "a broken file contributed specs"
    for name in specs.specs:
        assert specs.files[name] == FILE
    return specs


@pytest.mark.parametrize("case", CRAFTED)
def test_crafted_spec_rejected(case: str) -> None:
    content, expected = CRAFTED[case]
    with spec_directory(content) as directory:
        specs = load_checked(directory)

    assert specs.errors, "a hostile file loaded without an error"
    assert any(expected in error.message or expected == error.field for error in specs.errors), [
        str(e) for e in specs.errors[:3]
    ]


@FUZZ
@given(content=st.binary(max_size=4096))
def test_random_bytes_load(content: bytes) -> None:
    with spec_directory(content) as directory:
        load_checked(directory)


@FUZZ
@given(text=st.text(max_size=2048), encoding=st.sampled_from(["utf-8", "utf-16", "latin-1", "utf-8-sig"]))
def test_random_text_load(text: str, encoding: str) -> None:
    with spec_directory(text.encode(encoding, errors="replace")) as directory:
        load_checked(directory)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.sampled_from(["acme/web", ".github/workflows/deploy.yml", "main", "web", "yes", "0x1f", "~"]),
)
keys = st.one_of(
    st.sampled_from(["name", "repository", "workflow_file", "enabled", "config", "vps", "auto_deploy",
                     "trigger_branches", "environment", "linked_domain", "requested_by"]),
    st.text(max_size=12),
)
trees = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=6),
    max_leaves=30,
)


@FUZZ
@given(documents=st.lists(trees, min_size=1, max_size=4))
def test_random_yaml_load(documents: list[object]) -> None:
    content = yaml.safe_dump_all(documents, allow_unicode=True).encode()
    with spec_directory(content) as directory:
        load_checked(directory)


@FUZZ
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), edits=st.integers(min_value=1, max_value=8))
def test_mutated_spec_load(seed: int, edits: int) -> None:
    rng = random.Random(seed)
    content = bytearray(VALID.encode())
    for _ in range(edits):
        position = rng.randrange(len(content) + 1)
        match rng.randrange(3):
            case 0:
                content[position:position] = bytes([rng.randrange(256)])
            case 1:
                del content[position : position + rng.randrange(1, 6)]
            case _:
                content[position:position] = rng.choice([b": ", b"\n", b"  ", b"- ", b"&a ", b"*a", b"!!", b"{", b"]", b"'", b"#"])
    with spec_directory(bytes(content)) as directory:
        load_checked(directory)


HOSTILE_CONTENT = st.one_of(
    st.binary(max_size=1024),
    st.sampled_from([content for content, _ in CRAFTED.values()]),
    st.lists(trees, min_size=1, max_size=2).map(lambda docs: yaml.safe_dump_all(docs).encode()),
)


@pytest.mark.slow
def test_hostile_file_holds_pipeline(make_fleet: FleetFactory) -> None:
    repositories = [
        {"full_name": f"acme/{name}", "workflows": [{"path": ".github/workflows/deploy.yml"}]}
        for name in ("web", "api")
    ]
    fleet = make_fleet({"repositories": repositories})
    fleet.write("web", spec_text("web", "acme/web"))
    fleet.write("api", spec_text("api", "acme/api"))
    assert fleet.reconcile().exit_code == 0
    registered = dict(fleet.engine.registry.load().pipelines)
    audit_lines = [len(fleet.engine.audit.read())]
    cases = {"held": 0, "valid": 0}

    @settings(
        max_examples=PASS_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=not SOAK,
        database=None,
    )
    @given(content=HOSTILE_CONTENT)
    def hostile_pass(content: bytes) -> None:
        (fleet.specs_dir / "web.yaml").write_bytes(content)
        result = fleet.reconcile()
        broken = "web.yaml" in {error.file for error in result.spec_errors}
        fleet.write("web", spec_text("web", "acme/web"))
        if not broken:
            # Content that happens to load (a comment, or valid specs) may change the fleet on
            # purpose. The real spec is restored and converged before the next example.
            cases["valid"] += 1
            assert fleet.reconcile(allow_prune=True).exit_code == 0
            registered.clear()
            registered.update(fleet.engine.registry.load().pipelines)
            audit_lines[0] = len(fleet.engine.audit.read())
            return

        cases["held"] += 1
        assert result.exit_code == 1
        assert "web" in {held.pipeline_name for held in result.plan.held}
        assert not result.results, [r.action.kind.value for r in result.results]
        assert fleet.engine.registry.load().pipelines == registered
        assert len(fleet.engine.audit.read()) == audit_lines[0]

    hostile_pass()
    data = check_registry(fleet.state_dir)
    assert {name: p.status for name, p in data.current_by_name().items()} == {
        "web": PipelineStatus.ACTIVE,
        "api": PipelineStatus.ACTIVE,
    }
    report(f"hostile spec passes: {PASS_EXAMPLES} examples, {cases['held']} held, {cases['valid']} valid by chance")
    assert cases["held"] >= PASS_EXAMPLES // 2


def test_truncated_file_no_teardown(make_fleet: FleetFactory) -> None:
    repositories = [
        {"full_name": f"acme/{name}", "workflows": [{"path": ".github/workflows/deploy.yml"}]}
        for name in ("web", "api", "docs")
    ]
    fleet = make_fleet({"repositories": repositories})
    for name in ("web", "api", "docs"):
        fleet.write(name, spec_text(name, f"acme/{name}"))
    assert fleet.reconcile().exit_code == 0
    before = fleet.current()

    # An editor saving web.yaml in place truncates it first; a pass may run in between.
    (fleet.specs_dir / "web.yaml").write_bytes(b"")
    result = fleet.reconcile()

    assert result.exit_code == 1
    assert [str(error) for error in result.spec_errors] == [
        "web.yaml: The file is empty, as a file in the middle of being written is, so its "
        "pipelines keep their last good spec. Write the spec into it, or delete the file to "
        "tear its pipelines down."
    ]
    assert not result.results
    assert fleet.current() == before
