"""Conditional requests: ETags, 304 reuse, and the response cache file kept between processes."""

from __future__ import annotations

import json
import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from ccm import __version__
from ccm.github import ClientOptions, GitHubClient, WorkflowState
from ccm.github.cache import CACHE_DIRECTORY, CacheEntry, ResponseCache, token_hash
from ccm.github.sandbox import ManualClock, RouteKind, SandboxSeed, SandboxServer, SandboxWorld
from test_github_client import DEPLOY, SEED, TOKEN, Harness, logged

OTHER_TOKEN = "ghp_othertoken9876543210SECRET"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Harness]:
    seed = SandboxSeed.model_validate({**SEED.model_dump(), "tokens": [TOKEN, OTHER_TOKEN]})
    clock = ManualClock()
    with SandboxServer(SandboxWorld.open(seed, clock=clock)) as server:
        yield Harness(server, clock, tmp_path / "state")


def cache_file(state_dir: Path, token: str = TOKEN) -> Path:
    return state_dir / CACHE_DIRECTORY / f"{token_hash(SecretStr(token))}.json"


def other_client(sandbox: Harness) -> GitHubClient:
    return GitHubClient(sandbox.server.url, SecretStr(OTHER_TOKEN), state_dir=sandbox.state_dir)


class TestConditionalRequests:
    def test_second_read_from_cache(self, sandbox: Harness) -> None:
        with sandbox.client() as github:
            first = github.list_workflows("acme/api")
            second = github.list_workflows("acme/api")
        assert not first.not_modified
        assert second.not_modified
        assert second.items == first.items
        served = sandbox.world.counters.snapshot().kind(RouteKind.LIST_WORKFLOWS)
        assert (served.requests, served.counted, served.not_modified) == (2, 1, 1)

    def test_every_page_from_cache(self, sandbox: Harness) -> None:
        with sandbox.client() as github:
            first = github.list_workflows("acme/monorepo")
            second = github.list_workflows("acme/monorepo")
        assert second.not_modified
        assert second.items == first.items
        assert len(second.items) == 120
        served = sandbox.world.counters.snapshot().kind(RouteKind.LIST_WORKFLOWS)
        assert (served.counted, served.not_modified) == (2, 2)

    def test_single_object_from_cache(self, sandbox: Harness) -> None:
        with sandbox.client() as github:
            first = github.get_workflow("acme/api", DEPLOY)
            second = github.get_workflow("acme/api", DEPLOY)
            assert github.counts().not_modified == 1
        assert second == first
        assert sandbox.world.counters.snapshot().kind(RouteKind.GET_WORKFLOW).not_modified == 1

    def test_changed_data_fetched(self, sandbox: Harness) -> None:
        with sandbox.client() as github:
            github.list_workflows("acme/api")
            github.disable_workflow("acme/api", DEPLOY)
            listing = github.list_workflows("acme/api")
        assert not listing.not_modified
        assert listing.items[0].state is WorkflowState.DISABLED_MANUALLY

    def test_etag_sent(self, sandbox: Harness) -> None:
        with sandbox.client() as github:
            github.get_repository("acme/api")
            github.get_repository("acme/api")
        (first, answer), (second, _) = sandbox.transport.exchanges
        assert "If-None-Match" not in first.headers
        assert second.headers["If-None-Match"] == answer.headers["ETag"]


