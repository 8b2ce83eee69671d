"""GitHubClient against the GitHub sandbox over real HTTP: reads, paging, changes, errors, retries.

The sandbox runs on a manual clock, and the client gets a sleep function that records each wait
and moves that clock, so backoff and rate-limit waits take no real time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from ccm import __version__
from ccm.github import (
    API_VERSION,
    CancelOutcome,
    ClientOptions,
    DispatchOutcomeUnknown,
    Forbidden,
    GitHubClient,
    GitHubError,
    NotFound,
    RunConclusion,
    RunStatus,
    ServerError,
    TransportError,
    Unprocessable,
    Workflow,
    WorkflowRun,
    WorkflowState,
)
from ccm.github.sandbox import (
    Fault,
    FaultKind,
    HistorySeed,
    ManualClock,
    RepositorySeed,
    RouteKind,
    RunSeed,
    SandboxSeed,
    SandboxServer,
    SandboxWorld,
    WorkflowSeed,
)
from github_openapi.validate import assert_conforms

TOKEN = "ghp_clienttest0123456789abcdefSECRET"
DEPLOY = ".github/workflows/deploy.yml"
TESTS = ".github/workflows/tests.yml"

SEED = SandboxSeed(
    tokens=[TOKEN],
    repositories=[
        RepositorySeed(
            full_name="acme/api",
            branches=["main", "develop"],
            workflows=[
                WorkflowSeed(path=DEPLOY, name="Deploy"),
                WorkflowSeed(path=TESTS, state="disabled_manually"),
            ],
            runs=[
                RunSeed(workflow=DEPLOY, status="in_progress", started_seconds_ago=30, duration_seconds=600),
                RunSeed(workflow=DEPLOY, conclusion="success", started_seconds_ago=900, duration_seconds=60),
                RunSeed(
                    workflow=TESTS,
                    branch="develop",
                    conclusion="failure",
                    started_seconds_ago=1200,
                    duration_seconds=60,
                ),
            ],
        ),
        RepositorySeed(
            full_name="acme/monorepo",
            workflows=[WorkflowSeed(path=f".github/workflows/job-{index:03d}.yml") for index in range(120)],
        ),
        RepositorySeed(
            full_name="acme/busy",
            workflows=[WorkflowSeed(path=DEPLOY)],
            history=HistorySeed(count=250, every_seconds=60),
        ),
        RepositorySeed(full_name="acme/hidden", accessible=False),
    ],
)


CLIENT_LOGGERS = ("ccm.github.client", "ccm.github.cache", "ccm.github.ratelimit")


def logged(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    """Return the client's log messages of one level, leaving out the sandbox's."""
    return [r.getMessage() for r in caplog.records if r.name in CLIENT_LOGGERS and r.levelno == level]


class RecordingTransport(httpx.BaseTransport):
    """httpx's HTTP transport, keeping every request with its read response."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        response.read()
        self.exchanges.append((request, response))
        return response

    def close(self) -> None:
        self._inner.close()


class Harness:
    """A sandbox server on a manual clock, and the pieces to build clients against it."""

    def __init__(self, server: SandboxServer, clock: ManualClock, state_dir: Path) -> None:
        self.server = server
        self.world = server.world
        self.clock = clock
        self.state_dir = state_dir
        self.sleeps: list[float] = []
        self.transport = RecordingTransport()

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(seconds)

    def client(self, **options: Any) -> GitHubClient:
        return GitHubClient(
            self.server.url,
            SecretStr(TOKEN),
            state_dir=self.state_dir,
            options=ClientOptions(**options),
            sleep=self.sleep,
            clock=self.clock.time,
            transport=self.transport,
        )

    def fault(self, kind: FaultKind, **fields: Any) -> None:
        self.world.faults.add(Fault(kind=kind, **fields))

    def requests(self, kind: RouteKind) -> int:
        return self.world.counters.snapshot().kind(kind).requests


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Harness]:
    clock = ManualClock()
    world = SandboxWorld.open(SEED, clock=clock)
    with SandboxServer(world) as server:
        yield Harness(server, clock, tmp_path / "state")


@pytest.fixture
def client(sandbox: Harness) -> Iterator[GitHubClient]:
    with sandbox.client() as github:
        yield github


