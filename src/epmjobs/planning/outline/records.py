"""Applying one metadata record to a dimension: create, update, move, share or delete.

A record is checked completely before anything changes, so a rejected record leaves the
outline as it was. What a record means (reference planning-model §1.3, §2.1):

- an unknown name creates a member under ``Parent`` (the root when empty), with the
  properties it does not give inherited from the parent (``model.INHERITED``);
- a known name updates the properties it gives; a different ``Parent`` moves the member with
  its subtree (refused when the new parent is the member itself or one of its descendants);
- ``Data Storage`` = ``Shared`` adds (or updates) a shared instance of the existing base member
  under ``Parent``; a shared record may set only ``Aggregation`` and ``Plan Type``; its other
  columns belong to the base member and are ignored, except that a formula is refused;
- ``Operation`` = ``delete level 0`` | ``delete idescendants`` | ``delete descendants``
  deletes (with ``Parent`` and ``Shared``: that shared instance only).
"""

from __future__ import annotations

from epmjobs.planning.application import name_key
from epmjobs.planning.outline.changes import (
    I_FORMULA,
    I_OPS,
    I_VALID,
    Changes,
    RecordParser,
)
from epmjobs.planning.outline.headers import Layout, Rejected
from epmjobs.planning.outline.model import (
    Dimension,
    Member,
    Properties,
    all_add,
    inherited_values,
)
from epmjobs.planning.outline.names import name_problem
from epmjobs.planning.outline.outline import Outline
from epmjobs.planning.outline.vocabulary import (
    STRUCTURAL_TYPES,
    DataStorage,
    DimensionType,
    Operation,
)


