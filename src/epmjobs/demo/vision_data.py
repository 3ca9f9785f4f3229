"""Cell data for the demo application: generated, deterministic, plausible.

Plan1 holds FY24 actuals and an FY25 plan for revenue and product-cost accounts by entity,
product and month (with seasonality, and the plan a few percent above the actuals), plus
the Units and Price drivers and the euro entities' exchange rates of the FY25 plan (the
demo rules' inputs); Plan2 holds FY24 actuals of the services accounts; the reporting cube
Vis1ASO gets both scenarios of Plan1 through the data map ``Plan1ToReporting``'s logic.
About 40,000 cells in all: enough to try every data job from the README, small enough to
create in well under a second.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from epmjobs.demo import VISION_FILE
from epmjobs.planning.cube.cells import Cells
from epmjobs.planning.cube.datamap import DataMap, copy_cells
from epmjobs.planning.cube.layout import CubeLayout
from epmjobs.planning.cube.model import CubeModel, cube_model
from epmjobs.planning.outline import Outline
from epmjobs.storage.cellstore import StoredCells

if TYPE_CHECKING:
    from epmjobs.system import System

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
SEASON = np.array([0.85, 0.88, 1.02, 0.95, 0.97, 1.05, 0.9, 0.92, 1.08, 1.0, 1.1, 1.28])
ENTITIES = tuple(f"E{n}" for n in range(110, 240, 10))
PRODUCTS = ("P010", "P020", "P030", "P040", "P050", "P060")
REVENUE = ("4010", "4020", "4030", "4040", "4050", "4060", "4070", "4080",
           "4110", "4120", "4130", "4140", "4150", "4160")
COSTS = ("5010", "5020", "5030", "5040", "5050", "5060")
SERVICES = ("4210", "4220", "4230", "4240", "4250", "4260")


def vision_cells(outline: Outline) -> dict[str, Cells]:
    """Cube name -> its demo cells."""
    rng = np.random.default_rng(20240101)
    plan1 = cube_model(outline, "Plan1")
    actual = _grid(plan1, rng, REVENUE + COSTS, "FY24", "Actual", scale=1000.0)
    plan = Cells(_retarget(plan1, actual.keys, Years="FY25", Scenario="Plan"),
                 np.round(actual.values * rng.normal(1.05, 0.02, len(actual)), 2))
    drivers = _drivers(plan1, rng)
    cells = {"Plan1": actual.merge(plan).merge(drivers)}
    plan2 = cube_model(outline, "Plan2")
    cells["Plan2"] = _grid(plan2, rng, SERVICES, "FY24", "Actual", scale=400.0)
    reporting = cube_model(outline, "Vis1ASO")
    copied = copy_cells(DataMap(plan1, reporting, {}, {}), cells["Plan1"], Cells.empty(),
                        clear=False)
    cells["Vis1ASO"] = copied.cells
    cells["Plan1"] = cells["Plan1"].merge(_rates(plan1))
    return cells


def _nodes(model: CubeModel, dimension: str, names: Sequence[str]) -> np.ndarray:
    dim = model.dimension(dimension)
    assert dim is not None
    found = [dim.node(n) for n in names]
    assert all(n is not None for n in found), (dimension, names)
    return np.array(found, dtype=np.int64)


def _grid(model: CubeModel, rng: np.random.Generator, accounts: Sequence[str], year: str,
          scenario: str, scale: float) -> Cells:
    """Every account x month x entity x product cell of one year and scenario."""
    fixed = {"Years": [year], "Scenario": [scenario], "Version": ["Working"],
             "Currency": ["USD"]}
    axes = {"Account": list(accounts), "Period": list(MONTHS), "Entity": list(ENTITIES),
            "Product": list(PRODUCTS), **fixed}
    grids = np.meshgrid(*(_nodes(model, d.name, axes[d.name]) for d in model.dimensions),
                        indexing="ij")
    keys = model.layout.pack([g.ravel() for g in grids])
    shape = grids[0].shape
    base = rng.lognormal(0.0, 0.6, size=shape)
    month_axis = [d.name for d in model.dimensions].index("Period")
    season = SEASON.reshape([-1 if i == month_axis else 1 for i in range(len(shape))])
    values = np.round(base * season * scale, 2).ravel()
    return Cells.build(keys, values)


def _retarget(model: CubeModel, keys: np.ndarray, **members: str) -> np.ndarray:
    for dimension, name in members.items():
        position = model.position(dimension)
        assert position is not None
        old = model.layout.coordinate(keys, position)
        new = np.full(len(keys), _nodes(model, dimension, [name])[0], dtype=np.int32)
        keys = model.layout.move(keys, position, old, new)
    return keys


def _drivers(model: CubeModel, rng: np.random.Generator) -> Cells:
    """FY25 plan Units and Price per entity, product and month (the driver-based rule's
    inputs)."""
    units = _grid(model, rng, ["Units"], "FY25", "Plan", scale=120.0)
    units = Cells(units.keys, np.round(units.values))
    price = _grid(model, rng, ["Price"], "FY25", "Plan", scale=1.0)
    price = Cells(price.keys, np.round(45.0 + price.values * 30.0, 2))
    return units.merge(price)


def _rates(model: CubeModel) -> Cells:
    """FY25 plan USD-to-EUR rates per month of the euro entities, for the translation rule:
    Average Rate and Ending Rate on Local and No Product (USD entities have none)."""
    euro = [e for e in ENTITIES if e >= "E200"]
    keys, values = [], []
    for account, lift in (("Average Rate", 0.0), ("Ending Rate", 0.001)):
        for month_index, month in enumerate(MONTHS):
            for entity in euro:
                names = {"Account": account, "Period": month, "Years": "FY25",
                         "Scenario": "Plan", "Version": "Working", "Currency": "Local",
                         "Entity": entity, "Product": "No Product"}
                coords = [_nodes(model, d.name, [names[d.name]]) for d in model.dimensions]
                keys.append(model.layout.pack(coords)[0])
                values.append(round(0.92 + 0.002 * month_index + lift, 4))
    return Cells.build(np.array(keys, dtype=np.int64), np.array(values))


_cache: dict[str, dict[str, tuple[CubeLayout, Cells]]] = {}


def seed_vision_data(system: System, app_name: str) -> int:
    """Write the demo cells into the application's cubes (which must be empty); return the
    number of cells. Generated once per process for a given definition file: the cells
    are written with the layout they were generated under, which reads map by member id."""
    app = system.stores.apps.get(app_name)
    assert app is not None
    key = hashlib.sha256(VISION_FILE.read_bytes()).hexdigest()
    if key not in _cache:
        outline = system.stores.outlines.refreshed(app).outline
        _cache[key] = {cube: (cube_model(outline, cube).layout, cells)
                       for cube, cells in vision_cells(outline).items()}
    empty = StoredCells(Cells.empty(), 0)
    with system.db.transaction() as conn:
        for cube, (layout, cells) in _cache[key].items():
            system.stores.cells.save(conn, app.application_id, cube, layout, cells, read=empty)
    return sum(len(c) for _, c in _cache[key].values())
