"""The client verbs of the `epmjobs` CLI, through its entry point (exit codes, --json).

The verbs reach the real app in process (``Wiring(transport=…)`` passed as the Click
context object) or a fake Oracle pod answering recorded shapes.
"""

# ruff: noqa: F811  (pytest fixtures imported from client_support are parameters here)

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from client_support import (  # noqa: F401  (app_transport: a fixture)
    BASE,
    NO_RETRY,
    ORACLE,
    AppTransport,
    Recorder,
    app_transport,
    job_json,
    need_files,
    reply,
)
from epmjobs.cli import app
from epmjobs.client.command import Wiring
from epmjobs.client.exitcodes import ExitCode
from epmjobs.client.profile import Profile, save

ADMIN_MODE = ["runJob", "ADMINISTRATION_MODE"]


class Cli:
    def __init__(self, tmp_path: Path, transport: httpx.BaseTransport) -> None:
        self.profile = tmp_path / "cfg" / "profile.json"
        self.transport = transport
        self.env = {"EPMJOBS_PROFILE": str(self.profile), "EPMJOBS_URL": None,
                    "EPMJOBS_USER": None, "EPMJOBS_PASSWORD": None, "EPMJOBS_TOKEN": None,
                    "EPMJOBS_APP": None, "COLUMNS": "100"}

    def __call__(self, *args: str, input: str | None = None,
                 env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(app, list(args), input=input, env={**self.env, **(env or {})},
                                  obj=Wiring(self.transport, NO_RETRY))

    def login(self, url: str = BASE, user: str = "admin", password: str = "adminpw") -> Result:
        result = self("login", url, user, "--password", password)
        assert result.exit_code == 0, result.output
        return result


@pytest.fixture
def cli(tmp_path: Path, app_transport: AppTransport) -> Cli:
    return Cli(tmp_path, app_transport)


def oracle_cli(tmp_path: Path, *replies: Any) -> tuple[Cli, Recorder]:
    recorder = Recorder(*replies)
    runner = Cli(tmp_path, recorder)
    save(Profile(ORACLE, "acme.jdoe", "secret", app="Vision"), runner.profile)
    return runner, recorder


# -- login / logout -----------------------------------------------------------------------

def test_login_saves_a_private_profile_with_the_only_application(cli: Cli) -> None:
    result = cli.login()
    assert "Logged in as admin at http://epm.test, application Vision." in result.stdout
    assert stat.S_IMODE(cli.profile.stat().st_mode) == 0o600
    assert stat.S_IMODE(cli.profile.parent.stat().st_mode) == 0o700
    assert json.loads(cli.profile.read_text()) == {
        "url": BASE, "user": "admin", "password": "adminpw", "app": "Vision",
        "api_version": "v3"}
    assert cli("logout").stdout.startswith("Logged out")
    assert not cli.profile.exists() and cli("logout").stdout.strip() == "Not logged in."


def test_login_asks_for_the_password_and_refuses_wrong_ones(cli: Cli) -> None:
    assert cli("login", BASE, "admin", input="adminpw\n").exit_code == 0
    cli.profile.unlink()
    wrong = cli("login", BASE, "admin", "--password", "nope")
    assert wrong.exit_code == ExitCode.ACCESS_DENIED == 9
    assert "error: Invalid credentials" in wrong.stderr and not cli.profile.exists()


def test_verbs_need_a_login_or_the_environment(cli: Cli) -> None:
    result = cli(*ADMIN_MODE, "loginLevel=All Users")
    assert result.exit_code == ExitCode.USAGE and "Not logged in" in result.stderr
    by_env = cli(*ADMIN_MODE, "loginLevel=All Users", env={
        "EPMJOBS_URL": BASE, "EPMJOBS_USER": "admin", "EPMJOBS_PASSWORD": "adminpw"})
    assert by_env.exit_code == 0, by_env.output


def test_a_profile_others_can_read_is_refused(cli: Cli) -> None:
    cli.login()
    os.chmod(cli.profile, 0o644)
    result = cli("listJobs")
    assert result.exit_code == ExitCode.USAGE and "chmod 600" in result.stderr


# -- running jobs ---------------------------------------------------------------------------

def test_run_job_waits_and_prints_the_outcome(cli: Cli) -> None:
    cli.login()
    result = cli(*ADMIN_MODE, "loginLevel=Administrators")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Job 1 Completed (status 0) after ")
    assert result.stdout.rstrip().endswith(": Application Vision login level set to "
                                           "Administrators.")
    assert "runJob job 1: Processing" in result.stderr  # plain progress lines off a TTY


def test_json_prints_oracles_record(cli: Cli) -> None:
    cli.login()
    result = cli(*ADMIN_MODE, "AppAdminJob", "loginLevel=All Users", "--json")
    record = json.loads(result.stdout)
    assert record["status"] == 0 and record["jobName"] == "AppAdminJob"
    assert record["links"][0]["rel"] == "self" and result.stderr == ""


def test_no_wait_returns_at_once(cli: Cli, app_transport: AppTransport) -> None:
    cli.login()
    app_transport.auto_run = False
    result = cli(*ADMIN_MODE, "loginLevel=All Users", "--no-wait", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["status"] == -1
    status = cli("getJobStatus", "1")
    assert status.stdout.strip() == "Job 1 Processing (status -1)"


def test_refusals_print_the_servers_message_with_exit_1(cli: Cli) -> None:
    cli.login()
    bad = cli(*ADMIN_MODE, "loginLevel=Nobody")
    assert bad.exit_code == ExitCode.FAILED
    assert bad.stderr.strip() == "error: Invalid value 'Nobody' for parameter loginLevel; " \
                                 "allowed values: Administrators, All Users."
    rule = cli("runBusinessRule", "Aggregate", "Scenario=Plan", "--json")
    assert rule.exit_code == ExitCode.FAILED
    assert json.loads(rule.stdout) == {"error": {
        "type": "JobRejected", "message": "A job with specified name and type was not found",
        "exitCode": 1, "httpStatus": 400}}
    assert "Traceback" not in rule.output


def test_timeout_exits_4_and_can_cancel(cli: Cli, app_transport: AppTransport) -> None:
    cli.login()
    app_transport.auto_run = False
    kept = cli(*ADMIN_MODE, "loginLevel=All Users", "--timeout", "0.2")
    assert kept.exit_code == ExitCode.TIMEOUT and "keeps running" in kept.stderr
    gone = cli(*ADMIN_MODE, "loginLevel=All Users", "--timeout", "0.2", "--cancel-on-timeout",
               "--json")
    assert gone.exit_code == ExitCode.TIMEOUT
    error = json.loads(gone.stdout)["error"]
    assert error["type"] == "JobTimeout" and error["job"]["jobId"] == 2
    assert json.loads(cli("getJobStatus", "2", "--json").stdout)["status"] == 3


def test_get_job_status_list_jobs_and_cancel_job(cli: Cli, app_transport: AppTransport) -> None:
    cli.login()
    assert cli(*ADMIN_MODE, "loginLevel=All Users").exit_code == 0
    app_transport.auto_run = False
    assert cli(*ADMIN_MODE, "loginLevel=All Users", "--no-wait").exit_code == 0
    listed = cli("listJobs").stdout.splitlines()
    assert [line.split("\t")[:3] for line in listed] == [
        ["2", "Processing", "ADMINISTRATION_MODE"], ["1", "Completed", "ADMINISTRATION_MODE"]]
    assert [j["jobId"] for j in json.loads(cli("listJobs", "--status", "0", "--json").stdout)] \
        == [1]
    assert cli("cancelJob", "2").stdout.startswith("Job 2 Cancelled (status 3)")
    app_transport.auto_run = True
    waited = cli("getJobStatus", "2", "--wait")
    assert waited.exit_code == ExitCode.CANCELLED
    missing = cli("getJobStatus", "99")
    assert missing.exit_code == ExitCode.NOT_FOUND == 6
    assert missing.stderr.strip() == "error: The job 99 does not exist."


def test_usage_errors_exit_7(cli: Cli) -> None:
    cli.login()
    assert cli("runBusinessRule").exit_code == ExitCode.USAGE == 7
    not_a_pair = cli("runBusinessRule", "Aggregate", "oops")
    assert not_a_pair.exit_code == 7 and "Expected NAME=VALUE, got 'oops'" in not_a_pair.stderr
    bad_json = cli("runPlanTypeMap", "Map", "overrideMembersMap:={nope")
    assert bad_json.exit_code == 7 and "must be JSON" in bad_json.stderr
    assert cli("getJobStatus", "seven").exit_code == 7
    assert cli("listJobs", "--limit", "0").exit_code == 7


def test_verbs_also_answer_in_lower_case(cli: Cli) -> None:
    cli.login()
    assert cli("runjob", "ADMINISTRATION_MODE", "loginLevel=All Users").exit_code == 0
    assert cli("getjobstatus", "1").exit_code == 0


# -- what each verb sends (a fake Oracle pod) --------------------------------------------------

@pytest.mark.parametrize(("args", "body"), [
    (["runBusinessRule", "Aggregate", "Scenario=Plan", "Version=Working"],
     {"jobType": "RULES", "jobName": "Aggregate",
      "parameters": {"Scenario": "Plan", "Version": "Working"}}),
    (["runRuleSet", "Calculate Plan"], {"jobType": "RULESET", "jobName": "Calculate Plan"}),
    (["importMetadata", "ImportAll", "meta.zip", "errorFile=err.zip"],
     {"jobType": "IMPORT_METADATA", "jobName": "ImportAll",
      "parameters": {"importZipFileName": "meta.zip", "errorFile": "err.zip"}}),
    (["exportMetadata", "ExportAll", "exportZipFileName=out.zip"],
     {"jobType": "EXPORT_METADATA", "jobName": "ExportAll",
      "parameters": {"exportZipFileName": "out.zip"}}),
    (["importData", "LoadPlan", "data.csv"], {"jobType": "IMPORT_DATA", "jobName": "LoadPlan",
                                             "parameters": {"importFileName": "data.csv"}}),
    (["exportData", "ExportPlan", "plan.zip"], {"jobType": "EXPORT_DATA", "jobName": "ExportPlan",
                                               "parameters": {"exportFileName": "plan.zip"}}),
    (["refreshCube"], {"jobType": "CUBE_REFRESH"}),
    (["refreshCube", "RefreshDB"], {"jobType": "CUBE_REFRESH", "jobName": "RefreshDB"}),
    (["clearCube", "ClearPlan1"], {"jobType": "CLEAR_CUBE", "jobName": "ClearPlan1"}),
    (["runPlanTypeMap", "Map", "clearData:=false", 'overrideMembersMap:={"Period":"Jan"}'],
     {"jobType": "PLAN_TYPE_MAP", "jobName": "Map",
      "parameters": {"clearData": False, "overrideMembersMap": {"Period": "Jan"}}}),
    (["runJob", "Administration Mode", "loginLevel=Administrators"],
     {"jobType": "Administration Mode", "parameters": {"loginLevel": "Administrators"}}),
    (["runJob", "IMPORT_EXCHANGE_RATES", "Rates", "importFileName=rates.csv"],
     {"jobType": "IMPORT_EXCHANGE_RATES", "jobName": "Rates",
      "parameters": {"importFileName": "rates.csv"}}),
])
def test_each_verb_sends_what_epm_automate_sends(tmp_path: Path, args: list[str],
                                                  body: dict[str, Any]) -> None:
    runner, rec = oracle_cli(tmp_path, reply(201, job_json(95, -1, "Processing")),
                             reply(200, job_json(95, 0, "Completed", "Done.")))
    result = runner(*args)
    assert result.exit_code == 0, result.output
    assert rec.bodies()[0] == body
    assert rec.requests[0].url == f"{ORACLE}/HyperionPlanning/rest/v3/applications/Vision/jobs"
    assert rec.requests[0].headers["authorization"].startswith("Basic ")


@pytest.mark.parametrize(("answer", "code", "text"), [
    (httpx.Response(200, text="<html>Sign in</html>", headers={"content-type": "text/html"}),
     ExitCode.NOT_FOUND, "not JSON"),
    (httpx.Response(404, text="<html>nope</html>"), ExitCode.NOT_FOUND, "Not found"),
    (reply(403, {"detail": "No access.", "status": 403}), ExitCode.ACCESS_DENIED, "No access."),
    (reply(500, {"detail": "Internal server error.", "status": 500}), ExitCode.SERVER_ERROR,
     "Internal server error."),
    (reply(503, {"detail": "Maintenance.", "status": 503}), ExitCode.NOT_FOUND, "Maintenance."),
])
def test_bad_answers_get_their_exit_codes(tmp_path: Path, answer: httpx.Response, code: int,
                                          text: str) -> None:
    runner, _ = oracle_cli(tmp_path, answer)
    result = runner("runBusinessRule", "Aggregate")
    assert result.exit_code == code and text in result.stderr
    assert "Traceback" not in result.output


def test_an_unreachable_server_exits_5(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connection refused
        runner = Cli(tmp_path, httpx.HTTPTransport())
        save(Profile(f"http://127.0.0.1:{port}", "admin", "pw", app="Vision"), runner.profile)
        result = runner("getJobStatus", "1")
    assert result.exit_code == ExitCode.UNREACHABLE == 5
    assert "could not be reached" in result.stderr


def test_ctrl_c_without_a_terminal_leaves_the_job_running(tmp_path: Path) -> None:
    runner, rec = oracle_cli(tmp_path, reply(201, job_json(5, -1, "Processing")),
                             KeyboardInterrupt())
    result = runner("runBusinessRule", "Aggregate")
    assert result.exit_code == ExitCode.INTERRUPTED == 130
    assert "Job 5 keeps running; follow it with `epmjobs getJobStatus 5`" in result.stderr
    assert [r.method for r in rec.requests] == ["POST", "GET"]  # no cancel without asking


def test_several_applications_need_app(tmp_path: Path) -> None:
    runner, _ = oracle_cli(tmp_path, reply(200, {"items": [{"name": "A"}, {"name": "B"}]}))
    save(Profile(ORACLE, "jdoe", "pw"), runner.profile)
    result = runner("runBusinessRule", "Aggregate")
    assert result.exit_code == 7 and "--app (the server has: A, B)" in result.stderr


# -- files -------------------------------------------------------------------------------------

def test_file_verbs(cli: Cli, app_transport: AppTransport, tmp_path: Path) -> None:
    need_files(app_transport)
    cli.login()
    source = tmp_path / "data.csv"
    source.write_text("Account,Value\nSales,1\n")
    up = cli("uploadFile", str(source), "inbox")
    assert up.exit_code == 0 and "as inbox/data.csv (22 bytes)" in up.stdout
    assert cli("uploadFile", str(source), "inbox").exit_code == ExitCode.FAILED
    assert cli("listFiles").stdout.splitlines() == ["inbox/data.csv"]
    assert json.loads(cli("listFiles", "--json").stdout)[0]["size"] == 22
    down = cli("downloadFile", "inbox/data.csv", "--to", str(tmp_path / "back.csv"))
    assert down.exit_code == 0 and (tmp_path / "back.csv").read_text() == source.read_text()
    assert cli("deleteFile", "inbox/data.csv").stdout.strip() == "Deleted inbox/data.csv."
    missing = cli("downloadFile", "inbox/data.csv", "--to", str(tmp_path))
    assert missing.exit_code == ExitCode.FAILED and "Invalid file" in missing.stderr
    assert cli("uploadFile", str(tmp_path / "nope.csv")).exit_code == ExitCode.USAGE


def test_export_the_job_console_and_download_it(cli: Cli, tmp_path: Path) -> None:
    cli.login()
    run = cli("runJob", "Export Job Console", "fileName=console.zip", "jobTypes=all")
    assert run.exit_code == 0, run.output
    assert "Completed (status 0)" in run.stdout
    down = cli("downloadFile", "console.zip", "--to", str(tmp_path), "--json")
    assert json.loads(down.stdout)["path"] == str(tmp_path / "console.zip")
    assert (tmp_path / "console.zip").read_bytes()[:2] == b"PK"
