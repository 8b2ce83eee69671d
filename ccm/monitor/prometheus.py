"""The Prometheus text exposition of ``GET /metrics``: pipelines' health and runs, and ccm's own work.

A pure function from the monitor's stats, the pass statistics and the GitHub client's counts to
the text format (version 0.0.4) that Prometheus scrapes. Rates are ratios from 0 to 1 and
durations are seconds, as Prometheus conventions ask.
"""

from __future__ import annotations

from collections.abc import Iterable

from ccm.github.ratelimit import RateLimit
from ccm.github.results import RequestCounts
from ccm.monitor.models import PipelineStats
from ccm.reconcile.engine import PassStatistics

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def render_metrics(
    stats: Iterable[PipelineStats],
    passes: PassStatistics,
    requests: RequestCounts,
    rate_limit: RateLimit | None,
) -> str:
    """Return the exposition text; every metric family has HELP and TYPE lines."""
    lines: list[str] = []
    families: dict[str, list[str]] = {}

    def family(name: str, kind: str, help_text: str) -> list[str]:
        if name not in families:
            families[name] = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        return families[name]

    for item in stats:
        labels = _labels(
            pipeline_id=item.pipeline_id,
            name=item.name,
            repository=item.repository,
            domain=item.linked_domain or "",
        )
        family("ccm_pipeline_up", "gauge", "1 when the pipeline is active, 0 when inactive or in error.").append(
            f"ccm_pipeline_up{labels} {1 if item.status.value == 'active' else 0}"
        )
        # No sample while the health is unknown (GitHub has not returned any runs yet).
        if item.health_score is not None:
            family("ccm_pipeline_health_score", "gauge", "Health score from 0 to 100.").append(
                f"ccm_pipeline_health_score{labels} {item.health_score:g}"
            )
        metrics = item.metrics_24h
        family("ccm_pipeline_runs_24h", "gauge", "Runs created in the last 24 hours.").append(
            f"ccm_pipeline_runs_24h{labels} {metrics.run_count}"
        )
        family("ccm_pipeline_failed_runs_24h", "gauge", "Failed runs in the last 24 hours.").append(
            f"ccm_pipeline_failed_runs_24h{labels} {item.error_count_24h}"
        )
        if metrics.success_rate is not None:
            family(
                "ccm_pipeline_success_ratio_24h", "gauge", "Successes among successful and failed runs, 24 hours."
            ).append(f"ccm_pipeline_success_ratio_24h{labels} {metrics.success_rate / 100:g}")
        if metrics.avg_duration_seconds is not None:
            family(
                "ccm_pipeline_run_duration_seconds_avg_24h", "gauge", "Mean duration of finished runs, 24 hours."
            ).append(f"ccm_pipeline_run_duration_seconds_avg_24h{labels} {metrics.avg_duration_seconds:g}")
        family("ccm_pipeline_runs_in_progress", "gauge", "Runs in progress now.").append(
            f"ccm_pipeline_runs_in_progress{labels} {item.active_runs}"
        )
        family("ccm_pipeline_runs_queued", "gauge", "Runs queued, waiting or pending now.").append(
            f"ccm_pipeline_runs_queued{labels} {item.queue_length}"
        )
        family("ccm_pipeline_stale", "gauge", "1 when GitHub failed and these values are cached ones.").append(
            f"ccm_pipeline_stale{labels} {int(item.stale)}"
        )

    family("ccm_reconcile_passes_total", "counter", "Reconcile passes that applied, since the start.").append(
        f"ccm_reconcile_passes_total {passes.passes}"
    )
    family("ccm_reconcile_pass_errors_total", "counter", "Passes that failed or left errors.").append(
        f"ccm_reconcile_pass_errors_total {passes.failed_passes}"
    )
    actions = family("ccm_reconcile_actions_total", "counter", "Actions applied or failed by passes.")
    actions.append(f'ccm_reconcile_actions_total{{outcome="applied"}} {passes.actions_applied}')
    actions.append(f'ccm_reconcile_actions_total{{outcome="failed"}} {passes.actions_failed}')
    family("ccm_reconcile_last_pass_duration_seconds", "gauge", "Duration of the last pass.").append(
        f"ccm_reconcile_last_pass_duration_seconds {passes.last_duration_seconds:g}"
    )
    github = family("ccm_github_requests_total", "counter", "Requests to GitHub by the reconciler.")
    github.append(f'ccm_github_requests_total{{kind="counted"}} {requests.counted}')
    github.append(f'ccm_github_requests_total{{kind="not_modified"}} {requests.not_modified}')
    if rate_limit is not None:
        family("ccm_github_rate_limit_remaining", "gauge", "Requests left in GitHub's rate limit window.").append(
            f"ccm_github_rate_limit_remaining {rate_limit.remaining}"
        )
        family("ccm_github_rate_limit_limit", "gauge", "Requests allowed per rate limit window.").append(
            f"ccm_github_rate_limit_limit {rate_limit.limit}"
        )

    for entries in families.values():
        lines.extend(entries)
    return "\n".join(lines) + "\n"


def _labels(**values: str) -> str:
    pairs = ",".join(f'{key}="{_escape(value)}"' for key, value in values.items())
    return "{" + pairs + "}"


def _escape(value: str) -> str:
    # The exposition format escapes backslash, double quote and line feed in label values.
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
