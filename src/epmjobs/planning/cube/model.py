"""One cube of an outline, ready for cell work: compiled dimensions, the cell layout, the
consolidation hierarchies and name lookups, built once per (outline, cube).

Outlines are values, so a model built for an outline object stays valid as long as that
object lives; ``cube_model`` keeps a few in a small cache keyed by the outline's identity.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from epmjobs.errors import OutlineError
from epmjobs.planning.application import name_key
from epmjobs.planning.cube.consolidate import Consolidator, calc_order
from epmjobs.planning.cube.hierarchy import Hierarchy
from epmjobs.planning.cube.layout import CubeLayout
from epmjobs.planning.outline import CompiledCube, Outline, compile_cube
from epmjobs.planning.outline.compiled import CompiledDimension
from epmjobs.planning.outline.vocabulary import DataType


@dataclass(frozen=True, eq=False)
class CubeModel:
    outline: Outline
    compiled: CompiledCube

    @property
    def name(self) -> str:
        return self.compiled.cube.name

    @cached_property
    def layout(self) -> CubeLayout:
        return CubeLayout.of(self.compiled)

    @cached_property
    def hierarchies(self) -> dict[str, Hierarchy]:
        return {d.name: Hierarchy(d) for d in self.compiled.dimensions}

    @cached_property
    def consolidator(self) -> Consolidator:
        return Consolidator(self.compiled, self.layout, self.hierarchies)

    @cached_property
    def calc_order(self) -> list[str]:
        return calc_order(self.compiled)

    @property
    def dimensions(self) -> tuple[CompiledDimension, ...]:
        return self.compiled.dimensions

    def dimension(self, name: str) -> CompiledDimension | None:
        return self.compiled.dimension(name)

    def position(self, name: str) -> int | None:
        key = name_key(name)
        return next((i for i, d in enumerate(self.dimensions) if name_key(d.name) == key), None)

    @cached_property
    def _members(self) -> dict[str, tuple[int, int]]:
        """name key -> (dimension position, base node) for every member of the cube."""
        found: dict[str, tuple[int, int]] = {}
        for position, dim in enumerate(self.dimensions):
            for key, node in dim.index.items():
                found.setdefault(key, (position, node))
        return found

    def with_data_type(self, position: int, data_type: DataType) -> npt.NDArray[np.bool_]:
        """Per node of a dimension: whether its (base) member has ``data_type``."""
        dim = self.dimensions[position]
        members = self.outline.require(dim.name).by_name
        return np.fromiter((members[name_key(n)].props.data_type is data_type
                            if name_key(n) in members else False for n in dim.names),
                           dtype=np.bool_, count=len(dim))

    def find(self, name: str) -> tuple[int, int] | None:
        """(dimension position, node) of a member valid for this cube, else None."""
        return self._members.get(name_key(name))


_cache: weakref.WeakKeyDictionary[Outline, dict[str, CubeModel]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def cube_model(outline: Outline, cube: str) -> CubeModel:
    """The model of ``cube`` (OutlineError when the outline has no such cube)."""
    key = name_key(cube)
    with _lock:
        models = _cache.setdefault(outline, {})
        model = models.get(key)
    if model is not None:
        return model
    index = outline.cube_index(cube)
    if index is None:
        raise OutlineError(f"The cube {cube} does not exist in this application.")
    model = CubeModel(outline, compile_cube(outline, outline.cubes[index].name))
    with _lock:
        models[key] = model
    return model
