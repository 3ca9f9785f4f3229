"""Bad input gets a clear answer and loses nothing (design.md invariant 4).

Malformed and hostile requests: never a 500, never HTML, always a JSON body that says
what was wrong, and the stored data is exactly as it was afterwards. The client here
does not re-raise server exceptions, so a fault shows up as the 500 a user would see.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from starlette.testclient import TestClient

from conftest import ADMIN, add_role_users, make_settings
from epmjobs.api.app import create_app
from epmjobs.bootstrap import bootstrap
from epmjobs.jobs.model import ChildJob, JobMessage, MessageType
from epmjobs.jobs.status import JobStatus
from epmjobs.storage import schema
from epmjobs.system import System

BASE = "http://epm.test"
REST = "/HyperionPlanning/rest"
V3 = f"{REST}/v3"
VISION = f"{V3}/applications/Vision"
JOBS = f"{VISION}/jobs"
EXT = "/epmjobs/v1"
DEFS = f"{EXT}/applications/Vision/jobdefinitions"
ALL_USERS = {"jobType": "ADMINISTRATION_MODE", "parameters": {"loginLevel": "All Users"}}
INT64_MAX = 2**63 - 1

TABLES = (schema.applications, schema.cubes, schema.job_definitions, schema.jobs,
          schema.job_children, schema.job_messages, schema.users, schema.tokens)


# -- helpers ------------------------------------------------------------------------------

def snapshot(system: System) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the API could damage, in a comparable form."""
    with system.db.reading() as conn:
        return {table.name: sorted((tuple(row) for row in conn.execute(select(table))), key=repr)
                for table in TABLES}


def assert_clear_answer(response: Any, *statuses: int) -> dict[str, Any]:
    """Not a fault, JSON, and, for an error, a message that says what was wrong."""
    assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
    if statuses:
        assert response.status_code in statuses, response.text[:300]
    assert response.headers["content-type"].startswith("application/json"), response.text[:200]
    assert "Traceback" not in response.text
    body = response.json()
    assert isinstance(body, dict)
    if response.status_code >= 400:
        if "jobId" in body:  # a refused submission: Oracle's job-shaped body
            assert body["jobId"] == -1 and body["links"] is None
            assert isinstance(body["details"], str) and body["details"].strip()
        else:
            assert set(body) == {"detail", "status"}
            assert body["status"] == response.status_code
            assert isinstance(body["detail"], str) and body["detail"].strip()
    return body


def overflows_int64(text: str) -> bool:
    try:
        return abs(int(text)) > INT64_MAX
    except ValueError:
        return False


def seed_job(system: System) -> int:
    """A finished job with children and messages, so hostile ids meet real rows."""
    app = system.stores.apps.get("Vision")
    assert app is not None
    with system.db.transaction() as conn:
        job_id = system.stores.jobs.insert(
            conn, application_id=app.application_id, job_type="ADMINISTRATION_MODE",
            job_name="Administration Mode", parameters={"loginLevel": "All Users"},
            submitted_by="admin", now=time.time())
        system.stores.jobs.add_children(
            conn, job_id, [ChildJob(1, "Account", "IMPORT", JobStatus.SUCCESS, 3, 3, 0)])
        system.stores.jobs.add_messages(
            conn, job_id, 1, [JobMessage(MessageType.INFO, "Load", "loaded")])
        system.stores.jobs.finish(conn, job_id, None, JobStatus.SUCCESS, "done", time.time())
    return job_id


