"""The client and the CLI against a real `epmjobs serve` on a free loopback port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from epmjobs.client import (
    AuthenticationFailed,
    ConnectionFailed,
    EpmClient,
    JobRejected,
    JobSpec,
    JobTimeout,
    PollPolicy,
    RetryPolicy,
    Status,
    run_parallel,
)
from procs import ADMIN, Server, ServerFarm, free_port

pytestmark = pytest.mark.processes
ADMIN_MODE = "ADMINISTRATION_MODE"
QUICK = PollPolicy(first=0.05, factor=1.5, cap=0.5)


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerFarm]:
    farm = ServerFarm(tmp_path_factory.mktemp("live"))
    yield farm
    farm.close()


@pytest.fixture(scope="module")
def server(farm: ServerFarm) -> Server:
    return farm.start(farm.tmp_path / "data", workers=2)


@pytest.fixture(scope="module")
def idle_server(farm: ServerFarm) -> Server:
    """A server without job workers: every job stays queued (status -1)."""
    return farm.start(farm.tmp_path / "idle", workers=0)


@pytest.fixture
def epm(server: Server) -> Iterator[EpmClient]:
    with EpmClient(server.url, ADMIN, poll=QUICK) as client:
        yield client


def has_files(server: Server) -> bool:
    return httpx.get(f"{server.url}/interop/rest/", auth=ADMIN).status_code == 200


def cli(server: Server, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EPMJOBS_PROFILE": str(tmp_path / "profile.json")}
    for name in ("EPMJOBS_URL", "EPMJOBS_USER", "EPMJOBS_PASSWORD", "EPMJOBS_TOKEN"):
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "epmjobs", *args], capture_output=True,
                          text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)


def test_run_job_and_its_effect(epm: EpmClient) -> None:
    assert epm.ping().is_latest
    result = epm.run_job("Vision", ADMIN_MODE, parameters={"loginLevel": "Administrators"},
                         timeout=30)
    assert result.ok, result
    assert epm.application("Vision").admin_mode
    assert epm.run_job("Vision", ADMIN_MODE, parameters={"loginLevel": "All Users"}).ok
    assert not epm.application("Vision").admin_mode


def test_parallel_jobs_all_end(epm: EpmClient) -> None:
    specs = [JobSpec("Vision", ADMIN_MODE, f"parallel {i}", {"loginLevel": "All Users"})
             for i in range(8)]
    outcomes = run_parallel(epm, specs, max_concurrent=3, timeout=60)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    assert [o.result.job_name for o in outcomes if o.result] == [s.job_name for s in specs]


def test_refusals_and_credentials(server: Server, epm: EpmClient) -> None:
    with pytest.raises(JobRejected, match="A job with specified name and type was not found"):
        epm.submit("Vision", "RULES", "Aggregate", {"Scenario": "Plan"})
    with EpmClient(server.url, ("admin", "wrong")) as bad, pytest.raises(AuthenticationFailed):
        bad.applications()


def test_timeout_cancels_a_job_that_never_starts(idle_server: Server) -> None:
    with EpmClient(idle_server.url, ADMIN, poll=QUICK) as client:
        handle = client.submit("Vision", ADMIN_MODE, parameters={"loginLevel": "All Users"})
        with pytest.raises(JobTimeout) as raised:
            handle.wait(0.5, cancel_on_timeout=True)
        assert raised.value.cancelled
        assert client.job_status("Vision", handle.job_id).status == Status.CANCELLED


def test_files_round_trip_in_several_chunks(server: Server, epm: EpmClient,
                                            tmp_path: Path) -> None:
    if not has_files(server):
        pytest.skip("this server does not serve the interop file API yet")
    source = tmp_path / "big file.bin"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 12345))
    name = epm.upload(source, folder="inbox", chunk_size=1024 * 1024)
    assert name == "inbox/big file.bin"
    assert {f.name: f.size for f in epm.list_files()}[name] == source.stat().st_size
    assert epm.download(name, tmp_path / "copy.bin").read_bytes() == source.read_bytes()
    epm.delete_file(name)
    assert name not in {f.name for f in epm.list_files()}


def test_cli_login_run_and_exit_codes(server: Server, tmp_path: Path) -> None:
    login = cli(server, tmp_path, "login", server.url, "admin", "--password", ADMIN[1])
    assert login.returncode == 0, login.stderr
    run = cli(server, tmp_path, "runJob", ADMIN_MODE, "loginLevel=All Users", "--json")
    assert run.returncode == 0, run.stderr
    record = json.loads(run.stdout)
    assert record["status"] == 0 and record["descriptiveStatus"] == "Completed"
    rule = cli(server, tmp_path, "runBusinessRule", "Aggregate")
    assert rule.returncode == 1 and "name and type was not found" in rule.stderr
    missing = cli(server, tmp_path, "getJobStatus", "987654")
    assert missing.returncode == 6 and "does not exist" in missing.stderr
    assert "Traceback" not in rule.stderr + missing.stderr
    wrong = cli(server, tmp_path, "login", server.url, "admin", "--password", "nope")
    assert wrong.returncode == 9


def test_a_server_that_is_down_is_connection_failed(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with EpmClient(url, ADMIN, retry=RetryPolicy(retries=1, backoff=0.01)) as client, \
            pytest.raises(ConnectionFailed, match="could not be reached"):
        client.applications()
    profile = tmp_path / "profile.json"
    down = subprocess.run(
        [sys.executable, "-m", "epmjobs", "login", url, "admin", "--password", "x"],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        env={**os.environ, "EPMJOBS_PROFILE": str(profile)})
    assert down.returncode == 5 and "could not be reached" in down.stderr
    assert not profile.exists()


def test_the_docs_nightly_script_runs_unchanged(server: Server, tmp_path: Path) -> None:
    import re

    text = (Path(__file__).resolve().parents[1] / "docs" / "client.md").read_text()
    script = re.search(r"```python\n(# nightly\.py\n.*?)```", text, flags=re.S)
    assert script is not None
    (tmp_path / "nightly.py").write_text(script.group(1))
    env = {**os.environ, "EPM_URL": server.url, "EPM_USER": ADMIN[0],
           "EPM_PASSWORD": ADMIN[1]}
    done = subprocess.run([sys.executable, "nightly.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.match(r"job \d+: Completed - ", done.stdout)
    assert (tmp_path / "console.zip").stat().st_size > 0
    env["EPM_PASSWORD"] = "wrong"
    refused = subprocess.run([sys.executable, "nightly.py"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and "AuthenticationFailed" in refused.stderr
