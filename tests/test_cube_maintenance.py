"""The cube-maintenance jobs through real HTTP: each does real work on the cell store."""

from __future__ import annotations

from typing import Any

import pytest

from data_support import cell, cube_cells, planning_file, submission
from epmjobs.jobs.runner import Worker
from epmjobs.storage import cellstore
from epmjobs.system import System
from metadata_support import record, submit, upload

POV = "4110,FY24,Actual,Working,USD,P100"


def run(client, worker: Worker, job_type: str, **params: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The job's record, or the refusal's body when it was refused at submission."""
    answer = client.post("/HyperionPlanning/rest/v3/applications/Vision/jobs",
                         auth=("admin", "adminpw"), json=submission(job_type, **params))
    if answer.status_code != 201:
        return dict(answer.json())
    worker.drain()
    return record(client, int(answer.json()["jobId"]))


def seed(client, worker: Worker, rows: list[tuple[str, ...]]) -> None:  # type: ignore[no-untyped-def]
    upload(client, "seed.csv", planning_file(rows).encode())
    assert run(client, worker, "IMPORT_DATA", importFileName="seed.csv")["status"] == 0


def vision_id(system: System) -> int:
    app = system.stores.apps.get("Vision")
    assert app is not None
    return app.application_id


def test_optimize_aggregation_stores_every_stored_parent(client, worker: Worker,
                                                         system: System) -> None:
    seed(client, worker, [("E110", "10", "20", POV), ("E120", "1", "2", POV)])
    answer = run(client, worker, "OPTIMIZE_AGGREGATION", cubeName="Plan1",
                 type="executeAggregationProcess")
    assert answer["status"] == 0, answer
    cells = cube_cells(system)
    assert cells[cell("4110", "Jan", "United States")] == 11
    assert cells[cell("4110", "Feb", "Total Entity")] == 22
    assert cell("Total Revenue", "Jan", "E110") not in cells  # Dynamic Calc: never stored
    assert cell("4110", "Q1", "E110") not in cells
    refused = run(client, worker, "OPTIMIZE_AGGREGATION", cubeName="Plan1",
                  type="enableQueryTracking")
    assert refused["status"] == 4


def test_merge_data_slices_drops_zero_cells_unless_kept(client, worker: Worker,
                                                        system: System) -> None:
    seed(client, worker, [("E110", "0", "20", POV)])
    assert run(client, worker, "MERGE_DATA_SLICES", cubeName="Plan1", keepZeroCells="true",
               mergeSliceType="allIncrementalSlicesInMain")["status"] == 0
    assert cube_cells(system)[cell("4110", "Jan", "E110")] == 0
    assert run(client, worker, "MERGE_DATA_SLICES", cubeName="Plan1", keepZeroCells=False,
               mergeSliceType="allIncrementalSlicesInOneIncremental")["status"] == 0
    after = cube_cells(system)
    assert cell("4110", "Jan", "E110") not in after
    assert after[cell("4110", "Feb", "E110")] == 20
    assert run(client, worker, "MERGE_DATA_SLICES", cubeName="Plan1")["status"] == 4


def test_restructure_rewrites_fragmented_chunks(client, worker: Worker, system: System,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    app_id = vision_id(system)
    monkeypatch.setattr(cellstore, "CHUNK_CELLS", 4000)
    assert run(client, worker, "RESTRUCTURE_CUBE", cubeName="Plan1")["status"] == 0
    cells = system.stores.cells.cell_count(app_id, "Plan1")
    assert system.stores.cells.chunk_count(app_id, "Plan1") == -(-cells // 4000)
    before = cube_cells(system)
    monkeypatch.setattr(cellstore, "CHUNK_CELLS", 20000)
    assert run(client, worker, "RESTRUCTURE_CUBE", cubeName="Plan1")["status"] == 0
    assert cube_cells(system) == before
    assert system.stores.cells.chunk_count(app_id, "Plan1") == 1  # up to twice the size
    assert run(client, worker, "RESTRUCTURE_CUBE")["status"] == 4


def test_compact_drops_cells_of_deleted_members_for_good(client, worker: Worker,
                                                         system: System) -> None:
    seed(client, worker, [("E110", "1", "2", POV), ("E120", "3", "4", POV)])
    app_id = vision_id(system)
    upload(client, "Entity.csv", b"Entity,Parent,Operation\nE120,United States,delete level 0\n")
    job_id = submit(client, {"jobType": "IMPORT_METADATA", "jobName": "ImportMetadata",
                             "parameters": {"importFileName": "Entity.csv",
                                            "refreshCube": "true"}})
    worker.drain()
    assert record(client, job_id)["status"] == 0, record(client, job_id)
    assert cell("4110", "Jan", "E120") not in cube_cells(system)  # gone on read already
    stale = system.stores.cells.cell_count(app_id, "Plan1")
    assert run(client, worker, "COMPACT_CUBE", cubeName="Plan1")["status"] == 0
    demo_e120 = (20 * 2 + 2) * 12 * 6  # the demo data's E120 cells go too (and its drivers)
    assert system.stores.cells.cell_count(app_id, "Plan1") == stale - 2 - demo_e120
