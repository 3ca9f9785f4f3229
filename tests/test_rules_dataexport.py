"""DATAEXPORT in RULES jobs through real HTTP: the file lands in the repository with the
job's end, holds the cells of the FIX as they were at that statement, in the layout the
options ask for; nothing is written when the rule fails, and bad names and existing files
fail the rule with a clear text."""

from __future__ import annotations

from typing import Any

import pytest

from data_support import cube_cells
from epmjobs.errors import InvalidRequest, NotFound
from epmjobs.jobs.runner import Worker
from epmjobs.jobs.types.rule_exports import repository_name
from epmjobs.system import System
from test_rules_jobs import run, store_rule

REGION = '"FY25", "Plan", "Working", "USD", "E110", "P010", "4010", "Jan":"Mar"'
HEADER = ('SET DATAEXPORTOPTIONS { DataExportColHeader "Period"; DataExportDimHeader ON; '
          "DataExportOverwriteFile ON; };\n")


def read(system: System, name: str) -> str:
    with system.stores.files.open(name) as raw:
        text: str = raw.read().decode("utf-8")
    return text


def exists(system: System, name: str) -> bool:
    try:
        system.stores.files.stat(name)
    except NotFound:
        return False
    return True


def test_a_rule_exports_the_cells_of_its_fix_as_they_are_at_that_statement(
        client: Any, worker: Worker, system: System) -> None:
    script = (HEADER + f'FIX ({REGION})\n  "4010" = 7;\n'
              '  DATAEXPORT "File" "," "/u03/lcm/plan.txt" "#MI";\n  "4010" = 8;\nENDFIX')
    store_rule(system, "Export", script)
    answer = run(client, worker, "RULES", "Export")
    assert answer["status"] == 0, answer["details"]
    lines = read(system, "plan.txt").splitlines()
    dims = lines[0].split(",")[:-3]
    assert lines[0].split(",")[-3:] == ['"Jan"', '"Feb"', '"Mar"']
    assert '"Account"' in dims and '"Period"' not in dims
    row = dict(zip(dims, lines[1].split(","), strict=False))
    assert (row['"Account"'], row['"Entity"'], lines[1].split(",")[-3:]) == (
        '"4010"', '"E110"', ["7", "7", "7"])
    assert len(lines) == 2
    after = cube_cells(system)
    assert {v for k, v in after.items() if k[0] == "4010" and k[1] in ("Jan", "Feb", "Mar")
            and "E110" in k and "P010" in k and "Plan" in k and "Working" in k
            and "FY25" in k and "USD" in k} == {8.0}


def test_a_cell_list_in_the_outbox_without_quotes(client: Any, worker: Worker,
                                                  system: System) -> None:
    script = ('SET DATAEXPORTOPTIONS { DataExportColFormat OFF; DataExportRelationalFile ON; '
              'DataExportOverwriteFile ON; };\n'
              f'FIX ({REGION}) "4010" = 2.5; DATAEXPORT "File" "|" "/u03/outbox/cells.txt"; '
              "ENDFIX")
    store_rule(system, "Cells", script)
    assert run(client, worker, "RULES", "Cells")["status"] == 0
    lines = read(system, "outbox/cells.txt").splitlines()
    assert len(lines) == 3
    assert all(line.endswith("|2.5") and '"' not in line for line in lines)
    assert [line.split("|")[1] for line in lines] == ["Jan", "Feb", "Mar"]


def test_a_failing_rule_writes_no_file_and_changes_no_cell(client: Any, worker: Worker,
                                                           system: System) -> None:
    store_rule(system, "Fails", f'FIX ({REGION}) "4010" = 3; '
                                'DATAEXPORT "File" "," "never.txt"; ENDFIX\n'
                                'FIX ("E999") "4010" = 1; ENDFIX')
    before = cube_cells(system)
    answer = run(client, worker, "RULES", "Fails")
    assert answer["status"] == 1
    assert not exists(system, "never.txt")
    assert cube_cells(system) == before


def test_an_existing_file_is_kept_unless_overwrite_is_on(client: Any, worker: Worker,
                                                         system: System) -> None:
    store_rule(system, "Twice", f'FIX ({REGION}) DATAEXPORT "File" "," "twice.txt"; ENDFIX')
    assert run(client, worker, "RULES", "Twice")["status"] == 0
    first = read(system, "twice.txt")
    answer = run(client, worker, "RULES", "Twice")
    assert (answer["status"], answer["details"]) == (
        1, "The rule Twice failed: DATAEXPORT: the file twice.txt already exists; set "
           "DataExportOverwriteFile ON to replace it.")
    assert read(system, "twice.txt") == first


def test_a_dry_run_writes_nothing(client: Any, worker: Worker, system: System) -> None:
    store_rule(system, "Dry", 'SET DATAEXPORTOPTIONS { DataExportDryRun ON; };\n'
                              f'FIX ({REGION}) DATAEXPORT "File" "," "dry.txt"; ENDFIX')
    assert run(client, worker, "RULES", "Dry")["status"] == 0
    assert not exists(system, "dry.txt")


@pytest.mark.parametrize(("target", "reason"), [
    ("../escape.txt", "it must stay inside the repository"),
    ("/etc/passwd", "absolute paths are not allowed"),
    ("/u03/lcm/../../x.txt", "it must stay inside the repository"),
])
def test_a_hostile_file_name_fails_the_rule(client: Any, worker: Worker, system: System,
                                            target: str, reason: str) -> None:
    store_rule(system, "Hostile", f'FIX ({REGION}) DATAEXPORT "File" "," "{target}"; ENDFIX')
    answer = run(client, worker, "RULES", "Hostile")
    assert answer["status"] == 1
    assert answer["details"].startswith("The rule Hostile failed: DATAEXPORT: Invalid file")
    assert reason in answer["details"]


@pytest.mark.parametrize(("statement", "message"), [
    ('DATAEXPORT "Binfile" "x.bin";', 'DATAEXPORT "Binfile" is not supported'),
    ('DATAEXPORT "File" "x" "a.txt";', "the DATAEXPORT delimiter 'x' is not one of"),
    ('SET DATAEXPORTOPTIONS { DataExportColHeader "Nope"; }; DATAEXPORT "File" "," "a.txt";',
     "DataExportColHeader names Nope, which is not a dimension"),
    ('SET DATAEXPORTOPTIONS { DataExportShiny ON; };', "unknown DATAEXPORTOPTIONS option"),
])
def test_bad_dataexport_statements_fail_with_their_position(
        client: Any, worker: Worker, system: System, statement: str, message: str) -> None:
    store_rule(system, "BadExport", statement)
    answer = run(client, worker, "RULES", "BadExport")
    assert answer["status"] == 1
    assert "line 1, column" in answer["details"] and message in answer["details"]


def test_pod_folders_map_to_the_repository() -> None:
    assert repository_name("/u03/lcm/a.txt") == "a.txt"
    assert repository_name("/U03/INBOX/sub/a.txt") == "inbox/sub/a.txt"
    assert repository_name("a.txt") == "a.txt"
    with pytest.raises(InvalidRequest):
        repository_name("/u03/other/a.txt")
