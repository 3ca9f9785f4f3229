"""No one in where they don't belong (design.md invariant 6).

One table: every route x {anonymous, wrong password, Service Administrator, Power User,
User, Viewer} → the HTTP code ``security/policy.py`` implies; the app runs with the test
double's control API on, so its routes (admin only) are in the table too. Then the ways in (Basic
``user`` and ``identitydomain.user``, bearer tokens) and Administration Mode.
"""

from __future__ import annotations

import base64
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import ADMIN, PASSWORD, ROLE_USERS, add_role_users, make_settings
from epmjobs.api.app import create_app
from epmjobs.appfile import put_definition
from epmjobs.bootstrap import bootstrap
from epmjobs.jobs.model import ChildJob
from epmjobs.jobs.progression import JobMatch, Mode, ProgressionRule
from epmjobs.jobs.runner import Worker
from epmjobs.jobs.status import JobStatus
from epmjobs.planning.substitution import SubstitutionVariable
from epmjobs.security.passwords import hash_password, token_digest
from epmjobs.security.roles import Role
from epmjobs.storage.variables import VariableStore
from epmjobs.system import System
from epmjobs.testing.state import StateKeeper

BASE = "http://epm.test"
REST = "/HyperionPlanning/rest"
V3 = f"{REST}/v3"
VISION = f"{V3}/applications/Vision"
JOBS = f"{VISION}/jobs"
EXT = "/epmjobs/v1"
ALL_USERS = {"jobType": "ADMINISTRATION_MODE", "parameters": {"loginLevel": "All Users"}}
ADMINS_ONLY = {"jobType": "ADMINISTRATION_MODE",
               "parameters": {"loginLevel": "Administrators"}}
WWW_AUTHENTICATE = 'Basic realm="epmjobs", charset="UTF-8"'
ADMIN_MODE_DETAIL = ("The application Vision is in administration mode: only administrators "
                     "can use it now.")

_names = itertools.count(1)


# -- making the things a route needs ----------------------------------------------------------

def vision_id(system: System) -> int:
    app = system.stores.apps.get("Vision")
    assert app is not None
    return app.application_id


def new_job(system: System, submitted_by: str = "admin", with_child: bool = False) -> int:
    """A queued job inserted through the store, as if ``submitted_by`` had launched it."""
    with system.db.transaction() as conn:
        job_id = system.stores.jobs.insert(
            conn, application_id=vision_id(system), job_type="ADMINISTRATION_MODE",
            job_name="Administration Mode", parameters={"loginLevel": "All Users"},
            submitted_by=submitted_by, now=time.time())
        if with_child:
            system.stores.jobs.add_children(
                conn, job_id, [ChildJob(1, "Account", "IMPORT", JobStatus.SUCCESS)])
    return job_id


def new_definition(system: System) -> str:
    name = f"Refresh{next(_names)}"
    put_definition(system, "Vision", {"jobType": "CUBE_REFRESH", "jobName": name})
    return name


Request = tuple[str, str, dict[str, Any]]  # method, url, keyword arguments


@dataclass(frozen=True)
class Endpoint:
    """One route, how to call it, and who may."""

    method: str
    route: str  # the path exactly as declared in the route table
    success: int
    admin_only: bool
    make: Callable[[System], Request]
    public: bool = False  # answered without credentials

    def expected(self, caller: str) -> int:
        if self.public:
            return self.success
        if caller in ("anonymous", "wrong-password"):
            return 401
        if self.admin_only and caller != Role.SERVICE_ADMINISTRATOR.value:
            return 403
        return self.success


def _get(url: str) -> Callable[[System], Request]:
    return lambda system: ("GET", url, {})


def _job_get(suffix: str, with_child: bool = False) -> Callable[[System], Request]:
    def make(system: System) -> Request:
        job_id = new_job(system, with_child=with_child)
        return "GET", suffix.format(job_id=job_id), {}
    return make


def _cancel(system: System) -> Request:
    return "POST", f"{EXT}/jobs/{new_job(system)}/cancel", {}


def _submit(system: System) -> Request:
    return "POST", JOBS, {"json": ALL_USERS}


def new_variable(system: System, plan_type: str | None = None) -> str:
    name = f"Var{next(_names)}"
    with system.db.transaction() as conn:
        VariableStore(system.db).put(conn, vision_id(system),
                                     [SubstitutionVariable(name, "x", plan_type)], time.time())
    return name


