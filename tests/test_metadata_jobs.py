"""The metadata jobs through real HTTP in process: IMPORT_METADATA, EXPORT_METADATA,
CUBE_REFRESH and SORT_MEMBERS, with inputs uploaded through Oracle's file API, the exact
``/details`` and ``/childjobs/{id}/details`` JSON, and the outline as stored afterwards.

The working outline is what metadata jobs change; the refreshed outline (what data jobs
read) changes only with a cube refresh. ``snapshot`` reads either from the database.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import orjson
import pytest

from conftest import ADMIN
from epmjobs.appfile import create_application, export_application, put_definition
from epmjobs.demo import VISION_FILE
from epmjobs.errors import InvalidRequest
from epmjobs.jobs.runner import Worker
from epmjobs.jobs.status import JobStatus
from epmjobs.planning.outline import (
    load_metadata,
    outline_to_json,
    synthetic_outline,
    vision_outline,
)
from epmjobs.storage.outlinestore import REFRESHED
from epmjobs.system import System
from metadata_support import (
    assert_wire,
    both_stages,
    child_item,
    details,
    download,
    expected_record,
    file_names,
    job_url,
    jobs_path,
    message,
    page,
    read_zip,
    record,
    snapshot,
    submit,
    upload,
    zip_bytes,
)

IMPORT = "Import Metadata"
EXPORT = "Export Metadata"
REFRESH = "Cube Refresh"
SORT = "Sort Members"
VISION_RECORDS = [("Account", 234), ("Period", 18), ("Years", 6), ("Scenario", 3),
                  ("Version", 2), ("Currency", 4), ("Entity", 52), ("Product", 37)]
NEW_OFFICE = "Entity, Parent, Alias: Default\nE999, United States, New Sales Office\n"


def entity(outline_json: dict, name: str) -> dict | None:
    dim = next(d for d in outline_json["dimensions"] if d["name"] == "Entity")
    return next((m for m in dim["members"] if m["name"] == name), None)


def children_of(outline_json: dict, dimension: str, parent: str) -> list[str]:
    dim = next(d for d in outline_json["dimensions"] if d["name"] == dimension)
    return [m["name"] for m in dim["members"] if m["parent"] == parent]


def empty_copy(system: System, name: str, definitions: list[dict]) -> None:
    """An application with Vision's cubes and dimensions and no members."""
    create_application(system, {
        "format": "epmjobs-application/1", "name": name,
        "cubes": [{"name": c.name, "kind": str(c.kind)} for c in vision_outline().cubes],
        "jobDefinitions": definitions,
        "outline": outline_to_json(vision_outline().empty_like())})


# -- IMPORT_METADATA --------------------------------------------------------------------------

def test_import_keeps_applied_records_and_reports_the_rejected_ones_exactly(
        client, worker: Worker, system: System) -> None:
    before_refreshed = snapshot(system, stage=REFRESHED)
    upload(client, "meta.zip", zip_bytes({
        "nightly_Entity.csv": NEW_OFFICE + "E998, Nowhere, Bad parent\n",
        "readme.txt": "not metadata"}))
    job_id = submit(client, {"jobType": "IMPORT_METADATA", "jobName": "ImportMetadata",
                             "parameters": {"importZipFileName": "meta.zip",
                                            "errorFile": "entity_errors"}})
    worker.drain()
    assert_wire(record(client, job_id), expected_record(
        job_id, "ImportMetadata", 1, "One or more child jobs have failed"))
    assert_wire(details(client, job_id), page(
        [child_item(job_id, 1, "Entity", "IMPORT", 1, 2, 1, 1)], f"{job_url(job_id)}/details"))
    assert_wire(details(client, job_id, 1), page([
        message("ERROR", IMPORT, "Line 3: The parent member Nowhere does not exist in the "
                "Entity dimension. Record: E998, Nowhere, Bad parent", 3),
        message("INFO", IMPORT, "Dimension Entity: 2 records read, 1 processed, 1 rejected."),
    ], f"{job_url(job_id)}/childjobs/1/details"))
    assert read_zip(download(client, "outbox/entity_errors.zip")) == {
        "Entity_errors.csv": "Entity, Parent, Alias: Default,Error\nE998, Nowhere, Bad parent,"
                             "Line 3: The parent member Nowhere does not exist in the Entity "
                             "dimension.\n"}
    working, refreshed = both_stages(system)
    assert entity(working, "E999") == {"name": "E999", "parent": "United States",
                                       "alias": {"Default": "New Sales Office"},
                                       "baseCurrency": "USD"}  # inherited from its parent
    assert entity(working, "E998") is None
    assert refreshed == before_refreshed  # refreshCube only follows a successful import


