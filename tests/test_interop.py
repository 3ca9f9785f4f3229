"""Oracle's Migration ("interop") file API through real HTTP requests in process."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from conftest import ADMIN, PASSWORD, ROLE_USERS
from epmjobs.jobs.runner import Worker
from epmjobs.security.roles import Grant, Role
from epmjobs.system import System

BASE = "http://epm.test"
SNAP = "/interop/rest/11.1.2.3.600/applicationsnapshots"
JOBS = "/HyperionPlanning/rest/v3/applications/Vision/jobs"


def _upload(client, name: str, data: bytes, *, first: bool = True, last: bool = True,
            extra: str = "", version: str = "11.1.2.3.600"):
    q = f'{{"isFirst":{str(first).lower()},"isLast":{str(last).lower()},' \
        f'"chunkSize":{len(data)}{extra}}}'
    return client.post(f"/interop/rest/{version}/applicationsnapshots/{name}/contents",
                       params={"q": q}, content=data, auth=ADMIN,
                       headers={"Content-Type": "application/octet-stream"})


def test_versions_use_latest_not_is_latest(client) -> None:
    body = client.get("/interop/rest/", auth=ADMIN).json()
    assert body["status"] == 0 and body["details"] is None
    assert body["links"] == [{"rel": "self", "href": f"{BASE}/interop/rest/11.1.2.3.600",
                              "action": "GET", "data": None}]
    assert [(i["version"], i["latest"], i["lifecycle"]) for i in body["items"]] == [
        ("11.1.2.3.600", True, "active"), ("v1", False, "active"), ("v2", False, "active"),
        ("v3", False, "active")]
    assert all("isLatest" not in i for i in body["items"])
    one = client.get("/interop/rest/v2", auth=ADMIN).json()
    assert one["version"] == "v2" and one["latest"] is False


def test_upload_in_chunks_then_list_with_exact_json(client, system: System) -> None:
    answer = _upload(client, "data.csv", b"a,b\n", last=False, extra=',"fileSize":8')
    assert answer.status_code == 200
    assert answer.json() == {"status": 0, "details": None, "links": [
        {"rel": "self", "href": f"{BASE}{SNAP}/data.csv/contents", "action": "POST",
         "data": None}]}
    assert client.get(SNAP, auth=ADMIN).json()["items"] == []  # not visible yet
    assert _upload(client, "data.csv", b"1,2\n", first=False).json()["status"] == 0
    listed = client.get(SNAP, auth=ADMIN).json()
    info = system.stores.files.stat("data.csv")
    assert listed == {"status": 0, "details": None, "items": [
        {"name": "data.csv", "type": "EXTERNAL", "size": "8",
         "lastmodifiedtime": str(int(info.modified * 1000))}],
        "links": [{"rel": "self", "href": f"{BASE}{SNAP}", "action": "GET", "data": None}]}
    assert client.get("/interop/rest/v2/files/list", auth=ADMIN).json()["items"] == \
        listed["items"]


def test_download_streams_bytes_with_file_extension_header(client) -> None:
    payload = bytes(range(256)) * 1000
    assert _upload(client, "inbox%2Fblob.bin", payload).json()["status"] == 0
    got = client.get(f"{SNAP}/inbox%5Cblob.bin/contents", auth=ADMIN)
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["fileExtension"] == "bin"
    assert got.content == payload


def test_missing_file_download_is_http_200_with_status_1(client) -> None:
    got = client.get(f"{SNAP}/Vision.zip/contents", auth=ADMIN)
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("application/json")
    assert got.json()["status"] == 1
    assert got.json()["details"] == "Invalid file : Vision.zip"


def test_ext_dir_path_places_the_upload_in_a_folder(client) -> None:
    q = '{isFirst:true,isLast:true,chunkSize:3,extDirPath:"inbox"}'
    client.post(f"{SNAP}/in-q.csv/contents", params={"q": q}, content=b"abc", auth=ADMIN)
    client.post(f"{SNAP}/in-param.csv/contents", params={
        "q": '{"isFirst":true,"isLast":true}', "extDirPath": "outbox/logs"},
        content=b"xyz", auth=ADMIN)
    names = [i["name"] for i in client.get(SNAP, auth=ADMIN).json()["items"]]
    assert names == ["inbox/in-q.csv", "outbox/logs/in-param.csv"]


def test_an_existing_name_is_refused_and_kept(client) -> None:
    _upload(client, "dup.csv", b"one")
    again = _upload(client, "dup.csv", b"two")
    assert again.status_code == 200 and again.json()["status"] == 1
    assert "already exists" in again.json()["details"]
    assert client.get(f"{SNAP}/dup.csv/contents", auth=ADMIN).content == b"one"


@pytest.mark.parametrize(("q", "body", "text"), [
    ("not json at all", b"x", "Invalid q"),
    ('{"isFirst":false,"isLast":true}', b"x", "isFirst=true"),
    ('{"isFirst":true,"isLast":true,"chunkSize":10}', b"short", "chunkSize"),
    ('{"isFirst":true,"isLast":true,"fileSize":99}', b"short", "fileSize"),
    ('{"isFirst":true,"isLast":true,"chunkSize":"abc"}', b"x", "chunkSize"),
])
def test_bad_chunks_are_refused_and_leave_no_file(client, q: str, body: bytes,
                                                  text: str) -> None:
    got = client.post(f"{SNAP}/bad.csv/contents", params={"q": q}, content=body, auth=ADMIN)
    assert got.status_code == 200
    assert got.json()["status"] == 1 and text in got.json()["details"]
    assert client.get(SNAP, auth=ADMIN).json()["items"] == []


@pytest.mark.parametrize("name", ["..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "a%00b.csv",
                                  "other%2Fx.csv", "inbox%2F..%2F..%2Fx", "%E2%80%AEevil.csv"])
def test_names_that_try_to_escape_are_refused(client, system: System, name: str) -> None:
    got = _upload(client, name, b"x")
    assert got.status_code == 200 and got.json()["status"] == 1
    assert "Invalid file name" in got.json()["details"]
    assert client.get(f"{SNAP}/{name}/contents", auth=ADMIN).json()["status"] == 1
    assert system.stores.files.list() == []
    assert not (system.settings.data_dir / "etc").exists()


def test_uploads_over_the_cap_are_refused(client, system: System) -> None:
    system.stores.files.max_file_bytes = 10  # type: ignore[attr-defined]
    got = _upload(client, "big.csv", b"x" * 11)
    assert got.json()["status"] == 1 and "limit" in got.json()["details"]
    assert client.get(SNAP, auth=ADMIN).json()["items"] == []


def test_delete_in_all_three_forms(client) -> None:
    for name in ("a.csv", "inbox/b.csv", "inbox/c.csv"):
        _upload(client, name.replace("/", "%2F"), b"x")
    gone = client.delete(f"{SNAP}/a.csv", auth=ADMIN)
    assert gone.json() == {"status": 0, "details": None, "links": [
        {"rel": "self", "href": f"{BASE}{SNAP}/a.csv", "action": "DELETE", "data": None}]}
    v2 = client.request("DELETE", "/interop/rest/v2/files/delete", auth=ADMIN,
                        json={"fileName": "inbox\\b.csv"})
    assert v2.json()["status"] == 0
    v3 = client.post("/interop/rest/v3/files/delete", auth=ADMIN,
                     json={"fileName": "inbox/c.csv"})
    assert v3.json()["status"] == 0
    assert client.get(SNAP, auth=ADMIN).json()["items"] == []
    again = client.delete(f"{SNAP}/a.csv", auth=ADMIN)
    assert again.status_code == 200 and again.json()["status"] == 1


@pytest.mark.parametrize("role", list(Role))
def test_file_transfer_needs_admin_or_the_migrations_grant(client, system: System,
                                                          role: Role) -> None:
    auth = (ROLE_USERS[role], PASSWORD)
    expected = 200 if role is Role.SERVICE_ADMINISTRATOR else 403
    assert client.get(SNAP, auth=auth).status_code == expected
    user = system.stores.users.get(ROLE_USERS[role])
    assert user is not None
    system.stores.users.set_grant(user.user_id, Grant.MIGRATIONS_ADMINISTER.value, True)
    system.authenticator.forget_all()
    assert client.get(SNAP, auth=auth).status_code == 200
    assert client.get(SNAP).status_code == 401


def test_export_job_console_round_trip(client, worker: Worker) -> None:
    for level in ("Administrators", "All Users"):
        client.post(JOBS, auth=ADMIN, json={"jobType": "ADMINISTRATION_MODE",
                                            "parameters": {"loginLevel": level}})
    client.post(JOBS, auth=ADMIN, json={"jobType": "ADMINISTRATION_MODE",
                                        "parameters": {"loginLevel": "Nobody"}})
    worker.drain()
    posted = client.post(JOBS, auth=ADMIN, json={
        "jobType": "Export Job Console", "jobName": "ExportWeeklyJobStatus",
        "parameters": {"fileName": "console.zip", "nDays": "7", "jobTypes": "ADMIN_MODE",
                       "jobStatusCodes": "all", "exportErrorDetails": "true"}})
    assert posted.status_code == 201, posted.text
    worker.drain()
    job = client.get(f"{JOBS}/{posted.json()['jobId']}", auth=ADMIN).json()
    assert job["status"] == 0, job
    assert job["details"] == "Exported 2 job console records to console.zip."
    assert "console.zip" in [i["name"] for i in client.get(SNAP, auth=ADMIN).json()["items"]]
    data = client.get(f"{SNAP}/console.zip/contents", auth=ADMIN)
    assert data.headers["fileExtension"] == "zip"
    with zipfile.ZipFile(io.BytesIO(data.content)) as zf:
        assert zf.namelist() == ["console.csv"]
        text = zf.read("console.csv").decode("utf-8")
    assert text.startswith('\ufeff"')
    lines = text[1:].splitlines()
    rows = list(csv.reader(lines[1:]))
    assert rows[0] == ["Job ID", "Job Name", "Job Type", "Status", "Run By", "Start Time",
                       "End Time", "Duration (s)", "Details"]
    assert [(r[0], r[2], r[3], r[4]) for r in rows[1:]] == [
        ("2", "ADMIN_MODE", "Completed", "admin"), ("1", "ADMIN_MODE", "Completed", "admin")]
    assert client.delete(f"{SNAP}/console.zip", auth=ADMIN).json()["status"] == 0
    assert client.get(SNAP, auth=ADMIN).json()["items"] == []


def test_export_job_console_validates_its_parameters(client) -> None:
    for params, text in [({"nDays": "3"}, "nDays"), ({"jobTypes": "NOPE"}, "jobTypes"),
                         ({"jobStatusCodes": "12"}, "jobStatusCodes"),
                         ({"fileName": "../x.zip"}, "file name")]:
        got = client.post(JOBS, auth=ADMIN, json={"jobType": "EXPORT_JOB_CONSOLE",
                                                  "parameters": params})
        assert got.status_code == 400
        assert got.json()["status"] == 4 and text in got.json()["details"]


def test_export_job_console_filters_by_status_and_days(client, worker: Worker,
                                                      system: System) -> None:
    client.post(JOBS, auth=ADMIN, json={"jobType": "ADMINISTRATION_MODE",
                                        "parameters": {"loginLevel": "All Users"}})
    worker.drain()
    with system.db.transaction() as conn:  # age the finished job by ten days
        conn.exec_driver_sql("UPDATE jobs SET submitted_at = submitted_at - 864000")
    client.post(JOBS, auth=ADMIN, json={
        "jobType": "EXPORT_JOB_CONSOLE",
        "parameters": {"fileName": "week", "jobTypes": "all", "excludeApplicationId": True}})
    worker.drain()
    got = client.get(f"{SNAP}/week.zip/contents", auth=ADMIN)
    with zipfile.ZipFile(io.BytesIO(got.content)) as zf:
        text = zf.read("week.csv").decode("utf-8")
    assert text.splitlines()[0] == "\ufeffJob ID,Job Name,Job Type,Status,Run By,Start Time," \
                                   "End Time,Duration (s)"
    assert len(text.splitlines()) == 1  # the old job is outside nDays=7


def test_a_name_with_a_newline_reaches_the_name_check(client) -> None:
    got = client.post(f"{SNAP}/a%0Ab.csv/contents", params={"q": "{isFirst:true,isLast:true}"},
                      content=b"x", auth=ADMIN)
    assert got.status_code == 200
    assert got.json()["status"] == 1 and "forbidden character" in got.json()["details"]
