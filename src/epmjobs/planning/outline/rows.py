"""The outline as flat rows for bulk database inserts, and back.

``to_rows`` gives one :class:`DimensionRow` per dimension and one :class:`MemberRow` per
member (roots and shared instances included), members of a dimension in outline order.
``from_rows`` rebuilds the outline exactly, ids included; it checks the references (parents,
bases, names) and leaves the rest (cycles, operators, ...) to ``validate``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from epmjobs.errors import OutlineError
from epmjobs.planning.application import Cube, name_key
from epmjobs.planning.outline import codec
from epmjobs.planning.outline.model import Dimension, Member, gc_paused
from epmjobs.planning.outline.outline import Outline
from epmjobs.planning.outline.vocabulary import DataStorage, Density, DimensionType, parse_enum


class DimensionRow(NamedTuple):
    position: int  # 0-based order of the dimension in the outline
    name: str
    type: str  # DimensionType value
    root_id: int
    cubes: dict[str, str]  # cube name -> "Dense" | "Sparse", for the cubes it is valid in
    base_dimension: str | None = None  # attribute dimensions only


class MemberRow(NamedTuple):
    member_id: int
    dimension: int  # DimensionRow.position
    name: str
    parent_id: int | None  # None for the dimension member
    position: int  # 0-based place among its siblings
    storage: str  # DataStorage value
    base_id: int | None  # the base member of a shared instance
    properties: dict[str, Any]  # codec.encode without dataStorage


@dataclass(frozen=True)
class OutlineRows:
    alias_tables: list[str]
    next_id: int
    dimensions: list[DimensionRow]
    members: list[MemberRow]


def to_rows(outline: Outline, only: Collection[str] | None = None) -> OutlineRows:
    """The rows of every dimension, or of the dimensions named in ``only`` (positions are
    those in the whole outline either way)."""
    dims: list[DimensionRow] = []
    members: list[MemberRow] = []
    encoder = codec.Encoder(outline.cubes)
    keys = None if only is None else {name_key(n) for n in only}
    for position, dim in enumerate(outline.dimensions):
        if keys is not None and name_key(dim.name) not in keys:
            continue
        dims.append(DimensionRow(position, dim.name, dim.type.value, dim.root.id,
                                 {c: d.value for c, d in dim.cubes.items()}, dim.base_dimension))
        places = {c.id: i for m in dim.by_id.values() for i, c in enumerate(m.children)}
        for m in dim.walk():
            members.append(MemberRow(
                m.id, position, m.name, m.parent.id if m.parent else None, places.get(m.id, 0),
                m.props.storage.value, m.base.id if m.base is not None else None,
                encoder.encode(m.props, storage=False)))
    return OutlineRows(list(outline.alias_tables), outline.next_id, dims, members)


def from_rows(cubes: Sequence[Cube], rows: OutlineRows) -> Outline:
    with gc_paused():
        return _from_rows(cubes, rows)


def _from_rows(cubes: Sequence[Cube], rows: OutlineRows) -> Outline:
    outline = Outline(cubes, rows.alias_tables)
    by_dimension: dict[int, list[MemberRow]] = defaultdict(list)
    for row in rows.members:
        by_dimension[row.dimension].append(row)
    for drow in sorted(rows.dimensions, key=lambda d: d.position):
        outline.dimensions.append(_dimension(outline, drow, by_dimension[drow.position]))
    outline.next_id = max(rows.next_id, *(r.member_id + 1 for r in rows.members), 1)
    return outline


def _dimension(outline: Outline, drow: DimensionRow, rows: Iterable[MemberRow]) -> Dimension:
    members: dict[int, Member] = {}
    decoder = codec.Decoder(outline.cubes)
    for row in rows:
        props = decoder.decode(row.properties, f"Member {row.name}")
        storage = parse_enum(DataStorage, row.storage)
        if storage is None:
            raise OutlineError(f"Member {row.name}: invalid storage {row.storage!r}.")
        members[row.member_id] = Member(row.member_id, row.name, props._replace(storage=storage))
    if drow.root_id not in members:
        raise OutlineError(f"The dimension {drow.name} has no root member {drow.root_id}.")
    dim = Dimension(drow.name, DimensionType(drow.type),
                    {c: Density(d) for c, d in drow.cubes.items()}, members[drow.root_id],
                    drow.base_dimension)
    _link(dim, members, rows)
    return dim


def _link(dim: Dimension, members: dict[int, Member], rows: Iterable[MemberRow]) -> None:
    placed: dict[int, list[tuple[int, Member]]] = defaultdict(list)
    for row in rows:
        member = members[row.member_id]
        dim.by_id[row.member_id] = member
        if row.parent_id is not None:
            parent = members.get(row.parent_id)
            if parent is None:
                raise OutlineError(f"The parent {row.parent_id} of {row.name} does not exist.")
            member.parent = parent
            placed[row.parent_id].append((row.position, member))
        if row.base_id is None:
            key = name_key(row.name)
            if key in dim.by_name and dim.by_name[key] is not member:
                raise OutlineError(f"The member name {row.name} is used twice.")
            dim.by_name[key] = member
        else:
            _share(dim, members, member, row.base_id)
    for parent_id, children in placed.items():
        children.sort(key=lambda pair: pair[0])
        members[parent_id].children = [m for _, m in children]


def _share(dim: Dimension, members: dict[int, Member], member: Member, base_id: int) -> None:
    base = members.get(base_id)
    if base is None:
        raise OutlineError(f"The base member {base_id} of the shared {member.name} does not "
                           "exist.")
    member.base = base
    if base.instances is None:
        base.instances = []
    base.instances.append(member)
    dim.shared_count += 1
