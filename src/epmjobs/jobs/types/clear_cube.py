"""CLEAR_CUBE: clear a cube's data, all of it or a region (reference §4.1, API §4.9).

Parameters (from the saved job, overridable): ``cube`` (also ``cubeName``/``planType``);
``members`` (a member selection: a partial clear of the cross product of the selected
members, each with the members below it, i.e. the region it aggregates — decision D52);
``clearType`` (our name for the job definition's option: ``all`` (default without
``members``), ``partial`` (default with ``members``), ``upperLevelBlocks``,
``dynamicBlocks``, ``emptyBlocks``); ``clearSupportingDetails``, ``clearComments``,
``clearAttachments``, ``clearPhysicalOnEssbase`` (booleans; epmjobs keeps no supporting
details, comments or attachments, and a logical and a physical clear give the same
result, so they change nothing else). ``mdxQuery`` and the *non-input blocks* option are
not supported: they are refused at submission (status 4).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from epmjobs.errors import InvalidJobParameter, JobFailed
from epmjobs.jobs import parameters as p
from epmjobs.jobs.context import JobContext
from epmjobs.jobs.types.cube_data import CubeData, cube_parameter, model_for, selection
from epmjobs.planning.cube.cells import Cells, region_mask
from epmjobs.planning.cube.model import CubeModel
from epmjobs.planning.data.export import feeding_nodes
from epmjobs.planning.outline.vocabulary import Density

CATEGORY = "Clear Cube"
SUCCESS = "Clear cube was successful"
CUBE_NAMES = ("cube", "cubeName", "planType")
TYPES = ("all", "partial", "upperLevelBlocks", "dynamicBlocks", "emptyBlocks")
FLAGS = ("clearSupportingDetails", "clearComments", "clearAttachments",
         "clearPhysicalOnEssbase", "clearEssbaseData")


class ClearCube:
    def validate(self, parameters: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {"cube": cube_parameter(parameters, CUBE_NAMES)}
        if p.optional_str(parameters, "mdxQuery") is not None:
            raise InvalidJobParameter("Parameter mdxQuery is not supported by this epmjobs "
                                      "server yet: select the members with members.")
        if p.optional_str(parameters, "clearType") == "nonInputBlocks":
            raise InvalidJobParameter("Clearing non-input blocks is not supported by this "
                                      "epmjobs server: it does not record which cells were "
                                      "input.")
        members = p.optional_str(parameters, "members")
        params["clearType"] = p.choice(parameters, "clearType", TYPES,
                                       "partial" if members else "all")
        if params["clearType"] == "partial" and not members:
            raise InvalidJobParameter("Parameter members is required for a partial clear.")
        params["members"] = members or ""
        for flag in FLAGS:
            params[flag] = p.boolean(parameters, flag, flag == "clearEssbaseData")
        return params

    def run(self, ctx: JobContext) -> str | None:
        params = ctx.parameters
        model = model_for(ctx, params["cube"])
        data = CubeData.load(ctx, model)
        kind = params["clearType"]
        if not params["clearEssbaseData"]:
            ctx.info("Essbase data was not cleared (clearEssbaseData is false).", CATEGORY)
            return SUCCESS
        cleared = _cleared(model, data.cells, kind, params["members"])
        before = len(data.cells)
        data.pending = data.cells.where(~cleared)
        data.commit()
        ctx.info(f"Cube {model.name}: {before - len(data.pending)} of {before} cells cleared "
                 f"({kind}).", CATEGORY)
        return SUCCESS


def _cleared(model: CubeModel, cells: Cells, kind: str, members: str) -> npt.NDArray[np.bool_]:
    if kind == "all":
        return np.ones(len(cells), dtype=np.bool_)
    if kind == "partial":
        found = selection(model, members)
        if not found:
            raise JobFailed("The members to clear select nothing.")
        region = {name: feeding_nodes(model, name, nodes) for name, nodes in found.items()}
        return region_mask(cells, model.layout, region)
    if kind == "emptyBlocks":  # #Missing cells are never stored: no block is empty
        return np.zeros(len(cells), dtype=np.bool_)
    mask = np.zeros(len(cells), dtype=np.bool_)
    for position, dim in enumerate(model.dimensions):
        h = model.hierarchies[dim.name]
        coord = model.layout.coordinate(cells.keys, position)
        if kind == "upperLevelBlocks" and dim.density is Density.SPARSE:
            mask |= h.is_parent[coord]
        elif kind == "dynamicBlocks":
            mask |= h.dynamic[coord] & h.stored[coord]
    return mask
