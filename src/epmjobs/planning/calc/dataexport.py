"""DATAEXPORT: a calc script writing the cells in its scope to a text file.

``SET DATAEXPORTOPTIONS { ... };`` sets the options in force until the next such command
(each one starts again from the defaults, as in Essbase); ``DATAEXPORT "File" "," "name"
["#MI"];`` inside a FIX takes the cells of the FIX as they are at that statement — later
statements do not change what it wrote. The engine only collects what to write
(``DataExportFile``); the job writes the files, when and where the job's effects land.

The layout (decision D66, docs/calc-scripts.md): with ``DataExportColFormat ON`` (the
default) a header line of the column dimension's members (``DataExportColHeader``, by
default the first dense dimension), then one line per combination of the other
dimensions (outline order) that has a value, the values aligned under the header and
missing ones written as the missing text; member names are quoted. ``DataExportDimHeader
ON`` puts the other dimensions' names in front of the header line. With ``ColFormat OFF``
each line is one cell, a member of every dimension and the value. ``DataExportRelational-
File ON`` writes no header and no quotes, and leaves missing values empty.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from epmjobs.planning.calc import ast
from epmjobs.planning.calc.members import fail
from epmjobs.planning.calc.scope import Scope
from epmjobs.planning.cube.cells import Cells
from epmjobs.planning.cube.model import CubeModel
from epmjobs.planning.data.export import member_names, number_text, pivot, region_cells
from epmjobs.planning.outline.vocabulary import Density

LEVELS = ("ALL", "LEVEL0", "INPUT")
DELIMITERS = " \t,;|"
_SWITCHES = {"DATAEXPORTDYNAMICCALC": "dynamic_calc", "DATAEXPORTCOLFORMAT": "col_format",
             "DATAEXPORTDIMHEADER": "dim_header", "DATAEXPORTRELATIONALFILE": "relational",
             "DATAEXPORTOVERWRITEFILE": "overwrite", "DATAEXPORTDRYRUN": "dry_run",
             "DATAEXPORTNONEXISTINGBLOCKS": "non_existing_blocks",
             "DATAEXPORTCSVFORMAT": "csv_format"}
_NUMBERS = {"DATAEXPORTDECIMAL": "decimal", "DATAEXPORTPRECISION": "precision"}


@dataclass(frozen=True)
class ExportOptions:
    level: str = "ALL"
    dynamic_calc: bool = True
    decimal: int | None = None
    precision: int | None = None
    col_format: bool = True
    col_header: str | None = None
    dim_header: bool = False
    relational: bool = False
    overwrite: bool = False
    dry_run: bool = False
    non_existing_blocks: bool = False
    csv_format: bool = False


def export_options(statement: ast.Set) -> ExportOptions:
    """The options a ``SET DATAEXPORTOPTIONS`` block sets (the others at their defaults)."""
    options = ExportOptions()
    for line in statement.options:
        name, value = line.name.upper(), line.value.strip().strip('"')
        if name == "DATAEXPORTLEVEL":
            # Essbase takes a level it does not know (LEVEL 0, LEVEL2) as ALL
            level = value.upper()
            options = replace(options, level=level if level in LEVELS else "ALL")
        elif name == "DATAEXPORTCOLHEADER":
            options = replace(options, col_header=value)
        elif name in _SWITCHES:
            if value.upper() not in ("ON", "OFF"):
                raise fail(f"{line.name} takes ON or OFF, not {line.value!r}", line)
            switch: dict[str, Any] = {_SWITCHES[name]: value.upper() == "ON"}
            options = replace(options, **switch)
        elif name in _NUMBERS:
            if not value.isdigit() or int(value) > 16:
                raise fail(f"{line.name} takes a whole number from 0 to 16", line)
            number: dict[str, Any] = {_NUMBERS[name]: int(value)}
            options = replace(options, **number)
        else:
            raise fail(f"unknown DATAEXPORTOPTIONS option {line.name}", line)
    if options.non_existing_blocks:
        raise fail("DataExportNonExistingBlocks ON is not supported: epmjobs exports the "
                   "blocks that exist", statement)
    return options


@dataclass(frozen=True, eq=False)
class DataExportFile:
    """One DATAEXPORT's file: its name as the script gave it and the cells to write."""

    file_name: str
    model: CubeModel
    cells: Cells
    options: ExportOptions
    delimiter: str
    missing_text: str
    column: int | None     # the column dimension's position (ColFormat ON)
    column_nodes: np.ndarray  # its members, in outline order

    def write(self, target: Path) -> int:
        """Write the file; return the number of data lines."""
        header, body = self._table()
        with target.open("wb") as out:
            out.write("".join(header).encode("utf-8"))
            body.write_csv(out, include_header=False, quote_style="never",
                           line_terminator="\n")
        return len(body)

    def lines(self) -> list[str]:
        """The file's lines, each ending in a line break."""
        header, body = self._table()
        return header + [f"{line}\n" for line in body.to_series().to_list()]

    def _table(self) -> tuple[list[str], pl.DataFrame]:
        """The header lines, and the data lines as a one-column table (built by Polars,
        so millions of cells write at disk speed)."""
        model, layout, options = self.model, self.model.layout, self.options
        keys, values = self.cells.keys, self._rounded(self.cells.values)
        if self.column is None:
            order = _block_order(model, keys, range(len(model.dimensions)))
            keys, values = keys[order], values[order]
            parts = [self._names(p, layout.coordinate(keys, p))
                     for p in range(len(model.dimensions))]
            parts.append(number_text(pl.Series(values)))
            return [], _joined(parts, self.delimiter)
        column, nodes = self.column, self.column_nodes
        others = [p for p in range(len(model.dimensions)) if p != column]
        header: list[str] = []
        if not options.relational:
            names = [self._quoted(model.dimensions[column].names[int(n)]) for n in nodes]
            if options.dim_header:
                names = [self._quoted(model.dimensions[p].name) for p in others] + names
            header.append(self.delimiter.join(names) + "\n")
        rows, matrix = pivot(model, Cells(keys, values), column, nodes)
        order = _block_order(model, rows, others)
        rows, matrix = rows[order], matrix[order]
        parts = [self._names(p, layout.coordinate(rows, p)) for p in others]
        parts += [number_text(pl.Series(matrix[:, i], nan_to_null=True))
                  .fill_null(self.missing_text) for i in range(len(nodes))]
        return header, _joined(parts, self.delimiter)

    def _quoted(self, name: str) -> str:
        return name if self.options.relational else f'"{name}"'

    def _names(self, position: int, nodes: np.ndarray) -> pl.Series:
        names = member_names(self.model, position, nodes)
        return names if self.options.relational else '"' + names + '"'

    def _rounded(self, values: np.ndarray) -> np.ndarray:
        if self.options.precision is not None:
            digits = max(self.options.precision, 1)
            with np.errstate(divide="ignore", invalid="ignore"):
                magnitude = np.floor(np.log10(np.abs(values)))
                scale = np.where(values == 0, 1.0, 10.0 ** (digits - 1 - magnitude))
                values = np.where(values == 0, values, np.round(values * scale) / scale)
        if self.options.decimal is not None:
            values = np.round(values, self.options.decimal)
        return values


