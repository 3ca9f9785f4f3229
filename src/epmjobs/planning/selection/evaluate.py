"""Evaluating terms against one compiled cube: names to nodes, functions to node arrays.

A name resolves in the dimension that holds it (names are unique in an application; a shared
instance's name resolves to its base member). A member that exists in the application but is
not valid for the cube is, for this cube, a member that does not exist: Oracle's message is
the same. Terms on one dimension union; terms on different dimensions stay apart (the caller
forms the cross product).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from epmjobs.errors import MemberSelectionError
from epmjobs.planning.application import name_key
from epmjobs.planning.outline.compiled import CompiledCube, CompiledDimension
from epmjobs.planning.outline.model import EMPTY
from epmjobs.planning.outline.outline import Outline
from epmjobs.planning.outline.vocabulary import DimensionType
from epmjobs.planning.selection.facts import Facts
from epmjobs.planning.selection.functions import (
    At,
    AttributeRef,
    Function,
    Members,
    Param,
    lookup,
    unknown_member,
)
from epmjobs.planning.selection.parse import parse_selection
from epmjobs.planning.selection.result import Selection
from epmjobs.planning.selection.terms import Call, MemberRef, Term, Variable, render
from epmjobs.planning.selection.tree import Tree, union


def select_members(cube: CompiledCube, outline: Outline, text: str,
                   variables: Mapping[str, str] = EMPTY) -> Selection:
    """The members ``text`` selects in ``cube``, per dimension (see ``Selection``)."""
    return MemberResolver(cube, outline, variables).select(parse_selection(text))


class MemberResolver:
    """Evaluates terms in ``cube``; ``outline`` (the one ``cube`` was compiled from) supplies
    UDAs, attributes and aliases, ``variables`` the values of substitution variables (names
    with or without ``&``, any case).

    Keep one resolver for many evaluations: it builds each dimension's hierarchy index and
    property index once, on first use.
    """

    def __init__(self, cube: CompiledCube, outline: Outline,
                 variables: Mapping[str, str] = EMPTY) -> None:
        self.cube = cube
        self.outline = outline
        self.variables = {name_key(k.removeprefix("&")): v for k, v in variables.items()}
        self._trees: dict[str, Tree] = {}
        self._facts: dict[str, Facts] = {}
        self._parsed: dict[str, list[Term]] = {}
        self._expanding: list[str] = []

    # -- the context functions use ---------------------------------------------------------

    def tree(self, dim: CompiledDimension) -> Tree:
        tree = self._trees.get(dim.name)
        if tree is None:
            tree = self._trees[dim.name] = Tree(dim)
        return tree

    def facts(self, dim: CompiledDimension) -> Facts:
        facts = self._facts.get(dim.name)
        if facts is None:
            facts = self._facts[dim.name] = Facts(self.outline.require(dim.name), dim)
        return facts

    def resolve(self, name: str) -> At:
        """The node called ``name`` (a base member or a root), wherever it is in the cube."""
        for dim in self.cube.dimensions:
            node = dim.node(name)
            if node is not None:
                return At(dim, node)
        raise MemberSelectionError(unknown_member(name))

    # -- evaluation --------------------------------------------------------------------------

    def select(self, terms: Sequence[Term]) -> Selection:
        """Every term evaluated, unioned per dimension; a variable whose value lists several
        terms counts as those terms."""
        found: dict[str, list[Any]] = {}
        for term in terms:
            self._gather(term, found)
        return Selection(self.cube, {name: union(*parts) for name, parts in found.items()})

    def _gather(self, term: Term, found: dict[str, list[Any]]) -> None:
        if isinstance(term, Variable):
            with self._expanding_variable(term):
                for inner in self._value_terms(term):
                    self._gather(inner, found)
            return
        members = self.evaluate(term)
        found.setdefault(members.dimension.name, []).append(members.nodes)

    def evaluate(self, term: Term) -> Members:
        """What one term selects; it must stay within one dimension."""
        if isinstance(term, MemberRef):
            at = self._member(term)
            return Members(at.dimension, np.array([at.node], dtype=np.int32))
        if isinstance(term, Variable):
            return self._variable(term)
        return self._call(term)

    def _member(self, term: MemberRef) -> At:
        at = self.resolve(term.name)
        if term.qualifiers:
            tree = self.tree(at.dimension)
            above = {name_key(at.dimension.name)} | {
                name_key(at.dimension.names[a]) for a in tree.ancestors(at.node).tolist()}
            if any(name_key(q) not in above for q in term.qualifiers):
                raise MemberSelectionError(unknown_member(render(term)))
        return at

    def _variable(self, term: Variable) -> Members:
        with self._expanding_variable(term):
            parts = [self.evaluate(t) for t in self._value_terms(term)]
        dims = list(dict.fromkeys(p.dimension.name for p in parts))
        if len(dims) > 1:
            raise MemberSelectionError(
                f"The substitution variable &{term.name} selects members of several dimensions "
                f"({', '.join(dims)}) where members of one dimension are expected.")
        return Members(parts[0].dimension, union(*(p.nodes for p in parts)))

    def _value(self, term: Variable) -> str:
        value = self.variables.get(name_key(term.name))
        if value is None:
            raise MemberSelectionError(f"The substitution variable &{term.name} is not defined.")
        return value

    def _value_terms(self, term: Variable) -> list[Term]:
        key = name_key(term.name)
        parsed = self._parsed.get(key)
        if parsed is None:
            value = self._value(term)
            try:
                parsed = parse_selection(value)
            except MemberSelectionError as e:
                raise MemberSelectionError(
                    f"In the value of the substitution variable &{term.name}: {e.message}") from e
            if not parsed:
                raise MemberSelectionError(f"The substitution variable &{term.name} is empty.")
            self._parsed[key] = parsed
        return parsed

    @contextmanager
    def _expanding_variable(self, term: Variable) -> Iterator[None]:
        key = name_key(term.name)
        if key in self._expanding:
            raise MemberSelectionError(
                f"The substitution variable &{term.name} refers to itself.")
        self._expanding.append(key)
        try:
            yield
        finally:
            self._expanding.pop()

    def _call(self, call: Call) -> Members:
        function = lookup(call.function)
        if function is None:
            raise MemberSelectionError(f"Unknown member function {call.function}.")
        problem = function.arity_problem(len(call.args))
        if problem:
            raise MemberSelectionError(problem + ".")
        params = function.params + (function.params[-1],) * max(
            0, len(call.args) - len(function.params))
        args = [self._argument(function, i, p, a)
                for i, (p, a) in enumerate(zip(params, call.args, strict=False))]
        return function.run(self, *args)

    def _argument(self, function: Function, index: int, param: Param, term: Term) -> Any:
        if param is Param.MEMBERS:
            return self.evaluate(term)
        if param is Param.MEMBER:
            members = self.evaluate(term)
            if len(members.nodes) != 1:
                count = "no member" if not len(members.nodes) else f"{len(members.nodes)} members"
                raise MemberSelectionError(
                    f"The member function {function.name} needs a single member as argument "
                    f"{index + 1}, but {render(term)} selects {count}.")
            return At(members.dimension, int(members.nodes[0]))
        text = self._literal(function, index, param, term)
        if param is Param.NUMBER:
            return self._number(function, index, text)
        if param is Param.DIMENSION:
            dim = self.cube.dimension(text)
            if dim is None:
                raise self._wrong(function, index, param, text)
            return dim
        if param is Param.TEXT:
            return text
        return self._attribute(function, index, param, text)

    def _literal(self, function: Function, index: int, param: Param, term: Term) -> str:
        if isinstance(term, MemberRef) and not term.qualifiers:
            return term.name
        if isinstance(term, Variable):
            value = self._value(term).strip()
            return value[1:-1] if len(value) > 1 and value[0] == value[-1] == '"' else value
        raise self._wrong(function, index, param, render(term))

    def _number(self, function: Function, index: int, text: str) -> int:
        try:
            return int(text.strip())
        except ValueError:
            raise self._wrong(function, index, Param.NUMBER, text) from None

    def _attribute(self, function: Function, index: int, param: Param, text: str) -> AttributeRef:
        source = self.outline.owner(text)
        if source is None:
            if param is Param.ATTRIBUTE_MEMBER:
                raise MemberSelectionError(unknown_member(text))
            raise self._wrong(function, index, param, text)
        if source.type is not DimensionType.ATTRIBUTE or (
                param is Param.ATTRIBUTE_DIMENSION and name_key(source.name) != name_key(text)):
            raise self._wrong(function, index, param, text)
        base = self.cube.dimension(source.base_dimension or "")
        if base is None:
            raise MemberSelectionError(
                f"The attribute dimension {source.name} describes {source.base_dimension}, "
                f"which is not a dimension of the cube {self.cube.cube.name}.")
        member = source.member(text) if param is Param.ATTRIBUTE_MEMBER else None
        return AttributeRef(source, member, base)

    def _wrong(self, function: Function, index: int, param: Param,
               text: str) -> MemberSelectionError:
        return MemberSelectionError(
            f"The member function {function.name} needs {param.value} as argument {index + 1}, "
            f'not "{text}".')
