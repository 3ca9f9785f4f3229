"""The OpenAPI document is the wire contract: valid, complete, and true of real responses.

Three promises, one test group each:

1. ``/openapi.json`` is a valid OpenAPI 3.1 document whose ``$ref``s all resolve.
2. The document and the application's route table list the same operations.
3. Real responses from a realistic session (submit, run, poll, details, list, cancel,
   wait, file transfer, and every kind of error) validate against the schema the document
   gives for their path, method and status code.

Known server bugs are pinned as strict xfails, so fixing one turns its test green.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import ADMIN, PASSWORD, ROLE_USERS, add_role_users, make_settings
from epmjobs.api.app import OPENAPI_FILE, create_app, openapi_document
from epmjobs.bootstrap import bootstrap
from epmjobs.jobs.model import ChildJob, JobMessage, MessageType
from epmjobs.jobs.runner import Worker
from epmjobs.jobs.status import JobStatus
from epmjobs.security.roles import Role
from epmjobs.system import System

DOC_URI = "urn:epmjobs:openapi"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
VIEWER = (ROLE_USERS[Role.VIEWER], PASSWORD)

P = "/HyperionPlanning/rest"
APP = P + "/{version}/applications/{app}"
JOB = APP + "/jobs/{job_id}"
X = "/epmjobs/v1"
CTL = X + "/control"
IR = "/interop/rest"
SNAP = IR + "/{version}/applicationsnapshots"
OCTETS = {"Content-Type": "application/octet-stream"}


def load_document() -> dict[str, Any]:
    """What a server with the control API on serves: the file plus the control API."""
    document: dict[str, Any] = json.loads(openapi_document(control_api=True))
    return document


DOCUMENT = load_document()
BASE_DOCUMENT: dict[str, Any] = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))
REGISTRY: Registry = Registry().with_resource(
    DOC_URI, Resource.from_contents(DOCUMENT, default_specification=DRAFT202012))


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (components/responses, /parameters...) to its target."""
    while "$ref" in node:
        target: Any = DOCUMENT
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def documented_response(template: str, method: str, status: int) -> dict[str, Any]:
    operation = DOCUMENT["paths"][template][method.lower()]
    responses = operation["responses"]
    assert str(status) in responses, (
        f"{method.upper()} {template} answered {status}, which the document does not list "
        f"(it lists {sorted(responses)})")
    return resolve(responses[str(status)])


def schema_errors(instance: Any, schema: dict[str, Any]) -> list[str]:
    wrapped = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": DOC_URI + "/x",
               "allOf": [_absolute(schema)]}
    validator = Draft202012Validator(wrapped, registry=REGISTRY)
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in validator.iter_errors(instance)]


def _absolute(schema: Any) -> Any:
    """Rewrite local refs so a fragment of the document resolves against the whole of it."""
    if isinstance(schema, dict):
        return {k: (DOC_URI + v if k == "$ref" and v.startswith("#") else _absolute(v))
                for k, v in schema.items()}
    if isinstance(schema, list):
        return [_absolute(v) for v in schema]
    return schema


def assert_documented(response: Any, template: str, method: str) -> Any:
    """The response's status, headers and JSON body are what the document promises."""
    documented = documented_response(template, method, response.status_code)
    for name, header in documented.get("headers", {}).items():
        if resolve(header).get("required"):
            assert name in response.headers, f"{name} header missing from {response.status_code}"
    if response.status_code == 204:
        assert not response.content and "content" not in documented
        return None
    media_type = response.headers["content-type"].split(";")[0]
    assert media_type in documented["content"], (
        f"{method.upper()} {template} {response.status_code} answered {media_type}")
    if media_type != "application/json":
        return response.content
    body = response.json()
    errors = schema_errors(body, documented["content"][media_type]["schema"])
    assert not errors, (f"{method.upper()} {template} {response.status_code} does not match "
                        f"the document:\n" + "\n".join(errors) + f"\nbody: {body}")
    return body


