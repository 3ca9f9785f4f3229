"""The value functions of calc scripts, each on a whole frame of cells at once.

Decisions where Essbase's documentation is silent or ambiguous (docs/calc-scripts.md):
``@MAX``/``@MIN`` read #Missing as 0 unless every value is #Missing; ``@SUM`` follows the
+ rule (#Missing only when all are); ``@ROUND`` rounds half away from zero; a member list
that a function needs and is not given (``@PRIOR``'s range) is the level-0 members of the
Period dimension, as Essbase uses those of the dimension tagged Time.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce

import numpy as np
import numpy.typing as npt

from epmjobs.planning.calc import arithmetic, ast
from epmjobs.planning.calc.arithmetic import Vector
from epmjobs.planning.calc.members import NodeLists, fail
from epmjobs.planning.calc.references import SELECTION_FUNCTIONS
from epmjobs.planning.calc.values import Evaluator, Frame
from epmjobs.planning.outline.vocabulary import DimensionType

Function = Callable[[Evaluator, ast.Call, Frame], Vector]
SKIPS = ("SKIPNONE", "SKIPMISSING", "SKIPZERO", "SKIPBOTH")
_LISTS = (ast.MemberRange, ast.Binary)


def call(ev: Evaluator, expr: ast.Call, frame: Frame) -> Vector:
    impl = FUNCTIONS.get(expr.name)
    if impl is None:
        if expr.name in SELECTION_FUNCTIONS or expr.name == "@CURRMBR":
            raise fail(f"{expr.name} returns members, not a value: use it in a member list "
                       "or a cross-dimensional reference", expr)
        raise fail(f"unknown function {expr.name}", expr)
    return impl(ev, expr, frame)


def _arity(expr: ast.Call, least: int, most: int | None) -> None:
    count = len(expr.args)
    if count < least or (most is not None and count > most):
        wanted = f"{least}" if least == most else (
            f"at least {least}" if most is None else f"{least} to {most}")
        plural = "" if wanted.split()[-1] == "1" else "s"
        raise fail(f"{expr.name} takes {wanted} argument{plural}, not {count}", expr)


def _integer(ev: Evaluator, expr: ast.Expr, what: str) -> int:
    value: float | None = None
    if isinstance(expr, ast.Number):
        value = expr.value
    elif isinstance(expr, ast.Unary) and expr.op == "-" and isinstance(expr.operand,
                                                                         ast.Number):
        value = -expr.operand.value
    elif isinstance(expr, ast.SubVar | ast.Prompt):
        value = ev.number_text(expr)
    if value is None or not float(value).is_integer():
        raise fail(f"expected a whole number for {what}", expr)
    return int(value)


def _is_list(ev: Evaluator, expr: ast.Expr) -> bool:
    if isinstance(expr, ast.Call):
        return expr.name in SELECTION_FUNCTIONS
    if isinstance(expr, ast.Binary):
        return expr.op in ("AND", "OR") and _is_list(ev, expr.left)
    return isinstance(expr, ast.MemberRange)


def _values(ev: Evaluator, args: tuple[ast.Expr, ...], frame: Frame) -> list[Vector]:
    """Each argument's value; a member list contributes one value per member."""
    out: list[Vector] = []
    for arg in args:
        if not _is_list(ev, arg):
            out.append(ev.value(arg, frame))
            continue
        for position, nodes in ev.names.lists(arg).items():
            valid = np.ones(len(frame), dtype=np.bool_)
            for node in nodes.tolist():
                out.append(ev.read_at(None, frame, position,
                                      np.full(len(frame), node, dtype=np.int32), valid))
    if not out:
        return [np.full(len(frame), np.nan)]
    return out


def _sum(ev: Evaluator, expr: ast.Call, frame: Frame) -> Vector:
    _arity(expr, 1, None)
    return reduce(arithmetic.add, _values(ev, expr.args, frame))


def _extreme(pick: Callable[..., Vector]) -> Function:
    def run(ev: Evaluator, expr: ast.Call, frame: Frame) -> Vector:
        _arity(expr, 1, None)
        matrix = np.vstack(_values(ev, expr.args, frame))
        out = pick(np.nan_to_num(matrix), axis=0)
        return np.where(np.isnan(matrix).all(axis=0), np.nan, out)
    return run


