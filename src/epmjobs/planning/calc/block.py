"""Running formula statements on a set of cells: a member block ``"M" ( ... )``, an
assignment, a member formula.

Essbase runs a block's statements cell by cell; we run each statement on all the block's
cells at once (a vector step), in statement order. An ``IF`` splits the cells by its
condition and runs each branch on its part. An assignment writes its cells before the
next statement reads, so later statements see earlier results, as in Essbase.

Cell order matters where a statement reads an earlier member of a dimension it is still
writing: ``"Stock" = @PRIOR("Stock") + "In";`` rolls forward in Essbase because February
is calculated after January. A block that calls ``@PRIOR`` therefore runs period by
period: its cells are split by their member of the dimension ``@PRIOR`` moves along and
the whole block runs on each part in outline order (still one vector step per statement
and part). ``@NEXT`` reads members not yet calculated, as in Essbase, so it needs no order.

``VAR`` variables assigned inside a block hold one value per cell of the block.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from epmjobs.errors import CalcScriptError
from epmjobs.planning.calc import ast
from epmjobs.planning.calc.arithmetic import Vector, truth
from epmjobs.planning.calc.builtins import shift_dimension
from epmjobs.planning.calc.machine import Machine
from epmjobs.planning.calc.members import fail
from epmjobs.planning.calc.scope import Pins, pin_keys
from epmjobs.planning.calc.values import Evaluator, Frame, frame_of
from epmjobs.planning.cube.layout import Keys


class BlockRun:
    """The statements of one block on the cells ``keys``; the block's own member is
    ``anchor``. With ``capture``, results for the anchor go to that vector instead of the
    cells (a Dynamic Calc member's formula computes a value; it stores nothing)."""

    def __init__(self, machine: Machine, anchor: Pins, keys: Keys,
                 capture: Vector | None = None) -> None:
        self.machine = machine
        self.evaluator = machine.evaluator or Evaluator(machine)
        self.anchor = dict(anchor)
        self.frame = frame_of(keys, machine)
        self.capture = capture

    def run(self, statements: Sequence[ast.Statement]) -> None:
        position = None if self.capture is not None else self._rolling(statements)
        if position is None or position in self.anchor or len(self.frame) < 2:
            self._body(statements, self.frame)
            return
        coordinates = self.machine.model.layout.coordinate(self.frame.keys, position)
        order = np.argsort(coordinates, kind="stable")  # keeps key order within a member
        ends = np.flatnonzero(np.diff(coordinates[order])) + 1
        for part in np.split(order, ends):
            self._body(statements, self.frame.sub(part))

    def _rolling(self, statements: Sequence[ast.Statement]) -> int | None:
        """The dimension along which the block reads earlier members (``@PRIOR``), None
        when it reads none; a call that cannot be resolved is left to fail when run."""
        for statement in statements:
            for node in ast.walk(statement):
                if isinstance(node, ast.Call) and node.name == "@PRIOR":
                    try:
                        return shift_dimension(self.evaluator, node)
                    except CalcScriptError:
                        return None
        return None

    def _body(self, statements: Sequence[ast.Statement], frame: Frame) -> None:
        for statement in statements:
            if not len(frame):
                return
            self._statement(statement, frame)

    def _statement(self, statement: ast.Statement, frame: Frame) -> None:
        if isinstance(statement, ast.Assignment):
            self._assign(statement.target, self.evaluator.value(statement.expr, frame),
                         frame)
        elif isinstance(statement, ast.ExprStatement):
            self._store(self.anchor, self.evaluator.value(statement.expr, frame), frame,
                        statement)
        elif isinstance(statement, ast.If):
            self._if(statement, frame)
        elif isinstance(statement, ast.VarDecl):
            self._declare(statement, frame)
        elif isinstance(statement, ast.Loop):
            self._loop(statement, frame)
        else:
            raise fail(f"{statement_word(statement)} is not supported inside a member block or "
                       "formula yet", statement)

    def _if(self, statement: ast.If, frame: Frame) -> None:
        rest = frame
        for branch in statement.branches:
            holds = truth(self.evaluator.value(branch.condition, rest))
            self._body(branch.body, rest.sub(holds))
            rest = rest.sub(~holds)
            if not len(rest):
                return
        if statement.else_body is not None:
            self._body(statement.else_body, rest)

    def _loop(self, statement: ast.Loop, frame: Frame) -> None:
        """The body ``count`` times; a cell whose break variable is 1 at the start of an
        iteration leaves the loop."""
        counts = self.evaluator.value(statement.count, frame)
        count = loop_count(float(counts[0]) if len(counts) else 0.0, statement)
        if len(counts) and not np.all(counts == counts[0]):
            raise fail("the LOOP count must be the same for every cell", statement.count)
        broken = None if statement.break_variable is None else statement.break_variable.upper()
        active = frame
        for _ in range(count):
            if broken is not None:
                flags = active.locals.get(broken)
                if flags is None:
                    flags = np.full(len(self.frame), self.machine.scalars.get(broken, np.nan))
                active = active.sub(flags[active.rows] != 1)
            if not len(active):
                return
            self.machine.check()
            self._body(statement.body, active)

    def _declare(self, statement: ast.VarDecl, frame: Frame) -> None:
        key = statement.name.upper()
        vector = frame.locals.get(key)
        if vector is None:
            vector = np.full(len(self.frame), np.nan)
        if statement.initial is not None:
            vector[frame.rows] = self.evaluator.value(statement.initial, frame)
        frame.locals[key] = vector

    def _assign(self, target: ast.Expr, value: Vector, frame: Frame) -> None:
        if isinstance(target, ast.VarRef):
            key = target.name.upper()
            local = frame.locals.get(key)
            if local is None:
                local = frame.locals[key] = np.full(
                    len(self.frame), self.machine.scalars.get(key, np.nan))
            local[frame.rows] = value
            return
        self._store(self.evaluator.pins(target), value, frame, target)

    def _store(self, pins: Pins, value: Vector, frame: Frame, at: ast.Node) -> None:
        if self.capture is not None:
            if dict(pins) != self.anchor:
                raise fail("a Dynamic Calc member's formula can only set its own member",
                           at)
            self.capture[frame.rows] = value
            return
        keys = pin_keys(self.machine.model, frame.keys, pins)
        moved_sparse = any(not self.machine.blocks.is_dense(p) and self.anchor.get(p) != n
                           for p, n in pins.items())
        self.machine.write(keys, value, new_blocks=moved_sparse)


#: More iterations than this is taken for a mistake, not a model.
MAX_LOOP = 1_000_000


def loop_count(value: float, at: ast.Loop) -> int:
    """A LOOP's count: a whole number from 0 to ``MAX_LOOP``."""
    if not (value == value and value.is_integer() and 0 <= value <= MAX_LOOP):
        raise fail(f"the LOOP count must be a whole number from 0 to {MAX_LOOP}", at.count)
    return int(value)


def statement_word(statement: ast.Statement) -> str:
    """A statement's name in messages."""
    return "ARRAY" if isinstance(statement, ast.ArrayDecl) else type(statement).__name__


def run_block(machine: Machine, anchor: Pins, statements: Sequence[ast.Statement],
              keys: Keys) -> None:
    BlockRun(machine, anchor, keys).run(statements)


def formula_result(machine: Machine, anchor: Pins, script: ast.Script, keys: Keys) -> Vector:
    """The value a member formula gives at ``keys`` (its member's cells), storing nothing."""
    out = np.full(len(keys), np.nan)
    try:
        BlockRun(machine, anchor, keys, capture=out).run(script.statements)
    except CalcScriptError as exc:
        position, node = next(iter(anchor.items()))
        name = machine.model.dimensions[position].names[node]
        if exc.reason.startswith("in the formula of") or "runaway recursion" in exc.reason:
            raise
        raise CalcScriptError(f'in the formula of "{name}": {exc.reason}', exc.line,
                              exc.column) from exc
    return out
