"""The cell store on SQLite and PostgreSQL: exact round trips, chunk-level rewrites,
reading data stored under an older outline, and refusing a write over a change the
writer did not see. Plus IMPORT_DATA and EXPORT_DATA jobs on both databases."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from data_support import planning_file
from epmjobs.errors import Conflict
from epmjobs.jobs.runner import Worker
from epmjobs.jobs.service import Submission
from epmjobs.jobs.status import JobStatus
from epmjobs.planning.cube.cells import Cells
from epmjobs.planning.cube.layout import CubeLayout
from epmjobs.security.roles import Principal, Role
from epmjobs.storage import cellstore
from epmjobs.storage.cellstore import StoredCells
from epmjobs.system import System

pytestmark = pytest.mark.parametrize("any_system", ["sqlite", "postgresql"], indirect=True)
ADMIN = Principal("admin", Role.SERVICE_ADMINISTRATOR)


def vision(system: System) -> tuple[int, CubeLayout]:
    from epmjobs.planning.cube.model import cube_model

    app = system.stores.apps.get("Vision")
    assert app is not None
    outline = system.stores.outlines.refreshed(app).outline
    return app.application_id, cube_model(outline, "Plan1").layout


def test_cells_round_trip_exactly_and_only_changed_chunks_are_rewritten(
        any_system: System, monkeypatch: pytest.MonkeyPatch) -> None:
    store = any_system.stores.cells
    app_id, layout = vision(any_system)
    read = store.load(app_id, "Plan1", layout)
    assert len(read.cells) > 39_000  # the demo data
    monkeypatch.setattr(cellstore, "CHUNK_CELLS", 5000)
    with any_system.db.transaction() as conn:
        store.save(conn, app_id, "Plan1", layout, read.cells, read=read, rechunk=True)
    chunked = store.load(app_id, "Plan1", layout)
    assert np.array_equal(chunked.cells.keys, read.cells.keys)
    assert np.array_equal(chunked.cells.values, read.cells.values)
    assert len(chunked.chunk_keys) == -(-len(read.cells) // 5000)
    changed = chunked.cells.merge(Cells(chunked.cells.keys[-1:], np.array([-0.5])))
    with any_system.db.transaction() as conn:
        written = store.save(conn, app_id, "Plan1", layout, changed, read=chunked)
    assert written == 1
    again = store.load(app_id, "Plan1", layout)
    assert again.cells.values[-1] == -0.5 and again.revision == chunked.revision + 1
    assert np.array_equal(again.cells.values[:-1], read.cells.values[:-1])


def test_a_write_over_an_unseen_change_is_refused(any_system: System) -> None:
    store = any_system.stores.cells
    app_id, layout = vision(any_system)
    first = store.load(app_id, "Plan1", layout)
    second = store.load(app_id, "Plan1", layout)
    with any_system.db.transaction() as conn:
        store.save(conn, app_id, "Plan1", layout, Cells.empty(), read=first)
    with pytest.raises(Conflict), any_system.db.transaction() as conn:
        store.save(conn, app_id, "Plan1", layout, second.cells, read=second)
    assert len(store.load(app_id, "Plan1", layout).cells) == 0


def test_cells_stored_under_an_older_layout_are_read_under_the_new_one(
        any_system: System) -> None:
    store = any_system.stores.cells
    app_id, layout = vision(any_system)
    read = store.load(app_id, "Plan1", layout)
    # The same members, every dimension in reverse node order (as if a refresh moved them).
    older = CubeLayout(layout.dimensions, tuple(ids[::-1] for ids in layout.member_ids))
    coords = layout.unpack(read.cells.keys)
    reversed_keys = older.pack([len(ids) - 1 - c for ids, c in zip(
        layout.member_ids, coords, strict=True)])
    with any_system.db.transaction() as conn:
        store.drop(conn, app_id, "Plan1")
        store.save(conn, app_id, "Plan1", older, Cells.build(reversed_keys, read.cells.values),
                   read=StoredCells(Cells.empty(), 0))
    mapped = store.load(app_id, "Plan1", layout)
    assert np.array_equal(mapped.cells.keys, read.cells.keys)
    assert np.array_equal(mapped.cells.values, read.cells.values)


def test_import_and_export_jobs_run_on_each_database(any_system: System, tmp_path) -> None:  # type: ignore[no-untyped-def]
    files = any_system.stores.files
    upload = tmp_path / "in.csv"
    upload.write_text(planning_file([("E110", "1.5", "-2", "4110,FY24,Actual,Working,USD,P100")]))
    files.publish(upload, "inbox/in.csv")
    service = any_system.job_service
    imported = service.submit(ADMIN, "Vision", Submission("IMPORT_DATA", None,
                                                          {"importFileName": "in.csv"}))
    Worker(any_system, "w").drain()
    exported = service.submit(ADMIN, "Vision", Submission("EXPORT_DATA", None, {
        "cube": "Plan1", "exportFileName": "out.zip", "rowMembers": "E110",
        "columnMembers": "Jan,Feb", "povMembers": "4110,FY24,Actual,Working,USD,P100"}))
    Worker(any_system, "w").drain()
    assert service.get(ADMIN, "Vision", imported.job_id).status == JobStatus.SUCCESS
    assert service.get(ADMIN, "Vision", exported.job_id).status == JobStatus.SUCCESS
    data = b"".join(files.read("out.zip"))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.read("out.csv").decode().splitlines()[1] == (
            'E110,1.5,-2,"4110,FY24,Actual,Working,USD,P100",Plan1')
