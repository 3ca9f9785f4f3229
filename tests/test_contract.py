"""The wire contract (design.md invariant 1): whole response bodies, compared exactly.

Every body is compared with ``==`` *and* type by type (``True == 1`` in Python, so a
plain ``==`` would let a boolean pass for a status code): ``jobId`` and ``status`` are
integers, ``links[0]`` is ``self``, every href is absolute and built from what the
client used (Host, ``X-Forwarded-*``).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from conftest import ADMIN, add_role_users, make_settings
from epmjobs.api.app import create_app
from epmjobs.appfile import create_application
from epmjobs.bootstrap import bootstrap
from epmjobs.errors import JobFailed
from epmjobs.jobs.context import JobContext
from epmjobs.jobs.model import ChildJob, JobMessage, MessageType
from epmjobs.jobs.runner import Worker
from epmjobs.jobs.status import JobStatus
from epmjobs.jobs.types import CATALOG, IMPLEMENTATIONS, implementation, lookup
from epmjobs.system import System

BASE = "http://epm.test"
REST = "/HyperionPlanning/rest"
V3 = f"{REST}/v3"
VISION = f"{V3}/applications/Vision"
JOBS = f"{VISION}/jobs"
EXT = "/epmjobs/v1"

ALL_USERS = {"jobType": "ADMINISTRATION_MODE", "parameters": {"loginLevel": "All Users"}}
ADMINS_ONLY = {"jobType": "ADMINISTRATION_MODE", "parameters": {"loginLevel": "Administrators"}}
ALL_USERS_DONE = "Application Vision login level set to All Users."


# -- helpers ------------------------------------------------------------------------------

def assert_wire(actual: Any, expected: Any) -> None:
    """Equal JSON, and equal JSON types all the way down (int is not bool, not float)."""
    assert actual == expected
    _same_types(actual, expected, "$")


def _same_types(actual: Any, expected: Any, path: str) -> None:
    assert type(actual) is type(expected), (
        f"{path}: {type(actual).__name__} where {type(expected).__name__} is expected")
    if isinstance(expected, dict):
        for key in expected:
            _same_types(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _same_types(a, e, f"{path}[{i}]")


def link(rel: str, href: str, action: str = "GET") -> dict[str, str]:
    return {"rel": rel, "href": href, "action": action}


def job_url(job_id: int, base: str = BASE, version: str = "v3", app: str = "Vision") -> str:
    return f"{base}{REST}/{version}/applications/{app}/jobs/{job_id}"


def record(job_id: int, job_name: str | None, status: int = -1, details: str | None = None,
           descriptive: str = "Processing", base: str = BASE,
           version: str = "v3") -> dict[str, Any]:
    url = job_url(job_id, base, version)
    return {"status": status, "details": details, "jobId": job_id, "jobName": job_name,
            "descriptiveStatus": descriptive,
            "links": [link("self", url), link("job-details", f"{url}/details")]}


def rejected(details: str, job_name: str | None = None, status: int = 1,
             descriptive: str = "Error") -> dict[str, Any]:
    return {"descriptiveStatus": descriptive, "jobId": -1, "status": status,
            "details": details, "jobName": job_name, "links": None}


def error(detail: str, status: int) -> dict[str, Any]:
    return {"detail": detail, "status": status}


def submit(client: TestClient, body: dict[str, Any] = ALL_USERS) -> int:
    response = client.post(JOBS, auth=ADMIN, json=body)
    assert response.status_code == 201, response.text
    job_id: int = response.json()["jobId"]
    return job_id


def iso_z(ts: float | None) -> str | None:
    """ISO 8601 UTC with milliseconds and a Z, written independently of the server's code."""
    if ts is None:
        return None
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond // 1000:03d}Z"


def add_messages(system: System, job_id: int, messages: list[JobMessage],
                 child_id: int = 0) -> None:
    with system.db.transaction() as conn:
        system.stores.jobs.add_messages(conn, job_id, child_id, messages)


def add_children(system: System, job_id: int, children: list[ChildJob]) -> None:
    with system.db.transaction() as conn:
        system.stores.jobs.add_children(conn, job_id, children)


def cycle_messages(count: int) -> list[JobMessage]:
    """ERROR, WARNING, INFO, ERROR, ...; errors carry a record number."""
    kinds = [MessageType.ERROR, MessageType.WARNING, MessageType.INFO]
    return [JobMessage(kinds[i % 3], "Load", f"message {i}",
                       i if kinds[i % 3] is MessageType.ERROR else None)
            for i in range(count)]


def wire_message(message: JobMessage) -> dict[str, Any]:
    item: dict[str, Any] = {"msgType": str(message.msg_type), "msgCategory": message.category,
                            "msgText": message.text}
    if message.record_number is not None:
        item["recordNumber"] = message.record_number
    return item


def vision_item(base: str = BASE, admin_mode: bool = False) -> dict[str, Any]:
    return {
        "name": "Vision", "type": "HP", "dpEnabled": False, "unicode": True,
        "appStorage": "Multidim", "appType": "PBCS",
        "webBotDetails": '{"channelId":"","serviceUri":""}',
        "helpServerUrl": "https://www.oracle.com", "workpaceServerUrl": base,
        "theme": "REDWOOD_ORACLE_R13", "adminMode": admin_mode, "hybrid": True,
        "oglApplicationId": "", "oglServerUrl": "https://guidedlearning.oracle.com",
    }


def version_item(version: str, base: str = BASE) -> dict[str, Any]:
    order = ["v1", "v2", "v3"]
    i = order.index(version)
    links = [link("canonical", f"{base}{REST}/{version}")]
    if i > 0:
        links.append(link("predecessor-version", f"{base}{REST}/{order[i - 1]}"))
    if i < 2:
        links.append(link("successor-version", f"{base}{REST}/{order[i + 1]}"))
    return {"version": version, "lifecycle": "active" if version == "v3" else "deprecated",
            "isLatest": version == "v3", "links": links}


def custom_system(tmp_path: Path, **overrides: object) -> System:
    system = System(make_settings(tmp_path / "custom", **overrides))
    bootstrap(system)
    add_role_users(system)
    return system


class _FailingStub:
    """Stands in for a definition-backed job type nobody has implemented yet."""

    def validate(self, parameters: dict[str, Any]) -> dict[str, Any]:
        return parameters

    def run(self, ctx: JobContext) -> str | None:
        raise JobFailed("stub")


@pytest.fixture
def definition_backed_type(monkeypatch: pytest.MonkeyPatch) -> str:
    """An implemented job type that needs a saved definition (CUBE_REFRESH if none is yet).

    The registry ``IMPLEMENTATIONS`` is the seam job types plug into, so the stub is
    registered there, only for the test.
    """
    for spec in CATALOG:
        if spec.needs_definition and implementation(spec) is not None:
            return spec.name
    monkeypatch.setitem(IMPLEMENTATIONS, "CUBE_REFRESH", _FailingStub())
    return "CUBE_REFRESH"


