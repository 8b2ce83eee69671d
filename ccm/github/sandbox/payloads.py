"""JSON bodies in the shapes of GitHub's OpenAPI schemas (full-repository, workflow, workflow-run).

URLs in bodies start with ``BASE_MARKER``. The server replaces it with its own URL after it
computed the ETag, so the ETag of a state does not depend on the port that serves it.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import Any

from ccm.github.sandbox.ratelimit import RateLimitStatus
from ccm.github.sandbox.records import RepositoryRecord, WorkflowRecord
from ccm.github.sandbox.world import ObservedRun

# The reserved .invalid top-level domain (RFC 2606) never resolves, so a marker left in a body
# by mistake cannot send a client anywhere.
BASE_MARKER = "http://sandbox.invalid"

_REPOSITORY_URL_TEMPLATES = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "hooks_url": "/hooks",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
}


def timestamp(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def user(login: str) -> dict[str, Any]:
    """Return a simple-user whose id is derived from the login, so that it is stable."""
    user_id = zlib.crc32(login.encode())
    url = f"{BASE_MARKER}/users/{login}"
    return {
        "login": login,
        "id": user_id,
        "node_id": f"U_sandbox{user_id}",
        "avatar_url": f"{BASE_MARKER}/avatars/{login}",
        "gravatar_id": "",
        "url": url,
        "html_url": f"{BASE_MARKER}/{login}",
        "followers_url": f"{url}/followers",
        "following_url": f"{url}/following{{/other_user}}",
        "gists_url": f"{url}/gists{{/gist_id}}",
        "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{url}/subscriptions",
        "organizations_url": f"{url}/orgs",
        "repos_url": f"{url}/repos",
        "events_url": f"{url}/events{{/privacy}}",
        "received_events_url": f"{url}/received_events",
        "type": "User",
        "site_admin": False,
    }


def minimal_repository(repository: RepositoryRecord) -> dict[str, Any]:
    """Return a minimal-repository, as in the ``repository`` and ``head_repository`` of a run."""
    url = f"{BASE_MARKER}/repos/{repository.full_name}"
    body: dict[str, Any] = {
        "id": repository.id,
        "node_id": f"R_sandbox{repository.id}",
        "name": repository.name,
        "full_name": repository.full_name,
        "owner": user(repository.owner),
        "private": repository.private,
        "html_url": f"{BASE_MARKER}/{repository.full_name}",
        "description": None,
        "fork": False,
        "url": url,
    }
    body.update({field: url + template for field, template in _REPOSITORY_URL_TEMPLATES.items()})
    return body


def full_repository(repository: RepositoryRecord) -> dict[str, Any]:
    """Return a full-repository, the body of ``GET /repos/{owner}/{repo}``."""
    created = timestamp(repository.created_at)
    body = minimal_repository(repository)
    body.update(
        {
            "git_url": f"git://sandbox.invalid/{repository.full_name}.git",
            "ssh_url": f"git@sandbox.invalid:{repository.full_name}.git",
            "clone_url": f"{BASE_MARKER}/{repository.full_name}.git",
            "svn_url": f"{BASE_MARKER}/{repository.full_name}",
            "mirror_url": None,
            "homepage": None,
            "language": None,
            "size": 0,
            "default_branch": repository.default_branch,
            "forks": 0,
            "forks_count": 0,
            "stargazers_count": 0,
            "watchers": 0,
            "watchers_count": 0,
            "open_issues": 0,
            "open_issues_count": 0,
            "network_count": 0,
            "subscribers_count": 0,
            "has_issues": True,
            "has_projects": False,
            "has_wiki": False,
            "has_pages": False,
            "has_discussions": False,
            "archived": False,
            "disabled": False,
            "visibility": "private" if repository.private else "public",
            "license": None,
            "pushed_at": created,
            "created_at": created,
            "updated_at": created,
            "permissions": {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True},
        }
    )
    return body


def workflow(record: WorkflowRecord) -> dict[str, Any]:
    """Return a workflow, as listed by ``GET .../actions/workflows``."""
    return {
        "id": record.id,
        "node_id": f"W_sandbox{record.id}",
        "name": record.name,
        "path": record.path,
        "state": record.state.value,
        "created_at": timestamp(record.created_at),
        "updated_at": timestamp(record.updated_at),
        "url": f"{BASE_MARKER}/repos/{record.repository}/actions/workflows/{record.id}",
        "html_url": f"{BASE_MARKER}/{record.repository}/blob/main/{record.path}",
        "badge_url": f"{BASE_MARKER}/{record.repository}/workflows/{record.name}/badge.svg",
    }


def workflow_run(observed: ObservedRun) -> dict[str, Any]:
    """Return a workflow-run with every field that the schema requires."""
    run, view, record, repository = observed.run, observed.view, observed.workflow, observed.repository
    url = f"{BASE_MARKER}/repos/{repository.full_name}/actions/runs/{run.id}"
    created = timestamp(run.created_at)
    actor = user(repository.owner)
    message = f"Update {run.branch}"
    author = {"name": repository.owner, "email": f"{repository.owner}@users.noreply.sandbox.invalid"}
    return {
        "id": run.id,
        "name": record.name,
        "node_id": f"WFR_sandbox{run.id}",
        "check_suite_id": run.id,
        "check_suite_node_id": f"CS_sandbox{run.id}",
        "head_branch": run.branch,
        "head_sha": run.head_sha,
        "path": record.path,
        "display_title": message,
        "run_number": run.run_number,
        "run_attempt": 1,
        "referenced_workflows": [],
        "event": run.event,
        "status": view.status.value,
        "conclusion": None if view.conclusion is None else view.conclusion.value,
        "workflow_id": record.id,
        "url": url,
        "html_url": f"{BASE_MARKER}/{repository.full_name}/actions/runs/{run.id}",
        "pull_requests": [],
        "created_at": created,
        "updated_at": timestamp(view.updated_at),
        "actor": actor,
        "triggering_actor": actor,
        "run_started_at": timestamp(view.run_started_at),
        "jobs_url": f"{url}/jobs",
        "logs_url": f"{url}/logs",
        "check_suite_url": f"{BASE_MARKER}/repos/{repository.full_name}/check-suites/{run.id}",
        "artifacts_url": f"{url}/artifacts",
        "cancel_url": f"{url}/cancel",
        "rerun_url": f"{url}/rerun",
        "previous_attempt_url": None,
        "workflow_url": f"{BASE_MARKER}/repos/{repository.full_name}/actions/workflows/{record.id}",
        "head_commit": {
            "id": run.head_sha,
            "tree_id": run.head_sha[::-1],
            "message": message,
            "timestamp": created,
            "author": author,
            "committer": author,
        },
        "repository": minimal_repository(repository),
        "head_repository": minimal_repository(repository),
        "head_repository_id": repository.id,
    }


def rate_limit_overview(core: RateLimitStatus, now: float) -> dict[str, Any]:
    """Return the body of ``GET /rate_limit``. Only ``core`` is simulated, and ``search`` is always full."""
    search = {"limit": 30, "remaining": 30, "used": 0, "reset": int(now) + 60}
    core_body = core.model_dump()
    return {"resources": {"core": core_body, "search": search}, "rate": core_body}
