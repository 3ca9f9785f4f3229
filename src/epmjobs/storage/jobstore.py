"""Named operations on jobs: submit, read, claim, heartbeat, finish, cancel, reap.

The jobs table is the embedded queue. A row is *queued* when its status is -1 and no
worker holds it, *running* when a worker holds it, and *ended* when its status is
terminal. Every state change is one statement inside a transaction, guarded by the
state it expects, so two processes can never both move the same job.

Jobs with the same ``lock_key`` (e.g. ``outline:<application id>``) run one at a time, in
submission order: a queued job is claimable only when no job with its key is running and no
older job with its key is still queued. The second rule also closes PostgreSQL's race: two
workers claiming at once cannot take two jobs of one key, because the newer job is not
claimable while the older one is queued, and the older one, once taken, is running.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    case,
    exists,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)

from epmjobs.jobs.model import ChildJob, Job, JobMessage, MessageType, Page
from epmjobs.jobs.status import ACTIVE_STATUSES, JobStatus
from epmjobs.storage.codec import dump_json, load_json
from epmjobs.storage.database import Database
from epmjobs.storage.schema import applications, job_children, job_messages, jobs

_JOB_COLUMNS = (
    jobs.c.job_id, applications.c.name, jobs.c.job_type, jobs.c.job_name, jobs.c.parameters,
    jobs.c.status, jobs.c.details, jobs.c.submitted_by, jobs.c.submitted_at,
    jobs.c.started_at, jobs.c.ended_at, jobs.c.attempts,
)
_JOB_FROM = jobs.join(applications, applications.c.application_id == jobs.c.application_id)
_RAW_GET_JOB = (
    "SELECT j.job_id, a.name, j.job_type, j.job_name, j.parameters, j.status, j.details,"
    " j.submitted_by, j.submitted_at, j.started_at, j.ended_at, j.attempts"
    " FROM jobs j JOIN applications a ON a.application_id = j.application_id"
    " WHERE j.job_id = ?"
)
_PG_GET_JOB = _RAW_GET_JOB.replace("?", "%s")
_ACTIVE = [int(s) for s in ACTIVE_STATUSES]
_RAW_ANY_QUEUED = "SELECT 1 FROM jobs WHERE status = -1 AND worker_id IS NULL LIMIT 1"
_QUEUED = jobs.alias("queued")
_OTHER = jobs.alias("other")


def _job(row: Any) -> Job:
    return Job(
        job_id=row[0], application=row[1], job_type=row[2], job_name=row[3],
        parameters=load_json(row[4]) or {}, status=JobStatus(row[5]), details=row[6],
        submitted_by=row[7], submitted_at=row[8], started_at=row[9], ended_at=row[10],
        attempts=row[11],
    )


@dataclass(frozen=True)
class JobFilter:
    application_id: int | None = None
    job_types: tuple[str, ...] = ()
    statuses: tuple[int, ...] = ()
    submitted_by: str | None = None
    since: float | None = None


@dataclass(frozen=True)
class Claim:
    """The job taken, or None: ``ended`` says whether it has ended (else someone holds it,
    or another job with its lock key is held)."""

    job: Job | None
    ended: bool


@dataclass(frozen=True)
class JobStats:
    job_type: str
    status: JobStatus
    count: int
    seconds: float  # total run time of the ended ones
    at_most: tuple[int, ...]  # ended jobs that ran at most each bound (cumulative)


@dataclass(frozen=True)
class ReapResult:
    requeued: list[int]
    failed: list[int]
    cancelled: list[int]


class JobStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- submit and read ------------------------------------------------------------

    def insert(self, conn: Connection, *, application_id: int, job_type: str,
               job_name: str | None, parameters: dict[str, Any], submitted_by: str,
               now: float, lock_key: str | None = None) -> int:
        result = conn.execute(insert(jobs).values(
            application_id=application_id, job_type=job_type, job_name=job_name,
            parameters=dump_json(parameters), status=int(JobStatus.RUNNING),
            submitted_by=submitted_by, submitted_at=now, attempts=0, lock_key=lock_key,
        ).returning(jobs.c.job_id))
        return int(result.scalar_one())

    def get(self, job_id: int) -> Job | None:
        """One job by id: a primary-key read, the status poll's whole database cost."""
        if self.db.is_sqlite:
            row = self.db.raw_sqlite().execute(_RAW_GET_JOB, (job_id,)).fetchone()
            return None if row is None else _job(row)
        if self.db.dialect == "postgresql":
            return self._get_postgres(job_id)
        with self.db.reading() as conn:
            found = conn.execute(
                select(*_JOB_COLUMNS).select_from(_JOB_FROM).where(jobs.c.job_id == job_id)
            ).first()
        return None if found is None else _job(found)

    def _get_postgres(self, job_id: int) -> Job | None:
        """One prepared statement on this thread's own connection; a connection that
        broke (a database restart) is replaced once."""
        import psycopg

        for attempt in (1, 2):
            try:
                row = self.db.raw_postgres().execute(_PG_GET_JOB, (job_id,)).fetchone()
                return None if row is None else _job(row)
            except psycopg.OperationalError:
                self.db.forget_raw_postgres()
                if attempt == 2:
                    raise
        return None

    def search(self, flt: JobFilter, offset: int, limit: int) -> Page[Job]:
        query = select(*_JOB_COLUMNS).select_from(_JOB_FROM)
        if flt.application_id is not None:
            query = query.where(jobs.c.application_id == flt.application_id)
        if flt.job_types:
            query = query.where(jobs.c.job_type.in_(flt.job_types))
        if flt.statuses:
            query = query.where(jobs.c.status.in_(flt.statuses))
        if flt.submitted_by is not None:
            query = query.where(jobs.c.submitted_by == flt.submitted_by)
        if flt.since is not None:
            query = query.where(jobs.c.submitted_at >= flt.since)
        query = query.order_by(jobs.c.job_id.desc()).offset(offset).limit(limit + 1)
        with self.db.reading() as conn:
            rows = conn.execute(query).all()
        return Page([_job(r) for r in rows[:limit]], offset, limit, has_more=len(rows) > limit)

    def status(self, job_id: int) -> JobStatus | None:
        with self.db.reading() as conn:
            value = conn.execute(
                select(jobs.c.status).where(jobs.c.job_id == job_id)
            ).scalar_one_or_none()
        return None if value is None else JobStatus(value)

    # -- the worker's side ----------------------------------------------------------

    def claim_next(self, worker_id: str, now: float) -> Job | None:
        """Take the oldest claimable queued job for this worker, or None when there is none
        (the queue is empty, or every queued job waits for its lock key)."""
        if self.db.is_sqlite and self.db.raw_sqlite().execute(_RAW_ANY_QUEUED).fetchone() is None:
            return None  # looked without the write lock: an idle worker never takes it
        q, other = _QUEUED.c, _OTHER.c
        blocked = exists().where(other.lock_key == q.lock_key, other.status.in_(_ACTIVE), or_(
            other.worker_id.is_not(None), other.job_id < q.job_id))
        candidate = (
            select(q.job_id)
            .where(q.status == int(JobStatus.RUNNING), q.worker_id.is_(None),
                   or_(q.lock_key.is_(None), ~blocked))
            .order_by(q.job_id)
            .limit(1)
        )
        if not self.db.is_sqlite:
            candidate = candidate.with_for_update(of=_QUEUED, skip_locked=True)
        with self.db.transaction() as conn:
            self._fast_commit(conn)
            claimed = conn.execute(
                update(jobs)
                .where(jobs.c.job_id == candidate.scalar_subquery(), jobs.c.worker_id.is_(None),
                       jobs.c.status == int(JobStatus.RUNNING))
                .values(worker_id=worker_id, heartbeat_at=now, attempts=jobs.c.attempts + 1,
                        started_at=func.coalesce(jobs.c.started_at, now))
                .returning(jobs.c.job_id)
            ).scalar_one_or_none()
            if claimed is None:
                return None
            row = conn.execute(
                select(*_JOB_COLUMNS).select_from(_JOB_FROM).where(jobs.c.job_id == claimed)
            ).one()
        return _job(row)

    def claim(self, job_id: int, worker_id: str, now: float) -> Claim:
        """Take one given queued job (the distributed runner's claim: procrastinate chose
        the job). Refused while another job with its lock key is held."""
        other = _OTHER.c
        held_by_key = exists().where(other.lock_key == jobs.c.lock_key,
                                     other.status.in_(_ACTIVE), other.worker_id.is_not(None),
                                     other.job_id != jobs.c.job_id)
        with self.db.transaction() as conn:
            self._fast_commit(conn)
            claimed = conn.execute(
                update(jobs)
                .where(jobs.c.job_id == job_id, jobs.c.worker_id.is_(None),
                       jobs.c.status == int(JobStatus.RUNNING),
                       or_(jobs.c.lock_key.is_(None), ~held_by_key))
                .values(worker_id=worker_id, heartbeat_at=now, attempts=jobs.c.attempts + 1,
                        started_at=func.coalesce(jobs.c.started_at, now))
                .returning(jobs.c.job_id)
            ).scalar_one_or_none()
            if claimed is None:
                row = conn.execute(select(jobs.c.status).where(jobs.c.job_id == job_id)).first()
                ended = row is None or JobStatus(row[0]).is_terminal
                return Claim(None, ended=ended)
            found = conn.execute(
                select(*_JOB_COLUMNS).select_from(_JOB_FROM).where(jobs.c.job_id == job_id)
            ).one()
        return Claim(_job(found), ended=False)

    def _fast_commit(self, conn: Connection) -> None:
        """PostgreSQL: this transaction need not wait for its WAL flush. Only for claims and
        heartbeats: losing one in a database crash loses no job (the claim's job is
        still queued, or recovered like any whose holder stopped), while a job's end, with
        its effects, always waits for the flush."""
        if not self.db.is_sqlite:
            conn.exec_driver_sql("SET LOCAL synchronous_commit = off")

    def release(self, job_id: int, worker_id: str) -> bool:
        """Hand a held job back to the queue uncounted (its worker is shutting down and
        stopped it before its end): the attempt it used is given back."""
        with self.db.transaction() as conn:
            result = conn.execute(
                update(jobs).where(jobs.c.job_id == job_id, jobs.c.worker_id == worker_id,
                                   jobs.c.status == int(JobStatus.RUNNING))
                .values(worker_id=None, heartbeat_at=None, attempts=jobs.c.attempts - 1))
        return bool(result.rowcount)

    def heartbeat(self, job_id: int, worker_id: str, now: float) -> None:
        self.heartbeat_many([(job_id, worker_id)], now)

    def heartbeat_many(self, held: Sequence[tuple[int, str]], now: float) -> None:
        """Mark jobs as alive, each guarded by the holder that claimed it."""
        if not held:
            return
        with self.db.transaction() as conn:
            self._fast_commit(conn)
            conn.execute(update(jobs).where(tuple_(jobs.c.job_id, jobs.c.worker_id).in_(held))
                         .values(heartbeat_at=now))

    def finish(self, conn: Connection, job_id: int, worker_id: str | None,
               status: JobStatus, details: str | None, now: float) -> JobStatus | None:
        """End a job inside the caller's transaction (the one holding its effects).

        A job whose cancel was requested ends as cancelled whatever the handler said;
        the caller must then roll back the effects. Returns the status written, or None
        when the job was no longer this worker's to finish (reaped, or ended already).
        """
        guard = and_(jobs.c.job_id == job_id, jobs.c.status.in_(_ACTIVE))
        if worker_id is not None:
            guard = and_(guard, jobs.c.worker_id == worker_id)
        current = conn.execute(
            select(jobs.c.status).where(guard).with_for_update()).scalar_one_or_none()
        if current is None:
            return None
        if current == JobStatus.CANCEL_PENDING:
            status, details = JobStatus.CANCELLED, "The job was cancelled."
        conn.execute(update(jobs).where(guard).values(
            status=int(status), details=details, ended_at=now, worker_id=None,
            heartbeat_at=None))
        return status

    def request_cancel(self, job_id: int, now: float) -> JobStatus | None:
        """Ask a job to stop: queued jobs end at once (3), running ones go to 2."""
        with self.db.transaction() as conn:
            row = conn.execute(select(jobs.c.status, jobs.c.worker_id)
                               .where(jobs.c.job_id == job_id).with_for_update()).first()
            if row is None:
                return None
            status, worker = JobStatus(row[0]), row[1]
            if status != JobStatus.RUNNING:
                return status
            if worker is None:
                self.finish(conn, job_id, None, JobStatus.CANCELLED,
                            "The job was cancelled before it started.", now)
                return JobStatus.CANCELLED
            conn.execute(update(jobs).where(jobs.c.job_id == job_id,
                                            jobs.c.status == int(JobStatus.RUNNING),
                                            jobs.c.worker_id == worker)
                         .values(status=int(JobStatus.CANCEL_PENDING)))
            return JobStatus.CANCEL_PENDING

    def reap_stale(self, stale_before: float, max_attempts: int, now: float) -> ReapResult:
        """Recover jobs whose worker stopped heart-beating (killed, crashed, lost).

        Their effects cannot have committed (effects commit with the terminal status),
        so they are safe to run again, up to ``max_attempts`` in all.
        """
        requeued: list[int] = []
        failed: list[int] = []
        cancelled: list[int] = []
        with self.db.transaction() as conn:
            rows = conn.execute(
                select(jobs.c.job_id, jobs.c.status, jobs.c.attempts, jobs.c.worker_id)
                .where(jobs.c.status.in_(_ACTIVE), jobs.c.worker_id.is_not(None),
                       jobs.c.heartbeat_at < stale_before)
                .with_for_update(skip_locked=True)
            ).all()
            for job_id, status, attempts, worker in rows:
                if status == JobStatus.CANCEL_PENDING:
                    self.finish(conn, job_id, worker, JobStatus.CANCELLED, None, now)
                    cancelled.append(job_id)
                elif attempts >= max_attempts:
                    self.finish(conn, job_id, worker, JobStatus.ERROR,
                                f"The job was interrupted {attempts} times (its worker "
                                "stopped) and was not run again.", now)
                    failed.append(job_id)
                else:
                    conn.execute(update(jobs).where(jobs.c.job_id == job_id,
                                                    jobs.c.worker_id == worker)
                                 .values(worker_id=None, heartbeat_at=None))
                    requeued.append(job_id)
        return ReapResult(requeued, failed, cancelled)

    # -- statistics (/metrics) -------------------------------------------------------

    def stats(self, bounds: Sequence[float]) -> list[JobStats]:
        """Per job type and status: how many jobs, and for ended ones how many ran at most
        each of ``bounds`` seconds (a cumulative histogram) and their total run time.
        One pass over the table: meant to be cached by its caller."""
        duration = jobs.c.ended_at - func.coalesce(jobs.c.started_at, jobs.c.submitted_at)
        ended = jobs.c.ended_at.is_not(None)
        buckets = [func.sum(case((and_(ended, duration <= b), 1), else_=0)) for b in bounds]
        query = (select(jobs.c.job_type, jobs.c.status, func.count(),
                        func.sum(case((ended, duration), else_=0.0)), *buckets)
                 .group_by(jobs.c.job_type, jobs.c.status))
        with self.db.reading() as conn:
            rows = conn.execute(query).all()
        return [JobStats(r[0], JobStatus(r[1]), int(r[2]), float(r[3] or 0.0),
                         tuple(int(v or 0) for v in r[4:])) for r in rows]

    def queue_depth(self) -> dict[str, int]:
        """The embedded queue: jobs waiting for a worker, and jobs a worker holds."""
        held = case((jobs.c.worker_id.is_(None), "queued"), else_="running")
        with self.db.reading() as conn:
            rows = conn.execute(select(held, func.count()).where(jobs.c.status.in_(_ACTIVE))
                                .group_by(held)).all()
        return {str(r[0]): int(r[1]) for r in rows}

    # -- messages and child jobs ----------------------------------------------------

    def add_messages(self, conn: Connection, job_id: int, child_id: int,
                     messages: Iterable[JobMessage]) -> None:
        start = conn.execute(
            select(func.coalesce(func.max(job_messages.c.seq), 0))
            .where(job_messages.c.job_id == job_id, job_messages.c.child_id == child_id)
        ).scalar_one()
        rows = [
            {"job_id": job_id, "child_id": child_id, "seq": start + i, "msg_type": m.msg_type,
             "category": m.category, "text": m.text, "record_number": m.record_number}
            for i, m in enumerate(messages, start=1)
        ]
        if rows:
            conn.execute(insert(job_messages), rows)

    def add_children(self, conn: Connection, job_id: int, children: Iterable[ChildJob]) -> None:
        rows = [
            {"job_id": job_id, "child_id": c.child_id, "name": c.name, "load_type": c.load_type,
             "status": int(c.status), "records_read": c.records_read,
             "records_processed": c.records_processed, "records_rejected": c.records_rejected}
            for c in children
        ]
        if rows:
            conn.execute(insert(job_children), rows)

    def children(self, job_id: int, offset: int, limit: int | None) -> Page[ChildJob]:
        base = select(job_children).where(job_children.c.job_id == job_id)
        with self.db.reading() as conn:
            total = conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
            rows = conn.execute(base.order_by(job_children.c.child_id)
                                .offset(offset).limit(limit)).all()
        items = [ChildJob(r.child_id, r.name, r.load_type, JobStatus(r.status), r.records_read,
                          r.records_processed, r.records_rejected) for r in rows]
        return Page(items, offset, limit or total, offset + len(items) < total, total)

    def child_exists(self, job_id: int, child_id: int) -> bool:
        with self.db.reading() as conn:
            return conn.execute(select(job_children.c.child_id).where(
                job_children.c.job_id == job_id, job_children.c.child_id == child_id)
            ).first() is not None

    def messages(self, job_id: int, child_id: int, types: Sequence[MessageType],
                 offset: int, limit: int | None) -> Page[JobMessage]:
        base = select(job_messages).where(job_messages.c.job_id == job_id,
                                          job_messages.c.child_id == child_id)
        if types:
            base = base.where(job_messages.c.msg_type.in_([str(t) for t in types]))
        with self.db.reading() as conn:
            total = conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
            rows = conn.execute(base.order_by(job_messages.c.seq)
                                .offset(offset).limit(limit)).all()
        items = [JobMessage(MessageType(r.msg_type), r.category, r.text, r.record_number)
                 for r in rows]
        return Page(items, offset, limit or total, offset + len(items) < total, total)
