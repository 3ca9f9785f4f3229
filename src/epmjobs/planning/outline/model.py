"""Members and dimensions: the hierarchy and the properties each member carries.

A member's properties live in one immutable :class:`Properties` tuple, so copying an outline
for an all-or-nothing load copies a handful of references per member, and a change replaces
the tuple (``props._replace(...)``). Mappings inside it (aliases, attributes, extras) are
never mutated in place either: a change builds a new mapping.

Per-cube values (``valid``, ``ops``) are tuples aligned with ``Outline.cubes``.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from operator import itemgetter
from types import MappingProxyType
from typing import Any, NamedTuple

from epmjobs.planning.application import name_key
from epmjobs.planning.outline.vocabulary import (
    AccountType,
    DataStorage,
    DataType,
    Density,
    DimensionType,
    ExchangeRateType,
    HierarchyType,
    Operator,
    SkipValue,
    TimeBalance,
    VarianceReporting,
)

EMPTY: Mapping[str, str] = MappingProxyType({})


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a bulk operation builds many members.

    Nothing such an operation drops is cyclic garbage it needs collected meanwhile; without
    the pause, collections of the growing, long-lived member graph cost ~30% of a large load.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Properties(NamedTuple):
    """Everything a member says about itself besides its name and place in the hierarchy."""

    storage: DataStorage
    valid: tuple[bool, ...]
    ops: tuple[Operator, ...]
    two_pass: bool = False
    formula: str | None = None
    formula_description: str | None = None
    description: str | None = None
    aliases: Mapping[str, str] = EMPTY
    udas: tuple[str, ...] = ()
    smart_list: str | None = None
    data_type: DataType = DataType.UNSPECIFIED
    hierarchy_type: HierarchyType | None = None
    account_type: AccountType | None = None
    time_balance: TimeBalance | None = None
    skip_value: SkipValue | None = None
    exchange_rate_type: ExchangeRateType | None = None
    variance_reporting: VarianceReporting | None = None
    source_plan_type: str | None = None
    base_currency: str | None = None
    start_year: str | None = None
    start_period: str | None = None
    end_year: str | None = None
    end_period: str | None = None
    attributes: Mapping[str, str] = EMPTY
    extras: Mapping[str, str] = EMPTY


#: Fields a new member takes from its parent when its record leaves them empty.
INHERITED = (
    "storage", "valid", "two_pass", "data_type", "account_type", "time_balance", "skip_value",
    "exchange_rate_type", "variance_reporting", "source_plan_type", "base_currency",
)


def default_properties(kind: DimensionType, cube_count: int) -> Properties:
    """What a dimension root carries, and so what its new children start from."""
    props = Properties(DataStorage.NEVER_SHARE, (True,) * cube_count, (Operator.ADD,) * cube_count)
    if kind is DimensionType.ACCOUNT:
        props = props._replace(
            account_type=AccountType.EXPENSE, time_balance=TimeBalance.FLOW,
            skip_value=SkipValue.NONE, exchange_rate_type=ExchangeRateType.NONE,
            variance_reporting=VarianceReporting.EXPENSE,
        )
    return props


FIELD = {name: index for index, name in enumerate(Properties._fields)}
_ADDS: dict[int, tuple[Operator, ...]] = {}
_DEFAULTS: dict[int, tuple[Any, ...]] = {}
_WIDTH = len(Properties._fields)
#: Picks, from ``parent props + defaults``, the parent's inherited fields and the defaults.
_PICK = itemgetter(*(i if f in INHERITED else _WIDTH + i
                     for i, f in enumerate(Properties._fields)))


def all_add(count: int) -> tuple[Operator, ...]:
    """``+`` in each of ``count`` cubes (one shared tuple per count)."""
    ops = _ADDS.get(count)
    if ops is None:
        ops = _ADDS[count] = (Operator.ADD,) * count
    return ops


def inherited_values(parent: Member, is_root: bool) -> list[Any]:
    """``inherit`` as a list of field values, for callers that change some before building."""
    p = parent.props
    count = len(p.ops)
    defaults = _DEFAULTS.get(count)
    if defaults is None:
        defaults = _DEFAULTS[count] = tuple(Properties(
            DataStorage.NEVER_SHARE, (True,) * count, all_add(count)))
    values = list(_PICK(p + defaults))
    if is_root or p.storage in (DataStorage.LABEL_ONLY, DataStorage.SHARED):
        values[0] = DataStorage.NEVER_SHARE
    return values


def inherit(parent: Member, is_root: bool) -> Properties:
    """The properties of a new member under ``parent`` before its record's values apply."""
    return Properties._make(inherited_values(parent, is_root))