@pytest.fixture
def api(system: System) -> Iterator[TestClient]:
    with TestClient(create_app(system), base_url=BASE, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def job_id(system: System) -> int:
    return seed_job(system)


def small_body_system(tmp_path: Path, limit: int) -> System:
    system = System(make_settings(tmp_path / "small", max_body_bytes=limit))
    bootstrap(system)
    add_role_users(system)
    return system


# -- malformed and non-object JSON ---------------------------------------------------------

MALFORMED = [
    b"", b"{", b"}", b"{not json}", b'{"jobType": "ADMINISTRATION_MODE",}',
    b'{"jobType": "ADMINISTRATION_MODE"} trailing', b"{'jobType': 'RULES'}", b"NaN",
    b'{"jobType": "\xff\xfe"}', "{}".encode("utf-16"),
    b"\xef\xbb\xbf" + b'{"jobType": "ADMINISTRATION_MODE"}',
    b"[" * 5000 + b"]" * 5000, b"\x00" * 16, b"jobType=ADMINISTRATION_MODE",
]


@pytest.mark.parametrize("content", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_json_submission_is_a_job_shaped_400_and_creates_nothing(
        api: TestClient, system: System, content: bytes) -> None:
    before = snapshot(system)
    response = api.post(JOBS, auth=ADMIN, content=content,
                        headers={"content-type": "application/json"})
    body = assert_clear_answer(response, 400)
    assert body == {"descriptiveStatus": "Error", "jobId": -1, "status": 1,
                    "details": "Invalid JSON payload.", "jobName": None, "links": None}
    assert snapshot(system) == before


@pytest.mark.parametrize("content", [b"[]", b"[{}]", b'"text"', b"42", b"null", b"true",
                                     b"1.5"])
def test_non_object_json_submission_is_refused_and_creates_nothing(
        api: TestClient, system: System, content: bytes) -> None:
    before = snapshot(system)
    response = api.post(JOBS, auth=ADMIN, content=content,
                        headers={"content-type": "application/json"})
    body = assert_clear_answer(response, 400)
    assert body["details"] == "The request body must be a JSON object."
    assert snapshot(system) == before


@pytest.mark.parametrize("content", [b"{oops", b"[]", b"null", b'"x"'])
def test_malformed_job_definition_body_is_a_plain_400(api: TestClient, system: System,
                                                      content: bytes) -> None:
    before = snapshot(system)
    response = api.post(DEFS, auth=ADMIN, content=content,
                        headers={"content-type": "application/json"})
    body = assert_clear_answer(response, 400)
    assert body["detail"] in ("Invalid JSON payload.",
                              "The request body must be a JSON object.")
    assert snapshot(system) == before


@pytest.mark.parametrize("body", [
    {"jobType": ["ADMINISTRATION_MODE"]}, {"jobType": {"a": 1}}, {"jobType": None},
    {"jobType": ""}, {"jobType": "ADMINISTRATION_MODE", "jobName": 5},
    {"jobType": "ADMINISTRATION_MODE", "parameters": [1, 2]},
    {"jobType": "ADMINISTRATION_MODE", "parameters": {"loginLevel": ["All Users"]}},
    {"jobType": "ADMINISTRATION_MODE", "parameters": {"loginLevel": {"x": 1}}},
    {"jobType": "../../etc/passwd"}, {"jobType": "RULES'; DROP TABLE jobs; --"},
    {"jobType": "\u202eEDOM_NOITARTSINIMDA"},
])
def test_wrongly_typed_submission_fields_are_refused_and_create_nothing(
        api: TestClient, system: System, body: dict[str, Any]) -> None:
    before = snapshot(system)
    response = api.post(JOBS, auth=ADMIN, json=body)
    result = assert_clear_answer(response, 400)
    assert result["jobId"] == -1 and result["status"] in (1, 4)
    assert snapshot(system) == before


# -- content types --------------------------------------------------------------------------

@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "application/json; charset=utf-8",
                                          "application/vnd.oracle+json"])
def test_a_json_body_is_read_whatever_content_type_is_declared(api: TestClient,
                                                              content_type: str | None) -> None:
    # Lenient on purpose: curl -d sends form-urlencoded, and Oracle's clients vary.
    headers = {} if content_type is None else {"content-type": content_type}
    response = api.post(JOBS, auth=ADMIN, headers=headers,
                        content=b'{"jobType":"ADMINISTRATION_MODE",'
                                b'"parameters":{"loginLevel":"All Users"}}')
    assert response.status_code == 201
    assert response.json()["status"] == -1


