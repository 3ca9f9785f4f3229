"""What a statement calculates: the FIX/EXCLUDE scope, blocks, and the cells a target
names inside them.

A *block* is Essbase's unit of storage: one combination of sparse members with all the
dense cells under it. Our store keeps cells, not blocks, so a block exists when at least
one cell with its sparse coordinates exists (#Missing cells are never stored, so a block
of only #Missing cells does not exist — Essbase's "empty block" never appears here).

A target (a member or a cross-dimensional reference on the left of ``=``, or the member
a block is anchored on) *pins* some dimensions to one member each. Its cells are, within
the scope:

- for the sparse dimensions, the existing blocks in scope whose pinned coordinates are
  the target's; with block creation on (``SET CREATENONMISSINGBLK``/``CREATEBLOCKONEQ``)
  also the blocks in scope moved onto the target's sparse members;
- for the dense dimensions, the cross product of the pinned member and, elsewhere, every
  stored member in scope.

A pinned dimension ignores the FIX on that dimension (the target names its member), as
``DATACOPY "Working" TO "Final"`` writes Final whatever the FIX says about Version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from epmjobs.planning.cube.cells import Cells
from epmjobs.planning.cube.layout import Keys
from epmjobs.planning.cube.model import CubeModel
from epmjobs.planning.outline.vocabulary import Density

Mask = npt.NDArray[np.bool_]
Pins = Mapping[int, int]  # dimension position -> node
#: The most cells one statement may enumerate (blocks x dense combinations).
MAX_TARGET_CELLS = 60_000_000


@dataclass(frozen=True)
class Scope:
    """Per dimension position, the nodes a FIX allows (absent: all), and the regions
    EXCLUDE takes out."""

    fixed: Mapping[int, Mask] = field(default_factory=dict)
    excluded: tuple[Mapping[int, Mask], ...] = ()

    def narrow(self, chosen: Mapping[int, Mask]) -> Scope:
        fixed = dict(self.fixed)
        for position, mask in chosen.items():
            current = fixed.get(position)
            fixed[position] = mask if current is None else (current & mask)
        return Scope(fixed, self.excluded)

    def exclude(self, chosen: Mapping[int, Mask]) -> Scope:
        return Scope(self.fixed, (*self.excluded, dict(chosen)))

    def contains(self, model: CubeModel, keys: Keys, ignore: frozenset[int] = frozenset()
                 ) -> Mask:
        """Which cells are in scope, not looking at the dimensions in ``ignore``."""
        layout = model.layout
        mask = np.ones(len(keys), dtype=np.bool_)
        for position, allowed in self.fixed.items():
            if position not in ignore:
                mask &= allowed[layout.coordinate(keys, position)]
        for region in self.excluded:
            considered = [p for p in region if p not in ignore]
            if not considered:
                continue
            hit = np.ones(len(keys), dtype=np.bool_)
            for position in considered:
                hit &= region[position][layout.coordinate(keys, position)]
            mask &= ~hit
        return mask


@dataclass(frozen=True, eq=False)
class Blocks:
    """The dense/sparse split of a cube and the block arithmetic on packed keys."""

    model: CubeModel

    @property
    def dense(self) -> list[int]:
        return [i for i, d in enumerate(self.model.dimensions) if d.density is Density.DENSE]

    @property
    def sparse(self) -> list[int]:
        return [i for i, d in enumerate(self.model.dimensions) if d.density is not Density.DENSE]

    def block_of(self, keys: Keys) -> Keys:
        """Each key with its dense coordinates set to 0: the key of its block."""
        layout = self.model.layout
        out = keys.copy()
        for position in self.dense:
            out -= layout.coordinate(keys, position).astype(np.int64) * layout.strides[position]
        return out

    def existing(self, cells: Cells) -> Keys:
        return np.unique(self.block_of(cells.keys))

    def is_dense(self, position: int) -> bool:
        return self.model.dimensions[position].density is Density.DENSE

    def stored_nodes(self, position: int) -> npt.NDArray[np.int32]:
        """Nodes that hold stored cells: stored, not shared, not Label Only or dynamic, not
        an implied share (a parent that is its only consolidating child)."""
        dim = self.model.dimensions[position]
        h = self.model.hierarchies[dim.name]
        return np.flatnonzero(h.loadable & ~h.dynamic & ~h.implied_share).astype(np.int32)


def target_keys(blocks: Blocks, cells: Cells, scope: Scope, pins: Pins, *,
                create: bool) -> Keys:
    """The cells a target pinned to ``pins`` names in ``scope`` (sorted, unique)."""
    model = blocks.model
    layout = model.layout
    pinned = frozenset(pins)
    existing = blocks.existing(cells)
    fixed = Scope(scope.fixed)  # exclusions may cut through blocks: applied per cell below
    in_scope = existing[fixed.contains(model, existing, pinned | frozenset(blocks.dense))]
    sparse_pins = {p: n for p, n in pins.items() if not blocks.is_dense(p)}
    chosen = in_scope
    for position, node in sparse_pins.items():
        chosen = chosen[layout.coordinate(chosen, position) == node]
    if create and sparse_pins:
        moved = in_scope
        for position, node in sparse_pins.items():
            moved = _move(model, moved, position, node)
        chosen = np.union1d(chosen, moved)
    offsets = _dense_offsets(blocks, scope, pins)
    if len(chosen) * len(offsets) > MAX_TARGET_CELLS:
        raise OverflowError(len(chosen) * len(offsets))
    keys = (chosen[:, None] + offsets[None, :]).ravel()
    if scope.excluded:
        keys = keys[scope.contains(model, keys, pinned)]
    keys.sort()
    return keys


def _dense_offsets(blocks: Blocks, scope: Scope, pins: Pins) -> Keys:
    layout = blocks.model.layout
    offsets = np.zeros(1, dtype=np.int64)
    for position in blocks.dense:
        if position in pins:
            nodes = np.array([pins[position]], dtype=np.int64)
        else:
            nodes = blocks.stored_nodes(position).astype(np.int64)
            allowed = scope.fixed.get(position)
            if allowed is not None:
                nodes = nodes[allowed[nodes]]
        offsets = (offsets[:, None] + nodes[None, :] * layout.strides[position]).ravel()
    return offsets


def _move(model: CubeModel, keys: Keys, position: int, node: int) -> Keys:
    layout = model.layout
    old = layout.coordinate(keys, position)
    return layout.move(keys, position, old, np.full(len(keys), node, dtype=np.int32))


def pin_keys(model: CubeModel, keys: Keys, pins: Pins) -> Keys:
    """``keys`` moved onto the pinned members."""
    for position, node in pins.items():
        keys = _move(model, keys, position, node)
    return keys
