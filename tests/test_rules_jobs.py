"""RULES and RULESET through real HTTP: runtime prompts (values, defaults, extras, Oracle's
texts for missing values and unknown members), planType, errors with their position, the
cube unchanged on any failure, rulesets, definitions through the admin endpoint, and the
Power User launch grant."""

from __future__ import annotations

import inspect
import time
from typing import Any

import pytest

from conftest import ADMIN, PASSWORD, ROLE_USERS
from data_support import cube_cells
from epmjobs.appfile import put_definition
from epmjobs.errors import InvalidRequest
from epmjobs.jobs.definitions import JobDefinition
from epmjobs.jobs.runner import Worker
from epmjobs.security import policy
from epmjobs.security.roles import Role
from epmjobs.security.rule_access import launch_grant, parse_launch_grant
from epmjobs.system import System
from metadata_support import jobs_path

PETE = (ROLE_USERS[Role.POWER_USER], PASSWORD)
PLAN = ("FY25", "Plan", "Working", "USD")


def post(client: Any, kind: str, name: str, auth: tuple[str, str] = ADMIN,
         **params: Any) -> Any:
    return client.post(jobs_path(), auth=auth,
                       json={"jobType": kind, "jobName": name, "parameters": params})


def run(client: Any, worker: Worker, kind: str, name: str, auth: tuple[str, str] = ADMIN,
        **params: Any) -> dict[str, Any]:
    answer = post(client, kind, name, auth, **params)
    assert answer.status_code == 201, answer.text
    worker.drain()
    record: dict[str, Any] = client.get(f"{jobs_path()}/{answer.json()['jobId']}",
                                        auth=auth).json()
    return record


def store_rule(system: System, name: str, script: str, **params: Any) -> None:
    """Put a definition straight into the job library (no deploy-time check)."""
    app = system.stores.apps.get("Vision")
    assert app is not None
    with system.db.transaction() as conn:
        system.stores.apps.put_definition(conn, app.application_id, JobDefinition(
            "RULES", name, "Plan1", {"script": script, **params}), time.time())


def cell(account: str, month: str, entity: str, product: str = "P010") -> tuple[str, ...]:
    return (account, month, *PLAN, entity, product)


# -- runtime prompts ---------------------------------------------------------------------------

def test_a_prompt_without_value_or_default_fails_with_oracles_text(
        client: Any, worker: Worker, system: System) -> None:
    before = cube_cells(system)
    answer = run(client, worker, "RULES", "CalcRevenue")
    assert (answer["status"], answer["details"]) == (
        1, "Value is missing for the runtime prompt: Entity.")
    assert cube_cells(system) == before


def test_an_unknown_member_fails_with_oracles_text(client: Any, worker: Worker) -> None:
    answer = run(client, worker, "RULES", "CalcRevenue", Entity="E999")
    assert answer["details"] == ("The member E999 does not exist for the specified cube or you "
                                 "do not have access to it.")
    assert answer["status"] == 1


def test_defaults_apply_and_unknown_extra_prompts_are_ignored(
        client: Any, worker: Worker, system: System) -> None:
    before = cube_cells(system)
    answer = run(client, worker, "Rules", "CalcRevenue", Entity="E130", Region="Nowhere",
                 Count=3)
    assert answer["status"] == 0, answer
    after = cube_cells(system)
    expected = before[cell("Units", "Jul", "E130")] * before[cell("Price", "Jul", "E130")]
    assert after[cell("4010", "Jul", "E130")] == pytest.approx(expected)


@pytest.mark.parametrize(("params", "details"), [
    ({"Entity": "North America"},
     "The member North America is not one of the members allowed for the runtime prompt "
     "Entity."),
    ({"Entity": "E110", "Scenario": "E120"},
     "The runtime prompt Scenario takes members of the dimension Scenario, not E120."),
    ({"Entity": "E110, E120"}, "The runtime prompt Entity takes one member, not E110, E120."),
    ({"Entity": "E110", "planType": "Nope"}, "The cube Nope does not exist in this application."),
    ({"Entity": "E110", "planType": "Vis1ASO"},
     "The cube Vis1ASO is an aggregate storage cube: calc-script rules run on block storage "
     "cubes only."),
    ({"Entity": "E110", "planType": "Plan3"},
     "The rule CalcRevenue failed: line 3, column 6: The member Total Product does not exist "
     "for the specified cube or you do not have access to it."),
])
def test_bad_prompt_values_and_plan_types_fail_the_job(client: Any, worker: Worker,
                                                       params: dict[str, str],
                                                       details: str) -> None:
    answer = run(client, worker, "RULES", "CalcRevenue", **params)
    assert (answer["status"], answer["details"]) == (1, details)


