"""The records a job is made of, as the rest of the code sees them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from epmjobs.jobs.status import JobStatus


class MessageType(StrEnum):
    ERROR = "ERROR"
    WARNING = "WARNING"
    INFO = "INFO"


@dataclass(frozen=True)
class Job:
    job_id: int
    application: str
    job_type: str
    job_name: str | None
    parameters: dict[str, Any]
    status: JobStatus
    details: str | None
    submitted_by: str
    submitted_at: float
    started_at: float | None
    ended_at: float | None
    attempts: int

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal


@dataclass(frozen=True)
class JobMessage:
    msg_type: MessageType
    category: str
    text: str
    record_number: int | None = None


@dataclass(frozen=True)
class ChildJob:
    """A per-dimension (or per-file) part of a job, with its own counts and messages."""

    child_id: int
    name: str
    load_type: str
    status: JobStatus
    records_read: int = 0
    records_processed: int = 0
    records_rejected: int = 0


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a collection; ``total`` is None where counting would cost a scan."""

    items: list[T]
    offset: int
    limit: int
    has_more: bool
    total: int | None = None
