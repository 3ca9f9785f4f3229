"""The Planning data format reader on a small outline: typed values (dates) and rejections."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cube_support import Grid, member, outline
from epmjobs.errors import DataFileError
from epmjobs.planning.data.planning_format import PlanningReader

OUTLINE = outline(
    ("Account", "Account", "Dense", [member("Sales", "Account"),
                                     member("Signed", "Account", dataType="Date"),
                                     member("Total", "Account", storage="Dynamic Calc")]),
    ("Period", "Period", "Dense", [member("Jan", "Period"), member("Feb", "Period")]),
    ("Entity", "Entity", "Sparse", [member("E1", "Entity"), member("E2", "Entity")]))
HEADER = "Entity,Jan,Feb,Point-of-View,Data Load Cube Name\n"


def read(tmp_path: Path, body: str, **options: str) -> tuple[dict, list[tuple[int, str]]]:  # type: ignore[type-arg]
    path = tmp_path / "data.csv"
    path.write_text(HEADER + body)
    load = PlanningReader(OUTLINE, **options).read(path, "data.csv")  # type: ignore[arg-type]
    grid = Grid(OUTLINE)
    keys, values = load.cells.get("C", (np.zeros(0, dtype=np.int64), np.zeros(0)))
    from epmjobs.planning.cube.cells import Cells

    cells = grid.named(Cells(keys, values))
    return cells, [(r.line, r.reason) for r in load.rejections]


def test_date_accounts_take_dates_in_the_job_format_stored_as_yyyymmdd(tmp_path: Path) -> None:
    cells, rejected = read(tmp_path, 'E1,12-22-2008,20240115,"Signed",C\n'
                                     'E2,13-45-2020,,"Signed",C\n'
                                     'E2,7,,"Sales",C\n')
    assert cells == {("Signed", "Jan", "E1"): 20081222.0, ("Signed", "Feb", "E1"): 20240115.0,
                     ("Sales", "Jan", "E2"): 7.0}
    assert rejected == [(3, "The value '13-45-2020' for Jan is not a date.")]
    cells, _ = read(tmp_path, 'E1,22/12/2008,,"Signed",C\n', date_format="DD/MM/YYYY")
    assert cells == {("Signed", "Jan", "E1"): 20081222.0}


def test_members_that_cannot_hold_data_and_bad_headers(tmp_path: Path) -> None:
    _, rejected = read(tmp_path, 'E1,1,2,"Total",C\nE1,1,2,"Sales,E2",C\n')
    assert rejected == [
        (2, "The member Total is Dynamic Calc; data cannot be loaded to it."),
        (3, "The Point-of-View member E2 belongs to dimension Entity, which the file's "
            "columns give.")]
    path = tmp_path / "bad.csv"
    path.write_text("Entity,Jan,Sales,Point-of-View\n")
    with pytest.raises(DataFileError, match="several dimensions"):
        PlanningReader(OUTLINE).read(path, "bad.csv")
