"""Health: a score from 0 to 100 for one pipeline, with the reasons that produced it.

The formula, applied in this order:

1. An ``inactive`` pipeline scores 100 and stops here: ccm keeps its workflow disabled on
   purpose, so no runs are expected and none are judged.
2. Any other pipeline whose runs GitHub has never returned has no score (None), because
   nothing is known about it yet.
3. Base: the success rate of the runs created in the last 24 h that succeeded or failed, each
   weighted by ``0.5 ** (age_hours / 12)``, so a run 12 h old counts half as much as one created
   now. With no such run the base is 100: no evidence of failure.
4. Minus 10 for each failure in the current streak of consecutive failures (the newest
   completed runs before the newest success, of any age), at most 40.
5. Minus 50 when the pipeline's status is ``error`` (its repository or workflow cannot be used
   as the spec requires).
6. Minus 10 when the values are stale because GitHub failed on the last refresh.
7. Minus 5 for each queued run beyond 3, at most 20.
8. The result is clamped to 0..100 and rounded to one decimal.

Worked examples (the unit tests check each one):

- 9 successes and 1 failure, all created now, the failure not the newest: base 90, score 90.
- The two newest runs failed, 2 successes before them, all now: base 50, streak 2 (-20): 30.
- A success created now (weight 1) and a failure created 12 h ago (weight 0.5): base 66.7.
- A pipeline in ``error`` with no runs in 24 h: 100 - 50 = 50.
- 5 successes now, stale values and 6 runs queued: 100 - 10 - 15 = 75.
"""

from __future__ import annotations

from collections.abc import Sequence

from ccm.github.models import WorkflowRun
from ccm.monitor.metrics import (
    DAY_SECONDS,
    RunOutcome,
    consecutive_failures,
    count_queued,
    run_outcome,
    runs_created_between,
)
from ccm.monitor.models import Health
from ccm.pipeline import PipelineStatus

HALF_LIFE_HOURS = 12.0
STREAK_PENALTY_PER_FAILURE = 10.0
STREAK_PENALTY_MAX = 40.0
ERROR_PENALTY = 50.0
STALE_PENALTY = 10.0
QUEUE_ALLOWANCE = 3
QUEUE_PENALTY_PER_RUN = 5.0
QUEUE_PENALTY_MAX = 20.0


def weighted_success_rate(runs: Sequence[WorkflowRun], now: float) -> float | None:
    """Return the recency-weighted success rate (percent) of the last 24 h; None without runs to judge."""
    successes = 0.0
    total = 0.0
    for run in runs_created_between(runs, now - DAY_SECONDS, None):
        outcome = run_outcome(run)
        if outcome not in (RunOutcome.SUCCESS, RunOutcome.FAILURE):
            continue
        age_hours = max(now - run.created_at.timestamp(), 0.0) / 3600.0
        weight = 0.5 ** (age_hours / HALF_LIFE_HOURS)
        total += weight
        if outcome is RunOutcome.SUCCESS:
            successes += weight
    return 100.0 * successes / total if total else None


def calculate_health(
    status: PipelineStatus, runs: Sequence[WorkflowRun], now: float, *, stale: bool, fetched: bool
) -> Health:
    """Score a pipeline from its status and its runs; ``runs`` should cover at least the last 24 h.

    ``fetched`` is False while GitHub has never returned the pipeline's runs.
    """
    if status is PipelineStatus.INACTIVE:
        return Health(score=100.0, reasons=("inactive: the workflow is disabled on purpose, so runs are not judged",))
    if not fetched:
        return Health(score=None, reasons=("no data: GitHub has not returned any runs yet, so the health is unknown",))

    reasons: list[str] = []
    rate = weighted_success_rate(runs, now)
    if rate is None:
        score = 100.0
        reasons.append("no run succeeded or failed in the last 24 h: base 100")
    else:
        score = rate
        reasons.append(f"weighted success rate over 24 h: base {rate:.1f}")

    streak = consecutive_failures(runs)
    if streak:
        penalty = min(streak * STREAK_PENALTY_PER_FAILURE, STREAK_PENALTY_MAX)
        score -= penalty
        reasons.append(f"{streak} consecutive failed runs: -{penalty:g}")

    if status is PipelineStatus.ERROR:
        score -= ERROR_PENALTY
        reasons.append(f"pipeline status is error: -{ERROR_PENALTY:g}")

    if stale:
        score -= STALE_PENALTY
        reasons.append(f"values are stale because GitHub failed: -{STALE_PENALTY:g}")

    queued = count_queued(runs)
    if queued > QUEUE_ALLOWANCE:
        penalty = min((queued - QUEUE_ALLOWANCE) * QUEUE_PENALTY_PER_RUN, QUEUE_PENALTY_MAX)
        score -= penalty
        reasons.append(f"{queued} runs queued, more than {QUEUE_ALLOWANCE}: -{penalty:g}")

    return Health(score=round(min(max(score, 0.0), 100.0), 1), reasons=tuple(reasons))