def _variables(method: str, base: str, plan_type: str | None, suffix: str = "",
               body: bool = False) -> Callable[[System], Request]:
    def make(system: System) -> Request:
        name = new_variable(system, plan_type)
        items = {"json": {"items": [{"name": name, "value": "y"}]}} if body else {}
        return method, base + suffix.format(name=name), items
    return make


def _put_definition(system: System) -> Request:
    return "POST", f"{EXT}/applications/Vision/jobdefinitions", {
        "json": {"jobType": "CUBE_REFRESH", "jobName": f"Put{next(_names)}"}}


def _delete_definition(system: System) -> Request:
    return ("DELETE",
            f"{EXT}/applications/Vision/jobdefinitions/CUBE_REFRESH/{new_definition(system)}",
            {})


def new_file(system: System) -> str:
    name = f"file{next(_names)}.csv"
    system.stores.files.receive_chunk(name, b"a,b\n", is_first=True, is_last=True,
                                      chunk_size=None, file_size=None)
    return name


def _upload(system: System) -> Request:
    return ("POST", f"{SNAPSHOTS_V}/up{next(_names)}.csv/contents",
            {"params": {"q": '{"isFirst":true,"isLast":true}'}, "content": b"x"})


def _download(system: System) -> Request:
    return "GET", f"{SNAPSHOTS_V}/{new_file(system)}/contents", {}


def _delete_file(system: System) -> Request:
    return "DELETE", f"{SNAPSHOTS_V}/{new_file(system)}", {}


def _delete_by_body(method: str, version: str) -> Callable[[System], Request]:
    def make(system: System) -> Request:
        return (method, f"{INTEROP}/{version}/files/delete",
                {"json": {"fileName": new_file(system)}})
    return make


def _post(url: str, body: dict[str, Any] | None = None) -> Callable[[System], Request]:
    return lambda system: ("POST", url, {} if body is None else {"json": body})


def _delete(url: str) -> Callable[[System], Request]:
    return lambda system: ("DELETE", url, {})


def new_snapshot(system: System) -> str:
    name = f"matrix-{next(_names)}"
    StateKeeper(system).snapshot(name)
    return name


def _restore(system: System) -> Request:
    return "POST", f"{CONTROL}/snapshots/{new_snapshot(system)}/restore", {}


def _delete_snapshot(system: System) -> Request:
    return "DELETE", f"{CONTROL}/snapshots/{new_snapshot(system)}", {}


def _advance(system: System) -> Request:
    """A job held by a manual rule of the app's control API."""
    control = system.job_service.control
    assert control is not None, "the matrix app runs with the control API on"
    job_id = new_job(system)
    control.progression.add(ProgressionRule(JobMatch(job_name="Held"), Mode.MANUAL))
    control.progression.bind(job_id, "Vision", "ADMINISTRATION_MODE", "Held")
    return "POST", f"{CONTROL}/jobs/{job_id}/advance", {}


