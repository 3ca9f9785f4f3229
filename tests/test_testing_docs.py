"""The plugin as users meet it, and docs/testing.md kept honest.

Its Python examples run as a user's test files under the plugin (pytester, in a
subprocess: an in-process run drops the modules it imported, httpx's lazily imported
httpcore among them, and the next test's httpx then fails to map its errors); its shell
examples run with bash against the live fixture; its control API table names every
control operation of the OpenAPI document.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from epmjobs.api.app import openapi_document
from epmjobs.testing import LiveServer
from epmjobs.testing.plugin import configured_applications

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
TESTING_MD = ROOT / "docs" / "testing.md"
TEXT = TESTING_MD.read_text()
SANDBOX = {"format": "epmjobs-application/1", "name": "Sandbox", "appType": "PBCS",
           "cubes": [{"name": "Plan1", "kind": "BSO"}]}


def python_examples() -> dict[str, str]:
    """The ```python blocks that are files (their first line names them)."""
    found = {}
    for block in re.findall(r"```python\n(.*?)```", TEXT, flags=re.S):
        first = block.splitlines()[0]
        if first.startswith("# ") and first.endswith(".py"):
            found[first[2:]] = block
    return found


def shell_example(tag: str) -> str:
    match = re.search(rf"<!-- tested: {tag} -->\n```sh\n(.*?)```", TEXT, flags=re.S)
    assert match, f"docs/testing.md has no shell example tagged {tag}"
    return match.group(1)


def run_bash(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    bash = shutil.which("bash")
    assert bash and shutil.which("curl") and shutil.which("jq"), "the shell examples need " \
        "bash, curl and jq"
    return subprocess.run([bash, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


ISOLATION = """
ALL = {"loginLevel": "All Users"}


def test_1_sets_everything_up_and_uses_nothing(epmjobs_server):
    epmjobs_server.control.script(1, "leaked", times=5)
    epmjobs_server.control.progress("manual")
    epmjobs_server.control.maintenance(5)
    epmjobs_server.control.start_recording()  # and no job submitted: all of it unused


def test_2_sees_none_of_it(epmjobs_server):
    with epmjobs_server.client() as epm:
        result = epm.run_job("Vision", "ADMINISTRATION_MODE", parameters=ALL, timeout=30)
    assert result.ok and result.job_id == 1
    state = epmjobs_server.control.state()
    assert state["outcomes"] == state["faults"] == state["progression"] == []
    assert state["recorder"] == {"recording": False, "entries": 0}
"""


def test_the_python_examples_pass_under_the_plugin(pytester: pytest.Pytester) -> None:
    """The docs' examples as a user's test files, with the conftest example adding a
    definition file, and a test that scripts everything the next test must not see."""
    examples = python_examples()
    assert set(examples) == {"test_poller.py", "test_nightly.py", "test_rest_flow.py",
                             "conftest.py"}
    pytester.makepyfile(**{name[:-3]: code for name, code in examples.items()})
    (pytester.path / "apps").mkdir()
    (pytester.path / "apps" / "sandbox.json").write_text(json.dumps(SANDBOX))
    pytester.makepyfile(test_apps="""
        def test_the_conftest_example_adds_a_definition_file(epmjobs_client):
            assert [a.name for a in epmjobs_client.applications()] == ["Sandbox", "Vision"]
    """, test_isolation=ISOLATION)
    pytester.runpytest_subprocess("-p", "no:xdist").assert_outcomes(passed=12)


def test_the_ini_option_names_the_applications(pytester: pytest.Pytester) -> None:
    (pytester.path / "apps").mkdir()
    (pytester.path / "apps" / "sandbox.json").write_text(json.dumps(SANDBOX))
    pytester.makeini("[pytest]\nepmjobs_applications =\n    apps/sandbox.json\n    Vision\n")
    config = pytester.parseconfigure()
    assert configured_applications(config) == (pytester.path / "apps" / "sandbox.json", "Vision")


def test_the_live_fixture_forgets_what_the_last_test_did(
        epmjobs_live_server: LiveServer) -> None:
    """What the fixture does between two tests: ``fresh()``, the first state again."""
    server = epmjobs_live_server
    server.control.script(1, "leaked", times=5)
    server.control.progress("manual")
    server.control.maintenance(5)
    server.control.start_recording()
    with server.http() as http:
        http.post("/interop/rest/11.1.2.3.600/applicationsnapshots/left.csv/contents",
                  content=b"x", params={"q": '{"isFirst":true,"isLast":true}'})
    server.fresh()
    with server.client() as epm:
        result = epm.run_job("Vision", "ADMINISTRATION_MODE",
                             parameters={"loginLevel": "All Users"}, timeout=30)
        assert result.ok and result.job_id == 1
        assert epm.list_files() == []
    state = server.control.state()
    assert state["outcomes"] == state["faults"] == state["progression"] == []
    assert state["recorder"] == {"recording": False, "entries": 0}


def test_the_curl_example_runs_against_the_live_fixture(
        epmjobs_live_server: LiveServer) -> None:
    server = epmjobs_live_server
    done = run_bash(shell_example("curl"), {"EPM_URL": server.url, "EPM_USER": server.auth[0],
                                            "EPM_PASSWORD": server.auth[1]})
    assert done.returncode == 0, done.stderr
    expected = re.search(r"prints\n\n```text\n(.*?)```", TEXT, flags=re.S)
    assert expected is not None
    assert done.stdout == expected.group(1)


def test_the_batch_example_stops_at_the_failed_job(epmjobs_live_server: LiveServer,
                                                   tmp_path: Path) -> None:
    server = epmjobs_live_server
    env = {"EPMJOBS_URL": server.url, "EPMJOBS_USER": server.auth[0],
           "EPMJOBS_PASSWORD": server.auth[1], "EPMJOBS_PROFILE": str(tmp_path / "profile"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = run_bash(shell_example("batch"), env)
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"Job 1 Completed \(status 0\) after [0-9.]+ s: .*\n"
                        r"Job 2 Completed \(status 0\) after [0-9.]+ s: .*\n"
                        r"batch exit code: 0\n", done.stdout), done.stdout
    server.control.script(1, "The outline is locked.", job_type="CUBE_REFRESH")
    done = run_bash(shell_example("batch"), env)
    assert re.fullmatch(r"Job 3 Error \(status 1\) after [0-9.]+ s: The outline is locked.\n"
                        r"batch exit code: 1\n", done.stdout), done.stdout


def test_the_control_table_names_every_control_operation() -> None:
    document = json.loads(openapi_document(control_api=True))
    section = TEXT[TEXT.index("## The control API"):TEXT.index("### Progression")]
    for path, item in document["paths"].items():
        if path.startswith("/epmjobs/v1/control"):
            short = path.removeprefix("/epmjobs/v1").replace("{job_id}", "{id}")
            for method in item:
                assert f"`{method.upper()} …{short}`" in section, (method, path)