def test_a_successful_import_with_refresh_cube_deploys_the_outline(
        client, worker: Worker, system: System) -> None:
    upload(client, "Vision_metadata.zip", zip_bytes({"upd_Entity.csv": NEW_OFFICE}))
    job_id = submit(client, {"jobType": "Import Metadata", "jobName": "ImportMetadata"})
    worker.drain()
    assert_wire(record(client, job_id), expected_record(
        job_id, "ImportMetadata", 0, "Metadata import was successful"))
    assert_wire(details(client, job_id), page(
        [child_item(job_id, 1, "Entity", "IMPORT", 0, 1, 1, 0)], f"{job_url(job_id)}/details"))
    assert_wire(details(client, job_id, 1), page(
        [message("INFO", IMPORT, "Dimension Entity: 1 records read, 1 processed, 0 rejected.")],
        f"{job_url(job_id)}/childjobs/1/details"))
    working, refreshed = both_stages(system)
    assert entity(refreshed, "E999") is not None and working == refreshed
    assert "outbox/entity_errors.zip" not in file_names(client)  # no errorFile asked for


def test_without_refresh_only_the_working_outline_changes_until_a_cube_refresh(
        client, worker: Worker, system: System) -> None:
    upload(client, "inbox/office_Entity.csv", NEW_OFFICE.encode())
    job_id = submit(client, {"jobType": "IMPORT_METADATA", "jobName": "ImportMetadata",
                             "parameters": {"importFileName": "office_Entity.csv",
                                            "refreshCube": False}})
    worker.drain()
    assert record(client, job_id)["status"] == 0
    working, refreshed = both_stages(system)
    assert entity(working, "E999") is not None and entity(refreshed, "E999") is None
    refresh_id = submit(client, {"jobType": "CUBE_REFRESH", "jobName": "RefreshDB"})
    worker.drain()
    assert record(client, refresh_id)["status"] == 0
    working, refreshed = both_stages(system)
    assert working == refreshed


def test_the_definitions_files_load_with_their_delimiter_and_clear_members(
        client, worker: Worker, system: System) -> None:
    put_definition(system, "Vision", {
        "jobType": "IMPORT_METADATA", "jobName": "Products", "parameters": {
            "dimensions": {"Product": {"fileName": "inbox/products.txt", "delimiter": "pipe",
                                       "clearMembers": True}}}})
    upload(client, "inbox/products.txt",
           b"Product|Parent|Alias: Default\nTotal Product|Product|All\nGadgets|Total Product|"
           b"Gadgets\nG1|Gadgets|Gadget One\nP010|Gadgets|Laptop Pro\n")
    job_id = submit(client, {"jobType": "IMPORT_METADATA", "jobName": "Products"})
    worker.drain()
    assert_wire(record(client, job_id), expected_record(
        job_id, "Products", 0, "Metadata import was successful"))
    child = details(client, job_id, 1)["items"]
    assert [m["msgText"] for m in child] == [
        "Clear Members deleted 35 members of the Product dimension that were not in the file.",
        "Dimension Product: 4 records read, 4 processed, 0 rejected."]
    working = snapshot(system)
    assert children_of(working, "Product", "Product") == ["Total Product"]
    assert children_of(working, "Product", "Total Product") == ["Gadgets"]
    assert children_of(working, "Product", "Gadgets") == ["G1", "P010"]


def test_a_zip_entry_named_like_the_definitions_file_wins_over_a_suffix(
        client, worker: Worker, system: System) -> None:
    put_definition(system, "Vision", {
        "jobType": "IMPORT_METADATA", "jobName": "Offices",
        "parameters": {"dimensions": {"Entity": "offices.csv"}}})
    upload(client, "offices.zip", zip_bytes({
        "sub/OFFICES.csv": NEW_OFFICE, "old_Entity.csv": "Entity, Parent\nE777, Canada\n"}))
    job_id = submit(client, {"jobType": "IMPORT_METADATA", "jobName": "Offices",
                             "parameters": {"importZipFileName": "offices.zip"}})
    worker.drain()
    assert record(client, job_id)["status"] == 0
    working = snapshot(system)
    assert entity(working, "E999") is not None and entity(working, "E777") is None


# -- EXPORT_METADATA --------------------------------------------------------------------------