class Member:
    """One node of a dimension's hierarchy: a base member, or a shared instance of one."""

    __slots__ = ("base", "children", "id", "instances", "name", "parent", "props")

    def __init__(self, member_id: int, name: str, props: Properties) -> None:
        self.id = member_id
        self.name = name
        self.props = props
        self.parent: Member | None = None
        self.children: list[Member] = []
        self.base: Member | None = None  # set on shared instances
        self.instances: list[Member] | None = None  # shared instances of a base member

    @property
    def is_shared(self) -> bool:
        return self.base is not None

    @property
    def is_leaf(self) -> bool:
        return not self.children

    def is_descendant_of(self, other: Member) -> bool:
        node = self.parent
        while node is not None:
            if node is other:
                return True
            node = node.parent
        return False

    def __repr__(self) -> str:
        kind = "shared " if self.base is not None else ""
        return f"<{kind}Member {self.id} {self.name!r}>"


class Dimension:
    """A dimension: its type, its use per cube, and the hierarchy under its root member."""

    def __init__(
        self, name: str, kind: DimensionType, cubes: Mapping[str, Density], root: Member,
        base_dimension: str | None = None,
    ) -> None:
        self.name = name
        self.type = kind
        self.cubes: dict[str, Density] = dict(cubes)  # cube name -> density, valid cubes only
        self.base_dimension = base_dimension  # attribute dimensions: the dimension they tag
        self.root = root
        self.by_id: dict[int, Member] = {root.id: root}
        self.by_name: dict[str, Member] = {name_key(root.name): root}  # base members only
        self.shared_count = 0

    def member(self, name: str) -> Member | None:
        return self.by_name.get(name_key(name))

    def __len__(self) -> int:
        return len(self.by_id)

    def walk(self, start: Member | None = None) -> Iterator[Member]:
        """``start`` (default the root) and its descendants, parents first, siblings in order."""
        stack = [start or self.root]
        while stack:
            member = stack.pop()
            yield member
            if member.children:
                stack.extend(reversed(member.children))

    # -- structural edits: the invariants of the indexes live here ----------------------------

    def attach(self, member: Member, parent: Member) -> None:
        member.parent = parent
        parent.children.append(member)
        self.by_id[member.id] = member
        if member.base is None:
            self.by_name[name_key(member.name)] = member
        else:
            if member.base.instances is None:
                member.base.instances = []
            member.base.instances.append(member)
            self.shared_count += 1

    def move(self, member: Member, parent: Member) -> None:
        old = member.parent
        assert old is not None
        old.children.remove(member)
        member.parent = parent
        parent.children.append(member)

    def remove(self, member: Member) -> int:
        """Delete ``member``, its subtree and the shared instances of every deleted base."""
        doomed = list(self.walk(member))
        for node in doomed:
            if node.instances:
                doomed.extend(i for i in node.instances if i.id in self.by_id)
        count = 0
        for node in doomed:
            if node.id not in self.by_id:
                continue
            count += 1
            self._unlink(node)
        return count

    def _unlink(self, node: Member) -> None:
        del self.by_id[node.id]
        if node.parent is not None and node.parent.id in self.by_id:
            node.parent.children.remove(node)
        if node.base is None:
            self.by_name.pop(name_key(node.name), None)
        else:
            self.shared_count -= 1
            if node.base.instances is not None:
                node.base.instances.remove(node)

    def copy(self) -> Dimension:
        """An independent copy (same ids); properties are immutable and shared."""
        clones: dict[int, Member] = {}
        for mid, m in self.by_id.items():
            c = Member.__new__(Member)
            c.id, c.name, c.props = mid, m.name, m.props
            clones[mid] = c
        for mid, m in self.by_id.items():
            c = clones[mid]
            c.parent = clones[m.parent.id] if m.parent is not None else None
            c.children = [clones[x.id] for x in m.children]
            c.base = clones[m.base.id] if m.base is not None else None
            c.instances = [clones[x.id] for x in m.instances] if m.instances else None
        new = Dimension.__new__(Dimension)
        new.name, new.type, new.cubes = self.name, self.type, dict(self.cubes)
        new.base_dimension, new.root = self.base_dimension, clones[self.root.id]
        new.by_id = clones
        new.by_name = {k: clones[m.id] for k, m in self.by_name.items()}
        new.shared_count = self.shared_count
        return new


def hierarchy_order(dim: Dimension) -> Iterator[Member]:
    """Members below the root, parents first and siblings in order; a shared instance that
    would precede its base member comes at the end."""
    deferred: list[Member] = []
    seen: set[int] = set()
    for member in dim.walk():
        if member is dim.root:
            continue
        if member.base is not None and member.base.id not in seen:
            deferred.append(member)
            continue
        if member.instances:
            seen.add(member.id)
        yield member
    yield from deferred