def _average(matrix: npt.NDArray[np.float64], skip: str) -> Vector:
    missing, zero = np.isnan(matrix), matrix == 0
    counted = np.ones(matrix.shape, dtype=np.bool_)
    if skip in ("SKIPMISSING", "SKIPBOTH"):
        counted &= ~missing
    if skip in ("SKIPZERO", "SKIPBOTH"):
        counted &= ~zero
    count = counted.sum(axis=0)
    total = np.where(counted, np.nan_to_num(matrix), 0.0).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = total / count
    return np.where((count == 0) | missing.all(axis=0), np.nan, out)


def _skip(expr: ast.Call) -> str:
    first = expr.args[0] if expr.args else expr
    name = first.name.upper() if isinstance(first, ast.MemberRef) else ""
    if name not in SKIPS:
        raise fail(f"{expr.name} needs SKIPNONE, SKIPMISSING, SKIPZERO or SKIPBOTH first",
                   first)
    return name


def _avg(ev: Evaluator, expr: ast.Call, frame: Frame) -> Vector:
    _arity(expr, 2, None)
    skip = _skip(expr)
    return _average(np.vstack(_values(ev, expr.args[1:], frame)), skip)


def _one_dimension(ev: Evaluator, args: tuple[ast.Expr, ...], what: str,
                   anchor: ast.Node) -> tuple[int, npt.NDArray[np.int32]]:
    lists: NodeLists = {}
    for arg in args:
        for position, nodes in ev.names.lists(arg).items():
            lists[position] = np.concatenate([lists.get(position, nodes[:0]), nodes])
    if len(lists) != 1:
        raise fail(f"{what} must name members of one dimension", anchor)
    position, nodes = next(iter(lists.items()))
    return position, nodes.astype(np.int32)


def _time_range(ev: Evaluator, args: tuple[ast.Expr, ...], anchor: ast.Node
                ) -> tuple[int, npt.NDArray[np.int32]]:
    if args:
        return _one_dimension(ev, args, "the range", anchor)
    model = ev.machine.model
    for position, dim in enumerate(model.dimensions):
        if dim.type is DimensionType.PERIOD:
            stored = ev.machine.blocks.stored_nodes(position)
            return position, stored[dim.level[stored] == 0]
    raise fail("the cube has no Period dimension: give the range", anchor)


def _avgrange(ev: Evaluator, expr: ast.Call, frame: Frame) -> Vector:
    _arity(expr, 3, None)
    skip = _skip(expr)
    position, nodes = _one_dimension(ev, expr.args[2:], "the range", expr)
    valid = np.ones(len(frame), dtype=np.bool_)
    rows = [ev.read_at(expr.args[1], frame, position, np.full(len(frame), n, np.int32), valid)
            for n in nodes.tolist()]
    return _average(np.vstack(rows) if rows else np.full((1, len(frame)), np.nan), skip)


def _shift(direction: int) -> Function:
    def run(ev: Evaluator, expr: ast.Call, frame: Frame) -> Vector:
        _arity(expr, 1, None)
        steps = _integer(ev, expr.args[1], "the number of steps") if len(expr.args) > 1 else 1
        position, nodes = _time_range(ev, expr.args[2:], expr)
        index = np.full(len(ev.machine.model.dimensions[position]), -1, dtype=np.int64)
        index[nodes] = np.arange(len(nodes))
        here = index[ev.machine.model.layout.coordinate(frame.keys, position)]
        there = here + direction * steps
        valid = (here >= 0) & (there >= 0) & (there < len(nodes))
        target = nodes[np.clip(there, 0, max(0, len(nodes) - 1))] if len(nodes) else \
            np.zeros(len(frame), dtype=np.int32)
        return ev.read_at(expr.args[0], frame, position, target, valid)
    return run


def shift_dimension(ev: Evaluator, expr: ast.Call) -> int:
    """The dimension an ``@PRIOR``/``@NEXT`` call moves along."""
    return _time_range(ev, expr.args[2:], expr)[0]


def _abs(ev: Evaluator, expr: ast.Call, frame: Frame) -> Vector:
    _arity(expr, 1, 1)
    return np.abs(ev.value(expr.args[0], frame))


def _round(ev: Evaluator, expr: ast.Call, frame: Frame) -> Vector:
    _arity(expr, 2, 2)
    digits = _integer(ev, expr.args[1], "the number of decimals")
    return arithmetic.round_half_away(ev.value(expr.args[0], frame), digits)


