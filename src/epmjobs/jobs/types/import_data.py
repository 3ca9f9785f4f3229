"""IMPORT_DATA: load cell data from the file repository (reference §3.1-3.3, API §4.4).

Parameters: ``importFileName`` (CSV, TXT or ZIP; looked up as named, then in ``inbox/``),
``sourceType`` (``Planning`` | ``Essbase``; default: Essbase for ``.txt``, else Planning),
``cube`` (required for Essbase files; Planning files name theirs per row in ``Data Load
Cube Name``, this is the default when they do not), ``delimiter`` (``comma`` | ``tab``),
``dateFormat`` (how Date accounts' values are written: ``MM-DD-YYYY`` (default),
``DD-MM-YYYY``, ``YYYY-MM-DD`` or the ``/`` forms; stored as the number yyyymmdd),
``includeMetaData`` (accepted),
``errorFile`` (a ZIP of rejected records, written to ``outbox/``), ``stopOnError`` (Essbase
files: stop at the first rejected record), ``customMissingValue`` (a token that means
#Missing besides ``#Missing``/``#MI``) and, our extension, ``loadMode`` (``replace``, the
default and Oracle's behaviour; ``accumulate``; ``subtract``).

A ZIP's files load in the order their names give (``data1-3.csv``, ``data2-3.csv``, ...,
else by name), one child job per file with its record counts. Rejected records are
reported and do not stop the load; the job then ends with status 1 "completed with
errors" and the accepted records commit with it (decision D50). A file that cannot be
read at all fails the job and nothing changes.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from epmjobs.errors import DataFileError, InvalidJobParameter, InvalidRequest, JobFailed
from epmjobs.jobs import parameters as p
from epmjobs.jobs.context import JobContext
from epmjobs.jobs.model import ChildJob, JobMessage, MessageType
from epmjobs.jobs.status import JobStatus
from epmjobs.jobs.types.cube_data import CubeData, cube_parameter, model_for, refreshed_outline
from epmjobs.jobs.types.data_files import data_delimiter, publish_csv_zip
from epmjobs.jobs.types.metadata_files import file_name, open_input, zip_name
from epmjobs.planning.cube.cells import LoadMode
from epmjobs.planning.data.essbase_format import text_lines
from epmjobs.planning.data.essbase_load import load_essbase
from epmjobs.planning.data.planning_format import DATE_FORMATS, PlanningReader, missing_tokens
from epmjobs.planning.data.result import DataLoad
from epmjobs.planning.outline import Outline
from epmjobs.storage.safezip import open_zip

CATEGORY = "Import Data"
SUCCESS = "Data import was successful"
PLANNING, ESSBASE = "Planning", "Essbase"
CUBE_NAMES = ("cube", "cubeName", "planType")
MAX_MESSAGES_PER_FILE = 1000
_PART = re.compile(r"(\d+)-(\d+)\.[^.]+$")


class ImportData:
    def validate(self, parameters: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {
            "stopOnError": p.boolean(parameters, "stopOnError", False),
            "includeMetaData": p.boolean(parameters, "includeMetaData", False),
            "loadMode": p.choice(parameters, "loadMode", [m.value for m in LoadMode],
                                 LoadMode.REPLACE.value),
        }
        params["importFileName"] = file_name(p.required_str(parameters, "importFileName"),
                                             "importFileName")
        if p.optional_str(parameters, "sourceType") is not None:
            params["sourceType"] = p.choice(parameters, "sourceType", [PLANNING, ESSBASE])
        if (cube := cube_parameter(parameters, CUBE_NAMES, required=False)) is not None:
            params["cube"] = cube
        params["delimiter"] = data_delimiter(parameters)
        if p.optional_str(parameters, "dateFormat") is not None:
            params["dateFormat"] = p.choice(parameters, "dateFormat", list(DATE_FORMATS))
        else:
            params["dateFormat"] = "MM-DD-YYYY"
        if (value := p.optional_str(parameters, "customMissingValue")) is not None:
            params["customMissingValue"] = value
        if (value := p.optional_str(parameters, "errorFile")) is not None:
            error_file = zip_name(value, "errorFile")
            params["errorFile"] = error_file if "/" in error_file else f"outbox/{error_file}"
        source = params.get("sourceType") or _source_type(params["importFileName"])
        if source == ESSBASE and "cube" not in params:
            raise InvalidJobParameter("Parameter cube is required for an Essbase-format "
                                      "import.")
        return params

    def run(self, ctx: JobContext) -> str | None:
        outline = refreshed_outline(ctx)
        mode = LoadMode(ctx.parameters["loadMode"])
        cubes: dict[str, CubeData] = {}
        results: list[tuple[str, DataLoad]] = []
        with _inputs(ctx) as inputs:
            for child_id, (name, path) in enumerate(inputs, start=1):
                ctx.check_cancelled()
                load = self._read(ctx, outline, name, path)
                results.append((name, load))
                self._record(ctx, child_id, name, load)
                self._apply(ctx, outline, load, mode, cubes)
        read = sum(r.records_read for _, r in results)
        rejected = sum(r.records_rejected for _, r in results)
        if ctx.parameters.get("errorFile"):
            publish_csv_zip(ctx, ctx.parameters["errorFile"], {
                f"{Path(n).stem}_errors.csv": r.error_rows() for n, r in results
                if r.rejections})
        for data in cubes.values():
            data.commit()
        if rejected:
            ctx.end_with_errors()
            return (f"Data import completed with errors: {rejected} of {read} records were "
                    "rejected.")
        return SUCCESS

    def _read(self, ctx: JobContext, outline: Outline, name: str, path: Path) -> DataLoad:
        params = ctx.parameters
        tokens = missing_tokens(params.get("customMissingValue"))
        try:
            if (params.get("sourceType") or _source_type(name)) == ESSBASE:
                model = model_for(ctx, params["cube"], outline)
                with path.open("rb") as stream:
                    return load_essbase(model, text_lines(stream, name), missing_tokens=tokens,
                                        stop_on_error=params["stopOnError"])
            return PlanningReader(outline, cube=params.get("cube"),
                                  delimiter=params["delimiter"], missing_tokens=tokens,
                                  date_format=params.get("dateFormat", "MM-DD-YYYY"),
                                  ).read(path, name)
        except DataFileError as exc:
            raise JobFailed(exc.message) from exc

    def _apply(self, ctx: JobContext, outline: Outline, load: DataLoad, mode: LoadMode,
               cubes: dict[str, CubeData]) -> None:
        for cube, (keys, values) in load.cells.items():
            if cube not in cubes:
                cubes[cube] = CubeData.load(ctx, model_for(ctx, cube, outline))
            data = cubes[cube]
            data.pending = data.pending.merge((keys, values), mode)
            ctx.info(f"Cube {cube}: {len(keys)} cells loaded.", CATEGORY)

    def _record(self, ctx: JobContext, child_id: int, name: str, load: DataLoad) -> None:
        status = JobStatus.ERROR if load.rejections else JobStatus.SUCCESS
        ctx.children.append(ChildJob(child_id, name, "IMPORT", status, load.records_read,
                                     load.records_processed, load.records_rejected))
        messages = [JobMessage(MessageType.ERROR, CATEGORY, f"Line {r.line}: {r.reason}",
                               r.line) for r in load.rejections[:MAX_MESSAGES_PER_FILE]]
        if len(load.rejections) > MAX_MESSAGES_PER_FILE:
            messages.append(JobMessage(MessageType.WARNING, CATEGORY, (
                f"{len(load.rejections) - MAX_MESSAGES_PER_FILE} more rejected records are "
                "listed in the error file only.")))
        ctx.child_messages[child_id] = messages
        ctx.info(f"{name}: {load.records_read} records read, {load.records_processed} "
                 f"processed, {load.records_rejected} rejected.", CATEGORY)


def _source_type(name: str) -> str:
    return ESSBASE if name.lower().endswith(".txt") else PLANNING


def _order(name: str) -> tuple[int, int, str]:
    """Multi-file ZIPs load in the order their names give: data1-3.csv, data2-3.csv, ..."""
    match = _PART.search(name)
    return (0, int(match.group(1)), name) if match else (1, 0, name)


@contextmanager
def _inputs(ctx: JobContext) -> Iterator[list[tuple[str, Path]]]:
    """The files to load as local paths (ZIP entries extracted to temporary files)."""
    files = ctx.stores.files
    resolved, handle = open_input(files, ctx.parameters["importFileName"])
    temporaries: list[Path] = []
    try:
        with handle:
            if not resolved.lower().endswith(".zip"):
                local = getattr(handle, "name", None)
                if isinstance(local, str) and Path(local).is_file():
                    found = [(resolved, Path(local))]
                else:
                    found = [(resolved, _copy(files.temporary(), handle, temporaries))]
            else:
                found = _extract(ctx, resolved, handle, temporaries)
        yield found
    finally:
        for path in temporaries:
            path.unlink(missing_ok=True)


def _copy(target: Path, source: Any, temporaries: list[Path]) -> Path:
    temporaries.append(target)
    with target.open("wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)
    return target


def _extract(ctx: JobContext, resolved: str, handle: Any,
             temporaries: list[Path]) -> list[tuple[str, Path]]:
    essbase = ctx.parameters.get("sourceType") == ESSBASE
    found = []
    try:
        with open_zip(handle) as archive:
            entries = sorted((e for e in archive.entries if e.name.lower().endswith(
                (".txt",) if essbase else (".csv", ".txt"))), key=lambda e: _order(e.name))
            for entry in entries:
                target = ctx.stores.files.temporary(Path(entry.name).suffix)
                temporaries.append(target)
                with target.open("wb") as out:
                    for chunk in archive.read_chunks(entry):
                        out.write(chunk)
                found.append((entry.name, target))
    except InvalidRequest as exc:
        raise JobFailed(f"The file {resolved} cannot be read: {exc.message}") from exc
    if not found:
        kind = "an Essbase-format .txt file" if essbase else "a .csv or .txt data file"
        raise JobFailed(f"The ZIP file {resolved} holds no {kind}.")
    return found
