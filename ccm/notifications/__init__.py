"""Notifications: alerts about pipelines, sent as JSON to webhooks.

Words used across the package:

- *alert*: one message about one pipeline (``Alert``), of one *kind*. ``failed``: its latest
  completed run failed after a success, or as the first run seen. ``recovered``: a run succeeded
  after a failure, or the pipeline left the error status. ``error``: the registry status turned
  error. ``torn_down``: the pipeline was torn down.
- *run health*: whether the latest completed run that succeeded or failed was a success
  (``passing``) or a failure (``failing``). Cancelled and skipped runs do not change it.
- *ledger*: what was last seen of each pipeline, persisted in ``<state_dir>/alerts.json`` before
  any alert is sent, so that an alert is sent at most once per run and transition, restarts
  included.
- *target*: a webhook URL with its payload format (ccm's JSON, or Slack's ``{"text": ...}``).

Pipelines whose ``config.notifications_enabled`` is false get no alerts, and their run health is
forgotten, so turning alerts back on starts from the runs of that moment.
"""