def test_a_prompt_value_that_is_not_text_is_refused_at_submission(client: Any) -> None:
    answer = post(client, "RULES", "CalcRevenue", Entity=["E110"])
    assert answer.status_code == 400
    assert answer.json()["details"] == "The value of the runtime prompt Entity must be text " \
                                       "or a number."


def test_a_submission_cannot_replace_the_rules_script(client: Any, worker: Worker,
                                                      system: System) -> None:
    before = cube_cells(system)
    answer = run(client, worker, "RULES", "CalcRevenue", Entity="E110",
                 script="CLEARBLOCK ALL;")
    assert answer["status"] == 0
    after = cube_cells(system)
    assert len(after) == len(before)


# -- errors leave the cube as it was -------------------------------------------------------

def test_a_parse_error_is_reported_with_line_and_column(client: Any, worker: Worker,
                                                        system: System) -> None:
    store_rule(system, "Broken", 'FIX ("Plan")\n  "4010" = "Units" * ;\nENDFIX')
    answer = run(client, worker, "RULES", "Broken")
    assert answer["status"] == 1
    assert answer["details"] == ("The rule Broken is not valid: line 2, column 22: expected "
                                 "an expression, found ';'")


def test_a_failure_after_writes_leaves_the_cube_unchanged(client: Any, worker: Worker,
                                                          system: System) -> None:
    store_rule(system, "HalfWay", 'FIX ("Plan", "Jan") "4010" = 1; ENDFIX\n'
                                  'FIX ("E999") "4010" = 2; ENDFIX')
    before = cube_cells(system)
    answer = run(client, worker, "RULES", "HalfWay")
    assert answer["status"] == 1
    assert answer["details"].startswith("The rule HalfWay failed: line 2, column 6: The "
                                        "member E999 does not exist")
    assert cube_cells(system) == before


def test_a_groovy_rule_is_refused(client: Any, worker: Worker, system: System) -> None:
    store_rule(system, "GroovyRule", "def grid = operation.grid", scriptType="groovy")
    answer = run(client, worker, "RULES", "GroovyRule")
    assert (answer["status"], answer["details"]) == (
        1, "The rule GroovyRule is a Groovy rule: epmjobs runs calc-script (Essbase) rules "
           "only.")


def test_a_one_megabyte_script_with_an_error_at_its_end_fails_with_the_position(
        client: Any, worker: Worker, system: System) -> None:
    line = 'FIX ("Plan", "Jan", "E110", "P010") "Growth Rate" = 1; ENDFIX\n'
    count = 1_000_000 // len(line)
    store_rule(system, "Huge", line * count + '"4010" = @NOPE(1);\n')
    answer = run(client, worker, "RULES", "Huge")
    assert answer["details"] == (f"The rule Huge is not valid: line {count + 1}, column 10: "
                                 "unknown function @NOPE; did you mean @NEXT?")


def test_an_unknown_rule_is_refused_at_submission(client: Any) -> None:
    answer = post(client, "RULES", "NoSuchRule")
    assert answer.status_code == 400
    assert answer.json()["details"] == "A job with specified name and type was not found"


# -- rulesets ---------------------------------------------------------------------------------

def test_a_ruleset_whose_second_rule_fails_commits_nothing(client: Any, worker: Worker,
                                                          system: System) -> None:
    put_definition(system, "Vision", {"jobType": "RULESET", "jobName": "Broken",
                                      "parameters": {"rules": ["CalcRevenue", "CalcRevenue2"]}})
    store_rule(system, "CalcRevenue2", 'FIX ("Nope") "4010" = 1; ENDFIX')
    before = cube_cells(system)
    answer = run(client, worker, "RULESET", "Broken", Entity="E110")
    assert answer["status"] == 1
    assert answer["details"].startswith("The rule CalcRevenue2 failed: line 1, column 6:")
    assert cube_cells(system) == before


def test_nested_rulesets_run_and_a_ruleset_that_contains_itself_fails(
        client: Any, worker: Worker, system: System) -> None:
    put_definition(system, "Vision", {"jobType": "RULESET", "jobName": "Outer", "parameters": {
        "rules": [{"name": "PlanCycle", "type": "RULESET"}], "sequential": True}})
    assert run(client, worker, "RULESET", "Outer", Entity="E110")["status"] == 0
    put_definition(system, "Vision", {"jobType": "RULESET", "jobName": "Loop", "parameters": {
        "rules": ["AggregatePlan", {"name": "Loop", "type": "RULESET"}]}})
    answer = run(client, worker, "RULESET", "Loop")
    assert answer["details"] == "The ruleset Loop contains itself: Loop > Loop."