@pytest.fixture
def unimplemented_type() -> str:
    """A catalogued job type without an implementation: RULES while there is none."""
    candidates = [lookup("RULES"), *CATALOG]
    for spec in candidates:
        if spec is not None and implementation(spec) is None:
            return spec.name
    pytest.skip("every catalogued job type is implemented")


# -- versions -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [REST, f"{REST}/"])
def test_version_list_names_v1_v2_deprecated_and_v3_latest(client, path: str) -> None:
    response = client.get(path, auth=ADMIN)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert_wire(response.json(), {
        "items": [version_item("v1"), version_item("v2"), version_item("v3")],
        "links": [link("self", f"{BASE}{REST}/")],
    })


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
@pytest.mark.parametrize("slash", ["", "/"])
def test_one_version_is_a_single_object_with_its_neighbours(client, version: str,
                                                            slash: str) -> None:
    response = client.get(f"{REST}/{version}{slash}", auth=ADMIN)
    assert response.status_code == 200
    assert_wire(response.json(), version_item(version))


def test_legacy_version_token_answers_as_the_current_version(client) -> None:
    response = client.get(f"{REST}/11.1.2.3.600", auth=ADMIN)
    assert response.status_code == 200
    assert_wire(response.json(), version_item("v3"))


@pytest.mark.parametrize("token", ["V3", "v4", "v0", "latest"])
def test_unknown_or_wrongly_cased_version_is_404_json(client, token: str) -> None:
    response = client.get(f"{REST}/{token}", auth=ADMIN)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert_wire(response.json(), error(f"The REST API version {token} is not valid.", 404))


def test_wrongly_cased_version_is_404_under_applications_too(client) -> None:
    response = client.get(f"{REST}/V3/applications/Vision/jobs/1", auth=ADMIN)
    assert response.status_code == 404
    assert_wire(response.json(), error("The REST API version V3 is not valid.", 404))


# -- applications ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", [f"{V3}/applications", f"{V3}/applications/"])
def test_application_list_matches_the_live_capture_shape(client, path: str) -> None:
    response = client.get(path, auth=ADMIN)
    assert response.status_code == 200
    assert_wire(response.json(), {
        "links": [link("self", f"{BASE}{V3}/applications/")],
        "items": [vision_item()],
        "type": "HP",
    })


def test_application_list_keeps_the_misspelt_workpace_server_url(client) -> None:
    item = client.get(f"{V3}/applications", auth=ADMIN).json()["items"][0]
    assert item["workpaceServerUrl"] == BASE
    assert "workspaceServerUrl" not in item


@pytest.mark.parametrize("version", ["v1", "v2", "11.1.2.3.600"])
def test_version_aliases_serve_applications_with_their_own_token_in_hrefs(
        client, version: str) -> None:
    response = client.get(f"{REST}/{version}/applications", auth=ADMIN)
    assert response.status_code == 200
    assert_wire(response.json(), {
        "links": [link("self", f"{BASE}{REST}/{version}/applications/")],
        "items": [vision_item()], "type": "HP",
    })


def test_one_application_adds_web_bot_id_self_link_and_cubes(client) -> None:
    response = client.get(VISION, auth=ADMIN)
    assert response.status_code == 200
    assert_wire(response.json(), {
        **vision_item(), "webBotAppId": "",
        "links": [link("self", f"{BASE}{VISION}")],
        "cubes": [{"name": "Plan1", "type": "BSO"}, {"name": "Plan2", "type": "BSO"},
                  {"name": "Plan3", "type": "BSO"}, {"name": "Vis1ASO", "type": "ASO"}],
    })


def test_application_name_is_matched_case_insensitively_and_answered_canonically(
        client) -> None:
    body = client.get(f"{V3}/applications/vIsIoN", auth=ADMIN).json()
    assert body["name"] == "Vision"
    assert body["links"] == [link("self", f"{BASE}{VISION}")]


def test_unknown_application_is_404_json(client) -> None:
    response = client.get(f"{V3}/applications/Nope", auth=ADMIN)
    assert response.status_code == 404
    assert_wire(response.json(), error("The application Nope does not exist.", 404))


def test_admin_mode_flips_in_list_and_item_after_an_administration_mode_job(
        client, worker: Worker) -> None:
    submit(client, ADMINS_ONLY)
    worker.drain()
    assert client.get(f"{V3}/applications", auth=ADMIN).json()["items"] == [
        vision_item(admin_mode=True)]
    assert client.get(VISION, auth=ADMIN).json()["adminMode"] is True
    submit(client, ALL_USERS)
    worker.drain()
    assert client.get(VISION, auth=ADMIN).json()["adminMode"] is False


# -- job definitions ------------------------------------------------------------------------

VISION_DEFINITIONS = [
    {"jobType": "CLEAR_CUBE", "jobName": "ClearPlan1", "planTypeName": "Plan1", "links": None},
    {"jobType": "CLEAR_CUBE", "jobName": "ClearPlan1Forecast", "planTypeName": "Plan1",
     "links": None},
    {"jobType": "CUBE_REFRESH", "jobName": "RefreshDB", "planTypeName": None, "links": None},
    {"jobType": "EXPORT_DATA", "jobName": "ExportPlan1Actuals", "planTypeName": "Plan1",
     "links": None},
    {"jobType": "EXPORT_METADATA", "jobName": "ExportMetadata", "planTypeName": None,
     "links": None},
    {"jobType": "IMPORT_DATA", "jobName": "LoadPlan1", "planTypeName": "Plan1", "links": None},
    {"jobType": "IMPORT_METADATA", "jobName": "ImportMetadata", "planTypeName": None,
     "links": None},
    {"jobType": "PLAN_TYPE_MAP", "jobName": "Plan1ToReporting", "planTypeName": "Plan1",
     "links": None},
    {"jobType": "RULES", "jobName": "AggregatePlan", "planTypeName": "Plan1", "links": None},
    {"jobType": "RULES", "jobName": "CalcRevenue", "planTypeName": "Plan1", "links": None},
    {"jobType": "RULES", "jobName": "TranslateToLocal", "planTypeName": "Plan1",
     "links": None},
    {"jobType": "RULESET", "jobName": "PlanCycle", "planTypeName": "Plan1", "links": None},
    {"jobType": "SORT_MEMBERS", "jobName": "SortProducts", "planTypeName": None, "links": None},
]
REFRESH_ONLY = [VISION_DEFINITIONS[2]]


def definitions_body(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"items": items, "type": "HP",
            "links": [link("self", f"{BASE}{VISION}/jobdefinitions")]}


def test_job_definitions_without_q_list_the_whole_library_sorted_by_type(client) -> None:
    response = client.get(f"{VISION}/jobdefinitions", auth=ADMIN)
    assert response.status_code == 200
    assert_wire(response.json(), definitions_body(VISION_DEFINITIONS))


