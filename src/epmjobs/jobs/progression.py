"""Job progression for the test double: what the status reads show of a job, and when.

A job really runs as soon as a worker takes it; a progression rule only governs what the
*status reads* show of it. A rule is bound to a job when it is submitted (the newest rule
that matches its application, type and name) and holds the job's visible status at -1
("Processing") until the rule lets go:

- ``immediate``: never held; each status poll waits (bounded) for the job's real end, so
  the first poll already answers the final status;
- ``after_polls`` N: the first N status polls answer -1, the next one waits for the end;
- ``after_seconds`` S: -1 until S seconds after the submission, then as ``immediate``;
- ``manual``: -1 until a control call advances the job, then as ``immediate``.

Only the Oracle status poll counts as a poll; every other read (our extensions' job, list
and wait) shows the same held view without counting. The state lives in this process.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, StrEnum

from epmjobs.jobs.model import Job
from epmjobs.jobs.status import JobStatus


class Mode(StrEnum):
    IMMEDIATE = "immediate"
    AFTER_POLLS = "after_polls"
    AFTER_SECONDS = "after_seconds"
    MANUAL = "manual"


class Verdict(Enum):
    """What a status poll of a job should do."""

    PASS = "pass"  # show the job as it is
    HOLD = "hold"  # show it as still processing
    RELEASE = "release"  # show its real end: wait (bounded) for it when it has not ended


@dataclass(frozen=True)
class JobMatch:
    """Which jobs a rule or a scripted outcome applies to; None matches anything.

    ``job_type`` is the canonical type; ``application`` and ``job_name`` are compared
    case-insensitively.
    """

    application: str | None = None
    job_type: str | None = None
    job_name: str | None = None

    def matches(self, application: str, job_type: str, job_name: str | None) -> bool:
        return ((self.job_type is None or self.job_type == job_type)
                and (self.application is None
                     or self.application.casefold() == application.casefold())
                and (self.job_name is None
                     or self.job_name.casefold() == (job_name or "").casefold()))


@dataclass(frozen=True)
class ProgressionRule:
    match: JobMatch
    mode: Mode
    polls: int = 0
    seconds: float = 0.0


@dataclass
class _Held:
    rule: ProgressionRule
    release_at: float  # on the progression's clock; after_seconds only
    polls: int = 0
    released: bool = False


def held_view(job: Job) -> Job:
    """The job as a held status read shows it: still processing, no end, no details."""
    if job.status is JobStatus.RUNNING and job.details is None:
        return job
    return dataclasses.replace(job, status=JobStatus.RUNNING, details=None, ended_at=None)


class Progression:
    """The rules, and the jobs bound to one. Thread-safe: the API's event loop reads it
    while control calls (in the thread pool, or a test's own thread) change it."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._rules: list[ProgressionRule] = []
        self._held: dict[int, _Held] = {}

    # -- rules -------------------------------------------------------------------------

    def add(self, rule: ProgressionRule) -> None:
        """Add a rule; it replaces an older one with the same match, and wins over the
        rest for jobs submitted from now on."""
        with self._lock:
            self._rules = [r for r in self._rules if r.match != rule.match] + [rule]

    def rules(self) -> list[ProgressionRule]:
        with self._lock:
            return list(self._rules)

    def held_jobs(self) -> list[int]:
        with self._lock:
            return sorted(job_id for job_id, held in self._held.items() if not held.released)

    def clear(self) -> None:
        """Forget every rule and every bound job (their reads show the truth again)."""
        with self._lock:
            self._rules.clear()
            self._held.clear()

    # -- jobs --------------------------------------------------------------------------

    def bind(self, job_id: int, application: str, job_type: str, job_name: str | None) -> None:
        """Bind a just-submitted job to the newest rule that matches it, if any."""
        if not self._rules:
            return
        with self._lock:
            for rule in reversed(self._rules):
                if rule.match.matches(application, job_type, job_name):
                    self._held[job_id] = _Held(rule, self._clock() + rule.seconds)
                    return

    def advance(self, job_id: int) -> bool:
        """Let a held job go (any mode); False when it is not held."""
        with self._lock:
            held = self._held.get(job_id)
            if held is None or held.released:
                return False
            held.released = True
            return True

    def visible(self, job: Job) -> Job:
        """The job as a read that does not count as a poll shows it."""
        if not self._held:
            return job
        with self._lock:
            held = self._held.get(job.job_id)
            if held is None or self._lets_go(held):
                return job
        return held_view(job)

    def on_poll(self, job_id: int) -> Verdict:
        """Count one status poll of the job and say what it should answer."""
        if not self._held:
            return Verdict.PASS
        with self._lock:
            held = self._held.get(job_id)
            if held is None:
                return Verdict.PASS
            if held.rule.mode is Mode.AFTER_POLLS and not held.released:
                if held.polls < held.rule.polls:
                    held.polls += 1
                    return Verdict.HOLD
                held.released = True
            return Verdict.RELEASE if self._lets_go(held) else Verdict.HOLD

    def ended(self, job_id: int) -> None:
        """A released job's final status was shown: it needs no tracking any more."""
        with self._lock:
            held = self._held.get(job_id)
            if held is not None and self._lets_go(held):
                del self._held[job_id]

    def _lets_go(self, held: _Held) -> bool:
        mode = held.rule.mode
        if held.released or mode is Mode.IMMEDIATE:
            return True
        if mode is Mode.AFTER_SECONDS and self._clock() >= held.release_at:
            held.released = True
            return True
        return False
