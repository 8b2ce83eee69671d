"""Specs: pipeline specs, loading ``pipelines.d/`` with file:line errors, atomic spec writing."""

from ccm.spec.loader import SpecDirectoryError, SpecError, SpecSet, is_spec_file, load_specs
from ccm.spec.models import PipelineConfig, PipelineSpec, SpecAuthor, VpsLink
from ccm.spec.writer import (
    OperatorSpecFileError,
    SpecFileError,
    remove_spec_file,
    render_spec,
    spec_path,
    write_spec,
)

__all__ = [
    "OperatorSpecFileError",
    "PipelineConfig",
    "PipelineSpec",
    "SpecDirectoryError",
    "SpecAuthor",
    "SpecError",
    "SpecFileError",
    "SpecSet",
    "VpsLink",
    "is_spec_file",
    "load_specs",
    "remove_spec_file",
    "render_spec",
    "spec_path",
    "write_spec",
]
