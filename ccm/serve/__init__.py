"""``ccm serve``: the REST API, the spec watcher and the periodic resync in one process.

Words used across the package:

- *trigger*: what starts a pass: the process starting, a change in ``pipelines.d/`` (a *file
  pass*), or the timer (a *resync*). Every one of them runs a level-based pass over the whole
  directory. API calls run their own passes scoped to one pipeline, and the engine's pass lock
  keeps every applying pass of the process one at a time.
- *resync*: the timed pass that catches changes made on GitHub, such as a workflow disabled by
  hand or by GitHub for inactivity, and reads the latest runs for alerts.
- *backoff*: the wait a failing pipeline serves before a pass acts on it again. It doubles with
  each failure, up to a maximum, and resets after a pass in which the pipeline succeeds.
- *deferred*: a pipeline in backoff; passes leave it alone so it cannot slow the others.
"""