def test_a_form_encoded_submission_is_refused_as_invalid_json(api: TestClient,
                                                              system: System) -> None:
    before = snapshot(system)
    response = api.post(JOBS, auth=ADMIN, data={"jobType": "ADMINISTRATION_MODE"})
    assert assert_clear_answer(response, 400)["details"] == "Invalid JSON payload."
    response = api.post(JOBS, auth=ADMIN, files={"f": ("a.json", b"{}")})
    assert assert_clear_answer(response, 400)["details"] == "Invalid JSON payload."
    assert snapshot(system) == before


# -- oversized bodies -------------------------------------------------------------------------

@pytest.fixture
def small_api(tmp_path: Path) -> Iterator[tuple[System, TestClient]]:
    system = small_body_system(tmp_path, 256)
    with TestClient(create_app(system), base_url=BASE, raise_server_exceptions=False) as c:
        yield system, c
    system.close()


def big_definition() -> bytes:
    return (b'{"jobType":"CUBE_REFRESH","jobName":"Big","parameters":{"x":"'
            + b"y" * 400 + b'"}}')


def test_body_over_the_limit_is_413_json(small_api: tuple[System, TestClient]) -> None:
    system, client = small_api
    before = snapshot(system)
    response = client.post(DEFS, auth=ADMIN, content=big_definition())
    body = assert_clear_answer(response, 413)
    assert body == {"detail": "The request body is larger than 256 bytes.", "status": 413}
    assert snapshot(system) == before


def test_chunked_body_over_the_limit_is_413_json(small_api: tuple[System, TestClient]) -> None:
    system, client = small_api
    before = snapshot(system)
    payload = big_definition()
    chunks = iter([payload[i:i + 64] for i in range(0, len(payload), 64)])
    response = client.post(DEFS, auth=ADMIN, content=chunks)  # no Content-Length
    assert "content-length" not in response.request.headers
    assert assert_clear_answer(response, 413)["status"] == 413
    assert snapshot(system) == before


def test_declared_length_over_the_limit_is_413_before_reading(
        small_api: tuple[System, TestClient]) -> None:
    _, client = small_api
    response = client.post(DEFS, auth=ADMIN, content=b"{}",
                           headers={"content-length": "999999999"})
    assert assert_clear_answer(response, 413)["status"] == 413


def test_body_at_the_limit_is_accepted(small_api: tuple[System, TestClient]) -> None:
    _, client = small_api
    payload = b'{"jobType":"CUBE_REFRESH","jobName":"Fits"}'
    payload = payload[:-1] + b" " * (256 - len(payload)) + b"}"
    assert len(payload) == 256
    assert client.post(DEFS, auth=ADMIN, content=payload).status_code == 201


def test_oversized_job_submission_is_413(small_api: tuple[System, TestClient]) -> None:
    system, client = small_api
    before = snapshot(system)
    body = {**ALL_USERS, "jobName": "x" * 400}
    response = client.post(JOBS, auth=ADMIN, json=body)
    assert snapshot(system) == before
    assert response.status_code == 413


# -- unknown paths, versions, methods -----------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/", "/nope", "/HyperionPlanning", "/HyperionPlanning/rest/v3/nope",
    f"{VISION}/nope", f"{VISION}/jobs/1/nope", f"{VISION}/jobs/1/childjobs",
    f"{V3}/internal/jobs", f"{VISION}/internal", "/epmjobs", "/epmjobs/v2/jobs",
    f"{EXT}/nope", f"{EXT}/applications/Vision", "/HyperionPlanning/rest/v3/applications/"
    "Vision/jobs/1/details/extra", "/%2E%2E/%2E%2E/etc/passwd", "/openapi.yaml",
])
def test_unknown_path_is_404_json_never_html(api: TestClient, path: str) -> None:
    response = api.get(path, auth=ADMIN, headers={"accept": "text/html"})
    body = assert_clear_answer(response, 404)
    assert body == {"detail": "The requested resource does not exist.", "status": 404}


