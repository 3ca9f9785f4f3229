"""Values of cells that are computed, not stored: Dynamic Calc members (with or without a
formula), Label Only and implied-share parents.

A cell with such a coordinate is computed from the stored cells that feed it:

- if one of its members has a formula, by that formula, evaluated at the cell (its
  references computed in turn). A formula is evaluated from the totals of the other
  dimensions — the result Essbase gives a Two Pass member, and what ratios want;
- otherwise by consolidating children (``Consolidator.evaluate_dynamic``) over the region
  that feeds the cell, after computing the formula members inside that region.

``with_dynamic_formulas`` adds the formula members of an export's region to cells whose
dynamic parents are already evaluated: the hook ``planning.data.export.region_cells`` uses.
A formula member is exported in each slice of the selection where the stored cells that
feed the selection have data.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from epmjobs.planning.calc.arithmetic import Vector
from epmjobs.planning.calc.machine import Machine, Options
from epmjobs.planning.calc.scope import pin_keys
from epmjobs.planning.cube.cells import Cells, region_mask
from epmjobs.planning.cube.layout import Keys
from epmjobs.planning.cube.model import CubeModel

Nodes = npt.NDArray[np.int32]


def computed_values(machine: Machine, keys: Keys) -> Vector:
    """Values of cells that each have at least one computed coordinate."""
    out = np.full(len(keys), np.nan)
    pending = np.ones(len(keys), dtype=np.bool_)
    layout = machine.model.layout
    for position, dim in enumerate(machine.model.dimensions):
        coord = layout.coordinate(keys, position)
        has = pending & machine.virtual[position][coord] & dim.has_formula[coord]
        for node in np.unique(coord[has]).tolist():
            if machine.formulas.script(position, node) is None:
                continue
            rows = has & (coord == node)
            out[rows] = formula_values(machine, position, node, keys[rows])
            pending &= ~rows
    if pending.any():
        out[pending] = _consolidated(machine, keys[pending])
    return out


def formula_values(machine: Machine, position: int, node: int, keys: Keys) -> Vector:
    from epmjobs.planning.calc.block import formula_result

    script = machine.formulas.script(position, node)
    assert script is not None
    with machine.formulas.evaluating(position, node):
        return formula_result(machine, {position: node}, script, keys)


def _consolidated(machine: Machine, keys: Keys) -> Vector:
    model, layout = machine.model, machine.model.layout
    computed: list[int] = []
    region: dict[str, Nodes] = {}
    for position, dim in enumerate(model.dimensions):
        coords = np.unique(layout.coordinate(keys, position))
        if machine.virtual[position][coords].any():
            computed.append(position)
            region[dim.name] = _feeding(model, position, coords)
        else:
            region[dim.name] = coords
    cells = machine.cells
    subset = cells.where(region_mask(cells, layout, region))
    subset = _add_formula_members(machine, subset, {p: region[model.dimensions[p].name]
                                                    for p in computed})
    names = [name for name in model.calc_order if model.position(name) in computed]
    return model.consolidator.evaluate_dynamic(subset, names).lookup(keys)


def _feeding(model: CubeModel, position: int, nodes: Nodes) -> Nodes:
    dim = model.dimensions[position]
    wanted = np.zeros(len(dim), dtype=np.bool_)
    wanted[nodes] = True
    found = np.zeros(len(dim), dtype=np.bool_)
    found[dim.closure_descendant[wanted[dim.closure_ancestor]]] = True
    found[dim.base[found]] = True
    return np.flatnonzero(found).astype(np.int32)


def _add_formula_members(machine: Machine, cells: Cells,
                         candidates: Mapping[int, Nodes]) -> Cells:
    """``cells`` plus, for each computed member with a formula among ``candidates``, its
    values in the slices where ``cells`` has data."""
    model = machine.model
    for position, nodes in candidates.items():
        dim = model.dimensions[position]
        chosen = nodes[machine.virtual[position][nodes] & dim.has_formula[nodes]]
        for node in chosen.tolist():
            if not len(cells) or machine.formulas.script(position, node) is None:
                continue
            keys = np.unique(pin_keys(model, cells.keys, {position: node}))
            values = formula_values(machine, position, node, keys)
            cells = cells.merge(Cells.build(keys, values))
    return cells


def with_dynamic_formulas(model: CubeModel, stored: Cells, evaluated: Cells,
                          selection: Mapping[str, Nodes]) -> Cells:
    """``evaluated`` (a region with its dynamic parents computed) plus the values of the
    selected Dynamic Calc members that have a formula, in every slice of the selection
    where the stored cells that feed it have data (for the export of ``selection``)."""
    if not any(d.has_formula.any() for d in model.dimensions):
        return evaluated
    machine = Machine(model, stored, {}, {}, Options())
    out = evaluated
    for name, nodes in selection.items():
        position = model.position(name)
        if position is None:
            continue
        dim = model.dimensions[position]
        nodes = np.asarray(nodes, dtype=np.int32)
        for node in nodes[machine.virtual[position][nodes] & dim.has_formula[nodes]].tolist():
            if machine.formulas.script(position, node) is None:
                continue
            keys = _slices(machine, selection, position, node)
            out = out.merge(Cells.build(keys, formula_values(machine, position, node, keys)))
    return out


def _slices(machine: Machine, selection: Mapping[str, Nodes], position: int,
            node: int) -> Keys:
    """Keys of ``node`` in each selected slice the stored cells feed: their coordinates,
    and the selected computed parents above them."""
    model, layout = machine.model, machine.model.layout
    region = {name: _feeding(model, p, np.asarray(nodes, dtype=np.int32))
              for name, nodes in selection.items()
              if (p := model.position(name)) is not None and p != position}
    base = machine.cells.where(region_mask(machine.cells, layout, region))
    keys = np.unique(pin_keys(model, base.keys, {position: node}))
    for name, nodes in selection.items():
        other = model.position(name)
        if other is None or other == position:
            continue
        chosen = np.asarray(nodes, dtype=np.int32)
        keys = _roll_up(machine, keys, other, chosen[machine.virtual[other][chosen]])
    wanted = {name: np.asarray(nodes, dtype=np.int32) for name, nodes in selection.items()}
    fake = Cells(keys, np.zeros(len(keys)))
    return keys[region_mask(fake, layout, wanted)]


def _roll_up(machine: Machine, keys: Keys, position: int, parents: Nodes) -> Keys:
    """``keys`` and, for each, the same key at each of ``parents`` above its coordinate."""
    if not len(parents) or not len(keys):
        return keys
    dim, layout = machine.model.dimensions[position], machine.model.layout
    pick = np.isin(dim.closure_ancestor, parents) & (dim.closure_depth > 0)
    below, above = dim.closure_descendant[pick], dim.closure_ancestor[pick]
    order = np.argsort(below, kind="stable")
    below, above = below[order], above[order]
    count = np.bincount(below, minlength=len(dim))
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    coord = layout.coordinate(keys, position)
    per_key = count[coord]
    rows = np.repeat(np.arange(len(keys)), per_key)
    offset = np.arange(len(rows)) - np.repeat(np.cumsum(per_key) - per_key, per_key)
    targets = above[start[coord[rows]] + offset].astype(np.int32)
    moved = layout.move(keys[rows], position, coord[rows], targets)
    return np.union1d(keys, moved)
