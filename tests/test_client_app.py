"""epmjobs.client against the real ASGI app, in process (deterministic: no sleeps).

The client goes through httpx into Starlette's test transport; ``AppTransport`` runs
queued jobs before each GET (``auto_run``), or leaves them queued to test waiting.
"""

# ruff: noqa: F811  (pytest fixtures imported from client_support are parameters here)

from __future__ import annotations

import time
from pathlib import Path

import pytest

from client_support import (  # noqa: F401  (app_transport, epm: fixtures)
    BASE,
    FAST_POLL,
    NO_RETRY,
    AppTransport,
    app_transport,
    epm,
    need_files,
)
from conftest import PASSWORD, ROLE_USERS
from epmjobs.client import (
    AccessDenied,
    AuthenticationFailed,
    BearerToken,
    EpmClient,
    JobRejected,
    JobSpec,
    JobTimeout,
    NotFound,
    PollPolicy,
    Status,
    run_parallel,
)
from epmjobs.jobs.types import CATALOG, IMPLEMENTATIONS
from epmjobs.security.passwords import new_token, token_digest
from epmjobs.security.roles import Role
from epmjobs.system import System

ADMIN_MODE = "ADMINISTRATION_MODE"
UNSUPPORTED = [s.name for s in CATALOG if s.name not in IMPLEMENTATIONS]


def test_run_job_returns_the_final_record_and_the_effect_is_visible(epm: EpmClient) -> None:
    result = epm.run_job("Vision", ADMIN_MODE, parameters={"loginLevel": "Administrators"})
    assert result.ok and result.status == Status.COMPLETED
    assert result.descriptive_status == "Completed"
    assert result.details == "Application Vision login level set to Administrators."
    assert result.link("self") == f"{BASE}/HyperionPlanning/rest/v3/applications/Vision/jobs/" \
                                  f"{result.job_id}"
    assert epm.application("Vision").admin_mode is True
    assert [a.admin_mode for a in epm.applications() if a.name == "Vision"] == [True]


def test_submit_then_poll_follows_the_job_until_a_worker_runs_it(
        epm: EpmClient, app_transport: AppTransport) -> None:
    app_transport.auto_run = False
    handle = epm.submit("Vision", ADMIN_MODE, "Nightly lock",
                        {"loginLevel": "Administrators"})
    assert handle.last.status == Status.PROCESSING and handle.last.details is None
    assert handle.poll().running and not handle.done
    app_transport.worker.drain()
    assert handle.poll().ok and handle.done
    assert handle.last.job_name == "Nightly lock"


def test_wait_timeout_with_cancel_cancels_the_queued_job(
        epm: EpmClient, app_transport: AppTransport) -> None:
    app_transport.auto_run = False
    handle = epm.submit("Vision", ADMIN_MODE, parameters={"loginLevel": "All Users"})
    with pytest.raises(JobTimeout) as raised:
        handle.wait(0.05, cancel_on_timeout=True)
    assert raised.value.cancelled and "asked to cancel" in raised.value.message
    assert epm.job_status("Vision", handle.job_id).status == Status.CANCELLED


def test_cancel_and_the_extended_record(epm: EpmClient, app_transport: AppTransport) -> None:
    app_transport.auto_run = False
    before = time.time()
    handle = epm.submit("Vision", ADMIN_MODE, parameters={"loginLevel": "All Users"})
    cancelled = handle.cancel()
    assert cancelled.status == Status.CANCELLED and handle.done
    job = epm.extended_job(handle.job_id)
    assert (job.application, job.job_type, job.submitted_by) == ("Vision", ADMIN_MODE, "admin")
    assert job.parameters == {"loginLevel": "All Users"}
    assert job.submitted_at is not None and job.submitted_at.timestamp() >= before - 1
    assert job.started_at is None and job.ended_at is not None


def test_list_jobs_filters_newest_first(epm: EpmClient) -> None:
    first = epm.run_job("Vision", ADMIN_MODE, parameters={"loginLevel": "All Users"})
    second = epm.run_job("Vision", ADMIN_MODE, parameters={"loginLevel": "All Users"})
    jobs = epm.list_jobs(app="Vision", job_types=[ADMIN_MODE], statuses=[0], limit=10)
    assert [j.job_id for j in jobs] == [second.job_id, first.job_id]
    assert epm.list_jobs(statuses=[1]) == []
    assert len(epm.list_jobs(limit=1)) == 1


def test_a_parameter_refusal_is_job_rejected_with_status_4(epm: EpmClient) -> None:
    with pytest.raises(JobRejected) as raised:
        epm.submit("Vision", ADMIN_MODE, parameters={"loginLevel": "Nobody"})
    assert raised.value.job_status == Status.INVALID_PARAMETER
    assert "Invalid value 'Nobody' for parameter loginLevel" in raised.value.message


@pytest.mark.parametrize("job_type", UNSUPPORTED)
def test_types_the_server_does_not_run_yet_are_refused_with_its_400(
        epm: EpmClient, job_type: str) -> None:
    with pytest.raises(JobRejected) as raised:
        epm.run_job("Vision", job_type, "Some Job", {"k": "v"})
    assert raised.value.status_code == 400 and raised.value.job_status == 1
    assert raised.value.message == \
        f"The job type {job_type} is not supported by this epmjobs server yet."


def test_unknown_application_job_and_type_are_clear_errors(epm: EpmClient) -> None:
    with pytest.raises(NotFound):
        epm.application("Nope")
    with pytest.raises(NotFound, match="The job 999999 does not exist"):
        epm.job_status("Vision", 999999)
    with pytest.raises(JobRejected, match="Invalid job type: BOGUS"):
        epm.submit("Vision", "BOGUS", "x")


