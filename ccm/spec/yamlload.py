"""A strict YAML reader for spec files that keeps the line and column of every value.

PyYAML's ``safe_load`` silently keeps the last of two equal keys, expands aliases without bound
(a few lines of nested aliases can fill the memory) and does not record where each value was
written. This
module composes the documents with PyYAML, rejects anchors and aliases, limits nesting, reports
duplicate keys, and builds the Python values itself while recording each node's position by path,
such as ``("config", "trigger_branches", 1)``.

Scalars keep YAML 1.1 resolution (``yes`` is a boolean, ``1.0`` a float, ``2026-01-05`` a date)
so that a file means what every PyYAML-based tool reads. The strict spec models then reject those
values where text belongs, and ``Located`` keeps the source text so the error can say to quote it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
import yaml.cyaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

# Specs nest three levels deep (spec, config, trigger_branches). The limit keeps PyYAML's recursive
# composer far from Python's recursion limit on files such as 100,000 opening brackets.
MAX_DEPTH = 32

STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_TAG_PREFIX = "tag:yaml.org,2002:"
# The scalar types of YAML 1.1 that PyYAML resolves without a tag, besides text.
_TAG_KINDS = {
    "tag:yaml.org,2002:bool": "a boolean",
    "tag:yaml.org,2002:int": "a number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:null": "null (no value)",
    "tag:yaml.org,2002:timestamp": "a date",
}

FieldPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Position:
    """A place in the text, both numbers 1-based."""

    line: int
    column: int

    @classmethod
    def of(cls, mark: yaml.Mark) -> Position:
        return cls(line=mark.line + 1, column=mark.column + 1)


@dataclass(frozen=True, slots=True)
class Located:
    """Where one value of a document was written and how YAML resolved it."""

    value: Position
    key: Position | None  # the key's position, for values inside a mapping
    tag: str
    text: str | None  # the source text of a scalar; None for mappings and sequences
    plain: bool  # a scalar written without quotes or block indicators

    def resolved_kind(self) -> str | None:
        """Name what YAML made of an unquoted scalar that is not text, such as ``a boolean``."""
        if self.text is None or not self.plain:
            return None
        return _TAG_KINDS.get(self.tag)


@dataclass(frozen=True, slots=True)
class YamlProblem:
    """A defect inside one document that does not stop reading the rest of the file."""

    path: FieldPath
    position: Position
    message: str


@dataclass(slots=True)
class YamlDocument:
    """One document of a file: its value, the position of each value by path, and its problems."""

    value: Any
    start: Position
    locations: dict[FieldPath, Located] = field(default_factory=dict)
    problems: list[YamlProblem] = field(default_factory=list)


class YamlSyntaxError(Exception):
    """Text that YAML cannot read at all; the documents after it are lost."""

    def __init__(self, message: str, position: Position | None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


class _StrictComposer(yaml.composer.Composer):
    """PyYAML's composer that rejects anchors and aliases and limits nesting while composing."""

    _depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()
        if isinstance(event, AliasEvent) or getattr(event, "anchor", None) is not None:
            raise YamlSyntaxError(
                "Anchors (&name) and aliases (*name) are not supported in spec files. "
                "Write each value out in full.",
                Position.of(event.start_mark),
            )
        if self._depth >= MAX_DEPTH:
            raise YamlSyntaxError(
                f"The YAML nests deeper than {MAX_DEPTH} levels, but a spec needs three at most. "
                "Check the brackets and indentation.",
                Position.of(event.start_mark),
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _PythonStrictLoader(
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
    _StrictComposer,
    yaml.constructor.SafeConstructor,
    yaml.resolver.Resolver,
):
    """The strict loader on PyYAML's pure-Python parser, for installs without libyaml."""

    def __init__(self, text: str) -> None:
        yaml.reader.Reader.__init__(self, text)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        _StrictComposer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)


_StrictLoader: type[Any] = _PythonStrictLoader
if yaml.__with_libyaml__:

    class _LibyamlStrictLoader(
        _StrictComposer, yaml.cyaml.CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver
    ):
        """The strict loader on libyaml's parser, which reads about ten times faster.

        Composing stays in Python, so the checks of ``_StrictComposer`` still run: the composer
        comes before ``CParser`` in the bases, whose own composer in C would skip them.
        """

        def __init__(self, text: str) -> None:
            yaml.cyaml.CParser.__init__(self, text)
            _StrictComposer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    _StrictLoader = _LibyamlStrictLoader


def parse_documents(text: str) -> Iterator[YamlDocument]:
    """Yield the documents of ``text`` in order, raising ``YamlSyntaxError`` where reading stops.

    An empty document (nothing, only comments, or ``null``) is skipped. Documents before a syntax
    error have been yielded by the time it is raised.
    """
    # PyYAML's Python reader checks the whole text for characters YAML forbids (control
    # characters other than tab and line breaks) when it is created, and names the character.
    try:
        yaml.reader.Reader(text)
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        raise YamlSyntaxError(
            f"The file contains the control character U+{error.character:04X}, which YAML does "
            "not allow. Remove it.",
            Position(line=line, column=error.position - text.rfind("\n", 0, error.position)),
        ) from error

    loader = _StrictLoader(text)
    try:
        while True:
            try:
                if not loader.check_node():
                    return
                node = loader.get_node()
            except yaml.MarkedYAMLError as error:
                raise YamlSyntaxError(_describe_yaml_error(error), _mark_position(error)) from error
            document = YamlDocument(value=None, start=Position.of(node.start_mark))
            document.value = _Builder(loader, document).build(node, (), key=None)
            if document.value is not None or document.problems:
                yield document
    finally:
        loader.dispose()


