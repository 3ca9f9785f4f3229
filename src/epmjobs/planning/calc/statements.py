"""Running a script's statements: scopes, commands, assignments and member blocks.

Each statement is one vector step over the cells it names (``scope.target_keys``); FIX and
EXCLUDE narrow the scope of the statements inside them. See docs/calc-scripts.md for what
each statement does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from epmjobs.planning.calc import ast, fastpath
from epmjobs.planning.calc.block import loop_count, run_block, statement_word
from epmjobs.planning.calc.consolidation import (
    aggregate,
    calc_dimension,
    calc_member,
    targets,
    two_pass,
)
from epmjobs.planning.calc.dataexport import ExportOptions, data_export, export_options
from epmjobs.planning.calc.machine import Machine
from epmjobs.planning.calc.members import fail
from epmjobs.planning.calc.scope import Scope, pin_keys
from epmjobs.planning.calc.values import Evaluator, frame_of
from epmjobs.planning.cube.cells import Cells
from epmjobs.planning.outline.vocabulary import Density, DimensionType, TimeBalance

Mask = npt.NDArray[np.bool_]
_SWITCHES = {"AGGMISSG": "aggmissg", "EMPTYMEMBERSETS": "empty_member_sets"}
_CREATION = ("CREATENONMISSINGBLK", "CREATEBLOCKONEQ")
_TIME_BALANCES = {"FIRST": (TimeBalance.FIRST,), "LAST": (TimeBalance.BALANCE,),
                  "AVERAGE": (TimeBalance.AVERAGE, TimeBalance.WEIGHTED_ACTUAL_ACTUAL,
                              TimeBalance.WEIGHTED_ACTUAL_365)}


class ScriptRun:
    def __init__(self, machine: Machine, shortcuts: bool = True) -> None:
        self.machine = machine
        self.shortcuts = shortcuts  # off: every statement by the general path (tests)
        self.evaluator = machine.evaluator or Evaluator(machine)
        self.creation = dict.fromkeys(_CREATION, False)
        self.export_options = ExportOptions()
        self.handlers: dict[type[Any], Callable[[Any, Scope], None]] = {
            ast.Fix: self._fix, ast.Exclude: self._exclude, ast.Set: self._set,
            ast.Agg: self._agg, ast.CalcDim: self._calc_dim, ast.CalcAll: self._calc_all,
            ast.CalcTwoPass: self._two_pass, ast.CalcMember: self._calc_member,
            ast.DataCopy: self._datacopy, ast.ClearData: self._cleardata,
            ast.ClearBlock: self._clearblock, ast.VarDecl: self._var,
            ast.Assignment: self._assignment, ast.MemberBlock: self._member_block,
            ast.Loop: self._loop, ast.DataExport: self._dataexport,
            ast.CalcTimeBalance: self._calc_time_balance,
        }

    def run(self, script: ast.Script) -> None:
        self.body(script.statements, Scope())

    def body(self, statements: Sequence[ast.Statement], scope: Scope) -> None:
        for statement in statements:
            handler = self.handlers.get(type(statement))
            if handler is None:
                raise fail(f"{statement_word(statement)} is parsed but not executed by epmjobs yet",
                           statement)
            self.machine.check()
            handler(statement, scope)
            self.machine.counters.statements += 1

    # -- scopes --------------------------------------------------------------------------

    def _lists(self, members: tuple[ast.Expr, ...]) -> dict[int, Mask]:
        model = self.machine.model
        masks: dict[int, Mask] = {}
        for item in members:
            for position, nodes in self.machine.names.lists(item).items():
                mask = masks.setdefault(position, np.zeros(model.layout.sizes[position],
                                                           dtype=np.bool_))
                mask[nodes] = True
        return masks

    def _loop(self, statement: ast.Loop, scope: Scope) -> None:
        """The body ``count`` times; when the break variable (a VAR) is 1 at the start of
        an iteration the loop ends."""
        count = loop_count(self._constant(statement.count, "the LOOP count"), statement)
        broken = None if statement.break_variable is None else statement.break_variable.upper()
        if broken is not None and broken not in self.machine.scalars:
            raise fail(f"the break variable {statement.break_variable} is not declared by VAR",
                       statement)
        for _ in range(count):
            if broken is not None and self.machine.scalars[broken] == 1:
                return
            self.body(statement.body, scope)

    def _fix(self, statement: ast.Fix, scope: Scope) -> None:
        masks = self._lists(statement.members)
        empty = [p for p, m in masks.items() if not m.any()]
        if empty and self.machine.options.empty_member_sets:
            return
        chosen = {p: m for p, m in masks.items() if p not in empty}
        self.body(statement.body, scope.narrow(chosen))

    def _exclude(self, statement: ast.Exclude, scope: Scope) -> None:
        self.body(statement.body, scope.exclude(self._lists(statement.members)))

    # -- SET -----------------------------------------------------------------------------

    def _set(self, statement: ast.Set, scope: Scope) -> None:
        command = statement.command
        if command == "DATAEXPORTOPTIONS":
            self.export_options = export_options(statement)
            return
        if command not in _SWITCHES and command not in _CREATION:
            return  # accepted; changes nothing here
        value = statement.argument.strip().upper()
        if value not in ("ON", "OFF"):
            raise fail(f"SET {command} takes ON or OFF, not {statement.argument!r}",
                       statement)
        if command in _CREATION:
            self.creation[command] = value == "ON"
            self.machine.options.create_blocks = any(self.creation.values())
        else:
            setattr(self.machine.options, _SWITCHES[command], value == "ON")

    # -- calculation ---------------------------------------------------------------------

    def _dimensions(self, items: tuple[ast.Expr, ...]) -> list[int]:
        return [self.machine.names.dimension(item) for item in items]

    def _agg(self, statement: ast.Agg, scope: Scope) -> None:
        for item, position in zip(statement.dimensions, self._dimensions(statement.dimensions),
                                  strict=True):
            dim = self.machine.model.dimensions[position]
            if dim.density is Density.DENSE:
                raise fail(f"AGG works on sparse dimensions; {dim.name} is dense in this "
                           "cube: use CALC DIM", item)
        for position in self._dimensions(statement.dimensions):
            aggregate(self.machine, scope, position)

    def _in_calc_order(self, positions: list[int]) -> list[int]:
        model = self.machine.model
        order = [model.position(name) for name in model.calc_order]
        return [p for p in order if p in positions]

    def _calc_dim(self, statement: ast.CalcDim, scope: Scope) -> None:
        for position in self._in_calc_order(self._dimensions(statement.dimensions)):
            calc_dimension(self.machine, scope, position)

    def _calc_all(self, statement: ast.CalcAll, scope: Scope) -> None:
        positions = list(range(len(self.machine.model.dimensions)))
        skipped: dict[int, Mask] = {}
        if statement.except_kind == "DIM":
            excepted = set(self._dimensions(statement.excepted))
            positions = [p for p in positions if p not in excepted]
        elif statement.except_kind == "MBR":
            skipped = self._lists(statement.excepted)
        for position in self._in_calc_order(positions):
            calc_dimension(self.machine, scope, position, skipped.get(position))
        two_pass(self.machine, scope, skipped)

    def _calc_time_balance(self, statement: ast.CalcTimeBalance, scope: Scope) -> None:
        """CALC FIRST/LAST/AVERAGE: the time periods of the accounts tagged First, Balance
        (Essbase's Last) or Average (weighted averages included), consolidated by their
        time balance."""
        model = self.machine.model
        types = [d.type for d in model.dimensions]
        account = types.index(DimensionType.ACCOUNT) if DimensionType.ACCOUNT in types else None
        period = types.index(DimensionType.PERIOD) if DimensionType.PERIOD in types else None
        if account is None or period is None:
            raise fail(f"CALC {statement.kind} needs an Account and a Period dimension",
                       statement)
        tagged = np.isin(model.dimensions[account].time_balance,
                         [t.code for t in _TIME_BALANCES[statement.kind]])
        if tagged.any():
            calc_dimension(self.machine, scope.narrow({account: tagged}), period)

    def _two_pass(self, statement: ast.CalcTwoPass, scope: Scope) -> None:
        two_pass(self.machine, scope, {})

    def _calc_member(self, statement: ast.CalcMember, scope: Scope) -> None:
        position, node = self.machine.names.single(statement.member)
        calc_member(self.machine, scope, position, node)

    # -- data movement -------------------------------------------------------------------

    def _matching(self, cells: Cells, pins: dict[int, int]) -> Mask:
        layout = self.machine.model.layout
        mask = np.ones(len(cells), dtype=np.bool_)
        for position, node in pins.items():
            mask &= layout.coordinate(cells.keys, position) == node
        return mask

    def _datacopy(self, statement: ast.DataCopy, scope: Scope) -> None:
        source = self.evaluator.pins(statement.source)
        target = self.evaluator.pins(statement.target)
        if set(source) != set(target):
            raise fail("DATACOPY needs a source and a target in the same dimensions",
                       statement)
        machine, model = self.machine, self.machine.model
        cells = machine.cells
        in_scope = scope.contains(model, cells.keys, frozenset(source))
        copied = cells.where(in_scope & self._matching(cells, source))
        blocks = np.unique(machine.blocks.block_of(copied.keys))
        candidates = in_scope & self._matching(cells, target)
        back = machine.blocks.block_of(pin_keys(model, cells.keys[candidates], source))
        cleared = np.zeros(len(cells), dtype=np.bool_)
        cleared[np.flatnonzero(candidates)[np.isin(back, blocks)]] = True
        moved = Cells.build(pin_keys(model, copied.keys, target), copied.values)
        machine.replace(cells.where(~cleared).merge(moved))
        machine.counters.cells_written += len(moved) + int(cleared.sum())

    def _cleardata(self, statement: ast.ClearData, scope: Scope) -> None:
        pins = self.evaluator.pins(statement.target)
        cells = self.machine.cells
        cleared = scope.contains(self.machine.model, cells.keys, frozenset(pins)) \
            & self._matching(cells, pins)
        self._drop(cleared)

    def _clearblock(self, statement: ast.ClearBlock, scope: Scope) -> None:
        kind = statement.kind
        if kind == "NONINPUT":
            raise fail("CLEARBLOCK NONINPUT is not supported: epmjobs does not record which "
                       "cells were input", statement)
        if kind == "EMPTY":
            return  # #Missing cells are not stored: there are no empty blocks
        model, cells = self.machine.model, self.machine.cells
        cleared = scope.contains(model, cells.keys)
        if kind != "ALL":
            hit = np.zeros(len(cells), dtype=np.bool_)
            for position, dim in enumerate(model.dimensions):
                h = model.hierarchies[dim.name]
                coord = model.layout.coordinate(cells.keys, position)
                if kind == "UPPER" and dim.density is not Density.DENSE:
                    hit |= h.is_parent[coord]
                elif kind == "DYNAMIC":
                    hit |= h.dynamic[coord] & h.stored[coord]
            cleared &= hit
        self._drop(cleared)

    def _drop(self, cleared: Mask) -> None:
        if cleared.any():
            self.machine.replace(self.machine.cells.where(~cleared))
            self.machine.counters.cells_written += int(cleared.sum())

    def _dataexport(self, statement: ast.DataExport, scope: Scope) -> None:
        found = data_export(self.machine.model, self.machine.cells, scope, statement,
                            self.export_options)
        if found is not None:
            self.machine.exports.append(found)

    # -- variables, assignments, member blocks -------------------------------------------

    def _var(self, statement: ast.VarDecl, scope: Scope) -> None:
        value = np.nan if statement.initial is None else self._constant(statement.initial)
        self.machine.scalars[statement.name.upper()] = value

    def _constant(self, expr: ast.Expr,
                  what: str = "outside a member block a variable") -> float:
        for node in ast.walk(expr):
            if isinstance(node, ast.MemberRef | ast.CrossRef | ast.Call):
                raise fail(f"{what} takes a constant value", node)
        return float(self.evaluator.value(expr, frame_of(np.zeros(1, dtype=np.int64)))[0])

    def _assignment(self, statement: ast.Assignment, scope: Scope) -> None:
        if isinstance(statement.target, ast.VarRef):
            self.machine.scalars[statement.target.name.upper()] = self._constant(
                statement.expr)
            return
        if self.shortcuts and fastpath.assign(self.machine, self.evaluator, scope, statement):
            return
        self._anchored(statement.target, [statement], scope)

    def _member_block(self, statement: ast.MemberBlock, scope: Scope) -> None:
        self._anchored(statement.target, statement.body, scope)

    def _anchored(self, target: ast.Expr, statements: Sequence[ast.Statement],
                  scope: Scope) -> None:
        pins = self.evaluator.pins(target)
        keys = targets(self.machine, scope, pins)
        run_block(self.machine, pins, statements, keys)
