"""Copying cells between cubes through a data map (reference API §4.3).

A map names a source region (a member selection per source dimension; a dimension it
does not name is copied whole) and, for each target dimension the source cube does not
have, the one target member its cells land on. Dimensions both cubes have map member to
member by name; source dimensions the target lacks are collapsed (their cells add up).
Cells whose member has no loadable counterpart in the target (absent, Dynamic Calc,
Label Only, or above level 0 in an ASO target) are not copied and are counted.
With ``clear`` the target region the map writes to is cleared first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from epmjobs.planning.application import CubeKind, name_key
from epmjobs.planning.cube.cells import Cells, region_mask
from epmjobs.planning.cube.model import CubeModel

Nodes = npt.NDArray[np.int32]


@dataclass(frozen=True)
class DataMap:
    source: CubeModel
    target: CubeModel
    selection: Mapping[str, Nodes]  # source dimension -> base nodes (absent: whole dim)
    fixed: Mapping[str, int]  # target dimension not in the source -> target node


@dataclass(frozen=True)
class CopyResult:
    cells: Cells  # the target's new cells
    copied: int  # target cells written
    source_cells: int  # source cells in the region
    unmapped: int  # source cells without a target member


def missing_fixed(source: CubeModel, target: CubeModel) -> list[str]:
    """Target dimensions the source cube does not have (each needs a fixed member)."""
    have = {name_key(d.name) for d in source.dimensions}
    return [d.name for d in target.dimensions if name_key(d.name) not in have]


def copy_cells(dm: DataMap, source_cells: Cells, target_cells: Cells, *,
               clear: bool) -> CopyResult:
    src, tgt = dm.source, dm.target
    region = source_cells.where(region_mask(source_cells, src.layout, dm.selection))
    coords: list[npt.NDArray[np.int64]] = []
    alive = np.ones(len(region), dtype=np.bool_)
    clear_region: dict[str, Nodes] = {}
    for dim in tgt.dimensions:
        position = src.position(dim.name)
        if position is None:
            node = dm.fixed[dim.name]
            coords.append(np.full(len(region), node, dtype=np.int64))
            clear_region[dim.name] = np.array([node], dtype=np.int32)
            continue
        translate = _translation(src, tgt, src.dimensions[position].name, dim.name)
        mapped = translate[src.layout.coordinate(region.keys, position)]
        alive &= mapped >= 0
        coords.append(mapped.astype(np.int64))
        chosen = dm.selection.get(src.dimensions[position].name)
        if chosen is not None:
            targets = translate[chosen]
            clear_region[dim.name] = np.unique(targets[targets >= 0]).astype(np.int32)
    keys = tgt.layout.pack([c[alive] for c in coords])
    groups, inverse = np.unique(keys, return_inverse=True)
    values = np.bincount(inverse, weights=region.values[alive], minlength=len(groups))
    base = target_cells
    if clear:
        base = target_cells.where(~region_mask(target_cells, tgt.layout, clear_region))
    merged = base.merge(Cells(groups, np.asarray(values, dtype=np.float64)))
    return CopyResult(merged, len(groups), len(region), int((~alive).sum()))


def _translation(src: CubeModel, tgt: CubeModel, src_dim: str, tgt_dim: str) -> Nodes:
    """Source node -> target node of the same name that can hold loaded data, else -1."""
    s, t = src.dimension(src_dim), tgt.dimension(tgt_dim)
    assert s is not None and t is not None
    loadable = tgt.hierarchies[t.name].loadable
    if tgt.compiled.cube.kind is CubeKind.ASO:
        loadable = loadable & (t.level == 0)
    out = np.full(len(s), -1, dtype=np.int32)
    for node, name in enumerate(s.names):
        found = t.node(name)
        if found is not None and loadable[found]:
            out[node] = found
    return out