APP = "/HyperionPlanning/rest/{version}/applications/{app}"
CONTROL = f"{EXT}/control"
HARMLESS = {"jobName": "MatrixOnly"}  # rules and faults that no other case meets
NEVER = "^/never"
INTEROP = "/interop/rest"
SNAPSHOTS = INTEROP + "/{version}/applicationsnapshots"
SNAPSHOTS_V = INTEROP + "/11.1.2.3.600/applicationsnapshots"
SUBVARS = APP + "/substitutionvariables"
PLAN_SUBVARS = APP + "/plantypes/{plantype}/substitutionvariables"
VARS_V = f"{VISION}/substitutionvariables"
PLAN_VARS_V = f"{VISION}/plantypes/Plan1/substitutionvariables"
VARIABLE_ENDPOINTS = {
    f"{label}{kind}": Endpoint(method, route + suffix, code, True,
                               _variables(method, url, plan_type, call_suffix, body))
    for label, route, url, plan_type in (("variables", SUBVARS, VARS_V, None),
                                         ("plan type variables", PLAN_SUBVARS, PLAN_VARS_V,
                                          "Plan1"))
    for kind, method, suffix, call_suffix, code, body in (
        (" list", "GET", "", "", 200, False),
        (" post", "POST", "", "", 204, True),
        (" put", "PUT", "", "", 204, True),
        (" get", "GET", "/{name}", "/{name}", 200, False),
        (" delete", "DELETE", "/{name}", "/{name}", 204, False),
        (" delete many", "POST", ":delete", ":delete", 204, True))
}
ENDPOINTS = {
    "versions": Endpoint("GET", REST, 200, False, _get(REST)),
    "versions/": Endpoint("GET", f"{REST}/", 200, False, _get(f"{REST}/")),
    "version": Endpoint("GET", f"{REST}/{{version}}", 200, False, _get(V3)),
    "version/": Endpoint("GET", f"{REST}/{{version}}/", 200, False, _get(f"{V3}/")),
    "applications": Endpoint("GET", f"{REST}/{{version}}/applications", 200, False,
                             _get(f"{V3}/applications")),
    "applications/": Endpoint("GET", f"{REST}/{{version}}/applications/", 200, False,
                              _get(f"{V3}/applications/")),
    "application": Endpoint("GET", APP, 200, False, _get(VISION)),
    "jobdefinitions": Endpoint("GET", f"{APP}/jobdefinitions", 200, True,
                               _get(f"{VISION}/jobdefinitions")),
    "submit": Endpoint("POST", f"{APP}/jobs", 201, True, _submit),
    "job": Endpoint("GET", f"{APP}/jobs/{{job_id}}", 200, True,
                    _job_get(JOBS + "/{job_id}")),
    "details": Endpoint("GET", f"{APP}/jobs/{{job_id}}/details", 200, True,
                        _job_get(JOBS + "/{job_id}/details")),
    "child details": Endpoint("GET", f"{APP}/jobs/{{job_id}}/childjobs/{{child_id}}/details",
                              200, True,
                              _job_get(JOBS + "/{job_id}/childjobs/1/details", True)),
    "ext list": Endpoint("GET", f"{EXT}/jobs", 200, False, _get(f"{EXT}/jobs")),
    "ext job": Endpoint("GET", f"{EXT}/jobs/{{job_id}}", 200, True,
                        _job_get(EXT + "/jobs/{job_id}")),
    "ext cancel": Endpoint("POST", f"{EXT}/jobs/{{job_id}}/cancel", 202, True, _cancel),
    "ext wait": Endpoint("GET", f"{EXT}/jobs/{{job_id}}/wait", 200, True,
                         _job_get(EXT + "/jobs/{job_id}/wait?timeout=0")),
    "ext put definition": Endpoint("POST", f"{EXT}/applications/{{app}}/jobdefinitions", 201,
                                   True, _put_definition),
    "ext delete definition": Endpoint(
        "DELETE", f"{EXT}/applications/{{app}}/jobdefinitions/{{job_type}}/{{job_name:path}}",
        200, True, _delete_definition),
    "files versions": Endpoint("GET", INTEROP, 200, False, _get(INTEROP)),
    "files versions/": Endpoint("GET", f"{INTEROP}/", 200, False, _get(f"{INTEROP}/")),
    "files version": Endpoint("GET", f"{INTEROP}/{{version}}", 200, False,
                              _get(f"{INTEROP}/v2")),
    "files list": Endpoint("GET", SNAPSHOTS, 200, True, _get(SNAPSHOTS_V)),
    "files list v2": Endpoint("GET", f"{INTEROP}/v2/files/list", 200, True,
                              _get(f"{INTEROP}/v2/files/list")),
    "upload": Endpoint("POST", f"{SNAPSHOTS}/{{file_name:anypath}}/contents", 200, True, _upload),
    "download": Endpoint("GET", f"{SNAPSHOTS}/{{file_name:anypath}}/contents", 200, True,
                         _download),
    "delete file": Endpoint("DELETE", f"{SNAPSHOTS}/{{file_name:anypath}}", 200, True,
                            _delete_file),
    "delete file v2": Endpoint("DELETE", f"{INTEROP}/v2/files/delete", 200, True,
                               _delete_by_body("DELETE", "v2")),
    "delete file v3": Endpoint("POST", f"{INTEROP}/v3/files/delete", 200, True,
                               _delete_by_body("POST", "v3")),
    "openapi": Endpoint("GET", "/openapi.json", 200, False, _get("/openapi.json"),
                        public=True),
    "metrics": Endpoint("GET", "/metrics", 200, False, _get("/metrics"), public=True),
    "health": Endpoint("GET", "/epmjobs/v1/health", 200, False, _get("/epmjobs/v1/health"),
                       public=True),
    "ready": Endpoint("GET", "/epmjobs/v1/ready", 200, False, _get("/epmjobs/v1/ready"),
                      public=True),
    "control state": Endpoint("GET", CONTROL, 200, True, _get(CONTROL)),
    "control reset": Endpoint("POST", f"{CONTROL}/reset", 200, True,
                              _post(f"{CONTROL}/reset", {"applications": ["Vision"]})),
    "control snapshots": Endpoint("GET", f"{CONTROL}/snapshots", 200, True,
                                  _get(f"{CONTROL}/snapshots")),
    "control snapshot": Endpoint("POST", f"{CONTROL}/snapshots", 201, True,
                                 _post(f"{CONTROL}/snapshots", {"name": "matrix"})),
    "control restore": Endpoint("POST", f"{CONTROL}/snapshots/{{name}}/restore", 200, True,
                                _restore),
    "control delete snapshot": Endpoint("DELETE", f"{CONTROL}/snapshots/{{name}}", 200, True,
                                        _delete_snapshot),
    "control progression": Endpoint("POST", f"{CONTROL}/progression", 201, True, _post(
        f"{CONTROL}/progression", {**HARMLESS, "progression": "manual"})),
    "control clear progression": Endpoint("DELETE", f"{CONTROL}/progression", 200, True,
                                          _delete(f"{CONTROL}/progression")),
    "control outcome": Endpoint("POST", f"{CONTROL}/outcomes", 201, True, _post(
        f"{CONTROL}/outcomes", {**HARMLESS, "status": 1})),
    "control clear outcomes": Endpoint("DELETE", f"{CONTROL}/outcomes", 200, True,
                                       _delete(f"{CONTROL}/outcomes")),
    "control advance": Endpoint("POST", f"{CONTROL}/jobs/{{job_id}}/advance", 200, True,
                                _advance),
    "control fault": Endpoint("POST", f"{CONTROL}/faults", 201, True, _post(
        f"{CONTROL}/faults", {"fault": "maintenance", "path": NEVER})),
    "control clear faults": Endpoint("DELETE", f"{CONTROL}/faults", 200, True,
                                     _delete(f"{CONTROL}/faults")),
    "control recorder start": Endpoint("POST", f"{CONTROL}/recorder/start", 200, True,
                                       _post(f"{CONTROL}/recorder/start")),
    "control recorder stop": Endpoint("POST", f"{CONTROL}/recorder/stop", 200, True,
                                      _post(f"{CONTROL}/recorder/stop")),
    "control recording": Endpoint("GET", f"{CONTROL}/recorder", 200, True,
                                  _get(f"{CONTROL}/recorder")),
}
ENDPOINTS.update(VARIABLE_ENDPOINTS)
CALLERS = ["anonymous", "wrong-password", *(role.value for role in ROLE_USERS)]


