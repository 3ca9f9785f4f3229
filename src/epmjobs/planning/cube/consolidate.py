"""Consolidation: computing parents from children, one dimension at a time (reference §6).

For one dimension, parents are computed level by level (a parent's level is one more than
its highest child's, so its children are done first). Each cell of a child contributes to
its parent's cell at the same coordinates elsewhere. Folding the contributions follows
Essbase:

- ``+``/``-`` children (the common case) are a signed group sum; #Missing children add
  nothing, and a parent none of whose children has a value gets no value.
- a parent with a ``*``, ``/`` or ``%`` child folds its children in sibling order with the
  #Missing algebra of §6.3 (X * #MI = #MI, X / 0 = #MI); the first child that has a value
  seeds the running result whatever its operator (decision D49).
- along the Time dimension, accounts tagged First, Balance, Average (and the weighted
  averages) take the first, last or average of their children's values, honouring Skip
  Value; Flow accounts add up.
- children tagged ``^`` (in any dimension) are never consolidated; ``~`` are ignored.

Which parents are computed and which results are kept is the caller's choice
(``Targets``): an aggregation computes stored parents (and, on the way, the dynamic ones
they need) and keeps only stored ones; a read computes dynamic parents only and keeps
them, taking stored parents' values as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from epmjobs.planning.cube.cells import Cells, Mask, Values
from epmjobs.planning.cube.hierarchy import (
    ADD,
    DIVIDE,
    MULTIPLY,
    PERCENT,
    SUBTRACT,
    Hierarchy,
)
from epmjobs.planning.cube.layout import CubeLayout, Keys
from epmjobs.planning.outline.compiled import CompiledCube
from epmjobs.planning.outline.vocabulary import (
    Density,
    DimensionType,
    SkipValue,
    TimeBalance,
)

_FIRST, _BALANCE, _AVERAGE = (TimeBalance.FIRST.code, TimeBalance.BALANCE.code,
                              TimeBalance.AVERAGE.code)
_WEIGHTED = (TimeBalance.WEIGHTED_ACTUAL_ACTUAL.code, TimeBalance.WEIGHTED_ACTUAL_365.code)
_SKIP_MISSING = (SkipValue.MISSING.code, SkipValue.MISSING_AND_ZEROS.code)
_SKIP_ZEROS = (SkipValue.ZEROS.code, SkipValue.MISSING_AND_ZEROS.code)
_MONTH_DAYS = {"jan": 31, "feb": 28, "mar": 31, "apr": 30, "may": 31, "jun": 30, "jul": 31,
               "aug": 31, "sep": 30, "oct": 31, "nov": 30, "dec": 31}


@dataclass(frozen=True)
class Targets:
    compute: Mask  # per node of the dimension: compute this parent
    keep: Mask  # per node: keep the computed values in the result


def calc_order(cube: CompiledCube) -> list[str]:
    """Essbase batch calculation order: accounts, time, other dense, other sparse."""
    dims = list(cube.dimensions)

    def rank(i: int) -> tuple[int, int]:
        d = dims[i]
        if d.type is DimensionType.ACCOUNT:
            return (0, i)
        if d.type is DimensionType.PERIOD:
            return (1, i)
        return (2 if d.density is Density.DENSE else 3, i)

    return [dims[i].name for i in sorted(range(len(dims)), key=rank)]


class Consolidator:
    """Consolidates cells of one cube along its dimensions."""

    def __init__(self, cube: CompiledCube, layout: CubeLayout,
                 hierarchies: dict[str, Hierarchy] | None = None) -> None:
        self.cube = cube
        self.layout = layout
        self.hierarchies = hierarchies or {d.name: Hierarchy(d) for d in cube.dimensions}
        self._account = next((d.name for d in cube.dimensions
                              if d.type is DimensionType.ACCOUNT), None)

    def stored_targets(self, name: str) -> Targets:
        h = self.hierarchies[name]
        return Targets(compute=h.is_parent, keep=h.is_parent & h.stored & ~h.dynamic)

    def dynamic_targets(self, name: str) -> Targets:
        h = self.hierarchies[name]
        compute = h.is_parent & (h.dynamic | ~h.stored | h.implied_share)
        return Targets(compute=compute, keep=compute)

    def aggregate(self, cells: Cells, dims: list[str], *, aggmissg: bool = False) -> Cells:
        """AGG: stored parents of ``dims`` recomputed (in the given order)."""
        for name in dims:
            cells = self.dimension(cells, name, self.stored_targets(name), aggmissg=aggmissg)
        return cells

    def evaluate_dynamic(self, cells: Cells, dims: list[str] | None = None) -> Cells:
        """Cells plus the values of dynamic (and implied-share) parents, for reading."""
        for name in dims or calc_order(self.cube):
            cells = self.dimension(cells, name, self.dynamic_targets(name), aggmissg=True)
        return cells

    # -- one dimension -------------------------------------------------------------------

    def dimension(self, cells: Cells, name: str, targets: Targets, *,
                  aggmissg: bool) -> Cells:
        h = self.hierarchies[name]
        position = self.layout.index(name)
        level = h.dim.level
        edges = h.edges
        if not len(edges.parent) or not len(cells):
            return cells
        excluded = self._never_mask(cells, name)
        cleared = np.zeros(len(h.dim), dtype=np.bool_)
        work = cells
        for lvl in range(1, int(level.max()) + 1):
            parents = targets.compute & (level == lvl)
            if not parents.any():
                continue
            chosen = parents[edges.parent]
            computed = self._level(work, excluded, h, position, chosen)
            region = parents[self.layout.coordinate(work.keys, position)]
            cleared |= parents
            base = work.where(~region) if aggmissg else work
            work = base.merge(computed)
            excluded = self._never_mask(work, name)
        # drop the temporary values of parents computed but not kept
        dropped = cleared & ~targets.keep
        if dropped.any():
            work = work.where(~dropped[self.layout.coordinate(work.keys, position)])
        return work

    def _never_mask(self, cells: Cells, current: str) -> Mask | None:
        """Cells that must not consolidate: a coordinate tagged ``^`` in another dimension."""
        mask: Mask | None = None
        for name, h in self.hierarchies.items():
            if name == current or not h.never.any():
                continue
            hit = h.never[self.layout.coordinate(cells.keys, self.layout.index(name))]
            mask = hit if mask is None else (mask | hit)
        return mask

    def _level(self, cells: Cells, excluded: Mask | None, h: Hierarchy, position: int,
               chosen: Mask) -> Cells:
        e = h.edges
        source, parent, op, rank = (e.source[chosen], e.parent[chosen], e.op[chosen],
                                    e.rank[chosen])
        coord = self.layout.coordinate(cells.keys, position)
        cell, edge = _contributions(coord, source, len(h.dim), excluded)
        if not len(cell):
            return Cells.empty()
        keys = self.layout.move(cells.keys[cell], position, coord[cell], parent[edge])
        values = cells.values[cell]
        ops = op[edge]
        special = self._time_balance(cells.keys[cell], h)
        additive_parent = np.ones(len(h.dim), dtype=np.bool_)
        additive_parent[parent[(op != ADD) & (op != SUBTRACT)]] = False
        simple = additive_parent[parent[edge]]
        if special is not None:
            simple &= special == -1
        out = [_group_sum(keys[simple], np.where(ops[simple] == SUBTRACT,
                                                  -values[simple], values[simple]))]
        ordered = ~simple if special is None else (~simple & (special == -1))
        if ordered.any():
            out.append(_ordered_fold(keys[ordered], values[ordered], rank[edge][ordered],
                                     parent[edge][ordered], h))
        if special is not None and (special >= 0).any():
            tb = special >= 0
            out.append(self._balance_fold(keys[tb], values[tb], rank[edge][tb],
                                          parent[edge][tb], special[tb], h))
        all_keys = np.concatenate([c.keys for c in out])
        all_values = np.concatenate([c.values for c in out])
        return Cells.build(all_keys, all_values)

    # -- time balance --------------------------------------------------------------------

    def _time_balance(self, keys: Keys, h: Hierarchy) -> npt.NDArray[np.int16] | None:
        """Per contribution along Time: ``tb * 4 + skip`` of the cell's account when it is
        not Flow, else -1; None when the dimension is not Time or no account is special."""
        if h.dim.type is not DimensionType.PERIOD or self._account is None:
            return None
        account = self.hierarchies[self._account].dim
        tb = account.time_balance
        special = (tb == _FIRST) | (tb == _BALANCE) | (tb == _AVERAGE) | np.isin(tb, _WEIGHTED)
        if not special.any():
            return None
        code = np.where(special, tb.astype(np.int16) * 4 + np.maximum(account.skip_value, 0),
                        -1).astype(np.int16)
        return code[self.layout.coordinate(keys, self.layout.index(self._account))]

    def _balance_fold(self, keys: Keys, values: Values, rank: npt.NDArray[np.int32],
                      parent: npt.NDArray[np.int32], code: npt.NDArray[np.int16],
                      h: Hierarchy) -> Cells:
        groups, inverse, matrix, group_parent, ops = _matrix(keys, values, rank, parent, h)
        width = matrix.shape[1]
        group_code = np.zeros(len(groups), dtype=np.int16)
        group_code[inverse] = code
        exists = ops >= 0
        tb, skip = group_code // 4, group_code % 4
        considered = exists.copy()
        considered &= ~(np.isin(skip, _SKIP_MISSING)[:, None] & np.isnan(matrix))
        considered &= ~(np.isin(skip, _SKIP_ZEROS)[:, None] & (matrix == 0))
        first = np.argmax(considered, axis=1)
        last = width - 1 - np.argmax(considered[:, ::-1], axis=1)
        anything = considered.any(axis=1)
        rows = np.arange(len(groups))
        result = np.full(len(groups), np.nan)
        result = np.where(tb == _FIRST, matrix[rows, first], result)
        result = np.where(tb == _BALANCE, matrix[rows, last], result)
        weights = self._weights(h, group_parent, width, np.isin(tb, _WEIGHTED))
        filled = np.where(considered, np.nan_to_num(matrix), 0.0)
        total_weight = (considered * weights).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            average = (filled * weights).sum(axis=1) / total_weight
        averaging = (tb == _AVERAGE) | np.isin(tb, _WEIGHTED)
        valued = (considered & ~np.isnan(matrix)).any(axis=1)
        result = np.where(averaging, np.where(valued, average, np.nan), result)
        result = np.where(anything, result, np.nan)
        return Cells(groups, result) if not np.isnan(result).any() else Cells.build(
            groups, result)

    def _weights(self, h: Hierarchy, group_parent: npt.NDArray[np.int32], width: int,
                 weighted: Mask) -> npt.NDArray[np.float64]:
        """Days per month for weighted averages (by the child's name; 1 otherwise)."""
        weights = np.ones((len(group_parent), width))
        if not weighted.any():
            return weights
        e = h.edges
        days = np.array([_MONTH_DAYS.get(n[:3].lower(), 1) for n in h.dim.names], dtype=float)
        table = np.ones((len(h.dim), width))
        table[e.parent, e.rank] = days[e.source]
        weights[weighted] = table[group_parent[weighted]]
        return weights


def _contributions(coord: npt.NDArray[np.int32], source: npt.NDArray[np.int32], nodes: int,
                   excluded: Mask | None) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(cell index, edge index) for every cell whose coordinate is some edge's source; a
    source feeding several parents (a shared base) contributes once per edge."""
    order = np.argsort(source, kind="stable")
    count = np.bincount(source, minlength=nodes)
    start = np.zeros(nodes, dtype=np.int64)
    start[1:] = np.cumsum(count)[:-1]
    per_cell = count[coord]
    if excluded is not None:
        per_cell = np.where(excluded, 0, per_cell)
    cell = np.flatnonzero(per_cell)
    reps = per_cell[cell]
    cell = np.repeat(cell, reps)
    offset = np.arange(len(cell)) - np.repeat(np.cumsum(reps) - reps, reps)
    edge = order[start[coord[cell]] + offset]
    return cell.astype(np.int64), edge.astype(np.int64)


def _group_sum(keys: Keys, values: Values) -> Cells:
    if not len(keys):
        return Cells.empty()
    groups, inverse = np.unique(keys, return_inverse=True)
    return Cells(groups, np.asarray(np.bincount(inverse, weights=values, minlength=len(groups)),
                                    dtype=np.float64))


def _matrix(keys: Keys, values: Values, rank: npt.NDArray[np.int32],
            parent: npt.NDArray[np.int32], h: Hierarchy) -> tuple[
        Keys, npt.NDArray[np.intp], Values, npt.NDArray[np.int32], npt.NDArray[np.int8]]:
    """Contributions as a (parent cell, sibling rank) matrix, with each parent's
    operators by rank (-1 where no child consolidates)."""
    groups, inverse = np.unique(keys, return_inverse=True)
    matrix = np.full((len(groups), h.width), np.nan)
    matrix[inverse, rank] = values
    group_parent = np.zeros(len(groups), dtype=np.int32)
    group_parent[inverse] = parent
    involved, local = np.unique(group_parent, return_inverse=True)
    ops = h.op_table(involved.astype(np.int32))[local]
    return groups, inverse, matrix, group_parent, ops


def _ordered_fold(keys: Keys, values: Values, rank: npt.NDArray[np.int32],
                  parent: npt.NDArray[np.int32], h: Hierarchy) -> Cells:
    """Fold children in sibling order with the #Missing algebra (one vector step per rank).
    Absent children of ``*``/``/``/``%`` make the result #Missing, as §6.3 says."""
    groups, _, matrix, _, ops = _matrix(keys, values, rank, parent, h)
    acc = np.full(len(groups), np.nan)
    for r in range(matrix.shape[1]):
        acc = _apply(acc, matrix[:, r], ops[:, r])
    return Cells.build(groups, acc)


def _apply(acc: Values, v: Values, o: npt.NDArray[np.int8]) -> Values:
    start = np.isnan(acc)
    with np.errstate(invalid="ignore", divide="ignore"):
        added = np.where(np.isnan(v), acc, np.where(start, v, acc + v))
        subtracted = np.where(np.isnan(v), acc, np.where(start, -v, acc - v))
        bad = np.isnan(v) | (v == 0)
        multiplied = np.where(start, v, acc * v)
        divided = np.where(start, v, np.where(bad, np.nan, acc / np.where(bad, 1.0, v)))
        percent = np.where(start, v, np.where(bad, np.nan,
                                              acc / np.where(bad, 1.0, v) * 100.0))
    out = np.select([o == ADD, o == SUBTRACT, o == MULTIPLY, o == DIVIDE, o == PERCENT],
                    [added, subtracted, multiplied, divided, percent], acc)
    return np.asarray(out, dtype=np.float64)
