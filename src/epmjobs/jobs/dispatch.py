"""How a submitted job reaches a runner: the seam between submitting and running.

The job service inserts the job row and calls ``dispatch`` inside the same transaction,
then ``wake`` after the commit:

- embedded (SQLite, or ``EPMJOBS_RUNNER=embedded``): the jobs table is the queue, so
  dispatching is nothing and ``wake`` rings the idle workers' wake-up sockets;
- distributed (PostgreSQL): ``dispatch`` defers a procrastinate task in the job's own
  transaction, so a job row never exists without its task, nor a task without its row.

``cancel`` is called after a cancel request was saved (the job is 3 or 2): the distributed
runner also aborts the procrastinate task, so its worker stops without waiting to look.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Connection

from epmjobs.jobs.wakeup import WakeupBell

if TYPE_CHECKING:
    from epmjobs.system import System


class Dispatcher(Protocol):
    def dispatch(self, conn: Connection, job_id: int, job_type: str,
                 lock_key: str | None) -> None: ...
    def wake(self) -> None: ...
    def cancel(self, job_id: int) -> None: ...


class EmbeddedDispatcher:
    """The jobs table is the queue: workers claim rows themselves."""

    def __init__(self, bell: WakeupBell) -> None:
        self.bell = bell

    def dispatch(self, conn: Connection, job_id: int, job_type: str,
                 lock_key: str | None) -> None:
        return None

    def wake(self) -> None:
        self.bell.ring()

    def cancel(self, job_id: int) -> None:
        return None  # a running job sees its status 2 at its next cancel check


def make_dispatcher(system: System) -> Dispatcher:
    """The dispatcher of the runner the settings choose."""
    if system.settings.resolved_runner == "procrastinate":
        from epmjobs.jobs.distributed.queue import ProcrastinateDispatcher

        return ProcrastinateDispatcher(system)
    return EmbeddedDispatcher(system.bell)
