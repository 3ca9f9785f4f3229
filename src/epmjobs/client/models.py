"""What the client returns: small frozen records parsed from Oracle's JSON.

Each keeps the server's JSON in ``raw``, so fields Oracle adds later stay reachable.
Parsing is lenient about extra keys and strict about the few the client relies on:
a job record without an integer ``status`` is an :class:`UnexpectedResponse`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from epmjobs.client.errors import JobCancelled, JobFailed, UnexpectedResponse


class Status(IntEnum):
    """Oracle's numeric job status (reference §3.2)."""

    PROCESSING = -1
    COMPLETED = 0
    ERROR = 1
    CANCEL_PENDING = 2
    CANCELLED = 3
    INVALID_PARAMETER = 4
    UNKNOWN = 2147483647


def is_running(status: int) -> bool:
    """-1 (processing) and 2 (cancel pending) mean: keep polling. Anything else ended."""
    return status in (Status.PROCESSING, Status.CANCEL_PENDING)


@dataclass(frozen=True)
class Link:
    rel: str
    href: str
    action: str = "GET"


def links_of(data: Mapping[str, Any]) -> tuple[Link, ...]:
    found = []
    for item in data.get("links") or ():
        if isinstance(item, dict) and isinstance(item.get("href"), str):
            found.append(Link(str(item.get("rel", "")), item["href"],
                              str(item.get("action") or "GET")))
    return tuple(found)


def _int(data: Mapping[str, Any], key: str, what: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise UnexpectedResponse(f"The {what} has no integer {key!r}: {dict(data)!r:.200}")
    return value


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class JobResult:
    """A job as the server last reported it (Oracle's job record, reference §3.1)."""

    job_id: int
    status: int
    descriptive_status: str
    details: str | None
    job_name: str | None
    links: tuple[Link, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """True when the job completed successfully (status 0)."""
        return self.status == Status.COMPLETED

    @property
    def running(self) -> bool:
        return is_running(self.status)

    def link(self, rel: str) -> str | None:
        return next((x.href for x in self.links if x.rel == rel), None)

    def raise_for_status(self) -> JobResult:
        """Return self if the job completed; raise JobFailed / JobCancelled if it did not."""
        if self.ok or self.running:
            return self
        text = self.details or self.descriptive_status
        if self.status == Status.CANCELLED:
            raise JobCancelled(f"Job {self.job_id} was cancelled: {text}", self)
        raise JobFailed(f"Job {self.job_id} ended with {self.descriptive_status} "
                        f"(status {self.status}): {text}", self)

    @classmethod
    def from_json(cls, data: Any) -> JobResult:
        if not isinstance(data, dict):
            raise UnexpectedResponse(f"Expected a job record, got {data!r:.200}")
        status = _int(data, "status", "job record")
        details = data.get("details")
        return cls(
            job_id=_int(data, "jobId", "job record"), status=status,
            descriptive_status=str(data.get("descriptiveStatus") or _label(status)),
            details=details.rstrip() if isinstance(details, str) else None,
            job_name=_opt_str(data.get("jobName")), links=links_of(data), raw=data)


def _label(status: int) -> str:
    try:
        return Status(status).name.replace("_", " ").title()
    except ValueError:
        return f"Status {status}"


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True)
class ExtendedJob(JobResult):
    """epmjobs' extended job view: the Oracle record plus who, what and when."""

    application: str | None = None
    job_type: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    submitted_by: str | None = None
    submitted_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    attempts: int = 0

    @classmethod
    def from_json(cls, data: Any) -> ExtendedJob:
        base = JobResult.from_json(data)
        params = data.get("parameters")
        return cls(
            job_id=base.job_id, status=base.status, descriptive_status=base.descriptive_status,
            details=base.details, job_name=base.job_name, links=base.links, raw=data,
            application=_opt_str(data.get("application")),
            job_type=_opt_str(data.get("jobType")),
            parameters=params if isinstance(params, dict) else {},
            submitted_by=_opt_str(data.get("submittedBy")),
            submitted_at=_timestamp(data.get("submittedAt")),
            started_at=_timestamp(data.get("startedAt")),
            ended_at=_timestamp(data.get("endedAt")),
            attempts=int(data.get("attempts") or 0))


@dataclass(frozen=True)
class ApiVersion:
    version: str
    lifecycle: str
    is_latest: bool

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ApiVersion:
        latest = data.get("isLatest", data.get("latest"))
        return cls(str(data.get("version", "")), str(data.get("lifecycle", "")),
                   latest is True)


@dataclass(frozen=True)
class Application:
    name: str
    app_type: str | None
    admin_mode: bool
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Application:
        return cls(str(data.get("name", "")), _opt_str(data.get("appType")),
                   data.get("adminMode") is True, data)


@dataclass(frozen=True)
class JobDefinition:
    job_type: str
    job_name: str
    plan_type: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobDefinition:
        return cls(str(data.get("jobType", "")), str(data.get("jobName", "")),
                   _opt_str(data.get("planTypeName")))


@dataclass(frozen=True)
class JobDetail:
    """One item of a job's details: a message, or a child job's load summary."""

    msg_type: str | None = None
    msg_category: str | None = None
    msg_text: str | None = None
    record_number: int | None = None
    child_job_id: int | None = None
    dimension_name: str | None = None
    load_type: str | None = None
    status: int | None = None
    records_read: int | None = None
    records_processed: int | None = None
    records_rejected: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobDetail:
        def num(key: str) -> int | None:
            value = data.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        return cls(
            msg_type=_opt_str(data.get("msgType")), msg_category=_opt_str(data.get("msgCategory")),
            msg_text=_opt_str(data.get("msgText")), record_number=num("recordNumber"),
            child_job_id=num("childJobId"), dimension_name=_opt_str(data.get("dimensionName")),
            load_type=_opt_str(data.get("loadType")), status=num("status"),
            records_read=num("recordsRead"), records_processed=num("recordsProcessed"),
            records_rejected=num("recordsRejected"), raw=data)


@dataclass(frozen=True)
class RemoteFile:
    """A file of the environment's repository (Inbox/Outbox), as the file API lists it."""

    name: str
    type: str
    size: int | None
    modified: datetime | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RemoteFile:
        size, stamp = str(data.get("size")), str(data.get("lastmodifiedtime"))
        return cls(
            str(data.get("name", "")), str(data.get("type", "")),
            int(size) if size.isdigit() else None,
            datetime.fromtimestamp(int(stamp) / 1000, UTC) if stamp.isdigit() else None)