# -- definitions -----------------------------------------------------------------------------

def test_rules_are_created_through_the_admin_endpoint_and_checked_when_deployed(
        client: Any, worker: Worker, system: System) -> None:
    url = "/epmjobs/v1/applications/Vision/jobdefinitions"
    rule = {"jobType": "RULES", "jobName": "SetRate", "planType": "Plan1", "parameters": {
        "script": 'FIX ({Who}, "Plan", "Jan", "P010") "Growth Rate" = {Value}; ENDFIX',
        "runtimePrompts": [{"name": "Who", "type": "member", "dimension": "Entity"},
                           {"name": "Value", "type": "numeric", "defaultValue": "7"}]}}
    created = client.post(url, json=rule, auth=ADMIN)
    assert created.status_code == 201, created.text
    answer = run(client, worker, "RULES", "SetRate", Who="E110")
    assert answer["status"] == 0
    assert cube_cells(system)[("Growth Rate", "Jan", *PLAN, "E110", "P010")] == 7
    assert run(client, worker, "RULES", "SetRate", Who="E110", Value="x")["details"] == (
        "The value x of the runtime prompt Value is not a number.")
    with pytest.raises(InvalidRequest, match="line 1, column 12: expected an expression"):
        put_definition(system, "Vision", {**rule, "parameters": {"script": "FIX (a) b ="}})
    with pytest.raises(InvalidRequest, match="is a Groovy rule"):
        put_definition(system, "Vision", {**rule, "parameters": {
            "script": "x", "scriptType": "Groovy"}})


# -- the Power User launch grant --------------------------------------------------------------

def test_launch_grants_are_parsed_in_any_case() -> None:
    assert parse_launch_grant("launch rule: Vision / CalcRevenue") == \
        "Launch RULES: Vision/CalcRevenue"
    assert parse_launch_grant("LAUNCH RULESET:Vision/Plan Cycle") == \
        "Launch RULESET: Vision/Plan Cycle"
    assert parse_launch_grant("Migrations - Administer") is None


def _policy_knows_rules() -> bool:
    return "job_name" in inspect.signature(policy.require_submit).parameters


@pytest.mark.skipif(not _policy_knows_rules(),
                    reason="needs policy.require_submit(principal, job_type, application, "
                           "job_name) (the [rules] report's change to security/policy.py)")
def test_a_power_user_launches_only_the_rules_granted(client: Any, worker: Worker,
                                                      system: System) -> None:
    assert post(client, "RULES", "CalcRevenue", PETE, Entity="E110").status_code == 403
    user = system.stores.users.get(PETE[0])
    assert user is not None
    system.stores.users.set_grant(user.user_id, launch_grant("vision", "RULES", "calcrevenue"),
                                  True)
    system.authenticator.forget_all()  # grants are read when a caller is authenticated
    answer = run(client, worker, "RULES", "CalcRevenue", PETE, Entity="E110")
    assert answer["status"] == 0, answer
    assert post(client, "RULES", "AggregatePlan", PETE).status_code == 403
    assert post(client, "RULESET", "PlanCycle", PETE).status_code == 403
    assert post(client, "CLEAR_CUBE", "ClearPlan1", PETE).status_code == 403


def test_runtime_substitution_variables_take_their_default_or_the_jobs_value(
        client: Any, worker: Worker, system: System) -> None:
    put_definition(system, "Vision", {"jobType": "RULES", "jobName": "Rtsv", "planType": "Plan1",
                                      "parameters": {"script": (
                                          'SET RUNTIMESUBVARS { Who = "E110"; };\n'
                                          'FIX (&Who, "Plan", "Jan", "P010", &PlanYr) '
                                          '"Growth Rate" = 3; ENDFIX'),
                                          "runtimePrompts": '[{"name": "Unused"}]'}})
    assert run(client, worker, "RULES", "Rtsv")["status"] == 0
    assert run(client, worker, "RULES", "Rtsv", Who="E120")["status"] == 0
    rates = {k[6] for k, v in cube_cells(system).items() if k[0] == "Growth Rate" and v == 3}
    assert rates == {"E110", "E120"}


def test_the_admin_endpoint_refuses_a_rule_that_does_not_parse(client: Any) -> None:
    answer = client.post("/epmjobs/v1/applications/Vision/jobdefinitions", auth=ADMIN, json={
        "jobType": "RULES", "jobName": "Bad", "planType": "Plan1",
        "parameters": {"script": 'FIX ("Plan"'}})
    assert answer.status_code == 400
    assert answer.json()["detail"] == ("The rule Bad is not valid: line 1, column 12: expected "
                                       "',' or ')' in the FIX member list, found end of script")
