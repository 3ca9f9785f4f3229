"""Injected transport faults through the plugin only: 503 maintenance for the next K requests,
a 401 as if a token expired, a delay; seen by EpmClient and by raw httpx."""

from __future__ import annotations

import time

import pytest

from epmjobs.client import (
    AuthenticationFailed,
    BadRequest,
    RetryPolicy,
    ServiceUnavailable,
)
from epmjobs.testing import InProcessServer, LiveServer

ADMIN_MODE = "ADMINISTRATION_MODE"
ALL_USERS = {"loginLevel": "All Users"}
V3 = "/HyperionPlanning/rest/v3"
JOBS = f"{V3}/applications/Vision/jobs"
MAINTENANCE = {"detail": "The service is unavailable: it is undergoing maintenance. "
                         "Try again later.", "status": 503}
EXPIRED = {"detail": "Invalid or expired token.", "status": 401}
Server = InProcessServer | LiveServer


@pytest.fixture(params=["in-process", "live"])
def server(request: pytest.FixtureRequest) -> Server:
    name = "epmjobs_server" if request.param == "in-process" else "epmjobs_live_server"
    found: Server = request.getfixturevalue(name)
    return found


def test_maintenance_answers_503_to_the_next_k_requests(server: Server) -> None:
    server.control.maintenance(2, retry_after=7)
    with server.http() as http:
        answers = [http.get(V3) for _ in range(3)]
    assert [a.status_code for a in answers] == [503, 503, 200]
    assert answers[0].json() == MAINTENANCE
    assert answers[0].headers["retry-after"] == "7"
    assert server.control.state()["faults"] == []


def test_our_client_rides_out_a_short_maintenance_window(server: Server) -> None:
    server.control.maintenance(3)
    with server.client(retry=RetryPolicy(retries=3, backoff=0.001, cap=0.001)) as epm:
        result = epm.run_job("Vision", ADMIN_MODE, parameters=ALL_USERS, timeout=30)
    assert result.ok


def test_our_client_gives_up_after_its_retries(server: Server) -> None:
    server.control.maintenance(5)
    quick = RetryPolicy(retries=1, backoff=0.001, cap=0.001)
    with server.client(retry=quick) as epm, pytest.raises(ServiceUnavailable) as failed:
        epm.applications()
    assert failed.value.status_code == 503
    assert failed.value.message == MAINTENANCE["detail"]
    remaining = server.control.state()["faults"]
    assert [(f["fault"], f["remaining"]) for f in remaining] == [("maintenance", 3)]


def test_a_token_that_expired_is_401_with_a_challenge(server: Server) -> None:
    server.control.expire_token()
    with server.http() as http:
        expired = http.get(V3)
        assert expired.status_code == 401
        assert expired.json() == EXPIRED
        assert expired.headers["www-authenticate"].startswith("Basic realm=")
        assert http.get(V3).status_code == 200  # the next request is fine again
    server.control.expire_token(method="GET", path=r"/jobs/[0-9]+$")
    with server.client() as epm:
        handle = epm.submit("Vision", ADMIN_MODE, parameters=ALL_USERS)
        with pytest.raises(AuthenticationFailed) as failed:
            handle.poll()
        assert failed.value.message == EXPIRED["detail"]
        assert handle.wait(timeout=30).ok


def test_a_delay_serves_the_request_late(server: Server) -> None:
    server.control.delay(0.3, count=1, method="GET")
    with server.http() as http:
        began = time.monotonic()
        answer = http.get(V3)
        assert time.monotonic() - began >= 0.3  # a lower bound the delay guarantees
        assert answer.status_code == 200
        assert server.control.state()["faults"] == []


def test_faults_wait_for_the_requests_they_name(server: Server) -> None:
    server.control.maintenance(1, method="POST", path="/jobs$")
    with server.http() as http:
        assert http.get(V3).status_code == 200
        assert http.get("/interop/rest/").status_code == 200
        submitted = http.post(JOBS, json={"jobType": ADMIN_MODE, "parameters": ALL_USERS})
        assert submitted.status_code == 503
        assert http.get(f"{JOBS}/1").status_code == 404  # the refused POST made no job


def test_the_file_api_is_faulted_too(server: Server) -> None:
    server.control.maintenance(1)
    with server.http() as http:
        assert http.get("/interop/rest/11.1.2.3.600/applicationsnapshots").status_code == 503


def test_our_own_paths_are_never_faulted(server: Server) -> None:
    server.control.maintenance(1)
    server.control.expire_token(1)
    with server.http() as http:
        assert http.get("/epmjobs/v1/jobs").status_code == 200
        assert http.get("/openapi.json").status_code == 200
        assert len(server.control.state()["faults"]) == 2  # control calls are not faulted
        assert [http.get(V3).status_code for _ in range(3)] == [503, 401, 200]


def test_clearing_faults_forgets_them(server: Server) -> None:
    server.control.maintenance(10)
    server.control.clear_faults()
    with server.http() as http:
        assert http.get(V3).status_code == 200


@pytest.mark.parametrize(("body", "reason"), [
    ({"fault": "outage"}, 'fault must be "maintenance", "tokenExpired" or "delay".'),
    ({"fault": "maintenance", "count": 0}, "count must be an integer from 1 to 1000000."),
    ({"fault": "maintenance", "count": "3"}, "count must be an integer from 1 to 1000000."),
    ({"fault": "delay"}, "seconds is required for a delay, and only for a delay."),
    ({"fault": "maintenance", "seconds": 1}, "seconds is required for a delay, and only for "
                                             "a delay."),
    ({"fault": "delay", "seconds": 601}, "seconds must be from 0 to 600."),
    ({"fault": "delay", "seconds": "1"}, "seconds must be from 0 to 600."),
    ({"fault": "tokenExpired", "retryAfter": 5}, "retryAfter is a whole number of seconds (0 "
                                                 "to 86400), for maintenance only."),
    ({"fault": "maintenance", "path": "(["}, "path is not a valid regular expression: "
                                             "unterminated character set at position 1."),
    ({"fault": "maintenance", "when": "now"}, "Unknown field when; the fields are fault, "
                                              "count, seconds, retryAfter, method, path."),
])
def test_malformed_faults_are_400_with_the_reason(epmjobs_server: InProcessServer,
                                                  body: dict[str, object], reason: str) -> None:
    with epmjobs_server.http() as http:
        answer = http.post("/epmjobs/v1/control/faults", json=body)
    assert answer.status_code == 400
    assert answer.json() == {"detail": reason, "status": 400}
    with pytest.raises(BadRequest):
        epmjobs_server.control.delay(-1)
