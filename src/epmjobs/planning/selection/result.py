"""What a member selection evaluates to: per dimension, the selected nodes of the cube."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from epmjobs.planning.application import name_key
from epmjobs.planning.outline.compiled import CompiledCube, CompiledDimension
from epmjobs.planning.selection.tree import Nodes, union


class Selection(Mapping[str, Nodes]):
    """Dimension name -> ``int32`` node array (unique, in outline order), for the dimensions
    the selection names, in the order it first names them. Lookups ignore case.

    A dimension that is named but selects nothing (``Children(Jan)``) maps to an empty array;
    a dimension that is not named is absent (callers usually take all of it).

    Nodes are the positions the functions selected: ``Descendants`` of a parent with shared
    children holds the shared instances' nodes. Data lives on base members, so callers that
    read or write cells use ``base_nodes``.
    """

    def __init__(self, cube: CompiledCube, nodes: Mapping[str, Nodes]) -> None:
        self.cube = cube
        self._nodes = dict(nodes)
        self._keys = {name_key(k): k for k in self._nodes}

    def __getitem__(self, dimension: str) -> Nodes:
        return self._nodes[self._keys.get(name_key(dimension), dimension)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._nodes)

    def __len__(self) -> int:
        return len(self._nodes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Selection):
            return NotImplemented
        return self.cube is other.cube and list(self) == list(other) and all(
            np.array_equal(self._nodes[k], other._nodes[k]) for k in self._nodes)

    __hash__ = None  # type: ignore[assignment]

    def dimension(self, dimension: str) -> CompiledDimension:
        found = self.cube.dimension(self._keys.get(name_key(dimension), dimension))
        if found is None:
            raise KeyError(dimension)
        return found

    def base_nodes(self, dimension: str) -> Nodes:
        """The base-member nodes of ``dimension``'s selection: each shared instance replaced
        by its base member, unique, in outline order. Cells are keyed on these."""
        return union(self.dimension(dimension).base[self[dimension]])

    def names(self, dimension: str) -> list[str]:
        """The selected member names of ``dimension`` (a shared instance repeats its name)."""
        names = self.dimension(dimension).names
        return [names[n] for n in self[dimension].tolist()]

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}: {len(v)} nodes" for k, v in self._nodes.items())
        return f"<Selection of {self.cube.cube.name} {{{parts}}}>"
