"""GitHub: the REST client of the Actions endpoints ccm uses, its errors, cache and rate limits.

The sandbox, a simulator of the same endpoints, lives in ``ccm.github.sandbox`` and is imported
from there, so that a process talking to GitHub never loads it.
"""

from ccm.github.client import API_VERSION, GitHubClient
from ccm.github.errors import (
    Conflict,
    DispatchOutcomeUnknown,
    Forbidden,
    GitHubError,
    GitHubPermanentError,
    GitHubTemporaryError,
    NotFound,
    RateLimited,
    RateLimitKind,
    ServerError,
    TransportError,
    Unauthorized,
    Unprocessable,
)
from ccm.github.models import (
    Repository,
    RepositoryPermissions,
    RunConclusion,
    RunStatus,
    Workflow,
    WorkflowRun,
    WorkflowState,
)
from ccm.github.options import ClientOptions
from ccm.github.ratelimit import RateLimit
from ccm.github.results import CancelOutcome, DispatchResult, Listing, RequestCounts

__all__ = [
    "API_VERSION",
    "CancelOutcome",
    "ClientOptions",
    "Conflict",
    "DispatchOutcomeUnknown",
    "DispatchResult",
    "Forbidden",
    "GitHubClient",
    "GitHubError",
    "GitHubPermanentError",
    "GitHubTemporaryError",
    "Listing",
    "NotFound",
    "RateLimit",
    "RateLimitKind",
    "RateLimited",
    "Repository",
    "RepositoryPermissions",
    "RequestCounts",
    "RunConclusion",
    "RunStatus",
    "ServerError",
    "TransportError",
    "Unauthorized",
    "Unprocessable",
    "Workflow",
    "WorkflowRun",
    "WorkflowState",
]
