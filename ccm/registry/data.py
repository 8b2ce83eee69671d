"""The registry snapshot and its JSON file format.

The file is one JSON object: ``pipelines`` (records by ``pipeline_id``, sorted), then
``registry_version`` and ``last_updated`` (when the file was written, UTC, whole seconds).
``last_updated`` is always the last key, so two files can be compared without it (see
``content_without_last_updated``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ccm.pipeline import Pipeline, Timestamp

REGISTRY_VERSION = "2.0"

# Where the top-level ``last_updated`` key starts in a file written by ``render_registry``.
# Pipeline records are indented by six spaces, so their own ``last_updated`` keys never match.
_LAST_UPDATED_LINE = b'\n  "last_updated": '
_MAX_REPORTED_ERRORS = 3


class InvalidRegistryContent(ValueError):
    """Registry file content that is not a valid registry; the message gives the reason."""


class RegistryData(BaseModel):
    """A snapshot of the registry: every pipeline record by id, current and torn down."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pipelines: dict[str, Pipeline] = Field(
        default_factory=dict, description="records keyed by pipeline_id, sorted by it"
    )
    registry_version: str = REGISTRY_VERSION
    last_updated: Timestamp | None = Field(
        default=None, description="when the file was last written; None before the first save"
    )

    @field_validator("registry_version")
    @classmethod
    def _known_version(cls, version: str) -> str:
        if version != REGISTRY_VERSION:
            raise ValueError(
                f"registry_version {version!r} is not supported: this version of ccm reads "
                f"and writes {REGISTRY_VERSION!r} only"
            )
        return version

    @field_validator("pipelines")
    @classmethod
    def _keyed_by_id(cls, pipelines: dict[str, Pipeline]) -> dict[str, Pipeline]:
        current_ids_by_name: dict[str, str] = {}
        for key, pipeline in pipelines.items():
            if key != pipeline.pipeline_id:
                raise ValueError(
                    f"the record under key {key!r} has pipeline_id {pipeline.pipeline_id!r}; "
                    "each record must be stored under its own pipeline_id"
                )
            if not pipeline.is_current:
                continue
            other_id = current_ids_by_name.setdefault(pipeline.name, key)
            if other_id != key:
                raise ValueError(
                    f"pipelines {other_id} and {key} are both current records of the spec "
                    f"{pipeline.name!r}; at most one record per spec name may lack deleted_at"
                )
        return dict(sorted(pipelines.items()))

    def current_by_name(self) -> dict[str, Pipeline]:
        """Return the current records (those without ``deleted_at``) by spec name."""
        return {p.name: p for p in self.pipelines.values() if p.is_current}

    def with_pipeline(self, pipeline: Pipeline) -> RegistryData:
        """Return a copy with ``pipeline`` added, or replacing the record with its id."""
        return RegistryData(
            pipelines={**self.pipelines, pipeline.pipeline_id: pipeline},
            last_updated=self.last_updated,
        )


def render_registry(data: RegistryData) -> bytes:
    """Serialize a snapshot as the registry file: indented by 2, ids sorted, newline-terminated."""
    return data.model_dump_json(indent=2).encode() + b"\n"


def content_without_last_updated(content: bytes) -> bytes:
    """Return file content up to its top-level ``last_updated`` key, for comparing two saves."""
    head, separator, _ = content.rpartition(_LAST_UPDATED_LINE)
    return head if separator else content


def parse_registry(content: bytes) -> RegistryData:
    """Parse and validate registry file content, or raise ``InvalidRegistryContent``."""
    if not content.strip():
        raise InvalidRegistryContent("the file is empty")
    try:
        data = RegistryData.model_validate_json(content)
    except ValidationError as error:
        raise InvalidRegistryContent(_describe(error)) from error

    # Defaults make RegistryData() convenient to build, but a file without these keys was not
    # written by ccm: reading "{}" as an empty registry would tear every pipeline down.
    for key in ("pipelines", "registry_version"):
        if key not in data.model_fields_set:
            raise InvalidRegistryContent(f"the file has no {key!r} key")
    return data


def _describe(error: ValidationError) -> str:
    problems = error.errors(include_url=False)
    if problems[0]["type"] == "json_invalid":
        return f"the file is not valid JSON: {problems[0]['ctx']['error']}"

    # A file of another version has a schema of its own, so its version is the only problem
    # worth reporting.
    for problem in problems:
        if problem["loc"] == ("registry_version",) and problem["type"] == "value_error":
            return str(problem["ctx"]["error"])

    described = []
    for problem in problems[:_MAX_REPORTED_ERRORS]:
        location = ".".join(str(part) for part in problem["loc"]) or "top level"
        message = problem["msg"]
        if problem["type"] == "value_error":
            message = str(problem["ctx"]["error"])
        described.append(f"{location}: {message}")
    more = len(problems) - _MAX_REPORTED_ERRORS
    suffix = f" (and {more} more errors)" if more > 0 else ""
    return "the file does not match the registry schema: " + "; ".join(described) + suffix
