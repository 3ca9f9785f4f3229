"""How a cube's cells are addressed: one packed ``int64`` key per cell.

A cell's coordinates are node indices of the cube's compiled dimensions (see
``planning.outline.compiled``), packed in mixed radix, the first dimension most significant,
so sorting keys sorts cells dimension by dimension. Shared instances never address a cell:
their value is their base member's, so keys use base nodes.

A layout remembers the member ids behind its nodes; data stored under one layout is read
under another (after a cube refresh added, moved or deleted members) by ``remap``, which
drops the cells of members that are gone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from epmjobs.errors import OutlineError
from epmjobs.planning.outline.compiled import CompiledCube

Keys = npt.NDArray[np.int64]
Nodes = npt.NDArray[np.int32]
MAX_CELLS = 2 ** 62


@dataclass(frozen=True, eq=False)
class CubeLayout:
    dimensions: tuple[str, ...]
    member_ids: tuple[npt.NDArray[np.int64], ...]  # per dimension: node -> member id

    @classmethod
    def of(cls, cube: CompiledCube) -> CubeLayout:
        layout = cls(tuple(d.name for d in cube.dimensions),
                     tuple(d.ids for d in cube.dimensions))
        if layout.capacity >= MAX_CELLS:
            raise OutlineError(
                f"The cube {cube.cube.name} has more potential cells than epmjobs can address "
                f"({layout.capacity:.3g} > 2^62).")
        return layout

    @cached_property
    def sizes(self) -> tuple[int, ...]:
        return tuple(len(ids) for ids in self.member_ids)

    @cached_property
    def strides(self) -> tuple[int, ...]:
        strides, step = [], 1
        for size in reversed(self.sizes):
            strides.append(step)
            step *= size
        return tuple(reversed(strides))

    @cached_property
    def capacity(self) -> int:
        total = 1
        for size in self.sizes:
            total *= size
        return total

    @cached_property
    def fingerprint(self) -> str:
        digest = hashlib.blake2b(digest_size=16)
        for name, ids in zip(self.dimensions, self.member_ids, strict=True):
            digest.update(name.encode() + b"\0")
            digest.update(np.ascontiguousarray(ids, dtype="<i8").tobytes())
        return digest.hexdigest()

    def index(self, dimension: str) -> int:
        return self.dimensions.index(dimension)

    def pack(self, coordinates: Sequence[npt.NDArray[np.integer]]) -> Keys:
        keys = np.zeros(len(coordinates[0]) if coordinates else 0, dtype=np.int64)
        for coordinate, stride in zip(coordinates, self.strides, strict=True):
            keys += coordinate.astype(np.int64) * stride
        return keys

    def coordinate(self, keys: Keys, position: int) -> Nodes:
        return ((keys // self.strides[position]) % self.sizes[position]).astype(np.int32)

    def unpack(self, keys: Keys) -> list[Nodes]:
        return [self.coordinate(keys, d) for d in range(len(self.dimensions))]

    def move(self, keys: Keys, position: int, old: Nodes, new: Nodes) -> Keys:
        """``keys`` with the coordinate of dimension ``position`` changed from old to new."""
        return keys + (new.astype(np.int64) - old.astype(np.int64)) * self.strides[position]

    def remap(self, keys: Keys, target: CubeLayout) -> tuple[Keys, npt.NDArray[np.bool_]]:
        """Keys of this layout as keys of ``target``: (new keys, which cells survive). A cell
        survives when every member it names is in ``target``'s cube under the same
        dimension; dimensions only ``target`` has cannot be filled, so no cell survives."""
        if target.fingerprint == self.fingerprint:
            return keys, np.ones(len(keys), dtype=np.bool_)
        alive = np.ones(len(keys), dtype=np.bool_)
        coordinates = []
        for name, ids in zip(target.dimensions, target.member_ids, strict=True):
            if name not in self.dimensions:
                return np.zeros(0, dtype=np.int64), np.zeros(len(keys), dtype=np.bool_)
            position = self.index(name)
            translate = _translation(self.member_ids[position], ids)
            new = translate[self.coordinate(keys, position)]
            alive &= new >= 0
            coordinates.append(new)
        packed = target.pack([c[alive] for c in coordinates])
        return packed, alive


def _translation(old_ids: npt.NDArray[np.int64], new_ids: npt.NDArray[np.int64]) -> Nodes:
    """old node -> new node of the same member id, -1 when the member is gone."""
    order = np.argsort(new_ids, kind="stable")
    where = np.searchsorted(new_ids, old_ids, sorter=order)
    where = np.minimum(where, len(new_ids) - 1)
    found = order[where]
    return np.where(new_ids[found] == old_ids, found, -1).astype(np.int32)