def _joined(parts: list[pl.Series], delimiter: str) -> pl.DataFrame:
    frame = pl.DataFrame({f"c{i}": part for i, part in enumerate(parts)})
    return frame.select(pl.concat_str(pl.all(), separator=delimiter).alias("line"))


def data_export(model: CubeModel, cells: Cells, scope: Scope, statement: ast.DataExport,
                options: ExportOptions) -> DataExportFile | None:
    """What one DATAEXPORT statement writes (None under ``DataExportDryRun ON``)."""
    if statement.kind != "FILE":
        raise fail(f'DATAEXPORT "{statement.kind.title()}" is not supported: epmjobs writes '
                   'text files (DATAEXPORT "File" "," "name.txt")', statement)
    if len(statement.args) not in (2, 3):
        raise fail('DATAEXPORT "File" takes a delimiter, a file name and optionally the '
                   "text for missing values", statement)
    delimiter, file_name = statement.args[0], statement.args[1]
    if len(delimiter) != 1 or delimiter not in DELIMITERS:
        raise fail(f"the DATAEXPORT delimiter {delimiter!r} is not one of space, tab , ; |",
                   statement)
    missing = statement.args[2] if len(statement.args) == 3 else "#MI"
    missing = "" if missing.upper() == "NULL" or options.relational else missing
    if len(missing) > 128 or any(c in missing for c in f'"\r\n{delimiter}'):
        raise fail("the DATAEXPORT missing text must be at most 128 characters, without "
                   "quotes, line breaks or the delimiter", statement)
    column = _column(model, options, statement)
    selection = _selection(model, scope, options)
    region = region_cells(model, cells, selection, options.dynamic_calc and
                          options.level != "INPUT")
    if scope.excluded:
        region = region.where(scope.contains(model, region.keys))
    if options.level != "ALL":
        region = region.where(_level0_blocks(model, region))
    if options.dry_run:
        return None
    column_nodes = selection[model.dimensions[column].name] if column is not None else \
        np.zeros(0, dtype=np.int32)
    return DataExportFile(file_name, model, region, options, delimiter, missing, column,
                          column_nodes)


