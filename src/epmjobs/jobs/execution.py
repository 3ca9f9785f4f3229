"""Running one claimed job: its handler, its heartbeat, and its final transaction.

Both runners use this: the embedded one (``runner.py``, a loop over the jobs table) and
the distributed one (``distributed/``, procrastinate tasks). A job's effects and its
terminal status commit in one transaction, guarded by the id of the holder that claimed
it, so a holder that was presumed dead and comes back late changes nothing (D18, D19).
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import Connection

from epmjobs.errors import EpmJobsError, InvalidJobParameter, JobCancelled, JobFailed
from epmjobs.jobs.context import JobContext
from epmjobs.jobs.model import Job, JobMessage, MessageType
from epmjobs.jobs.status import JobStatus
from epmjobs.jobs.types import implementation, lookup
from epmjobs.planning.application import Application
from epmjobs.system import System

log = logging.getLogger("epmjobs.worker")


class Outcome(enum.Enum):
    COMMITTED = "committed"  # the job ended: its status (and effects) are saved
    DROPPED = "dropped"  # the job was no longer ours (reaped, ended): nothing saved
    HANDED_BACK = "handed back"  # stopped for a shutdown: queued again, nothing saved


class _NotOurs(Exception):
    """The job was reaped or ended by someone else while we ran it: drop our result."""


class JobExecutor:
    """Runs claimed jobs of one process; any number at once (one per thread)."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.jobs = system.stores.jobs
        self.heart = Heart(self._beat, system.settings.heartbeat_seconds)
        self._apps: dict[str, tuple[float, Application]] = {}
        self._apps_lock = threading.Lock()

    def execute(self, job: Job, holder: str, is_cancelled: Callable[[], bool] | None = None,
                handing_back: Callable[[], bool] | None = None) -> Outcome:
        """Run ``job`` (claimed by ``holder``) to its end.

        ``is_cancelled`` replaces the default cancel check (the job's status is 2);
        ``handing_back`` says, once the handler stopped on a cancel check, that the stop
        was a shutdown: the job is then queued again instead of ended.
        """
        self.heart.follow(job.job_id, holder)
        try:
            ctx, status, details, ran_to_end = self._run_handler(job, is_cancelled)
        finally:
            self.heart.drop(job.job_id)
        try:
            if (status is JobStatus.CANCELLED and handing_back is not None and handing_back()
                    and self.jobs.status(job.job_id) != JobStatus.CANCEL_PENDING):
                self.jobs.release(job.job_id, holder)
                return Outcome.HANDED_BACK
            return self._commit(job, holder, ctx, status, details, keep_effects=ran_to_end)
        finally:
            for cleanup in ctx.cleanups if ctx else ():
                try:
                    cleanup()
                except Exception:
                    log.exception("job %s: a clean-up failed", job.job_id)

    def _beat(self, held: list[tuple[int, str]]) -> None:
        try:
            self.jobs.heartbeat_many(held, time.time())
        except Exception:  # a missed beat is survivable; the next one may pass
            log.exception("heartbeat failed for jobs %s", [job_id for job_id, _ in held])

    def _application(self, name: str) -> Application | None:
        """The job's application, remembered for a second (it is read for every job)."""
        now = time.monotonic()
        with self._apps_lock:
            hit = self._apps.get(name)
        if hit is not None and hit[0] > now:
            return hit[1]
        app = self.system.stores.apps.get(name)
        if app is not None:
            with self._apps_lock:
                self._apps[name] = (now + 1.0, app)
        return app

    def _run_handler(self, job: Job, is_cancelled: Callable[[], bool] | None,
                     ) -> tuple[JobContext | None, JobStatus, str | None, bool]:
        """(context, status, details, whether the handler returned normally)."""
        spec = lookup(job.job_type)
        impl = implementation(spec) if spec else None
        app = self._application(job.application)
        if impl is None or app is None:
            return None, JobStatus.ERROR, f"The job type {job.job_type} cannot run here.", False
        check = is_cancelled or (
            lambda: self.jobs.status(job.job_id) == JobStatus.CANCEL_PENDING)
        ctx = JobContext(job=job, application=app, parameters=dict(job.parameters),
                         stores=self.system.stores, _is_cancelled=check)
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
            log.exception("job %s (%s) failed unexpectedly", job.job_id, job.job_type,
                          extra={"job_id": job.job_id})
            text = f"The job failed with an internal error: {type(exc).__name__}: {exc}"
            ctx.error(text)
            return ctx, JobStatus.ERROR, text, False

    def _commit(self, job: Job, holder: str, ctx: JobContext | None, status: JobStatus,
                details: str | None, *, keep_effects: bool) -> Outcome:
        """End the job; with ``keep_effects`` (its handler returned) its effects are applied
        in the same transaction, unless the job was cancelled meanwhile."""
        try:
            with self.system.db.transaction() as conn:
                written = self.jobs.finish(conn, job.job_id, holder, status, details,
                                           time.time())
                if written is None:
                    raise _NotOurs
                if ctx is not None:
                    if keep_effects and written is status:
                        for effect in ctx.effects:
                            effect(conn)
                    self._record(conn, job.job_id, ctx)
            return Outcome.COMMITTED
        except _NotOurs:
            log.warning("job %s was taken from worker %s; result dropped", job.job_id,
                        holder, extra={"job_id": job.job_id})
            return Outcome.DROPPED
        except Exception as exc:
            log.exception("job %s: effects could not be committed", job.job_id,
                          extra={"job_id": job.job_id})
            text = f"The job's changes could not be saved: {type(exc).__name__}: {exc}"
            with self.system.db.transaction() as conn:
                if self.jobs.finish(conn, job.job_id, holder, JobStatus.ERROR, text,
                                    time.time()) is None:
                    return Outcome.DROPPED
                self.jobs.add_messages(conn, job.job_id, 0,
                                       [JobMessage(MessageType.ERROR, "Job", text)])
            return Outcome.COMMITTED

    def _record(self, conn: Connection, job_id: int, ctx: JobContext) -> None:
        self.jobs.add_messages(conn, job_id, 0, ctx.messages)
        self.jobs.add_children(conn, job_id, ctx.children)
        for child_id, messages in ctx.child_messages.items():
            self.jobs.add_messages(conn, job_id, child_id, messages)


class Heart:
    """One thread per process that heart-beats every job the process is running.

    Starting and joining a thread for every job cost about a millisecond a job. The
    thread ends after a few idle seconds and starts again with the next job. A beat that
    races a job's end is harmless: it is guarded by the holder id the final update clears.
    """

    _IDLE_EXIT = 5.0

    def __init__(self, beat: Callable[[list[tuple[int, str]]], None], interval: float) -> None:
        self._beat = beat
        self._interval = interval
        self._lock = threading.Lock()
        self._held: dict[int, str] = {}
        self._since = 0.0
        self._thread: threading.Thread | None = None

    def follow(self, job_id: int, holder: str) -> None:
        with self._lock:
            if not self._held:
                self._since = time.monotonic()
            self._held[job_id] = holder
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="epmjobs-heartbeat")
                self._thread.start()

    def drop(self, job_id: int) -> None:
        with self._lock:
            self._held.pop(job_id, None)

    def _run(self) -> None:
        idle_since = time.monotonic()
        while True:
            time.sleep(min(self._interval, 0.25))
            with self._lock:
                now = time.monotonic()
                if not self._held:
                    if now - idle_since > self._IDLE_EXIT:
                        self._thread = None
                        return
                    continue
                idle_since = now
                if now - self._since < self._interval:
                    continue
                self._since = now
                held = list(self._held.items())
            self._beat(held)
