"""Rate limits: snapshots from headers, waiting for primary and secondary limits, and pacing."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from ccm.github import Forbidden, GitHubError, RateLimit, RateLimited, RateLimitKind
from ccm.github.errors import error_from_response
from ccm.github.ratelimit import RateLimitTracker
from ccm.github.sandbox import (
    FaultKind,
    ManualClock,
    RateLimitSeed,
    RouteKind,
    SandboxSeed,
    SandboxServer,
    SandboxWorld,
)
from test_github_client import SEED, TESTS, Harness, logged

START = ManualClock().time()


def start_sandbox(seed: SandboxSeed, state_dir: Path) -> Iterator[Harness]:
    clock = ManualClock(START)
    with SandboxServer(SandboxWorld.open(seed, clock=clock)) as server:
        yield Harness(server, clock, state_dir)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Harness]:
    yield from start_sandbox(SEED, tmp_path / "state")


def seed_with_limit(limit: int, window_seconds: float) -> SandboxSeed:
    return SEED.model_copy(update={"rate_limit": RateLimitSeed(limit=limit, window_seconds=window_seconds)})


class TestSnapshot:
    def test_from_every_response(self, sandbox: Harness) -> None:
        with sandbox.client() as github:
            assert github.rate_limit is None
            github.get_repository("acme/api")
            snapshot = github.rate_limit
        assert snapshot == RateLimit(
            resource="core",
            limit=5000,
            remaining=4999,
            used=1,
            reset_at=datetime.fromtimestamp(START + 3600, UTC),
        )

    def test_rate_limit_endpoint(self, sandbox: Harness) -> None:
        with sandbox.client() as github:
            github.get_repository("acme/api")
            snapshot = github.get_rate_limit()
        assert (snapshot.limit, snapshot.remaining, snapshot.used) == (5000, 4999, 1)
        assert sandbox.world.counters.snapshot().kind(RouteKind.RATE_LIMIT).counted == 0

    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "12"},
            {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "many", "x-ratelimit-reset": "1"},
        ],
        ids=["none", "no-reset", "not-a-number"],
    )
    def test_missing_headers(self, headers: dict[str, str]) -> None:
        assert RateLimit.from_headers(headers) is None


class TestPrimaryLimit:
    def test_near_reset_waits(self, sandbox: Harness, caplog: pytest.LogCaptureFixture) -> None:
        sandbox.fault(FaultKind.PRIMARY_RATE_LIMIT, route=RouteKind.LIST_RUNS, reset_after_seconds=3, count=1)
        with sandbox.client() as github:
            assert github.list_runs("acme/api").total_count == 3
        # The reset three seconds away plus one second of margin for clock skew.
        assert sandbox.sleeps == [4.0]
        assert sandbox.requests(RouteKind.LIST_RUNS) == 2
        warnings = logged(caplog, logging.WARNING)
        assert len(warnings) == 1
        assert warnings[0].startswith("Attempt 1 of 4 failed, retrying in 4.0 s: GET /repos/acme/api")

    def test_far_reset_raises(self, sandbox: Harness) -> None:
        sandbox.fault(
            FaultKind.PRIMARY_RATE_LIMIT, route=RouteKind.LIST_RUNS, reset_after_seconds=3600, count=1
        )
        with sandbox.client() as github, pytest.raises(RateLimited) as raised:
            github.list_runs("acme/api")
        error = raised.value
        assert error.kind is RateLimitKind.PRIMARY
        assert error.reset_at == datetime.fromtimestamp(START + 3600, UTC)
        assert error.retry_after is None
        assert error.status == 403
        assert str(error).startswith(
            "GET /repos/acme/api/actions/runs?per_page=100 failed with 403 Forbidden: API rate limit "
            "exceeded for user ID "
        )
        assert str(error).endswith(
            f"please include the request ID {error.request_id}. GitHub's primary rate limit for the "
            "core resource is used up and resets at 2026-01-01T01:00:00Z. Run the command again "
            "after that time."
        )
        assert sandbox.sleeps == []

    def test_known_exhaustion_not_sent(self, sandbox: Harness) -> None:
        sandbox.fault(
            FaultKind.PRIMARY_RATE_LIMIT, route=RouteKind.LIST_RUNS, reset_after_seconds=3600, count=1
        )
        with sandbox.client() as github:
            with pytest.raises(RateLimited):
                github.list_runs("acme/api")
            with pytest.raises(RateLimited) as raised:
                github.get_repository("acme/api")
        assert str(raised.value) == (
            "GET /repos/acme/api was not sent: GitHub's primary rate limit for the core resource is "
            "used up until 2026-01-01T01:00:00Z, 3601 s away, longer than the maximum rate limit wait "
            "of 300 s. Retry after the reset."
        )
        assert sandbox.requests(RouteKind.GET_REPOSITORY) == 0

    def test_used_up_waits_for_reset(self, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
        for sandbox in start_sandbox(seed_with_limit(3, 5.0), tmp_path):
            with sandbox.client() as github:
                for _ in range(3):
                    github.enable_workflow("acme/api", TESTS)
                assert github.rate_limit is not None
                assert github.rate_limit.remaining == 0
                github.disable_workflow("acme/api", TESTS)
                assert github.rate_limit.remaining == 2
            # The window resets five seconds after its first request, plus one second of margin.
            assert sandbox.sleeps == [6.0]
            assert sandbox.world.counters.snapshot().total.errors == 0
        assert logged(caplog, logging.WARNING) == [
            "GitHub's primary rate limit for core is used up; waiting 6 s for the reset at "
            "2026-01-01T00:00:05Z before PUT /repos/acme/api/actions/workflows/tests.yml/disable."
        ]

    def test_wait_budget_option(self, sandbox: Harness) -> None:
        sandbox.fault(
            FaultKind.PRIMARY_RATE_LIMIT, route=RouteKind.LIST_RUNS, reset_after_seconds=600, count=1
        )
        with sandbox.client(max_rate_limit_wait_seconds=900) as github:
            github.list_runs("acme/api")
        assert sandbox.sleeps == [601.0]


class TestSecondaryLimit:
    @pytest.mark.parametrize(
        ("status", "retry_after", "waits"),
        [(403, 7, [7.0]), (429, 7, [7.0]), (403, None, [60.0]), (429, None, [60.0]), (403, 0, [0.0])],
        ids=["403-retry-after", "429-retry-after", "403-a-minute", "429-a-minute", "retry-after-zero"],
    )
    def test_waits_then_retries(
        self, sandbox: Harness, status: int, retry_after: int | None, waits: list[float]
    ) -> None:
        sandbox.fault(
            FaultKind.SECONDARY_RATE_LIMIT,
            route=RouteKind.GET_REPOSITORY,
            status=status,
            retry_after_seconds=retry_after,
            count=1,
        )
        with sandbox.client() as github:
            assert github.get_repository("acme/api").full_name == "acme/api"
        assert sandbox.sleeps == waits
        assert sandbox.requests(RouteKind.GET_REPOSITORY) == 2

    def test_repeated_waits_grow(self, sandbox: Harness) -> None:
        sandbox.fault(FaultKind.SECONDARY_RATE_LIMIT, route=RouteKind.GET_REPOSITORY, count=2)
        with sandbox.client() as github:
            github.get_repository("acme/api")
        assert sandbox.sleeps == [60.0, 120.0]

    def test_beyond_budget_raises(self, sandbox: Harness) -> None:
        sandbox.fault(FaultKind.SECONDARY_RATE_LIMIT, route=RouteKind.GET_REPOSITORY, count=1)
        with sandbox.client(max_rate_limit_wait_seconds=30) as github, pytest.raises(RateLimited) as raised:
            github.get_repository("acme/api")
        assert raised.value.kind is RateLimitKind.SECONDARY
        assert str(raised.value).endswith(
            "GitHub's secondary rate limit rejected the request; retry after at least a minute, and "
            "send fewer requests at once if this repeats."
        )
        assert sandbox.sleeps == []
        assert sandbox.requests(RouteKind.GET_REPOSITORY) == 1

    def test_dispatch_not_retried(self, sandbox: Harness) -> None:
        sandbox.fault(
            FaultKind.SECONDARY_RATE_LIMIT, route=RouteKind.DISPATCH, retry_after_seconds=1, count=1
        )
        with sandbox.client() as github, pytest.raises(RateLimited):
            github.dispatch_workflow("acme/api", TESTS, "main")
        assert sandbox.requests(RouteKind.DISPATCH) == 1
        assert sandbox.sleeps == []


class TestPacing:
    def test_spaces_requests_near_limit(self, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
        for sandbox in start_sandbox(seed_with_limit(10, 20.0), tmp_path):
            with sandbox.client(pacing_threshold=0.5) as github:
                for _ in range(8):
                    github.enable_workflow("acme/api", TESTS)
            # After the sixth response 4 of 10 are left, under half. Requests are then spaced
            # 20 s / 4 = 5 s apart, and the first spaced request goes at once.
            assert sandbox.sleeps == [5.0]
        assert logged(caplog, logging.WARNING) == [
            "GitHub rate limit for core is low: 4 of 10 requests left until 2026-01-01T00:00:20Z; "
            "spacing requests 5.0 s apart until then."
        ]


class TestTracker:
    def tracker(self, now: list[float], **options: float) -> RateLimitTracker:
        settings = {"pacing_threshold": 0.5, "max_pacing_delay": 60.0, **options}
        return RateLimitTracker(clock=lambda: now[0], **settings)

    def snapshot(self, remaining: int, reset: float) -> RateLimit:
        return RateLimit(
            limit=10, remaining=remaining, used=10 - remaining, reset_at=datetime.fromtimestamp(reset, UTC)
        )

    @pytest.mark.parametrize(
        ("max_delay", "delays"),
        [(60.0, [0.0, 5.0, 10.0, 15.0]), (2.0, [0.0, 2.0, 4.0, 6.0])],
        ids=["spread-to-reset", "capped"],
    )
    def test_slots(self, max_delay: float, delays: list[float]) -> None:
        now = [1000.0]
        tracker = self.tracker(now, max_pacing_delay=max_delay)
        tracker.update(self.snapshot(remaining=4, reset=1020.0))
        assert [tracker.pacing_delay() for _ in delays] == delays

    @pytest.mark.parametrize(
        ("remaining", "reset"),
        [(5, 1020.0), (9, 1020.0), (3, 999.0), (0, 1020.0)],
        ids=["at-threshold", "plenty-left", "reset-passed", "used-up"],
    )
    def test_no_pacing(self, remaining: int, reset: float) -> None:
        now = [1000.0]
        tracker = self.tracker(now)
        tracker.update(self.snapshot(remaining=remaining, reset=reset))
        assert tracker.pacing_delay() == 0.0

    def test_exhausted_until_reset(self) -> None:
        now = [1000.0]
        tracker = self.tracker(now)
        assert tracker.exhausted() is None
        tracker.update(self.snapshot(remaining=0, reset=1030.0))
        assert tracker.exhausted() is not None
        now[0] = 1030.0
        assert tracker.exhausted() is None


def response(status: int, body: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.Response(status, text=body, headers=headers)


class TestClassification:
    @pytest.mark.parametrize(
        ("status", "body", "headers", "kind"),
        [
            (
                403,
                '{"message": "API rate limit exceeded"}',
                {"x-ratelimit-remaining": "0"},
                RateLimitKind.PRIMARY,
            ),
            (
                429,
                '{"message": "API rate limit exceeded"}',
                {"x-ratelimit-remaining": "0"},
                RateLimitKind.PRIMARY,
            ),
            (403, '{"message": "You have exceeded a secondary rate limit."}', {}, RateLimitKind.SECONDARY),
            (403, '{"message": "Slow down"}', {"retry-after": "30"}, RateLimitKind.SECONDARY),
            (
                403,
                '{"message": "You have exceeded a secondary rate limit."}',
                {"x-ratelimit-remaining": "0"},
                RateLimitKind.SECONDARY,
            ),
            (429, "Too Many Requests", {}, RateLimitKind.SECONDARY),
            (
                403,
                '{"message": "Resource not accessible by integration"}',
                {"x-ratelimit-remaining": "4000"},
                None,
            ),
        ],
        ids=[
            "403-remaining-zero",
            "429-remaining-zero",
            "secondary-message",
            "retry-after",
            "secondary-message-and-zero",
            "bare-429",
            "permission",
        ],
    )
    def test_rate_limit_kind(
        self, status: int, body: str, headers: dict[str, str], kind: RateLimitKind | None
    ) -> None:
        error = error_from_response("GET", "/repos/acme/api", response(status, body, headers))
        if kind is None:
            assert isinstance(error, Forbidden)
        else:
            assert isinstance(error, RateLimited)
            assert error.kind is kind

    def test_retry_after_read(self) -> None:
        error = error_from_response(
            "GET", "/x", response(429, "{}", {"retry-after": "12", "x-ratelimit-reset": "1767225700"})
        )
        assert isinstance(error, RateLimited)
        assert error.retry_after == 12.0
        assert error.reset_at == datetime.fromtimestamp(1767225700, UTC)

    def test_not_json_body(self) -> None:
        error = error_from_response("GET", "/x", response(502, "<html>\n  Bad   gateway\n</html>", {}))
        assert isinstance(error, GitHubError)
        assert str(error) == (
            "GET /x failed with 502 Bad Gateway: <html> Bad gateway </html>. GitHub or a proxy in front "
            "of it failed; the request can be repeated later."
        )

    @pytest.mark.parametrize(
        ("status", "body", "expected"),
        [
            pytest.param(
                503,
                '{"message": "Service Unavailable"}',
                "GET /x failed with 503 Service Unavailable. GitHub or a proxy in front of it failed; "
                "the request can be repeated later.",
                id="message-is-reason-phrase",
            ),
            pytest.param(
                404,
                '{"message": "Not Found."}',
                "GET /x failed with 404 Not Found. Check the repository and workflow names, and that "
                "the token can access the repository.",
                id="reason-phrase-with-period",
            ),
            pytest.param(
                503,
                "",
                "GET /x failed with 503 Service Unavailable. GitHub or a proxy in front of it failed; "
                "the request can be repeated later.",
                id="empty-body",
            ),
            pytest.param(
                403,
                '{"message": "Must have admin rights (see the docs.)"}',
                "GET /x failed with 403 Forbidden: Must have admin rights (see the docs.) Check that "
                "the token has the Actions permission",
                id="period-inside-brackets",
            ),
            pytest.param(
                422,
                '{"message": "Validation Failed", "errors": ["ref is missing"]}',
                "GET /x failed with 422 Unprocessable Entity: Validation Failed (['ref is missing']). "
                "Check the values sent",
                id="details-in-brackets",
            ),
            pytest.param(
                409,
                '{"message": "Cannot cancel a completed run!"}',
                "GET /x failed with 409 Conflict: Cannot cancel a completed run! The object changed",
                id="exclamation",
            ),
        ],
    )
    def test_message_sentences(self, status: int, body: str, expected: str) -> None:
        error = error_from_response("GET", "/x", response(status, body, {}))

        assert str(error).startswith(expected)
        assert ".)." not in str(error)
        assert ".." not in str(error)

    def test_primary_limit_sentence(self) -> None:
        # GitHub's own message of an exhausted primary limit ends in a period inside brackets.
        body = (
            '{"message": "API rate limit exceeded for user ID 1. (But here\'s the good news: '
            'Authenticated requests get a higher rate limit. Check out the documentation for more details.)"}'
        )
        headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1767225700"}

        error = error_from_response("GET", "/x", response(403, body, headers))

        assert str(error) == (
            "GET /x failed with 403 Forbidden: API rate limit exceeded for user ID 1. (But here's the "
            "good news: Authenticated requests get a higher rate limit. Check out the documentation for "
            "more details.) GitHub's primary rate limit for the core resource is used up and resets at "
            "2026-01-01T00:01:40Z. Run the command again after that time."
        )