class Api:
    """A client that checks every answer against the document as it goes."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.seen: set[tuple[str, str, int]] = set()

    def call(self, method: str, template: str, path: dict[str, Any] | None = None,
             expect: int | None = None, **kwargs: Any) -> Any:
        kwargs.setdefault("auth", ADMIN)
        url = template.format(**{"version": "v3", "app": "Vision", **(path or {})})
        response = self.client.request(method, url, **kwargs)
        if expect is not None:
            assert response.status_code == expect, response.text
        self.seen.add((method.lower(), template, response.status_code))
        return assert_documented(response, template, method)


def new_system(tmp_path: Path, name: str, **overrides: Any) -> System:
    system = System(make_settings(tmp_path / name, **overrides))
    bootstrap(system)
    add_role_users(system)
    return system


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)


# -- 1. the document is valid OpenAPI 3.1 -------------------------------------------------


def test_document_is_valid_openapi_3_1() -> None:
    assert DOCUMENT["openapi"].startswith("3.1.")
    validate_openapi(DOCUMENT)
    validate_openapi(BASE_DOCUMENT)  # the one a server without the control API serves


def test_every_component_schema_is_valid_json_schema_2020_12() -> None:
    for name, schema in DOCUMENT["components"]["schemas"].items():
        try:
            Draft202012Validator.check_schema(_absolute(schema))
        except Exception as exc:
            raise AssertionError(f"components/schemas/{name}: {exc}") from exc


@pytest.mark.parametrize("document", [DOCUMENT, BASE_DOCUMENT], ids=["control", "base"])
def test_every_local_ref_resolves_and_every_schema_is_used(document: dict[str, Any]) -> None:
    text = json.dumps(document)
    refs = set(re.findall(r'"\$ref": "(#[^"]+)"', text))
    for ref in refs:
        resolve({"$ref": ref})
    for kind in ("schemas", "parameters", "responses"):
        for name in document["components"][kind]:
            assert f"#/components/{kind}/{name}" in refs, f"components/{kind}/{name} is unused"


GOOD_RECORD = {
    "status": 1, "details": "Boom.", "jobId": 7, "jobName": "Administration Mode",
    "descriptiveStatus": "Error",
    "links": [{"rel": "self", "href": "http://h/HyperionPlanning/rest/v3/applications/A/jobs/7",
               "action": "GET"},
              {"rel": "job-details", "action": "GET",
               "href": "http://h/HyperionPlanning/rest/v3/applications/A/jobs/7/details"}],
}
DRIFTS: dict[str, dict[str, Any]] = {
    "jobId as a string": {"jobId": "7"},
    "status as a string": {"status": "1"},
    "unknown status": {"status": 5},
    "label that does not match status": {"descriptiveStatus": "Completed"},
    "null details after a failure": {"details": None},
    "links in the wrong order": {"links": GOOD_RECORD["links"][::-1]},
    "a relative href": {"links": [{**GOOD_RECORD["links"][0], "href": "/jobs/7"},
                                  GOOD_RECORD["links"][1]]},
    "a link without action": {"links": [{"rel": "self", "href": "http://h/x"},
                                        GOOD_RECORD["links"][1]]},
    "an extra Oracle link": {"links": [*GOOD_RECORD["links"], GOOD_RECORD["links"][0]]},
}


def test_the_schemas_accept_the_real_shape_and_reject_drift() -> None:
    schema = {"$ref": "#/components/schemas/JobRecord"}
    assert schema_errors(GOOD_RECORD, schema) == []
    assert schema_errors({**GOOD_RECORD, "detailedStatus": 3}, schema) == []  # additive is ok
    for drift, change in DRIFTS.items():
        assert schema_errors({**GOOD_RECORD, **change}, schema), f"{drift} was not caught"
    missing = {k: v for k, v in GOOD_RECORD.items() if k != "jobName"}
    assert schema_errors(missing, schema), "a missing jobName was not caught"
    rejected = {"descriptiveStatus": "Error", "jobId": -1, "status": 1, "details": "No.",
                "jobName": None, "links": None}
    assert schema_errors(rejected, {"$ref": "#/components/schemas/RejectedJob"}) == []
    assert schema_errors({**rejected, "jobId": 3},
                         {"$ref": "#/components/schemas/RejectedJob"})


def test_served_document_is_the_file(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == BASE_DOCUMENT
    assert not any(path.startswith(CTL) for path in BASE_DOCUMENT["paths"])


def test_with_the_control_api_the_document_has_it_too(system: System) -> None:
    with TestClient(create_app(system, control_api=True)) as client:
        assert client.get("/openapi.json").json() == DOCUMENT
    assert {t["name"] for t in DOCUMENT["tags"]} - {t["name"] for t in BASE_DOCUMENT["tags"]} \
        == {"epmjobs control (test double)"}


# -- 2. the document and the route table agree ------------------------------------------


def route_operations(system: System, control_api: bool = True) -> set[tuple[str, str]]:
    operations = set()
    for route in create_app(system, control_api=control_api).routes:
        assert isinstance(route, Route), f"unexpected route kind {route!r}"
        methods = set(route.methods or ())
        if "GET" in methods:
            methods.discard("HEAD")  # Starlette answers HEAD for every GET route
        path = re.sub(r"{(\w+):\w+}", r"{\1}", route.path)  # {file_name:path} -> {file_name}
        operations |= {(path, m.lower()) for m in methods}
    return operations


def document_operations(document: dict[str, Any] | None = None) -> set[tuple[str, str]]:
    return {(path, method) for path, item in (document or DOCUMENT)["paths"].items()
            for method in item if method in METHODS}


def test_every_route_is_documented_and_every_documented_operation_is_routed(
        system: System) -> None:
    routes, documented = route_operations(system), document_operations()
    assert routes - documented == set(), "routes missing from openapi.json"
    assert documented - routes == set(), "openapi.json documents operations with no route"
    off = {op for op in route_operations(system, control_api=False)
           if not op[0].startswith(CTL)}  # the 404 catch-all of the control paths
    assert off == document_operations(BASE_DOCUMENT)


def test_path_parameters_match_the_route_templates() -> None:
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            params = [resolve(p) for p in operation.get("parameters", [])]
            declared = {p["name"] for p in params if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), (method, path)


def test_every_operation_documents_its_errors() -> None:
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            codes = set(operation["responses"])
            assert "500" in codes, (method, path)
            assert any(c.startswith("2") for c in codes), (method, path)
            assert operation.get("operationId"), (method, path)
            if operation.get("security", DOCUMENT["security"]):
                assert "401" in codes, (method, path)
            tags = operation["tags"]
            if path.startswith(CTL):
                assert tags == ["epmjobs control (test double)"], (method, path)
                assert "404" in codes and "403" in codes, (method, path)  # off; not admin
            elif path.startswith(X):
                assert tags == ["epmjobs extension"], (method, path)
            elif path.startswith((P, IR)):
                assert all(t.startswith("Oracle") for t in tags), (method, path)


# -- 3. real responses match the document ----------------------------------------------


def test_discovery_responses_match_the_document(api: Api) -> None:
    for template in (P, P + "/"):
        body = api.call("GET", template, expect=200)
        assert [v["version"] for v in body["items"]] == ["v1", "v2", "v3"]
    for template in (P + "/{version}", P + "/{version}/"):
        api.call("GET", template, expect=200)
        api.call("GET", template, {"version": "11.1.2.3.600"}, expect=200)
        api.call("GET", template, {"version": "V3"}, expect=404)
    for template in (P + "/{version}/applications", P + "/{version}/applications/"):
        api.call("GET", template, expect=200)
        api.call("GET", template, {"version": "v9"}, expect=404)
    api.call("GET", APP, expect=200)
    api.call("GET", APP, {"app": "Nope"}, expect=404)
    api.call("GET", "/openapi.json", auth=None, expect=200)


def test_links_honour_forwarded_headers_and_still_match(api: Api) -> None:
    body = api.call("GET", APP, headers={"X-Forwarded-Proto": "https",
                                         "X-Forwarded-Host": "epm.example.com",
                                         "X-Forwarded-Prefix": "/gw"}, expect=200)
    assert body["links"][0]["href"] == (
        "https://epm.example.com/gw/HyperionPlanning/rest/v3/applications/Vision")


def test_job_definition_responses_match_the_document(api: Api) -> None:
    defs = APP + "/jobdefinitions"
    saved = X + "/applications/{app}/jobdefinitions"
    one = saved + "/{job_type}/{job_name}"
    api.call("POST", saved, json={"jobType": "Rules", "jobName": "Rollup", "planType": "plan1",
                                  "parameters": {"script": 'AGG ("Entity");'}}, expect=201)
    api.call("POST", saved, json={"jobType": "NOPE", "jobName": "x"}, expect=400)
    api.call("POST", saved, json=["not", "an", "object"], expect=400)
    api.call("POST", saved, content=b"{oops", expect=400)
    api.call("POST", saved, {"app": "Nope"}, json={"jobType": "RULES", "jobName": "x"},
             expect=404)
    api.call("POST", saved, json={"jobType": "RULES", "jobName": "x"}, auth=VIEWER, expect=403)
    api.call("POST", saved, content=b" " * 1_048_577, expect=413)
    body = api.call("GET", defs, params={"q": '{"jobType":"RULES"}'}, expect=200)
    assert [d["jobName"] for d in body["items"]] == ["AggregatePlan", "CalcRevenue", "Rollup",
                                                     "TranslateToLocal"]
    api.call("GET", defs, params={"q": "{jobType:RULES}"}, expect=200)
    api.call("GET", defs, params={"q": "[1]"}, expect=400)
    api.call("GET", defs, auth=VIEWER, expect=403)
    api.call("GET", defs, auth=None, expect=401)
    api.call("DELETE", one, {"job_type": "RULES", "job_name": "rollup"}, expect=200)
    api.call("DELETE", one, {"job_type": "RULES", "job_name": "rollup"}, expect=404)
    api.call("DELETE", one, {"job_type": "RULES", "job_name": "x"}, auth=VIEWER, expect=403)


def add_child_jobs(system: System, job_id: int) -> None:
    """A load-style job's children, through the job store's own named operations."""
    with system.db.transaction() as conn:
        system.stores.jobs.add_children(conn, job_id, [
            ChildJob(1, "Account", "IMPORT", JobStatus.SUCCESS, 10, 10, 0),
            ChildJob(2, "Entity", "IMPORT", JobStatus.ERROR, 5, 3, 2),
        ])
        system.stores.jobs.add_messages(conn, job_id, 2, [
            JobMessage(MessageType.ERROR, "Entity", "Unknown parent Nowhere.", 4),
            JobMessage(MessageType.INFO, "Entity", "3 members loaded."),
        ])


def test_a_job_session_matches_the_document(api: Api, system: System,
                                            worker: Worker) -> None:
    jobs = APP + "/jobs"
    submitted = api.call("POST", jobs, json={
        "jobType": "ADMINISTRATION_MODE", "parameters": {"loginLevel": "All Users"}},
        expect=201)
    job = {"job_id": submitted["jobId"]}
    assert api.call("GET", JOB, job, expect=200)["status"] == -1
    assert api.call("GET", X + "/jobs/{job_id}/wait", job, params={"timeout": "0"},
                    expect=200)["status"] == -1
    assert worker.drain() == 1
    assert api.call("GET", JOB, job, expect=200)["status"] == 0
    assert api.call("GET", X + "/jobs/{job_id}/wait", job, expect=200)["status"] == 0
    assert api.call("GET", X + "/jobs/{job_id}", job, expect=200)["endedAt"] is not None
    details = api.call("GET", JOB + "/details", job, expect=200)
    assert details["items"][0]["msgType"] == "INFO"
    api.call("GET", JOB + "/details", job, params={"q": '{"messageType":"ERROR"}'}, expect=200)
    api.call("GET", JOB + "/details", job, params={"limit": "-1"}, expect=200)
    api.call("GET", JOB + "/details", job, params={"q": '{"messageType":"LOUD"}'}, expect=400)
    api.call("GET", JOB + "/details", job, params={"offset": "-1"}, expect=400)
    api.call("GET", JOB + "/childjobs/{child_id}/details", {**job, "child_id": 1}, expect=404)
    assert api.call("POST", X + "/jobs/{job_id}/cancel", job, expect=202)["status"] == 0
    api.call("GET", X + "/jobs", params={"application": "Vision", "status": "0,1",
                                         "jobType": "ADMINISTRATION_MODE",
                                         "since": "2000-01-01T00:00:00Z"}, expect=200)


def test_child_job_pages_match_the_document(api: Api, system: System, worker: Worker) -> None:
    submitted = api.call("POST", APP + "/jobs", json={
        "jobType": "Administration Mode", "parameters": {"loginLevel": "All Users"}},
        expect=201)
    worker.drain()
    job = {"job_id": submitted["jobId"]}
    add_child_jobs(system, submitted["jobId"])
    page = api.call("GET", JOB + "/details", job, params={"limit": "1"}, expect=200)
    assert page["items"][0]["childJobId"] == 1 and page["hasMore"] is True
    page = api.call("GET", JOB + "/details", job, params={"offset": "1", "limit": "1"},
                    expect=200)
    assert [link["rel"] for link in page["links"]] == ["self", "prev"]
    child = JOB + "/childjobs/{child_id}/details"
    messages = api.call("GET", child, {**job, "child_id": 2}, expect=200)
    assert messages["items"][0]["recordNumber"] == 4
    api.call("GET", child, {**job, "child_id": 2}, params={"q": "{msgType:INFO}"}, expect=200)
    api.call("GET", child, {**job, "child_id": 3}, expect=404)


def test_every_job_status_renders_as_documented(api: Api, system: System,
                                                worker: Worker) -> None:
    jobs = APP + "/jobs"
    body = {"jobType": "ADMINISTRATION_MODE", "parameters": {"loginLevel": "All Users"}}
    queued = api.call("POST", jobs, json=body, expect=201)["jobId"]
    running = api.call("POST", jobs, json=body, expect=201)["jobId"]
    assert api.call("POST", X + "/jobs/{job_id}/cancel", {"job_id": queued},
                    expect=202)["status"] == 3
    claimed = system.stores.jobs.claim_next("test-claimer", time.time())
    assert claimed is not None and claimed.job_id == running
    pending = api.call("POST", X + "/jobs/{job_id}/cancel", {"job_id": running}, expect=202)
    assert (pending["status"], pending["descriptiveStatus"]) == (2, "Cancel Pending")
    api.call("GET", JOB, {"job_id": running}, expect=200)
    statuses = set()
    for status in (JobStatus.ERROR, JobStatus.INVALID_PARAMETER, JobStatus.UNKNOWN):
        job_id = api.call("POST", jobs, json=body, expect=201)["jobId"]
        with system.db.transaction() as conn:
            system.stores.jobs.finish(conn, job_id, None, status, None, time.time())
        statuses.add(api.call("GET", JOB, {"job_id": job_id}, expect=200)["status"])
    assert statuses == {1, 4, 2147483647}
    listed = api.call("GET", X + "/jobs", params={"limit": "100"}, expect=200)
    assert {j["status"] for j in listed["items"]} == {1, 2, 3, 4, 2147483647}
    page = api.call("GET", X + "/jobs", params={"limit": "2", "offset": "1"}, expect=200)
    assert [link["rel"] for link in page["links"]] == ["self", "next", "prev"]
    worker.drain()


def test_refused_submissions_match_the_document(api: Api) -> None:
    jobs = APP + "/jobs"
    rejected = [
        ({"jobType": "ADMINISTRATION_MODE", "parameters": {"loginLevel": "Nobody"}}, 4),
        ({"jobType": "ADMINISTRATION_MODE", "parameters": "loginLevel"}, 4),
        ({"jobType": "NO_SUCH_TYPE"}, 1),
        ({"jobType": "RULES", "jobName": "Missing"}, 1),
        ({"jobName": "no type"}, 1),
        ([1, 2], 1),
    ]
    for body, status in rejected:
        assert api.call("POST", jobs, json=body, expect=400)["status"] == status
    assert api.call("POST", jobs, content=b"{not json", expect=400)["jobId"] == -1
    api.call("POST", jobs, {"app": "Nope"}, json=rejected[0][0], expect=404)
    api.call("POST", jobs, {"version": "V3"}, json=rejected[0][0], expect=404)
    api.call("POST", jobs, json=rejected[0][0], auth=VIEWER, expect=403)
    api.call("POST", jobs, json=rejected[0][0], auth=("admin", "wrong"), expect=401)


def test_file_transfer_responses_match_the_document(api: Api) -> None:
    contents = SNAP + "/{file_name}/contents"
    inbox_file = {"version": "11.1.2.3.600", "file_name": "inbox%2Fdata.csv"}
    assert api.call("GET", IR, expect=200)["items"][0]["latest"] is True
    api.call("GET", IR + "/", expect=200)
    api.call("GET", IR + "/{version}", {"version": "11.1.2.3.600"}, expect=200)
    assert api.call("GET", IR + "/{version}", {"version": "v9"}, expect=200)["status"] == 1
    stored = api.call("POST", contents, inbox_file, content=b"a,b\n", headers=OCTETS,
                      params={"q": "{isFirst:true,isLast:true,chunkSize:4}"}, expect=200)
    assert stored["status"] == 0
    again = api.call("POST", contents, inbox_file, content=b"x", headers=OCTETS, expect=200)
    assert again["status"] == 1
    api.call("POST", contents, {"file_name": "..%2Fx.csv"}, content=b"x", headers=OCTETS,
             expect=200)
    listed = api.call("GET", SNAP, expect=200)
    assert [f["name"] for f in listed["items"]] == ["inbox/data.csv"]
    api.call("GET", IR + "/v2/files/list", expect=200)
    assert api.call("GET", contents, inbox_file, expect=200) == b"a,b\n"
    missing = api.call("GET", contents, {"file_name": "Vision.zip"}, expect=200)
    assert missing["details"] == "Invalid file : Vision.zip"
    assert api.call("DELETE", SNAP + "/{file_name}", inbox_file, expect=200)["status"] == 0
    assert api.call("DELETE", SNAP + "/{file_name}", inbox_file, expect=200)["status"] == 1
    for method, template in (("DELETE", IR + "/v2/files/delete"),
                             ("POST", IR + "/v3/files/delete")):
        assert api.call(method, template, json={"fileName": "gone.csv"},
                        expect=200)["status"] == 1
        assert api.call(method, template, json={"name": "x"}, expect=200)["status"] == 1
        api.call(method, template, json={"fileName": "x"}, auth=VIEWER, expect=403)
    api.call("GET", SNAP, auth=VIEWER, expect=403)
    api.call("GET", SNAP, auth=None, expect=401)
    api.call("GET", IR, auth=None, expect=401)
    covered = {(template, method) for method, template, _ in api.seen}
    assert covered == {op for op in document_operations() if op[0].startswith(IR)}


def test_an_oversized_submission_is_413_not_a_rejected_job(api: Api) -> None:
    api.call("POST", APP + "/jobs", content=b" " * 1_048_577, expect=413)


def test_lookup_errors_match_the_document(api: Api) -> None:
    for template in (JOB, JOB + "/details", X + "/jobs/{job_id}",
                     X + "/jobs/{job_id}/wait"):
        api.call("GET", template, {"job_id": 999999}, expect=404)
        api.call("GET", template, {"job_id": "abc"}, expect=400)
        api.call("GET", template, {"job_id": 1}, auth=None, expect=401)
    api.call("POST", X + "/jobs/{job_id}/cancel", {"job_id": 999999}, expect=404)
    api.call("POST", X + "/jobs/{job_id}/cancel", {"job_id": "1x"}, expect=400)
    api.call("GET", JOB + "/childjobs/{child_id}/details", {"job_id": 1, "child_id": "-2"},
             expect=400)
    api.call("GET", X + "/jobs/{job_id}/wait", {"job_id": 1}, params={"timeout": "soon"},
             expect=400)
    api.call("GET", X + "/jobs", params={"status": "done"}, expect=400)
    api.call("GET", X + "/jobs", params={"jobType": "NOPE"}, expect=400)
    api.call("GET", X + "/jobs", params={"since": "yesterday"}, expect=400)
    api.call("GET", X + "/jobs", params={"limit": "0"}, expect=400)
    api.call("GET", X + "/jobs", params={"application": "Nope"}, expect=404)
    api.call("GET", X + "/jobs", auth=("nobody", "x"), expect=401)
    api.call("GET", X + "/jobs", auth=VIEWER, expect=200)


def test_role_and_administration_mode_refusals_match_the_document(
        api: Api, worker: Worker) -> None:
    submitted = api.call("POST", APP + "/jobs", json={
        "jobType": "ADMINISTRATION_MODE", "parameters": {"loginLevel": "Administrators"}},
        expect=201)
    job = {"job_id": submitted["jobId"]}
    for method, template in (("GET", JOB), ("GET", JOB + "/details"),
                             ("GET", X + "/jobs/{job_id}"), ("POST", X + "/jobs/{job_id}/cancel"),
                             ("GET", X + "/jobs/{job_id}/wait")):
        api.call(method, template, job, auth=VIEWER, expect=403)
    worker.drain()
    assert api.call("GET", APP, expect=200)["adminMode"] is True
    api.call("GET", APP, auth=VIEWER, expect=403)
    api.call("GET", X + "/jobs", params={"application": "Vision"}, auth=VIEWER, expect=403)
    api.call("GET", P + "/{version}/applications", auth=VIEWER, expect=200)


@pytest.fixture
def legacy_client(tmp_path: Path) -> Iterator[TestClient]:
    """A server switched to the older pods' codes: 200 on submit, 500 for unknown jobs."""
    system = new_system(tmp_path, "legacy", submit_http_status=200, unknown_job_http_status=500)
    with TestClient(create_app(system), base_url="http://epm.test") as client:
        yield client
    system.close()