class TestReads:
    def test_repository(self, client: GitHubClient) -> None:
        repository = client.get_repository("acme/api")
        assert repository.full_name == "acme/api"
        assert repository.default_branch == "main"

    def test_workflows_of_repository(self, client: GitHubClient) -> None:
        listing = client.list_workflows("acme/api")
        assert [(w.path, w.state) for w in listing.items] == [
            (DEPLOY, WorkflowState.ACTIVE),
            (TESTS, WorkflowState.DISABLED_MANUALLY),
        ]
        assert listing.total_count == 2
        assert not listing.truncated
        assert not listing.not_modified

    @pytest.mark.parametrize("reference", [DEPLOY, "deploy.yml"], ids=["path", "file-name"])
    def test_workflow_by_name(self, client: GitHubClient, reference: str) -> None:
        workflow = client.get_workflow("acme/api", reference)
        assert workflow.path == DEPLOY
        assert workflow.name == "Deploy"

    def test_workflow_by_id(self, client: GitHubClient) -> None:
        workflow_id = client.get_workflow("acme/api", "tests.yml").id
        assert client.get_workflow("acme/api", workflow_id).path == TESTS

    def test_runs_newest_first(self, client: GitHubClient) -> None:
        listing = client.list_runs("acme/api")
        assert [run.status for run in listing.items] == [
            RunStatus.IN_PROGRESS,
            RunStatus.COMPLETED,
            RunStatus.COMPLETED,
        ]
        assert listing.items[1].conclusion is RunConclusion.SUCCESS
        assert listing.total_count == 3

    @pytest.mark.parametrize(
        ("filters", "expected"),
        [
            ({"status": "in_progress"}, [(DEPLOY, RunStatus.IN_PROGRESS)]),
            ({"status": RunStatus.IN_PROGRESS}, [(DEPLOY, RunStatus.IN_PROGRESS)]),
            ({"branch": "develop"}, [(TESTS, RunStatus.COMPLETED)]),
            ({"workflow": "tests.yml"}, [(TESTS, RunStatus.COMPLETED)]),
            ({"workflow": TESTS, "branch": "main"}, []),
            ({"event": "workflow_dispatch"}, []),
        ],
        ids=["status", "status-enum", "branch", "workflow", "workflow-and-branch", "event"],
    )
    def test_runs_filtered(
        self, client: GitHubClient, filters: dict[str, Any], expected: list[tuple[str, RunStatus]]
    ) -> None:
        listing = client.list_runs("acme/api", **filters)
        assert [(run.path, run.status) for run in listing.items] == expected

    def test_run_by_id(self, client: GitHubClient) -> None:
        newest = client.list_runs("acme/api").items[0]
        run = client.get_run("acme/api", newest.id)
        assert run == newest
        assert run.in_flight


class TestPagination:
    def test_workflows_every_page(self, sandbox: Harness, client: GitHubClient) -> None:
        listing = client.list_workflows("acme/monorepo")
        assert len(listing.items) == 120
        assert len({workflow.id for workflow in listing.items}) == 120
        assert listing.total_count == 120
        assert not listing.truncated
        assert sandbox.requests(RouteKind.LIST_WORKFLOWS) == 2

    @pytest.mark.parametrize(
        ("max_pages", "per_page", "read", "truncated"),
        [
            (1, 100, 100, True),
            (2, 100, 200, True),
            (3, 100, 250, False),
            (5, 100, 250, False),
            (2, 50, 100, True),
        ],
        ids=["one-page", "two-pages", "all-pages", "more-pages-allowed", "smaller-pages"],
    )
    def test_runs_up_to_max_pages(
        self,
        sandbox: Harness,
        client: GitHubClient,
        max_pages: int,
        per_page: int,
        read: int,
        truncated: bool,
    ) -> None:
        listing = client.list_runs("acme/busy", per_page=per_page, max_pages=max_pages)
        assert len(listing.items) == read
        assert len({run.id for run in listing.items}) == read
        assert listing.total_count == 250
        assert listing.truncated is truncated
        assert sandbox.requests(RouteKind.LIST_RUNS) == min(max_pages, -(-250 // per_page))

    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            ({"per_page": 0}, "per_page must be between 1 and 100, not 0."),
            ({"per_page": 101}, "per_page must be between 1 and 100, not 101."),
            ({"max_pages": 0}, "max_pages must be at least 1, not 0."),
        ],
        ids=["per-page-zero", "per-page-too-large", "no-pages"],
    )
    def test_invalid_paging(self, client: GitHubClient, arguments: dict[str, int], message: str) -> None:
        with pytest.raises(ValueError) as raised:
            client.list_runs("acme/busy", **arguments)
        assert str(raised.value) == message


