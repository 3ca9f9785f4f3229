"""What the outline says about a cube's members beyond the hierarchy: UDAs, attribute
associations and aliases, indexed by node for the functions that select by them.

They live on the outline's members (``Member.props``), not in the compiled arrays; an index
is built on first use, one pass over the dimension. A shared instance has no properties of
its own: ``@UDA`` and ``@ATTRIBUTE`` answer with base members only, and ``@MATCH`` reads a
shared instance's aliases from its base member.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator
from functools import cached_property
from typing import Any

import numpy as np

from epmjobs.planning.application import name_key
from epmjobs.planning.outline.compiled import CompiledDimension
from epmjobs.planning.outline.model import Dimension, Member
from epmjobs.planning.selection.tree import EMPTY, Nodes, union

#: @WITHATTR's operators, with the comparison each makes (``==`` may be written ``=``).
COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
    "==": operator.eq, "=": operator.eq, "<>": operator.ne, "!=": operator.ne,
}


class Facts:
    """UDAs, attributes and aliases of the members of ``dim`` (``source`` is its outline
    dimension)."""

    def __init__(self, source: Dimension, dim: CompiledDimension) -> None:
        self.source = source
        self.dim = dim

    @cached_property
    def members(self) -> list[Member]:
        """The outline member of each node (a shared node's base member)."""
        by_id = self.source.by_id
        found = [by_id[i] for i in self.dim.ids.tolist()]
        return [m.base or m for m in found]

    def _base_nodes(self) -> Iterator[tuple[int, Member]]:
        base = self.dim.base.tolist()
        for node, member in enumerate(self.members):
            if base[node] == node:
                yield node, member

    @cached_property
    def _udas(self) -> dict[str, list[int]]:
        index: dict[str, list[int]] = {}
        for node, member in self._base_nodes():
            for uda in member.props.udas:
                index.setdefault(name_key(uda), []).append(node)
        return index

    def with_uda(self, uda: str) -> Nodes:
        return union(np.array(self._udas.get(name_key(uda), []), dtype=np.int32))

    @cached_property
    def _attributes(self) -> dict[str, dict[str, list[int]]]:
        """attribute dimension key -> attribute member key -> base nodes associated with it."""
        index: dict[str, dict[str, list[int]]] = {}
        for node, member in self._base_nodes():
            for attribute_dim, value in member.props.attributes.items():
                values = index.setdefault(name_key(attribute_dim), {})
                values.setdefault(name_key(value), []).append(node)
        return index

    def with_attribute(self, attribute_dim: str, test: AttributeTest) -> Nodes:
        """Base nodes whose attribute of ``attribute_dim`` passes ``test``."""
        values = self._attributes.get(name_key(attribute_dim), {})
        hits = [nodes for value, nodes in values.items() if test(value)]
        if not hits:
            return EMPTY
        return union(*(np.asarray(h, dtype=np.int32) for h in hits))

    def matching(self, nodes: Nodes, pattern: str) -> Nodes:
        """The ``nodes`` whose name or an alias matches ``pattern`` (``*`` any characters,
        ``?`` one character, case-insensitive)."""
        regex = re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c)
                                   for c in pattern.strip()), re.IGNORECASE | re.DOTALL)
        members, names = self.members, self.dim.names
        keep = [n for n in nodes.tolist() if regex.fullmatch(names[n]) or any(
            regex.fullmatch(alias) for alias in members[n].props.aliases.values())]
        return np.array(keep, dtype=np.int32)


class AttributeTest:
    """Whether an attribute value (a level-0 attribute member's name key) passes a
    @WITHATTR condition: compared as numbers when both sides are numbers, else as text."""

    def __init__(self, operator: str, value: str, members: frozenset[str] | None = None) -> None:
        self.compare = COMPARISONS.get(operator)
        self.value = name_key(value)
        self.number = _number(value)
        self.members = members  # IN: the level-0 attribute members under ``value``

    def __call__(self, candidate: str) -> bool:
        if self.members is not None:
            return candidate in self.members
        assert self.compare is not None
        number = _number(candidate)
        if number is not None and self.number is not None:
            return bool(self.compare(number, self.number))
        return bool(self.compare(candidate, self.value))


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value else None  # NaN compares with nothing


def level0_names(attribute_dim: Dimension, member: Member) -> frozenset[str]:
    """Name keys of ``member`` and its descendants that have no children: the attribute
    values an attribute member stands for (``@ATTRIBUTE(Large)`` when Large is a parent)."""
    return frozenset(name_key(m.name) for m in attribute_dim.walk(member) if not m.children)
