"""The request recorder through the plugin only: start, record, stop, download."""

from __future__ import annotations

import base64

import pytest

from epmjobs.testing import InProcessServer, LiveServer

ADMIN_MODE = "ADMINISTRATION_MODE"
ALL_USERS = {"loginLevel": "All Users"}
V3 = "/HyperionPlanning/rest/v3"
JOBS = f"{V3}/applications/Vision/jobs"
SNAPSHOTS = "/interop/rest/11.1.2.3.600/applicationsnapshots"
Server = InProcessServer | LiveServer


@pytest.fixture(params=["in-process", "live"])
def server(request: pytest.FixtureRequest) -> Server:
    name = "epmjobs_server" if request.param == "in-process" else "epmjobs_live_server"
    found: Server = request.getfixturevalue(name)
    return found


def test_a_recorded_session_holds_each_request_and_answer(server: Server) -> None:
    server.control.start_recording()
    with server.client() as epm:
        result = epm.run_job("Vision", ADMIN_MODE, parameters=ALL_USERS, timeout=30)
    entries = server.control.stop_recording()
    submit, *polls = entries
    assert (submit["request"]["method"], submit["request"]["path"]) == ("POST", JOBS)
    assert submit["request"]["json"] == {"jobType": ADMIN_MODE, "parameters": ALL_USERS}
    assert submit["request"]["headers"]["authorization"] == "Basic <redacted>"
    assert submit["response"]["status"] == 201
    assert submit["response"]["json"]["jobId"] == result.job_id
    assert submit["response"]["headers"]["content-type"] == "application/json"
    assert [p["request"]["path"] for p in polls] == [f"{JOBS}/{result.job_id}"] * len(polls)
    assert polls[-1]["response"]["json"]["status"] == 0
    assert all(e["startedAt"].endswith("Z") and e["elapsedMs"] >= 0 for e in entries)


def test_control_calls_are_not_recorded_and_stopping_stops(server: Server) -> None:
    server.control.start_recording()
    server.control.progress("immediate")
    with server.http() as http:
        http.get(V3, params={"x": "1"})
    server.control.stop_recording()
    with server.http() as http:
        http.get(V3)
    entries = server.control.recording()
    assert [(e["request"]["path"], e["request"]["query"]) for e in entries] == [(V3, "x=1")]
    assert "json" not in entries[0]["request"]  # a GET has no body


def test_fault_answers_and_file_bodies_are_recorded(server: Server) -> None:
    server.control.start_recording()
    server.control.maintenance(1)
    with server.http() as http:
        http.get(V3)
        http.post(f"{SNAPSHOTS}/bin.dat/contents", content=b"\xff\x00\xfe",
                  params={"q": '{"isFirst":true,"isLast":true}'},
                  headers={"Content-Type": "application/octet-stream"})
        http.post(f"{SNAPSHOTS}/text.csv/contents", content="é,b\n".encode(),
                  params={"q": '{"isFirst":true,"isLast":true}'},
                  headers={"Content-Type": "application/octet-stream"})
        http.get(f"{SNAPSHOTS}/text.csv/contents")
    maintenance, binary, text, download = server.control.recording()
    assert maintenance["response"]["status"] == 503
    assert maintenance["response"]["json"]["status"] == 503
    assert base64.b64decode(binary["request"]["base64"]) == b"\xff\x00\xfe"
    assert text["request"]["text"] == "é,b\n"
    assert download["response"]["text"] == "é,b\n"


def test_starting_again_begins_a_new_recording(server: Server) -> None:
    server.control.start_recording()
    with server.http() as http:
        http.get(V3)
        server.control.start_recording()
        http.get(f"{V3}/applications")
    assert [e["request"]["path"] for e in server.control.recording()] == [
        f"{V3}/applications"]
    assert server.control.state()["recorder"] == {"recording": True, "entries": 1}


def test_the_downloaded_document_names_its_format(epmjobs_server: InProcessServer) -> None:
    epmjobs_server.control.start_recording()
    with epmjobs_server.http() as http:
        http.get("/openapi.json")
        document = http.get("/epmjobs/v1/control/recorder").json()
    assert (document["format"], document["recording"], document["dropped"]) == (
        "epmjobs-recording/1", True, 0)
    assert document["entries"][0]["response"]["json"]["openapi"].startswith("3.1")


def test_a_streamed_answer_is_kept_when_its_declared_length_is_sent() -> None:
    """A client is done at the last declared byte, before the closing empty message."""
    import asyncio

    from epmjobs.testing.faults import Faults
    from epmjobs.testing.middleware import ControlMiddleware
    from epmjobs.testing.recorder import Recorder

    recorder = Recorder()
    seen_before_close: list[int] = []

    async def streamed(scope: object, receive: object, send: object) -> None:
        await send({"type": "http.response.start", "status": 200,  # type: ignore[operator]
                    "headers": [(b"content-length", b"4")]})
        await send({"type": "http.response.body", "body": b"ab",  # type: ignore[operator]
                    "more_body": True})
        await send({"type": "http.response.body", "body": b"cd",  # type: ignore[operator]
                    "more_body": True})
        seen_before_close.append(recorder.count())
        await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: object) -> None:
        return None

    middleware = ControlMiddleware(streamed, Faults(), recorder, "/epmjobs/v1/control")
    recorder.start()
    scope = {"type": "http", "method": "GET", "path": "/f", "query_string": b"", "headers": []}
    asyncio.run(middleware(scope, receive, send))  # type: ignore[arg-type]
    assert seen_before_close == [1]
    [entry] = recorder.document()["entries"]
    assert entry["response"]["text"] == "abcd"