class TestChanges:
    def test_enable_workflow(self, client: GitHubClient, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.DEBUG, logger="ccm.github")
        client.enable_workflow("acme/api", TESTS)
        assert client.get_workflow("acme/api", TESTS).state is WorkflowState.ACTIVE
        expected = "PUT /repos/acme/api/actions/workflows/tests.yml/enable -> 204 No Content"
        assert logged(caplog, logging.INFO) == [expected]

    def test_disable_workflow(self, client: GitHubClient) -> None:
        client.disable_workflow("acme/api", DEPLOY)
        assert client.get_workflow("acme/api", DEPLOY).state is WorkflowState.DISABLED_MANUALLY

    def test_cancel_in_flight_run(self, client: GitHubClient, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.INFO, logger="ccm.github")
        run = client.list_runs("acme/api", status="in_progress").items[0]
        assert client.cancel_run("acme/api", run.id) is CancelOutcome.REQUESTED
        expected = f"POST /repos/acme/api/actions/runs/{run.id}/cancel -> 202 Accepted"
        assert logged(caplog, logging.INFO) == [expected]

    def test_cancel_completed_run(self, client: GitHubClient, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.INFO, logger="ccm.github")
        run = client.list_runs("acme/api", status="success").items[0]
        assert client.cancel_run("acme/api", run.id) is CancelOutcome.ALREADY_COMPLETED
        expected = f"POST /repos/acme/api/actions/runs/{run.id}/cancel -> 409 Conflict"
        assert logged(caplog, logging.INFO) == [expected]

    def test_force_cancel(self, sandbox: Harness, client: GitHubClient) -> None:
        run = client.list_runs("acme/api", status="in_progress").items[0]
        assert client.force_cancel_run("acme/api", run.id) is CancelOutcome.REQUESTED
        assert client.get_run("acme/api", run.id).conclusion is RunConclusion.CANCELLED
        assert client.force_cancel_run("acme/api", run.id) is CancelOutcome.ALREADY_COMPLETED

    def test_dispatch_returns_run(self, sandbox: Harness, client: GitHubClient) -> None:
        result = client.dispatch_workflow("acme/api", DEPLOY, "develop", {"reason": "test"})
        assert result.run_id is not None
        run = client.get_run("acme/api", result.run_id)
        assert run.event == "workflow_dispatch"
        assert run.head_branch == "develop"
        assert result.html_url == f"{sandbox.server.url}/acme/api/actions/runs/{result.run_id}"

    def test_dispatch_rejected(self, sandbox: Harness, client: GitHubClient) -> None:
        with pytest.raises(Unprocessable) as raised:
            client.dispatch_workflow("acme/api", TESTS, "main")
        assert raised.value.status == 422
        assert str(raised.value).startswith(
            "POST /repos/acme/api/actions/workflows/tests.yml/dispatches failed with 422 Unprocessable "
            "Entity: Cannot trigger a 'workflow_dispatch' on a disabled workflow. Check the values sent"
        )
        assert sandbox.requests(RouteKind.DISPATCH) == 1


