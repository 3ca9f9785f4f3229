"""Job progression through the plugin only: each mode, seen by EpmClient and a raw httpx loop,
in process and against a live server (the same test bodies, moto-style).

The job really runs at once; the rules hold what the status reads show. An
``ADMINISTRATION_MODE`` job to "Administrators" makes the real work visible on the wire
(the application's ``adminMode``) while its status is still held at -1.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from epmjobs.client import JobResult
from epmjobs.client.errors import HTTPError
from epmjobs.testing import InProcessServer, LiveServer

ADMIN_MODE = "ADMINISTRATION_MODE"
ALL_USERS = {"loginLevel": "All Users"}
ADMINS = {"loginLevel": "Administrators"}
JOBS = "/HyperionPlanning/rest/v3/applications/Vision/jobs"
Server = InProcessServer | LiveServer


@pytest.fixture(params=["in-process", "live"])
def server(request: pytest.FixtureRequest) -> Server:
    name = "epmjobs_server" if request.param == "in-process" else "epmjobs_live_server"
    found: Server = request.getfixturevalue(name)
    return found


def run_and_watch(server: Server, parameters: dict[str, str] = ALL_USERS) -> list[int]:
    """Every status our client saw, from the submission's answer to the final poll."""
    seen: list[int] = []
    with server.client() as epm:
        result = epm.run_job("Vision", ADMIN_MODE, parameters=parameters, timeout=60,
                             on_poll=lambda record, _: seen.append(record.status))
    assert result.status == seen[-1]
    return seen


def submit_raw(http: httpx.Client, parameters: dict[str, str] = ALL_USERS) -> int:
    answer = http.post(JOBS, json={"jobType": ADMIN_MODE, "parameters": parameters})
    assert answer.status_code == 201, answer.text
    job_id: int = answer.json()["jobId"]
    return job_id


def poll_raw(http: httpx.Client, job_id: int, times: int) -> list[dict[str, Any]]:
    """``times`` status polls, as a hand-written script would send them."""
    return [http.get(f"{JOBS}/{job_id}").json() for _ in range(times)]


def until_admin_mode(http: httpx.Client, timeout: float = 30.0) -> None:
    """Wait until the job's real work shows: the application is in administration mode."""
    deadline = time.monotonic() + timeout
    while not http.get("/HyperionPlanning/rest/v3/applications/Vision").json()["adminMode"]:
        assert time.monotonic() < deadline, "the job did not run"
        time.sleep(0.01)


# -- immediate ------------------------------------------------------------------------------

def test_immediate_ends_before_the_first_poll_returns(server: Server) -> None:
    server.control.progress("immediate")
    assert run_and_watch(server) == [-1, 0]  # the submission's -1, then one poll: the end
    with server.http() as http:
        job_id = submit_raw(http)
        first = poll_raw(http, job_id, 1)[0]
    assert (first["status"], first["descriptiveStatus"]) == (0, "Completed")
    assert first["details"] == "Application Vision login level set to All Users."


# -- after_polls ----------------------------------------------------------------------------

def test_after_polls_holds_exactly_n_polls_then_shows_the_end(server: Server) -> None:
    server.control.progress(after_polls=3, job_type="Administration Mode")
    assert run_and_watch(server) == [-1, -1, -1, -1, 0]
    with server.http() as http:
        job_id = submit_raw(http, ADMINS)
        until_admin_mode(http)  # the job has done its work; its status is still held
        held = poll_raw(http, job_id, 3)
        assert [(p["status"], p["details"]) for p in held] == [(-1, None)] * 3
        assert all(p["descriptiveStatus"] == "Processing" for p in held)
        final = poll_raw(http, job_id, 2)
    assert [p["status"] for p in final] == [0, 0]
    assert final[0]["details"] == "Application Vision login level set to Administrators."


def test_after_zero_polls_is_immediate(server: Server) -> None:
    server.control.progress(after_polls=0)
    assert run_and_watch(server) == [-1, 0]


# -- after_seconds --------------------------------------------------------------------------

def test_after_seconds_holds_the_status_until_then(server: Server) -> None:
    server.control.progress(after_seconds=3600)
    with server.http() as http:
        job_id = submit_raw(http, ADMINS)
        until_admin_mode(http)
        assert [p["status"] for p in poll_raw(http, job_id, 5)] == [-1] * 5
        extended = http.get(f"/epmjobs/v1/jobs/{job_id}").json()
        assert (extended["status"], extended["endedAt"]) == (-1, None)  # held there too
        server.control.advance(job_id)
        assert poll_raw(http, job_id, 1)[0]["status"] == 0


