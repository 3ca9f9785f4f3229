"""AGG, CALC DIM, CALC ALL and ``"Member";``: consolidation and member formulas in the
order Essbase calculates them (reference §5.2, §6).

- ``AGG (dims)``: sparse dimensions only, in the order given; stored parents recomputed
  from their children with the outline operators; formulas ignored.
- ``CALC DIM (dims)``: the dimensions in Essbase's batch order (accounts, time, other
  dense, other sparse — not the order given). Within a dimension, members in outline
  order with children before their parents: a stored member with a formula is calculated
  by it, a stored parent without one is consolidated from its children. So a formula
  sees the totals of members above it in the outline, and a parent its children's formula
  results. A member with a formula is not consolidated: the formula wins.
- ``CALC ALL``: ``CALC DIM`` of every dimension (less ``EXCEPT DIM``; ``EXCEPT MBR``
  members are neither calculated nor consolidated), then the formulas of Two Pass members
  again.

Inside a FIX, the dimension being calculated computes only the parents (and formula
members) the FIX allows on it, from whichever children feed them; the other dimensions
are restricted to the FIX. ``SET AGGMISSG ON`` lets parents whose children are all
#Missing become #Missing; off (Essbase's default), such a parent keeps its value.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import numpy.typing as npt

from epmjobs.errors import CalcScriptError
from epmjobs.planning.calc.block import run_block
from epmjobs.planning.calc.machine import Machine
from epmjobs.planning.calc.scope import MAX_TARGET_CELLS, Scope, target_keys
from epmjobs.planning.cube.cells import Cells
from epmjobs.planning.cube.consolidate import Targets

Mask = npt.NDArray[np.bool_]
#: Consolidation works on this many cells at a time (see ``_in_parts``).
PART_CELLS = 2_000_000


def consolidate(machine: Machine, scope: Scope, position: int, compute: Mask,
                keep: Mask) -> None:
    """Recompute the parents ``compute`` selects along one dimension, keeping ``keep``."""
    model = machine.model
    dim = model.dimensions[position]
    h = model.hierarchies[dim.name]
    allowed = scope.fixed.get(position)
    if allowed is None:
        allowed = np.ones(len(dim), dtype=np.bool_)
    targets = Targets(compute=compute & h.is_parent & (allowed | h.dynamic),
                      keep=keep & h.is_parent & allowed & h.stored & ~h.dynamic)
    if not targets.keep.any():
        return
    cells = machine.cells
    in_scope = scope.contains(model, cells.keys, frozenset({position}))
    if in_scope.all():
        machine.replace(_in_parts(machine, cells, position, targets))
        return
    result = _in_parts(machine, cells.where(in_scope), position, targets)
    machine.replace(cells.where(~in_scope).merge(result))


def _in_parts(machine: Machine, cells: Cells, position: int, targets: Targets) -> Cells:
    """Consolidation along one dimension, ``PART_CELLS`` cells at a time.

    Cells that differ in the first dimension (in key order) never feed one another when
    another dimension is consolidated, and keys sort by that dimension first: so the cube
    splits into key ranges consolidated one after the other, whose results, concatenated,
    are still sorted. The peak memory is then the result and one part's work, not the
    whole cube's work at once."""
    model = machine.model
    dim = model.dimensions[position]
    consolidate_part = functools.partial(model.consolidator.dimension, name=dim.name,
                                         targets=targets, aggmissg=machine.options.aggmissg)
    if position == 0 or len(cells) <= PART_CELLS:
        return consolidate_part(cells)
    first = cells.keys // model.layout.strides[0]
    runs = np.flatnonzero(first[1:] != first[:-1]) + 1
    del first
    cuts, last = [0], 0
    for start in runs.tolist():
        if start - last >= PART_CELLS:
            cuts.append(start)
            last = start
    cuts.append(len(cells))
    key_parts, value_parts = [], []
    for a, b in itertools.pairwise(cuts):
        part = consolidate_part(Cells(cells.keys[a:b], cells.values[a:b]))
        key_parts.append(part.keys)
        value_parts.append(part.values)
        del part
    keys = np.concatenate(key_parts)
    del key_parts
    return Cells(keys, np.concatenate(value_parts))


