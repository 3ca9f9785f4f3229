"""The two procrastinate tasks of epmjobs: run a job row, and recover from dead workers.

``run_job`` claims its row under a holder id unique to this run (``<worker>.<n>``), so a
result that comes back after the row was taken from it is dropped by the row's guard, and
runs it with the executor both runners share. It never fails in procrastinate's sense:
the row records the job's outcome, and procrastinate only learns "done", "try again in a
heartbeat" (the row is still held by a presumed-dead holder), or "handed back" (the
worker is shutting down and the job stopped before its end; it runs again elsewhere).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from typing import Any

from procrastinate import App
from procrastinate.exceptions import JobAborted
from procrastinate.job_context import AbortReason, JobContext

from epmjobs.jobs.execution import JobExecutor, Outcome
from epmjobs.jobs.runner import new_worker_id
from epmjobs.jobs.status import JobStatus
from epmjobs.storage import queuestore
from epmjobs.storage.jobstore import ReapResult
from epmjobs.system import System

log = logging.getLogger("epmjobs.worker")
RUNTIME = "epmjobs"  # the key of the Runtime in procrastinate's additional context
_HOLDER_BASE_MAX = 72  # jobs.worker_id holds 80 characters; ".<n>" follows


class Runtime:
    """What the tasks of one worker process share: the system, the executor, its name."""

    def __init__(self, system: System, name: str | None = None) -> None:
        self.system = system
        self.settings = system.settings
        self.jobs = system.stores.jobs
        self.executor = JobExecutor(system)
        base = f"{name}:{new_worker_id()}" if name else new_worker_id()
        self.worker_id = base[-_HOLDER_BASE_MAX:]
        self._runs = itertools.count(1)
        self._deferrer: App | None = None

    def run(self, context: JobContext, job_id: int) -> str:
        from epmjobs.jobs.distributed.queue import Busy

        holder = f"{self.worker_id}.{next(self._runs)}"
        claim = self.jobs.claim(job_id, holder, time.time())
        if claim.job is None:
            if claim.ended:
                return "the job had ended before it ran"
            raise Busy(f"job {job_id} is held elsewhere; trying again")
        outcome = self.executor.execute(
            claim.job, holder, self._cancel_check(context, job_id),
            handing_back=lambda: context.abort_reason() is AbortReason.SHUTDOWN)
        if outcome is Outcome.HANDED_BACK:
            log.info("job %s handed back: this worker is stopping", job_id,
                     extra={"job_id": job_id})
            raise JobAborted(f"job {job_id} handed back at shutdown")
        return str(outcome.value)

    def _cancel_check(self, context: JobContext, job_id: int) -> Callable[[], bool]:
        """Cancelled when procrastinate says abort (a cancel request, or this worker's
        shutdown), or, looked up at most once a heartbeat, when the row says 2."""
        looked = [0.0]

        def check() -> bool:
            if context.should_abort():
                return True
            now = time.monotonic()
            if now - looked[0] < self.settings.heartbeat_seconds:
                return False
            looked[0] = now
            return self.jobs.status(job_id) == JobStatus.CANCEL_PENDING
        return check

    # -- recovery ----------------------------------------------------------------------

    async def recover(self, app: App) -> str:
        """Give dead workers' tasks back to the queue, then recover their job rows."""
        stale = self.settings.stale_after_seconds
        retried = 0
        for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stale):
            try:
                await app.job_manager.retry_job(job)
                retried += 1
            except Exception as exc:  # another recovery got there first, or it just ended
                log.info("stalled task %s not retried: %s", job.id, exc)
        reaped, redispatched = await asyncio.to_thread(self.recover_rows)
        if retried or reaped.requeued or reaped.failed or reaped.cancelled or redispatched:
            log.warning("recovered: tasks retried=%s, jobs requeued=%s failed=%s "
                        "cancelled=%s, tasks re-deferred for %s", retried, reaped.requeued,
                        reaped.failed, reaped.cancelled, redispatched)
        return f"retried {retried}, reaped {len(reaped.requeued) + len(reaped.failed)}"

    def recover_rows(self) -> tuple[ReapResult, list[int]]:
        """Rows whose holder stopped heart-beating are queued again (their task was
        retried above) or failed after ``max_attempts``; queued rows without a task
        (it failed, or was removed by hand) get a new one."""
        from epmjobs.jobs.distributed.queue import build_app, defer

        if self._deferrer is None:  # deferring in our transaction needs an unopened app
            self._deferrer = build_app(self.settings)
        app = self._deferrer

        now = time.time()
        stale_before = now - self.settings.stale_after_seconds
        reaped = self.jobs.reap_stale(stale_before, self.settings.max_attempts, now)
        with self.system.db.transaction() as conn:
            lost = queuestore.orphans(conn, stale_before)
            for orphan in lost:
                defer(app, conn, orphan.job_id, orphan.job_type, orphan.lock_key)
        return reaped, [orphan.job_id for orphan in lost]


def run_job(context: JobContext, /, job_id: int) -> str:
    """procrastinate task ``epmjobs.run_job``: run the job row ``job_id``."""
    runtime: Runtime = context.additional_context[RUNTIME]
    return runtime.run(context, job_id)


async def recover(context: JobContext, /, timestamp: int, **_: Any) -> str:
    """procrastinate periodic task ``epmjobs.recover``."""
    runtime: Runtime = context.additional_context[RUNTIME]
    return await runtime.recover(context.app)