def _flag(mask: npt.NDArray[np.bool_]) -> Vector:
    return mask.astype(np.float64)


def _ismbr(ev: Evaluator, expr: ast.Call, frame: Frame) -> Vector:
    _arity(expr, 1, None)
    layout = ev.machine.model.layout
    hit = np.zeros(len(frame), dtype=np.bool_)
    for arg in expr.args:
        for position, nodes in ev.names.lists(arg).items():
            wanted = np.zeros(layout.sizes[position], dtype=np.bool_)
            wanted[nodes] = True
            hit |= wanted[layout.coordinate(frame.keys, position)]
    return _flag(hit)


def _current(ev: Evaluator, frame: Frame, position: int) -> npt.NDArray[np.int32]:
    return ev.machine.model.layout.coordinate(frame.keys, position)


def _islev(ev: Evaluator, expr: ast.Call, frame: Frame) -> Vector:
    _arity(expr, 2, 2)
    position = ev.names.dimension(expr.args[0])
    level = _integer(ev, expr.args[1], "the level")
    dim = ev.machine.model.dimensions[position]
    return _flag(dim.level[_current(ev, frame, position)] == level)


def _related(descendants: bool) -> Function:
    def run(ev: Evaluator, expr: ast.Call, frame: Frame) -> Vector:
        _arity(expr, 1, 1)
        position, node = ev.names.single(expr.args[0])
        dim = ev.machine.model.dimensions[position]
        if descendants:
            below = dim.closure_descendant[(dim.closure_ancestor == node)
                                           & (dim.closure_depth > 0)]
        else:
            below = np.flatnonzero(dim.parent == node)
        wanted = np.zeros(len(dim), dtype=np.bool_)
        wanted[below] = True
        wanted[dim.base[below]] = True
        return _flag(wanted[_current(ev, frame, position)])
    return run


def _isuda(ev: Evaluator, expr: ast.Call, frame: Frame) -> Vector:
    _arity(expr, 2, 2)
    position = ev.names.dimension(expr.args[0])
    nodes = ev.names.lists(ast.Call("@UDA", expr.args, line=expr.line, column=expr.column))
    wanted = np.zeros(len(ev.machine.model.dimensions[position]), dtype=np.bool_)
    wanted[nodes.get(position, np.zeros(0, dtype=np.int32))] = True
    return _flag(wanted[_current(ev, frame, position)])


def _parentval(ev: Evaluator, expr: ast.Call, frame: Frame) -> Vector:
    _arity(expr, 1, 2)
    position = ev.names.dimension(expr.args[0])
    dim = ev.machine.model.dimensions[position]
    parent = dim.parent[_current(ev, frame, position)]
    valid = parent >= 0
    nodes = dim.base[np.maximum(parent, 0)]
    member = expr.args[1] if len(expr.args) > 1 else None
    return ev.read_at(member, frame, position, nodes, valid)


def _ancestval(ev: Evaluator, expr: ast.Call, frame: Frame) -> Vector:
    _arity(expr, 2, 3)
    position = ev.names.dimension(expr.args[0])
    number = _integer(ev, expr.args[1], "the generation or level")
    dim = ev.machine.model.dimensions[position]
    node = _current(ev, frame, position).astype(np.int64)
    for _ in range(int(dim.generation.max())):
        up = dim.generation[node] > number if number > 0 else dim.level[node] < -number
        up &= dim.parent[node] >= 0
        if not up.any():
            break
        node = np.where(up, dim.parent[node], node)
    valid = (dim.generation[node] == number) if number > 0 else (dim.level[node] >= -number)
    member = expr.args[2] if len(expr.args) > 2 else None
    return ev.read_at(member, frame, position, dim.base[node].astype(np.int32), valid)


FUNCTIONS: dict[str, Function] = {
    "@ABS": _abs, "@ANCESTVAL": _ancestval, "@AVG": _avg, "@AVGRANGE": _avgrange,
    "@ISCHILD": _related(False), "@ISDESC": _related(True), "@ISLEV": _islev,
    "@ISMBR": _ismbr, "@ISUDA": _isuda, "@MAX": _extreme(np.max), "@MIN": _extreme(np.min),
    "@NEXT": _shift(1), "@PARENTVAL": _parentval, "@PRIOR": _shift(-1), "@ROUND": _round,
    "@SUM": _sum,
}
