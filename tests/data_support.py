"""Helpers for the data-job tests: Vision's Plan1 cells by member names, read straight
from the cell store (not through the jobs under test)."""

from __future__ import annotations

from typing import Any

from epmjobs.planning.cube.model import cube_model
from epmjobs.system import System

POV = "FY24,Actual,Working,USD,P100"
PLAN1 = ("Account", "Period", "Years", "Scenario", "Version", "Currency", "Entity", "Product")


def cube_cells(system: System, cube: str = "Plan1", app: str = "Vision") -> dict[
        tuple[str, ...], float]:
    """Every stored cell of ``cube`` as {(member per dimension...): value}."""
    application = system.stores.apps.get(app)
    assert application is not None
    outline = system.stores.outlines.refreshed(application).outline
    model = cube_model(outline, cube)
    stored = system.stores.cells.load(application.application_id, model.name, model.layout)
    coords = model.layout.unpack(stored.cells.keys)
    out = {}
    for i, value in enumerate(stored.cells.values.tolist()):
        out[tuple(d.names[int(c[i])] for d, c in zip(model.dimensions, coords,
                                                       strict=True))] = value
    return out


def cell(account: str, period: str, entity: str, pov: str = POV) -> tuple[str, ...]:
    """A Plan1 cell key in the cube's dimension order from a Planning-style POV."""
    years, scenario, version, currency, product = pov.split(",")
    return (account, period, years, scenario, version, currency, entity, product)


def planning_file(rows: list[tuple[str, ...]], drivers: tuple[str, ...] = ("Jan", "Feb"),
                  load: str = "Entity", cube: str = "Plan1") -> str:
    lines = [",".join((load, *drivers, "Point-of-View", "Data Load Cube Name"))]
    for row in rows:
        *values, pov = row
        lines.append(",".join((*values, f'"{pov}"', cube)))
    return "\n".join(lines) + "\n"


def submission(job_type: str, name: str | None = None, **parameters: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"jobType": job_type, "parameters": parameters}
    if name is not None:
        body["jobName"] = name
    return body