def test_export_writes_one_csv_per_dimension_with_a_child_job_each(
        client, worker: Worker) -> None:
    job_id = submit(client, {"jobType": "EXPORT_METADATA", "jobName": "ExportMetadata"})
    worker.drain()
    assert_wire(record(client, job_id), expected_record(
        job_id, "ExportMetadata", 0, "Metadata export was successful"))
    assert_wire(details(client, job_id, limit=10), page(
        [child_item(job_id, i, name, "EXPORT", 0, count, count, 0)
         for i, (name, count) in enumerate(VISION_RECORDS, start=1)],
        f"{job_url(job_id)}/details", limit=10))
    assert_wire(details(client, job_id, 7), page(
        [message("INFO", EXPORT, "Dimension Entity: 52 records exported to "
                 "ExportedMetadata_Entity.csv.")], f"{job_url(job_id)}/childjobs/7/details"))
    files = read_zip(download(client, "Vision_metadata.zip"))
    assert list(files) == [f"ExportedMetadata_{name}.csv" for name, _ in VISION_RECORDS]
    assert files["ExportedMetadata_Years.csv"].splitlines()[1] == \
        "FY23,Years,2023,,never share,false,<none>,,,,unspecified,,,true,~,true,~,true,~,true,~"


def test_export_defaults_to_the_job_name_and_can_pick_dimensions(
        client, worker: Worker, system: System) -> None:
    put_definition(system, "Vision", {"jobType": "EXPORT_METADATA", "jobName": "Nightly Dims",
                                      "parameters": {"dimensions": ["entity", "Years"]}})
    job_id = submit(client, {"jobType": "EXPORT_METADATA", "jobName": "nightly dims"})
    worker.drain()
    assert record(client, job_id)["status"] == 0
    assert list(read_zip(download(client, "Nightly Dims.zip"))) == [
        "ExportedMetadata_Entity.csv", "ExportedMetadata_Years.csv"]


def test_export_then_import_into_an_empty_application_reproduces_the_demo_exactly(
        client, worker: Worker, system: System) -> None:
    empty_copy(system, "Copy", [{"jobType": "IMPORT_METADATA", "jobName": "Load",
                                 "parameters": {"importZipFileName": "copy.zip"}}])
    export_id = submit(client, {"jobType": "EXPORT_METADATA", "jobName": "ExportMetadata",
                                "parameters": {"exportZipFileName": "copy"}})
    worker.drain()
    assert record(client, export_id)["status"] == 0
    import_id = submit(client, {"jobType": "IMPORT_METADATA", "jobName": "Load"}, app="Copy")
    worker.drain()
    assert record(client, import_id, app="Copy")["status"] == 0
    assert snapshot(system, "Copy") == snapshot(system, "Vision") == outline_to_json(
        vision_outline())


def test_export_then_import_reproduces_a_large_generated_outline_exactly(
        client, worker: Worker, system: System) -> None:
    big = synthetic_outline(20_000, seed=11)
    create_application(system, {
        "format": "epmjobs-application/1", "name": "Big",
        "cubes": [{"name": c.name, "kind": str(c.kind)} for c in big.cubes],
        "jobDefinitions": [{"jobType": "EXPORT_METADATA", "jobName": "Out"}],
        "outline": outline_to_json(big)})
    create_application(system, {
        "format": "epmjobs-application/1", "name": "Empty",
        "cubes": [{"name": c.name, "kind": str(c.kind)} for c in big.cubes],
        "jobDefinitions": [{"jobType": "IMPORT_METADATA", "jobName": "In",
                            "parameters": {"importZipFileName": "Out.zip"}}],
        "outline": outline_to_json(big.empty_like())})
    submit(client, {"jobType": "EXPORT_METADATA", "jobName": "Out"}, app="Big")
    import_id = submit(client, {"jobType": "IMPORT_METADATA", "jobName": "In"}, app="Empty")
    worker.drain()
    assert record(client, import_id, app="Empty")["status"] == 0
    assert snapshot(system, "Empty") == snapshot(system, "Big") == outline_to_json(big)


# -- CUBE_REFRESH -----------------------------------------------------------------------------