def credentials(caller: str) -> tuple[str, str] | None:
    if caller == "anonymous":
        return None
    if caller == "wrong-password":
        return (ROLE_USERS[Role.SERVICE_ADMINISTRATOR], "not-the-password")
    return (ROLE_USERS[Role(caller)], PASSWORD)


# -- the matrix -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def matrix_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """One installation for the whole table: each case makes the job or definition it uses."""
    system = System(make_settings(tmp_path_factory.mktemp("roles") / "data"))
    bootstrap(system)
    add_role_users(system)
    yield system
    system.close()


@pytest.fixture(scope="module")
def matrix_client(matrix_system: System) -> Iterator[TestClient]:
    with TestClient(create_app(matrix_system, control_api=True), base_url=BASE,
                    raise_server_exceptions=False) as client:
        yield client


def test_matrix_covers_every_route_the_app_serves(matrix_client: TestClient) -> None:
    declared = set()
    for route in matrix_client.app.routes:  # type: ignore[attr-defined]
        assert isinstance(route, Route), f"{route!r}: add its routes to ENDPOINTS"
        for method in route.methods or ():
            if method != "HEAD":
                declared.add((method, route.path))
    in_matrix = {(e.method, e.route) for e in ENDPOINTS.values()}
    assert in_matrix == declared


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_role_matrix(matrix_system: System, matrix_client: TestClient, endpoint: str,
                     caller: str) -> None:
    spec = ENDPOINTS[endpoint]
    method, url, kwargs = spec.make(matrix_system)
    response = matrix_client.request(method, url, auth=credentials(caller), **kwargs)
    expected = spec.expected(caller)
    assert response.status_code == expected, response.text
    if endpoint == "download" and expected == 200:
        assert response.headers["content-type"] == "application/octet-stream"
        return
    if endpoint == "metrics":
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        return
    if expected == 204:
        assert response.content == b""
        return
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    if expected == 401:
        assert response.headers["www-authenticate"] == WWW_AUTHENTICATE
        detail = ("Authentication is required." if caller == "anonymous"
                  else "Invalid credentials.")
        assert body == {"detail": detail, "status": 401}
    elif expected == 403:
        assert set(body) == {"detail", "status"} and body["status"] == 403
        assert ROLE_USERS[Role(caller)] in body["detail"]
    else:
        assert "www-authenticate" not in response.headers


