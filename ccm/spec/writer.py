"""Atomic writing and removal of the spec files that the REST API manages.

The API writes each spec to ``<name>.yaml`` with a marker comment on the first line. The loader
reads the marker to tell API-written files from an operator's. An operator may edit an
API-written file and the edits are kept, but removing the pipeline through the API removes the
file. The API never overwrites or removes a file without the marker.

A write goes to a temporary file in the same directory, is flushed and fsynced, and replaces the
target with ``os.replace``. A reader, including the file watcher, therefore reads the old file or
the new one and never a partial one. The temporary name starts with a dot, so the loader and the
watcher ignore it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import yaml

from ccm.atomicfile import fsync_directory, replace_file
from ccm.spec.models import NAME_PATTERN, PipelineSpec, SpecAuthor

logger = logging.getLogger(__name__)

API_MARKER = "# Managed by the ccm API"
_API_HEADER = (
    f"{API_MARKER}: edits are kept, but deleting this pipeline through the API removes this file.\n"
)


class SpecFileError(Exception):
    """A spec file that cannot be written or removed. The message names the file and the fix."""


class OperatorSpecFileError(SpecFileError):
    """The spec file was written by an operator, so the API must not replace or remove it."""


def author_of(text: str) -> SpecAuthor:
    """Return who wrote a spec file, from the marker on its first line."""
    first_line = text.split("\n", 1)[0]
    return SpecAuthor.API if first_line.startswith(API_MARKER) else SpecAuthor.OPERATOR


def spec_path(directory: Path, name: str) -> Path:
    """Return ``<directory>/<name>.yaml``, raising ``SpecFileError`` if it would leave the directory."""
    if not NAME_PATTERN.fullmatch(name):
        raise SpecFileError(
            f"{name!r} is not a valid spec name. Spec names are 1 to 64 lowercase letters, digits, "
            "'.', '_' or '-', and start and end with a letter or digit."
        )
    path = directory / f"{name}.yaml"
    # The pattern already excludes '/', but a name such as '..yaml' or a symbolic link named
    # like the spec could still point elsewhere, so the resolved path is checked as well.
    if path.resolve().parent != directory.resolve():
        raise SpecFileError(
            f"The spec file {path} resolves to {path.resolve()}, outside {directory}. "
            "Remove the symbolic link or choose another spec name."
        )
    return path


def render_spec(spec: PipelineSpec, written_by: SpecAuthor) -> str:
    """Return the YAML text of a spec file, with the API marker when the API writes it.

    Every field is written, defaults included, so that the file shows the whole desired state.
    """
    body = yaml.safe_dump(
        spec.model_dump(mode="json"), sort_keys=False, default_flow_style=False, allow_unicode=True
    )
    return (_API_HEADER if written_by is SpecAuthor.API else "") + body


def write_spec(directory: Path, spec: PipelineSpec, written_by: SpecAuthor) -> Path:
    """Write ``<directory>/<spec.name>.yaml`` atomically and return its path.

    Raises ``OperatorSpecFileError`` when the API would replace a file that an operator wrote.
    """
    path = spec_path(directory, spec.name)
    if written_by is SpecAuthor.API and _existing_author(path) is SpecAuthor.OPERATOR:
        raise OperatorSpecFileError(
            f"The spec file {path} was written by an operator, so the API does not replace it. "
            f"Edit the file by hand, or delete it first to let the API manage {spec.name!r}."
        )
    data = render_spec(spec, written_by).encode("utf-8")

    try:
        replace_file(path, data, mode=0o644)
    except OSError as error:
        raise SpecFileError(
            f"Cannot write the spec file {path}: {error.strerror}. "
            "Check that the directory exists and that ccm may write to it."
        ) from error
    logger.info("Wrote spec %s to %s (written by %s)", spec.name, path, written_by.value)
    return path


def remove_spec_file(directory: Path, name: str) -> bool:
    """Remove the API-written file of spec ``name``, returning False if there was no such file.

    Raises ``OperatorSpecFileError`` when an operator wrote the file, because the operator owns
    it: the pipeline goes when the operator deletes the file.
    """
    path = spec_path(directory, name)
    author = _existing_author(path)
    if author is None:
        return False
    if author is SpecAuthor.OPERATOR:
        raise OperatorSpecFileError(
            f"The spec file {path} was written by an operator, so the API does not remove it. "
            "Delete the file by hand to remove the pipeline."
        )
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as error:
        raise SpecFileError(
            f"Cannot remove the spec file {path}: {error.strerror}. "
            f"Check that ccm may write to {directory}."
        ) from error
    fsync_directory(directory)
    logger.info("Removed spec file %s", path)
    return True


def _existing_author(path: Path) -> SpecAuthor | None:
    """Return who wrote the file at ``path``, or None when there is none."""
    try:
        with path.open("rb") as stream:
            first_line = stream.readline(len(API_MARKER) + 1)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise SpecFileError(
            f"Cannot read the spec file {path}: {error.strerror}. Check its permissions."
        ) from error
    return author_of(first_line.decode("utf-8", errors="replace"))