def test_after_seconds_lets_go_once_the_time_has_passed(server: Server) -> None:
    server.control.progress(after_seconds=0.3)
    began = time.monotonic()
    seen = run_and_watch(server)
    assert time.monotonic() - began >= 0.3  # a lower bound the rule guarantees
    assert seen[0] == -1 and seen[-1] == 0


# -- manual ---------------------------------------------------------------------------------

def test_manual_holds_until_advanced(server: Server) -> None:
    server.control.progress("manual", job_name="Hold me")
    with server.client() as epm:
        handle = epm.submit("Vision", ADMIN_MODE, "Hold me", ADMINS)
        with server.http() as http:
            until_admin_mode(http)
        assert [handle.poll().status for _ in range(4)] == [-1] * 4
        advanced = server.control.advance(handle.job_id)
        assert advanced["status"] == 0 and advanced["jobId"] == handle.job_id
        result: JobResult = handle.wait(timeout=30)
    assert (result.status, result.details) == (
        0, "Application Vision login level set to Administrators.")


def test_manual_applies_to_its_job_name_only(server: Server) -> None:
    server.control.progress("manual", job_name="Hold me")
    assert run_and_watch(server)[-1] == 0  # the default job name: not held


def test_advancing_a_job_that_is_not_held_is_409(server: Server) -> None:
    with server.client() as epm:
        job_id = epm.run_job("Vision", ADMIN_MODE, parameters=ALL_USERS, timeout=30).job_id
    with pytest.raises(HTTPError) as refused:
        server.control.advance(job_id)
    assert refused.value.status_code == 409
    assert refused.value.message == f"The job {job_id} is not held by a progression rule."


def test_advancing_an_unknown_job_is_404(server: Server) -> None:
    with pytest.raises(HTTPError) as refused:
        server.control.advance(987654)
    assert refused.value.status_code == 404


# -- rules: which job, which rule -----------------------------------------------------------

def test_the_newest_matching_rule_wins_and_binds_at_submission(server: Server) -> None:
    server.control.progress(after_polls=1)
    server.control.progress("manual", job_type=ADMIN_MODE)
    with server.client() as epm:
        held = epm.submit("Vision", ADMIN_MODE, parameters=ALL_USERS)
        server.control.progress(after_polls=2, job_type=ADMIN_MODE)  # newer jobs only
        newer = epm.submit("Vision", ADMIN_MODE, parameters=ALL_USERS)
        assert [held.poll().status for _ in range(3)] == [-1] * 3
        assert [newer.poll().status for _ in range(3)] == [-1, -1, 0]
    state = server.control.state()
    assert state["heldJobs"] == [held.job_id]
    assert [r["progression"] for r in state["progression"]] == [{"afterPolls": 1},
                                                                {"afterPolls": 2}]


def test_a_rule_for_another_application_does_not_hold(server: Server) -> None:
    server.control.progress("manual", application="Sandbox")
    assert run_and_watch(server)[-1] == 0


def test_clearing_the_rules_releases_held_jobs(server: Server) -> None:
    server.control.progress("manual")
    with server.http() as http:
        job_id = submit_raw(http)
        assert poll_raw(http, job_id, 2)[1]["status"] == -1
        server.control.clear_progression()
        assert http.get(f"/epmjobs/v1/jobs/{job_id}/wait").json()["status"] == 0
        assert poll_raw(http, job_id, 1)[0]["status"] == 0


def test_wait_and_list_show_the_held_view(server: Server) -> None:
    server.control.progress("manual")
    with server.http() as http:
        job_id = submit_raw(http)
        waited = http.get(f"/epmjobs/v1/jobs/{job_id}/wait", params={"timeout": "0.2"})
        assert waited.json()["status"] == -1
        listed = http.get("/epmjobs/v1/jobs").json()["items"]
        assert [(j["jobId"], j["status"]) for j in listed] == [(job_id, -1)]
        server.control.advance(job_id)
        assert http.get(f"/epmjobs/v1/jobs/{job_id}/wait").json()["status"] == 0