def test_cube_refresh_reports_each_cube_and_sets_the_login_level_after(
        client, worker: Worker, system: System) -> None:
    job_id = submit(client, {"jobType": "CUBE_REFRESH", "jobName": "RefreshDB", "parameters": {
        "allowedUsersDuringCubeRefresh": "   All Users",
        "allowedUsersAfterCubeRefresh": "administrators",
        "terminateActiveRequestsBeforeCubeRefresh": "true"}})
    worker.drain()
    assert_wire(record(client, job_id), expected_record(
        job_id, "RefreshDB", 0, "Cube refresh completed successfully."))
    assert_wire(details(client, job_id), page([
        message("INFO", REFRESH, "Cube Plan1: 8 dimensions, 364 members."),
        message("INFO", REFRESH, "Cube Plan2: 8 dimensions, 296 members."),
        message("INFO", REFRESH, "Cube Plan3: 7 dimensions, 326 members."),
        message("INFO", REFRESH, "Cube Vis1ASO: 8 dimensions, 292 members."),
        message("INFO", REFRESH, "Dimensions changed since the last refresh: none."),
        message("INFO", REFRESH, "Application Vision login level after the refresh: "
                "Administrators."),
    ], f"{job_url(job_id)}/details"))
    app = system.stores.apps.get("Vision")
    assert app is not None and app.admin_mode


def test_cube_refresh_refuses_an_invalid_outline_and_changes_nothing(
        client, worker: Worker, system: System) -> None:
    upload(client, "inbox/nowhere_Entity.csv", b"Entity, Parent, Plan Type (Plan1), Plan Type "
           b"(Plan2), Plan Type (Plan3), Plan Type (Vis1ASO)\nE999, United States, false, false,"
           b" false, false\n")
    submit(client, {"jobType": "IMPORT_METADATA", "jobName": "ImportMetadata",
                    "parameters": {"importFileName": "nowhere_Entity.csv",
                                   "refreshCube": "false"}})
    worker.drain()
    _, refreshed_before = both_stages(system)
    job_id = submit(client, {"jobType": "CUBE_REFRESH", "jobName": "RefreshDB",
                             "parameters": {"allowedUsersAfterCubeRefresh": "Administrators"}})
    worker.drain()
    problem = "Entity: The member E999 is valid for no cube of the Entity dimension."
    failure = f"The cube refresh failed: the outline has 1 error: {problem}"
    assert_wire(record(client, job_id), expected_record(job_id, "RefreshDB", 1, failure))
    assert_wire(details(client, job_id), page(
        [message("ERROR", REFRESH, problem), message("ERROR", "Job", failure)],
        f"{job_url(job_id)}/details"))
    assert snapshot(system, stage=REFRESHED) == refreshed_before
    app = system.stores.apps.get("Vision")
    assert app is not None and not app.admin_mode


def test_refresh_cube_after_an_import_that_leaves_the_outline_invalid_keeps_the_import(
        client, worker: Worker, system: System) -> None:
    refreshed_before = snapshot(system, stage=REFRESHED)
    upload(client, "bad.zip", zip_bytes({"x_Entity.csv": (
        "Entity, Parent, Plan Type (Plan1), Plan Type (Plan2), Plan Type (Plan3), "
        "Plan Type (Vis1ASO)\nE999, United States, false, false, false, false\n")}))
    job_id = submit(client, {"jobType": "IMPORT_METADATA", "jobName": "ImportMetadata",
                             "parameters": {"importZipFileName": "bad.zip"}})
    worker.drain()
    assert_wire(record(client, job_id), expected_record(
        job_id, "ImportMetadata", 1, "Metadata import was successful, but the cube refresh "
        "failed: the outline has 1 error: Entity: The member E999 is valid for no cube of the "
        "Entity dimension."))
    assert details(client, job_id)["items"][0]["status"] == 0  # the child itself succeeded
    working, refreshed = both_stages(system)
    assert entity(working, "E999") is not None and refreshed == refreshed_before


# -- SORT_MEMBERS -----------------------------------------------------------------------------

def test_sort_members_sorts_the_working_outline_only(
        client, worker: Worker, system: System) -> None:
    job_id = submit(client, {"jobType": "SORT_MEMBERS", "parameters": {
        "member": "total entity", "order": "Descending"}})
    worker.drain()
    text = "The children of Total Entity were sorted in descending order."
    assert_wire(record(client, job_id), expected_record(job_id, "Sort Members", 0, text))
    assert_wire(details(client, job_id), page([message("INFO", SORT, text)],
                                              f"{job_url(job_id)}/details"))
    working, refreshed = both_stages(system)
    assert children_of(working, "Entity", "Total Entity") == ["North America", "EMEA", "APAC"]
    assert children_of(refreshed, "Entity", "Total Entity") == ["North America", "EMEA", "APAC"]
    saved = submit(client, {"jobType": "SORT_MEMBERS", "jobName": "SortProducts"})
    worker.drain()
    assert record(client, saved)["details"] == \
        "The descendants of Total Product were sorted in ascending order."
    working = snapshot(system)
    assert children_of(working, "Product", "Total Product") == ["Hardware", "Services",
                                                                "Software"]
    assert children_of(working, "Product", "Hardware") == ["Computers", "Infrastructure",
                                                           "Peripherals"]
    assert children_of(working, "Entity", "Total Entity") == ["North America", "EMEA", "APAC"]