@pytest.mark.parametrize("raw_query", [
    pytest.param("q=" + quote('{"jobType":"CUBE_REFRESH"}', safe=""), id="strict-json"),
    pytest.param("q=" + quote(quote('{"jobType":"CUBE_REFRESH"}', safe=""), safe=""),
                 id="percent-encoded-twice"),
    pytest.param("q=" + quote("{'jobType':'CUBE_REFRESH'}", safe=""), id="single-quoted"),
    pytest.param("q=" + quote("{jobType:CUBE_REFRESH}", safe=""), id="unquoted"),
    pytest.param("q={jobType:CUBE_REFRESH}", id="unquoted-raw-braces"),
    pytest.param("q=" + quote('{"jobType":"Cube Refresh"}', safe=""), id="display-name"),
    pytest.param("q=" + quote('{"jobType":"cube_refresh"}', safe=""), id="lower-case"),
    pytest.param("q=" + quote(' { jobType : "CUBE_REFRESH" } ', safe=""), id="spaces"),
])
def test_job_definitions_q_filters_by_type_in_every_accepted_form(client,
                                                                   raw_query: str) -> None:
    response = client.get(f"{VISION}/jobdefinitions?{raw_query}", auth=ADMIN)
    assert response.status_code == 200, response.text
    assert_wire(response.json(), definitions_body(REFRESH_ONLY))


@pytest.mark.parametrize("q", ['{"jobType":"NOPE"}', '{"jobType":"AUTO_PREDICT"}', "{}",
                               '{"other":"x"}'])
def test_job_definitions_q_for_a_type_without_definitions_is_empty_or_unfiltered(
        client, q: str) -> None:
    body = client.get(f"{VISION}/jobdefinitions", params={"q": q}, auth=ADMIN).json()
    expected = VISION_DEFINITIONS if "jobType" not in q else []
    assert_wire(body, definitions_body(expected))


def test_job_definitions_q_that_is_not_an_object_is_400(client) -> None:
    response = client.get(f"{VISION}/jobdefinitions", params={"q": "[1,2]"}, auth=ADMIN)
    assert response.status_code == 400
    assert_wire(response.json(),
                error("Invalid q parameter: a JSON object is expected.", 400))


def test_job_definitions_q_that_does_not_parse_is_400_naming_q(client) -> None:
    response = client.get(f"{VISION}/jobdefinitions", params={"q": "{jobType"}, auth=ADMIN)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"detail", "status"} and body["status"] == 400
    assert body["detail"].startswith("Invalid q parameter")


def test_job_definitions_of_unknown_application_is_404(client) -> None:
    response = client.get(f"{V3}/applications/Nope/jobdefinitions", auth=ADMIN)
    assert response.status_code == 404
    assert_wire(response.json(), error("The application Nope does not exist.", 404))


# -- submit and poll ------------------------------------------------------------------------

def test_submit_answers_201_with_a_processing_record(client) -> None:
    response = client.post(JOBS, auth=ADMIN, json=ALL_USERS)
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert type(body["jobId"]) is int and body["jobId"] > 0
    assert_wire(body, record(body["jobId"], "Administration Mode"))


def test_submit_uses_the_given_job_name_for_an_ad_hoc_type(client) -> None:
    body = client.post(JOBS, auth=ADMIN, json={**ALL_USERS, "jobName": "AppAdminJob"}).json()
    assert_wire(body, record(body["jobId"], "AppAdminJob"))


@pytest.mark.parametrize("spelling", ["ADMINISTRATION_MODE", "Administration Mode",
                                      "ADMIN_MODE", "administration_mode"])
def test_submit_accepts_every_spelling_of_a_job_type(client, spelling: str) -> None:
    response = client.post(JOBS, auth=ADMIN, json={**ALL_USERS, "jobType": spelling})
    assert response.status_code == 201
    assert response.json()["status"] == -1


def test_job_ids_increase_across_submissions(client) -> None:
    ids = [submit(client) for _ in range(3)]
    assert ids == sorted(ids) and len(set(ids)) == 3


def test_poll_after_the_worker_ran_reports_completed_with_details(client,
                                                                  worker: Worker) -> None:
    job_id = submit(client)
    assert_wire(client.get(f"{JOBS}/{job_id}", auth=ADMIN).json(),
                record(job_id, "Administration Mode"))
    assert worker.drain() == 1
    response = client.get(f"{JOBS}/{job_id}", auth=ADMIN)
    assert response.status_code == 200
    assert_wire(response.json(), record(job_id, "Administration Mode", 0, ALL_USERS_DONE,
                                        "Completed"))


@pytest.mark.parametrize("version", ["v1", "v2", "11.1.2.3.600"])
def test_job_record_links_carry_the_version_token_the_client_used(client,
                                                                  version: str) -> None:
    job_id = submit(client)
    response = client.get(f"{REST}/{version}/applications/Vision/jobs/{job_id}", auth=ADMIN)
    assert_wire(response.json(), record(job_id, "Administration Mode", version=version))


def test_submit_through_an_alias_links_to_the_alias(client) -> None:
    response = client.post(f"{REST}/v2/applications/Vision/jobs", auth=ADMIN, json=ALL_USERS)
    body = response.json()
    assert_wire(body, record(body["jobId"], "Administration Mode", version="v2"))


def test_submit_answers_200_when_configured_for_it(tmp_path: Path) -> None:
    system = custom_system(tmp_path, submit_http_status=200)
    try:
        with TestClient(create_app(system), base_url=BASE) as client:
            response = client.post(JOBS, auth=ADMIN, json=ALL_USERS)
            assert response.status_code == 200
            assert_wire(response.json(), record(response.json()["jobId"],
                                                "Administration Mode"))
    finally:
        system.close()


# -- submission errors (job-shaped 400) -----------------------------------------------------

def test_unknown_job_type_is_a_job_shaped_400(client) -> None:
    response = client.post(JOBS, auth=ADMIN, json={"jobType": "NOPE", "jobName": "x"})
    assert response.status_code == 400
    assert_wire(response.json(), rejected("Invalid job type: NOPE.", "x"))


def test_missing_job_type_is_a_job_shaped_400(client) -> None:
    response = client.post(JOBS, auth=ADMIN, json={"jobName": "x"})
    assert response.status_code == 400
    assert_wire(response.json(), rejected("jobType is required.", "x"))


def test_known_but_unimplemented_type_is_refused_as_not_supported_before_name_lookup(
        client, unimplemented_type: str) -> None:
    # The order in JobService.submit: type known -> role -> implemented -> definition.
    response = client.post(JOBS, auth=ADMIN,
                           json={"jobType": unimplemented_type, "jobName": "NoSuchRule"})
    assert response.status_code == 400
    assert_wire(response.json(), rejected(
        f"The job type {unimplemented_type} is not supported by this epmjobs server yet.",
        "NoSuchRule"))


def test_definition_backed_type_with_unknown_name_is_not_found(
        client, definition_backed_type: str) -> None:
    response = client.post(JOBS, auth=ADMIN,
                           json={"jobType": definition_backed_type, "jobName": "NoSuchJob"})
    assert response.status_code == 400
    assert_wire(response.json(), rejected(
        "A job with specified name and type was not found", "NoSuchJob"))


def test_definition_backed_type_without_name_says_the_name_is_required(
        client, definition_backed_type: str) -> None:
    response = client.post(JOBS, auth=ADMIN, json={"jobType": definition_backed_type})
    assert response.status_code == 400
    assert_wire(response.json(), rejected(
        f"jobName is required for job type {definition_backed_type}."))


