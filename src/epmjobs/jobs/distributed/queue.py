"""The procrastinate app of epmjobs: its queues, its tasks, and deferring in our transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import procrastinate
from procrastinate.exceptions import JobAborted
from procrastinate.jobs import Job as QueueJob
from procrastinate.retry import BaseRetryStrategy, RetryDecision
from sqlalchemy import Connection
from sqlalchemy.engine import make_url

from epmjobs.settings import Settings
from epmjobs.storage import queuestore
from epmjobs.storage.database import Database

if TYPE_CHECKING:
    from epmjobs.system import System

SHORT, DATA, MAINTENANCE = "short", "data", "maintenance"
RUN_TASK = queuestore.RUN_TASK
RECOVER_TASK = "epmjobs.recover"
# Job types that finish in moments and must not wait behind hour-long data jobs; every
# other type (data, rules, outlines, cube maintenance) goes to the data queue.
SHORT_TYPES = frozenset({"ADMINISTRATION_MODE", "EXPORT_JOB_CONSOLE", "EXPORT_SECURITY",
                         "IMPORT_SECURITY", "EXPORT_AUDIT"})


def queue_for(job_type: str) -> str:
    return SHORT if job_type in SHORT_TYPES else DATA


def conninfo(database_url: str) -> str:
    """A libpq connection string for the database of the settings."""
    return make_url(Database.normalise_url(database_url)).set(
        drivername="postgresql").render_as_string(hide_password=False)


class Busy(Exception):
    """The job's row is held by another holder (presumed dead, not yet reaped), or
    another job with its lock key is: try again once recovery had its turn."""


class RunRetry(BaseRetryStrategy):
    """Busy rows are tried again after a heartbeat; a job stopped by a worker's shutdown
    at once (elsewhere). Anything else is never retried: the row has ended already."""

    def __init__(self, busy_wait: float) -> None:
        self.busy_wait = busy_wait

    def get_retry_decision(self, *, exception: BaseException,
                           job: QueueJob) -> RetryDecision | None:
        if isinstance(exception, Busy):
            return RetryDecision(retry_at=datetime.now(UTC) + timedelta(seconds=self.busy_wait))
        if isinstance(exception, JobAborted):
            return RetryDecision()
        return None


def recovery_cron(settings: Settings) -> str:
    """Every heartbeat (whole seconds, at least one): procrastinate's cron has seconds."""
    every = max(1, round(settings.heartbeat_seconds))
    return f"* * * * * */{every}"


def build_app(settings: Settings) -> procrastinate.App:
    """The app with our tasks; its connector opens only in worker processes."""
    from epmjobs.jobs.distributed import tasks

    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(settings.resolved_database_url),
        kwargs={"application_name": "epmjobs-queue"}, min_size=1, max_size=8,
        configure=_queue_connection)
    app = procrastinate.App(connector=connector)
    app.task(name=RUN_TASK, queue=DATA, pass_context=True,
             retry=RunRetry(settings.heartbeat_seconds))(tasks.run_job)
    recover = app.task(name=RECOVER_TASK, queue=MAINTENANCE, pass_context=True,
                       queueing_lock=RECOVER_TASK)(tasks.recover)
    app.periodic(cron=recovery_cron(settings), periodic_id="recover")(recover)
    return app


async def _queue_connection(conn: Any) -> None:
    """procrastinate's own bookkeeping (fetch, retry, finish of a task) need not wait for
    the WAL flush: after a database crash a lost change only makes a task run again, and a
    task whose job row has ended does nothing. Deferring is not affected: it runs in the
    job's own (durable) transaction."""
    await conn.execute("SET synchronous_commit = off")
    await conn.commit()


class ProcrastinateDispatcher:
    """Defers the task of a job in the transaction that inserts its row."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.app = build_app(system.settings)

    def dispatch(self, conn: Connection, job_id: int, job_type: str,
                 lock_key: str | None) -> None:
        defer(self.app, conn, job_id, job_type, lock_key)

    def wake(self) -> None:
        return None  # procrastinate's insert trigger notifies listening workers on commit

    def cancel(self, job_id: int) -> None:
        with self.system.db.transaction() as conn:
            raw = _driver_connection(conn)
            for queue_id, status in queuestore.doorbells(conn, job_id):
                self.app.job_manager.cancel_job_by_id(
                    queue_id, abort=status == "doing", delete_job=status == "todo",
                    connection=raw)


def defer(app: procrastinate.App, conn: Connection, job_id: int, job_type: str,
          lock_key: str | None) -> None:
    app.tasks[RUN_TASK].configure(connection=_driver_connection(conn), queue=queue_for(job_type),
                                  lock=lock_key).defer(job_id=job_id)


def _driver_connection(conn: Connection) -> Any:
    """The psycopg connection under a SQLAlchemy one: procrastinate then runs its query
    inside our transaction."""
    return conn.connection.driver_connection