def test_sorted_order_reaches_the_refreshed_outline_with_a_refresh(
        client, worker: Worker, system: System) -> None:
    submit(client, {"jobType": "SORT_MEMBERS", "parameters": {"member": "Total Entity"}})
    submit(client, {"jobType": "CUBE_REFRESH", "jobName": "RefreshDB"})
    worker.drain()
    assert children_of(snapshot(system, stage=REFRESHED), "Entity", "Total Entity") == [
        "APAC", "EMEA", "North America"]


@pytest.mark.parametrize(("params", "text"), [
    ({}, "Parameter member is required."),
    ({"member": "Product", "order": "sideways"},
     "Invalid value 'sideways' for parameter order; allowed values: ascending, descending."),
    ({"member": "Product", "type": "siblings"},
     "Invalid value 'siblings' for parameter type; allowed values: children, descendants."),
])
def test_sort_members_refuses_bad_parameters_at_submission(client, params, text) -> None:
    answer = client.post(jobs_path(), auth=ADMIN, json={"jobType": "SORT_MEMBERS",
                                                        "parameters": params})
    assert answer.status_code == 400
    assert_wire(answer.json(), {"descriptiveStatus": "Invalid Parameter", "jobId": -1,
                                "status": 4, "details": text, "jobName": "Sort Members",
                                "links": None})


@pytest.mark.parametrize(("member", "text"), [
    ("Nobody", "The member Nobody does not exist in this application."),
    ("YearTotal", "Members of the Period dimension (Period) cannot be sorted."),
    ("Product", "The sort was not saved: a cube refresh would refuse the result. Product: The "
                "shared member P010 (under Top Sellers) comes before its base member in outline "
                "order."),
])
def test_sort_members_of_an_unknown_or_unsortable_member_fails_and_changes_nothing(
        client, worker: Worker, system: System, member: str, text: str) -> None:
    before = both_stages(system)
    job_id = submit(client, {"jobType": "SORT_MEMBERS", "parameters": {"member": member}})
    worker.drain()
    assert_wire(record(client, job_id), expected_record(job_id, "Sort Members", 1, text))
    assert both_stages(system) == before


# -- cancellation -----------------------------------------------------------------------------

def test_an_import_cancelled_while_it_runs_changes_nothing(
        client, worker: Worker, system: System) -> None:
    before = both_stages(system)
    upload(client, "Vision_metadata.zip", zip_bytes({"x_Entity.csv": NEW_OFFICE}))
    job_id = submit(client, {"jobType": "IMPORT_METADATA", "jobName": "ImportMetadata",
                             "parameters": {"errorFile": "errors.zip"}})
    jobs = system.stores.jobs
    job = jobs.claim_next(worker.worker_id, time.time())
    assert job is not None and job.job_id == job_id
    assert jobs.request_cancel(job_id, time.time()) is JobStatus.CANCEL_PENDING
    worker.execute(job)
    assert_wire(record(client, job_id), expected_record(
        job_id, "ImportMetadata", 3, "The job was cancelled."))
    assert both_stages(system) == before
    assert "outbox/errors.zip" not in file_names(client)


# -- bad input: a rejected record with its line, or a failed file, or a failed job ------------

RECORD_CASES = {
    "unknown property value": (
        "Entity, Parent, Data Storage\nE999, United States, Stored\n", 2,
        "Invalid value 'Stored' for Data Storage: use Store, Never Share, Label Only, Shared, "
        "Dynamic Calc and Store or Dynamic Calc.", "E999, United States, Stored"),
    "bad operator": (
        "Entity, Parent, Aggregation (Plan1)\nE999, United States, #\n", 2,
        "Invalid value '#' for Aggregation (Plan1): use +, -, *, /, %, ~ or ^.",
        "E999, United States, #"),
    "a cycle": (
        "Entity, Parent\n\nUnited States, E110\n", 3,
        "The member United States cannot be moved under E110: E110 is United States itself or "
        "one of its descendants.", "United States, E110"),
    "a member under itself": (
        "Entity, Parent\nE110, E110\n", 2,
        "The member E110 cannot be moved under E110: E110 is E110 itself or one of its "
        "descendants.", "E110, E110"),
    "a name too long": (
        "Entity, Parent\n" + "X" * 81 + ", United States\n", 2,
        f"The member name '{'X' * 81}' is 81 characters long; the limit is 80.",
        "X" * 81 + ", United States"),
    "a forbidden character": (
        "Entity, Parent\nBad/Name, United States\n", 2,
        "The member name 'Bad/Name' contains the character '/', which is not allowed in member "
        "names.", "Bad/Name, United States"),
    "an unclosed quote": (
        'Entity, Parent, Description\nE999, United States, "open\n', 2,
        "A quoted field is not closed before the end of the file.",
        'E999, United States, "open'),
}


