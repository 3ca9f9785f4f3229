"""EXPORT_METADATA: the working outline as one CSV per dimension in a ZIP (reference §2.3,
§4.7), re-importable as is: export, then IMPORT_METADATA of the same ZIP into an application
with the same dimensions, reproduces the outline exactly.

Parameters: ``exportZipFileName`` (default ``<jobName>.zip``; ``.zip`` is appended when
missing), and from the job definition ``dimensions`` (a list of names; default: every
dimension, attribute dimensions first). Entries are named ``ExportedMetadata_<Dimension>.csv``
(Oracle prefixes the user's name; the ``_<Dimension>.csv`` ending is what imports match).
One child job per dimension counts the records written.
"""

from __future__ import annotations

from typing import Any

from epmjobs.errors import InvalidJobParameter, JobFailed
from epmjobs.jobs import parameters as p
from epmjobs.jobs.context import JobContext
from epmjobs.jobs.model import ChildJob, JobMessage, MessageType
from epmjobs.jobs.status import JobStatus
from epmjobs.jobs.types.metadata_files import publish_zip, zip_name
from epmjobs.planning.outline import Outline, export_dimension, load_order
from epmjobs.planning.outline.model import default_properties

CATEGORY = "Export Metadata"
SUCCESS = "Metadata export was successful"
ENTRY_PREFIX = "ExportedMetadata_"


def exported_records(outline: Outline, name: str) -> int:
    """The records of a dimension's export file: its members, and the dimension member when
    its properties are not those of a new dimension."""
    dim = outline.require(name)
    root = dim.root.props != default_properties(dim.type, len(outline.cubes))
    return len(dim) - 1 + int(root)


class ExportMetadata:
    def validate(self, parameters: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if (value := p.optional_str(parameters, "exportZipFileName")) is not None:
            params["exportZipFileName"] = zip_name(value, "exportZipFileName")
        dims = parameters.get("dimensions")
        if dims is not None:
            if isinstance(dims, str):
                dims = [d.strip() for d in dims.split(",") if d.strip()]
            if not isinstance(dims, list) or not dims or not all(
                    isinstance(d, str) and d.strip() for d in dims):
                raise InvalidJobParameter("Parameter dimensions must be a list of dimension "
                                          "names.")
            params["dimensions"] = [d.strip() for d in dims]
        return params

    def run(self, ctx: JobContext) -> str | None:
        outline = ctx.stores.outlines.working(ctx.application).outline
        names = self._dimensions(ctx, outline)
        target = ctx.parameters.get("exportZipFileName") or zip_name(
            ctx.job.job_name or "ExportMetadata", "jobName")
        entries: dict[str, str] = {}
        for child_id, name in enumerate(names, start=1):
            ctx.check_cancelled()
            entries[f"{ENTRY_PREFIX}{name}.csv"] = export_dimension(outline, name)
            count = exported_records(outline, name)
            ctx.children.append(ChildJob(child_id, name, "EXPORT", JobStatus.SUCCESS, count,
                                         count, 0))
            ctx.child_messages[child_id] = [JobMessage(
                MessageType.INFO, CATEGORY,
                f"Dimension {name}: {count} records exported to {ENTRY_PREFIX}{name}.csv.")]
        publish_zip(ctx, target, entries)
        ctx.info(f"Exported {len(names)} dimensions to {target}.", CATEGORY)
        return SUCCESS

    def _dimensions(self, ctx: JobContext, outline: Outline) -> list[str]:
        wanted = ctx.parameters.get("dimensions")
        if wanted is None:
            names = load_order(outline)
            if not names:
                raise JobFailed(f"The application {ctx.application.name} has no dimensions "
                                "to export.")
            return names
        found = []
        for name in wanted:
            dim = outline.dimension(name)
            if dim is None:
                raise JobFailed(f"The dimension {name} does not exist in the application "
                                f"{ctx.application.name}.")
            found.append(dim.name)
        return found