class RecordApplier:
    """Applies the records of one file (one ``Layout``) to ``outline``, in place."""

    def __init__(self, outline: Outline, layout: Layout) -> None:
        self.outline = outline
        self.layout = layout
        self.dim: Dimension = layout.dimension
        self.parser = RecordParser(layout, len(outline.cubes))
        self.width = self.parser.width

    def apply(self, fields: list[str]) -> None:
        """Apply one record; raise Rejected (and change nothing) when it cannot be applied."""
        if len(fields) != self.width:
            fields = self.parser.fit(fields)
        name = fields[0].strip()
        if not name:
            raise Rejected("The member name is missing.")
        parsed = self.parser.categorical(fields)
        if parsed.head_error:
            raise Rejected(parsed.head_error)
        parent_name = fields[self.layout.parent].strip() if self.layout.parent else ""
        if parsed.operation is not Operation.UPDATE:
            self._delete(name, parent_name, parsed.storage is DataStorage.SHARED,
                         parsed.operation)
            return
        if parsed.error:
            raise Rejected(parsed.error)
        changes = self.parser.changes(fields, parsed)
        if parsed.storage is DataStorage.SHARED:
            self._share(name, parent_name, changes)
            return
        member = self.dim.by_name.get(name_key(name))
        if member is None:
            self._create(name, parent_name, changes)
        else:
            self._update(member, parent_name, changes)

    def _parent(self, parent_name: str) -> Member:
        parent = self.dim.by_name.get(name_key(parent_name))
        if parent is None:
            other = self.outline.owner(parent_name)
            if other is not None:
                raise Rejected(f"The parent member {parent_name} belongs to the {other.name} "
                               f"dimension, not to {self.dim.name}.")
            raise Rejected(f"The parent member {parent_name} does not exist in the "
                           f"{self.dim.name} dimension.")
        return parent

    # -- the kinds of record ------------------------------------------------------------------

    def _create(self, name: str, parent_name: str, changes: Changes) -> None:
        problem = name_problem(name)
        if problem:
            raise Rejected(problem)
        other = self.outline.owner(name)
        if other is not None:
            raise Rejected(f"The member name {name} is already used in the {other.name} "
                           "dimension: member names must be unique in the application.")
        parent = self._parent(parent_name) if parent_name else self.dim.root
        props = changes.build(inherited_values(parent, parent is self.dim.root))
        self.outline.add_member(self.dim, name, parent, props)

    def _update(self, member: Member, parent_name: str, changes: Changes) -> None:
        if parent_name:
            parent = self._parent(parent_name)
            if parent is not member.parent:
                self._check_move(member, parent)
                member.props = changes.apply(member.props)
                self.dim.move(member, parent)
                return
        member.props = changes.apply(member.props)

    def _check_move(self, member: Member, parent: Member) -> None:
        name = member.name
        if member is self.dim.root:
            raise Rejected(f"The dimension member {name} cannot have a parent.")
        if parent is member or parent.is_descendant_of(member):
            raise Rejected(f"The member {name} cannot be moved under {parent.name}: "
                           f"{parent.name} is {name} itself or one of its descendants.")
        if any(s.parent is parent for s in member.instances or ()):
            raise Rejected(f"The member {name} cannot be moved under {parent.name}: a shared "
                           f"instance of {name} is already there.")
        if self.dim.shared_count:
            above = {id(parent)} | {id(a) for a in _ancestors(parent)}
            for node in self.dim.walk(member):
                if node.base is not None and id(node.base) in above:
                    raise Rejected(f"The member {name} cannot be moved under {parent.name}: the "
                                   f"shared member {node.name} would be below its base member.")

    def _share(self, name: str, parent_name: str, changes: Changes) -> None:
        base = self._shared_base(name)
        if not parent_name:
            raise Rejected(f"The shared member {name} needs a parent.")
        parent = self._parent(parent_name)
        formula = changes.props.get(I_FORMULA)
        if formula is not None:
            raise Rejected(f"The shared member {name} cannot have a formula of its own.")
        existing = next((s for s in base.instances or () if s.parent is parent), None)
        own = Changes({i: v for i, v in changes.props.items() if i in (I_VALID, I_OPS)})
        own.valid, own.ops = changes.valid, changes.ops
        if existing is not None:
            existing.props = own.apply(existing.props)
            return
        if parent is base.parent:
            raise Rejected(f"The shared member {name} must have a different parent than its "
                           f"base member ({parent.name}).")
        if parent is base or parent.is_descendant_of(base):
            raise Rejected(f"The shared member {name} cannot be placed under {parent.name}: "
                           f"{parent.name} is the base member {name} or one of its descendants.")
        props = own.apply(Properties(DataStorage.SHARED, base.props.valid,
                                     all_add(len(base.props.ops))))
        self.outline.add_shared(self.dim, base, parent, props)

    def _shared_base(self, name: str) -> Member:
        if self.dim.type in STRUCTURAL_TYPES or self.dim.type is DimensionType.ATTRIBUTE:
            raise Rejected(f"The {self.dim.name} dimension ({self.dim.type}) cannot hold shared "
                           "members.")
        base = self.dim.by_name.get(name_key(name))
        if base is None:
            other = self.outline.owner(name)
            where = (f"{name} is a member of the {other.name} dimension" if other
                     else f"{name} does not exist in the {self.dim.name} dimension")
            raise Rejected(f"The shared member {name} has no base member: {where}. A base "
                           "member must be loaded before its shared instances.")
        if base is self.dim.root:
            raise Rejected(f"The dimension member {name} cannot be shared.")
        return base

    def _delete(self, name: str, parent_name: str, shared: bool, operation: Operation) -> None:
        member = self.dim.by_name.get(name_key(name))
        if member is None:
            raise Rejected(f"The member {name} does not exist in the {self.dim.name} dimension: "
                           "there is nothing to delete.")
        if shared:
            parent = self._parent(parent_name) if parent_name else None
            target = next((s for s in member.instances or () if s.parent is parent), None)
            if target is None:
                raise Rejected(f"There is no shared instance of {name} under "
                               f"{parent_name or 'the dimension member'} to delete.")
            self.dim.remove(target)
            return
        if operation is Operation.DELETE_DESCENDANTS:
            for child in list(member.children):
                if child.id in self.dim.by_id:
                    self.dim.remove(child)
            return
        if member is self.dim.root:
            raise Rejected(f"The dimension member {name} cannot be deleted.")
        if operation is Operation.DELETE_LEVEL0 and member.children:
            raise Rejected(f"The member {name} is not a level 0 member: use delete idescendants "
                           "to delete it with its descendants.")
        self.dim.remove(member)


def _ancestors(member: Member) -> list[Member]:
    found = []
    node = member.parent
    while node is not None:
        found.append(node)
        node = node.parent
    return found
