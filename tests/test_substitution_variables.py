"""Substitution variables: Oracle's REST resources for the application and per plan type
(shapes, derived values, create/update, delete, bad input, roles), the application file,
and rules reading them as &Name (a cube's own value winning over the application's)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conftest import ADMIN, PASSWORD, ROLE_USERS
from data_support import cube_cells
from epmjobs.api.app import create_app
from epmjobs.api.routes import variables
from epmjobs.appfile import create_application, export_application, put_definition
from epmjobs.errors import InvalidRequest
from epmjobs.jobs.runner import Worker
from epmjobs.security.roles import Role
from epmjobs.security.rule_access import launch_grant
from epmjobs.system import System
from metadata_support import BASE, jobs_path

ROOT = "/HyperionPlanning/rest/v3/applications/Vision"
APP_VARS = ROOT + "/substitutionvariables"
PLAN1_VARS = ROOT + "/plantypes/Plan1/substitutionvariables"
PETE = (ROLE_USERS[Role.POWER_USER], PASSWORD)
VICTOR = (ROLE_USERS[Role.VIEWER], PASSWORD)


@pytest.fixture
def vclient(system: System) -> Iterator[Any]:
    """A client of the app with the variable routes (added here until the app lists them)."""
    from starlette.testclient import TestClient

    app = create_app(system)
    paths = {getattr(r, "path", None) for r in app.router.routes}
    if variables.routes[0].path not in paths:
        app.router.routes[:0] = variables.routes
    with TestClient(app, base_url=BASE) as c:
        yield c


def items(*triples: tuple[str, str, str]) -> list[dict[str, str]]:
    return [{"name": n, "value": v, "planType": p} for n, v, p in triples]


def self_link(path: str) -> list[dict[str, str]]:
    return [{"rel": "self", "href": BASE + path, "action": "GET"}]


# -- reading --------------------------------------------------------------------------------

def test_the_application_resource_lists_every_variable(vclient: Any) -> None:
    answer = vclient.get(APP_VARS, auth=ADMIN)
    assert answer.status_code == 200
    assert answer.json() == {"items": items(("CurYr", "FY24", "ALL"), ("PlanYr", "FY25", "ALL"),
                                            ("CurMonth", "Jan", "Plan1")),
                             "links": self_link(APP_VARS)}


def test_one_application_variable(vclient: Any) -> None:
    answer = vclient.get(APP_VARS + "/planyr", auth=ADMIN)
    assert answer.json() == {"name": "PlanYr", "value": "FY25", "planType": "ALL",
                             "links": self_link(APP_VARS + "/planyr")}
    missing = vclient.get(APP_VARS + "/CurMonth", auth=ADMIN)  # defined on Plan1 only
    assert missing.status_code == 404
    assert missing.json() == {"detail": "The substitution variable CurMonth is not defined "
                                        "for the application.", "status": 404}


@pytest.mark.parametrize("q", ['{"derivedValues":true}', '{"derivedValues"=true}',
                               "{derivedValues:true}"])
def test_the_plan_type_resource_with_and_without_derived_values(vclient: Any, q: str) -> None:
    own = vclient.get(PLAN1_VARS, auth=ADMIN).json()["items"]
    assert own == items(("CurMonth", "Jan", "Plan1"))
    derived = vclient.get(PLAN1_VARS, params={"q": q}, auth=ADMIN).json()["items"]
    assert derived == items(("CurMonth", "Jan", "Plan1"), ("CurYr", "FY24", "ALL"),
                            ("PlanYr", "FY25", "ALL"))
    one = vclient.get(PLAN1_VARS + "/CurYr", params={"q": q}, auth=ADMIN).json()
    assert (one["name"], one["planType"]) == ("CurYr", "ALL")
    assert vclient.get(PLAN1_VARS + "/CurYr", auth=ADMIN).status_code == 404


# -- changing -------------------------------------------------------------------------------

def test_post_creates_and_updates_at_the_level_each_item_names(vclient: Any) -> None:
    answer = vclient.post(APP_VARS, auth=ADMIN, json={"items": items(
        ("CurYr", "FY25", "ALL"), ("CurPeriod", "Dec", "Plan3"))})
    assert (answer.status_code, answer.content) == (204, b"")
    listed = vclient.get(APP_VARS, auth=ADMIN).json()["items"]
    assert items(("CurYr", "FY25", "ALL"), ("CurPeriod", "Dec", "Plan3")) == [
        i for i in listed if i["name"] in ("CurYr", "CurPeriod")]
    put = vclient.put(PLAN1_VARS, auth=ADMIN,
                      json={"items": [{"name": "CurMonth", "value": "Feb"}]})
    assert put.status_code == 204
    assert vclient.get(PLAN1_VARS + "/CurMonth", auth=ADMIN).json()["value"] == "Feb"


def test_delete_one_and_many(vclient: Any) -> None:
    assert vclient.delete(APP_VARS + "/CurYr", auth=ADMIN).status_code == 204
    assert vclient.delete(APP_VARS + "/CurYr", auth=ADMIN).status_code == 404
    assert vclient.delete(PLAN1_VARS + "/PlanYr", auth=ADMIN).status_code == 404
    many = vclient.post(APP_VARS + ":delete", auth=ADMIN, json={"items": items(
        ("PlanYr", "FY25", "ALL"), ("CurMonth", "Jan", "Plan1"))})
    assert many.status_code == 204
    assert vclient.get(APP_VARS, auth=ADMIN).json()["items"] == []


@pytest.mark.parametrize(("path", "body", "detail"), [
    (APP_VARS, {"items": [{"name": "Bad Name", "value": "x"}]},
     "Invalid substitution variable name 'Bad Name'"),
    (APP_VARS, {"items": [{"name": "X", "value": "x", "planType": "Nope"}]},
     "The plan type Nope does not exist in this application."),
    (APP_VARS, {"items": [{"name": "X"}]}, "The substitution variable X needs a value"),
    (APP_VARS, {"items": [{"name": "X", "value": "a" * 257}]}, "at most 256 characters"),
    (APP_VARS, [1, 2], 'The request body must be {"items"'),
    (PLAN1_VARS, {"items": [{"name": "X", "value": "1", "planType": "Plan2"}]},
     "The item X names the plan type Plan2, not Plan1."),
    (ROOT + "/plantypes/Nope/substitutionvariables", {"items": []},
     "The plan type Nope does not exist in this application."),
])
def test_bad_input_is_refused_and_changes_nothing(vclient: Any, path: str, body: Any,
                                                  detail: str) -> None:
    before = vclient.get(APP_VARS, auth=ADMIN).json()
    answer = vclient.post(path, auth=ADMIN, json=body)
    assert answer.status_code == 400
    assert detail in answer.json()["detail"]
    assert vclient.get(APP_VARS, auth=ADMIN).json() == before


def test_an_unknown_application_is_404(vclient: Any) -> None:
    answer = vclient.get("/HyperionPlanning/rest/v3/applications/Nope/substitutionvariables",
                         auth=ADMIN)
    assert answer.status_code == 404


def test_roles(vclient: Any, system: System) -> None:
    assert vclient.get(APP_VARS, auth=VICTOR).status_code == 403
    assert vclient.get(APP_VARS, auth=PETE).status_code == 403
    user = system.stores.users.get(PETE[0])
    assert user is not None
    system.stores.users.set_grant(user.user_id, launch_grant("Vision", "RULES", "CalcRevenue"),
                                  True)
    system.authenticator.forget_all()
    assert vclient.get(APP_VARS, auth=PETE).status_code == 200
    assert vclient.get(PLAN1_VARS + "/CurMonth", auth=PETE).status_code == 200
    body = {"items": items(("CurYr", "FY30", "ALL"))}
    assert vclient.post(APP_VARS, auth=PETE, json=body).status_code == 403
    assert vclient.delete(APP_VARS + "/CurYr", auth=PETE).status_code == 403
    assert vclient.get(APP_VARS + "/CurYr", auth=ADMIN).json()["value"] == "FY24"


# -- the application file and rules ----------------------------------------------------------

def test_the_application_file_round_trips_variables(system: System) -> None:
    doc = export_application(system, "Vision")
    assert doc["substitutionVariables"] == items(
        ("CurYr", "FY24", "ALL"), ("PlanYr", "FY25", "ALL"), ("CurMonth", "Jan", "Plan1"))
    create_application(system, {**doc, "name": "Twin"})
    assert export_application(system, "Twin")["substitutionVariables"] == \
        doc["substitutionVariables"]
    with pytest.raises(InvalidRequest, match="plan type Nope"):
        create_application(system, {**doc, "name": "Bad", "substitutionVariables": [
            {"name": "X", "value": "1", "planType": "Nope"}]})


def test_a_rule_reads_the_cubes_value_over_the_applications(vclient: Any, worker: Worker,
                                                           system: System) -> None:
    put_definition(system, "Vision", {"jobType": "RULES", "jobName": "UseRate",
                                      "planType": "Plan1", "parameters": {"script": (
                                          'FIX (&PlanYr, "Plan", "E110", "P010", "Jan", '
                                          '"USD", "Working") "Growth Rate" = &Rate; ENDFIX')}})
    target = ("Growth Rate", "Jan", "FY25", "Plan", "Working", "USD", "E110", "P010")

    def run() -> dict[str, Any]:
        job = vclient.post(jobs_path(), auth=ADMIN,
                           json={"jobType": "RULES", "jobName": "UseRate"}).json()
        worker.drain()
        record: dict[str, Any] = vclient.get(f"{jobs_path()}/{job['jobId']}", auth=ADMIN).json()
        return record

    assert run()["details"] == ("The rule UseRate failed: line 1, column 80: The substitution "
                                "variable &Rate is not defined.")
    vclient.post(APP_VARS, auth=ADMIN, json={"items": items(("Rate", "1.5", "ALL"))})
    assert run()["status"] == 0
    assert cube_cells(system)[target] == 1.5
    vclient.post(PLAN1_VARS, auth=ADMIN, json={"items": [{"name": "rate", "value": "2.5"}]})
    assert run()["status"] == 0
    assert cube_cells(system)[target] == 2.5