@pytest.mark.parametrize("path", [f"{REST}/V3", f"{REST}/v4/applications",
                                  f"{REST}/V3/applications/Vision/jobs/1",
                                  f"{REST}/v3.0/applications", f"{REST}/%2E%2E/applications"])
def test_unknown_version_is_404_json(api: TestClient, path: str) -> None:
    body = assert_clear_answer(api.get(path, auth=ADMIN), 404)
    assert body["detail"].startswith("The REST API version ")


@pytest.mark.parametrize("app", ["Nope", "Vision2", "Visio", "VISION_", "_Vision"])
def test_unknown_application_is_404_json_on_every_app_route(api: TestClient, system: System,
                                                            app: str) -> None:
    before = snapshot(system)
    expected = {"detail": f"The application {app} does not exist.", "status": 404}
    for method, path, kwargs in [
        ("GET", f"{V3}/applications/{app}", {}),
        ("GET", f"{V3}/applications/{app}/jobdefinitions", {}),
        ("POST", f"{V3}/applications/{app}/jobs", {"json": ALL_USERS}),
        ("GET", f"{V3}/applications/{app}/jobs/1", {}),
        ("GET", f"{V3}/applications/{app}/jobs/1/details", {}),
        ("GET", f"{V3}/applications/{app}/jobs/1/childjobs/1/details", {}),
        ("GET", f"{EXT}/jobs?application={app}", {}),
        ("POST", f"{EXT}/applications/{app}/jobdefinitions",
         {"json": {"jobType": "CUBE_REFRESH", "jobName": "x"}}),
        ("DELETE", f"{EXT}/applications/{app}/jobdefinitions/CUBE_REFRESH/RefreshDB", {}),
    ]:
        response = api.request(method, path, auth=ADMIN, **kwargs)
        assert assert_clear_answer(response, 404) == expected, (method, path)
    assert snapshot(system) == before


@pytest.mark.parametrize(("method", "path"), [
    ("PUT", f"{JOBS}/1"), ("DELETE", f"{JOBS}/1"), ("PATCH", f"{JOBS}/1"),
    ("GET", JOBS), ("DELETE", JOBS), ("POST", VISION), ("POST", f"{JOBS}/1/details"),
    ("GET", f"{EXT}/jobs/1/cancel"), ("POST", f"{EXT}/jobs"), ("PUT", DEFS),
    ("OPTIONS", REST),
])
def test_wrong_method_is_405_json_with_allow(api: TestClient, method: str, path: str) -> None:
    response = api.request(method, path, auth=ADMIN)
    body = assert_clear_answer(response, 405)
    assert body == {"detail": "The method is not allowed for this resource.", "status": 405}
    assert response.headers["allow"]


# -- job ids ---------------------------------------------------------------------------------

BAD_IDS = ["abc", "1.5", "-1", "+1", "0x10", "1e3", "1_0", "%201", "1%20", "9" * 19,
           "9" * 400, "%27", "1;DROP", "null", "%E2%80%AE1"]
ID_ROUTES = [
    ("GET", f"{JOBS}/{{id}}"), ("GET", f"{JOBS}/{{id}}/details"),
    ("GET", f"{JOBS}/{{id}}/childjobs/1/details"), ("GET", f"{JOBS}/1/childjobs/{{id}}/details"),
    ("GET", f"{EXT}/jobs/{{id}}"), ("POST", f"{EXT}/jobs/{{id}}/cancel"),
    ("GET", f"{EXT}/jobs/{{id}}/wait?timeout=0"),
]


