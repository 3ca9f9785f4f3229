"""Writing cells in the Planning data format (reference §3.4): the layout IMPORT_DATA reads,
so an export re-imports as is.

The first row dimension is the file's load dimension (one member per line); the column
dimension's selected members are the driver columns; every other dimension — further row
dimensions and the POV — goes into the quoted ``Point-of-View`` (decision D51). A line is
written for each row that has a value in at least one selected column (#Missing rows are
suppressed, as Oracle does); a missing cell in a written row is empty, or the
``customMissingValue``. Values are written with full precision (whole numbers without
``.0``), or rounded to ``decimals``. The table is built and written by Polars, so millions
of cells export at disk speed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from epmjobs.planning.calc.dynamic import with_dynamic_formulas
from epmjobs.planning.cube.cells import Cells, region_mask
from epmjobs.planning.cube.model import CubeModel

Nodes = npt.NDArray[np.int32]


@dataclass(frozen=True)
class ExportSpec:
    row_dimensions: tuple[str, ...]
    column_dimension: str
    selection: Mapping[str, Nodes]  # every dimension: the base nodes to export
    include_dynamic: bool = False
    decimals: int | None = None
    missing_text: str = ""
    delimiter: str = ","


def region_cells(model: CubeModel, cells: Cells, selection: Mapping[str, Nodes],
                 include_dynamic: bool) -> Cells:
    """The cells of the selected region; with ``include_dynamic``, dynamic parents (and
    implied shares) evaluated from the cells that feed the region, and Dynamic Calc members
    with a formula evaluated by it (``planning.calc.dynamic``)."""
    if include_dynamic:
        feeding = {name: feeding_nodes(model, name, nodes) for name, nodes in selection.items()}
        region = cells.where(region_mask(cells, model.layout, feeding))
        region = model.consolidator.evaluate_dynamic(region, model.calc_order)
        cells = with_dynamic_formulas(model, cells, region, selection)
    return cells.where(region_mask(cells, model.layout, selection))


def feeding_nodes(model: CubeModel, name: str, nodes: Nodes) -> Nodes:
    """The selected nodes, their descendants, and the base members of shared ones."""
    dim = model.dimension(name)
    assert dim is not None
    wanted = np.zeros(len(dim), dtype=np.bool_)
    wanted[nodes] = True
    below = dim.closure_descendant[wanted[dim.closure_ancestor]]
    found = np.zeros(len(dim), dtype=np.bool_)
    found[below] = True
    found[dim.base[found]] = True
    return np.flatnonzero(found).astype(np.int32)


def write_planning(model: CubeModel, cells: Cells, spec: ExportSpec, target: Path) -> int:
    """Write the region's cells to ``target``; return the number of data lines."""
    cells = region_cells(model, cells, spec.selection, spec.include_dynamic)
    col_pos = _position(model, spec.column_dimension)
    columns = spec.selection[spec.column_dimension]
    col_dim = model.dimensions[col_pos]
    frame, count = _table(model, cells, spec, col_pos, columns)
    value_names = [col_dim.names[int(n)] for n in columns]
    header = [spec.row_dimensions[0], *value_names, "Point-of-View", "Data Load Cube Name"]
    frame.columns = header
    frame.write_csv(target, separator=spec.delimiter, null_value=spec.missing_text,
                    quote_style="necessary", line_terminator="\n")
    return count


def _position(model: CubeModel, name: str) -> int:
    position = model.position(name)
    assert position is not None, name
    return position


def _table(model: CubeModel, cells: Cells, spec: ExportSpec, col_pos: int,
           columns: Nodes) -> tuple[pl.DataFrame, int]:
    layout = model.layout
    rows, matrix = pivot(model, cells, col_pos, columns)
    if spec.decimals is not None:
        matrix = np.round(matrix, spec.decimals)
    load_pos = _position(model, spec.row_dimensions[0])
    data: dict[str, pl.Series] = {
        "row": member_names(model, load_pos, layout.coordinate(rows, load_pos))}
    for i in range(len(columns)):
        data[f"v{i}"] = number_text(pl.Series(matrix[:, i], nan_to_null=True))
    pov_order = [*spec.row_dimensions[1:], *(
        d.name for d in model.dimensions if d.name not in spec.row_dimensions
        and d.name != spec.column_dimension)]
    parts = [member_names(model, p, layout.coordinate(rows, p)).alias(f"p{i}")
             for i, p in enumerate(_position(model, n) for n in pov_order)]
    data["pov"] = pl.DataFrame(parts).select(pl.concat_str(pl.all(), separator=","))\
        .to_series() if parts else pl.Series([""] * len(rows), dtype=pl.String)
    data["cube"] = pl.Series([model.name] * len(rows), dtype=pl.String)
    return pl.DataFrame(data), len(rows)


def pivot(model: CubeModel, cells: Cells, col_pos: int, columns: Nodes
          ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The cells as a table: its rows (the keys with the column dimension's coordinate
    zeroed, ascending) and a rows x ``columns`` matrix of values, NaN where missing.
    Every cell's column member must be one of ``columns``."""
    layout = model.layout
    col_coord = layout.coordinate(cells.keys, col_pos)
    lookup = np.full(layout.sizes[col_pos], -1, dtype=np.int64)
    lookup[columns] = np.arange(len(columns))
    row_keys = cells.keys - col_coord.astype(np.int64) * layout.strides[col_pos]
    rows, inverse = np.unique(row_keys, return_inverse=True)
    matrix = np.full((len(rows), len(columns)), np.nan)
    matrix[inverse, lookup[col_coord]] = cells.values
    return rows, matrix


def number_text(values: pl.Series) -> pl.Series:
    """Values as text: whole numbers without ``.0`` (as Oracle and our Essbase writer
    write them), others in their shortest round-trip form; missing stays null."""
    v = pl.col("v")
    whole = (v == v.round(0)) & (v.abs() < 1e15)
    return pl.DataFrame({"v": values}).select(
        pl.when(whole).then(v.cast(pl.Int64, strict=False).cast(pl.String))
        .otherwise(v.cast(pl.String))).to_series()


def member_names(model: CubeModel, position: int, nodes: Nodes) -> pl.Series:
    names = pl.Series(model.dimensions[position].names, dtype=pl.String)
    return names.gather(pl.Series(nodes.astype(np.int64)))


def level0(model: CubeModel, name: str) -> Nodes:
    """The default selection of a dimension an export does not name: its stored level-0
    base members."""
    dim = model.dimension(name)
    assert dim is not None
    stored = model.hierarchies[dim.name].loadable
    return np.flatnonzero((dim.level == 0) & stored).astype(np.int32)

