"""Files of the data jobs: the delimiter parameter, and ZIP outputs of CSV rows written to
a temporary file now and published with the job's end."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from epmjobs.errors import InvalidJobParameter
from epmjobs.jobs import parameters as p
from epmjobs.jobs.context import JobContext
from epmjobs.storage.files import FileRepository

DELIMITERS = {"comma": ",", ",": ",", "tab": "\t", "\t": "\t"}


def data_delimiter(parameters: Mapping[str, Any], name: str = "delimiter") -> str:
    value = parameters.get(name)
    if value is None or value == "":
        return ","
    if not isinstance(value, str) or (value.strip().lower() not in DELIMITERS and \
            value not in DELIMITERS):
        raise InvalidJobParameter(f"Invalid value '{p.shown(value)}' for parameter {name}; "
                                  "allowed values: comma, tab.")
    return DELIMITERS.get(value, DELIMITERS.get(value.strip().lower(), ","))


def publish_csv_zip(ctx: JobContext, name: str, entries: Mapping[str, Iterable[list[str]]],
                    delimiter: str = ",") -> None:
    """Write each entry's rows as CSV into a ZIP now; publish it as ``name`` with the job's
    end; remove the temporary file however the job ends."""
    temporary = new_temporary(ctx, ".zip")
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for entry, rows in entries.items():
            with zf.open(entry, "w") as raw, io.TextIOWrapper(raw, "utf-8", newline="") as out:
                csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    publish_on_commit(ctx, temporary, name)


def new_temporary(ctx: JobContext, suffix: str) -> Path:
    temporary: Path = ctx.stores.files.temporary(suffix)
    ctx.on_finish(lambda: temporary.unlink(missing_ok=True))
    return temporary


def publish_on_commit(ctx: JobContext, temporary: Path, name: str) -> None:
    files = ctx.stores.files
    ctx.on_commit(lambda conn: _publish(files, temporary, name))


def _publish(files: FileRepository, temporary: Path, name: str) -> None:
    files.publish(temporary, name)
