"""IMPORT_DATA through real HTTP: Planning and Essbase formats, ZIPs, load modes,
rejected records with line numbers, and a failed job that leaves the cube unchanged."""

from __future__ import annotations

from data_support import cell, cube_cells, planning_file, submission
from epmjobs.jobs.runner import Worker
from epmjobs.system import System
from metadata_support import (
    assert_wire,
    child_item,
    details,
    download,
    expected_record,
    job_url,
    page,
    read_zip,
    record,
    submit,
    upload,
    zip_bytes,
)

ACCT = "4110"
POV = "4110,FY24,Actual,Working,USD,P100"


def load(client, worker: Worker, name: str, text: str | bytes, **params) -> int:  # type: ignore[no-untyped-def]
    upload(client, name, text.encode() if isinstance(text, str) else text)
    job_id = submit(client, submission("IMPORT_DATA", importFileName=name, **params))
    worker.drain()
    return job_id


def test_planning_file_loads_cells_and_reports_counts(client, worker: Worker,
                                                       system: System) -> None:
    before = cube_cells(system)
    job_id = load(client, worker, "actuals.csv", planning_file([
        ("E110", "10", "20.5", POV), ("E120", "", "-3", POV)]))
    assert_wire(record(client, job_id), expected_record(
        job_id, "Import Data", 0, "Data import was successful"))
    assert_wire(details(client, job_id), page(
        [child_item(job_id, 1, "actuals.csv", "IMPORT", 0, 2, 2, 0)],
        f"{job_url(job_id)}/details"))
    after = cube_cells(system)
    assert after[cell(ACCT, "Jan", "E110")] == 10
    assert after[cell(ACCT, "Feb", "E110")] == 20.5
    assert after[cell(ACCT, "Feb", "E120")] == -3
    assert cell(ACCT, "Jan", "E120") not in after or cell(ACCT, "Jan", "E120") in before
    changed = {k for k in after if after[k] != before.get(k)}
    assert changed == {cell(ACCT, "Jan", "E110"), cell(ACCT, "Feb", "E110"),
                       cell(ACCT, "Feb", "E120")}


def test_rejected_records_are_reported_with_line_numbers_and_the_rest_loads(
        client, worker: Worker, system: System) -> None:
    text = planning_file([("E110", "1", "2", POV), ("E999", "1", "2", POV),
                          ("E120", "abc", "2", POV), ("E110", "5", "", POV),
                          ("E130", "1", "2", "4110,FY24,Actual,Working,USD")])
    job_id = load(client, worker, "bad.csv", text, errorFile="bad_errors")
    assert_wire(record(client, job_id), expected_record(
        job_id, "Import Data", 1,
        "Data import completed with errors: 4 of 5 records were rejected."))
    assert_wire(details(client, job_id), page(
        [child_item(job_id, 1, "bad.csv", "IMPORT", 1, 5, 1, 4)],
        f"{job_url(job_id)}/details"))
    reasons = [m["msgText"] for m in details(client, job_id, 1)["items"]
               if m["msgType"] == "ERROR"]
    assert reasons == [
        "Line 3: The member E999 does not exist for the specified cube or you do not have "
        "access to it.",
        "Line 4: The value 'abc' for Jan is not a number.",
        "Line 5: A cell of this record was already loaded by line 2.",
        "Line 6: The Point-of-View has no member of dimension Product.",
    ]
    errors = read_zip(download(client, "outbox/bad_errors.zip"))["bad_errors.csv"]
    assert errors.splitlines()[0] == "Entity,Jan,Feb,Point-of-View,Data Load Cube Name,Error"
    assert "E999,1,2,\"" in errors and "Line 3: The member E999" in errors
    after = cube_cells(system)
    assert after[cell(ACCT, "Jan", "E110")] == 1
    assert after[cell(ACCT, "Feb", "E110")] == 2


def test_zip_files_load_in_the_order_their_names_give(client, worker: Worker,
                                                      system: System) -> None:
    archive = zip_bytes({
        "data2-2.csv": planning_file([("E110", "2", "", POV)]),
        "data1-2.csv": planning_file([("E110", "1", "7", POV)]),
        "notes.md": "ignored"})
    job_id = load(client, worker, "batch.zip", archive)
    assert record(client, job_id)["status"] == 0
    assert [c["dimensionName"] for c in details(client, job_id)["items"]] == [
        "data1-2.csv", "data2-2.csv"]
    after = cube_cells(system)
    assert after[cell(ACCT, "Jan", "E110")] == 2  # the second file wins
    assert after[cell(ACCT, "Feb", "E110")] == 7


