"""Record diff: the fields in which a registry record no longer matches its spec and GitHub.

Fields are named as the spec names them (``config.auto_deploy``, ``vps.linked_app``), plus
``file`` for the spec file and ``workflow_id`` for the id GitHub lists for the workflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ccm.pipeline import Pipeline
from ccm.spec.models import PipelineSpec


@dataclass(frozen=True)
class FieldChange:
    """One field whose recorded value differs from the wanted one; values are JSON-compatible."""

    field: str
    recorded: Any
    wanted: Any


def diff_record(
    record: Pipeline, spec: PipelineSpec, spec_file: str | None, workflow_id: int | None
) -> list[FieldChange]:
    """List the fields to update, in a fixed order.

    A ``spec_file`` or ``workflow_id`` of None means "unknown in this pass", so it is not compared.
    """
    wanted = _spec_fields(spec)
    if spec_file is not None:
        wanted["file"] = spec_file
    if workflow_id is not None:
        wanted["workflow_id"] = workflow_id
    recorded = _record_fields(record)
    return [
        FieldChange(field, recorded[field], value)
        for field, value in wanted.items()
        if recorded[field] != value
    ]


def _spec_fields(spec: PipelineSpec) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "repository": spec.repository,
        "workflow_file": spec.workflow_file,
        "enabled": spec.enabled,
    }
    config = spec.config.model_dump(mode="json")
    fields.update({f"config.{key}": value for key, value in config.items()})
    vps = spec.vps.model_dump(mode="json")
    fields.update({f"vps.{key}": value for key, value in vps.items()})
    return fields


def _record_fields(record: Pipeline) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "repository": record.repository,
        "workflow_file": record.workflow_file,
        "enabled": record.enabled,
    }
    config = record.config.model_dump(mode="json")
    fields.update({f"config.{key}": value for key, value in config.items()})
    vps = record.vps_integration.model_dump(mode="json")
    fields.update({f"vps.{key}": value for key, value in vps.items()})
    fields["file"] = record.source.file if record.source is not None else None
    fields["workflow_id"] = record.workflow_id
    return fields
