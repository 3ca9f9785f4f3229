"""The state of one calculation: the cube's cells as the script changes them, the SET
options in force, script variables, and reading and writing cells.

Reading a cell whose coordinates name a member without stored data — a Dynamic Calc
member, a Label Only or implied-share parent — computes it, as Essbase does when a
formula references one: by its own formula when it has one, else by consolidating its
children (``dynamic.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from epmjobs.planning.calc.arithmetic import Vector
from epmjobs.planning.calc.cellops import lookup, merge_sorted, sorted_unique
from epmjobs.planning.calc.formulas import Formulas
from epmjobs.planning.calc.members import MemberNames
from epmjobs.planning.calc.scope import Blocks
from epmjobs.planning.cube.cells import Cells
from epmjobs.planning.cube.layout import Keys
from epmjobs.planning.cube.model import CubeModel

if TYPE_CHECKING:
    from epmjobs.planning.calc.dataexport import DataExportFile
    from epmjobs.planning.calc.values import Evaluator

Mask = npt.NDArray[np.bool_]


@dataclass
class Options:
    """The SET commands that change results (reference §5.2); the others are accepted and
    change nothing here."""

    aggmissg: bool = False
    create_blocks: bool = False          # CREATENONMISSINGBLK or CREATEBLOCKONEQ
    empty_member_sets: bool = False


@dataclass
class Counters:
    statements: int = 0
    cells_written: int = 0


class Machine:
    def __init__(self, model: CubeModel, cells: Cells, variables: Mapping[str, str],
                 prompts: Mapping[str, str], options: Options,
                 check: Callable[[], None] = lambda: None) -> None:
        self.model = model
        self.cells = cells
        self.options = options
        self.check = check
        self.blocks = Blocks(model)
        self.names = MemberNames(model, variables, prompts)
        self.formulas = Formulas(model, self.names.resolver)
        self.scalars: dict[str, float] = {}     # VAR values, upper-cased names
        self.exports: list[DataExportFile] = []  # what DATAEXPORT statements wrote
        self.counters = Counters()
        self._existing: tuple[Cells, Keys] | None = None
        self.evaluator: Evaluator | None = None

    # -- what is stored where ------------------------------------------------------------

    @cached_property
    def virtual(self) -> list[Mask]:
        """Per dimension, the nodes whose values are computed, not stored."""
        out = []
        for dim in self.model.dimensions:
            h = self.model.hierarchies[dim.name]
            out.append(np.asarray(h.dynamic | h.implied_share))
        return out

    def existing_blocks(self) -> Keys:
        cached = self._existing
        if cached is None or cached[0] is not self.cells:
            cached = self._existing = (self.cells, self.blocks.existing(self.cells))
        return cached[1]

    # -- reading and writing -------------------------------------------------------------

    def read(self, keys: Keys, moved: Iterable[int]) -> Vector:
        """The values at ``keys``; ``moved`` are the dimensions whose coordinates may name
        members without stored data (the others are those of stored cells)."""
        from epmjobs.planning.calc.dynamic import computed_values

        values = lookup(self.cells, keys)
        rows = np.zeros(len(keys), dtype=np.bool_)
        for position in moved:
            rows |= self.virtual[position][self.model.layout.coordinate(keys, position)]
        if rows.any():
            values[rows] = computed_values(self, keys[rows])
        return values

    def write(self, keys: Keys, values: Vector, *, new_blocks: bool) -> None:
        """Set cells (NaN clears). With ``new_blocks``, cells may fall in blocks that do not
        exist; they are written only when block creation is on."""
        if not len(keys):
            return
        keys, values = sorted_unique(keys, values)
        if new_blocks and not self.options.create_blocks:
            exists = np.isin(self.blocks.block_of(keys), self.existing_blocks())
            keys, values = keys[exists], values[exists]
        self.cells = merge_sorted(self.cells, keys, values)
        self.counters.cells_written += len(keys)

    def replace(self, cells: Cells) -> None:
        self.cells = cells
