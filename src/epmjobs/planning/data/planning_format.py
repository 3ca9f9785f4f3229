"""The Planning data file format (reference §3.1): read it into cells, vectorised.

A header names the columns: one *load dimension* (its header is a dimension name; each row
names one of its members), *driver members* (headers that are members of one other
dimension; each cell is the value for that member), ``Point-of-View`` (one member of every
other dimension of the cube, comma separated) and ``Data Load Cube Name``; an
``Operation`` column is accepted and ignored. Column order is free.

The body is read with Polars in batches (never the whole file at once), every column as
text, and resolved per batch with NumPy: member names and POV strings are looked up once
per distinct value. A row is a *record*; a record is rejected whole, with its line number
and a reason, when a member is unknown or not valid for the cube, a member cannot hold
loaded data (Dynamic Calc, Label Only), the POV misses or repeats a dimension, a value is
not a number, or one of its cells was already loaded by an earlier record of the file.
An empty driver cell leaves the cell as it is; ``#Missing`` (or the ``customMissingValue``)
clears it (decision D50).

Line numbers count a record per line after the header (a quoted field spanning lines
shifts the numbers after it).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from epmjobs.errors import DataFileError, OutlineError
from epmjobs.planning.application import name_key
from epmjobs.planning.cube.cells import sort_order
from epmjobs.planning.cube.layout import Keys
from epmjobs.planning.cube.model import CubeModel, cube_model
from epmjobs.planning.data.result import DataLoad, Rejection
from epmjobs.planning.outline import Outline
from epmjobs.planning.outline.vocabulary import DataType, DimensionType

POV = "point-of-view"
CUBE = "data load cube name"
OPERATION = "operation"
MISSING_TOKENS = ("#missing", "#mi")
BATCH_ROWS = 200_000
MAX_REJECTION_REASONS = 100_000
MAX_FIELD = 4096
DATE_FORMATS = {"MM-DD-YYYY": "%m-%d-%Y", "DD-MM-YYYY": "%d-%m-%Y", "YYYY-MM-DD": "%Y-%m-%d",
                "MM/DD/YYYY": "%m/%d/%Y", "DD/MM/YYYY": "%d/%m/%Y", "YYYY/MM/DD": "%Y/%m/%d"}


@dataclass(frozen=True)
class PlanningHeader:
    columns: tuple[str, ...]
    load_dimension: str
    load_column: int
    driver_dimension: str
    drivers: tuple[tuple[int, str], ...]  # (column, member)
    pov_column: int | None
    cube_column: int | None


def parse_header(columns: Sequence[str], outline: Outline, file_name: str) -> PlanningHeader:
    """Classify the header's columns, or DataFileError saying what is wrong with it."""
    cleaned = [c.strip().strip('"').strip() for c in columns]
    load: tuple[int, str] | None = None
    pov = cube = None
    drivers: list[tuple[int, str]] = []
    driver_dims: set[str] = set()
    for i, text in enumerate(cleaned):
        key = name_key(text)
        if key == POV:
            pov = i
        elif key == CUBE:
            cube = i
        elif key == OPERATION or not key:
            continue
        elif load is None and (dim := outline.dimension(text)) is not None:
            load = (i, dim.name)
        else:
            owner = outline.owner(text)
            if owner is None:
                raise DataFileError(
                    f"{file_name}: the column header {text!r} is not a dimension, a member, "
                    "Point-of-View or Data Load Cube Name.")
            drivers.append((i, text))
            driver_dims.add(owner.name)
    if load is None:
        raise DataFileError(f"{file_name}: the header names no load dimension (a column "
                            "whose header is a dimension name).")
    if not drivers:
        raise DataFileError(f"{file_name}: the header names no driver members.")
    if len(driver_dims) > 1:
        raise DataFileError(f"{file_name}: the driver members belong to several dimensions "
                            f"({', '.join(sorted(driver_dims))}); they must all belong to one.")
    driver_dim = driver_dims.pop()
    if name_key(driver_dim) == name_key(load[1]):
        raise DataFileError(f"{file_name}: the driver members belong to the load dimension "
                            f"{load[1]}.")
    return PlanningHeader(tuple(cleaned), load[1], load[0], driver_dim, tuple(drivers), pov,
                          cube)


