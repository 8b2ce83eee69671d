"""The GitHub REST client: the Actions endpoints ccm reads and changes, over one httpx client.

One ``GitHubClient`` serves a whole process and is safe to share between threads: httpx pools
the connections, and the cache, the rate-limit tracker and the request counts each hold a lock.

Every request goes through the same steps, each in its own method:

1. ``_call`` retries temporary errors with tenacity, but only for requests that are safe to
   repeat: reads, enabling or disabling a workflow (idempotent PUTs) and cancelling a run.
   A workflow dispatch is sent once (``dispatch_workflow`` documents its one resend).
2. ``_send`` waits for the rate limit when needed, sends one request, records the rate limit
   headers and the request counts, logs the request, and raises the mapped error for 4xx/5xx.
3. ``_read`` (GETs) sends ``If-None-Match`` with the cached ``ETag`` and reuses the cached result
   on ``304 Not Modified``, which GitHub does not count against the rate limit.

The endpoints follow GitHub's REST API version 2022-11-28, which every request pins.
"""

from __future__ import annotations

import copy
import enum
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar
from urllib.parse import quote

import httpx
import tenacity
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from ccm import __version__
from ccm.github.cache import CacheEntry, ResponseCache
from ccm.github.errors import (
    Conflict,
    DispatchOutcomeUnknown,
    GitHubPermanentError,
    GitHubTemporaryError,
    RateLimited,
    RateLimitKind,
    ServerError,
    TransportError,
    Unprocessable,
    error_from_response,
    error_from_transport,
    excerpt,
)
from ccm.github.models import Repository, Workflow, WorkflowRun
from ccm.github.options import ClientOptions
from ccm.github.ratelimit import CORE, RateLimit, RateLimitTracker
from ccm.github.results import CancelOutcome, DispatchResult, ItemT, Listing, RequestCounts

logger = logging.getLogger(__name__)

API_VERSION = "2022-11-28"
MAX_PER_PAGE = 100
# Added to a primary limit's reset time, so that a clock a little behind GitHub's does not retry
# just before the reset.
RESET_MARGIN_SECONDS = 1.0
# GitHub's REST documentation (version 2022-11-28) recommends waiting at least a minute after a
# secondary rate limit that comes without Retry-After, and longer each time it repeats.
SECONDARY_LIMIT_WAIT_SECONDS = 60.0

ModelT = TypeVar("ModelT", bound=BaseModel)
ResultT = TypeVar("ResultT")


class _WorkflowPage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    total_count: int
    workflows: tuple[Workflow, ...]

    @property
    def items(self) -> tuple[Workflow, ...]:
        return self.workflows


class _RunPage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    total_count: int
    workflow_runs: tuple[WorkflowRun, ...]

    @property
    def items(self) -> tuple[WorkflowRun, ...]:
        return self.workflow_runs


class _Fetched(NamedTuple, Generic[ModelT]):
    value: ModelT
    next_url: str | None
    not_modified: bool