def test_compatibility_switches_answer_documented_codes(legacy_client: TestClient) -> None:
    api = Api(legacy_client)
    api.call("POST", APP + "/jobs", json={
        "jobType": "ADMINISTRATION_MODE", "parameters": {"loginLevel": "All Users"}},
        expect=200)
    body = api.call("GET", JOB, {"job_id": 424242}, expect=500)
    assert body == {"detail": "The job 424242 does not exist.", "status": 500}


def test_query_integers_beyond_64_bits_are_400_not_500(api: Api) -> None:
    huge = str(10**20)
    api.call("GET", X + "/jobs", params={"offset": huge}, expect=400)
    api.call("GET", X + "/jobs", params={"status": huge}, expect=400)
    api.call("GET", JOB + "/details", {"job_id": 1}, params={"limit": huge}, expect=400)


def test_a_deeply_nested_q_is_400_not_500(api: Api) -> None:
    api.call("GET", APP + "/jobdefinitions", params={"q": "[" * 5000}, expect=400)


def test_a_definition_named_with_a_slash_can_be_deleted(api: Api) -> None:
    api.call("POST", X + "/applications/{app}/jobdefinitions",
             json={"jobType": "CUBE_REFRESH", "jobName": "Plan/Actual"}, expect=201)
    api.call("DELETE", X + "/applications/{app}/jobdefinitions/{job_type}/{job_name}",
             {"job_type": "CUBE_REFRESH", "job_name": "Plan%2FActual"}, expect=200)


