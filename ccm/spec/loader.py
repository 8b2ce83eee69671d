"""Loading ``pipelines.d/``: every spec file, validated, with errors that name file, line and field.

Which files are read:

- Regular files directly in the directory whose names end in ``.yaml`` or ``.yml`` (see
  ``is_spec_file``). Subdirectories are not read, so an operator can park specs in, say,
  ``pipelines.d/disabled/``.
- A symbolic link is followed when its target lies inside the directory. A link that points
  outside is an error, because the directory is the one source of desired state and the file
  watcher does not report edits made outside it.
- A file larger than ``MAX_FILE_BYTES``, one that is not UTF-8 text or contains a NUL byte, one
  that is empty or only whitespace (a save in progress looks the same), and one that cannot be
  read are errors. A file of comments only loads as no specs.

A file with at least one error is *broken*: none of its specs is loaded, and the reconcile pass
keeps that file's pipelines at their last good spec. Two specs with the same name, or two that
claim the same workflow of the same repository, make every file involved broken.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from ccm.spec.messages import describe_error
from ccm.spec.models import PipelineSpec, SpecAuthor
from ccm.spec.writer import author_of
from ccm.spec.yamlload import (
    FieldPath,
    Position,
    YamlDocument,
    YamlSyntaxError,
    parse_documents,
)

logger = logging.getLogger(__name__)

# A spec is well under 1 KiB, so 256 KiB allows hundreds of specs in one file while bounding the
# memory and time that one pass spends on a mistaken file.
MAX_FILE_BYTES = 256 * 1024

SPEC_SUFFIXES = (".yaml", ".yml")
# Editors and tools write temporary, backup and lock files next to the file being edited: Vim
# (.x.swp, .x.swx, and the probe file 4913), Emacs (.#x, #x#, x~), LibreOffice (.~lock.x#),
# patch and merge tools (x.orig, x.rej), and others (x.bak, x.tmp). The suffix rule excludes the
# ones that keep the name in front, and the first-character rule excludes the others.
_IGNORED_FIRST_CHARACTERS = (".", "#", "~")


class SpecDirectoryError(Exception):
    """The spec directory is missing, not a directory, or cannot be listed."""


class SpecError(BaseModel):
    """One problem in one spec file, located as precisely as the YAML allows."""

    model_config = ConfigDict(frozen=True)

    file: str = Field(description="path relative to the spec directory")
    line: int | None = Field(default=None, description="1-based; None when the whole file is at fault")
    column: int | None = Field(default=None, description="1-based")
    field: str = Field(default="", description="dotted path such as config.trigger_branches[1]")
    message: str

    def __str__(self) -> str:
        location = self.file if self.line is None else f"{self.file}:{self.line}"
        return ": ".join(part for part in (location, self.field, self.message) if part)

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file, self.line or 0, self.column or 0, self.field, self.message)


class SpecSet(BaseModel):
    """The result of loading the spec directory once."""

    model_config = ConfigDict(frozen=True)

    specs: dict[str, PipelineSpec] = Field(
        default_factory=dict, description="valid specs by name; specs of broken files are left out"
    )
    files: dict[str, str] = Field(
        default_factory=dict, description="spec name -> file relative to the spec directory"
    )
    authors: dict[str, SpecAuthor] = Field(default_factory=dict, description="spec name -> author")
    errors: list[SpecError] = Field(default_factory=list, description="sorted by file and line")
    broken_files: frozenset[str] = Field(
        default_factory=frozenset, description="files with at least one error"
    )


def is_spec_file(path: Path) -> bool:
    """Return whether the loader reads a file of this name, judging by the name alone.

    The name must end in ``.yaml`` or ``.yml`` and not start with ``.``, ``#`` or ``~``. Only the
    name is looked at, so the watcher can also judge paths of files that were just deleted.
    """
    name = path.name
    return name.endswith(SPEC_SUFFIXES) and not name.startswith(_IGNORED_FIRST_CHARACTERS)


def load_specs(directory: Path) -> SpecSet:
    """Read and validate every spec file in ``directory``, in sorted order of file names.

    Raises ``SpecDirectoryError`` when the directory is missing or cannot be listed. An empty
    directory loads as an empty set.
    """
    entries = _list_directory(directory)
    root = directory.resolve()
    errors: list[SpecError] = []
    loaded: list[_LoadedSpec] = []
    for entry in entries:
        text = _read_spec_file(entry, root, errors)
        if text is not None:
            file_specs, file_errors = _parsed_file(entry.name, text)
            loaded.extend(file_specs)
            errors.extend(file_errors)

    errors.extend(_conflicts(loaded))
    broken = frozenset(error.file for error in errors)
    valid = [item for item in loaded if item.file not in broken]
    errors.sort(key=SpecError.sort_key)
    logger.debug(
        "Loaded %d specs from %s; %d errors in %d files", len(valid), directory, len(errors), len(broken)
    )
    return SpecSet(
        specs={item.spec.name: item.spec for item in valid},
        files={item.spec.name: item.file for item in valid},
        authors={item.spec.name: item.author for item in valid},
        errors=errors,
        broken_files=broken,
    )


@dataclass(frozen=True, slots=True)
class _LoadedSpec:
    """A spec that validated, with where it was written, before the checks across files."""

    spec: PipelineSpec
    file: str
    author: SpecAuthor
    name_line: int | None
    workflow_line: int | None

    @property
    def place(self) -> str:
        return f"{self.file}:{self.name_line}" if self.name_line else self.file


def _list_directory(directory: Path) -> list[Path]:
    fix = "Create it, or point --pipelines-dir (or CCM_PIPELINES_DIR) at the spec directory."
    if not directory.exists():
        raise SpecDirectoryError(f"The spec directory {directory} does not exist. {fix}")
    if not directory.is_dir():
        raise SpecDirectoryError(f"The spec directory {directory} is not a directory. {fix}")
    try:
        paths = sorted(directory.iterdir(), key=lambda path: path.name)
    except OSError as error:
        raise SpecDirectoryError(
            f"Cannot list the spec directory {directory}: {error.strerror}. "
            "Give the user that runs ccm read and execute permission on it."
        ) from error
    selected = []
    for path in paths:
        if not is_spec_file(path):
            logger.debug("Ignoring %s: not a spec file name", path)
        elif path.is_dir():
            logger.debug("Ignoring %s: subdirectories are not read", path)
        else:
            selected.append(path)
    return selected


class _UnusableFile(Exception):
    """A spec file that cannot be read as text; the message says why and what to do."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def _read_spec_file(path: Path, root: Path, errors: list[SpecError]) -> str | None:
    """Return the text of one spec file, or record why it cannot be used and return None."""
    try:
        _check_symlink(path, root)
        text = _decode(_read_bytes(path))
        if not text.strip():
            # An editor that truncates a file before writing it, or a copy in progress, leaves
            # it empty for a moment. Loaded as "no specs", it would tear its pipelines down.
            raise _UnusableFile(
                "The file is empty, as a file in the middle of being written is, so its "
                "pipelines keep their last good spec. Write the spec into it, or delete the file "
                "to tear its pipelines down."
            )
        return text
    except _UnusableFile as problem:
        errors.append(SpecError(file=path.name, line=problem.line, message=problem.message))
        return None


