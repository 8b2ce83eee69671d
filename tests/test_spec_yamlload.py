"""The strict YAML reader: values, positions by path, and what it rejects."""

from __future__ import annotations

import datetime

import pytest

from ccm.spec.yamlload import Position, YamlSyntaxError, parse_documents

TEXT = """\
# leading comment
---
name: api
config:
  trigger_branches:
    - main
    - "2026-01-05"
  auto_deploy: no
---
---
~
---
- 2026-01-05
"""


def test_values_and_positions() -> None:
    first, second = parse_documents(TEXT)

    assert first.value == {
        "name": "api",
        "config": {"trigger_branches": ["main", "2026-01-05"], "auto_deploy": False},
    }
    assert first.start == Position(line=3, column=1)
    assert first.locations[("config",)].key == Position(line=4, column=1)
    assert first.locations[("config", "trigger_branches", 1)].value == Position(line=7, column=7)
    assert first.locations[("config", "auto_deploy")].value == Position(line=8, column=16)
    assert second.value == [datetime.date(2026, 1, 5)]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("yes", "a boolean"),
        ("Off", "a boolean"),
        ("1.0", "a number"),
        ("0x1f", "a number"),
        ("2026-01-05", "a date"),
        ("~", "null (no value)"),
        ("'yes'", None),
        ("text", None),
    ],
)
def test_resolved_kind(text: str, kind: str | None) -> None:
    (document,) = parse_documents(f"value: {text}\n")

    assert document.locations[("value",)].resolved_kind() == kind


def test_syntax_error_after_documents() -> None:
    documents = parse_documents("a: 1\n---\nb: [1\n")

    assert next(documents).value == {"a": 1}
    with pytest.raises(YamlSyntaxError) as raised:
        next(documents)
    assert raised.value.position == Position(line=4, column=1)
    assert raised.value.message == (
        "Invalid YAML: while parsing a flow sequence, did not find expected ',' or ']' "
        "(the construct starts on line 3)."
    )


def test_alias_rejected_before_expansion() -> None:
    with pytest.raises(YamlSyntaxError) as raised:
        list(parse_documents("a: 1\nb: *x\n"))

    assert raised.value.position == Position(line=2, column=4)


def test_duplicate_key_keeps_first() -> None:
    (document,) = parse_documents("a: 1\nb: 2\na: 3\n")

    assert document.value == {"a": 1, "b": 2}
    assert [(problem.path, problem.position.line) for problem in document.problems] == [(("a",), 3)]


def test_python_parser_same_checks() -> None:
    """Installs without libyaml use PyYAML's Python parser with the same strict composer."""
    from ccm.spec import yamlload

    loader = yamlload._PythonStrictLoader("name: web\nconfig: {auto_deploy: true}\n")
    assert loader.check_node()
    node = loader.get_node()
    assert node.value[1][1].value[0][0].value == "auto_deploy"

    aliased = yamlload._PythonStrictLoader("a: &x 1\nb: *x\n")
    assert aliased.check_node()
    with pytest.raises(YamlSyntaxError, match="Anchors"):
        aliased.get_node()
