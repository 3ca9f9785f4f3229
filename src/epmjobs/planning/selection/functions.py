"""The catalogue of member functions: each one's spelling, parameters and implementation.

Two families share one evaluator: Planning's form functions (``Children(X)``, no ``@``) and
Essbase's calc-script functions (``@CHILDREN(X)``). Names are matched case-insensitively and
the ``@`` is part of the name, so ``Relative`` and ``@RELATIVE`` could mean different things.
``Lvl<N>Descendants``/``ILvl<N>Descendants`` exist for every level N.

An implementation receives its arguments already converted (``Param`` says to what) and
returns ``Members``. Hierarchy functions answer with the nodes at those positions, shared
instances included; functions that select by a property (``@UDA``, ``@ATTRIBUTE``,
``@WITHATTR``, ``@MEMBER``) answer with base members.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple, Protocol

import numpy as np

from epmjobs.errors import MemberSelectionError
from epmjobs.planning.outline.compiled import CompiledDimension
from epmjobs.planning.outline.model import Dimension, Member
from epmjobs.planning.selection.facts import AttributeTest, Facts, level0_names
from epmjobs.planning.selection.tree import Nodes, Tree, union


class Members(NamedTuple):
    """What a term selects: nodes of one dimension of the cube, unique, in outline order."""

    dimension: CompiledDimension
    nodes: Nodes


class At(NamedTuple):
    """One member of the cube: a function's single-member argument."""

    dimension: CompiledDimension
    node: int


class AttributeRef(NamedTuple):
    """An attribute dimension (and one of its members, or None for the dimension itself)
    together with the cube's compiled base dimension it tags."""

    source: Dimension
    member: Member | None
    base: CompiledDimension


class Param(Enum):
    MEMBER = "a single member"
    MEMBERS = "members"
    NUMBER = "a generation or level number"
    TEXT = "text"
    DIMENSION = "a dimension of the cube"
    ATTRIBUTE_DIMENSION = "an attribute dimension"
    ATTRIBUTE_MEMBER = "an attribute member"


class Context(Protocol):
    def tree(self, dim: CompiledDimension) -> Tree: ...
    def facts(self, dim: CompiledDimension) -> Facts: ...
    def resolve(self, name: str) -> At: ...


Run = Callable[..., Members]


@dataclass(frozen=True)
class Function:
    name: str
    params: tuple[Param, ...]
    run: Run
    required: int = -1  # -1: all of ``params``
    variadic: bool = False  # the last parameter repeats

    @property
    def least(self) -> int:
        return len(self.params) if self.required < 0 else self.required

    def arity_problem(self, count: int) -> str | None:
        """Why ``count`` arguments do not fit, or None."""
        most = None if self.variadic else len(self.params)
        if self.least <= count and (most is None or count <= most):
            return None
        if most is None:
            wanted = f"at least {self.least}"
        elif most == self.least:
            wanted = str(most)
        else:
            wanted = f"{self.least} to {most}"
        plural = "" if wanted.split()[-1] == "1" else "s"
        return f"The member function {self.name} takes {wanted} argument{plural}, not {count}"


# -- implementations ----------------------------------------------------------------------------

Relation = Callable[[Tree, int], Nodes]
Limit = Callable[[Tree, Nodes, int], Nodes]


def _relation(relation: Relation, inclusive: bool, limit: Limit | None = None) -> Run:
    def run(ctx: Context, at: At, gen_or_level: int | None = None) -> Members:
        tree = ctx.tree(at.dimension)
        nodes = relation(tree, at.node)
        if limit is not None and gen_or_level is not None:
            nodes = limit(tree, nodes, gen_or_level)
        if inclusive:
            nodes = union(nodes, np.array([at.node], dtype=np.int32))
        return Members(at.dimension, nodes)
    return run


def _parent(tree: Tree, node: int) -> Nodes:
    parent = tree.parent(node)
    return np.array([] if parent is None else [parent], dtype=np.int32)


