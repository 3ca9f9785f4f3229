"""EXPORT_JOB_CONSOLE: the job history as a CSV inside a ZIP (reference §4.18).

The CSV starts with a BOM, then the application identifier in double quotes on its own
line (unless ``excludeApplicationId``), then the header. Filters are EPM Automate's:
``nDays`` (all | 1 | 2 | 7 | 30 | 60, default 7), ``jobTypes`` (console codes or ``all``,
default RULES), ``jobStatusCodes`` (console status codes 1-9 or ``all``, default 2).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from epmjobs.errors import InvalidJobParameter
from epmjobs.jobs import parameters as p
from epmjobs.jobs.context import JobContext
from epmjobs.jobs.model import Job
from epmjobs.jobs.status import JobStatus
from epmjobs.jobs.types.catalog import CATALOG, lookup
from epmjobs.storage.files import normalise_name
from epmjobs.storage.jobstore import JobFilter

N_DAYS = ("all", "1", "2", "7", "30", "60")
# Console status codes (reference §3.3) and the job statuses each one covers.
CONSOLE_STATUS: dict[int, tuple[JobStatus, ...]] = {
    1: (JobStatus.RUNNING,), 2: (JobStatus.SUCCESS,),
    3: (JobStatus.ERROR, JobStatus.INVALID_PARAMETER), 4: (JobStatus.UNKNOWN,), 5: (),
    6: (JobStatus.CANCEL_PENDING,), 7: (JobStatus.CANCELLED,), 8: (), 9: (),
}
CONSOLE_LABEL = {1: "Processing", 2: "Completed", 3: "Failed", 4: "Unknown", 5: "Completed",
                 6: "Cancel Pending", 7: "Cancelled", 8: "Completed", 9: "Completed"}
# Console job codes Oracle lists that no epmjobs job type produces.
OTHER_CONSOLE_CODES = {"CLEAR_CELL_DETAILS", "COPY_DATA", "INVALID_INTERSECTION_RPT",
                       "COPY_VERSIONS", "CONTENT_UPGRADE", "SMART_PUSH"}
HEADER = ["Job ID", "Job Name", "Job Type", "Status", "Run By", "Start Time", "End Time",
          "Duration (s)"]
_PAGE = 1000


def console_code(status: JobStatus) -> int:
    return next(code for code, covered in CONSOLE_STATUS.items() if status in covered)


def application_identifier(app_name: str) -> str:
    """An opaque, stable identifier of the application (Oracle's is encrypted)."""
    digest = hashlib.sha256(f"epmjobs-application:{app_name.casefold()}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _job_types(raw: str | None) -> list[str]:
    if raw is None:
        return ["RULES"]
    if raw.strip() == "all":
        return ["all"]
    codes = []
    for part in (x.strip() for x in raw.split(",") if x.strip()):
        if part.upper() in OTHER_CONSOLE_CODES:
            codes.append(part.upper())
            continue
        spec = lookup(part)
        if spec is None:
            raise InvalidJobParameter(f"Invalid value '{part}' for parameter jobTypes.")
        codes.append(spec.console_code)
    return codes


def _status_codes(raw: str | None) -> list[int]:
    if raw is None:
        return [2]
    if raw.strip() == "all":
        return sorted(CONSOLE_STATUS)
    try:
        codes = [int(x) for x in raw.split(",") if x.strip()]
    except ValueError as exc:
        raise InvalidJobParameter(f"Invalid value '{raw}' for parameter jobStatusCodes; use "
                                  "codes 1-9 or all.") from exc
    if not codes or any(c not in CONSOLE_STATUS for c in codes):
        raise InvalidJobParameter(f"Invalid value '{raw}' for parameter jobStatusCodes; use "
                                  "codes 1-9 or all.")
    return codes


def _file_name(params: dict[str, Any]) -> str:
    raw = p.optional_str(params, "fileName") or p.optional_str(params, "exportFileName")
    if raw is None:
        raw = f"JobConsole_{datetime.now(UTC).strftime('%Y-%m-%d_%H-%M-%S')}.zip"
    if not raw.lower().endswith(".zip"):
        raw += ".zip"
    try:
        return normalise_name(raw)
    except Exception as exc:
        raise InvalidJobParameter(f"Invalid file name for the export: {raw}.") from exc


def _stamp(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


class ExportJobConsole:
    def validate(self, parameters: dict[str, Any]) -> dict[str, Any]:
        return {
            "fileName": _file_name(parameters),
            "nDays": p.choice(parameters, "nDays", N_DAYS, default="7"),
            "jobTypes": _job_types(p.optional_str(parameters, "jobTypes")),
            "jobStatusCodes": _status_codes(p.optional_str(parameters, "jobStatusCodes")),
            "exportErrorDetails": p.boolean(parameters, "exportErrorDetails", False),
            "excludeApplicationId": p.boolean(parameters, "excludeApplicationId", False),
        }

    def run(self, ctx: JobContext) -> str | None:
        params = ctx.parameters
        jobs = list(self._select(ctx))
        ctx.check_cancelled()
        files = ctx.stores.files
        temporary = files.temporary(".zip")
        ctx.on_finish(lambda: temporary.unlink(missing_ok=True))
        csv_name = params["fileName"].rsplit("/", 1)[-1][:-4] + ".csv"
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(csv_name, self._csv(ctx, jobs))
        name = params["fileName"]

        def publish(conn: Connection) -> None:
            files.publish(temporary, name)

        ctx.on_commit(publish)
        text = f"Exported {len(jobs)} job console records to {name}."
        ctx.info(text, category="Export Job Console")
        return text

    def _select(self, ctx: JobContext) -> Iterator[Job]:
        params = ctx.parameters
        types: tuple[str, ...] = ()
        if params["jobTypes"] != ["all"]:
            types = tuple(s.name for s in CATALOG if s.console_code in params["jobTypes"])
            if not types:
                return
        statuses = tuple(int(s) for c in params["jobStatusCodes"] for s in CONSOLE_STATUS[c])
        if not statuses:
            return
        since = None if params["nDays"] == "all" else time.time() - int(params["nDays"]) * 86400
        flt = JobFilter(application_id=ctx.application.application_id, job_types=types,
                        statuses=statuses, since=since)
        offset = 0
        while True:
            page = ctx.stores.jobs.search(flt, offset, _PAGE)
            yield from (j for j in page.items if j.job_id != ctx.job.job_id)
            if not page.has_more:
                return
            offset += _PAGE

    def _csv(self, ctx: JobContext, jobs: list[Job]) -> bytes:
        out = io.StringIO()
        out.write("\ufeff")
        if not ctx.parameters["excludeApplicationId"]:
            out.write(f'"{application_identifier(ctx.application.name)}"\r\n')
        writer = csv.writer(out)
        header = HEADER + (["Details"] if ctx.parameters["exportErrorDetails"] else [])
        writer.writerow(header)
        for job in jobs:
            spec = lookup(job.job_type)
            ended = job.ended_at
            row = [job.job_id, job.job_name or "", spec.console_code if spec else job.job_type,
                   CONSOLE_LABEL[console_code(job.status)], job.submitted_by,
                   _stamp(job.started_at), _stamp(ended),
                   "" if ended is None or job.started_at is None
                   else f"{ended - job.started_at:.3f}"]
            if ctx.parameters["exportErrorDetails"]:
                row.append((job.details or "") if job.status > 0 else "")
            writer.writerow(row)
        return out.getvalue().encode("utf-8")