def _check_symlink(path: Path, root: Path) -> None:
    if not path.is_symlink():
        return
    target = Path(os.path.realpath(path))
    if not target.is_relative_to(root):
        raise _UnusableFile(
            f"The file is a symbolic link to {target}, outside the spec directory {root}. "
            "Copy the spec into the directory or remove the link."
        )
    if not target.exists():
        raise _UnusableFile(
            f"The file is a symbolic link to {target}, which does not exist. Remove the link."
        )


def _read_bytes(path: Path) -> bytes:
    # O_NONBLOCK keeps a FIFO named like a spec from blocking the pass; on regular files it has
    # no effect. The type and size are checked on the open descriptor, not on the path.
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        raise _UnusableFile(
            f"Cannot read the file: {error.strerror}. Give the user that runs ccm read access to it."
        ) from error
    with os.fdopen(descriptor, "rb") as stream:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise _UnusableFile(
                "The file is not a regular file. Replace it with a YAML file or remove it."
            )
        if status.st_size > MAX_FILE_BYTES:
            raise _UnusableFile(_too_large_message(status.st_size))
        try:
            # One byte more than the limit catches a file that grew after the fstat.
            data = stream.read(MAX_FILE_BYTES + 1)
        except OSError as error:
            raise _UnusableFile(f"Cannot read the file: {error.strerror}.") from error
    if len(data) > MAX_FILE_BYTES:
        raise _UnusableFile(_too_large_message(len(data)))
    return data


def _too_large_message(size: int) -> str:
    return (
        f"The file is {size} bytes, larger than the limit of {MAX_FILE_BYTES} bytes, so it was not "
        "read. Split the specs into several files."
    )


def _decode(data: bytes) -> str:
    nul = data.find(b"\0")
    if nul >= 0:
        raise _UnusableFile(
            "The file contains a NUL byte, so it is not text. Save the spec as UTF-8 text.",
            line=data.count(b"\n", 0, nul) + 1,
        )
    try:
        # utf-8-sig drops a byte order mark that some editors put at the start.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _UnusableFile(
            f"The file is not valid UTF-8: byte 0x{data[error.start]:02x} cannot be decoded. "
            "Save the spec as UTF-8 text.",
            line=data.count(b"\n", 0, error.start) + 1,
        ) from error


# Parsed files by (name, text). A pass re-reads every file, but parsing and validating 1,000
# specs costs about 0.1 s, and a provision through the API loads the directory twice. Keyed by
# content, an entry can never be stale.
_PARSED_CACHE_SIZE = 4096
_parsed: OrderedDict[tuple[str, str], tuple[tuple[_LoadedSpec, ...], tuple[SpecError, ...]]] = OrderedDict()
_parsed_lock = threading.Lock()


