"""A set of cells: sorted, unique packed keys and their values.

``#Missing`` is not a value: a missing cell is absent. Values are ``float64``; zero is a
real value, distinct from missing (reference §6.3). Inside computations ``NaN`` stands
for ``#Missing`` and is dropped before cells are kept.

Operations return new ``Cells``; nothing is changed in place, so a job can compute its
result and commit it (or drop it) as a whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from epmjobs.planning.cube.layout import CubeLayout, Keys, Nodes

Values = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


class LoadMode(StrEnum):
    REPLACE = "replace"
    ACCUMULATE = "accumulate"
    SUBTRACT = "subtract"


@dataclass(frozen=True, eq=False)
class Cells:
    keys: Keys
    values: Values

    @classmethod
    def empty(cls) -> Cells:
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))

    @classmethod
    def build(cls, keys: Keys, values: Values) -> Cells:
        """Cells from unsorted keys (the last of duplicates wins); NaN values dropped."""
        keep = ~np.isnan(values)
        keys, values = keys[keep], values[keep]
        order = sort_order(keys)
        keys, values = keys[order], values[order]
        if len(keys) > 1:
            last = np.ones(len(keys), dtype=np.bool_)
            last[:-1] = keys[1:] != keys[:-1]
            keys, values = keys[last], values[last]
        return cls(keys, values)

    def __len__(self) -> int:
        return len(self.keys)

    def where(self, mask: Mask) -> Cells:
        return Cells(self.keys[mask], self.values[mask])

    def lookup(self, keys: Keys) -> Values:
        """The value at each key, NaN where missing."""
        out = np.full(len(keys), np.nan)
        if not len(self.keys) or not len(keys):
            return out
        where = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        hit = self.keys[where] == keys
        out[hit] = self.values[where[hit]]
        return out

    def merge(self, incoming: Cells | tuple[Keys, Values],
              mode: LoadMode = LoadMode.REPLACE) -> Cells:
        """These cells updated by ``incoming`` (sorted unique keys; NaN = write #Missing).
        Replace: incoming values win, NaN clears. Accumulate/subtract: #Missing algebra
        (X + #MI = X); a NaN incoming value leaves the cell as it is."""
        keys, values = (incoming.keys, incoming.values) if isinstance(incoming, Cells) \
            else incoming
        if mode is not LoadMode.REPLACE:
            old = self.lookup(keys)
            sign = 1.0 if mode is LoadMode.ACCUMULATE else -1.0
            values = np.where(np.isnan(values), old,
                              np.where(np.isnan(old), 0.0, old) + sign * values)
        if not len(self.keys):
            all_keys, all_values = keys, values
        else:  # both sorted: update hits in place, insert the rest at their positions
            at = np.searchsorted(self.keys, keys)
            hit = at < len(self.keys)
            hit[hit] = self.keys[at[hit]] == keys[hit]
            all_values = self.values.copy()
            all_values[at[hit]] = values[hit]
            new = ~hit
            all_keys = np.insert(self.keys, at[new], keys[new])
            all_values = np.insert(all_values, at[new], values[new])
        present = ~np.isnan(all_values)
        if present.all():
            return Cells(all_keys, all_values)
        return Cells(all_keys[present], all_values[present])

    def replace_region(self, region: Mask, incoming: Cells) -> Cells:
        """Drop the cells selected by ``region`` and add ``incoming`` (which wins)."""
        return self.where(~region).merge(incoming)


def sort_order(keys: Keys) -> npt.NDArray[np.intp]:
    """The order that sorts ``keys``, keeping equal keys in their given order. An unstable
    sort is twice as fast and gives the same order when keys are unique, the usual case;
    the stable one runs only when a repeat shows up."""
    order = np.argsort(keys)
    ordered = keys[order]
    if len(ordered) > 1 and bool((ordered[1:] == ordered[:-1]).any()):
        return np.argsort(keys, kind="stable")
    return order


def region_mask(cells: Cells, layout: CubeLayout, selection: Mapping[str, Nodes]) -> Mask:
    """Which cells lie in the cross product of the selected nodes (dimensions not named
    are not restricted)."""
    mask = np.ones(len(cells), dtype=np.bool_)
    for name, nodes in selection.items():
        position = layout.index(name)
        wanted = np.zeros(layout.sizes[position], dtype=np.bool_)
        wanted[nodes] = True
        mask &= wanted[layout.coordinate(cells.keys, position)]
    return mask
