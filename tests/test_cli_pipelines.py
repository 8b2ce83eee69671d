"""``ccm pipelines``: the table of registry records as plain text on a fixed-width console."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rich.console import Console

from ccm.cli.pipelines import render_pipelines
from ccm.pipeline import Pipeline, PipelineStatus, VpsIntegration

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
LONG_REASON = (
    "GitHub disabled the workflow .github/workflows/deploy.yml of acme/topengineer-site for "
    "inactivity; the next pass enables it again."
)


def record(number: int, **changes: object) -> Pipeline:
    values: dict[str, object] = {
        "pipeline_id": f"pipe_a0b1c2d3e4{number:02d}",
        "name": f"topengineer-site-{number}",
        "repository": "acme/topengineer-site",
        "workflow_file": ".github/workflows/deploy-production.yml",
        "status": PipelineStatus.ERROR,
        "status_reason": LONG_REASON,
        "created_at": NOW,
        "last_updated": NOW,
        "vps_integration": VpsIntegration(linked_domain="www.topengineer.us"),
    }
    return Pipeline.model_validate({**values, **changes})


def rendered(pipelines: list[Pipeline], width: int) -> str:
    console = Console(width=width, record=True, color_system=None, file=open("/dev/null", "w"))
    console.print(render_pipelines(pipelines))
    return console.export_text()


@pytest.mark.parametrize("width", [60, 80, 120], ids=["60-columns", "80-columns", "120-columns"])
def test_ids_whole_when_narrow(width: int) -> None:
    pipelines = [record(1), record(2)]

    text = rendered(pipelines, width)

    for pipeline in pipelines:
        assert pipeline.pipeline_id in text
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= width


def test_reason_folds_whole() -> None:
    text = rendered([record(1)], 80)

    # The reason column folds: each word of the reason is on some line, none is cut off.
    cells = " ".join(line.split("│")[-2].strip() for line in text.splitlines() if line.count("│") > 2)
    assert "".join(cells.split()) == "".join(LONG_REASON.split())


def test_markup_shown_as_text() -> None:
    # Registry records are not validated like specs, so a value may hold Rich markup.
    pipeline = record(1, name="[red]x[/red]", status_reason="[bold]why[/bold]", repository="acme/[b]x")

    text = rendered([pipeline], 200)

    assert "[red]x[/red]" in text
    assert "[bold]why[/bold]" in text
    assert "acme/[b]x" in text