def aggregate(machine: Machine, scope: Scope, position: int) -> None:
    everything = np.ones(len(machine.model.dimensions[position]), dtype=np.bool_)
    consolidate(machine, scope, position, everything, everything)


def calc_dimension(machine: Machine, scope: Scope, position: int,
                   skipped: Mask | None = None) -> None:
    """CALC DIM of one dimension: its members in outline order, children before parents
    (Essbase's order); a member with a formula is calculated by it, the other stored
    parents are consolidated. Parents between two formula members are consolidated
    together, in one vector pass."""
    dim = machine.model.dimensions[position]
    h = machine.model.hierarchies[dim.name]
    allowed = scope.fixed.get(position)
    skipped = np.zeros(len(dim), dtype=np.bool_) if skipped is None else skipped
    formula = dim.has_formula & h.loadable & ~h.dynamic & ~skipped
    if allowed is not None:
        formula &= allowed
    own = np.zeros(len(dim), dtype=np.bool_)
    own[[n for n in np.flatnonzero(formula).tolist()
         if machine.formulas.script(position, n) is not None]] = True
    plain = h.is_parent & ~own & ~skipped
    if not own.any():
        consolidate(machine, scope, position, plain | h.dynamic, plain)
        return
    batch = np.zeros(len(dim), dtype=np.bool_)
    for node in post_order(machine, position).tolist():
        if own[node]:
            if batch.any():
                consolidate(machine, scope, position, batch | h.dynamic, batch)
                batch[:] = False
            calc_formula(machine, scope, position, node)
        elif plain[node]:
            batch[node] = True
    if batch.any():
        consolidate(machine, scope, position, batch | h.dynamic, batch)


def post_order(machine: Machine, position: int) -> npt.NDArray[np.int64]:
    """The dimension's nodes, each after all its descendants, otherwise in outline order
    (nodes are numbered in outline order, parents first, so a subtree is a range)."""
    dim = machine.model.dimensions[position]
    size = np.bincount(dim.closure_ancestor, minlength=len(dim))
    end = np.arange(len(dim)) + size
    return np.lexsort((-dim.generation.astype(np.int64), end))


def calc_formula(machine: Machine, scope: Scope, position: int, node: int) -> None:
    """Calculate one stored member by its formula, on its cells in scope."""
    script = machine.formulas.script(position, node)
    if script is None:
        return
    pins = {position: node}
    keys = targets(machine, scope, pins)
    with machine.formulas.evaluating(position, node):
        run_block(machine, pins, script.statements, keys)


def targets(machine: Machine, scope: Scope, pins: dict[int, int]) -> npt.NDArray[np.int64]:
    try:
        return target_keys(machine.blocks, machine.cells, scope, pins,
                           create=machine.options.create_blocks)
    except OverflowError as exc:
        raise CalcScriptError(
            f"the statement would calculate {exc.args[0]:,} cells, more than "
            f"{MAX_TARGET_CELLS:,}: narrow it with FIX") from exc


def calc_member(machine: Machine, scope: Scope, position: int, node: int) -> None:
    """``"Member";``: its formula, or else the consolidation of that one parent."""
    if machine.formulas.script(position, node) is not None:
        calc_formula(machine, scope, position, node)
        return
    dim = machine.model.dimensions[position]
    h = machine.model.hierarchies[dim.name]
    only = np.zeros(len(dim), dtype=np.bool_)
    only[node] = True
    consolidate(machine, scope, position, only | h.dynamic, only)


def two_pass(machine: Machine, scope: Scope, skipped: dict[int, Mask]) -> None:
    for position, dim in enumerate(machine.model.dimensions):
        h = machine.model.hierarchies[dim.name]
        chosen = dim.two_pass & dim.has_formula & h.loadable & ~h.dynamic
        if position in skipped:
            chosen &= ~skipped[position]
        for node in np.flatnonzero(chosen).tolist():
            calc_formula(machine, scope, position, node)
