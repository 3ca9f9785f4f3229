"""Transport faults the control API can inject on Oracle's paths.

Each fault answers (or delays) the next ``count`` requests that match it, oldest fault
first: a 503 as during Oracle's maintenance window, a 401 as if the caller's token had
expired, or a delay before the request is served as usual. A request takes at most one
fault. Our own paths (``/epmjobs/...``) and ``/openapi.json`` are never faulted.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from enum import StrEnum

from epmjobs.errors import InvalidRequest

ORACLE_PREFIXES = ("/HyperionPlanning/", "/interop/")
ORACLE_ROOTS = ("/HyperionPlanning/rest", "/interop/rest")
MAX_COUNT = 1_000_000
MAX_DELAY_SECONDS = 600.0
MAINTENANCE_TEXT = ("The service is unavailable: it is undergoing maintenance. "
                    "Try again later.")
TOKEN_EXPIRED_TEXT = "Invalid or expired token."


class FaultKind(StrEnum):
    MAINTENANCE = "maintenance"
    TOKEN_EXPIRED = "token_expired"
    DELAY = "delay"


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    count: int = 1
    seconds: float = 0.0  # delay: how long
    retry_after: int | None = None  # maintenance: the Retry-After header's seconds
    method: str | None = None
    path: str | None = None  # a regular expression searched in the request path

    @classmethod
    def of(cls, kind: str, count: int = 1, *, seconds: float | None = None,
           retry_after: int | None = None, method: str | None = None,
           path: str | None = None) -> Fault:
        try:
            parsed = FaultKind(kind)
        except ValueError as exc:
            raise InvalidRequest(f"Unknown fault kind {kind[:40]!r}: use maintenance, "
                                 "token_expired or delay.") from exc
        if not _integer(count, 1, MAX_COUNT):
            raise InvalidRequest(f"count must be an integer from 1 to {MAX_COUNT}.")
        if (seconds is None) != (parsed is not FaultKind.DELAY):
            raise InvalidRequest("seconds is required for a delay, and only for a delay.")
        if seconds is not None and (isinstance(seconds, bool)
                                    or not isinstance(seconds, int | float)
                                    or not 0 <= seconds <= MAX_DELAY_SECONDS):
            raise InvalidRequest(f"seconds must be from 0 to {MAX_DELAY_SECONDS:g}.")
        if retry_after is not None and (parsed is not FaultKind.MAINTENANCE
                                        or not _integer(retry_after, 0, 86400)):
            raise InvalidRequest("retryAfter is a whole number of seconds (0 to 86400), for "
                                 "maintenance only.")
        if path is not None:
            try:
                re.compile(path)
            except re.error as exc:
                raise InvalidRequest(f"path is not a valid regular expression: {exc}.") from exc
        return cls(parsed, count, float(seconds or 0.0), retry_after,
                   method.upper() if method else None, path)

    def matches(self, method: str, path: str) -> bool:
        return ((self.method is None or self.method == method)
                and (self.path is None or re.search(self.path, path) is not None))


def _integer(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def is_oracle_path(path: str) -> bool:
    return path.startswith(ORACLE_PREFIXES) or path in ORACLE_ROOTS


@dataclass
class _Pending:
    fault: Fault
    remaining: int


class Faults:
    """The faults still to be served, in the order they were added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[_Pending] = []

    @property
    def active(self) -> bool:
        return bool(self._pending)

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._pending.append(_Pending(fault, fault.count))

    def pending(self) -> list[tuple[Fault, int]]:
        with self._lock:
            return [(p.fault, p.remaining) for p in self._pending]

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """The fault this request meets, used up by one; None for most requests."""
        if not self._pending or not is_oracle_path(path):
            return None
        with self._lock:
            for pending in self._pending:
                if pending.fault.matches(method, path):
                    pending.remaining -= 1
                    if pending.remaining <= 0:
                        self._pending.remove(pending)
                    return pending.fault
        return None
