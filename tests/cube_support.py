"""Helpers for the cube-data tests: small outlines from a compact spec, cells by member
names, and a slow, obviously-correct consolidation to check the vectorised one against."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from epmjobs.planning.application import Cube, CubeKind
from epmjobs.planning.cube.cells import Cells
from epmjobs.planning.cube.hierarchy import Hierarchy
from epmjobs.planning.cube.layout import CubeLayout
from epmjobs.planning.outline import CompiledCube, Outline, compile_cube, outline_from_json

CUBE = "C"


def member(name: str, parent: str, op: str = "+", storage: str = "Store",
           **props: Any) -> dict[str, Any]:
    return {"name": name, "parent": parent, "dataStorage": storage,
            "aggregation": {CUBE: op}, **props}


def outline(*dims: tuple[str, str, str, list[dict[str, Any]]]) -> Outline:
    """dims: (name, type, Dense|Sparse, members)."""
    return outline_from_json([Cube(CUBE, CubeKind.BSO)], {"dimensions": [
        {"name": n, "type": t, "cubes": {CUBE: d}, "members": m} for n, t, d, m in dims]})


class Grid:
    """A compiled cube with cells addressed by member names."""

    def __init__(self, o: Outline) -> None:
        self.cube: CompiledCube = compile_cube(o, CUBE)
        self.layout = CubeLayout.of(self.cube)

    def key(self, *names: str) -> int:
        nodes = []
        for dim, name in zip(self.cube.dimensions, names, strict=True):
            node = dim.node(name)
            assert node is not None, name
            nodes.append(np.array([node]))
        return int(self.layout.pack(nodes)[0])

    def cells(self, data: dict[tuple[str, ...], float]) -> Cells:
        return Cells.build(np.array([self.key(*k) for k in data], dtype=np.int64),
                           np.array(list(data.values()), dtype=np.float64))

    def named(self, cells: Cells) -> dict[tuple[str, ...], float]:
        out = {}
        coords = self.layout.unpack(cells.keys)
        for i, value in enumerate(cells.values.tolist()):
            out[tuple(d.names[int(c[i])] for d, c in zip(
                self.cube.dimensions, coords, strict=True))] = value
        return out


# -- the slow reference ------------------------------------------------------------------

MISSING = None


def _apply(acc: float | None, op: int, v: float | None) -> float | None:
    if acc is None:
        return None if v is None else (-v if op == 1 else v)
    if op == 0:
        return acc if v is None else acc + v
    if op == 1:
        return acc if v is None else acc - v
    if v is None:
        return None
    if op == 2:
        return acc * v
    if v == 0:
        return None
    return acc / v if op == 3 else acc / v * 100.0


def reference_consolidate(grid: Grid, data: dict[tuple[int, ...], float], dim_name: str,
                          compute: np.ndarray, keep: np.ndarray, aggmissg: bool,
                          account: str | None) -> dict[tuple[int, ...], float]:
    """One dimension, parent by parent in level order, cell by cell, as §6 describes."""
    cube = grid.cube
    pos = [d.name for d in cube.dimensions].index(dim_name)
    h = Hierarchy(cube.dimensions[pos])
    dim = h.dim
    e = h.edges
    never = {d.name: Hierarchy(d).never for d in cube.dimensions}
    data = dict(data)
    computed: set[int] = set()
    for lvl in range(1, int(dim.level.max()) + 1):
        for p in [int(i) for i in np.flatnonzero(compute & (dim.level == lvl))]:
            children = sorted((int(e.rank[i]), int(e.source[i]), int(e.op[i]))
                              for i in np.flatnonzero(e.parent == p))
            computed.add(p)
            sources = {s for _, s, _ in children}
            others = {k[:pos] + k[pos + 1:] for k in data if k[pos] in sources
                      and not _never(grid, k, never, dim_name)}
            results = {}
            for rest in others:
                def value(s: int, rest: tuple[int, ...] = rest) -> float | None:
                    k = (*rest[:pos], s, *rest[pos:])
                    if k not in data or _never(grid, k, never, dim_name):
                        return None
                    return data[k]
                tb = _tb(grid, rest, pos, account) if dim.type.value == "Period" else None
                results[rest] = _balance(tb, children, value) if tb else _fold(children, value)
            if aggmissg:
                for k in [k for k in data if k[pos] == p]:
                    del data[k]
            for rest, v in results.items():
                if v is not None and not math.isnan(v):
                    data[(*rest[:pos], p, *rest[pos:])] = v
    for k in [k for k in data if k[pos] in computed and not keep[k[pos]]]:
        del data[k]
    return data


def _never(grid: Grid, k: tuple[int, ...], never: dict[str, np.ndarray], current: str) -> bool:
    return any(never[d.name][k[i]] for i, d in enumerate(grid.cube.dimensions)
               if d.name != current)


def _fold(children: list[tuple[int, int, int]], value: Any) -> float | None:
    acc: float | None = None
    for _, s, op in children:
        acc = _apply(acc, op, value(s))
    return acc


def _tb(grid: Grid, rest: tuple[int, ...], pos: int, account: str | None) -> tuple[int, int] | None:
    if account is None:
        return None
    names = [d.name for d in grid.cube.dimensions]
    apos = names.index(account)
    anode = rest[apos if apos < pos else apos - 1]
    adim = grid.cube.dimensions[apos]
    tb, skip = int(adim.time_balance[anode]), int(adim.skip_value[anode])
    return (tb, max(skip, 0)) if tb in (1, 2, 3) else None


def _balance(tb: tuple[int, int], children: list[tuple[int, int, int]], value: Any) -> float | None:
    kind, skip = tb
    seq = []
    for _, s, _ in children:
        v = value(s)
        if v is None and skip in (1, 3):
            continue
        if v == 0 and skip in (2, 3):
            continue
        seq.append(v)
    if not seq or (all(v is None for v in seq) and kind == 3):
        return None
    if kind == 1:
        return seq[0]
    if kind == 2:
        return seq[-1]
    return sum(v or 0.0 for v in seq) / len(seq)
