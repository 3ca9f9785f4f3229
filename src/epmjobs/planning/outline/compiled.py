"""Compiling the outline for one cube: the NumPy arrays aggregation and member selection use.

Per dimension valid in the cube, the *nodes* are the members valid in that cube in outline
order (the root first). A member not valid in the cube is left out and its valid children
hang from its nearest valid ancestor, as Planning builds the Essbase outline of a cube. A
shared instance is a node of its own whose ``base`` is the node of its base member.

Arrays are indexed by node: ``ids`` (member ids), ``parent`` (node index, -1 for the root),
``level`` (0 for leaves; a parent is one more than its highest child), ``generation`` (1 for
the root), ``operator`` (``Operator.code``), ``storage`` (``DataStorage.code``), ``base``,
``two_pass``, ``has_formula``, ``time_balance`` and ``skip_value`` (codes, -1 when none).
The ancestor closure lists every (descendant, ancestor, depth) pair, depth 0 being the node
itself, grouped by depth.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from operator import itemgetter

import numpy as np
import numpy.typing as npt

from epmjobs.errors import OutlineError
from epmjobs.planning.application import Cube, name_key
from epmjobs.planning.outline.model import Dimension
from epmjobs.planning.outline.outline import Outline
from epmjobs.planning.outline.vocabulary import Density, DimensionType, Operator

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class CompiledDimension:
    name: str
    type: DimensionType
    density: Density
    names: tuple[str, ...]
    ids: npt.NDArray[np.int64]
    parent: npt.NDArray[np.int32]
    level: npt.NDArray[np.int16]
    generation: npt.NDArray[np.int16]
    operator: npt.NDArray[np.int8]
    storage: npt.NDArray[np.int8]
    base: npt.NDArray[np.int32]
    two_pass: BoolArray
    has_formula: BoolArray
    time_balance: npt.NDArray[np.int8]
    skip_value: npt.NDArray[np.int8]
    closure_descendant: npt.NDArray[np.int32]
    closure_ancestor: npt.NDArray[np.int32]
    closure_depth: npt.NDArray[np.int16]

    def __len__(self) -> int:
        return len(self.ids)

    @cached_property
    def index(self) -> dict[str, int]:
        """name_key -> node of the base member of that name."""
        base = self.base.tolist()
        return {name_key(n): i for i, n in enumerate(self.names) if base[i] == i}

    def node(self, name: str) -> int | None:
        return self.index.get(name_key(name))


@dataclass(frozen=True, eq=False)
class CompiledCube:
    cube: Cube
    dimensions: tuple[CompiledDimension, ...]

    def dimension(self, name: str) -> CompiledDimension | None:
        key = name_key(name)
        return next((d for d in self.dimensions if name_key(d.name) == key), None)


def compile_cube(outline: Outline, cube: str) -> CompiledCube:
    """The compiled form of ``cube``; the outline should have passed ``validate``."""
    index = outline.cube_index(cube)
    if index is None:
        raise OutlineError(f"The cube {cube} does not exist in this application.")
    return compile_cubes(outline, [outline.cubes[index].name])[0]


def compile_cubes(outline: Outline, cubes: list[str] | None = None) -> list[CompiledCube]:
    """Every cube (or the named ones) compiled, sharing the per-dimension work."""
    wanted = [outline.cubes[i] for i in range(len(outline.cubes))
              if cubes is None or outline.cubes[i].name in cubes]
    tables = {d.name: _MemberTable(d) for d in outline.dimensions
              if any(c.name in d.cubes for c in wanted)}
    compiled = []
    for cube in wanted:
        position = outline.cube_index(cube.name)
        assert position is not None
        dims = tuple(tables[d.name].compile(position, d.cubes[cube.name])
                     for d in outline.dimensions if cube.name in d.cubes)
        compiled.append(CompiledCube(cube, dims))
    return compiled


class _MemberTable:
    """A dimension's members in outline order as arrays, before any cube's filtering."""

    def __init__(self, dim: Dimension) -> None:
        self.dim = dim
        members = list(dim.walk())
        self.size = len(members)
        self.names = tuple(m.name for m in members)
        where = {m.id: i for i, m in enumerate(members)}
        n = len(members)
        self.parent = np.fromiter((where[m.parent.id] if m.parent else -1 for m in members),
                                  dtype=np.int32, count=n)
        self.base = np.fromiter((where[m.base.id] if m.base else i
                                 for i, m in enumerate(members)), dtype=np.int32, count=n)
        own = [m.props for m in members]
        real = [(m.base or m).props for m in members]
        self.valid = np.array([p.valid for p in own], dtype=np.bool_).reshape(n, -1)
        self.valid[0, :] = True  # the root is in every cube the dimension is in
        codes: dict[tuple[Operator, ...], tuple[int, ...]] = {}
        self.ops = np.array([codes.get(p.ops) or codes.setdefault(p.ops, tuple(
            o.code for o in p.ops)) for p in own], dtype=np.int8).reshape(n, -1)
        self.storage = np.fromiter((p.storage.code for p in own), dtype=np.int8, count=n)
        self.two_pass = np.fromiter((p.two_pass for p in real), dtype=np.bool_, count=n)
        self.has_formula = np.fromiter((p.formula is not None for p in real), dtype=np.bool_,
                                       count=n)
        self.time_balance = np.fromiter((p.time_balance.code if p.time_balance else -1
                                         for p in real), dtype=np.int8, count=n)
        self.skip_value = np.fromiter((p.skip_value.code if p.skip_value else -1
                                       for p in real), dtype=np.int8, count=n)
        self.ids = np.fromiter((m.id for m in members), dtype=np.int64, count=n)

    def compile(self, cube: int, density: Density) -> CompiledDimension:
        keep = self.valid[:, cube] & self.valid[self.base, cube]
        nodes = np.flatnonzero(keep).astype(np.int32)
        renumber = np.full(self.size, -1, dtype=np.int32)
        renumber[nodes] = np.arange(len(nodes), dtype=np.int32)
        parent = self.parent[nodes]
        while True:  # hang children of members not in the cube from their nearest ancestor
            lost = (parent >= 0) & ~keep[np.maximum(parent, 0)]
            if not lost.any():
                break
            parent[lost] = self.parent[parent[lost]]
        parent = np.where(parent >= 0, renumber[np.maximum(parent, 0)], -1).astype(np.int32)
        desc, anc, depth, generation = _closure(parent)
        level = np.zeros(len(nodes), dtype=np.int16)
        np.maximum.at(level, anc, depth)
        names = itemgetter(*nodes.tolist())(self.names) if len(nodes) > 1 else (
            self.names[0],)
        return CompiledDimension(
            name=self.dim.name, type=self.dim.type, density=density,
            names=names, ids=self.ids[nodes], parent=parent,
            level=level, generation=generation, operator=self.ops[nodes, cube],
            storage=self.storage[nodes], base=renumber[self.base[nodes]],
            two_pass=self.two_pass[nodes], has_formula=self.has_formula[nodes],
            time_balance=self.time_balance[nodes], skip_value=self.skip_value[nodes],
            closure_descendant=desc, closure_ancestor=anc, closure_depth=depth,
        )


def _closure(parent: npt.NDArray[np.int32]) -> tuple[
        npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.int16],
        npt.NDArray[np.int16]]:
    """All (descendant, ancestor, depth) pairs, depth 0 included, and each node's generation."""
    n = len(parent)
    nodes = np.arange(n, dtype=np.int32)
    generation = np.ones(n, dtype=np.int16)
    descs, ancs, depths = [nodes], [nodes], [np.zeros(n, dtype=np.int16)]
    current, ancestor, depth = nodes, parent, 1
    while True:
        keep = ancestor >= 0
        current, ancestor = current[keep], ancestor[keep]
        if not len(current):
            break
        generation[current] += 1
        descs.append(current)
        ancs.append(ancestor)
        depths.append(np.full(len(current), depth, dtype=np.int16))
        ancestor = parent[ancestor]
        depth += 1
    return np.concatenate(descs), np.concatenate(ancs), np.concatenate(depths), generation
