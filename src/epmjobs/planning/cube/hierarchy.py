"""A compiled dimension seen as consolidation edges: which child feeds which parent, with
which operator, in which sibling order (reference §6.1, §1.4).

An edge reads its value from ``source``: the child itself, or for a shared instance its
base member (data lives on base members). Implied sharing is applied here: a Label Only
parent *is* its first child, and a parent with exactly one consolidating child (the others
``~``/``^``) *is* that child unless it is Never Share — both become a single ``+`` edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from epmjobs.planning.outline.compiled import CompiledDimension
from epmjobs.planning.outline.vocabulary import DataStorage, Operator

ADD, SUBTRACT, MULTIPLY, DIVIDE, PERCENT, IGNORE, NEVER = (o.code for o in Operator)
STORE = DataStorage.STORE.code
NEVER_SHARE = DataStorage.NEVER_SHARE.code
LABEL_ONLY = DataStorage.LABEL_ONLY.code
SHARED = DataStorage.SHARED.code
DYNAMIC_AND_STORE = DataStorage.DYNAMIC_CALC_AND_STORE.code
DYNAMIC = DataStorage.DYNAMIC_CALC.code

I32 = npt.NDArray[np.int32]


@dataclass(frozen=True, eq=False)
class Edges:
    source: I32
    parent: I32
    op: npt.NDArray[np.int8]
    rank: I32  # position among the parent's children, outline order


@dataclass(frozen=True, eq=False)
class Hierarchy:
    dim: CompiledDimension

    @cached_property
    def is_parent(self) -> npt.NDArray[np.bool_]:
        flag = np.zeros(len(self.dim), dtype=np.bool_)
        parents = self.dim.parent[self.dim.parent >= 0]
        flag[parents] = True
        return flag

    @cached_property
    def stored(self) -> npt.NDArray[np.bool_]:
        """Members whose cells are kept: Store, Never Share, Dynamic Calc and Store."""
        s = self.dim.storage
        return np.asarray((s == STORE) | (s == NEVER_SHARE) | (s == DYNAMIC_AND_STORE))

    @cached_property
    def loadable(self) -> npt.NDArray[np.bool_]:
        """Members a data load may write: stored, not a shared instance, not Label Only."""
        return np.asarray(self.stored & (self.dim.base == np.arange(len(self.dim))))

    @cached_property
    def dynamic(self) -> npt.NDArray[np.bool_]:
        s = self.dim.storage
        return np.asarray((s == DYNAMIC) | (s == DYNAMIC_AND_STORE) | (s == LABEL_ONLY))

    @cached_property
    def never(self) -> npt.NDArray[np.bool_]:
        """Members tagged ``^``: never consolidated, in any dimension."""
        return np.asarray(self.dim.operator == NEVER)

    @cached_property
    def edges(self) -> Edges:
        dim = self.dim
        child = np.flatnonzero(dim.parent >= 0).astype(np.int32)
        parent = dim.parent[child]
        rank = _ranks(parent)
        op = dim.operator[child].copy()
        consolidating = (op != IGNORE) & (op != NEVER)
        count = np.bincount(parent[consolidating], minlength=len(dim))
        label_only = dim.storage[parent] == LABEL_ONLY
        implied = (count[parent] == 1) & consolidating & (dim.storage[parent] != NEVER_SHARE)
        keep = np.where(label_only, rank == 0, consolidating)
        op[(label_only & (rank == 0)) | implied] = ADD
        return Edges(dim.base[child][keep], parent[keep], op[keep], rank[keep])

    @cached_property
    def width(self) -> int:
        """One more than the highest sibling rank of any edge."""
        return int(self.edges.rank.max()) + 1 if len(self.edges.rank) else 0

    def op_table(self, parents: I32) -> npt.NDArray[np.int8]:
        """``[i, r]`` = operator of the edge at sibling rank ``r`` under ``parents[i]``,
        -1 where that child does not consolidate into it (``~``, ``^``, none)."""
        local = np.full(len(self.dim), -1, dtype=np.int64)
        local[parents] = np.arange(len(parents))
        e = self.edges
        pick = local[e.parent] >= 0
        table = np.full((len(parents), self.width), -1, dtype=np.int8)
        table[local[e.parent[pick]], e.rank[pick]] = e.op[pick]
        return table

    @cached_property
    def implied_share(self) -> npt.NDArray[np.bool_]:
        """Parents whose value is one child's (Label Only, or one consolidating child)."""
        e = self.edges
        count = np.bincount(e.parent, minlength=len(self.dim))
        flag = (count == 1) & self.is_parent
        return np.asarray(flag & ~np.isin(np.arange(len(self.dim)), e.parent[e.op != ADD]))


def _ranks(parent: I32) -> I32:
    """For children listed in outline order: their position among their siblings."""
    order = np.argsort(parent, kind="stable")
    sorted_parent = parent[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_parent)) + 1]
    run = np.arange(len(parent)) - np.repeat(starts, np.diff(np.r_[starts, len(parent)]))
    rank = np.empty(len(parent), dtype=np.int32)
    rank[order] = run
    return rank