def _all_ancestors(tree: Tree, node: int) -> Nodes:
    return union(*(tree.ancestors(n) for n in tree.instances(node).tolist()))


def _descendants_at_level(level: int, inclusive: bool) -> Run:
    def run(ctx: Context, at: At) -> Members:
        tree = ctx.tree(at.dimension)
        return Members(at.dimension, tree.at(tree.subtree(at.node, inclusive), -level))
    return run


def _relative(ctx: Context, at: At, gen_or_level: int) -> Members:
    tree = ctx.tree(at.dimension)
    return Members(at.dimension, tree.at(tree.subtree(at.node), gen_or_level))


def _levmbrs(ctx: Context, dim: CompiledDimension, level: int) -> Members:
    if level < 0:
        raise MemberSelectionError(f"@LEVMBRS needs a level number of 0 or more, not {level}.")
    return Members(dim, ctx.tree(dim).at_level(level))


def _genmbrs(ctx: Context, dim: CompiledDimension, generation: int) -> Members:
    if generation < 1:
        raise MemberSelectionError(
            f"@GENMBRS needs a generation number of 1 or more, not {generation}.")
    return Members(dim, ctx.tree(dim).at_generation(generation))


def _uda(ctx: Context, dim: CompiledDimension, uda: str) -> Members:
    return Members(dim, ctx.facts(dim).with_uda(uda))


def _attribute(ctx: Context, attribute: AttributeRef) -> Members:
    assert attribute.member is not None
    values = level0_names(attribute.source, attribute.member)
    test = AttributeTest("IN", attribute.member.name, values)
    return Members(attribute.base,
                   ctx.facts(attribute.base).with_attribute(attribute.source.name, test))


def _withattr(ctx: Context, attribute: AttributeRef, operator: str, value: str) -> Members:
    op = " ".join(operator.split()).upper()
    if op == "IN":
        member = attribute.source.member(value)
        if member is None:
            raise MemberSelectionError(unknown_member(value))
        test = AttributeTest(op, value, level0_names(attribute.source, member))
    elif AttributeTest(op, value).compare is None:
        raise MemberSelectionError(
            f'The member function @WITHATTR has no operator "{operator}"; use one of '
            ">, >=, <, <=, ==, <>, != or IN.")
    else:
        test = AttributeTest(op, value)
    return Members(attribute.base,
                   ctx.facts(attribute.base).with_attribute(attribute.source.name, test))


def _list(ctx: Context, first: Members, *others: Members) -> Members:
    for other in others:
        if other.dimension is not first.dimension:
            raise MemberSelectionError(
                f"The member function @LIST mixes members of {first.dimension.name} and "
                f"{other.dimension.name}; a list holds members of one dimension.")
    return Members(first.dimension, union(first.nodes, *(o.nodes for o in others)))


def _remove(ctx: Context, members: Members, removed: Members) -> Members:
    """``members`` without ``removed``; a shared instance and its base member count as the
    same member. Members of another dimension remove nothing."""
    if removed.dimension is not members.dimension:
        return members
    base = members.dimension.base
    keep = ~np.isin(base[members.nodes], base[removed.nodes])
    return Members(members.dimension, members.nodes[keep])


def _match(ctx: Context, at: At, pattern: str) -> Members:
    tree = ctx.tree(at.dimension)
    return Members(at.dimension, ctx.facts(at.dimension).matching(tree.subtree(at.node), pattern))


def _member(ctx: Context, name: str) -> Members:
    at = ctx.resolve(name)
    return Members(at.dimension, np.array([at.node], dtype=np.int32))


def unknown_member(name: str) -> str:
    return (f"The member {name.strip()} does not exist for the specified cube or you do not "
            "have access to it.")


# -- the catalogue ------------------------------------------------------------------------------