class TestCacheFile:
    def test_survives_new_client(self, sandbox: Harness) -> None:
        with sandbox.client() as github:
            github.list_runs("acme/busy", max_pages=3)
        with sandbox.client() as github:
            listing = github.list_runs("acme/busy", max_pages=3)
        assert listing.not_modified
        assert len(listing.items) == 250
        served = sandbox.world.counters.snapshot().kind(RouteKind.LIST_RUNS)
        assert (served.counted, served.not_modified) == (3, 3)

    def test_written_only_on_save(self, sandbox: Harness) -> None:
        first = sandbox.client()
        first.get_repository("acme/api")
        assert not cache_file(sandbox.state_dir).exists()
        first.save()
        assert cache_file(sandbox.state_dir).exists()
        first.close()

    def test_separated_by_token(self, sandbox: Harness) -> None:
        with sandbox.client() as github:
            github.list_workflows("acme/api")
        with other_client(sandbox) as github:
            listing = github.list_workflows("acme/api")
        assert not listing.not_modified
        files = sorted(path.name for path in (sandbox.state_dir / CACHE_DIRECTORY).iterdir())
        assert files == sorted(
            [cache_file(sandbox.state_dir).name, cache_file(sandbox.state_dir, OTHER_TOKEN).name]
        )
        for name in files:
            assert TOKEN not in name
            assert OTHER_TOKEN not in name

    def test_private_file(self, sandbox: Harness) -> None:
        with sandbox.client() as github:
            github.get_repository("acme/api")
        path = cache_file(sandbox.state_dir)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700

    def test_trimmed_data(self, sandbox: Harness) -> None:
        with sandbox.client() as github:
            github.list_runs("acme/busy", max_pages=3)
        text = cache_file(sandbox.state_dir).read_text(encoding="utf-8")
        # Fields of GitHub's response that WorkflowRun does not keep.
        assert "head_commit" not in text
        assert "jobs_url" not in text
        assert TOKEN not in text
        # 250 runs trimmed to the model's fields come to about 75 kB, against about 1 MB raw.
        assert len(text) < 100_000

    @pytest.mark.parametrize(
        "content",
        [
            b"{not json",
            b"[]",
            b'{"ccm_version": "0.1.0", "entries": []}',
            b'{"entries": {}}',
            b"",
            b"\xff\xfe\x00\x81 random bytes \xc3",
            b"[" * 100_000,
            b'{"ccm_version": "0.1.0", "entries": {"https://x/": {"data": 1}}}',
        ],
        ids=[
            "invalid-json",
            "list",
            "entries-not-mapping",
            "no-version",
            "empty",
            "not-utf8",
            "nested-too-deep",
            "entry-without-etag",
        ],
    )
    def test_corrupt_file_discarded(
        self, sandbox: Harness, caplog: pytest.LogCaptureFixture, content: bytes
    ) -> None:
        path = cache_file(sandbox.state_dir)
        path.parent.mkdir(parents=True)
        path.write_bytes(content)
        with sandbox.client() as github:
            listing = github.list_workflows("acme/api")
        assert len(listing.items) == 2
        assert not listing.not_modified
        warnings = logged(caplog, logging.WARNING)
        assert len(warnings) == 1
        assert warnings[0].startswith(f"Discarding the corrupt GitHub response cache {path} (")
        assert warnings[0].endswith("). Starting with an empty cache; it is rewritten on the next save.")
        document = json.loads(path.read_text(encoding="utf-8"))
        assert document["ccm_version"] == __version__
        assert len(document["entries"]) == 1

    @pytest.mark.parametrize(
        "data",
        [{"unexpected": 1}, None, "text", {"total_count": "many", "workflows": []}],
        ids=["other-fields", "null", "string", "wrong-type"],
    )
    def test_invalid_entry_refetched(
        self, sandbox: Harness, caplog: pytest.LogCaptureFixture, data: object
    ) -> None:
        with sandbox.client() as github:
            github.list_workflows("acme/api")
        path = cache_file(sandbox.state_dir)
        document = json.loads(path.read_text(encoding="utf-8"))
        (url,) = document["entries"]
        document["entries"][url]["data"] = data
        path.write_text(json.dumps(document), encoding="utf-8")

        with sandbox.client() as github:
            listing = github.list_workflows("acme/api")
            again = github.list_workflows("acme/api")

        assert len(listing.items) == 2
        assert not listing.not_modified
        assert again.not_modified
        assert "If-None-Match" not in sandbox.transport.exchanges[-2][0].headers
        assert logged(caplog, logging.WARNING) == [
            f"Discarding the cached response of GET {url} because its data is not a valid "
            "WorkflowPage. Sending the request without If-None-Match."
        ]
        rewritten = json.loads(path.read_text(encoding="utf-8"))
        assert rewritten["entries"][url]["data"]["total_count"] == 2

    def test_other_version_ignored(self, sandbox: Harness, caplog: pytest.LogCaptureFixture) -> None:
        with sandbox.client() as github:
            github.get_repository("acme/api")
        path = cache_file(sandbox.state_dir)
        document = json.loads(path.read_text(encoding="utf-8"))
        path.write_text(json.dumps({**document, "ccm_version": "0.0.1"}), encoding="utf-8")
        caplog.set_level(logging.INFO, logger="ccm.github.cache")
        with sandbox.client() as github:
            github.get_repository("acme/api")
            assert github.counts().not_modified == 0
        expected = f"Ignoring the GitHub response cache {path} written by ccm 0.0.1."
        assert logged(caplog, logging.INFO) == [expected]

    def test_save_failure_warns(self, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
        blocker = tmp_path / "state"
        blocker.write_text("a file where the state directory should be", encoding="utf-8")
        cache = ResponseCache(blocker, SecretStr(TOKEN), max_entries=10)
        cache.put("https://api.github.com/repos/acme/api", CacheEntry(etag='"a"', data={}))
        cache.save()
        warnings = logged(caplog, logging.WARNING)
        assert len(warnings) == 2
        assert warnings[0].startswith(f"Cannot read the GitHub response cache {cache.path}: ")
        assert warnings[0].endswith("Starting with an empty cache.")
        assert warnings[1].startswith(f"Cannot write the GitHub response cache {cache.path}: ")
        assert warnings[1].endswith(
            "The next process starts without these ETags and fetches fresh data."
        )


class TestResponseCache:
    def test_least_recently_used_dropped(self, tmp_path: Path) -> None:
        cache = ResponseCache(tmp_path, SecretStr(TOKEN), max_entries=2)
        for name in ("a", "b"):
            cache.put(name, CacheEntry(etag=f'"{name}"', data=name))
        assert cache.get("a") is not None
        cache.put("c", CacheEntry(etag='"c"', data="c"))
        assert cache.get("b") is None
        assert cache.get("a") is not None
        assert len(cache) == 2

    def test_limit_applies_to_file(self, tmp_path: Path) -> None:
        cache = ResponseCache(tmp_path, SecretStr(TOKEN), max_entries=3)
        for index in range(5):
            cache.put(f"url-{index}", CacheEntry(etag=f'"{index}"', data=index, next_url=None))
        cache.save()
        reloaded = ResponseCache(tmp_path, SecretStr(TOKEN), max_entries=3)
        assert [reloaded.get(f"url-{index}") is not None for index in range(5)] == [
            False,
            False,
            True,
            True,
            True,
        ]

    def test_repr_hides_token(self, tmp_path: Path) -> None:
        cache = ResponseCache(tmp_path, SecretStr(TOKEN), max_entries=1)
        assert TOKEN not in repr(cache)
        assert repr(cache) == f"ResponseCache(path={str(cache.path)!r})"

    def test_options_bound_entries(self, sandbox: Harness) -> None:
        with sandbox.client(cache_max_entries=1) as github:
            github.get_repository("acme/api")
            github.get_workflow("acme/api", DEPLOY)
            github.get_repository("acme/api")
            assert github.counts().not_modified == 0
        assert ClientOptions().cache_max_entries == 20_000
