"""EXPORT_DATA and CLEAR_CUBE through real HTTP, and the round trip: export, clear, import
reproduces the cube exactly."""

from __future__ import annotations

from data_support import cell, cube_cells, planning_file, submission
from epmjobs.appfile import put_definition
from epmjobs.jobs.runner import Worker
from epmjobs.system import System
from metadata_support import download, read_zip, record, submit, upload

POV = "4110,FY24,Actual,Working,USD,P100"
POV2 = "4120,FY24,Actual,Working,USD,P100"


def run(client, worker: Worker, body: dict) -> dict:  # type: ignore[type-arg]
    job_id = submit(client, body)
    worker.drain()
    return record(client, job_id)


def seed(client, worker: Worker) -> None:  # type: ignore[no-untyped-def]
    upload(client, "seed.csv", planning_file([
        ("E110", "10", "20", POV), ("E120", "1.25", "", POV), ("E110", "0", "3", POV2)]).encode())
    assert run(client, worker, submission("IMPORT_DATA", importFileName="seed.csv"))[
        "status"] == 0


def export(client, worker: Worker, **params) -> str:  # type: ignore[no-untyped-def]
    answer = run(client, worker, submission("EXPORT_DATA", cube="Plan1",
                                            exportFileName="out.zip", **params))
    assert answer["status"] == 0, answer
    return read_zip(download(client, "out.zip"))["out.csv"]


def test_export_writes_the_planning_layout_and_suppresses_missing_rows(
        client, worker: Worker) -> None:
    seed(client, worker)
    text = export(client, worker, rowMembers="E110,E120,E130", columnMembers="Jan,Feb,Mar",
                  povMembers="4110,FY24,Actual,Working,USD,P100")
    assert text == (
        "Entity,Jan,Feb,Mar,Point-of-View,Data Load Cube Name\n"
        'E110,10,20,,"4110,FY24,Actual,Working,USD,P100",Plan1\n'
        'E120,1.25,,,"4110,FY24,Actual,Working,USD,P100",Plan1\n')


def test_export_options_missing_text_decimals_tab_and_several_row_dimensions(
        client, worker: Worker) -> None:
    seed(client, worker)
    text = export(client, worker, rowMembers="E110, 4110, 4120", columnMembers="Jan,Feb",
                  povMembers="FY24,Actual,Working,USD,P100", customMissingValue="#MI",
                  exportDataDecimalScale=0, delimiter="tab")
    assert text.splitlines() == [
        "Entity\tJan\tFeb\tPoint-of-View\tData Load Cube Name",
        "E110\t10\t20\t4110,FY24,Actual,Working,USD,P100\tPlan1",
        "E110\t0\t3\t4120,FY24,Actual,Working,USD,P100\tPlan1"]


def test_dynamic_members_are_evaluated_when_asked(client, worker: Worker) -> None:
    seed(client, worker)
    without = export(client, worker, rowMembers="E110", columnMembers="Q1,Jan",
                     povMembers=POV)
    with_dynamic = export(client, worker, rowMembers="E110", columnMembers="Q1,Jan",
                          povMembers=POV, includeDynamicMembers=True)
    assert without.splitlines()[0] == "Entity,Jan,Point-of-View,Data Load Cube Name"
    assert with_dynamic.splitlines()[1] == 'E110,30,10,"' + POV + '",Plan1'


def test_export_then_clear_then_import_reproduces_the_cube(client, worker: Worker,
                                                           system: System) -> None:
    seed(client, worker)
    before = cube_cells(system)
    assert before
    export(client, worker, rowMembers="ILvl0Descendants(Entity)",
           columnMembers="ILvl0Descendants(Period)", povMembers="")
    assert len(before) > 39_000  # the demo data and the seed
    assert run(client, worker, {"jobType": "CLEAR_CUBE", "jobName": "ClearPlan1"})[
        "status"] == 0
    assert cube_cells(system) == {}
    upload(client, "again.zip", download(client, "out.zip"))
    assert run(client, worker, submission("IMPORT_DATA", importFileName="again.zip"))[
        "status"] == 0
    assert cube_cells(system) == before


def test_partial_clear_clears_the_region_of_the_selected_members(
        client, worker: Worker, system: System) -> None:
    seed(client, worker)
    put_definition(system, "Vision", {"jobType": "CLEAR_CUBE", "jobName": "ClearSome",
                                      "parameters": {"cube": "Plan1", "members": "E110"}})
    answer = run(client, worker, {"jobType": "CLEAR_CUBE", "jobName": "ClearSome",
                                  "parameters": {"members": "Jan, United States"}})
    assert answer["status"] == 0
    after = cube_cells(system)
    assert cell("4110", "Jan", "E110") not in after  # E110 is below United States
    assert cell("4110", "Jan", "E120") not in after
    assert after[cell("4110", "Feb", "E110")] == 20


def test_bad_selections_fail_the_job_and_change_nothing(client, worker: Worker,
                                                        system: System) -> None:
    seed(client, worker)
    before = cube_cells(system)
    answer = run(client, worker, submission("EXPORT_DATA", cube="Plan1", rowMembers="E110",
                                            columnMembers="Jan,4110", povMembers=""))
    assert answer["status"] == 1 and "exactly one dimension" in answer["details"]
    answer = run(client, worker, {"jobType": "CLEAR_CUBE", "jobName": "ClearPlan1",
                                  "parameters": {"members": "Descendants(Nowhere)"}})
    assert answer["status"] == 1
    assert answer["details"] == ("The member Nowhere does not exist for the specified cube "
                                 "or you do not have access to it.")
    assert cube_cells(system) == before


def test_the_demo_definitions_export_and_reload_plan1_actuals(client, worker: Worker,
                                                              system: System) -> None:
    before = cube_cells(system)
    exported = run(client, worker, {"jobType": "EXPORT_DATA", "jobName": "ExportPlan1Actuals"})
    assert exported["status"] == 0, exported
    text = read_zip(download(client, "Plan1_actuals.zip"))["Plan1_actuals.csv"]
    lines = text.splitlines()
    assert lines[0].startswith("Entity,Jan,Feb,Mar,")
    assert len(lines) == 1 + 13 * 14 * 6  # entities x revenue accounts x products
    loaded = run(client, worker, {"jobType": "IMPORT_DATA", "jobName": "LoadPlan1"})
    assert loaded["status"] == 0, loaded
    assert cube_cells(system) == before
    mapped = run(client, worker, {"jobType": "PLAN_TYPE_MAP", "jobName": "Plan1ToReporting"})
    assert mapped["status"] == 0, mapped
    rates = ("Average Rate", "Ending Rate")  # not valid in Vis1ASO: the map leaves them
    assert cube_cells(system, "Vis1ASO") == {k: v for k, v in before.items()
                                             if k[0] not in rates}
