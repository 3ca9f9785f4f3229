"""What the data jobs share: the refreshed outline's cube, its cells as the job read them,
and writing new cells back with the job's end (one transaction with its status).

Data jobs read the *refreshed* outline (reference §4.2): metadata changes reach them only
through a cube refresh. Jobs that write a cube are serialised per application (their lock
scope is ``data``), and the write is refused if the cube changed since the job read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from epmjobs.errors import InvalidJobParameter, JobFailed, MemberSelectionError, OutlineError
from epmjobs.jobs import parameters as p
from epmjobs.jobs.context import JobContext
from epmjobs.planning.cube.cells import Cells
from epmjobs.planning.cube.model import CubeModel, cube_model
from epmjobs.planning.outline import Outline
from epmjobs.planning.selection import select_members
from epmjobs.storage.cellstore import StoredCells


def refreshed_outline(ctx: JobContext) -> Outline:
    stored = ctx.stores.outlines.refreshed(ctx.application)
    if stored.revision == 0 or not stored.outline.dimensions:
        raise JobFailed(f"The application {ctx.application.name} has no refreshed outline: "
                        "run a cube refresh first.")
    return stored.outline


def model_for(ctx: JobContext, cube: str, outline: Outline | None = None) -> CubeModel:
    try:
        return cube_model(outline or refreshed_outline(ctx), cube)
    except OutlineError as exc:
        raise JobFailed(exc.message) from exc


def cube_names(ctx: JobContext) -> list[str]:
    return [c.name for c in ctx.application.cubes]


@dataclass(eq=False)
class CubeData:
    """One cube's cells as a job read them (``read``) and as the job changes them
    (``pending``); ``commit`` registers the change to apply with the job's end."""

    ctx: JobContext
    model: CubeModel
    read: StoredCells
    pending: Cells

    @classmethod
    def load(cls, ctx: JobContext, model: CubeModel) -> CubeData:
        stored = ctx.stores.cells.load(ctx.application.application_id, model.name, model.layout)
        return cls(ctx, model, stored, stored.cells)

    @property
    def cells(self) -> Cells:
        return self.read.cells

    def commit(self, rechunk: bool = False) -> bool:
        """Write ``pending`` with the job's end if it differs from what was read (or
        always, rewriting every chunk, with ``rechunk``)."""
        cells = self.pending
        if cells is self.read.cells and not rechunk:
            return False
        store, app_id, model, read = (self.ctx.stores.cells, self.ctx.application.application_id,
                                      self.model, self.read)
        self.ctx.on_commit(lambda conn: _save(store, conn, app_id, model, cells, read, rechunk))
        return True


def _save(store: Any, conn: Any, app_id: int, model: CubeModel, cells: Cells,
          read: StoredCells, rechunk: bool) -> None:
    store.save(conn, app_id, model.name, model.layout, cells, read=read, rechunk=rechunk)


def selection(model: CubeModel, text: str | None,
              variables: Mapping[str, str] | None = None) -> dict[str, npt.NDArray[np.int32]]:
    """Per dimension, the base nodes a member selection names (JobFailed if it is bad)."""
    if not text or not text.strip():
        return {}
    try:
        found = select_members(model.compiled, model.outline, text, variables or {})
    except MemberSelectionError as exc:
        raise JobFailed(exc.message) from exc
    return {found.dimension(name).name: found.base_nodes(name) for name in found}


def cube_parameter(parameters: Mapping[str, Any], names: tuple[str, ...],
                   required: bool = True) -> str | None:
    """The cube a job names, under any of Oracle's spellings (``cube``, ``cubeName``)."""
    for name in names:
        if (value := p.optional_str(parameters, name)) is not None:
            return value
    if required:
        raise InvalidJobParameter(f"Parameter {names[0]} is required.")
    return None