def _column(model: CubeModel, options: ExportOptions, at: ast.Node) -> int | None:
    if not options.col_format:
        return None
    if options.col_header is None:
        return next((p for p, d in enumerate(model.dimensions)
                     if d.density is Density.DENSE), 0)
    position = model.position(options.col_header)
    if position is None:
        raise fail(f"DataExportColHeader names {options.col_header}, which is not a "
                   f"dimension of the cube {model.name}", at)
    return position


def _selection(model: CubeModel, scope: Scope, options: ExportOptions
               ) -> dict[str, np.ndarray]:
    """Per dimension, the members to export: stored ones in the FIX, and on dense
    dimensions the Dynamic Calc ones too when dynamic values are exported."""
    dynamic = options.dynamic_calc and options.level != "INPUT"
    out: dict[str, np.ndarray] = {}
    for position, dim in enumerate(model.dimensions):
        h = model.hierarchies[dim.name]
        wanted = np.asarray(h.loadable & ~h.dynamic & ~h.implied_share)
        if dynamic and dim.density is Density.DENSE:
            wanted = wanted | np.asarray(h.dynamic)
        allowed = scope.fixed.get(position)
        if allowed is not None:
            wanted = wanted & allowed
        out[dim.name] = np.flatnonzero(wanted).astype(np.int32)
    return out


def _block_order(model: CubeModel, keys: np.ndarray, positions: Iterable[int]) -> np.ndarray:
    """The order Essbase writes cells in: block by block (sparse dimensions in outline
    order), then the dense cells of each block (dense dimensions in outline order)."""
    chosen = list(positions)
    ranked = [p for p in chosen if model.dimensions[p].density is not Density.DENSE] + \
        [p for p in chosen if model.dimensions[p].density is Density.DENSE]
    columns = [model.layout.coordinate(keys, p) for p in reversed(ranked)]
    return np.lexsort(columns) if columns else np.arange(len(keys))


def _level0_blocks(model: CubeModel, cells: Cells) -> np.ndarray:
    """The cells of blocks whose sparse members are all level 0."""
    keep = np.ones(len(cells), dtype=np.bool_)
    for position, dim in enumerate(model.dimensions):
        if dim.density is not Density.DENSE:
            keep &= dim.level[model.layout.coordinate(cells.keys, position)] == 0
    return keep