@dataclass
class _CubeBatch:
    keys: list[Keys] = field(default_factory=list)
    values: list[npt.NDArray[np.float64]] = field(default_factory=list)
    rows: list[npt.NDArray[np.int64]] = field(default_factory=list)


class PlanningReader:
    def __init__(self, outline: Outline, *, cube: str | None = None, delimiter: str = ",",
                 missing_tokens: Sequence[str] = MISSING_TOKENS,
                 date_format: str = "MM-DD-YYYY") -> None:
        self.outline = outline
        self.default_cube = cube
        self.delimiter = delimiter
        self.date_format = DATE_FORMATS[date_format]
        self.missing = {name_key(t) for t in missing_tokens}
        self._models: dict[str, CubeModel | None] = {}

    def read(self, path: Path, file_name: str) -> DataLoad:
        header = parse_header(_header_fields(path, self.delimiter, file_name), self.outline,
                              file_name)
        if header.cube_column is None and self.default_cube is None:
            raise DataFileError(f"{file_name}: the header has no Data Load Cube Name column "
                                "and the job names no cube.")
        batches: dict[str, _CubeBatch] = {}
        rejections: list[Rejection] = []
        read = 0
        for frame in _batches(path, header, self.delimiter, file_name):
            read += frame.height
            self._batch(frame, header, batches, rejections)
        cells = {cube: self._finish(cube, b, header, rejections, file_name)
                 for cube, b in batches.items()}
        rejections.sort(key=lambda r: r.line)
        return DataLoad(header.columns, cells, read, rejections)

    # -- one batch -----------------------------------------------------------------------

    def _batch(self, frame: pl.DataFrame, header: PlanningHeader,
               batches: dict[str, _CubeBatch], rejections: list[Rejection]) -> None:
        rows = frame["__row"].to_numpy().astype(np.int64)
        if header.cube_column is None:
            cube_names = np.full(frame.height, self.default_cube, dtype=object)
        else:
            cube_names = frame[f"c{header.cube_column}"].str.strip_chars().to_numpy()
        for cube in dict.fromkeys(cube_names.tolist()):
            pick = np.flatnonzero(cube_names == cube)
            model = self._model(cube or "")
            sub = frame[pick] if len(pick) < frame.height else frame
            if model is None:
                reason = f"The cube {cube} does not exist in this application." if cube \
                    else "The row names no cube (Data Load Cube Name is empty)."
                _reject(rejections, sub, np.ones(sub.height, dtype=np.bool_), reason)
                continue
            batch = batches.setdefault(model.name, _CubeBatch())
            _CubeRows(model, header, sub, rows[pick], self.missing, self.date_format).load(
                batch, rejections)

    def _model(self, cube: str) -> CubeModel | None:
        key = name_key(cube)
        if key not in self._models:
            try:
                self._models[key] = cube_model(self.outline, cube) if key else None
            except OutlineError:
                self._models[key] = None
        return self._models[key]

    def _finish(self, cube: str, batch: _CubeBatch, header: PlanningHeader,
                rejections: list[Rejection], file_name: str) -> tuple[
            Keys, npt.NDArray[np.float64]]:
        """Concatenate, reject records that load a cell an earlier record loaded, sort."""
        if not batch.keys:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        keys = np.concatenate(batch.keys)
        values = np.concatenate(batch.values)
        rows = np.concatenate(batch.rows)
        order = sort_order(keys)  # stable where keys repeat: file order within a key
        keys, values, rows = keys[order], values[order], rows[order]
        repeat = np.zeros(len(keys), dtype=np.bool_)
        repeat[1:] = keys[1:] == keys[:-1]
        if repeat.any():
            first_row = rows[np.maximum.accumulate(np.where(~repeat, np.arange(len(keys)), 0))]
            bad = {int(r): int(f) for r, f in zip(rows[repeat], first_row[repeat], strict=True)
                   if r != f}
            for row, first in sorted(bad.items()):
                rejections.append(Rejection(row + 2, (
                    f"A cell of this record was already loaded by line {first + 2}."), ()))
            drop = np.isin(rows, np.fromiter(bad, dtype=np.int64))
            keys, values = keys[~drop], values[~drop]
            keep = np.ones(len(keys), dtype=np.bool_)
            keep[1:] = keys[1:] != keys[:-1]
            keys, values = keys[keep], values[keep]
        return keys, values