def test_a_tour_of_every_operation_matches_the_document(api: Api, worker: Worker) -> None:
    """One realistic pass over every Planning and extension operation, so none is left
    unchecked (the file-transfer test does the same for /interop/rest)."""
    for template in (P, P + "/", P + "/{version}", P + "/{version}/",
                     P + "/{version}/applications", P + "/{version}/applications/", APP):
        api.call("GET", template, expect=200)
    api.call("GET", "/openapi.json", auth=None, expect=200)
    for path in ("/metrics", X + "/health", X + "/ready"):
        api.call("GET", path, auth=None, expect=200)
    saved = X + "/applications/{app}/jobdefinitions"
    api.call("POST", saved, json={"jobType": "CUBE_REFRESH", "jobName": "Nightly"}, expect=201)
    api.call("GET", APP + "/jobdefinitions", expect=200)
    api.call("DELETE", saved + "/{job_type}/{job_name}",
             {"job_type": "Refresh Database", "job_name": "NIGHTLY"}, expect=200)
    job = {"job_id": api.call("POST", APP + "/jobs", json={
        "jobType": "ADMIN_MODE", "parameters": {"loginLevel": "all users"}}, expect=201)["jobId"]}
    api.call("GET", X + "/jobs/{job_id}/wait", job, params={"timeout": "0.01"}, expect=200)
    worker.drain()
    api.call("GET", JOB, job, expect=200)
    api.call("GET", JOB + "/details", job, expect=200)
    api.call("GET", JOB + "/childjobs/{child_id}/details", {**job, "child_id": 7}, expect=404)
    api.call("GET", X + "/jobs", expect=200)
    api.call("GET", X + "/jobs/{job_id}", job, expect=200)
    api.call("POST", X + "/jobs/{job_id}/cancel", job, expect=202)
    tour_variables(api)
    covered = {(template, method) for method, template, _ in api.seen}
    assert covered == {op for op in document_operations()
                       if not op[0].startswith((IR, CTL))}


