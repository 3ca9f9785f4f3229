"""What the test double's control API changes about jobs: progression and scripted outcomes.

A scripted outcome decides the fate of the next job(s) that match it, at submission:

- status 0: the job runs for real, as any other (a placeholder in a sequence of outcomes);
- status 1, 4 or 2147483647: the job is accepted (the client gets its id and -1) and ends
  at once with that status and the scripted ``details``, without doing its work — as a job
  that failed before changing anything;
- status 3: the job is accepted, then cancelled through the cancel path before any worker
  can take it (in the submission's own transaction, so no worker races the cancel).

Outcomes are consumed oldest first: scripting 1 then 0 for the same jobs makes the next
one fail and the one after succeed. The submission's own checks (type, definition,
parameters) still run first: a request the server would refuse is refused.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection

from epmjobs.errors import InvalidRequest
from epmjobs.jobs.model import JobMessage, MessageType
from epmjobs.jobs.parameters import shown
from epmjobs.jobs.progression import JobMatch, Progression
from epmjobs.jobs.status import JobStatus
from epmjobs.jobs.types import implementation, lookup
from epmjobs.storage.jobstore import JobStore

SCRIPTABLE = (JobStatus.SUCCESS, JobStatus.ERROR, JobStatus.CANCELLED,
              JobStatus.INVALID_PARAMETER, JobStatus.UNKNOWN)
CANCELLED_TEXT = "The job was cancelled before it started."
MAX_TIMES = 1_000_000


def job_match(application: str | None = None, job_type: str | None = None,
              job_name: str | None = None) -> JobMatch:
    """A match on the canonical job type; a type no job of which can be submitted is
    refused, since a rule for it could never apply."""
    canonical = None
    if job_type is not None:
        spec = lookup(job_type)
        if spec is None:
            raise InvalidRequest(f"Invalid job type: {shown(job_type)}.")
        if implementation(spec) is None:
            raise InvalidRequest(f"The job type {spec.name} is not supported by this epmjobs "
                                 "server yet: no job of it can be submitted.")
        canonical = spec.name
    for what, value in (("application", application), ("jobName", job_name)):
        if value is not None and not value.strip():
            raise InvalidRequest(f"{what} must not be empty.")
    return JobMatch(application and application.strip(), canonical,
                    job_name and job_name.strip())


@dataclass(frozen=True)
class ScriptedOutcome:
    match: JobMatch
    status: JobStatus
    details: str | None = None

    @classmethod
    def of(cls, match: JobMatch, status: int, details: str | None) -> ScriptedOutcome:
        if isinstance(status, bool) or status not in SCRIPTABLE:
            raise InvalidRequest(f"status {shown(status)} cannot be scripted: use 0, 1, 3, 4 "
                                 "or 2147483647.")
        if status == JobStatus.SUCCESS and details is not None:
            raise InvalidRequest("A successful job does its real work and writes its own "
                                 "details: do not script them.")
        if details is not None and len(details) > 4000:
            raise InvalidRequest("details must have at most 4000 characters.")
        return cls(match, JobStatus(status), details)

    @property
    def ends_at_submission(self) -> bool:
        return self.status is not JobStatus.SUCCESS


@dataclass
class _Script:
    outcome: ScriptedOutcome
    remaining: int


class JobControl:
    """Progression rules and scripted outcomes of one API process."""

    def __init__(self, jobs: JobStore, clock: Callable[[], float] = time.monotonic) -> None:
        self.jobs = jobs
        self.progression = Progression(clock)
        self._lock = threading.Lock()
        self._scripts: list[_Script] = []

    def script(self, outcome: ScriptedOutcome, times: int = 1) -> None:
        if isinstance(times, bool) or not 1 <= times <= MAX_TIMES:
            raise InvalidRequest(f"times must be an integer from 1 to {MAX_TIMES}.")
        with self._lock:
            self._scripts.append(_Script(outcome, times))

    def scripted(self) -> list[tuple[ScriptedOutcome, int]]:
        """The outcomes still to come, oldest first, with how many jobs each has left."""
        with self._lock:
            return [(s.outcome, s.remaining) for s in self._scripts]

    def clear_scripts(self) -> None:
        with self._lock:
            self._scripts.clear()

    def clear(self) -> None:
        self.clear_scripts()
        self.progression.clear()

    def take_outcome(self, application: str, job_type: str,
                     job_name: str | None) -> ScriptedOutcome | None:
        """The outcome of the job being submitted: the oldest matching script, used up."""
        if not self._scripts:
            return None
        with self._lock:
            for script in self._scripts:
                if script.outcome.match.matches(application, job_type, job_name):
                    script.remaining -= 1
                    if script.remaining <= 0:
                        self._scripts.remove(script)
                    return script.outcome
        return None

    def end_at_submission(self, conn: Connection, job_id: int, outcome: ScriptedOutcome,
                          now: float) -> None:
        """End a just-inserted job as scripted, in the transaction that inserted it."""
        details = outcome.details
        if outcome.status is JobStatus.CANCELLED:
            details = details or CANCELLED_TEXT  # what the cancel path says of a queued job
        self.jobs.finish(conn, job_id, None, outcome.status, details, now)
        if details is not None and outcome.status is not JobStatus.CANCELLED:
            self.jobs.add_messages(conn, job_id, 0,
                                   [JobMessage(MessageType.ERROR, "Job", details)])
