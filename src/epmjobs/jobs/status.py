"""A job's status. The integers are Oracle's, so they persist and travel unchanged."""

from __future__ import annotations

from enum import IntEnum


class JobStatus(IntEnum):
    RUNNING = -1
    SUCCESS = 0
    ERROR = 1
    CANCEL_PENDING = 2
    CANCELLED = 3
    INVALID_PARAMETER = 4
    UNKNOWN = 2147483647

    @property
    def is_terminal(self) -> bool:
        return self not in (JobStatus.RUNNING, JobStatus.CANCEL_PENDING)


ACTIVE_STATUSES = frozenset(s for s in JobStatus if not s.is_terminal)
