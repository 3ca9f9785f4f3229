"""What a running job handler sees: its job, its parameters, and a way to say things.

A handler reads what it needs, computes, and registers its writes with ``on_commit``.
The runner then applies those writes and the job's terminal status in one transaction,
so a job's effects commit together with its end, or not at all (design.md invariant 3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from epmjobs.errors import JobCancelled
from epmjobs.jobs.model import ChildJob, Job, JobMessage, MessageType
from epmjobs.jobs.status import JobStatus
from epmjobs.planning.application import Application

if TYPE_CHECKING:
    from epmjobs.system import Stores

Effect = Callable[[Connection], None]


@dataclass
class JobContext:
    job: Job
    application: Application
    parameters: dict[str, Any]
    stores: Stores
    _is_cancelled: Callable[[], bool]
    messages: list[JobMessage] = field(default_factory=list)
    children: list[ChildJob] = field(default_factory=list)
    child_messages: dict[int, list[JobMessage]] = field(default_factory=dict)
    effects: list[Effect] = field(default_factory=list)
    cleanups: list[Callable[[], None]] = field(default_factory=list)
    completed_with_errors: bool = False

    def info(self, text: str, category: str = "Job") -> None:
        self.messages.append(JobMessage(MessageType.INFO, category, text))

    def warning(self, text: str, category: str = "Job") -> None:
        self.messages.append(JobMessage(MessageType.WARNING, category, text))

    def error(self, text: str, category: str = "Job", record_number: int | None = None) -> None:
        self.messages.append(JobMessage(MessageType.ERROR, category, text, record_number))

    def on_commit(self, effect: Effect) -> None:
        """Register a write to apply in the job's final transaction (when the handler returns
        normally: success, or ``end_with_errors``; never after an exception or a cancel)."""
        self.effects.append(effect)

    def end_with_errors(self) -> None:
        """End with status 1 although the job ran to its end: its effects still commit, with
        that status (Oracle's "Completed with Errors": a metadata load keeps the records it
        applied and reports the ones it rejected)."""
        self.completed_with_errors = True

    def on_finish(self, cleanup: Callable[[], None]) -> None:
        """Register a clean-up (e.g. removing a temporary file) to run however the job ends."""
        self.cleanups.append(cleanup)

    def check_cancelled(self) -> None:
        """Call between units of work: raises JobCancelled once a cancel was requested."""
        if self._is_cancelled():
            raise JobCancelled("The job was cancelled.")


@dataclass(frozen=True)
class Outcome:
    status: JobStatus
    details: str | None
