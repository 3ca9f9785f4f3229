"""The outline of one application: its cubes, alias tables and dimensions in order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from epmjobs.errors import OutlineError
from epmjobs.planning.application import Cube, name_key
from epmjobs.planning.outline.model import Dimension, Member, Properties, default_properties
from epmjobs.planning.outline.names import name_problem
from epmjobs.planning.outline.vocabulary import DataStorage, Density, DimensionType


class Outline:
    """Dimensions and members of one application.

    Member ids come from ``next_id``: every new member (roots and shared instances too) takes
    the next integer, and ids are never reused, so cube data can key cells on them.
    Names are unique application-wide (``name_key``), except that a shared instance repeats
    its base member's name.
    """

    def __init__(self, cubes: Sequence[Cube], alias_tables: Sequence[str] = ("Default",)) -> None:
        self.cubes = tuple(cubes)
        tables = list(alias_tables)
        if not any(name_key(t) == "default" for t in tables):
            tables.insert(0, "Default")
        self.alias_tables = tuple(tables)
        self.dimensions: list[Dimension] = []
        self.next_id = 1

    # -- lookups ------------------------------------------------------------------------------

    def dimension(self, name: str) -> Dimension | None:
        key = name_key(name)
        return next((d for d in self.dimensions if name_key(d.name) == key), None)

    def require(self, name: str) -> Dimension:
        dim = self.dimension(name)
        if dim is None:
            raise OutlineError(f"The dimension {name} does not exist in this application.")
        return dim

    def cube_index(self, name: str) -> int | None:
        key = name_key(name)
        return next((i for i, c in enumerate(self.cubes) if name_key(c.name) == key), None)

    def alias_table(self, name: str) -> str | None:
        key = name_key(name)
        return next((t for t in self.alias_tables if name_key(t) == key), None)

    def owner(self, name: str) -> Dimension | None:
        """The dimension whose base member (or root) is called ``name``."""
        key = name_key(name)
        for dim in self.dimensions:
            if key in dim.by_name:
                return dim
        return None

    def attribute_dimensions(self, base: Dimension) -> list[Dimension]:
        key = name_key(base.name)
        return [d for d in self.dimensions
                if d.type is DimensionType.ATTRIBUTE and name_key(d.base_dimension or "") == key]

    def member_count(self) -> int:
        return sum(len(d) for d in self.dimensions)

    # -- edits --------------------------------------------------------------------------------

    def add_dimension(
        self, name: str, kind: DimensionType, cubes: Mapping[str, Density] | None = None,
        base_dimension: str | None = None,
    ) -> Dimension:
        """A new, empty dimension (its root member named like it), last in order; by default
        sparse in every cube (attribute dimensions: in none)."""
        name = name.strip()
        problem = name_problem(name, "dimension name")
        if problem:
            raise OutlineError(problem)
        if self.owner(name) is not None:
            raise OutlineError(f"The name {name} is already used in this application.")
        if cubes is None and kind is not DimensionType.ATTRIBUTE:  # attributes: in no cube
            cubes = {c.name: Density.SPARSE for c in self.cubes}
        usage: dict[str, Density] = {}
        for cube, density in (cubes or {}).items():
            index = self.cube_index(cube)
            if index is None:
                raise OutlineError(f"The cube {cube} does not exist in this application.")
            usage[self.cubes[index].name] = Density(density)
        if kind is DimensionType.ATTRIBUTE:
            if base_dimension is None or self.dimension(base_dimension) is None:
                raise OutlineError(f"The attribute dimension {name} needs an existing base "
                                   "dimension.")
            base_dimension = self.require(base_dimension).name
        root = Member(self._allocate_id(), name, default_properties(kind, len(self.cubes)))
        dim = Dimension(name, kind, usage, root, base_dimension)
        self.dimensions.append(dim)
        return dim

    def _allocate_id(self) -> int:
        member_id = self.next_id
        self.next_id += 1
        return member_id

    def add_member(self, dim: Dimension, name: str, parent: Member, props: Properties) -> Member:
        """Append a new base member as the last child of ``parent`` (no validation here)."""
        member = Member(self._allocate_id(), name, props)
        dim.attach(member, parent)
        return member

    def add_shared(self, dim: Dimension, base: Member, parent: Member, props: Properties) -> Member:
        """Append a shared instance of ``base`` as the last child of ``parent``."""
        member = Member(self._allocate_id(), base.name, props._replace(storage=DataStorage.SHARED))
        member.base = base
        dim.attach(member, parent)
        return member

    def empty_like(self) -> Outline:
        """An outline with the same cubes, alias tables and dimensions, and no members."""
        new = Outline(self.cubes, self.alias_tables)
        for d in self.dimensions:
            new.add_dimension(d.name, d.type, d.cubes, d.base_dimension)
        return new

    def copy(self, only: Iterable[str] | None = None) -> Outline:
        """A copy whose dimensions named in ``only`` (default: all) can be edited freely;
        the other dimensions are shared with this outline and must not be edited."""
        keys = None if only is None else {name_key(n) for n in only}
        new = Outline.__new__(Outline)
        new.cubes, new.alias_tables, new.next_id = self.cubes, self.alias_tables, self.next_id
        new.dimensions = [d.copy() if keys is None or name_key(d.name) in keys else d
                          for d in self.dimensions]
        return new
