"""The pipeline monitor: run metrics, health, refresh tiers, the live dashboard and reports.

Words used across the package:

- *run outcome*: the class of a completed run in the metrics. ``success`` counts as a success.
  ``failure``, ``timed_out`` and ``startup_failure`` count as failures. Every other conclusion
  counts as neither: ``cancelled``, ``skipped``, ``neutral``, ``action_required``, ``stale``,
  and any value GitHub adds later, parsed as ``unknown``.
- *metrics*: counts and rates over a time window (24 h by default) of the runs created in it.
- *health*: a score from 0 to 100 with the reasons behind it (``ccm.monitor.health``).
- *stats*: what the monitor reports for one pipeline (``PipelineStats``): registry status,
  last run, metrics, health, runs in flight.
- *refresh tier*: how long a kind of value is served from the cache before it is fetched again
  (status 10 s, health 30 s, metrics 60 s).
- *stale*: a value served from the cache because GitHub failed when it was due for a refresh.
- *snapshot*: everything one dashboard frame shows, rendered by pure functions.

Modules import downward only: ``models``, then ``metrics`` and ``health`` (pure), then
``service`` (GitHub and cache), then ``dashboard``, ``report`` and ``live``. This file imports
nothing, because ``ccm.manager`` imports ``ccm.monitor.metrics`` and ``ccm.monitor.service``
imports ``ccm.manager``.
"""
