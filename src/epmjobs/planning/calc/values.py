"""Evaluating an expression for many cells at once.

A ``Frame`` is the cells being calculated (their packed keys) and, for script variables
assigned inside a member block, their rows in the block. An expression's value is one
float per cell, NaN for #Missing: a member reference reads the cell with that member
substituted (``"Units"`` in the cell ``Revenue->Jan->E110`` reads ``Units->Jan->E110``),
a cross-dimensional reference substitutes several, arithmetic follows ``arithmetic``,
functions ``builtins``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from epmjobs.planning.calc import arithmetic, ast
from epmjobs.planning.calc.arithmetic import Vector
from epmjobs.planning.calc.machine import Machine
from epmjobs.planning.calc.members import CURRENT, fail
from epmjobs.planning.calc.scope import pin_keys
from epmjobs.planning.cube.layout import Keys

Rows = npt.NDArray[np.intp]


@dataclass
class Frame:
    keys: Keys
    rows: Rows
    locals: dict[str, Vector] = field(default_factory=dict)  # VARs set in this block
    #: Dimensions where some of ``keys`` name a member without stored data (a Dynamic Calc
    #: member's formula evaluated at a dynamic parent): reads must compute those too.
    unstored: frozenset[int] = frozenset()

    def sub(self, mask: npt.NDArray[np.bool_] | npt.NDArray[np.intp]) -> Frame:
        """The cells ``mask`` selects (a boolean mask, or positions in order)."""
        return Frame(self.keys[mask], self.rows[mask], self.locals, self.unstored)

    def __len__(self) -> int:
        return len(self.keys)


def frame_of(keys: Keys, machine: Machine | None = None) -> Frame:
    unstored: frozenset[int] = frozenset()
    if machine is not None and len(keys):
        layout = machine.model.layout
        unstored = frozenset(p for p, virtual in enumerate(machine.virtual)
                             if virtual[layout.coordinate(keys, p)].any())
    return Frame(keys, np.arange(len(keys), dtype=np.intp), unstored=unstored)


class Evaluator:
    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        self.names = machine.names
        self._pins: dict[int, dict[int, int]] = {}
        machine.evaluator = self

    def value(self, expr: ast.Expr, frame: Frame) -> Vector:
        n = len(frame)
        if isinstance(expr, ast.Number):
            return np.full(n, expr.value)
        if isinstance(expr, ast.Missing):
            return np.full(n, np.nan)
        if isinstance(expr, ast.Binary):
            op = arithmetic.BINARY[expr.op]
            return op(self.value(expr.left, frame), self.value(expr.right, frame))
        if isinstance(expr, ast.Unary):
            return arithmetic.UNARY[expr.op](self.value(expr.operand, frame))
        if isinstance(expr, ast.VarRef):
            return self.variable(expr.name, frame)
        if isinstance(expr, ast.SubVar | ast.Prompt):
            number = self.number_text(expr)
            if number is not None:
                return np.full(n, number)
            return self.reference(expr, frame)
        if isinstance(expr, ast.MemberRef | ast.CrossRef):
            return self.reference(expr, frame)
        if isinstance(expr, ast.Call):
            from epmjobs.planning.calc.builtins import call

            return call(self, expr, frame)
        raise fail("a member range selects members: it is not a value", expr)

    def number_text(self, expr: ast.SubVar | ast.Prompt) -> float | None:
        text = self.names.text(expr).strip()
        try:
            value = float(text)
        except ValueError:
            return None
        return None if np.isnan(value) or np.isinf(value) else value

    def variable(self, name: str, frame: Frame) -> Vector:
        key = name.upper()
        local = frame.locals.get(key)
        if local is not None:
            return local[frame.rows]
        return np.full(len(frame), self.machine.scalars.get(key, np.nan))

    # -- member references ---------------------------------------------------------------

    def pins(self, expr: ast.Expr) -> dict[int, int]:
        """The dimensions a reference fixes (``@CURRMBR`` items left out)."""
        found = self._pins.get(id(expr))
        if found is None:
            found = {p: n for p, n in self.names.pins(expr).items() if n != CURRENT}
            self._pins[id(expr)] = found
        return found

    def reference(self, expr: ast.Expr, frame: Frame) -> Vector:
        pins = self.pins(expr)
        keys = pin_keys(self.machine.model, frame.keys, pins)
        return self.machine.read(keys, {*pins, *frame.unstored})

    def read_at(self, expr: ast.Expr | None, frame: Frame, position: int,
                nodes: npt.NDArray[np.int32], valid: npt.NDArray[np.bool_]) -> Vector:
        """The value of ``expr`` (a member or cross-dimensional reference; None: the cell
        itself) with dimension ``position`` moved to ``nodes`` per cell; #Missing where
        ``valid`` is False."""
        model = self.machine.model
        pins = {} if expr is None else self.pins(expr)
        keys = pin_keys(model, frame.keys, {p: n for p, n in pins.items() if p != position})
        old = model.layout.coordinate(keys, position)
        moved = model.layout.move(keys, position, old, np.where(valid, nodes, old))
        out = self.machine.read(moved, {*pins, position, *frame.unstored})
        out[~valid] = np.nan
        return out
