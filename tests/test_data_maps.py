"""PLAN_TYPE_MAP through real HTTP on a small two-cube application: members map by name,
source-only dimensions collapse, target-only dimensions take the map's member, overrides
and exclusions narrow the region, clearData clears the target region first."""

from __future__ import annotations

from typing import Any

import pytest

from data_support import cube_cells, submission
from epmjobs.appfile import create_application
from epmjobs.jobs.runner import Worker
from epmjobs.system import System
from metadata_support import record, submit, upload

APP = "Maps"


def m(name: str, parent: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, "parent": parent, "dataStorage": "Store", **kw}


@pytest.fixture
def app(system: System) -> str:
    create_application(system, {
        "format": "epmjobs-application/1", "name": APP,
        "cubes": [{"name": "Src", "kind": "BSO"}, {"name": "Rep", "kind": "ASO"}],
        "jobDefinitions": [{"jobType": "PLAN_TYPE_MAP", "jobName": "SrcToRep", "parameters": {
            "sourceCube": "Src", "targetCube": "Rep",
            "members": {"Entity": "ILvl0Descendants(Total)"},
            "targetMembers": {"Scenario": "Actual"}}}],
        "outline": {"dimensions": [
            {"name": "Account", "type": "Account", "cubes": {"Src": "Dense", "Rep": "Dense"},
             "members": [m("Sales", "Account"), m("Cost", "Account"),
                         m("SrcOnly", "Account", planType={"Src": True, "Rep": False})]},
            {"name": "Entity", "type": "Entity", "cubes": {"Src": "Sparse", "Rep": "Sparse"},
             "members": [m("Total", "Entity"), m("E1", "Total"), m("E2", "Total"),
                         m("E3", "Total")]},
            {"name": "Product", "type": "Custom", "cubes": {"Src": "Sparse"},
             "members": [m("P1", "Product"), m("P2", "Product")]},
            {"name": "Scenario", "type": "Scenario", "cubes": {"Rep": "Sparse"},
             "members": [m("Actual", "Scenario"), m("Plan", "Scenario")]},
        ]}})
    return APP


def load_source(client, worker: Worker) -> None:  # type: ignore[no-untyped-def]
    text = ("Entity,Sales,Cost,SrcOnly,Point-of-View,Data Load Cube Name\n"
            "E1,10,4,1,P1,Src\nE1,5,1,,P2,Src\nE2,7,,,P1,Src\nE3,1,1,,P2,Src\n")
    upload(client, "src.csv", text.encode())
    job_id = submit(client, submission("IMPORT_DATA", importFileName="src.csv"), app=APP)
    worker.drain()
    assert record(client, job_id, app=APP)["status"] == 0


def run_map(client, worker: Worker, **params: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    job_id = submit(client, {"jobType": "PLAN_TYPE_MAP", "jobName": "SrcToRep",
                             "parameters": params}, app=APP)
    worker.drain()
    return record(client, job_id, app=APP)


def test_map_collapses_source_dimensions_and_fills_target_ones(
        client, worker: Worker, system: System, app: str) -> None:
    load_source(client, worker)
    answer = run_map(client, worker)
    assert answer["status"] == 0, answer
    assert answer["details"] == "Plan type map completed successfully"
    assert cube_cells(system, "Rep", APP) == {
        ("Sales", "E1", "Actual"): 15.0, ("Cost", "E1", "Actual"): 5.0,
        ("Sales", "E2", "Actual"): 7.0,
        ("Sales", "E3", "Actual"): 1.0, ("Cost", "E3", "Actual"): 1.0}


def test_overrides_exclusions_and_clear_data(client, worker: Worker, system: System,
                                             app: str) -> None:
    load_source(client, worker)
    run_map(client, worker)
    answer = run_map(client, worker, clearData=False,
                     overrideMembersMap={"Entity": "E1,E2"},
                     overrideExclusionMembersMap={"Entity": "E2", "Account": "Cost"})
    assert answer["status"] == 0
    assert cube_cells(system, "Rep", APP)[("Cost", "E1", "Actual")] == 5.0  # not cleared
    upload(client, "zero.csv", b"Entity,Sales,Point-of-View,Data Load Cube Name\nE1,0,P1,Src\n"
                               b"E1,#missing,P2,Src\n")
    submit(client, submission("IMPORT_DATA", importFileName="zero.csv"), app=APP)
    worker.drain()
    run_map(client, worker, overrideMembersMap={"Entity": "E1"})  # clearData defaults true
    rep = cube_cells(system, "Rep", APP)
    assert rep[("Sales", "E1", "Actual")] == 0.0
    assert rep[("Cost", "E1", "Actual")] == 5.0  # E1's region was cleared, then copied
    assert rep[("Sales", "E2", "Actual")] == 7.0  # outside the region: kept


def test_bad_maps_fail_and_change_nothing(client, worker: Worker, system: System,
                                          app: str) -> None:
    load_source(client, worker)
    run_map(client, worker)
    before = cube_cells(system, "Rep", APP)
    answer = run_map(client, worker, overrideMembersMap={"Entity": "Nowhere"})
    assert answer["status"] == 1 and "Nowhere does not exist" in answer["details"]
    bad = client.post(f"/HyperionPlanning/rest/v3/applications/{APP}/jobs",
                      auth=("admin", "adminpw"),
                      json={"jobType": "PLAN_TYPE_MAP", "jobName": "SrcToRep",
                            "parameters": {"overrideMembersMap": "Entity=E1"}})
    assert bad.json()["status"] == 4
    assert cube_cells(system, "Rep", APP) == before
