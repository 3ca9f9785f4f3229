"""Outline validation, the first step of CUBE_REFRESH: what Essbase would refuse to build.

Errors (a refresh must fail): members cut off from the dimension member (a parent cycle),
shared instances whose base member is missing, below them or after them in outline order,
shared instances with children, operators other than ``+``/``~`` in aggregate storage stored
hierarchies, members valid for no cube of their dimension, Dynamic Calc members below a
Label Only member, a name used twice. Warnings (a refresh goes on): Label Only members
without children, shared instances of a parent member, dimensions used in no cube.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from epmjobs.planning.application import CubeKind, name_key
from epmjobs.planning.outline.model import Dimension, Member
from epmjobs.planning.outline.outline import Outline
from epmjobs.planning.outline.vocabulary import (
    DataStorage,
    DimensionType,
    HierarchyType,
    Operator,
    Severity,
)

_ASO_STORED_OPERATORS = frozenset({Operator.ADD, Operator.IGNORE})


@dataclass(frozen=True)
class Problem:
    severity: Severity
    dimension: str
    member: str | None
    message: str
    cube: str | None = None


def validate(outline: Outline) -> list[Problem]:
    """Every problem of ``outline``, errors and warnings, dimension by dimension."""
    problems = list(_duplicate_names(outline))
    for dim in outline.dimensions:
        problems.extend(_DimensionCheck(outline, dim).run())
    return problems


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity is Severity.ERROR]


def _duplicate_names(outline: Outline) -> Iterator[Problem]:
    owner: dict[str, str] = {}
    for dim in outline.dimensions:
        for key, member in dim.by_name.items():
            if key in owner:
                yield Problem(Severity.ERROR, dim.name, member.name,
                              f"The name {member.name} is also used in the {owner[key]} "
                              "dimension.")
            owner.setdefault(key, dim.name)


class _DimensionCheck:
    def __init__(self, outline: Outline, dim: Dimension) -> None:
        self.outline, self.dim = outline, dim
        self.problems: list[Problem] = []
        self.cubes = [i for i, c in enumerate(outline.cubes) if c.name in dim.cubes]
        self.aso = [i for i in self.cubes if outline.cubes[i].kind is CubeKind.ASO]

    def problem(self, member: Member | None, message: str, severity: Severity = Severity.ERROR,
                cube: int | None = None) -> None:
        self.problems.append(Problem(
            severity, self.dim.name, member.name if member else None, message,
            self.outline.cubes[cube].name if cube is not None else None))

    def run(self) -> list[Problem]:
        if not self.cubes and self.dim.type is not DimensionType.ATTRIBUTE:
            self.problem(None, f"The dimension {self.dim.name} is used in no cube.",
                         Severity.WARNING)
        order = self._walk()
        for member in self.dim.by_id.values():
            if member.id not in order:
                self.problem(member, f"The member {member.name} is not under the dimension "
                             "member: its parents form a cycle or are missing.")
            elif member.base is not None:
                self._shared(member, order)
        return self.problems

    def _walk(self) -> dict[int, int]:
        """Outline order of the members reachable from the root, checking each on the way."""
        order: dict[int, int] = {}
        stack: list[tuple[Member, bool, HierarchyType]] = [
            (self.dim.root, False, HierarchyType.STORED)]
        while stack:
            member, under_label, hierarchy = stack.pop()
            if member.id in order:
                continue
            order[member.id] = len(order)
            hierarchy = member.props.hierarchy_type or hierarchy
            if member is not self.dim.root and member.base is None:
                self._member(member, under_label, hierarchy)
            under = under_label or member.props.storage is DataStorage.LABEL_ONLY
            stack.extend((c, under, hierarchy) for c in reversed(member.children))
        return order

    def _member(self, member: Member, under_label: bool, hierarchy: HierarchyType) -> None:
        props = member.props
        if under_label and props.storage.is_dynamic:
            self.problem(member, f"The member {member.name} is {props.storage} below a Label "
                         "Only member.")
        if props.storage is DataStorage.LABEL_ONLY and not member.children:
            self.problem(member, f"The Label Only member {member.name} has no children.",
                         Severity.WARNING)
        if self.dim.type is DimensionType.ATTRIBUTE:
            return
        if self.cubes and not any(props.valid[i] for i in self.cubes):
            self.problem(member, f"The member {member.name} is valid for no cube of the "
                         f"{self.dim.name} dimension.")
        if self.dim.type is not DimensionType.ACCOUNT and hierarchy is HierarchyType.STORED:
            for i in self.aso:
                if props.valid[i] and props.ops[i] not in _ASO_STORED_OPERATORS:
                    self.problem(member, f"The member {member.name} uses the operator "
                                 f"{props.ops[i].value} in an aggregate storage stored "
                                 "hierarchy, which allows only + and ~.", cube=i)

    def _shared(self, member: Member, order: dict[int, int]) -> None:
        base = member.base
        name = member.name
        if base is None or self.dim.by_id.get(base.id) is not base or name_key(
                base.name) != name_key(name):
            self.problem(member, f"The shared member {name} has no base member.")
            return
        if member.children:
            self.problem(member, f"The shared member {name} has children.")
        if member.is_descendant_of(base):
            self.problem(member, f"The shared member {name} is below its base member.")
        elif order.get(base.id, -1) > order[member.id]:
            self.problem(member, f"The shared member {name} (under {_parent(member)}) comes "
                         "before its base member in outline order.")
        if base.children:
            self.problem(member, f"The shared member {name} shares the parent member {name} "
                         "and so its whole subtree.", Severity.WARNING)


def _parent(member: Member) -> str:
    return member.parent.name if member.parent is not None else "?"
