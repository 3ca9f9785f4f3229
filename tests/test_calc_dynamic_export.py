"""Dynamic Calc members with a formula are evaluated when an export reads them: from the
totals of the region (a ratio of sums, not a sum of ratios), and on the demo application
through EXPORT_DATA with includeDynamicMembers."""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np
import pytest

from calc_support import ACCOUNTS, DIMENSIONS, Cube
from conftest import ADMIN
from cube_support import member
from data_support import cube_cells
from epmjobs.demo.vision_data import COSTS, REVENUE
from epmjobs.jobs.runner import Worker
from epmjobs.planning.data.export import region_cells
from epmjobs.system import System
from metadata_support import download, jobs_path, read_zip, submit


def test_a_formula_member_is_computed_from_the_regions_totals() -> None:
    periods = [member("Q1", "Period", "+", "Dynamic Calc"), member("Jan", "Q1"),
               member("Feb", "Q1"), member("Mar", "Q1")]
    cube = Cube([("Account", "Account", "Dense", ACCOUNTS),
                 ("Period", "Period", "Dense", periods), *DIMENSIONS[2:]])
    data = {("Revenue", "Jan", "NY", "Actual"): 20.0, ("Revenue", "Feb", "NY", "Actual"): 30.0,
            ("Cost", "Jan", "NY", "Actual"): 5.0, ("Cost", "Feb", "NY", "Actual"): 10.0}
    model = cube.model

    def nodes(dim: str, *names: str) -> Any:
        d = model.dimension(dim)
        assert d is not None
        return np.array([d.node(n) for n in names], dtype=np.int32)

    selection = {"Account": nodes("Account", "Ratio", "Margin", "Revenue"),
                 "Period": nodes("Period", "Jan", "Q1"), "Entity": nodes("Entity", "NY"),
                 "Scenario": nodes("Scenario", "Actual")}
    got = cube.grid.named(region_cells(model, cube.grid.cells(data), selection, True))
    assert got == {("Revenue", "Jan", "NY", "Actual"): 20.0,
                   ("Revenue", "Q1", "NY", "Actual"): 50.0,
                   ("Margin", "Jan", "NY", "Actual"): 15.0,
                   ("Margin", "Q1", "NY", "Actual"): 35.0,
                   ("Ratio", "Jan", "NY", "Actual"): 75.0,
                   ("Ratio", "Q1", "NY", "Actual"): 70.0}
    stored_only = cube.grid.named(region_cells(model, cube.grid.cells(data), selection, False))
    assert stored_only == {("Revenue", "Jan", "NY", "Actual"): 20.0}


def test_the_demo_exports_gross_margin_pct_by_its_formula(client: Any, worker: Worker,
                                                          system: System) -> None:
    cells = cube_cells(system)
    body = {"jobType": "EXPORT_DATA", "jobName": "Export Data", "parameters": {
        "cube": "Plan1", "exportFileName": "gmp.zip", "includeDynamicMembers": "true",
        "rowMembers": "E110, E200", "columnMembers": "Jan, Q1",
        "povMembers": "Gross Margin Pct, FY24, Actual, Working, USD, P010"}}
    job_id = submit(client, body)
    worker.drain()
    record = client.get(f"{jobs_path()}/{job_id}", auth=ADMIN).json()
    assert record["status"] == 0, record
    rows = list(csv.reader(io.StringIO(read_zip(download(client, "gmp.zip"))["gmp.csv"])))
    assert rows[0][:3] == ["Entity", "Q1", "Jan"]  # columns in outline order

    def total(accounts: tuple[str, ...], entity: str, months: tuple[str, ...]) -> float:
        return sum(cells[(a, m, "FY24", "Actual", "Working", "USD", entity, "P010")]
                   for a in accounts for m in months)

    for row in rows[1:]:
        entity = row[0]
        for column, months in ((1, ("Jan", "Feb", "Mar")), (2, ("Jan",))):
            revenue = total(REVENUE, entity, months)
            expected = (revenue - total(COSTS, entity, months)) / revenue * 100
            assert float(row[column]) == pytest.approx(expected)
    assert [r[0] for r in rows[1:]] == ["E110", "E200"]
