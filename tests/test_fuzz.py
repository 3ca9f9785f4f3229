"""Schemathesis against the ASGI app, in process, as the administrator.

The schema is the file the app serves at ``/openapi.json`` (a test checks they are the
same). Every documented operation is fuzzed from it: the document's examples, the coverage
phase's boundary values, then Hypothesis, with valid requests and with invalid ones. No
answer may be a 5xx, and every answer's status code, content type, headers and body must
be the documented ones. Deterministic (fixed seed, derandomized) and bounded: one
installation for the module, a dozen examples per operation.
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import CheckFunction
from schemathesis.python.asgi import shutdown_lifespans
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import ADMIN, add_role_users, make_settings
from epmjobs.api.app import OPENAPI_FILE, create_app
from epmjobs.bootstrap import bootstrap
from epmjobs.jobs.model import ChildJob, JobMessage, MessageType
from epmjobs.jobs.runner import Worker
from epmjobs.jobs.service import Submission
from epmjobs.jobs.status import JobStatus
from epmjobs.security.roles import Principal, Role
from epmjobs.system import System

AUTH = {"Authorization": "Basic " + base64.b64encode(":".join(ADMIN).encode()).decode()}


def _config(mode: str, max_examples: int) -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "seed": 20260131,
        "generation": {"mode": mode, "max-examples": max_examples, "deterministic": True,
                       "database": "none"},
        "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True},
                   "fuzzing": {"enabled": True}, "stateful": {"enabled": False}},
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
    })


def _checks() -> list[CheckFunction]:
    from schemathesis import checks

    return [checks.not_a_server_error, checks.status_code_conformance,
            checks.content_type_conformance, checks.response_headers_conformance,
            checks.response_schema_conformance]


def _seed_jobs(system: System) -> None:
    """Jobs 1-3 ended (1 with a child job), 4 queued: the ids the examples name exist."""
    admin = Principal(ADMIN[0], Role.SERVICE_ADMINISTRATOR)
    body = {"jobType": "ADMINISTRATION_MODE", "parameters": {"loginLevel": "All Users"}}
    for _ in range(3):
        system.job_service.submit(admin, "Vision", Submission.from_body(body))
    assert Worker(system, "fuzz-seed").drain() == 3
    with system.db.transaction() as conn:
        system.stores.jobs.add_children(conn, 1, [
            ChildJob(1, "Account", "IMPORT", JobStatus.SUCCESS, 3, 3, 0)])
        system.stores.jobs.add_messages(conn, 1, 1, [
            JobMessage(MessageType.ERROR, "Account", "Unknown parent X.", 2)])
    system.job_service.submit(admin, "Vision", Submission.from_body(body))


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Starlette]:
    """One installation for the whole run: the fuzzer's writes are part of the scenario.

    Waits are capped short, because nothing drains the queue while fuzzing.
    """
    data_dir = tmp_path_factory.mktemp("fuzz") / "data"
    system = System(make_settings(data_dir, wait_max_seconds=0.02))
    bootstrap(system)
    add_role_users(system)
    _seed_jobs(system)
    yield create_app(system)
    shutdown_lifespans()
    system.close()


@pytest.fixture
def calls(request: pytest.FixtureRequest) -> Iterator[Counter[str]]:
    """Counts cases per operation; an operation that ran none fails at teardown."""
    counter: Counter[str] = Counter()
    yield counter
    assert sum(counter.values()) > 0, f"{request.node.name} ran no case"


POSITIVE = schemathesis.openapi.from_path(OPENAPI_FILE, config=_config("positive", 12))
NEGATIVE = schemathesis.openapi.from_path(OPENAPI_FILE, config=_config("negative", 6))


def test_the_fuzzed_document_is_the_served_one(fuzz_app: Starlette) -> None:
    with TestClient(fuzz_app) as client:
        assert client.get("/openapi.json").json() == POSITIVE.raw_schema
    assert sum(1 for _ in POSITIVE.get_all_operations()) == sum(
        1 for item in POSITIVE.raw_schema["paths"].values() for key in item
        if key in ("get", "put", "post", "delete", "patch"))


def _routed(app: Starlette) -> set[tuple[str, str]]:
    return {(re.sub(r"{(\w+):\w+}", r"{\1}", route.path), method)
            for route in app.routes if isinstance(route, Route)
            for method in route.methods or ()}


def _call(case: Case, app: Starlette, calls: Counter[str]) -> None:
    calls[case.operation.label] += 1
    assert (case.operation.path, case.operation.method.upper()) in _routed(app), \
        f"{case.operation.label} is documented but create_app does not mount it"
    case.call_and_validate(app=app, headers=AUTH, checks=_checks())


@POSITIVE.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_valid_requests_get_documented_answers(case: Case, fuzz_app: Starlette,
                                               calls: Counter[str]) -> None:
    _call(case, fuzz_app, calls)


# The document itself, served without credentials, has nothing to make invalid.
@NEGATIVE.exclude(path="/openapi.json").parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_invalid_requests_get_documented_answers(case: Case, fuzz_app: Starlette,
                                                 calls: Counter[str]) -> None:
    _call(case, fuzz_app, calls)
