"""procrastinate's tables as epmjobs' storage sees them (PostgreSQL, distributed runner).

procrastinate carries the dispatch of jobs; our ``jobs`` table stays the record of every
job. This module owns the SQL that touches procrastinate's tables: installing and
upgrading its schema with procrastinate's own files (``schema.sql`` for a new database,
its numbered migrations after that), and the few reads the runner and ``/metrics`` need.

The installed schema version is written as a comment on ``procrastinate_jobs`` (the name
of the newest procrastinate migration it includes), so ``serve`` can refuse a queue schema
it does not know, as it refuses an unknown epmjobs schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, text

from epmjobs.errors import SchemaMismatch
from epmjobs.storage.database import Database

MARKER = "epmjobs: procrastinate schema "
RUN_TASK = "epmjobs.run_job"
# Finds the doorbell of a job row (its procrastinate job) without scanning the queue.
_DOORBELL_INDEX = (
    "CREATE INDEX IF NOT EXISTS epmjobs_procrastinate_job_id_idx ON procrastinate_jobs "
    "((args->>'job_id')) WHERE status IN ('todo', 'doing')"
)


def _procrastinate_sql() -> Path:
    import procrastinate

    return Path(procrastinate.__file__).parent / "sql"


def _migrations() -> list[Path]:
    return sorted((_procrastinate_sql() / "migrations").glob("*.sql"))


def head_version() -> str:
    """The newest procrastinate migration the installed procrastinate ships."""
    return _migrations()[-1].stem


def installed_version(conn: Connection) -> str | None:
    """The version recorded on the queue tables, ``""`` if unmarked, None if absent."""
    if conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is None:
        return None
    comment = conn.execute(text(
        "SELECT obj_description(to_regclass('procrastinate_jobs'), 'pg_class')")).scalar()
    if not comment or not str(comment).startswith(MARKER):
        return ""
    return str(comment)[len(MARKER):]


def upgrade(db: Database) -> str:
    """Install procrastinate's schema, or apply its migrations newer than the installed
    version; returns the version now installed. One transaction: all or nothing."""
    head = head_version()
    with db.engine.begin() as conn:
        current = installed_version(conn)
        if current is None:
            _run_script(conn, (_procrastinate_sql() / "schema.sql").read_text())
        elif current == "":
            raise SchemaMismatch("procrastinate's tables exist but were not installed by "
                                 "epmjobs migrate; their version is unknown.")
        else:
            for script in _migrations():
                if script.stem > current:
                    _run_script(conn, script.read_text())
        conn.exec_driver_sql(_DOORBELL_INDEX)
        conn.exec_driver_sql(f"COMMENT ON TABLE procrastinate_jobs IS '{MARKER}{head}'")
    return head


def _run_script(conn: Connection, sql: str) -> None:
    """A whole SQL file, as is: psycopg takes several statements (and ``%`` in plpgsql
    texts) when no parameters are passed, which SQLAlchemy's execute always does."""
    conn.connection.driver_connection.execute(sql)  # type: ignore[union-attr]


def ensure_current(db: Database) -> None:
    """Refuse to run on a queue schema this version does not know (older or newer)."""
    with db.reading() as conn:
        current = installed_version(conn)
    head = head_version()
    if current != head:
        raise SchemaMismatch(
            f"The job queue schema (procrastinate) is at {current or 'none'}, this epmjobs "
            f"needs {head}. Run 'epmjobs migrate'.")


# -- reads for the runner and for /metrics ------------------------------------------------

def doorbells(conn: Connection, job_id: int) -> list[tuple[int, str]]:
    """(procrastinate id, status) of the queued or running procrastinate jobs of a job."""
    rows = conn.execute(text(
        "SELECT id, status::text FROM procrastinate_jobs WHERE args->>'job_id' = :job_id"
        " AND status IN ('todo', 'doing') AND task_name = :task ORDER BY id"),
        {"job_id": str(job_id), "task": RUN_TASK}).all()
    return [(int(r[0]), str(r[1])) for r in rows]


@dataclass(frozen=True)
class Orphan:
    job_id: int
    job_type: str
    lock_key: str | None


def orphans(conn: Connection, submitted_before: float, limit: int = 1000) -> list[Orphan]:
    """Queued job rows that no queued or running procrastinate job will run: their
    procrastinate job failed, was aborted, or was deleted by hand."""
    rows = conn.execute(text(
        "SELECT j.job_id, j.job_type, j.lock_key FROM jobs j"
        " WHERE j.status = -1 AND j.worker_id IS NULL AND j.submitted_at < :before"
        " AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs p"
        "   WHERE p.args->>'job_id' = j.job_id::text AND p.status IN ('todo', 'doing'))"
        " ORDER BY j.job_id LIMIT :limit"),
        {"before": submitted_before, "limit": limit}).all()
    return [Orphan(int(r[0]), str(r[1]), r[2]) for r in rows]


def depth(conn: Connection) -> dict[tuple[str, str], int]:
    """{(queue, status): count} of the procrastinate jobs waiting or running."""
    rows = conn.execute(text(
        "SELECT queue_name, status::text, count(*) FROM procrastinate_jobs"
        " WHERE status IN ('todo', 'doing') GROUP BY queue_name, status")).all()
    return {(str(r[0]), str(r[1])): int(r[2]) for r in rows}
