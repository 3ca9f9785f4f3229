"""The embedded job runner: worker loops over the jobs table.

A worker claims the oldest queued job, heart-beats while it runs, and ends it in one
transaction together with the job's effects (``execution.py``). Any worker also reaps
jobs whose worker stopped heart-beating (killed, crashed): those are queued again, up to
``max_attempts``, or ended with status 1 saying they were interrupted.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable

from epmjobs.jobs.execution import JobExecutor
from epmjobs.jobs.model import Job
from epmjobs.jobs.wakeup import WakeupListener
from epmjobs.system import System

log = logging.getLogger("epmjobs.worker")


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


class Worker:
    def __init__(self, system: System, worker_id: str | None = None) -> None:
        self.system = system
        self.settings = system.settings
        self.jobs = system.stores.jobs
        self.worker_id = worker_id or new_worker_id()
        self._last_reap = 0.0
        self.executor = JobExecutor(system)

    # -- the loop ------------------------------------------------------------------

    def run(self, should_stop: Callable[[], bool]) -> None:
        listener = WakeupListener(self.system.run_dir, self.worker_id.replace(":", "-"))
        try:
            while not should_stop():
                self.maybe_reap()
                if not self.run_one():
                    listener.wait(self.settings.idle_poll_seconds)
        finally:
            listener.close()

    def run_one(self) -> bool:
        """Claim and run one job; False when there was none queued."""
        job = self.jobs.claim_next(self.worker_id, time.time())
        if job is None:
            return False
        self.execute(job)
        return True

    def drain(self) -> int:
        """Run queued jobs until none is left (tests, and `epmjobs worker --burst`)."""
        count = 0
        while self.run_one():
            count += 1
        return count

    def maybe_reap(self) -> None:
        now = time.time()
        if now - self._last_reap < self.settings.heartbeat_seconds:
            return
        self._last_reap = now
        self.reap(now - self.settings.stale_after_seconds)

    def reap(self, stale_before: float) -> None:
        result = self.jobs.reap_stale(stale_before, self.settings.max_attempts, time.time())
        if result.requeued or result.failed or result.cancelled:
            log.warning("recovered interrupted jobs: requeued=%s failed=%s cancelled=%s",
                        result.requeued, result.failed, result.cancelled)
            if result.requeued:
                self.system.bell.ring()

    # -- one job -------------------------------------------------------------------

    def execute(self, job: Job) -> None:
        self.executor.execute(job, self.worker_id)