def test_missing_clears_a_cell_and_load_modes_accumulate_or_subtract(
        client, worker: Worker, system: System) -> None:
    load(client, worker, "a.csv", planning_file([("E110", "10", "4", POV)]))
    load(client, worker, "b.csv", planning_file([("E110", "5", "#Missing", POV)]),
         loadMode="accumulate")
    after = cube_cells(system)
    assert after[cell(ACCT, "Jan", "E110")] == 15
    assert after[cell(ACCT, "Feb", "E110")] == 4  # #Missing adds nothing
    load(client, worker, "c.csv", planning_file([("E110", "1", "", POV)]), loadMode="subtract")
    assert cube_cells(system)[cell(ACCT, "Jan", "E110")] == 14
    load(client, worker, "d.csv", planning_file([("E110", "#mi", "", POV)]))
    assert cell(ACCT, "Jan", "E110") not in cube_cells(system)


def test_essbase_format_loads_into_the_named_cube(client, worker: Worker,
                                                  system: System) -> None:
    text = ('"4110" "FY24" "Actual" "Working" "USD" "P100" "Jan" "E110" 12.5\n'
            '"E120" 7\n'
            '"E999" 1\n')
    job_id = load(client, worker, "essbase.txt", text, cube="Plan1")
    assert record(client, job_id)["status"] == 1
    assert details(client, job_id)["items"][0]["recordsRejected"] == 1
    after = cube_cells(system)
    assert after[cell(ACCT, "Jan", "E110")] == 12.5
    assert after[cell(ACCT, "Jan", "E120")] == 7


def test_a_file_that_cannot_be_read_fails_the_job_and_changes_nothing(
        client, worker: Worker, system: System) -> None:
    load(client, worker, "good.csv", planning_file([("E110", "1", "2", POV)]))
    before = cube_cells(system)
    bad = [("wrong_delimiter.csv", "Entity;Jan;Point-of-View;Data Load Cube Name\n"),
           ("no_header.csv", ""),
           ("latin1.csv", b"Entity,Jan,Point-of-View,Data Load Cube Name\n"
            + b"E110,1,\"\xe9\",Plan1\n"),
           ("unknown_column.csv", "Entity,Smarch,Point-of-View,Data Load Cube Name\n")]
    for name, text in bad:
        job_id = load(client, worker, name, text)
        assert record(client, job_id)["status"] == 1, name
        assert name in record(client, job_id)["details"], name
    job_id = submit(client, submission("IMPORT_DATA", importFileName="absent.csv"))
    worker.drain()
    assert "does not exist" in record(client, job_id)["details"]
    assert cube_cells(system) == before


def test_parameters_are_checked_at_submission(client) -> None:
    for params, text in [
            ({}, "importFileName is required"),
            ({"importFileName": "x.txt"}, "cube is required"),
            ({"importFileName": "x.csv", "loadMode": "merge"}, "loadMode"),
            ({"importFileName": "x.csv", "delimiter": "pipe"}, "delimiter"),
            ({"importFileName": "../x.csv"}, "importFileName")]:
        answer = client.post("/HyperionPlanning/rest/v3/applications/Vision/jobs",
                             auth=("admin", "adminpw"),
                             json=submission("IMPORT_DATA", **params))
        assert answer.json()["status"] == 4, params
        assert text in answer.json()["details"], (params, answer.json())


def test_hostile_and_incomplete_files_get_rejections_not_crashes(client, worker: Worker,
                                                                 system: System) -> None:
    before = cube_cells(system)
    job_id = load(client, worker, "nopov.csv", "Entity,Jan,Data Load Cube Name\nE110,1,Plan1\n")
    assert record(client, job_id)["status"] == 1
    assert "no Point-of-View column" in details(client, job_id, 1)["items"][0]["msgText"]
    huge = "9" * (16 * 2**20) + "x"
    job_id = load(client, worker, "bomb.zip", zip_bytes({"data1-1.csv": huge}))
    assert record(client, job_id)["status"] == 1  # refused as a ZIP bomb, nothing read
    assert "bomb.zip cannot be read" in record(client, job_id)["details"]
    text = planning_file([("E110", "1", "2", POV),
                          ("E110", huge, "2", POV.replace("P100", "P110"))])
    job_id = load(client, worker, "hostile.csv", text + f'E120,1,2,"{POV}",NoSuchCube\n',
                  errorFile="hostile_errors.zip")
    assert record(client, job_id)["status"] == 1, record(client, job_id)
    reasons = [m["msgText"] for m in details(client, job_id, 1)["items"]
               if m["msgType"] == "ERROR"]
    assert reasons[0].startswith("Line 3: The value '9999") and "is not a number" in reasons[0]
    assert reasons[1] == "Line 4: The cube NoSuchCube does not exist in this application."
    errors = read_zip(download(client, "outbox/hostile_errors.zip"))["hostile_errors.csv"]
    assert len(errors) < 20_000  # the 16 MB field is clipped in the error file
    after = cube_cells(system)
    assert {k for k in after if after[k] != before.get(k)} == {
        cell(ACCT, "Jan", "E110"), cell(ACCT, "Feb", "E110")}
