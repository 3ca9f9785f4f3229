"""The CLI's progress display and its Ctrl-C offer, in a real terminal (pexpect, a pty)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from epmjobs.client import EpmClient, Status
from procs import ADMIN, Server, ServerFarm

pexpect = pytest.importorskip("pexpect")
pytestmark = pytest.mark.processes


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerFarm]:
    farm = ServerFarm(tmp_path_factory.mktemp("tty"))
    yield farm
    farm.close()


def login(server: Server, profile: Path) -> dict[str, str]:
    env = {**os.environ, "EPMJOBS_PROFILE": str(profile), "TERM": "xterm-256color",
           "COLUMNS": "100", "LINES": "24"}
    for name in ("EPMJOBS_URL", "EPMJOBS_USER", "EPMJOBS_PASSWORD", "NO_COLOR"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-m", "epmjobs", "login", server.url, "admin",
                           "--password", ADMIN[1]], env=env, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return env


def spawn(env: dict[str, str], *args: str):  # type: ignore[no-untyped-def]
    return pexpect.spawn(sys.executable, ["-m", "epmjobs", *args], env=env, timeout=30,
                         dimensions=(24, 100), encoding="utf-8")


@pytest.fixture(scope="module")
def idle(farm: ServerFarm) -> Server:
    return farm.start(farm.tmp_path / "idle", workers=0)


def test_progress_shows_status_and_elapsed_time_and_ctrl_c_offers_to_cancel(
        idle: Server, tmp_path: Path) -> None:
    child = spawn(login(idle, tmp_path / "p.json"), "runJob", "ADMINISTRATION_MODE",
                  "loginLevel=All Users")
    child.expect(r"runJob job (\d+)")
    job_id = int(child.match.group(1))
    child.expect(re.escape("Processing (status -1)"))
    child.expect("0:00:01")  # the elapsed time ticks while the job waits in the queue
    child.sendintr()
    child.expect(re.escape(f"Cancel job {job_id} on the server? [y/N]"))
    child.sendline("y")
    child.expect(re.escape(f"Job {job_id} Cancelled (status 3)"))
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    with EpmClient(idle.url, ADMIN) as client:
        assert client.job_status("Vision", job_id).status == Status.CANCELLED


def test_declining_the_cancel_leaves_the_job_running(idle: Server, tmp_path: Path) -> None:
    child = spawn(login(idle, tmp_path / "p.json"), "runJob", "ADMINISTRATION_MODE",
                  "loginLevel=All Users")
    child.expect(r"runJob job (\d+)")
    job_id = int(child.match.group(1))
    child.expect(re.escape("Processing (status -1)"))
    child.sendintr()
    child.expect(re.escape("[y/N]"))
    child.sendline("n")
    child.expect(re.escape(f"Job {job_id} keeps running"))
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    with EpmClient(idle.url, ADMIN) as client:
        assert client.job_status("Vision", job_id).status == Status.PROCESSING
        client.cancel_job(job_id)


def test_a_completed_job_ends_with_its_result_line(farm: ServerFarm, tmp_path: Path) -> None:
    server = farm.start(farm.tmp_path / "busy", workers=1)
    child = spawn(login(server, tmp_path / "p.json"), "runJob", "ADMINISTRATION_MODE",
                  "loginLevel=All Users")
    child.expect(r"Job \d+ Completed \(status 0\) after [\d.]+ s: Application Vision login "
                 r"level set to All Users\.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
