"""The embedded job runner: worker loops over the jobs table.

A worker claims the oldest queued job, heart-beats while it runs, and ends it in one
transaction together with the job's effects. Any worker also reaps jobs whose worker
stopped heart-beating (killed, crashed): those are queued again, up to
``max_attempts``, or ended with status 1 saying they were interrupted.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

from sqlalchemy import Connection

from epmjobs.errors import EpmJobsError, InvalidJobParameter, JobCancelled, JobFailed
from epmjobs.jobs.context import JobContext
from epmjobs.jobs.model import Job, JobMessage, MessageType
from epmjobs.jobs.status import JobStatus
from epmjobs.jobs.types import implementation, lookup
from epmjobs.jobs.wakeup import WakeupListener
from epmjobs.planning.application import Application
from epmjobs.system import System

log = logging.getLogger("epmjobs.worker")


class _NotOurs(Exception):
    """The job was reaped or ended by someone else while we ran it: drop our result."""


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


class Worker:
    def __init__(self, system: System, worker_id: str | None = None) -> None:
        self.system = system
        self.settings = system.settings
        self.jobs = system.stores.jobs
        self.worker_id = worker_id or new_worker_id()
        self._last_reap = 0.0
        self._heart = _Heart(self._beat, self.settings.heartbeat_seconds)
        self._apps: dict[str, tuple[float, Application]] = {}

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
        self._heart.follow(job.job_id)
        try:
            ctx, status, details, ran_to_end = self._run_handler(job)
        finally:
            self._heart.follow(None)
        try:
            self._commit(job, ctx, status, details, keep_effects=ran_to_end)
        finally:
            for cleanup in ctx.cleanups if ctx else ():
                try:
                    cleanup()
                except Exception:
                    log.exception("job %s: a clean-up failed", job.job_id)

    def _beat(self, job_id: int) -> None:
        try:
            self.jobs.heartbeat(job_id, self.worker_id, time.time())
        except Exception:  # a missed beat is survivable; the next one may pass
            log.exception("heartbeat failed for job %s", job_id)

    def _application(self, name: str) -> Application | None:
        """The job's application, remembered for a second (it is read for every job)."""
        now = time.monotonic()
        hit = self._apps.get(name)
        if hit is not None and hit[0] > now:
            return hit[1]
        app = self.system.stores.apps.get(name)
        if app is not None:
            self._apps[name] = (now + 1.0, app)
        return app

    def _run_handler(self, job: Job) -> tuple[JobContext | None, JobStatus, str | None, bool]:
        """(context, status, details, whether the handler returned normally)."""
        spec = lookup(job.job_type)
        impl = implementation(spec) if spec else None
        app = self._application(job.application)
        if impl is None or app is None:
            return None, JobStatus.ERROR, f"The job type {job.job_type} cannot run here.", False
        ctx = JobContext(job=job, application=app, parameters=dict(job.parameters),
                         stores=self.system.stores,
                         _is_cancelled=lambda: self.jobs.status(job.job_id)
                         == JobStatus.CANCEL_PENDING)
        try:
            details = impl.run(ctx)
            status = JobStatus.ERROR if ctx.completed_with_errors else JobStatus.SUCCESS
            return ctx, status, details, True
        except JobCancelled as exc:
            return ctx, JobStatus.CANCELLED, exc.message, False
        except InvalidJobParameter as exc:
            ctx.error(exc.message)
            return ctx, JobStatus.INVALID_PARAMETER, exc.message, False
        except (JobFailed, EpmJobsError) as exc:
            ctx.error(exc.message)
            return ctx, JobStatus.ERROR, exc.message, False
        except Exception as exc:
            log.exception("job %s (%s) failed unexpectedly", job.job_id, job.job_type)
            text = f"The job failed with an internal error: {type(exc).__name__}: {exc}"
            ctx.error(text)
            return ctx, JobStatus.ERROR, text, False

    def _commit(self, job: Job, ctx: JobContext | None, status: JobStatus, details: str | None,
                *, keep_effects: bool) -> None:
        """End the job; with ``keep_effects`` (its handler returned) its effects are applied
        in the same transaction, unless the job was cancelled meanwhile."""
        try:
            with self.system.db.transaction() as conn:
                written = self.jobs.finish(conn, job.job_id, self.worker_id, status, details,
                                           time.time())
                if written is None:
                    raise _NotOurs
                if ctx is not None:
                    if keep_effects and written is status:
                        for effect in ctx.effects:
                            effect(conn)
                    self._record(conn, job.job_id, ctx)
        except _NotOurs:
            log.warning("job %s was taken from worker %s; result dropped", job.job_id,
                        self.worker_id)
        except Exception as exc:
            log.exception("job %s: effects could not be committed", job.job_id)
            text = f"The job's changes could not be saved: {type(exc).__name__}: {exc}"
            with self.system.db.transaction() as conn:
                if self.jobs.finish(conn, job.job_id, self.worker_id, JobStatus.ERROR, text,
                                    time.time()) is not None:
                    self.jobs.add_messages(conn, job.job_id, 0,
                                           [JobMessage(MessageType.ERROR, "Job", text)])

    def _record(self, conn: Connection, job_id: int, ctx: JobContext) -> None:
        self.jobs.add_messages(conn, job_id, 0, ctx.messages)
        self.jobs.add_children(conn, job_id, ctx.children)
        for child_id, messages in ctx.child_messages.items():
            self.jobs.add_messages(conn, job_id, child_id, messages)


class _Heart:
    """One thread per worker that heart-beats whichever job the worker is running.

    Starting and joining a thread for every job cost about a millisecond a job. The
    thread ends after a few idle seconds and starts again with the next job. A beat that
    races a job's end is harmless: it is guarded by the worker id the final update clears.
    """

    _IDLE_EXIT = 5.0

    def __init__(self, beat: Callable[[int], None], interval: float) -> None:
        self._beat = beat
        self._interval = interval
        self._lock = threading.Lock()
        self._job: int | None = None
        self._since = 0.0
        self._thread: threading.Thread | None = None

    def follow(self, job_id: int | None) -> None:
        with self._lock:
            self._job, self._since = job_id, time.monotonic()
            if job_id is not None and self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="epmjobs-heartbeat")
                self._thread.start()

    def _run(self) -> None:
        idle_since = time.monotonic()
        while True:
            time.sleep(min(self._interval, 0.25))
            with self._lock:
                job, now = self._job, time.monotonic()
                if job is None:
                    if now - idle_since > self._IDLE_EXIT:
                        self._thread = None
                        return
                    continue
                idle_since = now
                if now - self._since < self._interval:
                    continue
                self._since = now
            self._beat(job)