class _CubeRows:
    """One batch's records for one cube, resolved to packed keys."""

    def __init__(self, model: CubeModel, header: PlanningHeader, frame: pl.DataFrame,
                 rows: npt.NDArray[np.int64], missing: set[str], date_format: str) -> None:
        self.model = model
        self.header = header
        self.frame = frame
        self.rows = rows
        self.missing = missing
        self.date_format = date_format
        self.bad = np.zeros(frame.height, dtype=np.bool_)
        self.reasons: dict[int, str] = {}

    def load(self, batch: _CubeBatch, rejections: list[Rejection]) -> None:
        model, header = self.model, self.header
        layout = model.layout
        load_pos = model.position(header.load_dimension)
        driver_pos = model.position(header.driver_dimension)
        if load_pos is None or driver_pos is None:
            missing = header.load_dimension if load_pos is None else header.driver_dimension
            _reject(rejections, self.frame, np.ones(self.frame.height, dtype=np.bool_),
                    f"The dimension {missing} is not used by cube {model.name}.", self.rows)
            return
        partial = self._members(load_pos, f"c{header.load_column}") * layout.strides[load_pos]
        partial += self._pov({load_pos, driver_pos})
        cells_keys, cells_values, cells_rows = [], [], []
        dates = self._date_rows(partial, driver_pos)
        for column, member in header.drivers:
            node = self._driver_node(member, driver_pos)
            if node is None:
                continue
            values, present = self._values(f"c{column}", member, dates(node))
            cells_keys.append(partial[present] + node * layout.strides[driver_pos])
            cells_values.append(values[present])
            cells_rows.append(np.flatnonzero(present))
        for index, reason in self.reasons.items():
            self.bad[index] = True
            rejections.append(Rejection(int(self.rows[index]) + 2, reason,
                                        _fields(self.frame.row(index))))
        if not cells_keys:
            return
        local = np.concatenate(cells_rows)
        good = ~self.bad[local]
        batch.keys.append(np.concatenate(cells_keys)[good])
        batch.values.append(np.concatenate(cells_values)[good])
        batch.rows.append(self.rows[local[good]])

    def _note(self, mask: npt.NDArray[np.bool_], reason: str | Sequence[str]) -> None:
        for i in np.flatnonzero(mask).tolist():
            if i not in self.reasons:
                self.reasons[i] = reason if isinstance(reason, str) else reason[i]

    def _members(self, position: int, column: str) -> Keys:
        """Nodes of a member-name column (0 where rejected, with the reason noted)."""
        dim = self.model.dimensions[position]
        loadable = self.model.hierarchies[dim.name].loadable

        def node(name: str) -> int | str:
            found = dim.node(name)
            if found is None:
                return _unknown(name, self.model)
            if not loadable[found]:
                return _not_loadable(name, dim.storage[found])
            return found

        return self._resolved(self.frame[column].str.strip_chars().str.strip_chars('"'), node)

    def _resolved(self, texts: pl.Series, resolve: Callable[[str], int | str]) -> Keys:
        """``resolve`` applied once per distinct text: its number per row (0 where it gave
        a reason instead, noted as the row's rejection)."""
        numbers: dict[str, int] = {}
        why: dict[str, str] = {}
        for text in texts.unique().to_list():
            result = resolve(text or "")
            if isinstance(result, str):
                why[text] = result
            else:
                numbers[text] = result
        keys = texts.replace_strict(numbers, default=-1, return_dtype=pl.Int64).to_numpy()
        if why:
            self._note(keys < 0, [why.get(t, "") for t in texts.to_list()])
        return np.asarray(np.maximum(keys, 0), dtype=np.int64)

    def _pov(self, excluded: set[int]) -> Keys:
        column = self.header.pov_column
        wanted = [i for i in range(len(self.model.dimensions)) if i not in excluded]
        if column is None:
            if wanted:
                names = ", ".join(self.model.dimensions[i].name for i in wanted)
                self._note(np.ones(self.frame.height, dtype=np.bool_),
                           f"The file has no Point-of-View column for the dimensions {names}.")
            return np.zeros(self.frame.height, dtype=np.int64)
        return self._resolved(self.frame[f"c{column}"],
                              lambda text: self._resolve_pov(text, wanted))

    def _resolve_pov(self, text: str, wanted: list[int]) -> int | str:
        model = self.model
        members = next(csv.reader([text], skipinitialspace=True), [])
        seen: dict[int, str] = {}
        key = 0
        for raw in members:
            name = raw.strip()
            if not name:
                continue
            where = model.find(name)
            if where is None:
                return _unknown(name, model)
            position, node = where
            if position not in wanted:
                return (f"The Point-of-View member {name} belongs to dimension "
                        f"{model.dimensions[position].name}, which the file's columns give.")
            if position in seen:
                return (f"The Point-of-View names two members of dimension "
                        f"{model.dimensions[position].name}: {seen[position]} and {name}.")
            dim = model.dimensions[position]
            if not model.hierarchies[dim.name].loadable[node]:
                return _not_loadable(name, dim.storage[node])
            seen[position] = name
            key += node * model.layout.strides[position]
        lacking = [model.dimensions[i].name for i in wanted if i not in seen]
        if lacking:
            return f"The Point-of-View has no member of dimension {', '.join(lacking)}."
        return key

    def _driver_node(self, member: str, position: int) -> int | None:
        dim = self.model.dimensions[position]
        node = dim.node(member)
        if node is None:
            self._note(np.ones(self.frame.height, dtype=np.bool_), _unknown(member, self.model))
            return None
        if not self.model.hierarchies[dim.name].loadable[node]:
            self._note(np.ones(self.frame.height, dtype=np.bool_),
                       _not_loadable(member, dim.storage[node]))
            return None
        return node

    def _date_rows(self, partial: Keys, driver_pos: int) -> Callable[
            [int], npt.NDArray[np.bool_] | None]:
        """For a driver node: which rows' cells have a Date account (None: none do)."""
        model = self.model
        account = next((i for i, d in enumerate(model.dimensions)
                        if d.type is DimensionType.ACCOUNT), None)
        if account is None:
            return lambda node: None
        is_date = model.with_data_type(account, DataType.DATE)
        if not is_date.any():
            return lambda node: None
        if account == driver_pos:
            return lambda node: np.full(len(partial), bool(is_date[node]))
        rows = is_date[model.layout.coordinate(partial, account)]
        return lambda node: rows

    def _values(self, column: str, member: str,
                dates: npt.NDArray[np.bool_] | None = None) -> tuple[
            npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
        """(values, which cells the column writes): empty = no change, missing = NaN. A
        Date account's value is a date in the job's ``dateFormat`` (or yyyymmdd), stored as
        the number yyyymmdd."""
        text = self.frame[column].str.strip_chars()
        lowered = text.str.to_lowercase()
        empty = (text.str.len_bytes() == 0).to_numpy()
        missing = lowered.is_in(list(self.missing)).to_numpy()
        numbers = text.str.replace_all(",", "", literal=True).cast(pl.Float64, strict=False)
        if dates is not None and dates.any():
            parsed = text.str.to_date(self.date_format, strict=False)
            as_number = (parsed.dt.year() * 10000 + parsed.dt.month().cast(pl.Int32) * 100
                         + parsed.dt.day().cast(pl.Int32)).cast(pl.Float64)
            numbers = pl.Series(np.where(dates & as_number.is_not_null().to_numpy(),
                                         as_number.fill_null(np.nan).to_numpy(),
                                         numbers.fill_null(np.nan).to_numpy()),
                                nan_to_null=True)
        values = numbers.fill_null(np.nan).to_numpy().astype(np.float64)
        bad = np.isnan(values) & ~empty & ~missing & numbers.is_null().to_numpy()
        bad |= ~np.isfinite(values) & ~np.isnan(values)
        if bad.any():
            shown = text.to_list()
            kinds = ["a date" if dates is not None and dates[i] else "a number"
                     for i in range(len(shown))]
            self._note(bad, [f"The value {(shown[i] or '')[:40]!r} for {member} is not "
                             f"{kinds[i]}." if bad[i] else "" for i in range(len(shown))])
        values[missing] = np.nan
        return values, ~empty & ~bad


def _fields(row: tuple[object, ...]) -> tuple[str, ...]:
    """A rejected record's fields for the error file (without the row number), each clipped
    so a hostile 100 MB field cannot bloat it."""
    return tuple(f if len(f) <= MAX_FIELD else f[:MAX_FIELD] + "..."
                 for f in (str(v) for v in row[:-1]))


def _unknown(name: str, model: CubeModel) -> str:
    return (f"The member {name} does not exist for the specified cube or you do not have "
            "access to it.")


def _not_loadable(name: str, storage_code: int) -> str:
    from epmjobs.planning.outline.vocabulary import DataStorage

    kind = list(DataStorage)[int(storage_code)]
    return f"The member {name} is {kind.value}; data cannot be loaded to it."


def _reject(rejections: list[Rejection], frame: pl.DataFrame, mask: npt.NDArray[np.bool_],
            reason: str, rows: npt.NDArray[np.int64] | None = None) -> None:
    numbers = rows if rows is not None else frame["__row"].to_numpy()
    for i in np.flatnonzero(mask).tolist()[:MAX_REJECTION_REASONS]:
        rejections.append(Rejection(int(numbers[i]) + 2, reason, _fields(frame.row(i))))


def _header_fields(path: Path, delimiter: str, file_name: str) -> list[str]:
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as f:
            first = f.readline(1 << 20)
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{file_name} is not UTF-8 text.") from exc
    if not first.strip():
        raise DataFileError(f"{file_name} is empty: a data file starts with a header.")
    fields = next(csv.reader(io.StringIO(first), delimiter=delimiter))
    if len(fields) < 2:
        raise DataFileError(f"{file_name}: the header has a single column; is the delimiter "
                            f"{_delimiter_name(delimiter)} right?")
    return fields


def _delimiter_name(delimiter: str) -> str:
    return {",": "comma", "\t": "tab"}.get(delimiter, repr(delimiter))


def _batches(path: Path, header: PlanningHeader, delimiter: str,
             file_name: str) -> Iterator[pl.DataFrame]:
    names = [f"c{i}" for i in range(len(header.columns))]
    frame = pl.scan_csv(path, separator=delimiter, has_header=True, new_columns=names,
                        infer_schema=False, quote_char='"', truncate_ragged_lines=True,
                        row_index_name="__row",
                        encoding="utf8")
    frame = frame.with_columns(pl.col(n).fill_null("") for n in names)
    frame = frame.select([*names, "__row"])
    try:
        yield from frame.collect_batches(chunk_size=BATCH_ROWS)
    except pl.exceptions.PolarsError as exc:
        raise DataFileError(f"{file_name} cannot be read as a data file: "
                            f"{str(exc).splitlines()[0][:200]}") from exc


def missing_tokens(custom: str | None) -> tuple[str, ...]:
    return (*MISSING_TOKENS, custom) if custom else MISSING_TOKENS