def tour_variables(api: Api) -> None:
    """Every substitution-variable operation, for the application and a plan type."""
    for base, path in ((APP + "/substitutionvariables", {}),
                       (APP + "/plantypes/{plantype}/substitutionvariables",
                        {"plantype": "Plan1"})):
        one = {**path, "name": "TourVar"}
        items = {"items": [{"name": "TourVar", "value": "FY25"}]}
        api.call("POST", base, path, json=items, expect=204)
        api.call("PUT", base, path, json=items, expect=204)
        api.call("POST", base, path, json={"items": "no"}, expect=400)
        api.call("GET", base, path, params={"q": '{"derivedValues":true}'}, expect=200)
        api.call("GET", base + "/{name}", one, expect=200)
        api.call("DELETE", base + "/{name}", one, expect=204)
        api.call("GET", base + "/{name}", one, expect=404)
        api.call("POST", base + ":delete", path, json=items, expect=204)
        api.call("GET", base, path, auth=VIEWER, expect=403)


# -- the test double's control API --------------------------------------------------------


@pytest.fixture
def control_api(system: System) -> Iterator[Api]:
    with TestClient(create_app(system, control_api=True), base_url="http://epm.test") as c:
        yield Api(c)


def test_a_tour_of_the_control_api_matches_the_document(control_api: Api, api: Api) -> None:
    """Every control operation, with its successes and refusals, against the document;
    and the 404 every one of them answers while the control API is off."""
    ctl, jobs = control_api, APP + "/jobs"
    ctl.call("POST", CTL + "/progression", json={"progression": "manual"}, expect=201)
    ctl.call("POST", CTL + "/progression", json={"progression": {"afterPolls": -1}},
             expect=400)
    ctl.call("POST", CTL + "/outcomes", json={"status": 1, "details": "No."}, expect=201)
    ctl.call("POST", CTL + "/outcomes", json={"status": 2}, expect=400)
    ctl.call("POST", CTL + "/faults", json={"fault": "delay", "seconds": 0, "path": "^/x"},
             expect=201)
    ctl.call("POST", CTL + "/faults", json={"fault": "maintenance", "retryAfter": 3,
                                            "path": "^/x"}, expect=201)
    ctl.call("POST", CTL + "/faults", json={"fault": "nope"}, expect=400)
    ctl.call("POST", CTL + "/recorder/start", expect=200)
    job = {"job_id": ctl.call("POST", jobs, json={
        "jobType": "ADMINISTRATION_MODE", "parameters": {"loginLevel": "All Users"}},
        expect=201)["jobId"]}
    state = ctl.call("GET", CTL, expect=200)
    assert state["heldJobs"] == [job["job_id"]] and state["recorder"]["entries"] == 1
    assert ctl.call("GET", JOB, job, expect=200)["status"] == -1
    assert ctl.call("GET", CTL + "/recorder", expect=200)["entries"][0]["response"][
        "status"] == 201
    ctl.call("POST", CTL + "/recorder/stop", expect=200)
    assert ctl.call("POST", CTL + "/jobs/{job_id}/advance", job, expect=200)["jobId"] == job[
        "job_id"]
    ctl.call("POST", CTL + "/jobs/{job_id}/advance", job, expect=409)
    ctl.call("POST", CTL + "/jobs/{job_id}/advance", {"job_id": 999}, expect=404)
    ctl.call("POST", CTL + "/jobs/{job_id}/advance", {"job_id": "x"}, expect=400)
    for path in ("/progression", "/outcomes", "/faults"):
        ctl.call("DELETE", CTL + path, expect=200)
    snap = {"name": "s1"}
    ctl.call("POST", CTL + "/snapshots", json=snap, expect=201)
    ctl.call("POST", CTL + "/snapshots", json={"name": ".x"}, expect=400)
    assert ctl.call("GET", CTL + "/snapshots", expect=200)["items"][0]["name"] == "s1"
    ctl.call("POST", CTL + "/snapshots/{name}/restore", snap, expect=200)
    ctl.call("POST", CTL + "/snapshots/{name}/restore", {"name": "none"}, expect=404)
    ctl.call("DELETE", CTL + "/snapshots/{name}", snap, expect=200)
    ctl.call("DELETE", CTL + "/snapshots/{name}", snap, expect=404)
    ctl.call("POST", CTL + "/reset", json={"applications": ["Vision"]}, expect=200)
    ctl.call("POST", CTL + "/reset", json={"applications": ["Atlantis"]}, expect=400)
    ctl.call("POST", CTL + "/reset", content=b" " * 1_048_577, expect=413)
    ctl.call("GET", CTL, auth=VIEWER, expect=403)
    ctl.call("GET", CTL, auth=None, expect=401)
    controls = {op for op in document_operations() if op[0].startswith(CTL)}
    assert {(t, m) for m, t, _ in ctl.seen if t.startswith(CTL)} == controls
    for template, method in sorted(controls):
        path = {"name": "s1", "job_id": 1}
        api.call(method.upper(), template, path, json={}, expect=404)