class TestErrors:
    @pytest.mark.parametrize(
        ("fault", "error_class", "message"),
        [
            (
                None,
                NotFound,
                "GET /repos/acme/hidden failed with 404 Not Found. Check the repository and "
                "workflow names, and that the token can access the repository.",
            ),
            (
                {"status": 403, "message": "Resource not accessible by integration"},
                Forbidden,
                "GET /repos/acme/hidden failed with 403 Forbidden: Resource not accessible by "
                "integration. Check that the token has the Actions permission this request needs "
                "(fine-grained: Actions read and write; classic: the repo and workflow scopes).",
            ),
            (
                {"status": 422, "message": "Validation Failed"},
                Unprocessable,
                "GET /repos/acme/hidden failed with 422 Unprocessable Entity: Validation Failed. "
                "Check the values sent, such as the ref and the workflow inputs.",
            ),
        ],
        ids=["404", "403-permission", "422"],
    )
    def test_permanent_not_retried(
        self,
        sandbox: Harness,
        client: GitHubClient,
        fault: dict[str, Any] | None,
        error_class: type[GitHubError],
        message: str,
    ) -> None:
        if fault is not None:
            sandbox.fault(FaultKind.STATUS, **fault)
        with pytest.raises(error_class) as raised:
            client.get_repository("acme/hidden")
        assert str(raised.value) == message
        assert raised.value.request_id
        assert sandbox.requests(RouteKind.GET_REPOSITORY) == 1
        assert sandbox.sleeps == []

    def test_invalid_filter_is_422(self, client: GitHubClient) -> None:
        with pytest.raises(Unprocessable) as raised:
            client.list_runs("acme/api", status="sideways")
        assert "status 'sideways' is not one of" in raised.value.message

    def test_bad_credentials(self, sandbox: Harness) -> None:
        github = GitHubClient(sandbox.server.url, SecretStr("ghp_wrong"), state_dir=sandbox.state_dir)
        with github, pytest.raises(GitHubError) as raised:
            github.get_repository("acme/api")
        assert type(raised.value).__name__ == "Unauthorized"
        assert raised.value.status == 401
        assert "Check that the GitHub token is valid" in str(raised.value)

    def test_long_body_cut(self, sandbox: Harness, client: GitHubClient) -> None:
        sandbox.fault(FaultKind.STATUS, status=400, message="x" * 5000)
        with pytest.raises(GitHubError) as raised:
            client.get_repository("acme/api")
        assert "x" * 300 + "…" in str(raised.value)
        assert "x" * 301 not in str(raised.value)

    @pytest.mark.parametrize(
        ("repository", "message"),
        [
            ("acme", "Repository 'acme' is not of the form owner/name, such as acme/api."),
            (
                "acme/api/extra",
                "Repository 'acme/api/extra' is not of the form owner/name, such as acme/api.",
            ),
            ("/api", "Repository '/api' is not of the form owner/name, such as acme/api."),
        ],
        ids=["no-slash", "two-slashes", "no-owner"],
    )
    def test_invalid_repository(self, client: GitHubClient, repository: str, message: str) -> None:
        with pytest.raises(ValueError) as raised:
            client.list_workflows(repository)
        assert str(raised.value) == message