@pytest.mark.parametrize("case", list(RECORD_CASES))
def test_a_bad_record_is_rejected_with_its_line_and_changes_nothing(
        client, worker: Worker, system: System, case: str) -> None:
    text, line, reason, shown = RECORD_CASES[case]
    before = both_stages(system)
    upload(client, "bad.zip", zip_bytes({"x_Entity.csv": text}))
    job_id = submit(client, {"jobType": "IMPORT_METADATA", "jobName": "ImportMetadata",
                             "parameters": {"importZipFileName": "bad.zip"}})
    worker.drain()
    assert_wire(record(client, job_id), expected_record(
        job_id, "ImportMetadata", 1, "One or more child jobs have failed"))
    assert_wire(details(client, job_id)["items"],
                [child_item(job_id, 1, "Entity", "IMPORT", 1, 1, 0, 1)])
    assert_wire(details(client, job_id, 1)["items"], [
        message("ERROR", IMPORT, f"Line {line}: {reason} Record: {shown}", line),
        message("INFO", IMPORT, "Dimension Entity: 1 records read, 0 processed, 1 rejected.")])
    assert details(client, job_id, 1, q='{"messageType":"ERROR"}')["totalResults"] == 1
    assert both_stages(system) == before


FILE_CASES = {
    "wrong headers": (
        b"Entity, Parent, Colour\nE999, United States, red\n",
        "Unrecognized column header value(s): 'Colour'. Column headers are case sensitive; "
        "alias tables, cubes and attribute dimensions must exist."),
    "another dimension's header": (
        b"Account, Parent\nE999, United States\n",
        "The file is for the dimension Account, not Entity."),
    "UTF-16": (
        NEW_OFFICE.encode("utf-16"),
        "The file x_Entity.csv is encoded in UTF-16. Metadata files must be UTF-8 (with or "
        "without a byte order mark): save it as UTF-8 and import it again."),
    "Latin-1": (
        "Entity, Parent\nEspaña, United States\n".encode("latin-1"),
        "The file x_Entity.csv is not UTF-8 encoded: the byte 0xF1 on line 2 (offset 19) is "
        "not valid UTF-8. Metadata files must be UTF-8 (with or without a byte order mark): "
        "save it as UTF-8 and import it again."),
    "an empty file": (
        b"", "The file x_Entity.csv is empty: it has no header record."),
    "a BOM and nothing else": (
        b"\xef\xbb\xbf\n\n", "The file x_Entity.csv is empty: it has no header record."),
}


@pytest.mark.parametrize("case", list(FILE_CASES))
def test_a_file_that_cannot_load_fails_its_child_and_changes_nothing(
        client, worker: Worker, system: System, case: str) -> None:
    data, problem = FILE_CASES[case]
    before = both_stages(system)
    upload(client, "bad.zip", zip_bytes({"x_Entity.csv": data}))
    job_id = submit(client, {"jobType": "IMPORT_METADATA", "jobName": "ImportMetadata",
                             "parameters": {"importZipFileName": "bad.zip"}})
    worker.drain()
    assert_wire(record(client, job_id), expected_record(
        job_id, "ImportMetadata", 1, "One or more child jobs have failed"))
    assert_wire(details(client, job_id)["items"],
                [child_item(job_id, 1, "Entity", "IMPORT", 1, 0, 0, 0)])
    assert_wire(details(client, job_id, 1)["items"], [message("ERROR", IMPORT, problem)])
    assert both_stages(system) == before


