"""A shortcut for the commonest rule statement: a dense member set from other members of
its own dimensions, ``"Revenue" = "Units" * "Price";``.

The general path calculates every cell of every existing block in scope. When the
expression is #Missing wherever all the members it reads are #Missing (it is *strict*:
``*``, ``/`` and ``%`` with a strict side, ``+`` and ``-`` with two, ``@ABS``/``@ROUND``
of a strict argument, no constants added), the only cells whose value can change are those
where one of those members has a value, and the target's own cells (which may become
#Missing). Those are found from the stored cells directly — a key range when the pinned
dimension comes first in key order — so the statement costs time in proportion to the
cells it touches, not to the cube. The result is the same as the general path's; the
tests run both.
"""

from __future__ import annotations

import numpy as np

from epmjobs.planning.calc import ast
from epmjobs.planning.calc.cellops import matching
from epmjobs.planning.calc.machine import Machine
from epmjobs.planning.calc.scope import Scope, pin_keys
from epmjobs.planning.calc.values import Evaluator, frame_of
from epmjobs.planning.cube.layout import Keys

_SAME_SIDES = ("+", "-")
_ONE_SIDE = ("*", "/", "%")
_WRAPPERS = ("@ABS", "@ROUND")


def assign(machine: Machine, evaluator: Evaluator, scope: Scope,
           statement: ast.Assignment) -> bool:
    """Run ``statement`` by the shortcut if it qualifies; False if it does not (nothing
    done then)."""
    if isinstance(statement.target, ast.VarRef):
        return False
    pins = evaluator.pins(statement.target)
    if not pins or not all(machine.blocks.is_dense(p) for p in pins):
        return False
    references = _reads(evaluator, statement.expr)
    if references is None:
        return False
    read_pins = [evaluator.pins(r) for r in references]
    for found in read_pins:
        if not set(found) <= set(pins) or any(machine.virtual[p][n] for p, n in found.items()):
            return False
    keys = _candidates(machine, scope, pins, read_pins)
    values = evaluator.value(statement.expr, frame_of(keys, machine))
    machine.write(keys, values, new_blocks=False)
    return True


def _reads(ev: Evaluator, expr: ast.Expr) -> list[ast.Expr] | None:
    """The member references that decide where ``expr`` can have a value; None when it
    can have one where they are all #Missing (it is not strict)."""
    if isinstance(expr, ast.Missing):
        return []
    if isinstance(expr, ast.MemberRef | ast.CrossRef):
        return [expr]
    if isinstance(expr, ast.SubVar | ast.Prompt):
        return None if ev.number_text(expr) is not None else [expr]
    if isinstance(expr, ast.Unary):
        return _reads(ev, expr.operand)
    if isinstance(expr, ast.Binary) and expr.op in _SAME_SIDES:
        left, right = _reads(ev, expr.left), _reads(ev, expr.right)
        return None if left is None or right is None else left + right
    if isinstance(expr, ast.Binary) and expr.op in _ONE_SIDE:
        left, right = _reads(ev, expr.left), _reads(ev, expr.right)
        if left is None and right is None:
            return None
        return (left or []) + (right or [])
    if isinstance(expr, ast.Call) and expr.name in _WRAPPERS and expr.args:
        return _reads(ev, expr.args[0])
    return None


def _candidates(machine: Machine, scope: Scope, pins: dict[int, int],
                read_pins: list[dict[int, int]]) -> Keys:
    model, cells = machine.model, machine.cells
    parts = [matching(model, cells, pins).keys]
    for found in read_pins:
        parts.append(pin_keys(model, matching(model, cells, {**pins, **found}).keys, pins))
    keys = np.concatenate(parts)
    keys.sort(kind="stable")
    if len(keys) > 1:
        keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])]
    mask = scope.contains(model, keys, frozenset(pins))
    layout = model.layout
    for position in machine.blocks.dense:
        if position in pins:
            continue
        stored = np.zeros(layout.sizes[position], dtype=np.bool_)
        stored[machine.blocks.stored_nodes(position)] = True
        allowed = scope.fixed.get(position)
        if allowed is not None:
            stored &= allowed
        mask &= stored[layout.coordinate(keys, position)]
    return keys[mask]