@pytest.mark.parametrize(("method", "route"), ID_ROUTES)
def test_non_numeric_huge_or_negative_job_ids_are_400(api: TestClient, system: System,
                                                       job_id: int, method: str,
                                                       route: str) -> None:
    before = snapshot(system)
    for raw in BAD_IDS:
        response = api.request(method, route.format(id=raw), auth=ADMIN)
        body = assert_clear_answer(response, 400)
        assert body["detail"].startswith("Invalid job id: "), raw
        assert len(body["detail"]) < 200
    assert snapshot(system) == before


@pytest.mark.parametrize(("method", "route"), ID_ROUTES)
def test_well_formed_but_absent_job_ids_are_404(api: TestClient, system: System, job_id: int,
                                                method: str, route: str) -> None:
    for raw in ["0", "000", str(job_id + 1), "999999999999999999"]:
        response = api.request(method, route.format(id=raw), auth=ADMIN)
        assert_clear_answer(response, 404)


# -- hostile strings in every path and query parameter ----------------------------------------

# Raw URL fragments, already percent-encoded as a client would put them on the wire.
HOSTILE = {
    "dotdot": "%2E%2E",
    "traversal": "..%2F..%2F..%2Fetc%2Fpasswd",
    "backslash-traversal": "..%5C..%5Cwindows",
    "nul": "%00",
    "nul-inside": "Vision%00.txt",
    "long": "A" * 5000,
    "unicode": quote("Vísïon-日本語-🙂", safe=""),
    "rtl-override": "%E2%80%AE",
    "invalid-utf8": "%FF%FE",
    "quotes": quote("'\"`", safe=""),
    "html": quote("<script>alert(1)</script>", safe=""),
    "sql": quote("' OR 1=1 --", safe=""),
    "slash": "%2F",
    "percent": "%25",
    "double-encoded": "%252F",
    "braces": quote("{jobType:RULES}", safe=""),
    "json": quote('{"a":[1,{"b":null}],"messageType":"ERROR"}', safe=""),
    "crlf": "%0D%0AX-Injected:%201",
    "space": "%20",
    "emoji": "%F0%9F%92%A9",
    "format-string": quote("%s%n{0}${x}", safe=""),
    "negative": "-1",
    "float": "1e308",
    "nan": "NaN",
}
PATH_ROUTES = [
    ("GET", f"{REST}/{{x}}"), ("GET", f"{REST}/{{x}}/applications"),
    ("GET", f"{V3}/applications/{{x}}"), ("GET", f"{V3}/applications/{{x}}/jobdefinitions"),
    ("GET", f"{V3}/applications/{{x}}/jobs/1"),
    ("GET", f"{V3}/applications/{{x}}/jobs/1/details"),
    ("GET", f"{V3}/applications/{{x}}/jobs/1/childjobs/1/details"),
    ("POST", f"{V3}/applications/{{x}}/jobs"),
    ("GET", f"{JOBS}/{{x}}"), ("GET", f"{JOBS}/{{x}}/details"),
    ("GET", f"{JOBS}/1/childjobs/{{x}}/details"),
    ("GET", f"{EXT}/jobs/{{x}}"), ("POST", f"{EXT}/jobs/{{x}}/cancel"),
    ("GET", f"{EXT}/jobs/{{x}}/wait?timeout=0"),
    ("POST", f"{EXT}/applications/{{x}}/jobdefinitions"),
    ("DELETE", f"{EXT}/applications/{{x}}/jobdefinitions/CUBE_REFRESH/RefreshDB"),
    ("DELETE", f"{DEFS}/{{x}}/RefreshDB"), ("DELETE", f"{DEFS}/CUBE_REFRESH/{{x}}"),
]
QUERY_ROUTES = [
    ("GET", f"{VISION}/jobdefinitions?q={{x}}"),
    ("GET", f"{JOBS}/1/details?q={{x}}"), ("GET", f"{JOBS}/1/details?offset={{x}}"),
    ("GET", f"{JOBS}/1/details?limit={{x}}"),
    ("GET", f"{JOBS}/1/childjobs/1/details?q={{x}}&offset={{x}}&limit={{x}}"),
    ("GET", f"{EXT}/jobs?application={{x}}"), ("GET", f"{EXT}/jobs?jobType={{x}}"),
    ("GET", f"{EXT}/jobs?status={{x}}"), ("GET", f"{EXT}/jobs?since={{x}}"),
    ("GET", f"{EXT}/jobs?offset={{x}}&limit={{x}}"),
    ("GET", f"{EXT}/jobs/1/wait?timeout={{x}}"),
    ("GET", f"{REST}/?{{x}}={{x}}"),
]


