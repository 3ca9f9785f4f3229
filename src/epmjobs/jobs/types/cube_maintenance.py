"""The cube-maintenance jobs (API §4.11-4.14), each doing the maintenance of our cell store
that corresponds to Oracle's:

- COMPACT_CUBE (``cubeName``): Oracle compacts an ASO outline file. Ours rewrites the
  cube's cells under the current outline: cells stored before a cube refresh are re-keyed
  for good and cells of members that are gone are dropped (reads do this on the fly until
  then).
- RESTRUCTURE_CUBE (``cubeName``): a full restructure to remove fragmentation: every chunk
  of the cube is rewritten at the target size, in key order.
- MERGE_DATA_SLICES (``cubeName``, ``keepZeroCells``, ``mergeSliceType``
  ``allIncrementalSlicesInMain`` | ``allIncrementalSlicesInOneIncremental``, all
  required): the cube's chunks are merged and rewritten; ``keepZeroCells`` false drops
  cells whose value is 0 (#Missing is never stored).
- OPTIMIZE_AGGREGATION (``cubeName``, ``type``): ``executeAggregationProcess`` computes
  and stores every stored parent of every dimension (in Essbase calculation order), so
  reads of upper levels need no computation; ``useQueryData``, ``includeAlternateRollups``
  and ``growthSizeRatio`` are accepted. ``enableQueryTracking`` is refused (status 4):
  epmjobs keeps no query statistics.
"""

from __future__ import annotations

from typing import Any

from epmjobs.errors import InvalidJobParameter
from epmjobs.jobs import parameters as p
from epmjobs.jobs.context import JobContext
from epmjobs.jobs.types.cube_data import CubeData, model_for

CUBE = ("cubeName", "cube")


def _cube(parameters: dict[str, Any]) -> str:
    for name in CUBE:
        if (value := p.optional_str(parameters, name)) is not None:
            return value
    raise InvalidJobParameter("Parameter cubeName is required.")


def _load(ctx: JobContext) -> CubeData:
    return CubeData.load(ctx, model_for(ctx, ctx.parameters["cubeName"]))


class _Rewrite:
    """Rewrite every chunk of a cube under the current outline, in key order."""

    category = ""
    done = ""
    what = ""

    def validate(self, parameters: dict[str, Any]) -> dict[str, Any]:
        return {"cubeName": _cube(parameters)}

    def run(self, ctx: JobContext) -> str | None:
        data = _load(ctx)
        data.commit(rechunk=True)
        ctx.info(f"Cube {data.model.name}: {len(data.cells)} cells {self.what}.", self.category)
        return f"Cube {data.model.name} was {self.done}."


class CompactCube(_Rewrite):
    category, done, what = "Compact Cube", "compacted", "rewritten under the current outline"


class RestructureCube(_Rewrite):
    category, done, what = "Restructure Cube", "restructured", "rewritten in key order"


class MergeDataSlices:
    TYPES = ("allIncrementalSlicesInMain", "allIncrementalSlicesInOneIncremental")

    def validate(self, parameters: dict[str, Any]) -> dict[str, Any]:
        if parameters.get("keepZeroCells") in (None, ""):
            raise InvalidJobParameter("Parameter keepZeroCells is required.")
        return {"cubeName": _cube(parameters),
                "keepZeroCells": p.boolean(parameters, "keepZeroCells", True),
                "mergeSliceType": p.choice(parameters, "mergeSliceType", self.TYPES)}

    def run(self, ctx: JobContext) -> str | None:
        data = _load(ctx)
        before = len(data.cells)
        if not ctx.parameters["keepZeroCells"]:
            data.pending = data.cells.where(data.cells.values != 0)
        data.commit(rechunk=True)
        ctx.info(f"Cube {data.model.name}: {before} cells merged, "
                 f"{before - len(data.pending)} zero cells removed.", "Merge Data Slices")
        return f"Data slices of cube {data.model.name} were merged."


class OptimizeAggregation:
    TYPES = ("executeAggregationProcess", "enableQueryTracking")

    def validate(self, parameters: dict[str, Any]) -> dict[str, Any]:
        params = {"cubeName": _cube(parameters), "type": p.choice(parameters, "type", self.TYPES),
                  "useQueryData": p.boolean(parameters, "useQueryData", False),
                  "includeAlternateRollups": p.boolean(parameters, "includeAlternateRollups",
                                                       False)}
        if params["type"] == "enableQueryTracking":
            raise InvalidJobParameter("Parameter type enableQueryTracking is not supported by "
                                      "this epmjobs server: it keeps no query statistics.")
        return params

    def run(self, ctx: JobContext) -> str | None:
        data = _load(ctx)
        model = data.model
        before = len(data.cells)
        data.pending = model.consolidator.aggregate(data.cells, model.calc_order)
        data.commit()
        ctx.info(f"Cube {model.name}: {before} cells aggregated into {len(data.pending)} "
                 f"(dimensions in order: {', '.join(model.calc_order)}).",
                 "Optimize Aggregation")
        return f"Aggregation of cube {model.name} completed successfully."