class TestRetries:
    @pytest.mark.parametrize("status", [500, 502, 503], ids=["500", "502", "503"])
    def test_server_error_retried(
        self, sandbox: Harness, client: GitHubClient, caplog: pytest.LogCaptureFixture, status: int
    ) -> None:
        sandbox.fault(FaultKind.STATUS, status=status, route=RouteKind.LIST_WORKFLOWS, count=2)
        listing = client.list_workflows("acme/api")
        assert len(listing.items) == 2
        assert sandbox.requests(RouteKind.LIST_WORKFLOWS) == 3
        assert len(sandbox.sleeps) == 2
        assert all(0 < wait <= 30 for wait in sandbox.sleeps)
        warnings = logged(caplog, logging.WARNING)
        assert len(warnings) == 2
        assert warnings[0].startswith("Attempt 1 of 4 failed, retrying in ")
        assert f"GET /repos/acme/api/actions/workflows?per_page=100 failed with {status}" in warnings[0]
        assert warnings[1].startswith("Attempt 2 of 4 failed, retrying in ")

    def test_waiting_callers_one_attempt(self, sandbox: Harness, client: GitHubClient) -> None:
        reads = client.for_waiting_callers()
        sandbox.fault(FaultKind.STATUS, status=502, route=RouteKind.GET_REPOSITORY)
        with reads, pytest.raises(ServerError):
            reads.get_repository("acme/api")
        assert sandbox.requests(RouteKind.GET_REPOSITORY) == 1
        assert sandbox.sleeps == []

    def test_waiting_callers_share_cache(self, sandbox: Harness, client: GitHubClient) -> None:
        client.list_workflows("acme/api")
        with client.for_waiting_callers() as reads:
            listing = reads.list_workflows("acme/api")
        assert listing.not_modified
        assert len(listing.items) == 2

    def test_attempts_bounded(self, sandbox: Harness, client: GitHubClient) -> None:
        sandbox.fault(FaultKind.STATUS, status=502, route=RouteKind.GET_REPOSITORY)
        with pytest.raises(ServerError) as raised:
            client.get_repository("acme/api")
        assert raised.value.status == 502
        assert sandbox.requests(RouteKind.GET_REPOSITORY) == 4
        assert len(sandbox.sleeps) == 3

    def test_backoff_grows(self, sandbox: Harness) -> None:
        sandbox.fault(FaultKind.STATUS, status=503, route=RouteKind.GET_REPOSITORY)
        with sandbox.client(max_attempts=5, backoff_initial_seconds=1.0, backoff_max_seconds=100) as github:
            with pytest.raises(ServerError):
                github.get_repository("acme/api")
        # Exponential backoff from 1 s doubles each time, plus up to 1 s of jitter.
        for retry, wait in enumerate(sandbox.sleeps):
            assert 2**retry <= wait <= 2**retry + 1

    def test_timeout_retried_for_get(self, sandbox: Harness) -> None:
        sandbox.fault(FaultKind.TIMEOUT, route=RouteKind.GET_REPOSITORY, count=1, hold_seconds=2)
        with sandbox.client(read_timeout_seconds=0.2) as github:
            assert github.get_repository("acme/api").full_name == "acme/api"
            # The sandbox counts the held request only when it responds, so count on this side.
            assert github.counts().sent == 2
        assert len(sandbox.sleeps) == 1

    def test_reset_connection_retried(self, sandbox: Harness, client: GitHubClient) -> None:
        sandbox.fault(FaultKind.CONNECTION_RESET, route=RouteKind.LIST_RUNS, count=1)
        assert client.list_runs("acme/api").total_count == 3
        assert sandbox.requests(RouteKind.LIST_RUNS) == 2

    def test_transport_error_after_attempts(self, sandbox: Harness, client: GitHubClient) -> None:
        sandbox.fault(FaultKind.CONNECTION_RESET, route=RouteKind.GET_RUN)
        with pytest.raises(TransportError) as raised:
            client.get_run("acme/api", 1)
        assert str(raised.value).startswith("GET /repos/acme/api/actions/runs/1 failed (RemoteProtocolError")
        assert str(raised.value).endswith(
            "Check the network path to GitHub; the request can be repeated later."
        )
        assert isinstance(raised.value.__cause__, httpx.RemoteProtocolError)

    def test_cancel_retried(self, sandbox: Harness, client: GitHubClient) -> None:
        run = client.list_runs("acme/api", status="in_progress").items[0]
        sandbox.fault(FaultKind.STATUS, status=502, route=RouteKind.CANCEL_RUN, count=1)
        assert client.cancel_run("acme/api", run.id) is CancelOutcome.REQUESTED
        assert sandbox.requests(RouteKind.CANCEL_RUN) == 2

    def test_enable_retried(self, sandbox: Harness, client: GitHubClient) -> None:
        sandbox.fault(FaultKind.STATUS, status=500, route=RouteKind.ENABLE_WORKFLOW, count=1)
        client.enable_workflow("acme/api", TESTS)
        assert sandbox.requests(RouteKind.ENABLE_WORKFLOW) == 2
        assert client.get_workflow("acme/api", TESTS).state is WorkflowState.ACTIVE


class TestDispatchNeverRepeated:
    def test_server_error(self, sandbox: Harness, client: GitHubClient) -> None:
        sandbox.fault(FaultKind.STATUS, status=502, route=RouteKind.DISPATCH, count=1)
        with pytest.raises(DispatchOutcomeUnknown) as raised:
            client.dispatch_workflow("acme/api", DEPLOY, "main")
        assert str(raised.value) == (
            "The workflow dispatch POST /repos/acme/api/actions/workflows/deploy.yml/dispatches may or "
            "may not have started a run: GitHub returned 502. ccm never sends a dispatch twice; check "
            "the workflow's recent workflow_dispatch runs before dispatching again."
        )
        assert isinstance(raised.value.__cause__, ServerError)
        assert sandbox.requests(RouteKind.DISPATCH) == 1
        assert client.counts().by_method == {"POST": 1}
        assert sandbox.sleeps == []

    def test_timeout(self, sandbox: Harness) -> None:
        sandbox.fault(FaultKind.TIMEOUT, route=RouteKind.DISPATCH, count=1, hold_seconds=1)
        with sandbox.client(read_timeout_seconds=0.2) as github:
            with pytest.raises(DispatchOutcomeUnknown) as raised:
                github.dispatch_workflow("acme/api", DEPLOY, "main")
            assert github.counts().by_method == {"POST": 1}
        assert "may or may not have started a run: no response arrived (ReadTimeout)" in str(raised.value)
        assert sandbox.sleeps == []

    def test_connection_refused(self, sandbox: Harness) -> None:
        # Nothing listens on the port once the server stops. The request never left, so the
        # error is an ordinary transport error, and its message allows a repeat.
        url = sandbox.server.url
        sandbox.server.stop()
        github = GitHubClient(url, SecretStr(TOKEN), state_dir=sandbox.state_dir, sleep=sandbox.sleep)
        with github, pytest.raises(TransportError) as raised:
            github.dispatch_workflow("acme/api", DEPLOY, "main")
        assert not raised.value.request_sent
        assert sandbox.sleeps == []


