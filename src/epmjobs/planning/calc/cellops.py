"""Cell-set operations the calculator needs fast on a large cube: the cells of one member
combination, lookups, and writing a few cells into many — all on sorted keys, in linear
time, without re-sorting the whole cube.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from epmjobs.planning.calc.arithmetic import Vector
from epmjobs.planning.cube.cells import Cells
from epmjobs.planning.cube.layout import Keys
from epmjobs.planning.cube.model import CubeModel


def key_range(cells: Cells, low: int, high: int) -> tuple[int, int]:
    """The positions of the cells whose keys are in ``[low, high)``."""
    found = np.searchsorted(cells.keys, np.array([low, high], dtype=np.int64))
    return int(found[0]), int(found[1])


def matching(model: CubeModel, cells: Cells, pins: Mapping[int, int]) -> Cells:
    """The cells whose coordinates are the pinned members. Pins on the first dimensions
    (in key order) select a key range: found by binary search, not a pass over the cube."""
    layout = model.layout
    prefix = 0
    low = 0
    while prefix in pins:
        low += pins[prefix] * layout.strides[prefix]
        prefix += 1
    if prefix:
        start, stop = key_range(cells, low, low + layout.strides[prefix - 1])
        cells = Cells(cells.keys[start:stop], cells.values[start:stop])
    rest = {p: n for p, n in pins.items() if p >= prefix}
    if not rest:
        return cells
    mask = np.ones(len(cells), dtype=np.bool_)
    for position, node in rest.items():
        mask &= layout.coordinate(cells.keys, position) == node
    return cells.where(mask)


def lookup(cells: Cells, keys: Keys) -> Vector:
    """The value at each key, NaN where missing; searches only the span of keys asked."""
    out = np.full(len(keys), np.nan)
    if not len(keys) or not len(cells):
        return out
    start, stop = key_range(cells, int(keys.min()), int(keys.max()) + 1)
    if start == stop:
        return out
    span = cells.keys[start:stop]
    where = np.minimum(np.searchsorted(span, keys), len(span) - 1)
    hit = span[where] == keys
    out[hit] = cells.values[start:stop][where[hit]]
    return out


def merge_sorted(cells: Cells, keys: Keys, values: Vector) -> Cells:
    """``cells`` with ``keys`` (sorted, unique) set to ``values``; NaN removes a cell.
    Allocates the result once (its size is known), shares the keys when none are added."""
    if not len(keys):
        return cells
    where = np.searchsorted(cells.keys, keys)
    hit = np.zeros(len(keys), dtype=np.bool_)
    inside = where < len(cells)
    hit[inside] = cells.keys[where[inside]] == keys[inside]
    add = ~hit & ~np.isnan(values)
    if not add.any():
        out_keys, out_values = cells.keys, cells.values.copy()
        out_values[where[hit]] = values[hit]
    else:
        added = where[add]
        slots = added + np.arange(len(added))  # where the new cells land
        old = np.ones(len(cells) + len(added), dtype=np.bool_)
        old[slots] = False
        out_keys = np.empty(len(old), dtype=np.int64)
        out_keys[old] = cells.keys
        out_keys[slots] = keys[add]
        out_values = np.empty(len(old), dtype=np.float64)
        out_values[old] = cells.values
        out_values[slots] = values[add]
        out_values[where[hit] + np.searchsorted(added, where[hit], side="right")] = values[hit]
    if np.isnan(values[hit]).any():
        keep = ~np.isnan(out_values)
        out_keys, out_values = out_keys[keep], out_values[keep]
    return Cells(out_keys, out_values)


def sorted_unique(keys: Keys, values: Vector) -> tuple[Keys, Vector]:
    """Keys sorted, the last value of a repeated key kept."""
    if len(keys) > 1 and not (keys[1:] > keys[:-1]).all():
        order = np.argsort(keys, kind="stable")
        keys, values = keys[order], values[order]
        last = np.ones(len(keys), dtype=np.bool_)
        last[:-1] = keys[1:] != keys[:-1]
        keys, values = keys[last], values[last]
    return keys, values
