"""The JSON form of a reconcile pass, shared by ``ccm reconcile -o json`` and ``GET /api/drift``."""

from __future__ import annotations

from typing import Any

from ccm.reconcile.passes import PassResult


def pass_to_json(result: PassResult, github_label: str) -> dict[str, Any]:
    outcomes = {id(r.action): r for r in result.results}
    actions = []
    for action in result.plan.actions:
        entry: dict[str, Any] = {
            "pipeline": action.pipeline_name,
            "pipeline_id": action.pipeline_id,
            "repository": action.repository,
            "workflow_file": action.workflow_file,
            "action": action.kind.value,
            "reason": action.reason,
            "before": action.before,
            "after": action.after,
        }
        if action.run_id is not None:
            entry["run_id"] = action.run_id
        applied = outcomes.get(id(action))
        if applied is not None:
            entry["result"] = applied.outcome.value
            entry["detail"] = applied.detail
            entry["pipeline_id"] = applied.pipeline_id
        actions.append(entry)
    return {
        "pass_id": result.pass_id,
        "dry_run": result.dry_run,
        "github": github_label,
        "in_sync": result.converged,
        "actions": actions,
        "held": [h.model_dump() for h in result.plan.held],
        "refusal": result.plan.refusal,
        "spec_errors": [str(e) for e in result.spec_errors],
        "summary": {
            "actions": len(result.plan.actions),
            "failed": len(result.failed),
            "github_requests": {
                "counted": result.requests.counted,
                "not_modified": result.requests.not_modified,
            },
            "duration_seconds": round(result.duration_seconds, 3),
        },
        "exit_code": result.exit_code,
    }
