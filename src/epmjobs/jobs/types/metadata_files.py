"""The files of the metadata jobs: which file loads which dimension, reading inputs from the
repository, and writing ZIP outputs to publish with the job's end.

IMPORT_METADATA's job definition names a file per dimension (``dimensions``); a ZIP given
with ``importZipFileName`` overrides them, each entry loading the dimension whose configured
file name it has, or whose name it ends with (``..._Entity.csv``, reference §2.4). Entries
for dimensions the job does not configure are ignored.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from epmjobs.errors import InvalidJobParameter, InvalidRequest, JobFailed, NotFound
from epmjobs.jobs import parameters as p
from epmjobs.jobs.context import JobContext
from epmjobs.planning.application import name_key
from epmjobs.planning.outline.csvfile import resolve_delimiter
from epmjobs.storage.files import FileRepository, normalise_name
from epmjobs.storage.safezip import SafeZip

_SUFFIXES = (".csv", ".txt")


@dataclass(frozen=True)
class DimensionFile:
    """One dimension an import job loads, and how its file is read."""

    dimension: str
    file_name: str
    delimiter: str | None = None  # None: by the file's extension
    clear_members: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"dimension": self.dimension, "fileName": self.file_name,
                "delimiter": self.delimiter, "clearMembers": self.clear_members}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> DimensionFile:
        return cls(raw["dimension"], raw["fileName"], raw.get("delimiter"),
                   bool(raw.get("clearMembers")))


def file_name(value: str, parameter: str) -> str:
    """A repository name from a parameter, or InvalidJobParameter (status 4) saying why not."""
    try:
        return normalise_name(value)
    except InvalidRequest as exc:
        raise InvalidJobParameter(f"Invalid value for parameter {parameter}: {exc.message}") \
            from exc


def zip_name(value: str, parameter: str) -> str:
    return file_name(value if value.lower().endswith(".zip") else value + ".zip", parameter)


def delimiter(value: Any, file: str, parameter: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidJobParameter(f"Parameter {parameter} must be a string.")
    try:
        return resolve_delimiter(value, file)
    except InvalidRequest as exc:
        raise InvalidJobParameter(f"Invalid value for parameter {parameter}: {exc.message}") \
            from exc


def dimension_files(params: Mapping[str, Any]) -> list[DimensionFile] | None:
    """The ``dimensions`` of a definition: ``{"Entity": "Entity.csv", "Account": {"fileName":
    ..., "delimiter": ..., "clearMembers": ...}}``; None when absent (every dimension)."""
    raw = params.get("dimensions")
    if raw is None:
        return None
    if isinstance(raw, list):  # our own normalised form, when a job is re-validated
        raw = {d.get("dimension"): d for d in raw if isinstance(d, Mapping)}
    if not isinstance(raw, Mapping) or not raw:
        raise InvalidJobParameter("Parameter dimensions must be an object that maps dimension "
                                  "names to file names.")
    default_clear = p.boolean(params, "clearMembers", False)
    default_delimiter = params.get("delimiter")
    found = []
    for name, spec in raw.items():
        where = f"dimensions.{p.shown(name)}"
        if not isinstance(name, str) or not name.strip():
            raise InvalidJobParameter("Parameter dimensions has an empty dimension name.")
        settings = {"fileName": spec} if isinstance(spec, str) else spec
        if not isinstance(settings, Mapping) or not isinstance(settings.get("fileName"), str):
            raise InvalidJobParameter(f"Parameter {where} needs a fileName.")
        file = file_name(settings["fileName"], f"{where}.fileName")
        found.append(DimensionFile(
            name.strip(), file,
            delimiter(settings.get("delimiter", default_delimiter), file, f"{where}.delimiter"),
            p.boolean(settings, "clearMembers", default_clear)))
    return found


# -- reading inputs ---------------------------------------------------------------------------


def open_input(files: FileRepository, name: str) -> tuple[str, BinaryIO]:
    """An input file by the name a job was given: as is, else in ``inbox/``."""
    candidates = [name] if "/" in name else [name, f"inbox/{name}"]
    for candidate in candidates:
        try:
            return candidate, files.open(candidate)
        except NotFound:
            continue
    raise JobFailed(f"The file {name} does not exist in the file repository (nor in inbox/).")


def match_file(name: str, wanted: list[DimensionFile]) -> DimensionFile | None:
    """The wanted dimension a file loads: the one configured with its file name, else the
    one whose name it ends with (``_<dimension>.csv`` or ``.txt``; the longest wins)."""
    base = name_key(_base(name))
    best: DimensionFile | None = None
    for w in wanted:
        if name_key(_base(w.file_name)) == base:
            return w
        key = name_key(w.dimension)
        if any(base.endswith(f"_{key}{s}") or base == f"{key}{s}" for s in _SUFFIXES) and (
                best is None or len(w.dimension) > len(best.dimension)):
            best = w
    return best


def match_entries(archive: SafeZip, wanted: list[DimensionFile]) -> dict[str, tuple[str, bytes]]:
    """Dimension name -> (entry name, bytes) for the ZIP entries that load a wanted
    dimension (``match_file``); the first entry for a dimension is the one used."""
    found: dict[str, tuple[str, bytes]] = {}
    for entry in archive.entries:
        target = match_file(entry.name, wanted)
        if target is not None and target.dimension not in found:
            found[target.dimension] = (entry.name, archive.read_bytes(entry))
    return found


def _base(name: str) -> str:
    return name.rsplit("/", 1)[-1]


# -- writing outputs --------------------------------------------------------------------------


def publish_zip(ctx: JobContext, name: str, entries: Mapping[str, str]) -> None:
    """Write ``entries`` (name -> text, UTF-8) to a ZIP now; publish it as ``name`` in the
    job's final transaction; remove the temporary file however the job ends."""
    files = ctx.stores.files
    temporary: Path = files.temporary(".zip")
    ctx.on_finish(lambda: temporary.unlink(missing_ok=True))
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for entry, text in entries.items():
            zf.writestr(entry, text.encode("utf-8"))
    ctx.on_commit(lambda conn: _publish(files, temporary, name))


def _publish(files: FileRepository, temporary: Path, name: str) -> None:
    files.publish(temporary, name)