class _Builder:
    """Converter of composed nodes to Python values that records positions and problems."""

    def __init__(self, loader: _StrictComposer, document: YamlDocument) -> None:
        self._loader = loader
        self._document = document

    def build(self, node: Node, path: FieldPath, key: Position | None) -> Any:
        text = node.value if isinstance(node, ScalarNode) else None
        # The Python parser reports a plain scalar with style None, libyaml with "".
        plain = isinstance(node, ScalarNode) and not node.style
        self._document.locations[path] = Located(
            value=Position.of(node.start_mark), key=key, tag=node.tag, text=text, plain=plain
        )
        if isinstance(node, MappingNode):
            return self._build_mapping(node, path)
        if isinstance(node, SequenceNode):
            return self._build_sequence(node, path)
        return self._build_scalar(node, path)

    def _build_mapping(self, node: MappingNode, path: FieldPath) -> dict[str, Any] | None:
        if node.tag != _MAP_TAG:
            self._unsupported_tag(path, node)
            return None
        mapping: dict[str, Any] = {}
        first_seen: dict[str, Position] = {}
        for key_node, value_node in node.value:
            key_position = Position.of(key_node.start_mark)
            key = self._build_key(key_node, path)
            if key is None:
                continue
            if key in first_seen:
                self._problem(
                    (*path, key),
                    key_node,
                    f"The key {key!r} appears twice in this mapping, first on line "
                    f"{first_seen[key].line}. Remove one of them.",
                )
                continue
            first_seen[key] = key_position
            mapping[key] = self.build(value_node, (*path, key), key=key_position)
        return mapping

    def _build_key(self, node: Node, path: FieldPath) -> str | None:
        if isinstance(node, ScalarNode) and node.tag == _MERGE_TAG:
            self._problem(
                path,
                node,
                "Merge keys (<<) are not supported in spec files. Write the fields out in full.",
            )
            return None
        if not isinstance(node, ScalarNode):
            self._problem(
                path,
                node,
                "A mapping or list cannot be a key. Keys are field names, such as auto_deploy.",
            )
            return None
        if node.tag != STR_TAG:
            kind = _TAG_KINDS.get(node.tag, f"a value tagged {_short_tag(node.tag)}")
            self._problem(
                path,
                node,
                f"YAML reads the key {node.value} as {kind}, but keys are field names, such as "
                "auto_deploy. Rename the key, or quote it if it is meant as text.",
            )
            return None
        return str(node.value)

    def _build_sequence(self, node: SequenceNode, path: FieldPath) -> list[Any] | None:
        if node.tag != _SEQ_TAG:
            self._unsupported_tag(path, node)
            return None
        return [self.build(item, (*path, index), key=None) for index, item in enumerate(node.value)]

    def _build_scalar(self, node: ScalarNode, path: FieldPath) -> Any:
        if node.tag != STR_TAG and node.tag not in _TAG_KINDS:
            self._unsupported_tag(path, node)
            return None
        # ValueError covers text that matches a resolver but not its type, such as the date
        # 2026-13-45 or an integer longer than Python's digit limit.
        try:
            return self._loader.construct_object(node)
        except ValueError as error:
            self._problem(
                path,
                node,
                f"YAML cannot read {node.value!r}: {error}. Write it in quotes if it is text.",
            )
            return None

    def _unsupported_tag(self, path: FieldPath, node: Node) -> None:
        tag = _short_tag(node.tag)
        self._problem(path, node, f"The tag {tag} is not supported in spec files. Remove it.")

    def _problem(self, path: FieldPath, node: Node, message: str) -> None:
        self._document.problems.append(YamlProblem(path, Position.of(node.start_mark), message))


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG_PREFIX) if tag.startswith(_TAG_PREFIX) else tag


def _mark_position(error: yaml.MarkedYAMLError) -> Position | None:
    mark = error.problem_mark or error.context_mark
    return Position.of(mark) if mark is not None else None


def _describe_yaml_error(error: yaml.MarkedYAMLError) -> str:
    """Word a PyYAML error as one sentence that starts with ``Invalid YAML:``.

    PyYAML's own text names the stream ``<unicode string>`` and repeats the marks, so only its
    context and problem phrases are kept.
    """
    if error.problem and "exceeded maximum nesting depth" in error.problem:
        # libyaml stops at its own depth limit (1,000) before the composer's check runs.
        return (
            f"The YAML nests deeper than {MAX_DEPTH} levels, but a spec needs three at most. "
            "Check the brackets and indentation."
        )
    parts = [part for part in (error.context, error.problem) if part]
    detail = ", ".join(parts) if parts else "the text cannot be parsed"
    if error.context_mark is not None and error.problem_mark is not None:
        if error.context_mark.line != error.problem_mark.line:
            detail += f" (the construct starts on line {error.context_mark.line + 1})"
    return f"Invalid YAML: {detail}."