# -- who may follow which job -----------------------------------------------------------------

@pytest.mark.parametrize("role", [Role.POWER_USER, Role.USER, Role.VIEWER])
def test_a_non_admin_follows_the_jobs_they_submitted_but_no_one_elses(
        client, system: System, role: Role) -> None:
    name = ROLE_USERS[role]
    auth = (name, PASSWORD)
    own, other = new_job(system, submitted_by=name), new_job(system)
    for url in (f"{JOBS}/{own}", f"{JOBS}/{own}/details", f"{EXT}/jobs/{own}",
                f"{EXT}/jobs/{own}/wait?timeout=0"):
        assert client.get(url, auth=auth).status_code == 200, url
    for url in (f"{JOBS}/{other}", f"{JOBS}/{other}/details", f"{EXT}/jobs/{other}",
                f"{EXT}/jobs/{other}/wait?timeout=0"):
        response = client.get(url, auth=auth)
        assert response.status_code == 403, url
        assert response.json() == {
            "detail": f"User {name} is not allowed to view job {other}.", "status": 403}
    assert client.post(f"{EXT}/jobs/{other}/cancel", auth=auth).status_code == 403
    listed = client.get(f"{EXT}/jobs", auth=auth).json()
    assert [item["jobId"] for item in listed["items"]] == [own]
    admin_listed = client.get(f"{EXT}/jobs", auth=ADMIN).json()
    assert [item["jobId"] for item in admin_listed["items"]] == [other, own]


def test_a_non_admin_may_cancel_their_own_job(client, system: System) -> None:
    own = new_job(system, submitted_by=ROLE_USERS[Role.USER])
    response = client.post(f"{EXT}/jobs/{own}/cancel", auth=(ROLE_USERS[Role.USER], PASSWORD))
    assert response.status_code == 202
    assert response.json()["status"] == 3


def test_denied_submission_creates_no_job(client, system: System) -> None:
    for role in (Role.POWER_USER, Role.USER, Role.VIEWER):
        response = client.post(JOBS, auth=(ROLE_USERS[role], PASSWORD), json=ALL_USERS)
        assert response.status_code == 403
        what = "ADMINISTRATION_MODE jobs" if role is Role.POWER_USER else "jobs"
        assert response.json() == {
            "detail": f"User {ROLE_USERS[role]} is not allowed to launch {what}.", "status": 403}
    assert client.get(f"{EXT}/jobs", auth=ADMIN).json()["items"] == []


def test_denied_job_definition_changes_leave_the_library_as_it_was(client) -> None:
    before = client.get(f"{VISION}/jobdefinitions", auth=ADMIN).json()
    viewer = (ROLE_USERS[Role.VIEWER], PASSWORD)
    assert client.post(f"{EXT}/applications/Vision/jobdefinitions", auth=viewer,
                       json={"jobType": "CUBE_REFRESH", "jobName": "Sneaky"}).status_code == 403
    assert client.delete(f"{EXT}/applications/Vision/jobdefinitions/CUBE_REFRESH/RefreshDB",
                         auth=viewer).status_code == 403
    assert client.get(f"{VISION}/jobdefinitions", auth=ADMIN).json() == before


# -- ways in ----------------------------------------------------------------------------------