class _RateLimitWaitBeyond(tenacity.stop.stop_base):
    """Stop retrying when a rate limit requires a longer wait than ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        # Tenacity computes the wait before it checks whether to stop, so the planned wait is known.
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        return isinstance(error, RateLimited) and retry_state.upcoming_sleep > self._seconds


def _http_client(
    base_url: str, headers: dict[str, str], options: ClientOptions, transport: httpx.BaseTransport | None
) -> httpx.Client:
    return httpx.Client(
        base_url=base_url,
        headers=headers,
        timeout=httpx.Timeout(
            connect=options.connect_timeout_seconds,
            read=options.read_timeout_seconds,
            write=options.write_timeout_seconds,
            pool=options.pool_timeout_seconds,
        ),
        limits=httpx.Limits(
            max_connections=options.max_connections,
            max_keepalive_connections=options.max_connections,
        ),
        # GitHub returns 301 for a renamed repository. httpx drops the Authorization header
        # when a redirect leaves the origin, so the token stays with GitHub.
        follow_redirects=True,
        transport=transport,
    )


def _repository_path(repo: str) -> str:
    owner, _, name = repo.partition("/")
    if not owner or not name or "/" in name:
        raise ValueError(f"Repository {repo!r} is not of the form owner/name, such as acme/api.")
    return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"


def _workflow_segment(workflow: int | str) -> str:
    """Return a workflow's id, or its file name when given a file name or a path.

    GitHub accepts the file name (``deploy.yml``) in place of the id, never the path. Workflow
    files live directly in ``.github/workflows/``, so the last part of a path names the file.
    """
    if isinstance(workflow, int):
        return str(workflow)
    name = workflow.rsplit("/", 1)[-1]
    if not name:
        raise ValueError(f"Workflow {workflow!r} is neither an id nor a workflow file name.")
    return quote(name, safe="")


def _query_value(value: str) -> str:
    # A str-enum member formats as "Class.MEMBER" in Python 3.11, so send its value.
    return value.value if isinstance(value, enum.Enum) else value


class GitHubClient:
    """A synchronous client of GitHub's Actions REST API for one token. Thread-safe.

    ``base_url`` is ``https://api.github.com``, ``https://HOST/api/v3`` for GitHub Enterprise
    Server, or a sandbox's URL. ``sleep`` and ``clock`` (epoch seconds) are the time functions
    used for backoff, rate-limit waits and pacing. ``transport`` replaces httpx's HTTP transport,
    for example with ``httpx.WSGITransport`` to serve the sandbox in the same process. Such a
    transport sets its own connection limit, so ``options.max_connections`` does not apply.
    Call ``close()`` (or use ``with``) to save the response cache for the next process.
    """

    def __init__(
        self,
        base_url: str,
        token: SecretStr,
        *,
        state_dir: Path,
        options: ClientOptions = ClientOptions(),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
        cache_scope: str | None = None,
    ) -> None:
        self._options = options
        self._sleep = sleep
        self._clock = clock
        self._cache = ResponseCache(state_dir, token, max_entries=options.cache_max_entries)
        # Cache keys start with the scope instead of the base URL, so that a sandbox served on
        # a new port by each process still finds the ETags of the last one.
        self._base_url = base_url.rstrip("/")
        self._cache_scope = cache_scope if cache_scope is not None else self._base_url
        self._rate_limits = RateLimitTracker(
            pacing_threshold=options.pacing_threshold,
            max_pacing_delay=options.max_pacing_delay_seconds,
            clock=clock,
        )
        self._counts = RequestCounts()
        self._counts_lock = threading.Lock()
        headers = {
            "Authorization": f"Bearer {token.get_secret_value()}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": f"ccm/{__version__}",
        }
        self._http = _http_client(base_url, headers, options, transport)

    def for_waiting_callers(self) -> GitHubClient:
        """Return a client for reads that a person or an API caller waits on.

        It makes one attempt with short timeouts and never waits for a rate limit, so that a
        slow GitHub turns into a quick error (and stale values in the monitor) instead of
        holding an API thread through every retry. It shares this client's token, response
        cache and rate-limit tracking; close it separately.
        """
        options = self._options.model_copy(
            update={
                "max_attempts": 1,
                "connect_timeout_seconds": min(self._options.connect_timeout_seconds, 3.0),
                "read_timeout_seconds": min(self._options.read_timeout_seconds, 5.0),
                "max_rate_limit_wait_seconds": 0.0,
            }
        )
        sibling = copy.copy(self)
        sibling._options = options
        sibling._counts = RequestCounts()
        sibling._counts_lock = threading.Lock()
        sibling._http = _http_client(str(self._http.base_url), dict(self._http.headers), options, None)
        return sibling

    def __repr__(self) -> str:
        return f"GitHubClient(base_url={str(self._http.base_url)!r})"

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Save the response cache and close the connections."""
        self._cache.save()
        self._http.close()

    def save(self) -> None:
        """Save the response cache, so that a later process starts with these ETags."""
        self._cache.save()

    @property
    def rate_limit(self) -> RateLimit | None:
        """The ``core`` rate limit as the last response reported it; None before any response."""
        return self._rate_limits.snapshot()

    def counts(self) -> RequestCounts:
        """Return the requests sent so far; ``later.since(earlier)`` gives those in between."""
        with self._counts_lock:
            return self._counts

    # -- reads ---------------------------------------------------------------------------------

    def get_repository(self, repo: str) -> Repository:
        return self._read(_repository_path(repo), None, Repository).value

    def list_workflows(self, repo: str) -> Listing[Workflow]:
        """List every workflow of ``repo``, reading up to ``max_workflow_pages`` pages."""
        return self._list(
            f"{_repository_path(repo)}/actions/workflows",
            {"per_page": MAX_PER_PAGE},
            _WorkflowPage,
            Listing[Workflow],
            max_pages=self._options.max_workflow_pages,
        )

    def get_workflow(self, repo: str, workflow: int | str) -> Workflow:
        path = f"{_repository_path(repo)}/actions/workflows/{_workflow_segment(workflow)}"
        return self._read(path, None, Workflow).value

    def list_runs(
        self,
        repo: str,
        *,
        workflow: int | str | None = None,
        branch: str | None = None,
        event: str | None = None,
        status: str | None = None,
        per_page: int = MAX_PER_PAGE,
        max_pages: int = 1,
    ) -> Listing[WorkflowRun]:
        """List runs, newest first, of the repository or of one ``workflow``.

        ``status`` takes a run status or a conclusion, as GitHub's ``status`` filter does.
        """
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}, not {per_page}.")
        if max_pages < 1:
            raise ValueError(f"max_pages must be at least 1, not {max_pages}.")
        path = f"{_repository_path(repo)}/actions/runs"
        if workflow is not None:
            path = f"{_repository_path(repo)}/actions/workflows/{_workflow_segment(workflow)}/runs"
        filters = {"branch": branch, "event": event, "status": status}
        params: dict[str, str | int] = {
            name: _query_value(value) for name, value in filters.items() if value is not None
        }
        params["per_page"] = per_page
        return self._list(path, params, _RunPage, Listing[WorkflowRun], max_pages=max_pages)

    def get_run(self, repo: str, run_id: int) -> WorkflowRun:
        return self._read(f"{_repository_path(repo)}/actions/runs/{run_id}", None, WorkflowRun).value

    def get_rate_limit(self) -> RateLimit:
        """Fetch the ``core`` rate limit from ``GET /rate_limit``, which GitHub does not count."""
        response = self._call(lambda: self._send("GET", "/rate_limit"))
        try:
            core = response.json()["resources"]["core"]
            snapshot = RateLimit(
                resource=CORE,
                limit=core["limit"],
                remaining=core["remaining"],
                used=core.get("used", core["limit"] - core["remaining"]),
                reset_at=datetime.fromtimestamp(core["reset"], UTC),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise GitHubPermanentError(
                f"GET /rate_limit returned no valid resources.core: {excerpt(response.text)}. "
                "Check that the base URL points at a GitHub REST API.",
                status=response.status_code,
            ) from error
        self._rate_limits.update(snapshot)
        return snapshot

    # -- changes -------------------------------------------------------------------------------

    def enable_workflow(self, repo: str, workflow: int | str) -> None:
        path = f"{_repository_path(repo)}/actions/workflows/{_workflow_segment(workflow)}/enable"
        self._call(lambda: self._send("PUT", path))

    def disable_workflow(self, repo: str, workflow: int | str) -> None:
        path = f"{_repository_path(repo)}/actions/workflows/{_workflow_segment(workflow)}/disable"
        self._call(lambda: self._send("PUT", path))

    def cancel_run(self, repo: str, run_id: int) -> CancelOutcome:
        """Ask GitHub to cancel a run; a run that already completed is an outcome, not an error."""
        return self._cancel(repo, run_id, "cancel")

    def force_cancel_run(self, repo: str, run_id: int) -> CancelOutcome:
        """Cancel a run even if its jobs ignore cancellation (``always()`` conditions)."""
        return self._cancel(repo, run_id, "force-cancel")

    def _cancel(self, repo: str, run_id: int, endpoint: str) -> CancelOutcome:
        path = f"{_repository_path(repo)}/actions/runs/{run_id}/{endpoint}"
        # Repeating a cancel is safe: a second one either cancels again or returns 409.
        try:
            self._call(lambda: self._send("POST", path))
        except Conflict as conflict:
            # GitHub responds 409 for a run that has completed. Taken on trust, a 409 for a run
            # still in flight (from a proxy, or another conflict) would end a teardown with the
            # run going on, so the run is read again to tell the two apart.
            run = self.get_run(repo, run_id)
            if not run.in_flight:
                return CancelOutcome.ALREADY_COMPLETED
            raise Conflict(
                f"{conflict.message} Run {run_id} is still {run.status.value}, so it was not "
                "cancelled; the next reconcile pass requests the cancel again.",
                status=conflict.status,
                request_id=conflict.request_id,
                documentation_url=conflict.documentation_url,
            ) from conflict
        return CancelOutcome.REQUESTED

    def dispatch_workflow(
        self,
        repo: str,
        workflow: int | str,
        ref: str,
        inputs: Mapping[str, str | int | float | bool] | None = None,
    ) -> DispatchResult:
        """Start a ``workflow_dispatch`` run on ``ref``. Never retried after a failure.

        Raises ``DispatchOutcomeUnknown`` when the request may have reached GitHub but no valid
        response arrived (a broken connection, a timeout, a 5xx): the run may or may not exist.
        The one second request is a resend without ``return_run_details`` after a 422 that
        rejected that parameter, because a 422 started no run.
        """
        path = f"{_repository_path(repo)}/actions/workflows/{_workflow_segment(workflow)}/dispatches"
        body: dict[str, Any] = {"ref": ref, "return_run_details": True}
        if inputs:
            body["inputs"] = dict(inputs)

        try:
            response = self._dispatch_once(path, body)
        except Unprocessable as error:
            # GitHub Enterprise Server releases older than the return_run_details parameter
            # reject it with 422. A 422 means no run was started, so sending the request again
            # without the parameter cannot start a second run.
            if "return_run_details" not in error.message:
                raise
            del body["return_run_details"]
            response = self._dispatch_once(path, body)

        if response.status_code != 200:
            return DispatchResult()
        try:
            details = response.json()
            return DispatchResult(run_id=int(details["workflow_run_id"]), html_url=details.get("html_url"))
        except (ValueError, KeyError, TypeError, AttributeError):
            logger.warning(
                "POST %s started a run but returned no valid run details: %s",
                path,
                excerpt(response.text),
            )
            return DispatchResult()

    def _dispatch_once(self, path: str, body: dict[str, Any]) -> httpx.Response:
        try:
            return self._send("POST", path, json=body)
        except (TransportError, ServerError) as error:
            if isinstance(error, TransportError) and not error.request_sent:
                raise
            if isinstance(error, ServerError):
                cause = f"GitHub returned {error.status}"
            else:
                cause = f"no response arrived ({type(error.__cause__).__name__})"
            raise DispatchOutcomeUnknown(
                f"The workflow dispatch POST {path} may or may not have started a run: {cause}. "
                "ccm never sends a dispatch twice; check the workflow's recent workflow_dispatch "
                "runs before dispatching again.",
                status=error.status,
                request_id=error.request_id,
            ) from error

    # -- request steps -------------------------------------------------------------------------

    def _list(
        self,
        path: str,
        params: dict[str, str | int],
        page_model: type[_WorkflowPage] | type[_RunPage],
        listing: type[Listing[ItemT]],
        *,
        max_pages: int,
    ) -> Listing[ItemT]:
        """Read pages by following ``Link: rel="next"`` until the last one or ``max_pages``."""
        items: dict[int, Any] = {}
        total_count = 0
        all_not_modified = True
        url: str = path
        query: dict[str, str | int] | None = params

        for page_number in range(1, max_pages + 1):
            fetched = self._read(url, query, page_model)
            if page_number == 1:
                total_count = fetched.value.total_count
            # A run created while paging shifts the pages by one, so an item can show up twice.
            for item in fetched.value.items:
                items.setdefault(item.id, item)
            all_not_modified = all_not_modified and fetched.not_modified
            if fetched.next_url is None:
                more_pages = False
                break
            url, query = self._same_origin(fetched.next_url), None
        else:
            more_pages = True

        return listing(
            items=tuple(items.values()),
            total_count=total_count,
            not_modified=all_not_modified,
            # GitHub returns at most 1,000 runs for a run list filtered by branch, event or
            # status while total_count reports every match, so fewer items than total_count
            # after the last page means that GitHub capped the result.
            truncated=more_pages or len(items) < total_count,
        )

    def _same_origin(self, url: str) -> str:
        """Return ``url`` if it is on the base URL's host; the token must not go anywhere else."""
        target, base = httpx.URL(url), self._http.base_url
        if (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port):
            raise GitHubPermanentError(
                f"GitHub's Link header points to {target.scheme}://{target.host}, outside the "
                f"base URL {base}; ccm does not send the token there. Check the base URL."
            )
        return url

    def _read(
        self, url: str, params: Mapping[str, str | int] | None, model: type[ModelT]
    ) -> _Fetched[ModelT]:
        """GET ``url`` conditionally and parse it into ``model``, from the cache on a 304."""
        full_url = str(self._http.build_request("GET", url, params=params).url)
        cached = self._cache.get(self._cache_key(full_url))
        cached_value = self._cached_value(full_url, cached, model) if cached is not None else None
        headers = {"If-None-Match": cached.etag} if cached is not None and cached_value is not None else {}

        def attempt() -> _Fetched[ModelT]:
            response = self._send("GET", full_url, headers=headers)
            if response.status_code == 304 and cached is not None and cached_value is not None:
                next_url = self._from_cache_key(cached.next_url) if cached.next_url else None
                return _Fetched(cached_value, next_url, True)

            value = self._parse(response, model)
            next_link = response.links.get("next", {}).get("url")
            etag = response.headers.get("etag")
            if etag:
                entry = CacheEntry(
                    etag=etag,
                    data=value.model_dump(mode="json"),
                    next_url=self._cache_key(next_link) if next_link else None,
                )
                self._cache.put(self._cache_key(full_url), entry)
            return _Fetched(value, next_link, False)

        return self._call(attempt)

    def _cached_value(self, full_url: str, cached: CacheEntry, model: type[ModelT]) -> ModelT | None:
        """Parse a cached entry into ``model``; drop the entry and return None if it does not parse.

        A cache file edited by hand, or damaged on disk, must cost a full GET, never a failed read.
        """
        try:
            return model.model_validate(cached.data)
        except ValidationError:
            logger.warning(
                "Discarding the cached response of GET %s because its data is not a valid %s. "
                "Sending the request without If-None-Match.",
                full_url,
                model.__name__.lstrip("_"),
            )
            self._cache.discard(self._cache_key(full_url))
            return None

    def _cache_key(self, url: str) -> str:
        if url.startswith(self._base_url):
            return self._cache_scope + url[len(self._base_url) :]
        return url

    def _from_cache_key(self, key: str) -> str:
        if key.startswith(self._cache_scope):
            return self._base_url + key[len(self._cache_scope) :]
        return key

    def _parse(self, response: httpx.Response, model: type[ModelT]) -> ModelT:
        label = f"GET {response.request.url.raw_path.decode()}"
        try:
            body = response.json()
        except ValueError as error:
            # A cut-off body is what a proxy failing mid-response leaves, so it is worth a retry.
            raise ServerError(
                f"{label} returned {response.status_code} with a body that is not valid JSON: "
                f"{excerpt(response.text)}. The request can be repeated later.",
                status=response.status_code,
                request_id=response.headers.get("x-github-request-id"),
            ) from error
        try:
            return model.model_validate(body)
        except ValidationError as error:
            raise GitHubPermanentError(
                f"{label} returned a {model.__name__.lstrip('_')} that ccm cannot read: "
                f"{excerpt(str(error))}. Check that the base URL points at a GitHub REST API "
                f"of version {API_VERSION}.",
                status=response.status_code,
                request_id=response.headers.get("x-github-request-id"),
            ) from error

    def _call(self, attempt: Callable[[], ResultT]) -> ResultT:
        """Run ``attempt``, retrying temporary errors with backoff; every caller is repeat-safe."""
        backoff = tenacity.wait_exponential_jitter(
            multiplier=self._options.backoff_initial_seconds,
            max=self._options.backoff_max_seconds,
            jitter=self._options.backoff_initial_seconds,
        )

        def wait(state: tenacity.RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, RateLimited):
                return self._rate_limit_wait(error, state.attempt_number)
            return backoff(state)

        def log_retry(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            # Every error message names the method and the path, so the line does not repeat them.
            logger.warning(
                "Attempt %d of %d failed, retrying in %.1f s: %s",
                state.attempt_number,
                self._options.max_attempts,
                state.upcoming_sleep,
                error,
            )

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(GitHubTemporaryError),
            wait=wait,
            stop=tenacity.stop_after_attempt(self._options.max_attempts)
            | _RateLimitWaitBeyond(self._options.max_rate_limit_wait_seconds),
            sleep=self._sleep,
            before_sleep=log_retry,
            reraise=True,
        )
        return retrying(attempt)

    def _rate_limit_wait(self, error: RateLimited, attempt_number: int) -> float:
        """Seconds to wait before repeating a request that a rate limit rejected."""
        if error.retry_after is not None:
            return error.retry_after
        if error.kind is RateLimitKind.PRIMARY and error.reset_at is not None:
            return max(error.reset_at.timestamp() - self._clock(), 0.0) + RESET_MARGIN_SECONDS
        # The attempt number approximates how often the secondary limit repeated. A wait that
        # also grows after other failures only errs on the slow side.
        return SECONDARY_LIMIT_WAIT_SECONDS * 2.0 ** (attempt_number - 1)

    def _send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """Send one request and return its response; raise the mapped error for 4xx and 5xx."""
        request = self._http.build_request(method, url, headers=headers, json=json)
        label = request.url.raw_path.decode()
        self._wait_for_rate_limit(method, label)

        try:
            response = self._http.send(request)
        except httpx.RequestError as error:
            self._count(method, None)
            raise error_from_transport(method, label, error) from error
        self._count(method, response.status_code)
        snapshot = RateLimit.from_headers(response.headers)
        if snapshot is not None:
            self._rate_limits.update(snapshot)

        # One INFO line per change to GitHub; reads only at DEBUG.
        level = logging.DEBUG if method == "GET" else logging.INFO
        logger.log(level, "%s %s -> %d %s", method, label, response.status_code, response.reason_phrase)
        if response.status_code >= 400:
            raise error_from_response(method, label, response)
        return response

    def _wait_for_rate_limit(self, method: str, label: str) -> None:
        """Wait out a used-up primary limit, or raise if the reset is too far; then pace."""
        exhausted = self._rate_limits.exhausted()
        if exhausted is not None:
            wait = exhausted.seconds_to_reset(self._clock()) + RESET_MARGIN_SECONDS
            reset = exhausted.reset_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            if wait > self._options.max_rate_limit_wait_seconds:
                raise RateLimited(
                    f"{method} {label} was not sent: GitHub's primary rate limit for the "
                    f"{exhausted.resource} resource is used up until {reset}, "
                    f"{wait:.0f} s away, longer than the maximum rate limit wait of "
                    f"{self._options.max_rate_limit_wait_seconds:g} s. Retry after the reset.",
                    kind=RateLimitKind.PRIMARY,
                    reset_at=exhausted.reset_at,
                    retry_after=None,
                )
            logger.warning(
                "GitHub's primary rate limit for %s is used up; waiting %.0f s for the reset at "
                "%s before %s %s.",
                exhausted.resource,
                wait,
                reset,
                method,
                label,
            )
            self._sleep(wait)

        delay = self._rate_limits.pacing_delay()
        if delay > 0:
            self._sleep(delay)

    def _count(self, method: str, status: int | None) -> None:
        with self._counts_lock:
            counts = self._counts
            by_method = dict(counts.by_method)
            by_method[method] = by_method.get(method, 0) + 1
            self._counts = RequestCounts(
                sent=counts.sent + 1,
                not_modified=counts.not_modified + (status == 304),
                no_response=counts.no_response + (status is None),
                by_method=by_method,
            )


