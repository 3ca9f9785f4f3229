"""The control API's gates and bad input: off → 404, non-admins → 403, bad rules → 400."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.python.asgi import shutdown_lifespans
from starlette.applications import Starlette
from starlette.testclient import TestClient

from conftest import ADMIN, PASSWORD, ROLE_USERS, add_role_users, make_settings
from epmjobs.api.app import control_api_from_env, create_app, openapi_document
from epmjobs.api.fastpath import PollFastPath
from epmjobs.api.routes import control, planning
from epmjobs.api.routes.operations import PollTimer
from epmjobs.bootstrap import bootstrap
from epmjobs.jobs.types import CATALOG, implementation
from epmjobs.security.roles import Role
from epmjobs.system import System
from epmjobs.testing.middleware import ControlMiddleware

ROOT = "/epmjobs/v1/control"
DISABLED = {"detail": "The control API is disabled on this server: start it with "
                      "--control-api (EPMJOBS_CONTROL_API=1).", "status": 404}
VIEWER = (ROLE_USERS[Role.VIEWER], PASSWORD)
UNBUILT = next((spec.name for spec in CATALOG if implementation(spec) is None), "NONE_LEFT")
CALLS = [("GET", ""), ("POST", "/reset"), ("GET", "/snapshots"), ("POST", "/snapshots"),
         ("POST", "/snapshots/x/restore"), ("DELETE", "/snapshots/x"),
         ("POST", "/progression"), ("DELETE", "/progression"), ("POST", "/outcomes"),
         ("DELETE", "/outcomes"), ("POST", "/jobs/1/advance"), ("POST", "/faults"),
         ("DELETE", "/faults"), ("POST", "/recorder/start"), ("POST", "/recorder/stop"),
         ("GET", "/recorder"), ("GET", "/no/such/thing")]


@pytest.fixture
def enabled(system: System) -> Iterator[TestClient]:
    with TestClient(create_app(system, control_api=True), base_url="http://epm.test") as c:
        yield c


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """One installation for the tables of refusals below: none of them changes anything."""
    system = System(make_settings(tmp_path_factory.mktemp("control") / "data"))
    bootstrap(system)
    add_role_users(system)
    yield system
    system.close()


@pytest.fixture(scope="module")
def off(shared: System) -> Iterator[TestClient]:
    with TestClient(create_app(shared), base_url="http://epm.test") as c:
        yield c


@pytest.fixture(scope="module")
def on(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    system = System(make_settings(tmp_path_factory.mktemp("control-on") / "data"))
    bootstrap(system)
    add_role_users(system)
    with TestClient(create_app(system, control_api=True), base_url="http://epm.test") as c:
        yield c
    system.close()


@pytest.mark.parametrize(("method", "path"), CALLS)
@pytest.mark.parametrize("auth", [ADMIN, None])
def test_every_control_path_is_404_while_the_api_is_off(
        off: TestClient, method: str, path: str, auth: tuple[str, str] | None) -> None:
    answer = off.request(method, ROOT + path, auth=auth, json={})
    assert answer.status_code == 404
    assert answer.json() == DISABLED


def test_off_means_nothing_of_it_runs(system: System) -> None:
    app = create_app(system)
    layers = [m.cls for m in app.user_middleware]
    assert layers == [PollTimer, PollFastPath]
    assert app.user_middleware[1].kwargs == {}  # the fast path's own poll handler
    assert system.job_service.control is None
    on = create_app(system, control_api=True)
    assert [m.cls for m in on.user_middleware] == [PollTimer, ControlMiddleware, PollFastPath]
    assert on.user_middleware[2].kwargs == {"handler": control.poll_job}
    assert planning.get_job is not control.poll_job


@pytest.mark.parametrize(("value", "on"), [("1", True), ("true", True), ("ON", True),
                                           ("0", False), ("", False), ("no", False)])
def test_the_environment_switch(monkeypatch: pytest.MonkeyPatch, value: str, on: bool) -> None:
    monkeypatch.setenv("EPMJOBS_CONTROL_API", value)
    assert control_api_from_env() is on


@pytest.mark.parametrize(("method", "path"), CALLS[:-1])
def test_non_admins_are_refused_and_anonymous_callers_challenged(
        on: TestClient, method: str, path: str) -> None:
    refused = on.request(method, ROOT + path, auth=VIEWER, json={})
    assert refused.status_code == 403
    assert refused.json()["detail"].startswith(f"User {VIEWER[0]} does not have the Service "
                                               "Administrator role")
    assert on.request(method, ROOT + path, json={}).status_code == 401


@pytest.mark.parametrize(("body", "reason"), [
    ({}, 'progression must be "immediate", "manual", {"afterPolls": N} or {"afterSeconds": S}.'),
    ({"progression": "sometimes"}, 'progression must be "immediate", "manual", '
                                   '{"afterPolls": N} or {"afterSeconds": S}.'),
    ({"progression": {"afterPolls": 2, "afterSeconds": 1}}, 'progression must be "immediate",'
                                                            ' "manual", {"afterPolls": N} or '
                                                            '{"afterSeconds": S}.'),
    ({"progression": {"afterPolls": -1}}, "afterPolls must be an integer from 0 to 1000000."),
    ({"progression": {"afterPolls": 1.5}}, "afterPolls must be an integer from 0 to 1000000."),
    ({"progression": {"afterPolls": True}}, "afterPolls must be an integer from 0 to 1000000."),
    ({"progression": {"afterSeconds": "2"}}, "afterSeconds must be a number from 0 to 86400."),
    ({"progression": "manual", "jobType": "NOPE"}, "Invalid job type: NOPE."),
    ({"progression": "manual", "jobType": 7}, "jobType must be a string."),
    ({"progression": "manual", "jobName": " "}, "jobName must not be empty."),
    ({"progression": "manual", "jobType": UNBUILT},
     f"The job type {UNBUILT} is not supported by this epmjobs server yet: no job of it can be "
     "submitted."),
    ({"progression": "manual", "afterPolls": 3}, "Unknown field afterPolls; the fields are "
                                                 "application, jobType, jobName, progression."),
    ([1], "The request body must be a JSON object."),
])
def test_malformed_progression_rules_are_400_with_the_reason(
        on: TestClient, body: Any, reason: str) -> None:
    answer = on.post(f"{ROOT}/progression", auth=ADMIN, json=body)
    assert answer.status_code == 400
    assert answer.json() == {"detail": reason, "status": 400}
    assert on.get(ROOT, auth=ADMIN).json()["progression"] == []


def test_a_body_that_is_not_json_is_400(on: TestClient) -> None:
    answer = on.post(f"{ROOT}/outcomes", auth=ADMIN, content=b"{oops",
                          headers={"content-type": "application/json"})
    assert answer.json() == {"detail": "Invalid JSON payload.", "status": 400}


def test_job_type_spellings_are_one_type(enabled: TestClient) -> None:
    answer = enabled.post(f"{ROOT}/progression", auth=ADMIN,
                          json={"jobType": "admin mode", "progression": {"afterPolls": 2}})
    assert answer.status_code == 201
    assert answer.json() == {"application": None, "jobType": "ADMINISTRATION_MODE",
                             "jobName": None, "progression": {"afterPolls": 2}}


def test_the_state_lists_what_is_in_force(enabled: TestClient) -> None:
    enabled.post(f"{ROOT}/progression", auth=ADMIN,
                 json={"jobName": "Nightly", "progression": {"afterSeconds": 1.5}})
    enabled.post(f"{ROOT}/outcomes", auth=ADMIN, json={"status": 1, "details": "x", "times": 2})
    enabled.post(f"{ROOT}/faults", auth=ADMIN,
                 json={"fault": "delay", "seconds": 0.5, "count": 3, "method": "get"})
    enabled.post(f"{ROOT}/recorder/start", auth=ADMIN)
    assert enabled.get(ROOT, auth=ADMIN).json() == {
        "progression": [{"application": None, "jobType": None, "jobName": "Nightly",
                         "progression": {"afterSeconds": 1.5}}],
        "heldJobs": [],
        "outcomes": [{"application": None, "jobType": None, "jobName": None, "status": 1,
                      "details": "x", "remaining": 2}],
        "faults": [{"fault": "delay", "remaining": 3, "method": "GET", "path": None,
                    "seconds": 0.5}],
        "recorder": {"recording": True, "entries": 0},
    }


def test_a_post_without_a_body_is_an_empty_object(enabled: TestClient) -> None:
    answer = enabled.post(f"{ROOT}/reset", auth=ADMIN)
    assert answer.json() == {"applications": []}


# -- fuzzing the control API against its documented shapes --------------------------------

CONTROL_SCHEMA = schemathesis.openapi.from_dict(
    json.loads(openapi_document(control_api=True)),
    config=schemathesis.Config.from_dict({
        "seed": 20260207,
        "generation": {"mode": "all", "max-examples": 8, "deterministic": True,
                       "database": "none"},
        "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True},
                   "fuzzing": {"enabled": True}, "stateful": {"enabled": False}},
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
    })).include(path_regex="^/epmjobs/v1/control")
AUTH = {"Authorization": "Basic " + base64.b64encode(":".join(ADMIN).encode()).decode()}


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Starlette]:
    system = System(make_settings(tmp_path_factory.mktemp("control-fuzz") / "data"))
    bootstrap(system)
    yield create_app(system, control_api=True)
    shutdown_lifespans()
    system.close()


@CONTROL_SCHEMA.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_control_answers_are_documented_whatever_the_input(case: Case,
                                                           fuzzed_app: Starlette) -> None:
    from schemathesis import checks

    case.call_and_validate(app=fuzzed_app, headers=AUTH, checks=[
        checks.not_a_server_error, checks.status_code_conformance,
        checks.content_type_conformance, checks.response_schema_conformance])
