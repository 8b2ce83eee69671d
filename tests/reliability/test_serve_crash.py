"""``ccm serve`` under load: API provisions while the watcher reacts to edits, and SIGKILL mid-work.

Each trial starts ``ccm serve`` on the same state directory, then at once provisions pipelines
through its API and edits spec files (new files, and ``enabled`` flips of old ones), and kills it
with SIGKILL after a random delay. After every kill the registry must load without recovery with
one current record per spec, and every provision that the API confirmed must still be current
with the id it returned. The last trial is not killed: it must converge every spec file.
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from ccm.github.sandbox import SandboxSeed, SandboxServer, SandboxWorld
from ccm.tokens import TokenRole, TokenStore

from conftest import check_registry, report, trials, wait_until
from test_serve_harness import start_serve

WORKFLOW = ".github/workflows/job-00.yml"
EDITS_PER_TRIAL = 3
PROVISIONS_PER_TRIAL = 2


@pytest.fixture
def sandbox_url() -> Iterator[tuple[SandboxSeed, str]]:
    seed = SandboxSeed.generated(repositories=(trials(4, 100) + 1) * 5, workflows_per_repository=1)
    with SandboxServer(SandboxWorld.open(seed)) as server:
        yield seed, server.url


def write_spec(specs_dir: Path, name: str, repository: str, enabled: bool) -> None:
    text = f"name: {name}\nrepository: {repository}\nworkflow_file: {WORKFLOW}\nenabled: {str(enabled).lower()}\n"
    (specs_dir / f"{name}.yaml").write_text(text, encoding="utf-8")


@pytest.mark.slow
def test_kill_serve_under_load(tmp_path: Path, sandbox_url: tuple[SandboxSeed, str]) -> None:
    seed, url = sandbox_url
    kills = trials(4, 100)
    repositories = iter(r.full_name for r in seed.repositories)
    token = TokenStore(tmp_path / "state").create("vps-manager", TokenRole.API)
    rng = random.Random(77)
    confirmed: dict[str, str] = {}  # repository -> pipeline id from a 201 response
    written: dict[str, str] = {}  # spec name -> repository, for files this test wrote
    cut_off = 0

    for trial in range(kills + 1):
        serve = start_serve(tmp_path, url)
        specs_dir = serve.specs_dir
        provisions = [next(repositories) for _ in range(PROVISIONS_PER_TRIAL)]
        new_files = [next(repositories) for _ in range(EDITS_PER_TRIAL)]

        def edit_files() -> None:
            for repository in new_files:
                name = repository.split("/")[1]
                write_spec(specs_dir, name, repository, enabled=True)
                written[name] = repository
            for name in rng.sample(sorted(written), min(EDITS_PER_TRIAL, len(written))):
                write_spec(specs_dir, name, written[name], enabled=rng.random() < 0.5)

        with httpx.Client(base_url=serve.api_url, headers={"CCM-Token": token}, timeout=60) as http:
            with ThreadPoolExecutor(max_workers=PROVISIONS_PER_TRIAL + 1) as pool:
                futures = {
                    repository: pool.submit(
                        http.post, "/api/pipelines/provision", json={"repo": repository, "workflow_file": WORKFLOW}
                    )
                    for repository in provisions
                }
                pool.submit(edit_files).result(timeout=60)
                if trial < kills:
                    # Half the kills land among the provisions, half in the watcher's pass, which
                    # starts after its debounce of 200 ms.
                    time.sleep(rng.uniform(0.0, 0.1) if trial % 2 else rng.uniform(0.2, 0.6))
                    serve.process.send_signal(signal.SIGKILL)
                    serve.process.wait(timeout=30)
                for repository, future in futures.items():
                    try:
                        response = future.result(timeout=60)
                    except httpx.TransportError:
                        cut_off += 1
                        continue
                    if response.status_code == 201:
                        confirmed[repository] = response.json()["pipeline_id"]

        data = check_registry(serve.state_dir)
        current = {p.repository: p.pipeline_id for p in data.pipelines.values() if p.is_current}
        for repository, pipeline_id in confirmed.items():
            assert current.get(repository) == pipeline_id, f"trial {trial}: the pipeline of {repository} was lost"

    # The last ccm serve was not killed: its watcher converges every spec file, then it stops.
    def converged() -> bool:
        names = {p.name for p in check_registry(serve.state_dir).pipelines.values() if p.is_current}
        return names == {path.stem for path in specs_dir.glob("*.yaml")}

    wait_until(converged, timeout=60)
    assert serve.stop() == 0
    current = check_registry(serve.state_dir).current_by_name()
    by_repository = {p.repository: p.pipeline_id for p in current.values()}
    assert {repository: by_repository.get(repository) for repository in confirmed} == confirmed
    for name, repository in written.items():
        assert current[name].repository == repository
    report(
        f"ccm serve kills under load: {kills} SIGKILLs, {cut_off} provisions cut off, "
        f"{len(confirmed)} confirmed, 0 corrupt registries, 0 lost or duplicated pipelines"
    )

