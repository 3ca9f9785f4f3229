"""The demo application's rules through real HTTP, each checked against numbers computed
here from the seeded cells: the driver rule with prompts, the currency rule with
cross-dimensional references, the aggregation rule, and the ruleset chaining them."""

from __future__ import annotations

import math
from typing import Any

import pytest

from conftest import ADMIN
from data_support import cube_cells
from epmjobs.demo.vision_data import ENTITIES, MONTHS, PRODUCTS, REVENUE
from epmjobs.jobs.runner import Worker
from epmjobs.system import System
from metadata_support import jobs_path, submit

PLAN = ("FY25", "Plan", "Working")
Cells = dict[tuple[str, ...], float]


def run(client: Any, worker: Worker, kind: str, name: str, **params: Any) -> dict[str, Any]:
    job_id = submit(client, {"jobType": kind, "jobName": name, "parameters": params})
    worker.drain()
    answer = client.get(f"{jobs_path()}/{job_id}", auth=ADMIN)
    assert answer.status_code == 200
    record: dict[str, Any] = answer.json()
    return record


def at(account: str, month: str, entity: str, product: str, currency: str = "USD"
       ) -> tuple[str, ...]:
    return (account, month, *PLAN, currency, entity, product)


EURO = ("E200", "E210", "E220", "E230")


def rate(cells: Cells, month: str, entity: str) -> float:
    """The month's USD-to-local rate of an entity; 1 for USD entities (they have none)."""
    return cells.get(at("Average Rate", month, entity, "No Product", "Local"), 1.0)


def round2(value: float) -> float:
    """@ROUND(x, 2): half away from zero on the scaled double, as the engine rounds."""
    return math.copysign(math.floor(abs(value) * 100 + 0.5) / 100, value)


def level0_sum(cells: Cells, account: str, month: str, currency: str,
               entities: tuple[str, ...] = ENTITIES,
               products: tuple[str, ...] = PRODUCTS) -> float:
    return sum(cells.get(at(account, month, e, p, currency), 0.0)
               for e in entities for p in products)


def test_the_driver_rule_computes_revenue_for_the_prompted_entity_only(
        client: Any, worker: Worker, system: System) -> None:
    before = cube_cells(system)
    answer = run(client, worker, "RULES", "CalcRevenue", Entity="E120")
    assert answer["status"] == 0, answer
    assert answer["details"] == "Rule CalcRevenue executed successfully."
    after = cube_cells(system)
    for product in PRODUCTS:
        for month in MONTHS:
            units = before[at("Units", month, "E120", product)]
            price = before[at("Price", month, "E120", product)]
            assert after[at("4010", month, "E120", product)] == pytest.approx(units * price)
    changed = {k for k in after if before.get(k) != after[k]} | (before.keys() - after.keys())
    assert changed == {at("4010", m, "E120", p) for m in MONTHS for p in PRODUCTS}


def test_the_currency_rule_translates_every_revenue_cell_at_its_months_rate(
        client: Any, worker: Worker, system: System) -> None:
    before = cube_cells(system)
    assert run(client, worker, "RULES", "TranslateToLocal")["status"] == 0
    after = cube_cells(system)
    usd = {k: v for k, v in before.items() if k[0] in REVENUE and k[2:5] == PLAN
           and k[5] == "USD"}
    assert {k[6] for k in usd} == set(ENTITIES)
    for key, value in usd.items():
        local = after[(*key[:5], "Local", *key[6:])]
        if key[6] in EURO:
            assert local == round2(value * rate(before, key[1], key[6]))
        else:
            assert local == value
    assert after.keys() - before.keys() == {(*k[:5], "Local", *k[6:]) for k in usd}


def test_the_aggregation_rule_rolls_up_entities_and_products(
        client: Any, worker: Worker, system: System) -> None:
    before = cube_cells(system)
    assert run(client, worker, "RULES", "AggregatePlan")["status"] == 0
    after = cube_cells(system)
    us = ("E110", "E120", "E130")
    computers = ("P010", "P020", "P030", "P040")
    for account in ("4010", "5010", "Units"):
        for month in ("Jan", "Dec"):
            total = after[at(account, month, "Total Entity", "Total Product")]
            assert total == pytest.approx(level0_sum(before, account, month, "USD"))
            part = after[at(account, month, "United States", "Computers")]
            assert part == pytest.approx(level0_sum(before, account, month, "USD", us,
                                                    computers))
    assert at("Price", "Jan", "Total Entity", "Total Product") not in after  # not in the FIX
    assert after[at("4010", "Jan", "E110", "P010")] == before[at("4010", "Jan", "E110", "P010")]


def test_the_ruleset_chains_revenue_translation_and_aggregation(
        client: Any, worker: Worker, system: System) -> None:
    before = cube_cells(system)
    answer = run(client, worker, "RULESET", "PlanCycle", Entity="E210")
    assert answer["status"] == 0, answer
    assert answer["details"] == "Ruleset PlanCycle executed successfully."
    after = cube_cells(system)
    units = before[at("Units", "Mar", "E210", "P030")]
    price = before[at("Price", "Mar", "E210", "P030")]
    usd = after[at("4010", "Mar", "E210", "P030")]
    assert usd == pytest.approx(units * price)
    assert after[at("4010", "Mar", "E210", "P030", "Local")] == round2(
        usd * rate(before, "Mar", "E210"))
    total = after[at("4010", "Mar", "Total Entity", "Total Product")]
    assert total == pytest.approx(level0_sum(after, "4010", "Mar", "USD"))
    assert at("4010", "Mar", "Total Entity", "Total Product", "Local") not in after
    messages = client.get(f"{jobs_path()}/{answer['jobId']}/details", auth=ADMIN).json()
    texts = [item["msgText"] for item in messages["items"]]
    assert texts[0] == "Ruleset PlanCycle: rule 1 of 3, CalcRevenue."
    assert any(t.startswith("Rule TranslateToLocal on Plan1:") for t in texts)


def test_rules_are_listed_by_jobdefinitions(client: Any) -> None:
    body = client.get("/HyperionPlanning/rest/v3/applications/Vision/jobdefinitions",
                      params={"q": '{"jobType":"RULES"}'}, auth=ADMIN).json()
    assert [(i["jobType"], i["jobName"], i["planTypeName"]) for i in body["items"]] == [
        ("RULES", "AggregatePlan", "Plan1"), ("RULES", "CalcRevenue", "Plan1"),
        ("RULES", "TranslateToLocal", "Plan1")]