class TestRequests:
    def test_headers(self, sandbox: Harness, client: GitHubClient) -> None:
        client.get_repository("acme/api")
        request, _ = sandbox.transport.exchanges[0]
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert request.headers["Accept"] == "application/vnd.github+json"
        assert request.headers["X-GitHub-Api-Version"] == API_VERSION == "2022-11-28"
        assert request.headers["User-Agent"] == f"ccm/{__version__}"

    def test_dispatch_body(self, sandbox: Harness, client: GitHubClient) -> None:
        client.dispatch_workflow("acme/api", DEPLOY, "main", {"reason": "hotfix", "dry_run": True})
        request, _ = sandbox.transport.exchanges[-1]
        assert request.read() == (
            b'{"ref":"main","return_run_details":true,"inputs":{"reason":"hotfix","dry_run":true}}'
        )

    def test_openapi_conformance(self, sandbox: Harness, client: GitHubClient) -> None:
        run = client.list_runs("acme/api", status="in_progress", branch="main", event="push").items[0]
        client.list_runs("acme/api", workflow=DEPLOY, per_page=1, max_pages=2)
        client.list_workflows("acme/api")
        client.list_workflows("acme/api")
        client.get_workflow("acme/api", DEPLOY)
        client.get_repository("acme/api")
        client.get_run("acme/api", run.id)
        client.get_rate_limit()
        client.enable_workflow("acme/api", TESTS)
        client.disable_workflow("acme/api", TESTS)
        client.dispatch_workflow("acme/api", DEPLOY, "main", {"reason": "test"})
        client.cancel_run("acme/api", run.id)
        client.force_cancel_run("acme/api", run.id)
        client.cancel_run("acme/api", run.id)

        statuses = sorted({response.status_code for _, response in sandbox.transport.exchanges})
        assert statuses == [200, 202, 204, 304, 409]
        for request, response in sandbox.transport.exchanges:
            assert_conforms(request, response)

    def test_counts(self, client: GitHubClient) -> None:
        client.list_workflows("acme/api")
        before = client.counts()
        client.list_workflows("acme/api")
        client.enable_workflow("acme/api", TESTS)
        counts = client.counts()
        assert (counts.sent, counts.not_modified, counts.counted) == (3, 1, 2)
        assert counts.by_method == {"GET": 2, "PUT": 1}
        during = counts.since(before)
        assert (during.sent, during.not_modified, during.counted) == (2, 1, 1)
        assert during.by_method == {"GET": 1, "PUT": 1}

    def test_threads_share_client(self, sandbox: Harness, client: GitHubClient) -> None:
        repositories = ["acme/api", "acme/monorepo", "acme/busy"] * 4
        results: dict[int, int] = {}

        def observe(index: int, repository: str) -> None:
            results[index] = len(client.list_workflows(repository).items)

        threads = [threading.Thread(target=observe, args=item) for item in enumerate(repositories)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [results[index] for index in range(len(repositories))] == [2, 120, 1] * 4
        served = sandbox.world.counters.snapshot().kind(RouteKind.LIST_WORKFLOWS)
        assert client.counts().sent == served.requests
        assert client.counts().not_modified == served.not_modified


class TestSecrets:
    def test_token_absent_from_logs_and_errors(
        self, sandbox: Harness, client: GitHubClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        sandbox.fault(FaultKind.STATUS, status=502, route=RouteKind.GET_REPOSITORY, count=1)
        sandbox.fault(FaultKind.STATUS, status=502, route=RouteKind.DISPATCH, count=1)
        sandbox.fault(
            FaultKind.SECONDARY_RATE_LIMIT, route=RouteKind.LIST_RUNS, retry_after_seconds=3, count=1
        )
        client.get_repository("acme/api")
        client.list_runs("acme/api")
        client.enable_workflow("acme/api", TESTS)
        errors: list[BaseException] = []
        for call in (
            lambda: client.get_repository("acme/hidden"),
            lambda: client.dispatch_workflow("acme/api", DEPLOY, "main"),
            lambda: client.list_runs("acme/api", status="sideways"),
        ):
            with pytest.raises(GitHubError) as raised:
                call()
            errors.append(raised.value)

        assert len(caplog.records) > 10
        assert TOKEN not in caplog.text
        for error in errors:
            assert TOKEN not in str(error)
            assert TOKEN not in repr(error)
            assert TOKEN not in str(error.__cause__)
        assert TOKEN not in repr(client)


class TestUnknownValues:
    def test_workflow_state(self) -> None:
        workflow = Workflow.model_validate({"id": 1, "name": "x", "path": DEPLOY, "state": "disabled_by_ai"})
        assert workflow.state is WorkflowState.UNKNOWN

    def test_run_status_and_conclusion(self) -> None:
        run = WorkflowRun.model_validate(
            {
                "id": 7,
                "workflow_id": 1,
                "event": "merge_group",
                "status": "frobnicating",
                "conclusion": "exploded",
                "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:01:00Z",
            }
        )
        assert run.status is RunStatus.UNKNOWN
        assert run.conclusion is RunConclusion.UNKNOWN
        assert run.in_flight
        assert WorkflowRun.model_validate(run.model_dump(mode="json")) == run


class TestEnterpriseServer:
    def test_base_path_kept(self, sandbox: Harness) -> None:
        # The sandbox serves no /api/v3 prefix, so it returns 404. What matters is the URL sent.
        github = GitHubClient(
            f"{sandbox.server.url}/api/v3",
            SecretStr(TOKEN),
            state_dir=sandbox.state_dir,
            transport=sandbox.transport,
        )
        with github, pytest.raises(NotFound):
            github.list_workflows("acme/api")
        request, response = sandbox.transport.exchanges[0]
        assert request.url.path == "/api/v3/repos/acme/api/actions/workflows"
        assert_conforms(request, response, base_path="/api/v3")

    def test_dispatch_without_run_details(self, tmp_path: Path) -> None:
        # GitHub Enterprise Server releases older than the parameter reject it with 422.
        bodies: list[bytes] = []

        def enterprise(request: httpx.Request) -> httpx.Response:
            bodies.append(request.read())
            if b"return_run_details" in request.content:
                message = 'Invalid request.\n\n"return_run_details" is not a permitted key.'
                return httpx.Response(422, json={"message": message})
            return httpx.Response(204)

        github = GitHubClient(
            "https://ghes.invalid/api/v3",
            SecretStr(TOKEN),
            state_dir=tmp_path,
            transport=httpx.MockTransport(enterprise),
        )
        with github:
            result = github.dispatch_workflow("acme/api", DEPLOY, "main")
        assert result.run_id is None
        assert bodies == [b'{"ref":"main","return_run_details":true}', b'{"ref":"main"}']

    def test_link_to_other_host_refused(self, tmp_path: Path) -> None:
        requested: list[str] = []

        def paging_away(request: httpx.Request) -> httpx.Response:
            requested.append(str(request.url))
            link = '<https://elsewhere.invalid/repos/acme/api/actions/workflows?page=2>; rel="next"'
            return httpx.Response(200, json={"total_count": 200, "workflows": []}, headers={"Link": link})

        github = GitHubClient(
            "https://ghes.invalid/api/v3",
            SecretStr(TOKEN),
            state_dir=tmp_path,
            transport=httpx.MockTransport(paging_away),
        )
        with github, pytest.raises(GitHubError) as raised:
            github.list_workflows("acme/api")
        assert str(raised.value) == (
            "GitHub's Link header points to https://elsewhere.invalid, outside the base URL "
            "https://ghes.invalid/api/v3/; ccm does not send the token there. Check the base URL."
        )
        assert requested == ["https://ghes.invalid/api/v3/repos/acme/api/actions/workflows?per_page=100"]
