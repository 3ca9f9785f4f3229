"""PLAN_TYPE_MAP: copy data between cubes through a saved data map (API §4.3).

The job definition is the data map: ``sourceCube``,
``targetCube``, ``members`` (source dimension -> member selection; unnamed dimensions are
copied whole), ``targetMembers`` (target dimension the source lacks -> its one member)
and ``clearData`` (clear the target region first; default true). A submission may
override ``clearData`` and give ``overrideMembersMap`` (dimension -> selection replacing
the map's) and ``overrideExclusionMembersMap`` (dimension -> selection to leave out).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from epmjobs.errors import InvalidJobParameter, JobFailed
from epmjobs.jobs import parameters as p
from epmjobs.jobs.context import JobContext
from epmjobs.jobs.types.cube_data import CubeData, model_for, refreshed_outline, selection
from epmjobs.planning.cube.datamap import DataMap, copy_cells, missing_fixed
from epmjobs.planning.cube.model import CubeModel

CATEGORY = "Plan Type Map"
SUCCESS = "Plan type map completed successfully"
MAPS = ("members", "targetMembers", "overrideMembersMap", "overrideExclusionMembersMap")


class PlanTypeMap:
    def validate(self, parameters: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {
            "clearData": p.boolean(parameters, "clearData", True),
            "sourceCube": p.required_str(parameters, "sourceCube"),
            "targetCube": p.required_str(parameters, "targetCube"),
        }
        for name in MAPS:
            params[name] = _selection_map(parameters, name)
        return params

    def run(self, ctx: JobContext) -> str | None:
        params = ctx.parameters
        outline = refreshed_outline(ctx)
        source = model_for(ctx, params["sourceCube"], outline)
        target = model_for(ctx, params["targetCube"], outline)
        if source.name == target.name:
            raise JobFailed("The data map's source and target cube are the same cube.")
        dm = DataMap(source, target, _selection(source, params), _fixed(source, target, params))
        source_data = CubeData.load(ctx, source)
        target_data = CubeData.load(ctx, target)
        ctx.check_cancelled()
        result = copy_cells(dm, source_data.cells, target_data.cells,
                            clear=params["clearData"])
        target_data.pending = result.cells
        target_data.commit()
        ctx.info(f"{result.source_cells} cells of {source.name} copied to {result.copied} "
                 f"cells of {target.name}.", CATEGORY)
        if result.unmapped:
            ctx.warning(f"{result.unmapped} cells were not copied: their members do not "
                        f"exist in {target.name} or cannot hold loaded data there.", CATEGORY)
        return SUCCESS



def _selection(source: CubeModel, params: Mapping[str, Any]) -> dict[str, Any]:
    chosen: dict[str, Any] = {}
    for text in {**params["members"], **params["overrideMembersMap"]}.values():
        chosen.update(selection(source, text))
    for text in params["overrideExclusionMembersMap"].values():
        for name, nodes in selection(source, text).items():
            current = chosen.get(name)
            if current is None:
                d = source.dimension(name)
                assert d is not None
                current = np.unique(d.base)
            chosen[name] = np.setdiff1d(current, nodes).astype(np.int32)
    return chosen


def _fixed(source: CubeModel, target: CubeModel, params: Mapping[str, Any]) -> dict[str, int]:
    fixed: dict[str, int] = {}
    given = {k.strip().casefold(): v for k, v in params["targetMembers"].items()}
    for name in missing_fixed(source, target):
        member = given.get(name.casefold())
        if member is None:
            raise JobFailed(f"The target dimension {name} is not in cube {source.name}: "
                            "the data map must name its member in targetMembers.")
        dim = target.dimension(name)
        assert dim is not None
        node = dim.node(member)
        if node is None or not target.hierarchies[dim.name].loadable[node]:
            raise JobFailed(f"The member {member} does not exist for the specified cube "
                            "or you do not have access to it.")
        fixed[dim.name] = node
    return fixed


def _selection_map(parameters: Mapping[str, Any], name: str) -> dict[str, str]:
    raw = parameters.get(name)
    if raw is None or raw == "":
        return {}
    if not isinstance(raw, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise InvalidJobParameter(f"Parameter {name} must be an object that maps dimension "
                                  "names to member selections.")
    return {k.strip(): v for k, v in raw.items()}