@pytest.mark.parametrize(("content", "details"), [
    (b"{not json", "Invalid JSON payload."),
    (b"", "Invalid JSON payload."),
    (b"[1, 2]", "The request body must be a JSON object."),
    (b'"ADMINISTRATION_MODE"', "The request body must be a JSON object."),
    (b'{"jobType": 7}', "jobType must be a string."),
    (b'{"jobType": "ADMINISTRATION_MODE", "jobName": []}', "jobName must be a string."),
])
def test_malformed_submission_is_a_job_shaped_400(client, content: bytes,
                                                   details: str) -> None:
    response = client.post(JOBS, auth=ADMIN, content=content,
                           headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert_wire(response.json(), rejected(details))


@pytest.mark.parametrize(("parameters", "details"), [
    ({"loginLevel": "Nobody"}, "Invalid value 'Nobody' for parameter loginLevel; allowed "
                               "values: Administrators, All Users."),
    ({}, "Parameter loginLevel is required; allowed values: Administrators, All Users."),
    ({"loginLevel": True}, "Parameter loginLevel must be a string."),
])
def test_bad_parameter_value_is_status_4_invalid_parameter(client, parameters: dict[str, Any],
                                                           details: str) -> None:
    response = client.post(JOBS, auth=ADMIN,
                           json={"jobType": "ADMINISTRATION_MODE", "parameters": parameters})
    assert response.status_code == 400
    assert_wire(response.json(), rejected(details, "Administration Mode", 4,
                                          "Invalid Parameter"))


def test_parameters_that_are_not_an_object_are_status_4(client) -> None:
    response = client.post(JOBS, auth=ADMIN, json={"jobType": "ADMINISTRATION_MODE",
                                                   "jobName": "J", "parameters": "x"})
    assert response.status_code == 400
    assert_wire(response.json(), rejected("parameters must be a JSON object.", "J", 4,
                                          "Invalid Parameter"))


def test_submission_to_unknown_application_is_404(client) -> None:
    response = client.post(f"{V3}/applications/Nope/jobs", auth=ADMIN, json=ALL_USERS)
    assert response.status_code == 404
    assert_wire(response.json(), error("The application Nope does not exist.", 404))


# -- unknown jobs ---------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", ["", "/details", "/childjobs/1/details"])
def test_unknown_job_id_is_404_with_the_planning_error_body(client, suffix: str) -> None:
    response = client.get(f"{JOBS}/999{suffix}", auth=ADMIN)
    assert response.status_code == 404
    assert_wire(response.json(), error("The job 999 does not exist.", 404))


def test_unknown_job_id_answers_500_when_configured_for_bug_compatibility(
        tmp_path: Path) -> None:
    system = custom_system(tmp_path, unknown_job_http_status=500)
    try:
        with TestClient(create_app(system), base_url=BASE) as client:
            response = client.get(f"{JOBS}/999", auth=ADMIN)
            assert response.status_code == 500
            assert_wire(response.json(), error("The job 999 does not exist.", 500))
            # ...but an unknown application is still a plain 404.
            other = client.get(f"{V3}/applications/Nope/jobs/1", auth=ADMIN)
            assert other.status_code == 404
    finally:
        system.close()


def test_job_of_another_application_is_not_found_there(client, system: System) -> None:
    create_application(system, {"format": "epmjobs-application/1", "name": "Other",
                                "cubes": [{"name": "C1", "kind": "BSO"}]})
    job_id = submit(client)
    for suffix in ("", "/details"):
        response = client.get(f"{V3}/applications/Other/jobs/{job_id}{suffix}", auth=ADMIN)
        assert response.status_code == 404
        assert_wire(response.json(), error(f"The job {job_id} does not exist.", 404))
    assert client.get(f"{JOBS}/{job_id}", auth=ADMIN).status_code == 200


# -- details always a string once a job ended badly ----------------------------------------

@pytest.mark.parametrize(("status", "descriptive"), [
    (JobStatus.ERROR, "Error"), (JobStatus.CANCELLED, "Cancelled"),
    (JobStatus.INVALID_PARAMETER, "Invalid Parameter"), (JobStatus.UNKNOWN, "Unknown"),
])
def test_details_is_a_non_empty_string_whenever_status_is_positive(
        client, system: System, status: JobStatus, descriptive: str) -> None:
    job_id = submit(client)
    with system.db.transaction() as conn:
        system.stores.jobs.finish(conn, job_id, None, status, None, time.time())
    body = client.get(f"{JOBS}/{job_id}", auth=ADMIN).json()
    assert body["status"] == int(status) and type(body["status"]) is int
    assert body["descriptiveStatus"] == descriptive
    assert isinstance(body["details"], str) and body["details"].strip()


def test_cancelled_queued_job_polls_as_3_with_details(client) -> None:
    job_id = submit(client)
    client.post(f"{EXT}/jobs/{job_id}/cancel", auth=ADMIN)
    assert_wire(client.get(f"{JOBS}/{job_id}", auth=ADMIN).json(), record(
        job_id, "Administration Mode", 3, "The job was cancelled before it started.",
        "Cancelled"))


# -- details paging -------------------------------------------------------------------------

def details_url(job_id: int, query: str = "", base: str = BASE) -> str:
    return f"{job_url(job_id, base)}/details?{query}"


def test_details_of_a_finished_job_list_its_messages(client, worker: Worker) -> None:
    job_id = submit(client)
    worker.drain()
    response = client.get(f"{JOBS}/{job_id}/details", auth=ADMIN)
    assert response.status_code == 200
    assert_wire(response.json(), {
        "items": [{"msgType": "INFO", "msgCategory": "Administration Mode",
                   "msgText": ALL_USERS_DONE}],
        "offset": 0, "limit": 25, "count": 1, "totalResults": 1, "hasMore": False,
        "links": [link("self", details_url(job_id, "offset=0&limit=25"))],
    })


def test_details_of_a_job_without_messages_is_an_empty_page(client) -> None:
    job_id = submit(client)
    assert_wire(client.get(f"{JOBS}/{job_id}/details", auth=ADMIN).json(), {
        "items": [], "offset": 0, "limit": 25, "count": 0, "totalResults": 0, "hasMore": False,
        "links": [link("self", details_url(job_id, "offset=0&limit=25"))],
    })


def test_details_first_page_defaults_to_25_with_a_next_link(client, system: System) -> None:
    job_id = submit(client)
    messages = cycle_messages(30)
    add_messages(system, job_id, messages)
    assert_wire(client.get(f"{JOBS}/{job_id}/details", auth=ADMIN).json(), {
        "items": [wire_message(m) for m in messages[:25]],
        "offset": 0, "limit": 25, "count": 25, "totalResults": 30, "hasMore": True,
        "links": [link("self", details_url(job_id, "offset=0&limit=25")),
                  link("next", details_url(job_id, "offset=25&limit=25"))],
    })


def test_details_last_page_has_a_prev_link_and_no_more(client, system: System) -> None:
    job_id = submit(client)
    messages = cycle_messages(30)
    add_messages(system, job_id, messages)
    body = client.get(f"{JOBS}/{job_id}/details?offset=25", auth=ADMIN).json()
    assert_wire(body, {
        "items": [wire_message(m) for m in messages[25:]],
        "offset": 25, "limit": 25, "count": 5, "totalResults": 30, "hasMore": False,
        "links": [link("self", details_url(job_id, "offset=25&limit=25")),
                  link("prev", details_url(job_id, "offset=0&limit=25"))],
    })


def test_details_middle_page_has_next_and_prev(client, system: System) -> None:
    job_id = submit(client)
    messages = cycle_messages(30)
    add_messages(system, job_id, messages)
    body = client.get(f"{JOBS}/{job_id}/details?offset=10&limit=10", auth=ADMIN).json()
    assert_wire(body, {
        "items": [wire_message(m) for m in messages[10:20]],
        "offset": 10, "limit": 10, "count": 10, "totalResults": 30, "hasMore": True,
        "links": [link("self", details_url(job_id, "offset=10&limit=10")),
                  link("next", details_url(job_id, "offset=20&limit=10")),
                  link("prev", details_url(job_id, "offset=0&limit=10"))],
    })


@pytest.mark.parametrize("limit", ["0", "-1", "-25"])
def test_details_limit_zero_or_negative_returns_everything(client, system: System,
                                                           limit: str) -> None:
    job_id = submit(client)
    messages = cycle_messages(30)
    add_messages(system, job_id, messages)
    body = client.get(f"{JOBS}/{job_id}/details?limit={limit}", auth=ADMIN).json()
    assert_wire(body, {
        "items": [wire_message(m) for m in messages],
        "offset": 0, "limit": 30, "count": 30, "totalResults": 30, "hasMore": False,
        "links": [link("self", details_url(job_id, "offset=0&limit=30"))],
    })


def test_details_offset_past_the_end_is_an_empty_page(client, system: System) -> None:
    job_id = submit(client)
    add_messages(system, job_id, cycle_messages(3))
    body = client.get(f"{JOBS}/{job_id}/details?offset=10", auth=ADMIN).json()
    assert body["items"] == [] and body["count"] == 0 and body["totalResults"] == 3
    assert body["hasMore"] is False


@pytest.mark.parametrize("q", [
    '{"messageType":"ERROR"}', '{"msgType":"ERROR"}', "{messageType:ERROR}",
    "{'messageType':'error'}",
])
def test_details_message_type_filter_keeps_q_in_links(client, system: System, q: str) -> None:
    job_id = submit(client)
    messages = cycle_messages(30)
    add_messages(system, job_id, messages)
    errors = [m for m in messages if m.msg_type is MessageType.ERROR]
    body = client.get(f"{JOBS}/{job_id}/details", params={"q": q, "limit": "4"},
                      auth=ADMIN).json()
    encoded = "q=" + quote(q, safe="")
    assert_wire(body, {
        "items": [wire_message(m) for m in errors[:4]],
        "offset": 0, "limit": 4, "count": 4, "totalResults": len(errors), "hasMore": True,
        "links": [link("self", details_url(job_id, f"{encoded}&offset=0&limit=4")),
                  link("next", details_url(job_id, f"{encoded}&offset=4&limit=4"))],
    })


def test_details_message_type_filter_takes_a_comma_list(client, system: System) -> None:
    job_id = submit(client)
    messages = cycle_messages(9)
    add_messages(system, job_id, messages)
    body = client.get(f"{JOBS}/{job_id}/details",
                      params={"q": '{"messageType":"WARNING,INFO"}'}, auth=ADMIN).json()
    assert body["items"] == [wire_message(m) for m in messages
                             if m.msg_type is not MessageType.ERROR]


def test_details_unknown_message_type_is_400(client) -> None:
    job_id = submit(client)
    response = client.get(f"{JOBS}/{job_id}/details", params={"q": '{"messageType":"BOGUS"}'},
                          auth=ADMIN)
    assert response.status_code == 400
    assert_wire(response.json(),
                error("Invalid messageType BOGUS: use ERROR, WARNING or INFO.", 400))


@pytest.mark.parametrize(("query", "detail"), [
    ("offset=-1", "offset must be at least 0."),
    ("offset=abc", "Invalid value for offset: abc."),
    ("limit=ten", "Invalid value for limit: ten."),
])
def test_details_bad_paging_values_are_400(client, query: str, detail: str) -> None:
    job_id = submit(client)
    response = client.get(f"{JOBS}/{job_id}/details?{query}", auth=ADMIN)
    assert response.status_code == 400
    assert_wire(response.json(), error(detail, 400))


# -- child jobs ------------------------------------------------------------------------------

CHILDREN = [
    ChildJob(1, "Account", "IMPORT", JobStatus.SUCCESS, 120, 118, 2),
    ChildJob(2, "Entity", "IMPORT", JobStatus.ERROR, 10, 0, 10),
    ChildJob(3, "Product", "IMPORT", JobStatus.SUCCESS, 5, 5, 0),
]


def wire_child(job_id: int, child: ChildJob) -> dict[str, Any]:
    return {
        "childJobId": child.child_id, "dimensionName": child.name, "loadType": child.load_type,
        "status": int(child.status),
        "descriptiveStatus": {0: "Completed", 1: "Error"}[int(child.status)],
        "recordsRead": child.records_read, "recordsProcessed": child.records_processed,
        "recordsRejected": child.records_rejected,
        "links": [link("child-job-details",
                       f"{job_url(job_id)}/childjobs/{child.child_id}/details")],
    }


def test_details_of_a_job_with_children_list_the_children(client, system: System) -> None:
    job_id = submit(client)
    add_children(system, job_id, CHILDREN)
    add_messages(system, job_id, cycle_messages(2))  # the parent's own; children win
    assert_wire(client.get(f"{JOBS}/{job_id}/details", auth=ADMIN).json(), {
        "items": [wire_child(job_id, c) for c in CHILDREN],
        "offset": 0, "limit": 25, "count": 3, "totalResults": 3, "hasMore": False,
        "links": [link("self", details_url(job_id, "offset=0&limit=25"))],
    })


def test_children_page_with_next_and_prev(client, system: System) -> None:
    job_id = submit(client)
    add_children(system, job_id, CHILDREN)
    first = client.get(f"{JOBS}/{job_id}/details?limit=2", auth=ADMIN).json()
    assert_wire(first, {
        "items": [wire_child(job_id, c) for c in CHILDREN[:2]],
        "offset": 0, "limit": 2, "count": 2, "totalResults": 3, "hasMore": True,
        "links": [link("self", details_url(job_id, "offset=0&limit=2")),
                  link("next", details_url(job_id, "offset=2&limit=2"))],
    })
    second = client.get(first["links"][1]["href"], auth=ADMIN).json()
    assert_wire(second, {
        "items": [wire_child(job_id, CHILDREN[2])],
        "offset": 2, "limit": 2, "count": 1, "totalResults": 3, "hasMore": False,
        "links": [link("self", details_url(job_id, "offset=2&limit=2")),
                  link("prev", details_url(job_id, "offset=0&limit=2"))],
    })


def test_child_details_page_the_childs_messages(client, system: System) -> None:
    job_id = submit(client)
    add_children(system, job_id, CHILDREN)
    messages = cycle_messages(27)
    add_messages(system, job_id, messages, child_id=2)
    url = f"{job_url(job_id)}/childjobs/2/details"
    body = client.get(f"{JOBS}/{job_id}/childjobs/2/details", auth=ADMIN).json()
    assert_wire(body, {
        "items": [wire_message(m) for m in messages[:25]],
        "offset": 0, "limit": 25, "count": 25, "totalResults": 27, "hasMore": True,
        "links": [link("self", f"{url}?offset=0&limit=25"),
                  link("next", f"{url}?offset=25&limit=25")],
    })
    q = '{"messageType":"WARNING"}'
    warnings = [m for m in messages if m.msg_type is MessageType.WARNING]
    body = client.get(f"{JOBS}/{job_id}/childjobs/2/details", params={"q": q, "limit": "0"},
                      auth=ADMIN).json()
    encoded = "q=" + quote(q, safe="")
    assert_wire(body, {
        "items": [wire_message(m) for m in warnings],
        "offset": 0, "limit": len(warnings), "count": len(warnings),
        "totalResults": len(warnings), "hasMore": False,
        "links": [link("self", f"{url}?{encoded}&offset=0&limit={len(warnings)}")],
    })


def test_child_details_of_a_child_without_messages_is_empty(client, system: System) -> None:
    job_id = submit(client)
    add_children(system, job_id, CHILDREN)
    body = client.get(f"{JOBS}/{job_id}/childjobs/3/details", auth=ADMIN).json()
    assert body["items"] == [] and body["totalResults"] == 0


def test_unknown_child_job_is_404(client, system: System) -> None:
    job_id = submit(client)
    add_children(system, job_id, CHILDREN)
    response = client.get(f"{JOBS}/{job_id}/childjobs/9/details", auth=ADMIN)
    assert response.status_code == 404
    assert_wire(response.json(),
                error(f"The child job 9 of job {job_id} does not exist.", 404))


# -- hrefs: X-Forwarded-*, hostile Host ------------------------------------------------------

@pytest.mark.parametrize(("headers", "base"), [
    ({}, BASE),
    ({"x-forwarded-proto": "https"}, "https://epm.test"),
    ({"x-forwarded-proto": "https", "x-forwarded-host": "epm.example.com"},
     "https://epm.example.com"),
    ({"x-forwarded-proto": "https", "x-forwarded-host": "epm.example.com",
      "x-forwarded-port": "443"}, "https://epm.example.com:443"),
    ({"x-forwarded-host": "epm.example.com:8443", "x-forwarded-port": "443"},
     "http://epm.example.com:8443"),
    ({"x-forwarded-prefix": "/epm"}, "http://epm.test/epm"),
    ({"x-forwarded-prefix": "/a/b/"}, "http://epm.test/a/b"),
    ({"x-forwarded-proto": "https, http", "x-forwarded-host": "outer.example, inner.local",
      "x-forwarded-port": "8443, 80", "x-forwarded-prefix": "/epm, /inner"},
     "https://outer.example:8443/epm"),
    ({"x-forwarded-host": "[::1]:9000"}, "http://[::1]:9000"),
    ({"host": "epm.example.org:8080"}, "http://epm.example.org:8080"),
])
def test_hrefs_honour_forwarded_headers(client, headers: dict[str, str], base: str) -> None:
    job_id = submit(client)
    response = client.get(f"{JOBS}/{job_id}", auth=ADMIN, headers=headers)
    assert_wire(response.json(), record(job_id, "Administration Mode", base=base))
    versions = client.get(f"{REST}/", auth=ADMIN, headers=headers).json()
    assert versions["links"] == [link("self", f"{base}{REST}/")]


def test_submit_record_hrefs_honour_forwarded_headers(client) -> None:
    headers = {"x-forwarded-proto": "https", "x-forwarded-host": "epm.example.com",
               "x-forwarded-port": "443", "x-forwarded-prefix": "/gw"}
    body = client.post(JOBS, auth=ADMIN, json=ALL_USERS, headers=headers).json()
    assert_wire(body, record(body["jobId"], "Administration Mode",
                             base="https://epm.example.com:443/gw"))


def test_application_urls_honour_forwarded_headers(client) -> None:
    base = "https://epm.example.com"
    headers = {"x-forwarded-proto": "https", "x-forwarded-host": "epm.example.com"}
    body = client.get(f"{V3}/applications", auth=ADMIN, headers=headers).json()
    assert_wire(body, {"links": [link("self", f"{base}{V3}/applications/")],
                       "items": [vision_item(base)], "type": "HP"})


@pytest.mark.parametrize("headers", [
    {"host": 'evil.example"><script>alert(1)</script>'},
    {"host": "user@evil.example"},
    {"host": "evil.example/path?x=1"},
    {"host": "evil.example:99999999"},
    {"host": "a b"},
    {"x-forwarded-host": "evil.example/<x>"},
    {"x-forwarded-host": "evil.example#frag"},
    {"x-forwarded-proto": "javascript"},
    {"x-forwarded-proto": "ftp"},
    {"x-forwarded-port": "443abc"},
    {"x-forwarded-port": "-1"},
    {"x-forwarded-prefix": '/"><script>'},
    {"x-forwarded-prefix": "no-leading-slash"},
    {"x-forwarded-prefix": "/a b"},
    {"x-forwarded-prefix": "//evil.example"},
])
def test_hostile_host_or_forwarded_values_fall_back_to_the_server_address(
        client, headers: dict[str, str]) -> None:
    job_id = submit(client)
    response = client.get(f"{JOBS}/{job_id}", auth=ADMIN, headers=headers)
    assert response.status_code == 200
    assert_wire(response.json(), record(job_id, "Administration Mode"))


# -- extensions: list ------------------------------------------------------------------------

def extended(system: System, job_id: int, base: str = BASE,
             details: str | None = None) -> dict[str, Any]:
    """Our view of a job, built from the stored record (``details`` when it has none)."""
    job = system.stores.jobs.get(job_id)
    assert job is not None
    descriptive = {-1: "Processing", 0: "Completed", 1: "Error", 2: "Cancel Pending",
                   3: "Cancelled", 4: "Invalid Parameter"}[int(job.status)]
    body = record(job_id, job.job_name, int(job.status), job.details or details,
                  descriptive, base)
    ext = f"{base}{EXT}/jobs/{job_id}"
    body.update({
        "application": job.application, "jobType": job.job_type,
        "parameters": job.parameters, "submittedBy": job.submitted_by,
        "submittedAt": iso_z(job.submitted_at), "startedAt": iso_z(job.started_at),
        "endedAt": iso_z(job.ended_at), "attempts": job.attempts,
    })
    body["links"] = [*body["links"], link("cancel", f"{ext}/cancel", "POST"),
                     link("wait", f"{ext}/wait")]
    return body


def list_url(query: str) -> str:
    return f"{BASE}{EXT}/jobs?{query}"


def test_extension_job_view_adds_who_when_what(client, system: System,
                                               worker: Worker) -> None:
    before = time.time()
    job_id = submit(client)
    worker.drain()
    body = client.get(f"{EXT}/jobs/{job_id}", auth=ADMIN).json()
    assert_wire(body, extended(system, job_id))
    assert body["submittedBy"] == "admin" and body["attempts"] == 1
    assert body["application"] == "Vision" and body["jobType"] == "ADMINISTRATION_MODE"
    assert body["parameters"] == {"loginLevel": "All Users"}
    for key in ("submittedAt", "startedAt", "endedAt"):
        assert body[key].endswith("Z") and len(body[key]) == len("2026-01-01T00:00:00.000Z")
        stamp = datetime.fromisoformat(body[key].replace("Z", "+00:00")).timestamp()
        assert before - 1 <= stamp <= time.time() + 1


def test_extension_job_view_of_a_queued_job_has_null_start_and_end(client,
                                                                   system: System) -> None:
    job_id = submit(client)
    body = client.get(f"{EXT}/jobs/{job_id}", auth=ADMIN).json()
    assert_wire(body, extended(system, job_id))
    assert body["startedAt"] is None and body["endedAt"] is None and body["attempts"] == 0


def test_extension_unknown_job_is_404(client) -> None:
    response = client.get(f"{EXT}/jobs/424242", auth=ADMIN)
    assert response.status_code == 404
    assert_wire(response.json(), error("The job 424242 does not exist.", 404))


def test_job_list_is_newest_first_with_paging(client, system: System) -> None:
    ids = [submit(client) for _ in range(3)]
    body = client.get(f"{EXT}/jobs", auth=ADMIN).json()
    assert_wire(body, {
        "items": [extended(system, i) for i in reversed(ids)],
        "offset": 0, "limit": 25, "count": 3, "totalResults": None, "hasMore": False,
        "links": [link("self", list_url("offset=0&limit=25"))],
    })
    page = client.get(f"{EXT}/jobs?application=Vision&limit=1&offset=1", auth=ADMIN).json()
    assert_wire(page, {
        "items": [extended(system, ids[1])],
        "offset": 1, "limit": 1, "count": 1, "totalResults": None, "hasMore": True,
        "links": [link("self", list_url("application=Vision&offset=1&limit=1")),
                  link("next", list_url("application=Vision&offset=2&limit=1")),
                  link("prev", list_url("application=Vision&offset=0&limit=1"))],
    })


def test_job_list_filters_by_status_type_application_and_since(client, system: System,
                                                                worker: Worker) -> None:
    done = submit(client)
    worker.drain()
    queued = submit(client)
    create_application(system, {"format": "epmjobs-application/1", "name": "Other",
                                "cubes": []})

    def ids(query: str) -> list[int]:
        response = client.get(f"{EXT}/jobs?{query}", auth=ADMIN)
        assert response.status_code == 200, response.text
        return [item["jobId"] for item in response.json()["items"]]

    assert ids("status=0") == [done]
    assert ids("status=-1") == [queued]
    assert ids("status=-1,0") == [queued, done]
    assert ids("status=-1&status=0") == [queued, done]
    assert ids("status=3") == []
    assert ids("jobType=ADMINISTRATION_MODE") == [queued, done]
    assert ids("jobType=" + quote("Administration Mode")) == [queued, done]
    assert ids("application=Vision") == [queued, done]
    assert ids("application=vision") == [queued, done]
    assert ids("application=Other") == []
    submitted = system.stores.jobs.get(queued)
    assert submitted is not None
    assert ids(f"since={submitted.submitted_at}") == [queued]
    assert ids("since=" + quote(iso_z(submitted.submitted_at - 3600) or "")) == [queued, done]
    assert ids("since=2999-01-01T00:00:00Z") == []


@pytest.mark.parametrize(("query", "status", "detail"), [
    ("jobType=NOPE", 400, "Invalid job type: NOPE."),
    ("status=abc", 400, "status must be a comma-separated list of integers."),
    ("since=yesterday", 400, "Invalid since: yesterday; use ISO 8601 or epoch seconds."),
    ("limit=0", 400, "limit must be at least 1."),
    ("offset=-5", 400, "offset must be at least 0."),
    ("application=Nope", 404, "The application Nope does not exist."),
])
def test_job_list_rejects_bad_filters_with_a_clear_message(client, query: str, status: int,
                                                           detail: str) -> None:
    response = client.get(f"{EXT}/jobs?{query}", auth=ADMIN)
    assert response.status_code == status
    assert_wire(response.json(), error(detail, status))


def test_job_list_caps_the_page_size(client) -> None:
    assert client.get(f"{EXT}/jobs?limit=5000", auth=ADMIN).json()["limit"] == 1000


# -- extensions: cancel -----------------------------------------------------------------------

def test_cancel_of_a_queued_job_ends_it_at_once_with_status_3(client, system: System,
                                                              worker: Worker) -> None:
    job_id = submit(client, ADMINS_ONLY)
    response = client.post(f"{EXT}/jobs/{job_id}/cancel", auth=ADMIN)
    assert response.status_code == 202
    body = response.json()
    assert_wire(body, extended(system, job_id))
    assert body["status"] == 3 and body["descriptiveStatus"] == "Cancelled"
    assert body["details"] == "The job was cancelled before it started."
    assert body["endedAt"] is not None
    assert worker.drain() == 0  # nothing left to run
    assert client.get(VISION, auth=ADMIN).json()["adminMode"] is False


def test_cancel_of_a_running_job_is_2_then_3_and_its_effects_never_apply(
        client, system: System) -> None:
    job_id = submit(client, ADMINS_ONLY)
    claimed = system.stores.jobs.claim_next("w", time.time())
    assert claimed is not None and claimed.job_id == job_id

    response = client.post(f"{EXT}/jobs/{job_id}/cancel", auth=ADMIN)
    assert response.status_code == 202
    assert_wire(response.json(), extended(system, job_id,
                                          details="Cancel requested; the job is stopping."))
    assert_wire(client.get(f"{JOBS}/{job_id}", auth=ADMIN).json(), record(
        job_id, "Administration Mode", 2, "Cancel requested; the job is stopping.",
        "Cancel Pending"))

    Worker(system, "w").execute(claimed)  # the handler "finishes"; the cancel wins
    assert_wire(client.get(f"{JOBS}/{job_id}", auth=ADMIN).json(), record(
        job_id, "Administration Mode", 3, "The job was cancelled.", "Cancelled"))
    assert client.get(VISION, auth=ADMIN).json()["adminMode"] is False


def test_cancel_pending_job_finished_by_the_store_ends_cancelled(client,
                                                                 system: System) -> None:
    job_id = submit(client)
    system.stores.jobs.claim_next("w", time.time())
    client.post(f"{EXT}/jobs/{job_id}/cancel", auth=ADMIN)
    with system.db.transaction() as conn:
        written = system.stores.jobs.finish(conn, job_id, "w", JobStatus.SUCCESS, "done",
                                            time.time())
    assert written is JobStatus.CANCELLED
    assert client.get(f"{JOBS}/{job_id}", auth=ADMIN).json()["status"] == 3


def test_cancel_of_a_finished_job_changes_nothing(client, system: System,
                                                  worker: Worker) -> None:
    job_id = submit(client)
    worker.drain()
    response = client.post(f"{EXT}/jobs/{job_id}/cancel", auth=ADMIN)
    assert response.status_code == 202
    assert response.json()["status"] == 0
    assert response.json()["details"] == ALL_USERS_DONE


def test_cancel_of_an_unknown_job_is_404(client) -> None:
    response = client.post(f"{EXT}/jobs/31337/cancel", auth=ADMIN)
    assert response.status_code == 404
    assert_wire(response.json(), error("The job 31337 does not exist.", 404))


# -- extensions: wait -------------------------------------------------------------------------

def test_wait_for_a_finished_job_returns_at_once(client, system: System,
                                                 worker: Worker) -> None:
    job_id = submit(client)
    worker.drain()
    started = time.monotonic()
    response = client.get(f"{EXT}/jobs/{job_id}/wait?timeout=30", auth=ADMIN)
    assert time.monotonic() - started < 10  # far below the 30 s it was allowed
    assert response.status_code == 200
    assert_wire(response.json(), extended(system, job_id))
    assert response.json()["status"] == 0


def test_wait_for_a_queued_job_returns_it_still_processing_after_the_timeout(
        client, system: System) -> None:
    job_id = submit(client)
    started = time.monotonic()
    response = client.get(f"{EXT}/jobs/{job_id}/wait?timeout=0.3", auth=ADMIN)
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 200
    assert_wire(response.json(), extended(system, job_id))
    assert response.json()["status"] == -1 and response.json()["details"] is None


def test_wait_with_a_bad_timeout_is_400(client) -> None:
    job_id = submit(client)
    response = client.get(f"{EXT}/jobs/{job_id}/wait?timeout=soon", auth=ADMIN)
    assert response.status_code == 400
    assert_wire(response.json(), error("Invalid timeout: soon.", 400))


# -- extensions: job library -------------------------------------------------------------------

DEFS = f"{EXT}/applications/Vision/jobdefinitions"


def test_job_definition_put_list_delete_round_trip(client) -> None:
    body = {"jobType": "Cube Refresh", "jobName": " NightlyRefresh ",
            "parameters": {"allowedUsersDuringCubeRefresh": "All Users"}}
    created = client.post(DEFS, auth=ADMIN, json=body)
    assert created.status_code == 201
    assert_wire(created.json(), {"jobType": "CUBE_REFRESH", "jobName": "NightlyRefresh",
                                 "planTypeName": None,
                                 "parameters": {"allowedUsersDuringCubeRefresh": "All Users"}})
    listed = client.get(f"{VISION}/jobdefinitions", params={"q": "{jobType:CUBE_REFRESH}"},
                        auth=ADMIN).json()
    assert_wire(listed, definitions_body([
        {"jobType": "CUBE_REFRESH", "jobName": "NightlyRefresh", "planTypeName": None,
         "links": None}, *REFRESH_ONLY]))

    deleted = client.delete(f"{DEFS}/CUBE_REFRESH/NightlyRefresh", auth=ADMIN)
    assert deleted.status_code == 200
    assert_wire(deleted.json(), {"deleted": True})
    again = client.delete(f"{DEFS}/CUBE_REFRESH/NightlyRefresh", auth=ADMIN)
    assert again.status_code == 404
    assert_wire(again.json(), error("A job with specified name and type was not found", 404))
    listed = client.get(f"{VISION}/jobdefinitions", params={"q": "{jobType:CUBE_REFRESH}"},
                        auth=ADMIN).json()
    assert_wire(listed, definitions_body(REFRESH_ONLY))


def test_job_definition_put_replaces_a_definition_with_the_same_name(client) -> None:
    first = {"jobType": "CLEAR_CUBE", "jobName": "ClearPlan1", "planType": "Plan2",
             "parameters": {"cube": "Plan2"}}
    assert client.post(DEFS, auth=ADMIN, json=first).status_code == 201
    listed = client.get(f"{VISION}/jobdefinitions", params={"q": '{"jobType":"CLEAR_CUBE"}'},
                        auth=ADMIN).json()
    assert listed["items"] == [{"jobType": "CLEAR_CUBE", "jobName": "ClearPlan1",
                                "planTypeName": "Plan2", "links": None},
                               VISION_DEFINITIONS[1]]


def test_job_definition_delete_accepts_any_type_spelling_and_name_case(client) -> None:
    response = client.delete(f"{DEFS}/Cube%20Refresh/refreshdb", auth=ADMIN)
    assert response.status_code == 200
    listed = client.get(f"{VISION}/jobdefinitions", params={"q": "{jobType:CUBE_REFRESH}"},
                        auth=ADMIN).json()
    assert listed["items"] == []


@pytest.mark.parametrize(("body", "detail"), [
    ({"jobType": "NOPE", "jobName": "x"}, "Invalid job type in job definition: 'NOPE'."),
    ({"jobType": "CUBE_REFRESH"},
     "A job definition needs a jobName of 1-200 characters, without control characters."),
    ({"jobType": "CUBE_REFRESH", "jobName": "   "},
     "A job definition needs a jobName of 1-200 characters, without control characters."),
    ({"jobType": "CUBE_REFRESH", "jobName": "x" * 201},
     "A job definition needs a jobName of 1-200 characters, without control characters."),
    ({"jobType": "CLEAR_CUBE", "jobName": "x", "planType": "NoCube"},
     "Unknown planType 'NoCube' in job definition x."),
    ({"jobType": "CLEAR_CUBE", "jobName": "x", "parameters": [1]},
     "parameters of job definition x must be an object."),
])
def test_job_definition_put_rejects_bad_definitions(client, body: dict[str, Any],
                                                    detail: str) -> None:
    response = client.post(DEFS, auth=ADMIN, json=body)
    assert response.status_code == 400
    assert_wire(response.json(), error(detail, 400))
    assert client.get(f"{VISION}/jobdefinitions", auth=ADMIN).json() == definitions_body(
        VISION_DEFINITIONS)


def test_job_definition_put_to_unknown_application_is_404(client) -> None:
    response = client.post(f"{EXT}/applications/Nope/jobdefinitions", auth=ADMIN,
                           json={"jobType": "CUBE_REFRESH", "jobName": "x"})
    assert response.status_code == 404
    assert_wire(response.json(), error("The application Nope does not exist.", 404))


# -- once bugs, now pinned -------------------------------------------------------------------

def test_details_links_name_the_application_canonically(client, system: System) -> None:
    job_id = submit(client)
    add_children(system, job_id, CHILDREN[:1])
    body = client.get(f"{V3}/applications/vision/jobs/{job_id}/details", auth=ADMIN).json()
    assert body["links"][0]["href"] == details_url(job_id, "offset=0&limit=25")
    assert body["items"][0]["links"][0]["href"] == (
        f"{job_url(job_id)}/childjobs/1/details")
