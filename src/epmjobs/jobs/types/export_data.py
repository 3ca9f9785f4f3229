"""EXPORT_DATA: cube data to a ZIP in the file repository, in the Planning data format
(reference §3.4, API §4.5), re-importable with IMPORT_DATA.

Parameters: ``cube`` (also ``cubeName``/``planType``), ``rowMembers``, ``columnMembers``,
``povMembers`` (member selections, ``docs/member-selection.md``; the column members must
belong to one dimension; a dimension named nowhere exports its stored level-0 members),
``exportFileName`` (a ZIP; default ``<jobName>.zip``), ``delimiter`` (``comma``|``tab``),
``includeDynamicMembers`` (evaluate and write Dynamic Calc members; default false),
``exportDataDecimalScale`` (0-16), ``customMissingValue`` (text for missing cells in a
written row; default empty), and, accepted for compatibility, ``exportSmartListAs`` and
``exportImpliedShareEnabled``. The ZIP holds one ``<name>.csv``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from epmjobs.errors import InvalidJobParameter, JobFailed
from epmjobs.jobs import parameters as p
from epmjobs.jobs.context import JobContext
from epmjobs.jobs.types.cube_data import CubeData, cube_parameter, model_for, selection
from epmjobs.jobs.types.data_files import data_delimiter, new_temporary, publish_on_commit
from epmjobs.jobs.types.metadata_files import zip_name
from epmjobs.planning.cube.model import CubeModel
from epmjobs.planning.data.export import ExportSpec, level0, write_planning

CATEGORY = "Export Data"
SUCCESS = "Data export was successful"
CUBE_NAMES = ("cube", "cubeName", "planType")


class ExportData:
    def validate(self, parameters: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {
            "cube": cube_parameter(parameters, CUBE_NAMES),
            "delimiter": data_delimiter(parameters),
            "includeDynamicMembers": p.boolean(parameters, "includeDynamicMembers", False),
            "customMissingValue": p.optional_str(parameters, "customMissingValue") or "",
        }
        for name in ("rowMembers", "columnMembers", "povMembers"):
            params[name] = p.optional_str(parameters, name) or ""
        if not params["rowMembers"] or not params["columnMembers"]:
            raise InvalidJobParameter("Parameters rowMembers and columnMembers are required.")
        if (value := p.optional_str(parameters, "exportFileName")) is not None:
            params["exportFileName"] = zip_name(value, "exportFileName")
        if parameters.get("exportDataDecimalScale") not in (None, ""):
            params["exportDataDecimalScale"] = _scale(parameters["exportDataDecimalScale"])
        if p.optional_str(parameters, "exportSmartListAs") is not None:
            params["exportSmartListAs"] = p.choice(parameters, "exportSmartListAs",
                                                   ["label", "name"])
        params["exportImpliedShareEnabled"] = p.boolean(parameters,
                                                        "exportImpliedShareEnabled", False)
        return params

    def run(self, ctx: JobContext) -> str | None:
        params = ctx.parameters
        model = model_for(ctx, params["cube"])
        spec = self._spec(ctx, model)
        data = CubeData.load(ctx, model)
        target = params.get("exportFileName") or zip_name(
            (ctx.job.job_name or "ExportData").replace(" ", ""), "jobName")
        entry = Path(target).stem + ".csv"
        csv_path = new_temporary(ctx, ".csv")
        ctx.check_cancelled()
        lines = write_planning(model, data.cells, spec, csv_path)
        archive = new_temporary(ctx, ".zip")
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            zf.write(csv_path, entry)
        publish_on_commit(ctx, archive, target)
        ctx.info(f"Cube {model.name}: {lines} rows exported to {target} ({entry}).", CATEGORY)
        return SUCCESS

    def _spec(self, ctx: JobContext, model: CubeModel) -> ExportSpec:
        params = ctx.parameters
        parts = {name: selection(model, params[name])
                 for name in ("rowMembers", "columnMembers", "povMembers")}
        columns = parts["columnMembers"]
        if len(columns) != 1:
            raise JobFailed("The column members must belong to exactly one dimension; they "
                            f"belong to {len(columns)} ({', '.join(columns) or 'none'}).")
        seen: dict[str, str] = {}
        for name, found in parts.items():
            for dim_name in found:
                if dim_name in seen:
                    raise JobFailed(f"The dimension {dim_name} is selected in both "
                                    f"{seen[dim_name]} and {name}.")
                seen[dim_name] = name
        chosen = {dim: nodes for found in parts.values() for dim, nodes in found.items()}
        include_dynamic = params["includeDynamicMembers"]
        for dim in model.dimensions:
            nodes = chosen.get(dim.name)
            nodes = level0(model, dim.name) if nodes is None else nodes
            if not include_dynamic:
                stored = model.hierarchies[dim.name].stored
                nodes = nodes[stored[nodes]]
            chosen[dim.name] = np.asarray(nodes, dtype=np.int32)
        return ExportSpec(tuple(parts["rowMembers"]), next(iter(columns)), chosen,
                          include_dynamic, params.get("exportDataDecimalScale"),
                          params["customMissingValue"], params["delimiter"])


def _scale(value: Any) -> int:
    try:
        scale = int(str(value).strip())
    except ValueError:
        scale = -1
    if not 0 <= scale <= 16:
        raise InvalidJobParameter(f"Invalid value '{p.shown(value)}' for parameter "
                                  "exportDataDecimalScale; it must be an integer from 0 to 16.")
    return scale