EXPECTED_NAMES = ", ".join(f"{n}.csv or *_{n}.csv" for n, _ in VISION_RECORDS)
JOB_CASES = {
    "a ZIP with nothing that matches": (
        zip_bytes({"readme.txt": "hello", "Entity_2024.csv": NEW_OFFICE}),
        f"The ZIP file bad.zip has no file for any dimension of this job (expected "
        f"{EXPECTED_NAMES})."),
    "zip slip": (
        zip_bytes({"../x_Entity.csv": NEW_OFFICE}),
        "The file bad.zip cannot be read: The ZIP file has an entry with an unsafe name: "
        "'../x_Entity.csv'."),
    "not a ZIP": (
        b"Entity, Parent\n", "The file bad.zip cannot be read: The file is not a valid ZIP "
        "file: File is not a zip file."),
    "no such file": (
        None, "The file bad.zip does not exist in the file repository (nor in inbox/)."),
}


@pytest.mark.parametrize("case", list(JOB_CASES))
def test_a_job_level_problem_fails_the_job_without_children_and_changes_nothing(
        client, worker: Worker, system: System, case: str) -> None:
    data, problem = JOB_CASES[case]
    before = both_stages(system)
    if data is not None:
        upload(client, "bad.zip", data)
    job_id = submit(client, {"jobType": "IMPORT_METADATA", "jobName": "ImportMetadata",
                             "parameters": {"importZipFileName": "bad.zip",
                                            "errorFile": "errors"}})
    worker.drain()
    assert_wire(record(client, job_id), expected_record(job_id, "ImportMetadata", 1, problem))
    assert_wire(details(client, job_id), page([message("ERROR", "Job", problem)],
                                              f"{job_url(job_id)}/details"))
    assert both_stages(system) == before
    assert "outbox/errors.zip" not in file_names(client)


def test_a_byte_order_mark_is_accepted(client, worker: Worker, system: System) -> None:
    upload(client, "bom.zip", zip_bytes({"x_Entity.csv": b"\xef\xbb\xbf" + NEW_OFFICE.encode()}))
    job_id = submit(client, {"jobType": "IMPORT_METADATA", "jobName": "ImportMetadata",
                             "parameters": {"importZipFileName": "bom.zip"}})
    worker.drain()
    assert record(client, job_id)["status"] == 0
    assert entity(snapshot(system), "E999") is not None


@pytest.mark.parametrize(("body", "text"), [
    ({"jobType": "IMPORT_METADATA", "jobName": "ImportMetadata",
      "parameters": {"dimensions": []}},
     "Parameter dimensions must be an object that maps dimension names to file names."),
    ({"jobType": "IMPORT_METADATA", "jobName": "ImportMetadata",
      "parameters": {"dimensions": {"Entity": {"delimiter": ","}}}},
     "Parameter dimensions.Entity needs a fileName."),
    ({"jobType": "IMPORT_METADATA", "jobName": "ImportMetadata",
      "parameters": {"delimiter": "+"}},
     "Invalid value for parameter delimiter: The delimiter '+' cannot be used for metadata "
     "files: it is an operator value."),
    ({"jobType": "IMPORT_METADATA", "jobName": "ImportMetadata",
      "parameters": {"errorFile": "../up.zip"}},
     "Invalid value for parameter errorFile: Invalid file name '../up.zip': it must stay "
     "inside the repository."),
    ({"jobType": "IMPORT_METADATA", "jobName": "ImportMetadata",
      "parameters": {"refreshCube": "maybe"}},
     "Invalid value 'maybe' for parameter refreshCube; use true or false."),
    ({"jobType": "EXPORT_METADATA", "jobName": "ExportMetadata",
      "parameters": {"exportZipFileName": "/etc/x"}},
     "Invalid value for parameter exportZipFileName: Invalid file name '/etc/x.zip': absolute "
     "paths are not allowed."),
    ({"jobType": "EXPORT_METADATA", "jobName": "ExportMetadata",
      "parameters": {"dimensions": {"Entity": 1}}},
     "Parameter dimensions must be a list of dimension names."),
    ({"jobType": "CUBE_REFRESH", "jobName": "RefreshDB",
      "parameters": {"allowedUsersAfterCubeRefresh": "Nobody"}},
     "Invalid value 'Nobody' for parameter allowedUsersAfterCubeRefresh; allowed values: "
     "Administrators, All Users."),
    ({"jobType": "CUBE_REFRESH", "jobName": "RefreshDB",
      "parameters": {"logOffAllUsersBeforeCubeRefresh": "yes"}},
     "Invalid value 'yes' for parameter logOffAllUsersBeforeCubeRefresh; use true or false."),
])
def test_bad_parameters_are_refused_at_submission_with_status_4(client, body, text) -> None:
    answer = client.post(jobs_path(), auth=ADMIN, json=body)
    assert answer.status_code == 400
    assert_wire(answer.json(), {"descriptiveStatus": "Invalid Parameter", "jobId": -1,
                                "status": 4, "details": text, "jobName": body["jobName"],
                                "links": None})


