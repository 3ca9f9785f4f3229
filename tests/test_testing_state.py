"""Reset, snapshot and restore through the plugin only (and reset on PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from epmjobs.api.app import create_app
from epmjobs.bootstrap import bootstrap
from epmjobs.client import BadRequest, EpmClient, HTTPError, NotFound
from epmjobs.demo import VISION_FILE
from epmjobs.settings import Settings
from epmjobs.system import System
from epmjobs.testing import InProcessServer, LiveServer
from epmjobs.testing.inprocess import InProcessTransport, LoopThread

ADMIN_MODE = "ADMINISTRATION_MODE"
ALL_USERS = {"loginLevel": "All Users"}
SANDBOX = {"format": "epmjobs-application/1", "name": "Sandbox", "appType": "PBCS",
           "cubes": [{"name": "Plan1", "kind": "BSO"}],
           "jobDefinitions": [{"jobType": "CUBE_REFRESH", "jobName": "Refresh"}]}
Server = InProcessServer | LiveServer


@pytest.fixture(params=["in-process", "live"])
def server(request: pytest.FixtureRequest) -> Server:
    name = "epmjobs_server" if request.param == "in-process" else "epmjobs_live_server"
    found: Server = request.getfixturevalue(name)
    return found


def app_names(epm: EpmClient) -> list[str]:
    return [app.name for app in epm.applications()]


SNAPSHOTS = "/interop/rest/11.1.2.3.600/applicationsnapshots"


def upload(server: Server, name: str, content: bytes) -> None:
    with server.http() as http:
        answer = http.post(f"{SNAPSHOTS}/{name}/contents", content=content,
                           params={"q": '{"isFirst":true,"isLast":true}'},
                           headers={"Content-Type": "application/octet-stream"})
    assert answer.json()["status"] == 0, answer.text


def download(server: Server, name: str) -> bytes:
    with server.http() as http:
        return http.get(f"{SNAPSHOTS}/{name}/contents").content


def seed(server: Server, epm: EpmClient) -> int:
    """A finished job and a file: something for resets to remove."""
    upload(server, "data.csv", b"a,b\n1,2\n")
    return epm.run_job("Vision", ADMIN_MODE, parameters=ALL_USERS, timeout=30).job_id


def file_names(epm: EpmClient) -> list[str]:
    return [f.name for f in epm.list_files()]


# -- reset --------------------------------------------------------------------------------

def test_reset_to_empty_keeps_only_the_users(server: Server) -> None:
    with server.client() as epm:
        job_id = seed(server, epm)
        server.control.progress("manual")
        server.control.maintenance(5)
        assert server.control.reset() == []
        assert app_names(epm) == [] and file_names(epm) == []
        assert epm.list_jobs() == []
        with pytest.raises(NotFound):
            epm.extended_job(job_id)
    state = server.control.state()
    assert (state["progression"], state["faults"]) == ([], [])


def test_reset_to_named_and_given_definitions(server: Server, tmp_path: Path) -> None:
    sandbox_file = tmp_path / "sandbox.json"
    sandbox_file.write_text(json.dumps(SANDBOX))
    other = {**SANDBOX, "name": "Other"}
    with server.client() as epm:
        seed(server, epm)
        assert server.control.reset("Vision", sandbox_file, other) == [
            "Vision", "Sandbox", "Other"]
        assert app_names(epm) == ["Other", "Sandbox", "Vision"]
        assert [d.job_name for d in epm.job_definitions("Sandbox")] == ["Refresh"]
        assert epm.list_jobs() == [] and file_names(epm) == []
        assert epm.run_job("Vision", ADMIN_MODE, parameters=ALL_USERS, timeout=30).ok


@pytest.mark.parametrize(("applications", "code", "reason"), [
    (["Nowhere"], 400, "No built-in application named Nowhere: name one of Vision or send its "
                       "definition document."),
    ([{**SANDBOX, "cubes": "Plan1"}], 400, "cubes must be a list."),
    ([SANDBOX, SANDBOX], 409, "An application named Sandbox already exists."),
    ([42], 400, "Each application is a built-in name or a definition document."),
])
def test_a_bad_definition_is_refused_before_anything_is_deleted(
        server: Server, applications: list[Any], code: int, reason: str) -> None:
    with server.client() as epm:
        seed(server, epm)
        with server.http() as http:
            answer = http.post("/epmjobs/v1/control/reset",
                               json={"applications": applications})
        assert answer.status_code == code
        assert answer.json() == {"detail": reason, "status": code}
        assert app_names(epm) == ["Vision"] and file_names(epm) == ["data.csv"]
        assert len(epm.list_jobs()) == 1


# -- snapshots ----------------------------------------------------------------------------

def test_restore_brings_back_jobs_files_and_the_id_sequence(server: Server) -> None:
    with server.client() as epm:
        first = seed(server, epm)
        server.control.snapshot("seeded")
        later = epm.run_job("Vision", ADMIN_MODE, parameters=ALL_USERS, timeout=30).job_id
        upload(server, "later.csv", b"x")
        epm.delete_file("data.csv")
        server.control.reset("Vision", SANDBOX)
        server.control.progress("manual")
        server.control.restore("seeded")
        assert app_names(epm) == ["Vision"] and file_names(epm) == ["data.csv"]
        assert [j.job_id for j in epm.list_jobs()] == [first]
        again = epm.run_job("Vision", ADMIN_MODE, parameters=ALL_USERS, timeout=30)
        assert again.job_id == later  # the sequence is the snapshot's: ids are reused
        assert again.ok  # the restore cleared the manual rule
        assert download(server, "data.csv") == b"a,b\n1,2\n"
    assert "seeded" in server.control.snapshots()


def test_snapshots_are_listed_replaced_and_deleted(server: Server) -> None:
    with server.client() as epm:
        server.control.snapshot("one")
        seed(server, epm)
        server.control.snapshot("one")  # replaced: now with the job
        server.control.restore("one")
        assert len(epm.list_jobs()) == 1
    server.control.delete_snapshot("one")
    assert "one" not in server.control.snapshots()
    with pytest.raises(NotFound) as missing:
        server.control.restore("one")
    assert missing.value.message == "No snapshot named one."


@pytest.mark.parametrize("name", ["", ".hidden", "a/b", "x" * 65, "spa ce"])
def test_bad_snapshot_names_are_400(epmjobs_server: InProcessServer, name: str) -> None:
    with pytest.raises((BadRequest, NotFound)) as refused:
        epmjobs_server.control.snapshot(name)
    assert isinstance(refused.value, BadRequest)
    assert refused.value.message.startswith("Invalid snapshot name")


def test_restore_of_a_bad_name_is_404_or_400(epmjobs_server: InProcessServer) -> None:
    with pytest.raises(HTTPError) as refused:
        epmjobs_server.control.restore("..")
    assert refused.value.status_code in (400, 404)


# -- PostgreSQL ---------------------------------------------------------------------------

@pytest.fixture
def postgres_double(postgres_url: str, tmp_path: Path) -> Iterator[httpx.Client]:
    """An installation on PostgreSQL with the control API on, reached in process."""
    system = System(Settings(data_dir=tmp_path / "pg", database_url=postgres_url,
                             admin_password="pw"))
    bootstrap(system)
    loop = LoopThread()
    transport = InProcessTransport(create_app(system, control_api=True), loop)
    with httpx.Client(base_url="http://pg.test", auth=("admin", "pw"),
                      transport=transport) as http:
        yield http
    loop.close()
    system.close()


def test_postgresql_resets_but_refuses_snapshots(postgres_double: httpx.Client) -> None:
    http = postgres_double
    jobs = "/HyperionPlanning/rest/v3/applications/Vision/jobs"
    assert http.post(jobs, json={"jobType": ADMIN_MODE, "parameters": ALL_USERS}).is_success
    reset = http.post("/epmjobs/v1/control/reset", json={"applications": [SANDBOX]})
    assert reset.json() == {"applications": ["Sandbox"]}
    listed = http.get("/HyperionPlanning/rest/v3/applications").json()["items"]
    assert [a["name"] for a in listed] == ["Sandbox"]
    assert http.get("/epmjobs/v1/jobs").json()["items"] == []
    refused = http.post("/epmjobs/v1/control/snapshots", json={"name": "x"})
    assert refused.status_code == 409
    assert refused.json()["detail"] == ("Snapshots need the embedded SQLite database; this "
                                        "server runs on postgresql. Reset still works.")


def test_vision_is_the_built_in_definition() -> None:
    assert json.loads(VISION_FILE.read_text())["name"] == "Vision"


def test_a_user_the_snapshot_does_not_have_is_refused_at_once(
        epmjobs_server: InProcessServer) -> None:
    from epmjobs.security.passwords import hash_password

    epmjobs_server.control.snapshot("before-bob")
    epmjobs_server.system.stores.users.add("bob", "Service Administrator",
                                           hash_password("bob-pw"), 0.0)
    with epmjobs_server.http(auth=("bob", "bob-pw")) as bob:
        assert bob.get("/HyperionPlanning/rest/v3").status_code == 200
        epmjobs_server.control.restore("before-bob")
        assert bob.get("/HyperionPlanning/rest/v3").status_code == 401
    with epmjobs_server.http() as admin:  # whose credentials the restore did not change
        assert admin.get("/HyperionPlanning/rest/v3").status_code == 200
