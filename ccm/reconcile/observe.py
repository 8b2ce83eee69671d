"""Observe: read the live GitHub state of the repositories a pass looks at.

One observation per repository, not per pipeline: the workflow list serves every pipeline of the
repository, and the run list is fetched only where a rule needs in-flight runs (a disabled spec,
a deploy freeze, a teardown). Both are conditional requests, so an unchanged repository costs two
``304 Not Modified`` responses that do not count against the rate limit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from ccm.github.client import GitHubClient
from ccm.github.errors import Forbidden, GitHubError, NotFound, Unauthorized
from ccm.reconcile.state import Access, ObservedState, RepositoryObservation

logger = logging.getLogger(__name__)

# NOTE: in-flight runs are looked for among the 100 newest runs of a repository. A repository
# with more than 100 newer runs on top of a run still queued would hide that run from a pass.
RUNS_PER_REPOSITORY = 100


def observe(
    client: GitHubClient,
    repositories: Iterable[str],
    runs_needed: set[str],
    concurrency: int,
) -> ObservedState:
    """Observe each repository (names compared case-insensitively), ``concurrency`` at a time."""
    names = sorted({name.lower(): name for name in repositories}.values(), key=str.lower)
    wanted_runs = {name.lower() for name in runs_needed}
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="observe") as pool:
        observations = list(
            pool.map(lambda name: observe_repository(client, name, name.lower() in wanted_runs), names)
        )
    return ObservedState(repositories={o.repository.lower(): o for o in observations})


def observe_repository(client: GitHubClient, repository: str, with_runs: bool) -> RepositoryObservation:
    """Observe one repository; GitHub errors become the observation's ``access``.

    Raises ``Unauthorized`` (a token GitHub rejects), which no single repository explains.
    """
    try:
        workflows = client.list_workflows(repository)
        runs = client.list_runs(repository, per_page=RUNS_PER_REPOSITORY) if with_runs else None
    except Unauthorized:
        # A rejected token fails every repository alike; the pass stops with GitHub's message.
        raise
    except NotFound as error:
        logger.warning("repository %s is not accessible: %s", repository, error)
        return RepositoryObservation(repository=repository, access=Access.NOT_FOUND, detail=str(error))
    except Forbidden as error:
        logger.warning("repository %s is forbidden to this token: %s", repository, error)
        return RepositoryObservation(repository=repository, access=Access.FORBIDDEN, detail=str(error))
    except GitHubError as error:
        logger.error(
            "observing repository %s failed; its pipelines are held until a later pass: %s",
            repository,
            error,
        )
        return RepositoryObservation(repository=repository, access=Access.UNAVAILABLE, detail=str(error))

    return RepositoryObservation(
        repository=repository,
        access=Access.OK,
        workflows=tuple(workflows.items),
        runs=tuple(runs.items) if runs is not None else (),
        runs_observed=runs is not None,
    )