def test_credentials_and_roles(app_transport: AppTransport, system: System) -> None:
    with EpmClient(BASE, ("admin", "wrong"), transport=app_transport,
                   retry=NO_RETRY) as client, pytest.raises(AuthenticationFailed):
        client.ping()
    viewer = ROLE_USERS[Role.VIEWER]
    with EpmClient(BASE, (f"acme.{viewer}", PASSWORD), transport=app_transport,
                   retry=NO_RETRY) as client:
        assert client.ping().version == "v3"  # identitydomain.user is accepted
        with pytest.raises(AccessDenied):
            client.submit("Vision", ADMIN_MODE, parameters={"loginLevel": "All Users"})
    token = new_token()
    admin = system.stores.users.get("admin")
    assert admin is not None
    system.stores.users.add_token(admin.user_id, token_digest(token), "test", time.time(), None)
    with EpmClient(BASE, BearerToken(token), transport=app_transport) as client:
        assert client.run_job("Vision", ADMIN_MODE,
                              parameters={"loginLevel": "All Users"}).ok


def test_versions_discovery_and_details(epm: EpmClient, app_transport: AppTransport) -> None:
    with EpmClient(BASE, ("admin", "adminpw"), transport=app_transport,
                   api_version=None) as client:
        assert client.api_version == "v3"
        assert [v.version for v in client.api_versions() if v.is_latest] == ["v3"]
    result = epm.run_job("Vision", ADMIN_MODE, parameters={"loginLevel": "All Users"})
    details = list(epm.job_details("Vision", result.job_id, page_size=1))
    assert all(d.msg_text for d in details)
    assert epm.job_definitions("Vision", job_type="RULES") == [] or all(
        d.job_type == "RULES" for d in epm.job_definitions("Vision", job_type="RULES"))


def test_run_parallel_against_the_server(epm: EpmClient) -> None:
    specs = [JobSpec("Vision", ADMIN_MODE, f"run {i}", {"loginLevel": "All Users"})
             for i in range(5)] + [JobSpec("Vision", "RULES", "Aggregate")]
    outcomes = run_parallel(epm, specs, max_concurrent=3)
    assert [o.ok for o in outcomes] == [True] * 5 + [False]
    assert isinstance(outcomes[-1].error, JobRejected)
    assert len({o.result.job_id for o in outcomes[:5] if o.result}) == 5


def test_files_upload_list_download_delete(epm: EpmClient, app_transport: AppTransport,
                                           tmp_path: Path) -> None:
    need_files(app_transport)
    source = tmp_path / "plan data.csv"
    source.write_bytes(b"Account,Period,Value\n" + b"Sales,Jan,100\n" * 5000)
    seen: list[tuple[int, int]] = []
    name = epm.upload(source, folder="inbox", chunk_size=16 * 1024,
                      on_progress=lambda done, total: seen.append((done, total)))
    assert name == "inbox/plan data.csv"
    assert seen[-1] == (source.stat().st_size, source.stat().st_size) and len(seen) > 2
    listed = {f.name: f for f in epm.list_files()}
    assert listed[name].size == source.stat().st_size and listed[name].type == "EXTERNAL"
    out = epm.download(name, tmp_path / "copy.csv")
    assert out.read_bytes() == source.read_bytes()
    epm.delete_file(name)
    assert name not in {f.name for f in epm.list_files()}


def test_an_existing_file_is_refused_unless_overwrite(epm: EpmClient, app_transport: AppTransport,
                                                      tmp_path: Path) -> None:
    from epmjobs.client import FileOperationFailed

    need_files(app_transport)
    source = tmp_path / "x.csv"
    source.write_text("a\n")
    epm.upload(source)
    with pytest.raises(FileOperationFailed, match="already exists"):
        epm.upload(source)
    source.write_text("b\n")
    epm.upload(source, overwrite=True)
    assert epm.download("x.csv", tmp_path / "back.csv").read_text() == "b\n"
    with pytest.raises(FileOperationFailed, match="Invalid file"):
        epm.download("missing.csv", tmp_path)


def test_a_fast_poll_policy_is_used_by_wait(app_transport: AppTransport) -> None:
    app_transport.auto_run = False
    sleeps: list[float] = []
    client = EpmClient(BASE, ("admin", "adminpw"), transport=app_transport,
                       poll=PollPolicy(first=0.5, factor=2, cap=1), sleep=sleeps.append)
    handle = client.submit("Vision", ADMIN_MODE, parameters={"loginLevel": "All Users"})
    for _ in range(3):
        handle.poll()
    app_transport.auto_run = True
    assert handle.wait().ok and sleeps == [0.5]
    assert FAST_POLL.first < 0.1


def test_export_job_console_then_download_its_zip(epm: EpmClient, tmp_path: Path) -> None:
    import zipfile

    first = epm.run_job("Vision", ADMIN_MODE, parameters={"loginLevel": "All Users"})
    result = epm.run_job("Vision", "EXPORT_JOB_CONSOLE", "Weekly console",
                         {"fileName": "console.zip", "jobTypes": "all"})
    assert result.ok, result
    assert "console.zip" in {f.name for f in epm.list_files()}
    path = epm.download("console.zip", tmp_path)
    with zipfile.ZipFile(path) as archive:
        text = archive.read(archive.namelist()[0]).decode("utf-8-sig")
    assert str(first.job_id) in text and "Administration Mode" in text
