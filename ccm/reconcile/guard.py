"""Prune guard: reject teardowns that would remove all active pipelines or more than half of them.

To ``plan()``, a wrong spec path, an unmounted volume or a half-finished copy of ``pipelines.d/``
looks the same as an operator who deleted those specs on purpose. The guard turns such a mass
teardown into a rejected pass that explains itself. The operator repeats it with
``--allow-prune`` when it is intended, and an API teardown of one pipeline always allows it.
"""

from __future__ import annotations

from collections.abc import Sequence

from ccm.pipeline import Pipeline, PipelineStatus

# The rejection message lists this many pipeline names, then how many more there are.
_NAMES_SHOWN = 5


def check_prune(torn_down: Sequence[Pipeline], active_count: int) -> str | None:
    """Return why the teardowns of ``torn_down`` are rejected, or None when they may go ahead.

    ``active_count`` is the number of current pipelines with status active that the pass
    considers (those within its scope), including the ones in ``torn_down``. Only torn-down
    pipelines with status active count against it: removing inactive or failed records stops
    nothing that runs.
    """
    removed = sorted(record.name for record in torn_down if record.status is PipelineStatus.ACTIVE)
    if not removed:
        return None
    if len(removed) < active_count and 2 * len(removed) <= active_count:
        return None

    share = "all of them" if len(removed) >= active_count else "more than half"
    noun = "pipeline" if active_count == 1 else "pipelines"
    return (
        f"The plan would tear down {len(removed)} of {active_count} active {noun} "
        f"({_list_names(removed)}), which is {share}, so nothing was torn down. "
        "Run `ccm reconcile --allow-prune` to tear them down on purpose."
    )


def _list_names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_NAMES_SHOWN])
    hidden = len(names) - _NAMES_SHOWN
    return f"{shown} and {hidden} more" if hidden > 0 else shown