def _parsed_file(file: str, text: str) -> tuple[tuple[_LoadedSpec, ...], tuple[SpecError, ...]]:
    key = (file, text)
    with _parsed_lock:
        if key in _parsed:
            _parsed.move_to_end(key)
            return _parsed[key]
    errors: list[SpecError] = []
    result = (tuple(_load_text(file, text, errors)), tuple(errors))
    with _parsed_lock:
        _parsed[key] = result
        while len(_parsed) > _PARSED_CACHE_SIZE:
            _parsed.popitem(last=False)
    return result


def _load_text(file: str, text: str, errors: list[SpecError]) -> list[_LoadedSpec]:
    """Validate every document of one file; record the errors and return the valid specs."""
    author = author_of(text)
    loaded: list[_LoadedSpec] = []
    try:
        for document in parse_documents(text):
            spec = _validate_document(file, document, errors)
            if spec is None:
                continue
            loaded.append(
                _LoadedSpec(
                    spec=spec,
                    file=file,
                    author=author,
                    name_line=_value_line(document, ("name",)),
                    workflow_line=_value_line(document, ("workflow_file",)),
                )
            )
    except YamlSyntaxError as error:
        position = error.position
        errors.append(
            SpecError(
                file=file,
                line=position.line if position else None,
                column=position.column if position else None,
                message=error.message,
            )
        )
    return loaded


def _validate_document(
    file: str, document: YamlDocument, errors: list[SpecError]
) -> PipelineSpec | None:
    for problem in document.problems:
        errors.append(_error_at(file, problem.path, problem.position, problem.message))
    if not isinstance(document.value, dict):
        kind = "a list" if isinstance(document.value, list) else f"the single value {document.value!r}"
        errors.append(
            _error_at(
                file,
                (),
                document.start,
                f"The document is {kind}, but a spec must be a mapping of fields such as "
                "name, repository and workflow_file.",
            )
        )
        return None

    try:
        spec = PipelineSpec.model_validate(document.value)
    except ValidationError as error:
        # A value that YAML could not build was already reported above, so the model's complaint
        # about the same place would only repeat it.
        reported = {problem.path for problem in document.problems}
        for item in error.errors(include_url=False):
            if item["loc"] not in reported:
                errors.append(_model_error(file, document, item))
        return None
    return None if document.problems else spec


def _model_error(file: str, document: YamlDocument, item: ErrorDetails) -> SpecError:
    loc: FieldPath = tuple(item["loc"])
    if item["type"] == "extra_forbidden":
        located = document.locations.get(loc)
        position = located.key if located and located.key else _nearest_position(document, loc)
    elif item["type"] == "missing":
        position = _nearest_position(document, loc[:-1])
    else:
        position = _nearest_position(document, loc)
    return _error_at(file, loc, position, describe_error(item, document.locations.get(loc)))


def _nearest_position(document: YamlDocument, loc: FieldPath) -> Position:
    """Return the position of the value at ``loc``, or of its closest recorded parent."""
    for length in range(len(loc), -1, -1):
        located = document.locations.get(loc[:length])
        if located is not None:
            return located.value
    return document.start


def _value_line(document: YamlDocument, loc: FieldPath) -> int | None:
    located = document.locations.get(loc)
    return located.value.line if located else None


def _error_at(file: str, loc: FieldPath, position: Position, message: str) -> SpecError:
    return SpecError(
        file=file,
        line=position.line,
        column=position.column,
        field=format_field_path(loc),
        message=message,
    )


def format_field_path(loc: FieldPath) -> str:
    """Write a field path as ``config.trigger_branches[1]``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _conflicts(loaded: list[_LoadedSpec]) -> list[SpecError]:
    """Report every place of a spec name or a workflow that more than one spec claims."""
    by_name: defaultdict[str, list[_LoadedSpec]] = defaultdict(list)
    by_workflow: defaultdict[tuple[str, str], list[_LoadedSpec]] = defaultdict(list)
    for item in loaded:
        by_name[item.spec.name].append(item)
        by_workflow[item.spec.workflow_key].append(item)

    errors = []
    for name, claims in by_name.items():
        for item in claims if len(claims) > 1 else ():
            others = " and ".join(other.place for other in claims if other is not item)
            errors.append(
                SpecError(
                    file=item.file,
                    line=item.name_line,
                    field="name",
                    message=f"The spec name {name!r} is also used at {others}. Spec names must be "
                    "unique in the spec directory, so rename or remove all but one.",
                )
            )
    for claims in by_workflow.values():
        for item in claims if len(claims) > 1 else ():
            others = " and ".join(
                f"spec {other.spec.name!r} at {other.place}" for other in claims if other is not item
            )
            errors.append(
                SpecError(
                    file=item.file,
                    line=item.workflow_line,
                    field="workflow_file",
                    message=f"The workflow {item.spec.workflow_file} of {item.spec.repository} is "
                    f"also claimed by {others}. A workflow belongs to one spec only, so remove or "
                    "change all but one.",
                )
            )
    return errors
