"""epmjobs.client against recorded Oracle-shaped answers (httpx.MockTransport).

The answers are the shapes in the reference (oracle-jobs-api.md §1-3, §6): live-pod
captures where it has them. These pin what the client sends (the jobType, jobName and
parameters EPM Automate would send) and how it reads what comes back, including Oracle's
awkward cases: status 2 is not final, ``details`` may be null or end in newlines, errors
come as ``detail`` or ``details``, proxies answer HTML, file errors come over HTTP 200.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from client_support import ORACLE, job_json, oracle_client, reply
from epmjobs.client import (
    AccessDenied,
    AuthenticationFailed,
    BadRequest,
    BearerToken,
    ConnectionFailed,
    EpmClient,
    ExtensionUnavailable,
    FileOperationFailed,
    JobCancelled,
    JobFailed,
    JobRejected,
    JobSpec,
    JobTimeout,
    NotFound,
    PollPolicy,
    RetryPolicy,
    ServerError,
    ServiceUnavailable,
    Status,
    UnexpectedResponse,
    basic_auth,
    run_parallel,
)

JOBS = f"{ORACLE}/HyperionPlanning/rest/v3/applications/Vision/jobs"
SNAP = f"{ORACLE}/interop/rest/11.1.2.3.600/applicationsnapshots"


# -- connection, versions, applications --------------------------------------------------

def test_versions_are_discovered_and_the_latest_is_used() -> None:
    versions = {"items": [
        {"version": "v1", "lifecycle": "deprecated", "isLatest": False, "links": []},
        {"version": "v3", "lifecycle": "active", "isLatest": True, "links": []}]}
    apps = {"items": None, "type": "HP", "links": []}
    client, rec, _ = oracle_client(reply(200, versions), reply(200, apps), api_version=None)
    assert client.applications() == []  # Oracle may send "items": null
    assert client.api_version == "v3"
    assert [str(r.url) for r in rec.requests] == [
        f"{ORACLE}/HyperionPlanning/rest/", f"{ORACLE}/HyperionPlanning/rest/v3/applications"]


def test_the_live_fccs_application_list_is_read() -> None:
    capture = {"links": [{"href": f"{ORACLE}:443/HyperionPlanning/rest/v3/applications/",
                          "action": "GET", "rel": "self"}],
               "items": [{"name": "Consol", "type": "HP", "dpEnabled": False, "unicode": True,
                          "appStorage": "Multidim", "appType": "FCCS",
                          "webBotDetails": "{\"channelId\":\"\",\"serviceUri\":\"\"}",
                          "workpaceServerUrl": f"{ORACLE}:443", "theme": "REDWOOD_ORACLE_R13",
                          "adminMode": False, "hybrid": True}], "type": "HP"}
    client, _, _ = oracle_client(reply(200, capture))
    [app] = client.applications()
    assert (app.name, app.app_type, app.admin_mode) == ("Consol", "FCCS", False)
    assert app.raw["workpaceServerUrl"].endswith(":443")


def test_base_url_drops_the_ui_context_and_names_are_encoded() -> None:
    client, rec, _ = oracle_client(reply(200, {"items": []}))
    client = EpmClient(f"{ORACLE}/epmcloud/", ("u", "p"), transport=rec)
    client.job_definitions("My App", job_type="RULES")
    url = rec.requests[0].url
    assert url.raw_path.startswith(b"/HyperionPlanning/rest/v3/applications/My%20App/jobdef")
    assert json.loads(url.params["q"]) == {"jobType": "RULES"}


def test_basic_auth_with_identity_domain_and_bearer_tokens_are_sent() -> None:
    _, rec, _ = oracle_client(reply(200, {"version": "v3"}), reply(200, {"version": "v3"}))
    EpmClient(ORACLE, basic_auth("jdoe", "pw", identity_domain="acme"), transport=rec).ping()
    EpmClient(ORACLE, BearerToken("tok-1"), transport=rec).ping()
    assert rec.requests[0].headers["authorization"] == "Basic YWNtZS5qZG9lOnB3"
    assert rec.requests[1].headers["authorization"] == "Bearer tok-1"


def test_job_definitions_documented_example() -> None:
    example = {"items": [
        {"jobType": "RULESET", "jobName": "Financial Statements - Forecast", "links": None},
        {"jobType": "RULES", "jobName": "Aggregate", "planTypeName": "Plan1", "links": None}]}
    client, _, _ = oracle_client(reply(200, example))
    defs = client.job_definitions("Vision")
    assert [(d.job_type, d.job_name, d.plan_type) for d in defs] == [
        ("RULESET", "Financial Statements - Forecast", None), ("RULES", "Aggregate", "Plan1")]


# -- jobs ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("job_type", "name", "params"), [
    ("RULES", "Operating Expense Adj Plan", {"MyScenario1": "Current", "ToEntity": "CA",
                                             "planType": "Plan1"}),
    ("RULESET", "Calculate Plan Operating Expenses", None),
    ("IMPORT_METADATA", "Import Account Metadata", {"importZipFileName": "meta.zip",
                                                    "errorFile": "err.zip"}),
    ("EXPORT_METADATA", "Export Metadata", {"exportZipFileName": "dailyMetaData.zip"}),
    ("IMPORT_DATA", "Load Plan", {"importFileName": "data.csv"}),
    ("EXPORT_DATA", "Export Plan", {"exportFileName": "DataExport_All.zip"}),
    ("CUBE_REFRESH", "RefreshDB", {"allowedUsersAfterCubeRefresh": "All Users"}),
    ("CLEAR_CUBE", "ClearPlan1", {"members": "ILvl0Descendants(Exchange Rates)"}),
    ("PLAN_TYPE_MAP", "Product_Revenue_to_Reporting",
     {"clearData": False, "overrideMembersMap": {"Period": "Jan,Feb"}}),
])
def test_run_job_sends_epm_automate_bodies_and_waits_through_status_2(
        job_type: str, name: str, params: dict[str, object] | None) -> None:
    client, rec, sleeps = oracle_client(
        reply(201, job_json(95, -1, "Processing", name=name)),
        reply(200, job_json(95, -1, "Processing", name=name)),
        reply(200, job_json(95, 2, "Cancel Pending", name=name)),
        reply(200, job_json(95, 0, "Completed", "Metadata import was successful\n", name)))
    result = client.run_job("Vision", job_type, name, params)
    expected = {"jobType": job_type, "jobName": name}
    if params:
        expected["parameters"] = params
    assert rec.bodies()[0] == expected
    assert rec.requests[0].headers["content-type"] == "application/json"
    assert [r.method for r in rec.requests] == ["POST", "GET", "GET", "GET"]
    assert all(str(r.url) == f"{JOBS}/95" for r in rec.requests[1:])  # the self link
    assert (result.job_id, result.status, result.ok) == (95, 0, True)
    assert result.details == "Metadata import was successful"  # trailing newline trimmed
    assert sleeps == pytest.approx([0.25, 0.4, 0.64])


def test_poll_policy_grows_and_is_capped() -> None:
    delays = PollPolicy(first=1, factor=2, cap=5).delays()
    assert [next(delays) for _ in range(5)] == [1, 2, 4, 5, 5]


@pytest.mark.parametrize(("status", "label", "error"), [
    (1, "Error", JobFailed), (4, "Invalid Parameter", JobFailed),
    (2147483647, "Unknown", JobFailed), (3, "Cancelled", JobCancelled)])
def test_a_failed_job_is_returned_and_raise_for_status_raises(
        status: int, label: str, error: type[Exception]) -> None:
    client, _, _ = oracle_client(reply(201, job_json(7, -1, "Processing")),
                                 reply(200, job_json(7, status, label, None)))
    result = client.run_job("Vision", "RULES", "Aggregate")
    assert not result.ok and not result.running and result.details is None
    with pytest.raises(error) as raised:
        result.raise_for_status()
    assert raised.value.job is result  # type: ignore[attr-defined]


def test_a_refused_submission_is_job_rejected_with_oracles_details() -> None:
    body = {"descriptiveStatus": "Error", "jobId": -1, "status": 1,
            "details": "A job with specified name and type was not found", "jobName": None,
            "links": None}
    client, _, _ = oracle_client(reply(400, body))
    with pytest.raises(JobRejected) as raised:
        client.submit("Vision", "IMPORT_METADATA", "Nope")
    assert raised.value.message == "A job with specified name and type was not found"
    assert (raised.value.status_code, raised.value.job_status) == (400, 1)


def test_planning_error_bodies_give_their_detail() -> None:
    body = {"detail": "The dimension Time is invalid.", "status": 400,
            "message": "com.hyperion.planning.InvalidDimensionException: ..."}
    client, _, _ = oracle_client(reply(400, body))
    with pytest.raises(BadRequest, match=r"^The dimension Time is invalid\.$"):
        client.job_status("Vision", 3)


@pytest.mark.parametrize(("code", "error"), [
    (401, AuthenticationFailed), (403, AccessDenied), (404, NotFound), (500, ServerError),
    (502, ServiceUnavailable), (418, ServerError)])
def test_html_error_pages_map_by_status_with_a_readable_message(
        code: int, error: type[Exception]) -> None:
    page = httpx.Response(code, text="<html><body><h1>Edge says no</h1></body></html>",
                          headers={"content-type": "text/html"})
    client, _, _ = oracle_client(page, retry=RetryPolicy(retries=0))
    with pytest.raises(error) as raised:
        client.applications()
    assert "Edge says no" in str(raised.value) and "<" not in str(raised.value)[:1]


def test_a_proxy_answering_html_with_200_is_unexpected_response() -> None:
    page = httpx.Response(200, text="<html>Sign in</html>", headers={"content-type": "text/html"})
    client, _, _ = oracle_client(page)
    with pytest.raises(UnexpectedResponse, match=r"not JSON.*is the URL right"):
        client.applications()


def test_a_redirect_to_a_login_page_is_explained() -> None:
    client, _, _ = oracle_client(httpx.Response(302, headers={"location": "/epmcloud/login"}))
    with pytest.raises(UnexpectedResponse, match=r"redirected.*/epmcloud/login"):
        client.ping()


def test_a_job_record_without_a_status_is_unexpected() -> None:
    client, _, _ = oracle_client(reply(200, {"jobId": 3}))
    with pytest.raises(UnexpectedResponse, match="integer 'status'"):
        client.job_status("Vision", 3)


# -- retries --------------------------------------------------------------------------------

def test_503_is_retried_honouring_retry_after_then_gives_up() -> None:
    busy = reply(503, {"detail": "Maintenance", "status": 503}, **{"Retry-After": "7"})
    client, rec, sleeps = oracle_client(busy, busy, reply(200, {"items": []}))
    assert client.applications() == []
    assert sleeps == [7.0, 7.0] and len(rec.requests) == 3
    client, _, sleeps = oracle_client(busy, busy, retry=RetryPolicy(retries=1))
    with pytest.raises(ServiceUnavailable, match="Maintenance"):
        client.applications()
    assert sleeps == [7.0]


def test_connection_errors_are_retried_with_capped_backoff() -> None:
    refused = httpx.ConnectError("refused")
    client, _, sleeps = oracle_client(refused, refused, refused, refused, refused)
    with pytest.raises(ConnectionFailed, match="could not be reached"):
        client.applications()
    assert len(sleeps) == 4
    for attempt, slept in enumerate(sleeps):
        assert 0.25 * 2 ** attempt <= slept <= 0.5 * 2 ** attempt


def test_a_post_is_retried_only_when_it_cannot_have_been_accepted() -> None:
    client, rec, _ = oracle_client(httpx.ConnectError("refused"),
                                   reply(503, {"detail": "busy", "status": 503}),
                                   reply(201, job_json(9, -1, "Processing")))
    assert client.submit("Vision", "RULES", "Aggregate").job_id == 9
    assert len(rec.requests) == 3
    client, rec, _ = oracle_client(httpx.ReadTimeout("slow"))
    with pytest.raises(ConnectionFailed, match=r"may have been carried out.*not repeated"):
        client.submit("Vision", "RULES", "Aggregate")
    assert len(rec.requests) == 1


def test_a_get_is_retried_after_a_read_timeout() -> None:
    client, _, _ = oracle_client(httpx.ReadTimeout("slow"), reply(200, job_json(5, 0, "Completed")))
    assert client.job_status("Vision", 5).ok


# -- waiting, timeouts, cancel -----------------------------------------------------------

class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_wait_times_out_and_says_oracle_cannot_cancel() -> None:
    clock = FakeClock()
    running = reply(200, job_json(11, -1, "Processing"))
    no_extension = httpx.Response(404, text="<html>Not Found</html>")
    client, rec, _ = oracle_client(
        reply(201, job_json(11, -1, "Processing")), *[running] * 4, no_extension,
        no_extension, clock=clock, poll=PollPolicy(first=1, factor=2, cap=4))
    client.sleep = clock.sleep
    with pytest.raises(JobTimeout) as raised:
        client.run_job("Vision", "RULES", "Slow", timeout=10, cancel_on_timeout=True)
    assert "did not end within 10 s" in raised.value.message
    assert "cannot cancel" in raised.value.message and not raised.value.cancelled
    assert raised.value.job.status == Status.PROCESSING
    assert clock.now == 10  # slept 1, 2, 4, then the 3 s left
    assert rec.requests[-2].url.path == "/epmjobs/v1/jobs/11/cancel"
    assert rec.requests[-1].url.path == "/epmjobs/v1/jobs"


def test_cancel_against_oracle_is_a_clear_extension_error() -> None:
    missing = httpx.Response(404, text="<html>Not Found</html>")
    client, _, _ = oracle_client(reply(201, job_json(12, -1, "Processing")), missing, missing)
    handle = client.submit("Vision", "RULES", "Aggregate")
    with pytest.raises(ExtensionUnavailable, match=r"epmjobs extension.*Oracle's REST API"):
        handle.cancel()


# -- details paging ---------------------------------------------------------------------

def test_job_details_follow_next_links_and_filter_by_message_type() -> None:
    first = {"items": [{"dimensionName": "Account", "loadType": "IMPORT", "recordsRead": 120,
                        "recordsProcessed": 118, "recordsRejected": 2, "childJobId": 8}],
             "hasMore": True,
             "links": [{"rel": "next", "href": f"{JOBS}/224/details?offset=1&limit=1"}]}
    second = {"items": [{"msgType": "ERROR", "msgCategory": "Load", "msgText": "Bad member",
                         "recordNumber": 3}], "hasMore": False, "links": []}
    client, rec, _ = oracle_client(reply(200, first), reply(200, second))
    items = list(client.job_details("Vision", 224, message_type="ERROR", page_size=1))
    assert (items[0].dimension_name, items[0].records_rejected, items[0].child_job_id) == \
        ("Account", 2, 8)
    assert (items[1].msg_type, items[1].msg_text, items[1].record_number) == \
        ("ERROR", "Bad member", 3)
    assert json.loads(rec.requests[0].url.params["q"]) == {"messageType": "ERROR"}
    assert str(rec.requests[1].url) == f"{JOBS}/224/details?offset=1&limit=1"


def test_job_details_page_by_offset_when_there_is_no_next_link() -> None:
    page = {"items": [{"msgText": "a"}, {"msgText": "b"}], "hasMore": True}
    client, rec, _ = oracle_client(reply(200, page), reply(200, {"items": [], "hasMore": False}))
    assert [d.msg_text for d in client.job_details("Vision", 1, page_size=2)] == ["a", "b"]
    assert rec.requests[1].url.params["offset"] == "2"


# -- files ------------------------------------------------------------------------------

def test_list_files_reads_oracles_string_sizes_and_lcm_nulls() -> None:
    body = {"status": 0, "details": None, "items": [
        {"name": "sample.csv", "type": "EXTERNAL", "size": "18",
         "lastmodifiedtime": "1422534438000"},
        {"name": "snapshot1", "type": "LCM", "size": None, "lastmodifiedtime": None}],
        "links": [{"data": None, "action": "GET", "href": SNAP, "rel": "self"}]}
    client, _, _ = oracle_client(reply(200, body))
    csv, snap = client.list_files()
    assert (csv.name, csv.type, csv.size, csv.modified.year) == ("sample.csv", "EXTERNAL", 18,
                                                                 2015)
    assert (snap.type, snap.size, snap.modified) == ("LCM", None, None)


def test_upload_sends_chunks_with_oracles_q_and_streams_from_disk(tmp_path: Path) -> None:
    source = tmp_path / "data.csv"
    source.write_bytes(b"0123456789" * 3)
    ok = reply(200, {"status": 0, "details": None, "links": []})
    client, rec, _ = oracle_client(ok, ok, ok, ok)
    assert client.upload(source, folder="inbox", chunk_size=8) == "inbox/data.csv"
    qs = [json.loads(r.url.params["q"]) for r in rec.requests]
    assert [(q["isFirst"], q["isLast"], q["chunkSize"]) for q in qs] == [
        (True, False, 8), (False, False, 8), (False, False, 8), (False, True, 6)]
    assert all(q["fileSize"] == 30 for q in qs)
    assert b"".join(r.content for r in rec.requests) == source.read_bytes()
    assert rec.requests[0].url.path == \
        "/interop/rest/11.1.2.3.600/applicationsnapshots/data.csv/contents"
    assert rec.requests[0].url.params["extDirPath"] == "inbox"
    assert rec.requests[0].headers["content-length"] == "8"
    assert rec.requests[0].headers["content-type"] == "application/octet-stream"


def test_an_empty_file_is_one_chunk_first_and_last(tmp_path: Path) -> None:
    (tmp_path / "e.txt").write_bytes(b"")
    client, rec, _ = oracle_client(reply(200, {"status": 0, "details": None}))
    client.upload(tmp_path / "e.txt")
    assert json.loads(rec.requests[0].url.params["q"]) == {
        "isFirst": True, "isLast": True, "chunkSize": 0, "fileSize": 0}


def test_a_refused_upload_raises_and_an_interrupted_one_is_deleted(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_bytes(b"abcdef")
    exists = reply(200, {"status": 1, "details": "File already exists"})
    client, rec, _ = oracle_client(exists)
    with pytest.raises(FileOperationFailed, match="File already exists"):
        client.upload(tmp_path / "x.csv", chunk_size=4)
    assert len(rec.requests) == 1  # nothing to clean: the first chunk was refused
    client, rec, _ = oracle_client(reply(200, {"status": 0}), KeyboardInterrupt(),
                                   reply(200, {"status": 0}))
    with pytest.raises(KeyboardInterrupt):
        client.upload(tmp_path / "x.csv", chunk_size=4)
    assert rec.requests[-1].method == "DELETE"
    assert rec.requests[-1].url.path.endswith("/applicationsnapshots/x.csv")


def test_download_streams_to_disk_and_adds_the_reported_extension(tmp_path: Path) -> None:
    payload = bytes(range(256)) * 100
    client, rec, _ = oracle_client(httpx.Response(
        200, content=payload, headers={"content-type": "application/octet-stream",
                                       "fileExtension": "zip"}))
    path = client.download("Vision snapshot", tmp_path)
    assert path == tmp_path / "Vision snapshot.zip" and path.read_bytes() == payload
    assert rec.requests[0].url.raw_path.endswith(b"/Vision%20snapshot/contents")
    assert [p.name for p in tmp_path.iterdir()] == ["Vision snapshot.zip"]


def test_a_missing_download_is_oracles_200_with_status_1(tmp_path: Path) -> None:
    body = {"details": "Invalid file : Vision.zip", "status": 1, "links": []}
    client, rec, _ = oracle_client(reply(200, body))
    with pytest.raises(FileOperationFailed, match=r"^Invalid file : Vision\.zip$"):
        client.download("outbox/Vision.zip", tmp_path)
    assert rec.requests[0].url.raw_path.endswith(b"/outbox%2FVision.zip/contents")
    assert list(tmp_path.iterdir()) == []


def test_a_truncated_download_leaves_no_file(tmp_path: Path) -> None:
    client, _, _ = oracle_client(httpx.Response(
        200, content=b"abc", headers={"content-type": "application/octet-stream",
                                      "content-length": "10"}))
    with pytest.raises((UnexpectedResponse, httpx.HTTPError)):
        client.download("x.bin", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_delete_file_raises_oracles_details() -> None:
    client, rec, _ = oracle_client(reply(200, {"status": 0, "details": None}),
                                   reply(200, {"status": 8, "details": "Resource not found"}))
    client.delete_file("inbox\\s112.csv")
    assert rec.requests[0].url.raw_path.endswith(b"/applicationsnapshots/inbox%5Cs112.csv")
    with pytest.raises(FileOperationFailed) as raised:
        client.delete_file("gone.csv")
    assert (raised.value.message, raised.value.status) == ("Resource not found", 8)


# -- parallel ---------------------------------------------------------------------------

def test_run_parallel_caps_concurrency_and_keeps_order() -> None:
    import threading

    lock, state = threading.Lock(), {"ids": 0, "polls": {}, "live": 0, "peak": 0}

    def answer(request: httpx.Request) -> httpx.Response:
        with lock:
            if request.method == "POST":
                state["ids"] += 1
                state["live"] += 1
                state["peak"] = max(state["peak"], state["live"])
                body = json.loads(request.content)
                job_id = state["ids"]
                state["polls"][job_id] = body["jobName"]
                return reply(201, job_json(job_id, -1, "Processing", name=body["jobName"]))
            job_id = int(request.url.path.rsplit("/", 1)[1])
            name = state["polls"][job_id]
            state["live"] -= 1
            if name == "bad":
                return reply(200, job_json(job_id, 1, "Error", "Boom", name=name))
            return reply(200, job_json(job_id, 0, "Completed", name=name))

    transport = httpx.MockTransport(answer)
    client = EpmClient(ORACLE, ("u", "p"), transport=transport,
                       poll=PollPolicy(first=0.001, cap=0.001))
    specs = [JobSpec("Vision", "RULES", name) for name in
             ["a", "b", "bad", "c", "d", "e", "f"]]
    outcomes = run_parallel(client, specs, max_concurrent=3)
    assert [o.spec.job_name for o in outcomes] == ["a", "b", "bad", "c", "d", "e", "f"]
    assert [o.ok for o in outcomes] == [True, True, False, True, True, True, True]
    assert outcomes[2].result is not None and outcomes[2].result.details == "Boom"
    assert state["peak"] <= 3


def test_run_parallel_collects_refusals_as_errors() -> None:
    refusal = reply(400, {"descriptiveStatus": "Error", "jobId": -1, "status": 1,
                          "details": "not found", "jobName": None, "links": None})
    client, _, _ = oracle_client(refusal)
    [outcome] = run_parallel(client, [JobSpec("Vision", "RULES", "x")], max_concurrent=1)
    assert isinstance(outcome.error, JobRejected) and not outcome.ok


# -- packaging -----------------------------------------------------------------------------

SERVER_EXTRAS = ("starlette", "sqlalchemy", "alembic", "granian", "uvicorn", "orjson",
                 "argon2", "psycopg", "typer", "rich", "click")


def test_the_client_imports_without_the_server_extras() -> None:
    script = f"""
import sys
BLOCKED = {SERVER_EXTRAS!r}
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
import epmjobs.client
from epmjobs.client import EpmClient, run_parallel
from epmjobs.client import exitcodes, profile
print(sorted({{m.split(".")[0] for m in sys.modules}} & set(BLOCKED)))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
