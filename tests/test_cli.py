"""The `epmjobs` command line, through its entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from epmjobs import __version__
from epmjobs.cli import app
from epmjobs.security.authentication import Authenticator
from epmjobs.settings import Settings
from epmjobs.storage.migrate import head_revision
from epmjobs.system import System


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("EPMJOBS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EPMJOBS_ADMIN_PASSWORD", "first-pw")
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input)

    return invoke


def _basic(user: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _system(tmp_path: Path) -> System:
    return System(Settings(data_dir=tmp_path / "data"))


def test_version_prints_the_package_version(run) -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"epmjobs {__version__}"


def test_users_add_list_set_role_remove(run, tmp_path: Path) -> None:
    assert run("users", "add", "alice", "--role", "power_user", "--password", "pw1").exit_code == 0
    listed = run("users", "list", "--json")
    assert {"username": "alice", "role": "Power User"} in json.loads(listed.output)
    assert {"username": "admin", "role": "Service Administrator"} in json.loads(listed.output)
    assert run("users", "set-role", "alice", "viewer").exit_code == 0
    assert _system(tmp_path).stores.users.get("ALICE").role == "Viewer"
    assert run("users", "remove", "alice").exit_code == 0
    assert _system(tmp_path).stores.users.get("alice") is None


def test_users_add_prompts_for_the_password_and_hashes_it(
        run, tmp_path: Path) -> None:
    result = run("users", "add", "bob", input="s3cret\ns3cret\n")
    assert result.exit_code == 0, result.output
    system = _system(tmp_path)
    stored = system.stores.users.get("bob")
    assert stored is not None and stored.password_hash and "s3cret" not in stored.password_hash
    principal = Authenticator(system.stores.users, 0).authenticate(_basic("bob", "s3cret"))
    assert principal.username == "bob"


def test_user_errors_exit_non_zero_with_a_message(run) -> None:
    bad_role = run("users", "add", "carol", "--role", "emperor", "--password", "x")
    assert bad_role.exit_code == 1 and "Unknown role 'emperor'" in bad_role.output
    assert run("users", "add", "dave", "--password", "x").exit_code == 0
    duplicate = run("users", "add", "DAVE", "--password", "x")
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    missing = run("users", "remove", "nobody")
    assert missing.exit_code == 1 and "no user named nobody" in missing.output


def test_first_use_creates_admin_from_env_password(run, tmp_path: Path) -> None:
    assert run("users", "list").exit_code == 0
    principal = Authenticator(_system(tmp_path).stores.users, 0).authenticate(
        _basic("admin", "first-pw"))
    assert principal.is_admin


def test_issued_token_authenticates_its_user(run, tmp_path: Path) -> None:
    run("users", "add", "erin", "--password", "pw")
    result = run("tokens", "issue", "erin", "--days", "1")
    assert result.exit_code == 0
    token = result.output.strip()
    principal = Authenticator(_system(tmp_path).stores.users, 0).authenticate(f"Bearer {token}")
    assert principal.username == "erin"


def test_apps_export_create_delete_round_trip(run, tmp_path: Path) -> None:
    exported = run("apps", "export", "Vision")
    assert exported.exit_code == 0
    doc = json.loads(exported.output)
    assert doc["format"] == "epmjobs-application/1"
    assert [c["name"] for c in doc["cubes"]] == ["Plan1", "Plan2", "Plan3", "Vis1ASO"]
    doc["name"] = "Copy"
    path = tmp_path / "copy.json"
    path.write_text(json.dumps(doc))
    assert run("apps", "create", str(path)).exit_code == 0
    again = json.loads(run("apps", "export", "Copy").output)
    assert again == doc
    assert run("apps", "create", str(path)).exit_code == 1
    assert run("apps", "delete", "copy").exit_code == 0
    assert _system(tmp_path).stores.apps.get("Copy") is None


def test_apps_create_rejects_a_file_of_another_format(run, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"name": "X"}')
    result = run("apps", "create", str(path))
    assert result.exit_code == 1 and "is not an application file" in result.output


def test_jobdefs_put_and_list(run) -> None:
    put = run("jobdefs", "put", "Vision", "Cube Refresh", "Nightly", "refreshCube=true")
    assert put.exit_code == 0, put.output
    listed = run("jobdefs", "list", "Vision").output
    assert 'CUBE_REFRESH\tNightly\t{"refreshCube": "true"}' in listed
    bad = run("jobdefs", "put", "Vision", "NOPE", "X")
    assert bad.exit_code == 1 and "Invalid job type" in bad.output


def test_jobdefs_put_reads_a_rules_script_from_a_file(run, tmp_path: Path) -> None:
    script = tmp_path / "calc.csc"
    script.write_text('FIX ("Plan", "Working")\n  AGG ("Entity");\nENDFIX\n', encoding="utf-8")
    put = run("jobdefs", "put", "Vision", "RULES", "AggFromFile", "--plan-type", "Plan1",
              "--script-file", str(script))
    assert put.exit_code == 0, put.output
    listed = run("jobdefs", "list", "Vision").output
    assert 'RULES\tAggFromFile\t{"script": "FIX (\\"Plan\\"' in listed
    broken = tmp_path / "broken.csc"
    broken.write_text('"4010" = ;', encoding="utf-8")
    bad = run("jobdefs", "put", "Vision", "RULES", "Broken", "--plan-type", "Plan1",
              "--script-file", str(broken))
    assert bad.exit_code == 1 and "line 1, column" in bad.output
    missing = run("jobdefs", "put", "Vision", "RULES", "Gone", "--script-file",
                  str(tmp_path / "gone.csc"))
    assert missing.exit_code == 1 and "cannot read the script file" in missing.output


def test_migrate_reports_the_revision(run) -> None:
    result = run("migrate")
    assert result.exit_code == 0 and f"schema at revision {head_revision()}" in result.output
