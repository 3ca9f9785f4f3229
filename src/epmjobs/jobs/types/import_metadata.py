"""IMPORT_METADATA: load dimension files into the working outline (reference §2, §4.6).

One child job per dimension, in load order (attribute dimensions first), each with its
counts and messages: a rejected record is an ERROR message carrying its line number, and the
load goes on with the next record. A file that cannot be loaded at all (encoding, header,
empty) fails its child only. A job-level problem (a missing or unsafe file, a ZIP with
nothing for the job) fails the job and changes nothing.

Status (decision D32): 0 with "Metadata import was successful" when every child loaded every
record; otherwise 1 with "One or more child jobs have failed", the records that were applied
being kept (they commit with the status, as Oracle keeps them), and no cube refresh.

Parameters: from the job definition ``dimensions`` (dimension -> file name, or
``{"fileName", "delimiter", "clearMembers"}``; absent: every dimension, from
``<Dimension>.csv``), ``delimiter``, ``clearMembers``, ``refreshCube``; from the request too
``importZipFileName``, the legacy ``importFileName``, ``refreshCube`` and ``errorFile`` (a ZIP
of the rejected records per dimension, written to ``outbox/``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from epmjobs.errors import InvalidRequest, JobFailed
from epmjobs.jobs import parameters as p
from epmjobs.jobs.context import JobContext
from epmjobs.jobs.model import ChildJob, JobMessage, MessageType
from epmjobs.jobs.status import JobStatus
from epmjobs.jobs.types import cube_refresh
from epmjobs.jobs.types.metadata_files import (
    DimensionFile,
    delimiter,
    dimension_files,
    file_name,
    match_entries,
    match_file,
    open_input,
    publish_zip,
    zip_name,
)
from epmjobs.planning.application import name_key
from epmjobs.planning.outline import LoadResult, Outline, load_metadata, load_order
from epmjobs.storage.outlinestore import StoredOutline
from epmjobs.storage.safezip import open_zip

CATEGORY = "Import Metadata"
SUCCESS = "Metadata import was successful"
CHILD_FAILED = "One or more child jobs have failed"


@dataclass(frozen=True)
class _Source:
    spec: DimensionFile
    file_name: str
    data: bytes | None = None
    problem: str | None = None  # why there is nothing to load


class ImportMetadata:
    def validate(self, parameters: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {
            "refreshCube": p.boolean(parameters, "refreshCube", False),
            "clearMembers": p.boolean(parameters, "clearMembers", False),
        }
        files = dimension_files(parameters)
        if files is not None:
            params["dimensions"] = [f.as_json() for f in files]
        if (d := delimiter(parameters.get("delimiter"), "", "delimiter")) is not None:
            params["delimiter"] = d
        for name in ("importZipFileName", "importFileName"):
            if (value := p.optional_str(parameters, name)) is not None:
                params[name] = file_name(value, name)
        if (value := p.optional_str(parameters, "errorFile")) is not None:
            error_file = zip_name(value, "errorFile")
            params["errorFile"] = error_file if "/" in error_file else f"outbox/{error_file}"
        return params

    def run(self, ctx: JobContext) -> str | None:
        stored = ctx.stores.outlines.working(ctx.application)
        outline = stored.outline
        results: list[LoadResult] = []
        for child_id, source in enumerate(self._sources(ctx, outline), start=1):
            ctx.check_cancelled()
            outline = self._load(ctx, child_id, source, outline, results)
        failed = any(c.status is not JobStatus.SUCCESS for c in ctx.children)
        details = CHILD_FAILED if failed else SUCCESS
        refresh = ctx.parameters["refreshCube"] and not failed
        if refresh:
            found, messages = cube_refresh.check(outline)
            ctx.messages.extend(messages)
            if found:
                refresh, failed = False, True
                details = f"{SUCCESS}, but the cube refresh failed: " \
                          f"{cube_refresh.failure_text(found)}"
            else:
                ctx.messages.extend(cube_refresh.compile_summary(outline))
        elif ctx.parameters["refreshCube"]:
            ctx.info("The cube was not refreshed: the metadata import was not successful.",
                     CATEGORY)
        if failed:
            ctx.end_with_errors()
        if ctx.parameters.get("errorFile"):
            publish_zip(ctx, ctx.parameters["errorFile"], {
                f"{r.dimension}_errors.csv": r.error_file() for r in results if r.rejections})
        self._save(ctx, stored, outline, refresh)
        return details

    # -- inputs -----------------------------------------------------------------------------

    def _wanted(self, ctx: JobContext, outline: Outline) -> list[DimensionFile]:
        params = ctx.parameters
        if "dimensions" in params:
            return [DimensionFile.from_json(d) for d in params["dimensions"]]
        return [DimensionFile(name, f"{name}.csv", params.get("delimiter"),
                              params["clearMembers"]) for name in load_order(outline)]

    def _sources(self, ctx: JobContext, outline: Outline) -> list[_Source]:
        wanted = self._wanted(ctx, outline)
        if not wanted:
            raise JobFailed(f"The application {ctx.application.name} has no dimensions to "
                            "load.")
        params = ctx.parameters
        archive = params.get("importZipFileName")
        single = params.get("importFileName")  # legacy; wins over a definition's ZIP
        if single is not None and single.lower().endswith(".zip"):
            archive, single = single, None
        if single is not None:
            found = self._from_file(ctx, single, wanted)
        elif archive is not None:
            found = self._from_zip(ctx, archive, wanted)
        else:
            found = {w.dimension: self._read(ctx, w) for w in wanted}
        order = {name_key(n): i for i, n in enumerate(load_order(outline))}
        sources = [s for w in wanted if (s := found.get(w.dimension)) is not None]
        return sorted(sources, key=lambda s: order.get(name_key(s.spec.dimension), len(order)))

    def _from_zip(self, ctx: JobContext, name: str,
                  wanted: list[DimensionFile]) -> dict[str, _Source]:
        resolved, handle = open_input(ctx.stores.files, name)
        try:
            with handle, open_zip(handle) as archive:
                entries = match_entries(archive, wanted)
                names = archive.names()
        except InvalidRequest as exc:
            raise JobFailed(f"The file {resolved} cannot be read: {exc.message}") from exc
        if not entries:
            expected = ", ".join(f"{w.file_name} or *_{w.dimension}.csv" for w in wanted[:8])
            raise JobFailed(f"The ZIP file {resolved} has no file for any dimension of this "
                            f"job (expected {expected}{', ...' if len(wanted) > 8 else ''}).")
        used = {entry for entry, _ in entries.values()}
        for entry in names:
            if entry not in used:
                ctx.warning(f"The ZIP entry {entry} matches no dimension of this job; it was "
                            "ignored.", CATEGORY)
        return {dim: _Source(next(w for w in wanted if w.dimension == dim), entry, data)
                for dim, (entry, data) in entries.items()}

    def _from_file(self, ctx: JobContext, name: str,
                   wanted: list[DimensionFile]) -> dict[str, _Source]:
        target = wanted[0] if len(wanted) == 1 else match_file(name, wanted)
        if target is None:
            raise JobFailed(f"The file {name} loads no dimension of this job: name it like the "
                            "job's file for the dimension or end it in _<Dimension>.csv.")
        source = self._read(ctx, DimensionFile(target.dimension, name, target.delimiter,
                                               target.clear_members))
        if source.problem:
            raise JobFailed(source.problem)
        return {target.dimension: _Source(target, source.file_name, source.data)}

    def _read(self, ctx: JobContext, spec: DimensionFile) -> _Source:
        try:
            resolved, handle = open_input(ctx.stores.files, spec.file_name)
        except JobFailed as exc:
            return _Source(spec, spec.file_name, problem=exc.message)
        with handle:
            return _Source(spec, resolved, handle.read())

    # -- one child --------------------------------------------------------------------------

    def _load(self, ctx: JobContext, child_id: int, source: _Source, outline: Outline,
              results: list[LoadResult]) -> Outline:
        spec = source.spec
        dimension = outline.dimension(spec.dimension)
        name = dimension.name if dimension is not None else spec.dimension
        problem = source.problem
        if problem is None and dimension is None:
            problem = f"The dimension {spec.dimension} does not exist in the application " \
                      f"{ctx.application.name}."
        if problem is None:
            assert source.data is not None
            try:
                outcome = load_metadata(outline, source.data, file_name=source.file_name,
                                        delimiter=spec.delimiter, dimension=name,
                                        clear_members=spec.clear_members)
            except InvalidRequest as exc:
                problem = exc.message
            else:
                self._record(ctx, child_id, outcome.result, source.file_name)
                results.append(outcome.result)
                return outcome.outline
        ctx.children.append(ChildJob(child_id, name, "IMPORT", JobStatus.ERROR))
        ctx.child_messages[child_id] = [JobMessage(MessageType.ERROR, CATEGORY, problem)]
        ctx.error(f"Dimension {name}: {problem}", CATEGORY)
        return outline

    def _record(self, ctx: JobContext, child_id: int, result: LoadResult, file: str) -> None:
        status = JobStatus.ERROR if result.rejections else JobStatus.SUCCESS
        ctx.children.append(ChildJob(child_id, result.dimension, "IMPORT", status,
                                     result.records_read, result.records_processed,
                                     result.records_rejected))
        messages = [JobMessage(MessageType.ERROR, CATEGORY, r.message, r.line)
                    for r in result.rejections]
        messages += [JobMessage(MessageType(str(m.severity)), CATEGORY, m.text)
                     for m in result.messages[len(result.rejections):]]
        ctx.child_messages[child_id] = messages
        ctx.info(f"Dimension {result.dimension} from {file}: {result.records_read} records "
                 f"read, {result.records_processed} processed, {result.records_rejected} "
                 "rejected.", CATEGORY)

    def _save(self, ctx: JobContext, stored: StoredOutline, outline: Outline,
              refresh: bool) -> None:
        outlines, app_id = ctx.stores.outlines, ctx.application.application_id
        if outline is stored.outline and not refresh:
            return

        def apply(conn: Connection) -> None:
            now = time.time()
            revision = stored.revision
            if outline is not stored.outline:
                revision = outlines.save(conn, app_id, outline, base=stored, now=now)
            if refresh:
                outlines.refresh(conn, app_id, revision, now)

        ctx.on_commit(apply)