_M, _N = (Param.MEMBER,), (Param.MEMBER, Param.NUMBER)
_CHILDREN: Relation = Tree.children
_ANCESTORS: Relation = Tree.ancestors


def _descendants(tree: Tree, node: int) -> Nodes:
    return tree.subtree(node, inclusive=False)


def _siblings(side: str) -> Relation:
    def relation(tree: Tree, node: int) -> Nodes:
        return tree.siblings(node, side)
    return relation


_SIBLINGS = {side: _siblings(side) for side in ("both", "left", "right")}


def _family(prefix: str, names: tuple[str, str], relation: Relation, params: tuple[Param, ...],
            limit: Limit | None = None) -> list[Function]:
    """The plain and the inclusive (``I``) form of a relation."""
    return [Function(prefix + names[0], params, _relation(relation, False, limit), 1),
            Function(prefix + names[1], params, _relation(relation, True, limit), 1)]


_CATALOGUE: list[Function] = [
    *_family("", ("Children", "IChildren"), _CHILDREN, _M),
    *_family("", ("Descendants", "IDescendants"), _descendants, _M),
    *_family("", ("Ancestors", "IAncestors"), _ANCESTORS, _M),
    *_family("", ("Siblings", "ISiblings"), _SIBLINGS["both"], _M),
    *_family("", ("LSiblings", "ILSiblings"), _SIBLINGS["left"], _M),
    *_family("", ("RSiblings", "IRSiblings"), _SIBLINGS["right"], _M),
    *_family("", ("Parent", "IParent"), _parent, _M),
    *_family("@", ("CHILDREN", "ICHILDREN"), _CHILDREN, _M),
    *_family("@", ("DESCENDANTS", "IDESCENDANTS"), _descendants, _N, Tree.down_to),
    *_family("@", ("ANCESTORS", "IANCESTORS"), _ANCESTORS, _N, Tree.up_to),
    *_family("@", ("ALLANCESTORS", "IALLANCESTORS"), _all_ancestors, _M),
    *_family("@", ("SIBLINGS", "ISIBLINGS"), _SIBLINGS["both"], _M),
    *_family("@", ("LSIBLINGS", "ILSIBLINGS"), _SIBLINGS["left"], _M),
    *_family("@", ("RSIBLINGS", "IRSIBLINGS"), _SIBLINGS["right"], _M),
    Function("@PARENT", _M, _relation(_parent, False)),
    Function("@RELATIVE", _N, _relative),
    Function("@LEVMBRS", (Param.DIMENSION, Param.NUMBER), _levmbrs),
    Function("@GENMBRS", (Param.DIMENSION, Param.NUMBER), _genmbrs),
    Function("@UDA", (Param.DIMENSION, Param.TEXT), _uda),
    Function("@ATTRIBUTE", (Param.ATTRIBUTE_MEMBER,), _attribute),
    Function("@WITHATTR", (Param.ATTRIBUTE_DIMENSION, Param.TEXT, Param.TEXT), _withattr),
    Function("@LIST", (Param.MEMBERS,), _list, variadic=True),
    Function("@REMOVE", (Param.MEMBERS, Param.MEMBERS), _remove),
    Function("@MATCH", (Param.MEMBER, Param.TEXT), _match),
    Function("@MEMBER", (Param.TEXT,), _member),
]
FUNCTIONS: dict[str, Function] = {f.name.casefold(): f for f in _CATALOGUE}
_LEVEL_N = re.compile(r"(i?)lvl([0-9]{1,4})descendants")


def lookup(name: str) -> Function | None:
    """The function called ``name`` (any case), or None."""
    key = name.strip().casefold()
    found = FUNCTIONS.get(key)
    if found is None and (match := _LEVEL_N.fullmatch(key)):
        inclusive, level = bool(match.group(1)), int(match.group(2))
        spelled = f"{'I' if inclusive else ''}Lvl{level}Descendants"
        found = Function(spelled, _M, _descendants_at_level(level, inclusive))
    return found
