"""Members a script names, resolved against one cube: FIX lists, targets, references.

Member lists go through the member-selection engine (``planning.selection``): a name, a
``&variable`` and a ``@FUNCTION(...)`` of the AST map onto its terms; a runtime prompt's
value is selection text (``E110``, ``@RELATIVE("Total Entity", 0)``). Ranges ``a:b`` (same
level) and ``a::b`` (same generation) take the members between the two in outline order.
``AND`` intersects lists of one dimension; ``OR`` unites them.

Every problem is a ``CalcScriptError`` at the position of the expression at fault;
unknown members get Oracle's text ("The member X does not exist for the specified cube or
you do not have access to it.").
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from epmjobs.errors import CalcScriptError, MemberSelectionError
from epmjobs.planning.application import name_key
from epmjobs.planning.calc import ast
from epmjobs.planning.calc.references import SELECTION_FUNCTIONS
from epmjobs.planning.cube.model import CubeModel
from epmjobs.planning.selection import MemberResolver, parse_selection
from epmjobs.planning.selection import terms as sel
from epmjobs.planning.selection.functions import unknown_member
from epmjobs.planning.selection.tree import Nodes, union

NodeLists = dict[int, Nodes]  # dimension position -> base nodes, outline order
#: ``@CURRMBR(dim)`` in a cross-dimensional reference: the current cell's member.
CURRENT = -1


def fail(message: str, node: ast.Node) -> CalcScriptError:
    return CalcScriptError(message, node.line, node.column)


def number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value)


class MemberNames:
    """Resolves member expressions of one script run in ``model``'s cube."""

    def __init__(self, model: CubeModel, variables: Mapping[str, str],
                 prompts: Mapping[str, str]) -> None:
        self.model = model
        self.variables = {name_key(k.removeprefix("&")): v for k, v in variables.items()}
        self.prompts = dict(prompts)
        self.resolver = MemberResolver(model.compiled, model.outline, self.variables)

    # -- text of variables and prompts ---------------------------------------------------

    def text(self, node: ast.SubVar | ast.Prompt) -> str:
        if isinstance(node, ast.Prompt):
            value = self.prompts.get(node.name)
            if value is None:
                raise fail(f"Value is missing for the runtime prompt: {node.name}.", node)
            return value
        value = self.variables.get(name_key(node.name))
        if value is None:
            raise fail(f"The substitution variable &{node.name} is not defined.", node)
        return value

    # -- lists ---------------------------------------------------------------------------

    def lists(self, expr: ast.Expr) -> NodeLists:
        """The members ``expr`` selects, per dimension (base members)."""
        if isinstance(expr, ast.Binary) and expr.op in ("AND", "OR"):
            return self._combine(expr)
        if isinstance(expr, ast.MemberRange):
            return self._range(expr)
        terms = self.terms(expr)
        try:
            found = self.resolver.select(terms)
        except MemberSelectionError as exc:
            raise fail(exc.message, expr) from exc
        return {self._known(name): found.base_nodes(name) for name in found}

    def _combine(self, expr: ast.Binary) -> NodeLists:
        left, right = self.lists(expr.left), self.lists(expr.right)
        if expr.op == "AND":
            out = {**left, **right}
            for position in left.keys() & right.keys():
                out[position] = np.intersect1d(left[position], right[position]).astype(np.int32)
            return out
        if left.keys() != right.keys() or len(left) != 1:
            raise fail("OR combines members of one dimension only", expr)
        position = next(iter(left))
        return {position: union(left[position], right[position])}

    def _range(self, expr: ast.MemberRange) -> NodeLists:
        first, first_node = self.single(expr.first)
        last, last_node = self.single(expr.last)
        if first != last:
            raise fail("the two ends of a member range are in different dimensions", expr)
        dim = self.model.dimensions[first]
        rank = dim.level if expr.operator == ":" else dim.generation
        low, high = sorted((first_node, last_node))
        nodes = np.arange(low, high + 1, dtype=np.int32)
        nodes = nodes[(rank[nodes] == rank[first_node]) & (dim.base[nodes] == nodes)]
        return {first: nodes}

    def terms(self, expr: ast.Expr) -> list[sel.Term]:
        """``expr`` as member-selection terms."""
        if isinstance(expr, ast.MemberRef):
            return [sel.MemberRef(expr.name)]
        if isinstance(expr, ast.Number):
            return [sel.MemberRef(number_text(expr.value))]
        if isinstance(expr, ast.SubVar):
            return [sel.Variable(expr.name)]
        if isinstance(expr, ast.Prompt):
            try:
                return parse_selection(self.text(expr))
            except MemberSelectionError as exc:
                raise fail(f"In the value of the runtime prompt {expr.name}: {exc.message}",
                           expr) from exc
        if isinstance(expr, ast.Call) and expr.name in SELECTION_FUNCTIONS:
            args = []
            for arg in expr.args:
                found = self.terms(arg)
                if len(found) != 1:
                    raise fail(f"an argument of {expr.name} must be one member or function",
                               arg)
                args.append(found[0])
            return [sel.Call(expr.name, tuple(args))]
        if isinstance(expr, ast.Call):
            raise fail(f"{expr.name} does not select members: it cannot stand in a member "
                       "list", expr)
        raise fail("expected a member, a member list or a member function here", expr)

    # -- single members and cross-dimensional references ---------------------------------

    def single(self, expr: ast.Expr) -> tuple[int, int]:
        """(dimension position, base node) of an expression naming exactly one member."""
        if isinstance(expr, ast.MemberRef | ast.Number):
            name = expr.name if isinstance(expr, ast.MemberRef) else number_text(expr.value)
            return self._named(name, expr)
        found = self.lists(expr)
        if len(found) == 1:
            position, nodes = next(iter(found.items()))
            if len(nodes) == 1:
                return position, int(nodes[0])
        count = sum(len(n) for n in found.values())
        raise fail(f"expected one member, found {count}", expr)

    def _named(self, name: str, expr: ast.Node) -> tuple[int, int]:
        for position, dim in enumerate(self.model.dimensions):
            node = dim.node(name)
            if node is not None:
                return position, node
        raise fail(unknown_member(name), expr)

    def pins(self, expr: ast.Expr) -> dict[int, int]:
        """Dimension position -> node for a member or a cross-dimensional reference;
        ``CURRENT`` for ``@CURRMBR(dim)``."""
        items = expr.members if isinstance(expr, ast.CrossRef) else (expr,)
        pins: dict[int, int] = {}
        for item in items:
            position, node = self._item(item)
            if position in pins:
                raise fail(f"{expr_text(expr)} names two members of the dimension "
                           f"{self.model.dimensions[position].name}", item)
            pins[position] = node
        return pins

    def _item(self, item: ast.Expr) -> tuple[int, int]:
        if isinstance(item, ast.Call) and item.name == "@CURRMBR":
            return self.dimension(_only_argument(item)), CURRENT
        if isinstance(item, ast.SubVar | ast.Prompt):
            value = self.text(item).strip()
            if len(value) > 1 and value[0] == value[-1] == '"':
                value = value[1:-1]
            return self._named(value, item) if self._is_name(value) else self.single(item)
        return self.single(item)

    def _is_name(self, text: str) -> bool:
        return any(d.node(text) is not None for d in self.model.dimensions)

    def dimension(self, expr: ast.Expr) -> int:
        """The position of the dimension an argument names."""
        name = expr.name if isinstance(expr, ast.MemberRef) else None
        if isinstance(expr, ast.SubVar | ast.Prompt):
            name = self.text(expr).strip().strip('"')
        position = None if name is None else self.model.position(name)
        if position is None:
            raise fail(f"expected a dimension of the cube {self.model.name}", expr)
        return position

    def _known(self, dimension: str) -> int:
        position = self.model.position(dimension)
        assert position is not None, dimension
        return position


def _only_argument(call: ast.Call) -> ast.Expr:
    if len(call.args) != 1:
        raise fail(f"{call.name} takes 1 argument, not {len(call.args)}", call)
    return call.args[0]


def expr_text(expr: ast.Expr) -> str:
    if isinstance(expr, ast.MemberRef):
        return f'"{expr.name}"'
    if isinstance(expr, ast.CrossRef):
        return "->".join(expr_text(m) for m in expr.members)
    if isinstance(expr, ast.SubVar):
        return "&" + expr.name
    if isinstance(expr, ast.Prompt):
        return "{" + expr.name + "}"
    if isinstance(expr, ast.Call):
        return expr.name + "(...)"
    return "the expression"