def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.mark.parametrize("user", ["acme.pete", "epm-acme.pete", "pete", "PETE"])
def test_basic_accepts_user_and_identitydomain_user(client, user: str) -> None:
    response = client.get(V3, headers=basic(user, PASSWORD))
    assert response.status_code == 200
    denied = client.get(f"{VISION}/jobdefinitions", headers=basic(user, PASSWORD))
    assert denied.status_code == 403  # still a Power User, whichever form was used


def test_identitydomain_admin_submits_as_the_plain_user(client, system: System) -> None:
    response = client.post(JOBS, headers=basic("acme.admin", ADMIN[1]), json=ALL_USERS)
    assert response.status_code == 201
    job = system.stores.jobs.get(response.json()["jobId"])
    assert job is not None and job.submitted_by == "admin"


@pytest.mark.parametrize(("headers", "detail"), [
    (basic("nobody", "pw"), "Invalid credentials."),
    (basic("acme.nobody", "pw"), "Invalid credentials."),
    (basic("acme.pete", "wrong"), "Invalid credentials."),
    (basic("pete", ""), "Invalid credentials."),
    ({"Authorization": "Basic not-base64!"}, "Malformed Basic credentials."),
    ({"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
     "Malformed Basic credentials."),
    ({"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:x").decode()},
     "Malformed Basic credentials."),
    ({"Authorization": "Digest username=admin"}, "Unsupported authorization scheme."),
    ({"Authorization": "Basic"}, "Malformed Basic credentials."),
    ({"Authorization": "Bearer "}, "Invalid or expired token."),
    ({"Authorization": "Bearer epm_not_a_token"}, "Invalid or expired token."),
    ({"Authorization": "   "}, "Unsupported authorization scheme."),
])
def test_bad_credentials_are_401_with_a_challenge(client, headers: dict[str, str],
                                                  detail: str) -> None:
    response = client.get(V3, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == WWW_AUTHENTICATE
    assert response.json() == {"detail": detail, "status": 401}


def issue_token(system: System, username: str, expires_at: float | None) -> str:
    user = system.stores.users.get(username)
    assert user is not None
    token = f"epm_test_{username}_{next(_names)}"
    system.stores.users.add_token(user.user_id, token_digest(token), "test", time.time(),
                                  expires_at)
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_bearer_token_carries_its_users_role(client, system: System) -> None:
    admin_token = issue_token(system, ROLE_USERS[Role.SERVICE_ADMINISTRATOR], None)
    viewer_token = issue_token(system, ROLE_USERS[Role.VIEWER], time.time() + 3600)
    assert client.post(JOBS, headers=bearer(admin_token), json=ALL_USERS).status_code == 201
    assert client.get(f"{VISION}/jobdefinitions",
                      headers=bearer(admin_token)).status_code == 200
    assert client.get(V3, headers=bearer(viewer_token)).status_code == 200
    assert client.get(f"{VISION}/jobdefinitions",
                      headers=bearer(viewer_token)).status_code == 403
    assert client.post(JOBS, headers=bearer(viewer_token), json=ALL_USERS).status_code == 403


def test_bearer_scheme_name_is_case_insensitive(client, system: System) -> None:
    token = issue_token(system, "admin", None)
    response = client.get(V3, headers={"Authorization": f"bearer {token}"})
    assert response.status_code == 200


def test_expired_bearer_token_is_401(client, system: System) -> None:
    token = issue_token(system, ROLE_USERS[Role.SERVICE_ADMINISTRATOR], time.time() - 1)
    response = client.get(V3, headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == WWW_AUTHENTICATE
    assert response.json() == {"detail": "Invalid or expired token.", "status": 401}


def test_a_role_change_applies_once_the_auth_cache_forgets(client, system: System) -> None:
    viewer = (ROLE_USERS[Role.VIEWER], PASSWORD)
    assert client.get(f"{VISION}/jobdefinitions", auth=viewer).status_code == 403
    system.stores.users.update(ROLE_USERS[Role.VIEWER], role=Role.SERVICE_ADMINISTRATOR.value)
    system.authenticator.forget_all()
    assert client.get(f"{VISION}/jobdefinitions", auth=viewer).status_code == 200


def test_a_removed_user_is_refused_once_the_auth_cache_forgets(client,
                                                               system: System) -> None:
    pete = (ROLE_USERS[Role.POWER_USER], PASSWORD)
    assert client.get(V3, auth=pete).status_code == 200
    system.stores.users.remove(ROLE_USERS[Role.POWER_USER])
    system.authenticator.forget_all()
    response = client.get(V3, auth=pete)
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid credentials.", "status": 401}


def test_a_user_without_a_password_cannot_log_in_with_basic(client, system: System) -> None:
    system.stores.users.add("tokenonly", Role.VIEWER.value, None, time.time())
    response = client.get(V3, headers=basic("tokenonly", ""))
    assert response.status_code == 401


# -- Administration Mode ------------------------------------------------------------------------

def set_login_level(client: TestClient, worker: Worker, body: dict[str, Any]) -> None:
    response = client.post(JOBS, auth=ADMIN, json=body)
    assert response.status_code == 201
    assert worker.drain() == 1
    job_id = response.json()["jobId"]
    assert client.get(f"{JOBS}/{job_id}", auth=ADMIN).json()["status"] == 0


def app_scoped_urls(own_job: int) -> list[str]:
    """Every URL of the application a non-admin can otherwise use."""
    return [VISION, f"{JOBS}/{own_job}", f"{JOBS}/{own_job}/details",
            f"{EXT}/jobs/{own_job}", f"{EXT}/jobs/{own_job}/wait?timeout=0",
            f"{EXT}/jobs?application=Vision"]


@pytest.mark.parametrize("role", [Role.POWER_USER, Role.USER, Role.VIEWER])
def test_administration_mode_closes_the_application_to_non_admins_and_reopens_it(
        client, system: System, worker: Worker, role: Role) -> None:
    name = ROLE_USERS[role]
    auth = (name, PASSWORD)
    own = new_job(system, submitted_by=name)
    with system.db.transaction() as conn:  # let it end, so the worker only runs admin jobs
        system.stores.jobs.finish(conn, own, None, JobStatus.SUCCESS, "done", time.time())
    for url in app_scoped_urls(own):
        assert client.get(url, auth=auth).status_code == 200, url

    set_login_level(client, worker, ADMINS_ONLY)
    for url in app_scoped_urls(own):
        response = client.get(url, auth=auth)
        assert response.status_code == 403, url
        assert response.json() == {"detail": ADMIN_MODE_DETAIL, "status": 403}, url
    assert client.post(f"{EXT}/jobs/{own}/cancel", auth=auth).status_code == 403
    assert client.get(f"{JOBS}/987654", auth=auth).status_code == 403
    # What is not the application's stays open, and tells the caller why the rest is shut.
    assert client.get(V3, auth=auth).status_code == 200
    listed = client.get(f"{V3}/applications", auth=auth)
    assert listed.status_code == 200
    assert listed.json()["items"][0]["adminMode"] is True

    for admin in (ADMIN, (ROLE_USERS[Role.SERVICE_ADMINISTRATOR], PASSWORD)):
        for url in app_scoped_urls(own):
            assert client.get(url, auth=admin).status_code == 200, url
        assert client.get(f"{VISION}/jobdefinitions", auth=admin).status_code == 200

    set_login_level(client, worker, ALL_USERS)
    for url in app_scoped_urls(own):
        assert client.get(url, auth=auth).status_code == 200, url


def test_administration_mode_does_not_stop_admins_submitting(client, worker: Worker) -> None:
    set_login_level(client, worker, ADMINS_ONLY)
    sally = (ROLE_USERS[Role.SERVICE_ADMINISTRATOR], PASSWORD)
    response = client.post(JOBS, auth=sally, json=ALL_USERS)
    assert response.status_code == 201


def test_administration_mode_applies_to_a_user_created_afterwards(client, system: System,
                                                                  worker: Worker) -> None:
    set_login_level(client, worker, ADMINS_ONLY)
    system.stores.users.add("newbie", Role.USER.value, hash_password("pw-newbie"), time.time())
    response = client.get(VISION, auth=("newbie", "pw-newbie"))
    assert response.status_code == 403
    assert response.json() == {"detail": ADMIN_MODE_DETAIL, "status": 403}


# -- known bugs ---------------------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"{not json", b"[]", b'{"jobType":"NOPE"}'])
def test_a_viewer_is_refused_submission_whatever_the_body(client, content: bytes) -> None:
    response = client.post(JOBS, auth=(ROLE_USERS[Role.VIEWER], PASSWORD), content=content,
                           headers={"content-type": "application/json"})
    assert response.status_code == 403
