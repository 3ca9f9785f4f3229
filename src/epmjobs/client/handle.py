"""A submitted job: poll it, wait for it with capped backoff, cancel it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from epmjobs.client.errors import ExtensionUnavailable, JobTimeout
from epmjobs.client.models import JobResult

if TYPE_CHECKING:
    from epmjobs.client.jobs import JobsMixin

OnPoll = Callable[[JobResult, float], None]
"""Called with the latest record and the seconds waited so far, after every poll."""


@dataclass(frozen=True)
class PollPolicy:
    """Delays between status polls: ``first``, then times ``factor``, at most ``cap``.

    The defaults poll a short job within a fraction of a second and a long one every ten
    seconds: tens of polls an hour, not Oracle's sample's 180 (20 s fixed) nor a busy loop.
    """

    first: float = 0.25
    factor: float = 1.6
    cap: float = 10.0

    def delays(self) -> Iterator[float]:
        delay = self.first
        while True:
            yield delay
            delay = min(self.cap, delay * self.factor)


class JobHandle:
    """A job that was submitted (or attached to by id)."""

    def __init__(self, client: JobsMixin, app: str, record: JobResult) -> None:
        self._client = client
        self.app = app
        self.last = record

    def __repr__(self) -> str:
        return (f"<JobHandle {self.app} job {self.job_id} "
                f"{self.last.descriptive_status} ({self.last.status})>")

    @property
    def job_id(self) -> int:
        return self.last.job_id

    @property
    def done(self) -> bool:
        """Whether the last known status is final (not -1 and not 2)."""
        return not self.last.running

    def poll(self) -> JobResult:
        """Fetch the job's status once (follows the record's ``self`` link)."""
        self.last = self._client.job_status(self.app, self.job_id, href=self.last.link("self"))
        return self.last

    def wait(self, timeout: float | None = None, *, cancel_on_timeout: bool = False,
             on_poll: OnPoll | None = None) -> JobResult:
        """Poll until the job ends and return its final record (whatever the outcome).

        ``timeout`` bounds the wait in seconds (None: until the job ends); when it passes,
        :class:`JobTimeout` is raised, after asking the server to cancel the job if
        ``cancel_on_timeout``. Check ``result.ok``, or call ``result.raise_for_status()``.
        """
        clock, sleep = self._client.clock, self._client.sleep
        start = clock()
        delays = self._client.poll_policy.delays()
        if on_poll is not None:
            on_poll(self.last, 0.0)
        while self.last.running:
            elapsed = clock() - start
            if timeout is not None and elapsed >= timeout:
                self._timed_out(timeout, cancel_on_timeout)
            delay = next(delays)
            if timeout is not None:
                delay = min(delay, timeout - elapsed)
            sleep(delay)
            self.poll()
            if on_poll is not None:
                on_poll(self.last, clock() - start)
        return self.last

    def cancel(self) -> JobResult:
        """Ask the server to cancel the job (an epmjobs extension: Oracle has none).

        Returns the job's record right after the request: status 3 when it was still
        queued, 2 (cancel pending) while a running job stops. Raises
        :class:`ExtensionUnavailable` against a server without the extension.
        """
        self.last = self._client.cancel_job(self.job_id)
        return self.last

    def _timed_out(self, timeout: float, cancel: bool) -> None:
        what = f"Job {self.job_id} did not end within {timeout:g} s " \
               f"(still {self.last.descriptive_status})"
        if not cancel:
            raise JobTimeout(f"{what}; it keeps running.", self.last)
        try:
            self.cancel()
        except ExtensionUnavailable:
            raise JobTimeout(f"{what}; this server cannot cancel jobs (Oracle's API has no "
                             "cancel), so it keeps running.", self.last) from None
        raise JobTimeout(f"{what}; it was asked to cancel.", self.last, cancelled=True)