def _body_for(method: str, route: str) -> dict[str, Any]:
    if method == "POST" and route.endswith("/jobs"):
        return {"json": ALL_USERS}
    if method == "POST" and route.endswith("/jobdefinitions"):
        return {"json": {"jobType": "CUBE_REFRESH", "jobName": "Hostile"}}
    return {}


@pytest.mark.parametrize(("method", "route"), PATH_ROUTES + QUERY_ROUTES)
def test_hostile_strings_in_path_and_query_get_a_clear_answer_and_change_nothing(
        api: TestClient, system: System, job_id: int, method: str, route: str) -> None:
    assert job_id == 1  # the routes above address job 1 and its child 1
    before = snapshot(system)
    for name, raw in HOSTILE.items():
        response = api.request(method, route.replace("{x}", raw), auth=ADMIN,
                               **_body_for(method, route))
        try:
            assert_clear_answer(response)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from exc
        assert "X-Injected" not in response.headers
    assert snapshot(system) == before


@pytest.mark.parametrize("raw", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_definition_names_are_not_found_and_delete_nothing(api: TestClient,
                                                                   system: System,
                                                                   raw: str) -> None:
    before = snapshot(system)
    response = api.delete(f"{DEFS}/CUBE_REFRESH/{raw}", auth=ADMIN)
    assert_clear_answer(response, 404)
    assert snapshot(system) == before


def test_hostile_strings_are_not_reflected_as_markup_or_headers(api: TestClient) -> None:
    response = api.get(f"{V3}/applications/{HOSTILE['html']}", auth=ADMIN)
    assert response.headers["content-type"] == "application/json"
    assert "X-Injected" not in api.get(f"{V3}/applications/{HOSTILE['crlf']}",
                                       auth=ADMIN).headers


def test_the_server_still_works_after_a_barrage_of_bad_input(api: TestClient,
                                                             job_id: int) -> None:
    for raw in HOSTILE.values():
        api.get(f"{V3}/applications/{raw}/jobs/{raw}/details?q={raw}", auth=ADMIN)
        api.post(JOBS, auth=ADMIN, content=raw.encode())
    response = api.post(JOBS, auth=ADMIN, json=ALL_USERS)
    assert response.status_code == 201
    assert api.get(f"{JOBS}/{job_id}", auth=ADMIN).json()["status"] == 0


# -- one property: any path or query text gets a clear answer --------------------------------

GET_TEMPLATES = [
    f"{REST}/{{a}}", f"{V3}/applications/{{a}}", f"{V3}/applications/{{a}}/jobdefinitions?q={{b}}",
    f"{V3}/applications/{{a}}/jobs/{{b}}", f"{JOBS}/{{a}}/details?q={{b}}",
    f"{JOBS}/{{a}}/details?offset={{b}}&limit={{c}}",
    f"{JOBS}/{{a}}/childjobs/{{b}}/details?q={{c}}",
    f"{EXT}/jobs?application={{a}}&jobType={{b}}&status={{c}}",
    f"{EXT}/jobs?since={{a}}&offset={{b}}&limit={{c}}", f"{EXT}/jobs/{{a}}",
    f"{EXT}/jobs/1/wait?timeout={{a}}", "{a}/{b}",
]
_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from([quote(v, safe="") for v in ("..", "../", "\x00", "{", "[", "'", '"')]),
    st.from_regex(r"\A-?[0-9]{1,18}\Z"),
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(template=st.sampled_from(GET_TEMPLATES), a=_text, b=_text, c=_text)
def test_any_path_or_query_text_gets_a_clear_json_answer(api: TestClient, job_id: int,
                                                         template: str, a: str, b: str,
                                                         c: str) -> None:
    url = template.format(a=quote(a, safe=""), b=quote(b, safe=""), c=quote(c, safe=""))
    response = api.get(url, auth=ADMIN)
    assert_clear_answer(response)


_header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                                     blacklist_characters="\x7f"), max_size=30)
_HOSTS = ["epm.test", "epm.example.com:8443", "[::1]:8080", 'x"<y>', "a b", "u@evil.example",
          "evil.example/p", ""]