def test_a_dimension_the_application_lacks_fails_its_child_only(
        client, worker: Worker, system: System) -> None:
    put_definition(system, "Vision", {
        "jobType": "IMPORT_METADATA", "jobName": "Two",
        "parameters": {"dimensions": {"Entity": "inbox/ent.csv", "Region": "inbox/region.csv"}}})
    upload(client, "inbox/ent.csv", NEW_OFFICE.encode())
    upload(client, "inbox/region.csv", b"Region, Parent\nNorth, Region\n")
    job_id = submit(client, {"jobType": "IMPORT_METADATA", "jobName": "Two"})
    worker.drain()
    assert record(client, job_id)["details"] == "One or more child jobs have failed"
    assert_wire(details(client, job_id)["items"], [
        child_item(job_id, 1, "Entity", "IMPORT", 0, 1, 1, 0),
        child_item(job_id, 2, "Region", "IMPORT", 1, 0, 0, 0)])
    assert_wire(details(client, job_id, 2)["items"], [message(
        "ERROR", IMPORT, "The dimension Region does not exist in the application Vision.")])
    assert entity(snapshot(system), "E999") is not None  # the Entity child's work is kept


# -- application definition files -------------------------------------------------------------

def test_the_demo_file_holds_the_vision_outline() -> None:
    assert orjson.loads(VISION_FILE.read_bytes())["outline"] == outline_to_json(vision_outline())


def test_an_application_file_round_trips_its_outline(system: System) -> None:
    doc = export_application(system, "Vision")
    assert list(doc) == ["format", "name", "appType", "cubes", "jobDefinitions",
                         "substitutionVariables", "outline"]
    assert doc["outline"] == outline_to_json(vision_outline())
    create_application(system, {**doc, "name": "Twin"})
    assert export_application(system, "Twin") == {**doc, "name": "Twin"}
    assert both_stages(system, "Twin") == both_stages(system, "Vision")


def test_an_application_file_with_an_outline_a_refresh_refuses_starts_unrefreshed(
        system: System) -> None:
    nowhere = load_metadata(vision_outline(), (
        b"Entity, Parent, Plan Type (Plan1), Plan Type (Plan2), Plan Type (Plan3), "
        b"Plan Type (Vis1ASO)\nE999, United States, false, false, false, false\n"),
        dimension="Entity").outline  # a member valid for no cube
    create_application(system, {
        "format": "epmjobs-application/1", "name": "Draft",
        "cubes": [{"name": c.name, "kind": str(c.kind)} for c in nowhere.cubes],
        "outline": outline_to_json(nowhere)})
    working, refreshed = both_stages(system, "Draft")
    assert working == outline_to_json(nowhere)
    assert refreshed == {"aliasTables": ["Default"], "dimensions": []}


def test_an_application_file_with_a_broken_outline_is_refused(system: System) -> None:
    with pytest.raises(InvalidRequest, match="the parent Nowhere does not exist"):
        create_application(system, {
            "format": "epmjobs-application/1", "name": "Broken",
            "cubes": [{"name": "Plan1", "kind": "BSO"}],
            "outline": {"dimensions": [{"name": "Entity", "type": "Entity", "members": [
                {"name": "E1", "parent": "Nowhere"}]}]}})
    assert system.stores.apps.get("Broken") is None


# -- the docs stay honest ---------------------------------------------------------------------

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _json_blocks(name: str) -> list[dict]:
    text = (DOCS / name).read_text()
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, re.S)]


def test_the_application_file_example_creates_what_it_says(system: System) -> None:
    [doc] = _json_blocks("application-files.md")
    create_application(system, {**doc, "name": "Example"})
    exported = export_application(system, "Example")
    assert exported["outline"]["dimensions"][1]["members"][-1] == {
        "name": "P010", "parent": "Top Sellers", "shared": True}
    assert both_stages(system, "Example")[0] == both_stages(system, "Example")[1]


def test_the_saved_import_job_example_is_accepted(client, system: System) -> None:
    definition, message_example = _json_blocks("outline.md")
    put_definition(system, "Vision", definition)
    answer = client.post(jobs_path(), auth=ADMIN, json={"jobType": "IMPORT_METADATA",
                                                        "jobName": definition["jobName"]})
    assert answer.status_code == 201, answer.text
    assert set(message_example) == {"msgType", "msgCategory", "recordNumber", "msgText"}
