"""Oracle's wire shapes: the only place that knows camelCase names and link layouts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from epmjobs.jobs.model import ChildJob, Job, JobMessage, Page
from epmjobs.jobs.status import JobStatus
from epmjobs.planning.application import Application

PLANNING_ROOT = "/HyperionPlanning/rest"
EXTENSION_ROOT = "/epmjobs/v1"
PLANNING_VERSIONS = ("v1", "v2", "v3")
CURRENT_VERSION = "v3"
VERSION_ALIASES = frozenset({"v1", "v2", "v3", "11.1.2.3.600"})

DESCRIPTIVE_STATUS = {
    JobStatus.RUNNING: "Processing",
    JobStatus.SUCCESS: "Completed",
    JobStatus.ERROR: "Error",
    JobStatus.CANCEL_PENDING: "Cancel Pending",
    JobStatus.CANCELLED: "Cancelled",
    JobStatus.INVALID_PARAMETER: "Invalid Parameter",
    JobStatus.UNKNOWN: "Unknown",
}
_DEFAULT_DETAILS = {
    JobStatus.ERROR: "The job failed.",
    JobStatus.CANCEL_PENDING: "Cancel requested; the job is stopping.",
    JobStatus.CANCELLED: "The job was cancelled.",
    JobStatus.INVALID_PARAMETER: "The job has an invalid parameter.",
    JobStatus.UNKNOWN: "The job ended with an unknown status.",
}


def link(rel: str, href: str, action: str = "GET") -> dict[str, str]:
    return {"rel": rel, "href": href, "action": action}


def error_body(detail: str, http_status: int) -> dict[str, Any]:
    return {"detail": detail, "status": http_status}


# -- versions ---------------------------------------------------------------------------

def version_item(base: str, version: str) -> dict[str, Any]:
    index = PLANNING_VERSIONS.index(version)
    links = [link("canonical", f"{base}{PLANNING_ROOT}/{version}")]
    if index > 0:
        links.append(link("predecessor-version",
                          f"{base}{PLANNING_ROOT}/{PLANNING_VERSIONS[index - 1]}"))
    if index < len(PLANNING_VERSIONS) - 1:
        links.append(link("successor-version",
                          f"{base}{PLANNING_ROOT}/{PLANNING_VERSIONS[index + 1]}"))
    return {"version": version,
            "lifecycle": "active" if version == CURRENT_VERSION else "deprecated",
            "isLatest": version == CURRENT_VERSION, "links": links}


def versions(base: str) -> dict[str, Any]:
    return {"items": [version_item(base, v) for v in PLANNING_VERSIONS],
            "links": [link("self", f"{base}{PLANNING_ROOT}/")]}


# -- applications -----------------------------------------------------------------------

def application_item(app: Application, base: str) -> dict[str, Any]:
    return {
        "name": app.name, "type": "HP", "dpEnabled": False, "unicode": True,
        "appStorage": "Multidim", "appType": app.app_type,
        "webBotDetails": '{"channelId":"","serviceUri":""}',
        "helpServerUrl": "https://www.oracle.com", "workpaceServerUrl": base,
        "theme": "REDWOOD_ORACLE_R13", "adminMode": app.admin_mode, "hybrid": True,
        "oglApplicationId": "", "oglServerUrl": "https://guidedlearning.oracle.com",
    }


def applications(apps: list[Application], base: str, version: str) -> dict[str, Any]:
    return {"links": [link("self", f"{base}{PLANNING_ROOT}/{version}/applications/")],
            "items": [application_item(a, base) for a in apps], "type": "HP"}


def application(app: Application, base: str, version: str) -> dict[str, Any]:
    item = application_item(app, base)
    item["webBotAppId"] = ""
    item["links"] = [link("self", f"{base}{PLANNING_ROOT}/{version}/applications/{app.name}")]
    item["cubes"] = [{"name": c.name, "type": str(c.kind)} for c in app.cubes]
    return item


# -- jobs -------------------------------------------------------------------------------

def job_url(base: str, version: str, app: str, job_id: int) -> str:
    return f"{base}{PLANNING_ROOT}/{version}/applications/{app}/jobs/{job_id}"


def job_record(job: Job, base: str, version: str) -> dict[str, Any]:
    """The Retrieve Job Status resource (reference §3.1)."""
    url = job_url(base, version, job.application, job.job_id)
    details = job.details
    if details is None and job.status > 0:
        details = _DEFAULT_DETAILS.get(job.status, "")
    return {
        "status": int(job.status), "details": details, "jobId": job.job_id,
        "jobName": job.job_name, "descriptiveStatus": DESCRIPTIVE_STATUS[job.status],
        "links": [link("self", url), link("job-details", f"{url}/details")],
    }


def rejected_job(detail: str, job_name: str | None, status: JobStatus) -> dict[str, Any]:
    """A submission refused before it got an id (reference §3.4)."""
    return {"descriptiveStatus": DESCRIPTIVE_STATUS[status], "jobId": -1, "status": int(status),
            "details": detail, "jobName": job_name, "links": None}


def _paged(items: list[dict[str, Any]], page: Page[Any], self_url: str,
           query: str) -> dict[str, Any]:
    sep = "&" if query else ""
    links = [link("self", f"{self_url}?{query}{sep}offset={page.offset}&limit={page.limit}")]
    if page.has_more:
        links.append(link("next", f"{self_url}?{query}{sep}offset={page.offset + page.limit}"
                                  f"&limit={page.limit}"))
    if page.offset > 0:
        links.append(link("prev", f"{self_url}?{query}{sep}offset="
                                  f"{max(0, page.offset - page.limit)}&limit={page.limit}"))
    return {"items": items, "offset": page.offset, "limit": page.limit, "count": len(items),
            "totalResults": page.total, "hasMore": page.has_more, "links": links}


def message_item(message: JobMessage) -> dict[str, Any]:
    item: dict[str, Any] = {"msgType": str(message.msg_type), "msgCategory": message.category,
                            "msgText": message.text}
    if message.record_number is not None:
        item["recordNumber"] = message.record_number
    return item


def messages(page: Page[JobMessage], self_url: str, query: str) -> dict[str, Any]:
    return _paged([message_item(m) for m in page.items], page, self_url, query)


def children(page: Page[ChildJob], job_url_: str, self_url: str, query: str) -> dict[str, Any]:
    items = [{
        "childJobId": c.child_id, "dimensionName": c.name, "loadType": c.load_type,
        "status": int(c.status), "descriptiveStatus": DESCRIPTIVE_STATUS[c.status],
        "recordsRead": c.records_read, "recordsProcessed": c.records_processed,
        "recordsRejected": c.records_rejected,
        "links": [link("child-job-details", f"{job_url_}/childjobs/{c.child_id}/details")],
    } for c in page.items]
    return _paged(items, page, self_url, query)


def job_definitions(defs: list[Any], base: str, version: str, app: str) -> dict[str, Any]:
    return {
        "items": [{"jobType": d.job_type, "jobName": d.job_name, "planTypeName": d.plan_type,
                   "links": None} for d in defs],
        "type": "HP",
        "links": [link("self", f"{base}{PLANNING_ROOT}/{version}/applications/{app}"
                               "/jobdefinitions")],
    }


# -- our extensions ---------------------------------------------------------------------

def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def extended_job(job: Job, base: str) -> dict[str, Any]:
    """Our job view: the Oracle record plus who, when, what (never a changed Oracle field)."""
    record = job_record(job, base, CURRENT_VERSION)
    ext = f"{base}{EXTENSION_ROOT}/jobs/{job.job_id}"
    record.update({
        "application": job.application, "jobType": job.job_type,
        "parameters": job.parameters, "submittedBy": job.submitted_by,
        "submittedAt": iso(job.submitted_at), "startedAt": iso(job.started_at),
        "endedAt": iso(job.ended_at), "attempts": job.attempts,
    })
    record["links"] = [*record["links"], link("cancel", f"{ext}/cancel", "POST"),
                       link("wait", f"{ext}/wait")]
    return record


def job_list(page: Page[Job], base: str, query: str) -> dict[str, Any]:
    return _paged([extended_job(j, base) for j in page.items], page,
                  f"{base}{EXTENSION_ROOT}/jobs", query)