_HREF = re.compile(r"\Ahttps?://(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?"
                   r"(?:/[A-Za-z0-9._~\-]+)*/HyperionPlanning/rest/\Z")


def _port_bug(port: str) -> bool:
    """Ports that test_hrefs_stay_well_formed_whatever_the_headers pins as a bug."""
    first = port.split(",")[0].strip()
    return first.isdigit() and not (first.isascii() and len(first) <= 5)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(host=st.sampled_from(_HOSTS), proto=_header_text, fhost=_header_text,
       port=_header_text, prefix=_header_text)
def test_any_forwarded_header_yields_well_formed_absolute_hrefs(
        api: TestClient, host: str, proto: str, fhost: str, port: str, prefix: str) -> None:
    assume(not _port_bug(port))
    headers = {"host": host.encode("latin-1"), "x-forwarded-proto": proto.encode("latin-1"),
               "x-forwarded-host": fhost.encode("latin-1"),
               "x-forwarded-port": port.encode("latin-1"),
               "x-forwarded-prefix": prefix.encode("latin-1")}
    response = api.get(f"{REST}/", auth=ADMIN, headers=headers)
    body = assert_clear_answer(response, 200)
    href = body["links"][0]["href"]
    assert _HREF.match(href), href
    assert urlsplit(href).scheme in ("http", "https")


# -- once bugs, now pinned -------------------------------------------------------------------

HUGE = "99999999999999999999"


@pytest.mark.parametrize("query", [
    f"{JOBS}/1/details?offset={HUGE}", f"{JOBS}/1/details?limit={HUGE}",
    f"{JOBS}/1/childjobs/1/details?offset={HUGE}", f"{EXT}/jobs?offset={HUGE}",
    f"{EXT}/jobs?status={HUGE}", f"{EXT}/jobs?status=-{HUGE}",
])
def test_huge_paging_and_status_numbers_get_a_400(api: TestClient, job_id: int,
                                                  query: str) -> None:
    assert_clear_answer(api.get(query, auth=ADMIN), 400)


@pytest.mark.parametrize("route", [f"{VISION}/jobdefinitions", f"{JOBS}/1/details",
                                   f"{JOBS}/1/childjobs/1/details"])
def test_deeply_nested_q_gets_a_400(api: TestClient, job_id: int, route: str) -> None:
    response = api.get(route, params={"q": "[" * 3000 + "]" * 3000}, auth=ADMIN)
    assert_clear_answer(response, 400)


def test_deeply_nested_relaxed_q_gets_a_400(api: TestClient, job_id: int) -> None:
    response = api.get(f"{JOBS}/1/details", params={"q": "{a:" * 3000}, auth=ADMIN)
    assert assert_clear_answer(response, 400)["detail"].startswith("Invalid q parameter")


@pytest.mark.parametrize("value", [b"Basic \xe9t\xe9", b"Basic YWRtaW46\xff"])
def test_non_ascii_basic_credentials_are_401(api: TestClient, value: bytes) -> None:
    response = api.get(V3, headers={"authorization": value})
    assert_clear_answer(response, 401)


@pytest.mark.parametrize("raw", ["%D9%A1", "1%0A", "%EF%BC%91"])
def test_job_ids_are_ascii_digits_only(api: TestClient, job_id: int, raw: str) -> None:
    assert_clear_answer(api.get(f"{JOBS}/{raw}", auth=ADMIN), 400)


@pytest.mark.parametrize("headers", [
    [(b"host", b"evil.example'()")], [(b"host", b"a_b")], [(b"host", b"x!$&*+,;=")],
    [(b"host", b"epm.test"), (b"x-forwarded-port", b"99999999")],
    [(b"host", b"epm.test"), (b"x-forwarded-port", "\xb2".encode("latin-1"))],
], ids=["quote-parens", "underscore", "sub-delims", "port-out-of-range", "superscript-two"])
def test_hrefs_stay_well_formed_whatever_the_headers(headers: list[tuple[bytes, bytes]]) -> None:
    from starlette.requests import Request

    from epmjobs.api.http import base_url

    scope = {"type": "http", "scheme": "http", "server": ("epm.test", 80), "path": "/",
             "headers": headers}
    assert base_url(Request(scope)) == BASE


@pytest.mark.parametrize(("method", "url", "body"), [
    ("POST", JOBS, {"jobType": "X" * 20_000}),
    ("POST", JOBS, {"jobType": "ADMINISTRATION_MODE",
                    "parameters": {"loginLevel": "x" * 20_000}}),
    ("GET", f"{EXT}/jobs?jobType={'X' * 20_000}", None),
    ("GET", f"{V3}/applications/{'A' * 20_000}", None),
], ids=["job-type", "parameter-value", "job-type-filter", "application"])
def test_error_messages_quote_bad_values_but_never_echo_them_whole(
        api: TestClient, method: str, url: str, body: dict[str, Any] | None) -> None:
    response = api.request(method, url, auth=ADMIN, json=body)
    answer = assert_clear_answer(response)
    assert len(answer.get("details") or answer.get("detail") or "") < 1000


# -- NUL characters, on every database ---------------------------------------------------------

@pytest.fixture
def any_api(any_system: System) -> Iterator[tuple[System, TestClient]]:
    """conftest's installation on each database, with a client that shows 500s as answers."""
    with TestClient(create_app(any_system), base_url=BASE,
                    raise_server_exceptions=False) as c:
        yield any_system, c


NUL_LOOKUPS: dict[str, tuple[str, str, dict[str, Any], int]] = {
    "application in path": ("GET", f"{V3}/applications/Vi%00sion", {}, 404),
    "application in job path": ("GET", f"{V3}/applications/Vi%00sion/jobs/1", {}, 404),
    "application filter": ("GET", f"{EXT}/jobs?application=Vi%00sion", {}, 404),
    "definition name in path": ("DELETE", f"{DEFS}/CUBE_REFRESH/a%00b", {}, 404),
    "basic user name": ("GET", V3, {"headers": {"authorization": "Basic " + base64.b64encode(
        b"ad\x00min:adminpw").decode()}}, 401),
}


@pytest.mark.parametrize("case", list(NUL_LOOKUPS))
def test_nul_characters_in_looked_up_names_get_a_clear_answer(
        any_api: tuple[System, TestClient], case: str) -> None:
    system, client = any_api
    method, url, kwargs, status = NUL_LOOKUPS[case]
    before = snapshot(system)
    auth = None if "headers" in kwargs else ADMIN
    assert_clear_answer(client.request(method, url, auth=auth, **kwargs), status)
    assert snapshot(system) == before


@pytest.mark.parametrize(("url", "body"), [
    (JOBS, {**ALL_USERS, "jobName": "a\x00b"}),
    (DEFS, {"jobType": "CUBE_REFRESH", "jobName": "a\x00b"}),
], ids=["job", "definition"])
def test_nul_characters_in_names_to_store_are_refused(any_api: tuple[System, TestClient],
                                                       url: str, body: dict[str, Any]) -> None:
    system, client = any_api
    before = snapshot(system)
    assert_clear_answer(client.post(url, auth=ADMIN, json=body), 400)
    assert snapshot(system) == before
