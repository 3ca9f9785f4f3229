"""The storage layer on both databases: schema, the jobs queue, applications and users.

Every test here runs on SQLite and on PostgreSQL (``any_system`` / ``bare_db``). Times
passed to the stores are explicit numbers, so nothing depends on the clock.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

import epmjobs.storage.migrations
from epmjobs.errors import Conflict, EpmJobsError, SchemaMismatch
from epmjobs.jobs.definitions import JobDefinition
from epmjobs.jobs.model import ChildJob, JobMessage, MessageType
from epmjobs.jobs.status import JobStatus
from epmjobs.planning.application import Cube, CubeKind
from epmjobs.storage import migrate
from epmjobs.storage.database import Database
from epmjobs.storage.jobstore import JobFilter, JobStore
from epmjobs.storage.schema import job_definitions, jobs, metadata
from epmjobs.system import System

JOIN_TIMEOUT = 60.0


# -- helpers ------------------------------------------------------------------------


def _app_id(system: System, name: str = "Vision") -> int:
    found = system.stores.apps.admin_mode(name)
    assert found is not None
    return found[0]


def _insert(system: System, count: int = 1, *, app: str = "Vision",
            job_type: str = "ADMINISTRATION_MODE", submitted_by: str = "admin",
            now: float = 1000.0, parameters: dict[str, Any] | None = None) -> list[int]:
    app_id = _app_id(system, app)
    with system.db.transaction() as conn:
        return [system.stores.jobs.insert(
            conn, application_id=app_id, job_type=job_type, job_name=f"{job_type} job",
            parameters=parameters if parameters is not None else {"n": i},
            submitted_by=submitted_by, now=now) for i in range(count)]


def _row(system: System, job_id: int) -> dict[str, Any]:
    """The raw jobs row, including the queue columns the Job record does not carry."""
    with system.db.reading() as conn:
        row = conn.execute(sa.select(jobs).where(jobs.c.job_id == job_id)).mappings().one()
    return dict(row)


def _finish(system: System, job_id: int, worker_id: str | None, status: JobStatus,
            details: str | None = None, now: float = 2000.0) -> JobStatus | None:
    with system.db.transaction() as conn:
        return system.stores.jobs.finish(conn, job_id, worker_id, status, details, now)


def _add_app(system: System, name: str, cubes: list[Cube] | None = None) -> int:
    with system.db.transaction() as conn:
        return system.stores.apps.create(conn, name, "PBCS", cubes or [], 50.0)


@pytest.fixture(params=["sqlite", "postgresql"])
def bare_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database (no tables at all) on each dialect."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'bare.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    db = Database(url)
    yield db
    db.dispose()


def _alembic_config(conn: sa.Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location",
                        str(Path(epmjobs.storage.migrations.__file__).parent))
    cfg.attributes["connection"] = conn
    return cfg


# -- schema and migrations ----------------------------------------------------------


QUEUE_TABLES = {"procrastinate_jobs", "procrastinate_events", "procrastinate_periodic_defers",
                "procrastinate_workers"}


def _ours(name: str | None, type_: str, *_: object) -> bool:
    """Our schema objects, not the job queue's (procrastinate installs and owns those)."""
    return not (name or "").startswith(("procrastinate_", "epmjobs_procrastinate_"))


def test_migrations_create_exactly_the_tables_declared_in_schema(bare_db: Database) -> None:
    migrate.upgrade(bare_db)
    with bare_db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                         "include_name": _ours})
        diffs = compare_metadata(context, metadata)
        tables = set(sa.inspect(conn).get_table_names())
    assert diffs == []
    queue = set() if bare_db.is_sqlite else QUEUE_TABLES  # PostgreSQL gets the job queue
    assert tables == set(metadata.tables) | {"alembic_version"} | queue


def test_migrations_downgrade_to_nothing_and_upgrade_again(bare_db: Database) -> None:
    migrate.upgrade(bare_db)
    with bare_db.engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "base")
    with bare_db.engine.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) - QUEUE_TABLES <= {"alembic_version"}
    migrate.upgrade(bare_db)
    migrate.ensure_current(bare_db)


def test_upgrade_is_idempotent_and_leaves_the_schema_current(bare_db: Database) -> None:
    migrate.upgrade(bare_db)
    migrate.upgrade(bare_db)
    assert migrate.current_revision(bare_db) == migrate.head_revision()
    migrate.ensure_current(bare_db)


def test_ensure_current_refuses_an_unmigrated_database(bare_db: Database) -> None:
    assert migrate.current_revision(bare_db) is None
    with pytest.raises(SchemaMismatch, match="epmjobs migrate"):
        migrate.ensure_current(bare_db)


def test_ensure_current_refuses_a_revision_it_does_not_know(bare_db: Database) -> None:
    migrate.upgrade(bare_db)
    with bare_db.transaction() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(SchemaMismatch, match="9999_future"):
        migrate.ensure_current(bare_db)


# -- job ids ------------------------------------------------------------------------


def test_job_ids_are_integers_that_only_grow(any_system: System) -> None:
    first = _insert(any_system, 3)
    assert all(type(i) is int for i in first)
    assert first == sorted(first) and len(set(first)) == 3
    with any_system.db.transaction() as conn:
        conn.execute(sa.delete(jobs).where(jobs.c.job_id.in_(first[1:])))
    [after_delete] = _insert(any_system)
    assert after_delete > first[-1]
    with any_system.db.transaction() as conn:
        conn.execute(sa.delete(jobs))
    [after_empty] = _insert(any_system)
    assert after_empty > after_delete
    job = any_system.stores.jobs.get(after_empty)
    assert job is not None and type(job.job_id) is int


# -- insert, get, search ------------------------------------------------------------


def test_insert_then_get_returns_the_queued_job_with_every_field(any_system: System) -> None:
    params = {"loginLevel": "Administrators", "nested": {"a": [1, 2.5, None, True]},
              "text": "Übersicht €"}
    [job_id] = _insert(any_system, submitted_by="sally", now=1234.5, parameters=params)
    job = any_system.stores.jobs.get(job_id)
    assert job is not None
    assert (job.job_id, job.application, job.job_type, job.job_name) == (
        job_id, "Vision", "ADMINISTRATION_MODE", "ADMINISTRATION_MODE job")
    assert job.parameters == params
    assert job.status is JobStatus.RUNNING and job.details is None
    assert (job.submitted_by, job.submitted_at) == ("sally", 1234.5)
    assert (job.started_at, job.ended_at, job.attempts) == (None, None, 0)
    assert any_system.stores.jobs.status(job_id) is JobStatus.RUNNING
    assert _row(any_system, job_id)["worker_id"] is None


def test_get_and_status_of_an_unknown_job_are_none(any_system: System) -> None:
    assert any_system.stores.jobs.get(987654) is None
    assert any_system.stores.jobs.status(987654) is None


@pytest.fixture
def five_jobs(any_system: System) -> list[int]:
    """j1..j5 across two applications, types, submitters, times and statuses."""
    _add_app(any_system, "Other")
    [j1] = _insert(any_system, now=100.0)
    [j2] = _insert(any_system, job_type="CUBE_REFRESH", submitted_by="sally", now=200.0)
    [j3] = _insert(any_system, app="Other", now=300.0)
    [j4] = _insert(any_system, submitted_by="sally", now=400.0)
    [j5] = _insert(any_system, app="Other", job_type="CLEAR_CUBE", now=500.0)
    assert _finish(any_system, j2, None, JobStatus.SUCCESS) is JobStatus.SUCCESS
    assert _finish(any_system, j3, None, JobStatus.ERROR, "bad") is JobStatus.ERROR
    assert any_system.stores.jobs.request_cancel(j4, 450.0) is JobStatus.CANCELLED
    return [j1, j2, j3, j4, j5]


def _ids(system: System, flt: JobFilter, offset: int = 0, limit: int = 100) -> list[int]:
    return [j.job_id for j in system.stores.jobs.search(flt, offset, limit).items]


def test_search_filters_by_each_field_newest_first(any_system: System,
                                                   five_jobs: list[int]) -> None:
    j1, j2, j3, j4, j5 = five_jobs
    vision, other = _app_id(any_system), _app_id(any_system, "Other")
    assert _ids(any_system, JobFilter()) == [j5, j4, j3, j2, j1]
    assert _ids(any_system, JobFilter(application_id=vision)) == [j4, j2, j1]
    assert _ids(any_system, JobFilter(application_id=other)) == [j5, j3]
    assert _ids(any_system, JobFilter(job_types=("ADMINISTRATION_MODE",))) == [j4, j3, j1]
    assert _ids(any_system, JobFilter(job_types=("CUBE_REFRESH", "CLEAR_CUBE"))) == [j5, j2]
    assert _ids(any_system, JobFilter(statuses=(-1,))) == [j5, j1]
    assert _ids(any_system, JobFilter(statuses=(0, 1))) == [j3, j2]
    assert _ids(any_system, JobFilter(statuses=(3,))) == [j4]
    assert _ids(any_system, JobFilter(submitted_by="sally")) == [j4, j2]
    assert _ids(any_system, JobFilter(since=300.0)) == [j5, j4, j3]
    assert _ids(any_system, JobFilter(application_id=vision, statuses=(-1,),
                                      submitted_by="admin", since=50.0)) == [j1]
    assert _ids(any_system, JobFilter(job_types=("RULES",))) == []


def test_search_pages_with_has_more(any_system: System, five_jobs: list[int]) -> None:
    j1, j2, j3, j4, j5 = five_jobs
    search = any_system.stores.jobs.search
    first = search(JobFilter(), 0, 2)
    assert [j.job_id for j in first.items] == [j5, j4]
    assert (first.offset, first.limit, first.has_more) == (0, 2, True)
    second = search(JobFilter(), 2, 2)
    assert [j.job_id for j in second.items] == [j3, j2] and second.has_more
    last = search(JobFilter(), 4, 2)
    assert [j.job_id for j in last.items] == [j1] and not last.has_more
    exact = search(JobFilter(), 3, 2)
    assert [j.job_id for j in exact.items] == [j2, j1] and not exact.has_more
    beyond = search(JobFilter(), 10, 2)
    assert beyond.items == [] and not beyond.has_more
    ended = search(JobFilter(statuses=(1,)), 0, 1).items[0]
    assert (ended.status, ended.details, ended.ended_at) == (JobStatus.ERROR, "bad", 2000.0)


# -- claiming -----------------------------------------------------------------------


def test_claim_next_takes_the_oldest_queued_job_first(any_system: System) -> None:
    store = any_system.stores.jobs
    ids = _insert(any_system, 4)
    assert store.request_cancel(ids[0], 5.0) is JobStatus.CANCELLED  # ended: not queued
    claimed = store.claim_next("w1", 1500.0)
    assert claimed is not None and claimed.job_id == ids[1]
    assert claimed.status is JobStatus.RUNNING
    assert (claimed.attempts, claimed.started_at) == (1, 1500.0)
    row = _row(any_system, ids[1])
    assert (row["worker_id"], row["heartbeat_at"]) == ("w1", 1500.0)
    assert [store.claim_next("w2", 1600.0).job_id for _ in range(2)] == ids[2:]  # type: ignore[union-attr]
    assert store.claim_next("w1", 1700.0) is None


def _claim_all(store: JobStore, worker_id: str, go: Any) -> list[int]:
    assert go.wait(JOIN_TIMEOUT)
    claimed: list[int] = []
    while (job := store.claim_next(worker_id, 1.0)) is not None:
        claimed.append(job.job_id)
    return claimed


def _assert_each_claimed_once(ids: list[int], per_claimer: list[list[int]]) -> None:
    flat = [i for claims in per_claimer for i in claims]
    assert sorted(flat) == sorted(ids), "every job claimed exactly once"
    for claims in per_claimer:
        assert claims == sorted(claims), "each claimer takes older jobs first"


def _run_threads(store: JobStore, count: int, go: Any, prefix: str) -> tuple[
        list[threading.Thread], dict[int, list[int]]]:
    results: dict[int, list[int]] = {}

    def claim(n: int) -> None:
        results[n] = _claim_all(store, f"{prefix}{n}", go)

    threads = [threading.Thread(target=claim, args=(n,), daemon=True) for n in range(count)]
    for t in threads:
        t.start()
    return threads, results


def test_concurrent_threads_never_claim_the_same_job_twice(any_system: System) -> None:
    ids = _insert(any_system, 150)
    go = threading.Event()
    threads, results = _run_threads(any_system.stores.jobs, 4, go, "thread-")
    go.set()
    for t in threads:
        t.join(JOIN_TIMEOUT)
        assert not t.is_alive()
    assert len(results) == 4
    _assert_each_claimed_once(ids, list(results.values()))
    assert any_system.stores.jobs.claim_next("late", 2.0) is None


def _claim_in_process(url: str, worker_id: str, ready: Any, go: Any, out: Any) -> None:
    db = Database(url)
    try:
        store = JobStore(db)
        ready.put(worker_id)
        out.put((worker_id, _claim_all(store, worker_id, go)))
    finally:
        db.dispose()


@pytest.mark.parametrize("any_system", ["sqlite"], indirect=True)
def test_concurrent_processes_and_threads_never_claim_the_same_job_twice(
        any_system: System) -> None:
    """SQLite's locking between processes; on PostgreSQL threads already use separate
    connections, which is all another process would add."""
    ids = _insert(any_system, 300)
    ctx = multiprocessing.get_context("spawn")
    ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=_claim_in_process, args=(any_system.db.url, f"proc-{n}",
                                                           ready, go, out), daemon=True)
             for n in range(2)]
    for p in procs:
        p.start()
    try:
        for _ in procs:
            ready.get(timeout=JOIN_TIMEOUT)
        threads, results = _run_threads(any_system.stores.jobs, 2, go, "thread-")
        go.set()
        per_claimer = [out.get(timeout=JOIN_TIMEOUT)[1] for _ in procs]
        for t in threads:
            t.join(JOIN_TIMEOUT)
            assert not t.is_alive()
        for p in procs:
            p.join(JOIN_TIMEOUT)
            assert p.exitcode == 0
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join(5)
    _assert_each_claimed_once(ids, per_claimer + list(results.values()))


# -- heartbeat and finish -----------------------------------------------------------


def test_only_the_owner_can_heartbeat(any_system: System) -> None:
    store = any_system.stores.jobs
    [job_id] = _insert(any_system)
    store.claim_next("w1", 100.0)
    store.heartbeat(job_id, "intruder", 500.0)
    assert _row(any_system, job_id)["heartbeat_at"] == 100.0
    store.heartbeat(job_id, "w1", 600.0)
    assert _row(any_system, job_id)["heartbeat_at"] == 600.0
    _finish(any_system, job_id, "w1", JobStatus.SUCCESS)
    store.heartbeat(job_id, "w1", 700.0)
    assert _row(any_system, job_id)["heartbeat_at"] is None


def test_finish_is_guarded_by_worker_id_and_active_status(any_system: System) -> None:
    [job_id] = _insert(any_system)
    any_system.stores.jobs.claim_next("w1", 100.0)
    assert _finish(any_system, job_id, "w2", JobStatus.SUCCESS, "stolen") is None
    assert _row(any_system, job_id)["status"] == -1
    assert _finish(any_system, job_id, "w1", JobStatus.SUCCESS, "done", 900.0) \
        is JobStatus.SUCCESS
    row = _row(any_system, job_id)
    assert (row["status"], row["details"], row["ended_at"]) == (0, "done", 900.0)
    assert (row["worker_id"], row["heartbeat_at"]) == (None, None)
    assert _finish(any_system, job_id, "w1", JobStatus.ERROR, "again") is None
    assert _finish(any_system, job_id, None, JobStatus.ERROR, "again") is None
    assert _row(any_system, job_id)["status"] == 0


def test_finish_commits_or_rolls_back_with_the_callers_transaction(any_system: System) -> None:
    [job_id] = _insert(any_system)
    any_system.stores.jobs.claim_next("w1", 100.0)
    with pytest.raises(RuntimeError), any_system.db.transaction() as conn:
        any_system.stores.jobs.finish(conn, job_id, "w1", JobStatus.SUCCESS, "x", 200.0)
        raise RuntimeError("the effects failed")
    row = _row(any_system, job_id)
    assert (row["status"], row["worker_id"], row["ended_at"]) == (-1, "w1", None)


# -- cancel -------------------------------------------------------------------------


def test_cancelling_a_queued_job_ends_it_at_once(any_system: System) -> None:
    store = any_system.stores.jobs
    [job_id] = _insert(any_system)
    assert store.request_cancel(job_id, 300.0) is JobStatus.CANCELLED
    job = store.get(job_id)
    assert job is not None and job.status is JobStatus.CANCELLED
    assert job.details and "cancelled" in job.details and job.ended_at == 300.0
    assert store.claim_next("w1", 400.0) is None
    assert store.request_cancel(job_id, 500.0) is JobStatus.CANCELLED  # repeat: unchanged
    assert store.get(job_id).ended_at == 300.0  # type: ignore[union-attr]


@pytest.mark.parametrize("handler_status", [JobStatus.SUCCESS, JobStatus.ERROR,
                                            JobStatus.INVALID_PARAMETER])
def test_cancelling_a_running_job_asks_and_finish_then_writes_cancelled(
        any_system: System, handler_status: JobStatus) -> None:
    store = any_system.stores.jobs
    [job_id, other] = _insert(any_system, 2)
    store.claim_next("w1", 100.0)
    assert store.request_cancel(job_id, 200.0) is JobStatus.CANCEL_PENDING
    row = _row(any_system, job_id)
    assert (row["status"], row["worker_id"], row["ended_at"]) == (2, "w1", None)
    assert store.request_cancel(job_id, 210.0) is JobStatus.CANCEL_PENDING
    assert store.claim_next("w2", 220.0).job_id == other  # type: ignore[union-attr]
    assert _finish(any_system, job_id, "w1", handler_status, "handler said") \
        is JobStatus.CANCELLED
    job = store.get(job_id)
    assert job is not None and job.status is JobStatus.CANCELLED
    assert job.details == "The job was cancelled."


def test_cancelling_an_ended_or_unknown_job_changes_nothing(any_system: System) -> None:
    store = any_system.stores.jobs
    [job_id] = _insert(any_system)
    store.claim_next("w1", 100.0)
    _finish(any_system, job_id, "w1", JobStatus.SUCCESS, "done")
    assert store.request_cancel(job_id, 300.0) is JobStatus.SUCCESS
    assert store.get(job_id).status is JobStatus.SUCCESS  # type: ignore[union-attr]
    assert store.request_cancel(987654, 300.0) is None


# Races on PostgreSQL (READ COMMITTED): each store operation below reads a job's row and
# then writes it. ``_interleave`` runs another operation exactly in that gap, in another
# thread, until it has finished or is waiting for a lock the first one holds. On SQLite
# every write transaction is BEGIN IMMEDIATE, so the other side always waits: the same
# tests then pin the serialised outcome.


def _until_done_or_blocked(system: System, thread: threading.Thread, pids: list[int]) -> None:
    if system.db.is_sqlite:
        thread.join(0.5)  # it can only queue behind our BEGIN IMMEDIATE: that is the point
        return
    deadline = time.monotonic() + JOIN_TIMEOUT
    with system.db.reading() as conn:
        while thread.is_alive() and time.monotonic() < deadline:
            if pids and conn.execute(sa.text("SELECT cardinality(pg_blocking_pids(:pid)) > 0"),
                                     {"pid": pids[0]}).scalar_one():
                return  # it waits for a lock we hold: the store serialised the two
            thread.join(0.02)


def _interleave(system: System, gap: Callable[[str], bool], main: Callable[[], Any],
                other: Callable[[], Any]) -> tuple[Any, Any]:
    """Run ``main``; just before it sends the first statement ``gap`` accepts, run ``other``."""
    results: dict[str, Any] = {}
    pids: list[int] = []
    me = threading.current_thread()

    def run_other() -> None:
        try:
            results["other"] = other()
        except BaseException as exc:  # re-raised in the test's thread
            results["error"] = exc

    thread = threading.Thread(target=run_other, daemon=True)

    def hook(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        current = threading.current_thread()
        if current is thread and not pids and not system.db.is_sqlite:
            pids.append(conn.connection.dbapi_connection.info.backend_pid)
        elif current is me and thread.ident is None and gap(statement):
            thread.start()
            _until_done_or_blocked(system, thread, pids)

    sa.event.listen(system.db.engine, "before_cursor_execute", hook)
    try:
        result = main()
    finally:
        sa.event.remove(system.db.engine, "before_cursor_execute", hook)
    assert thread.ident is not None, "the gap was never reached"
    thread.join(JOIN_TIMEOUT)
    assert not thread.is_alive()
    if "error" in results:
        raise results["error"]
    return result, results["other"]


def _drive_to_end(system: System, job_id: int) -> JobStatus:
    """Everything the system would ever do to a job: recover, claim, run, finish."""
    store = system.stores.jobs
    store.reap_stale(stale_before=1e12, max_attempts=99, now=1e12)
    if store.claim_next("later-worker", 1e12) is not None:
        _finish(system, job_id, "later-worker", JobStatus.SUCCESS, "ran later")
    job = store.get(job_id)
    assert job is not None
    return job.status


def _both_databases(reason: str) -> list[str]:
    """Both databases; ``reason`` names the race the test pins (fixed by row locks)."""
    return ["sqlite", "postgresql"]


def _is_cancel_write(statement: str) -> bool:
    return statement.startswith("UPDATE jobs SET status") and "details" not in statement


def _is_finish_write(statement: str) -> bool:
    return statement.startswith("UPDATE jobs SET status") and "details" in statement


@pytest.mark.parametrize("any_system", _both_databases(
    "request_cancel reads status/worker without a row lock, then sets 2 by job_id alone: "
    "a worker's finish committed in between is overwritten and the job stays 2 forever"),
    indirect=True)
def test_a_cancel_racing_with_the_workers_finish_never_strands_the_job(
        any_system: System) -> None:
    [job_id] = _insert(any_system)
    any_system.stores.jobs.claim_next("w1", 100.0)
    _interleave(any_system, _is_cancel_write,
                lambda: any_system.stores.jobs.request_cancel(job_id, 150.0),
                lambda: _finish(any_system, job_id, "w1", JobStatus.SUCCESS, "done"))
    assert _drive_to_end(any_system, job_id).is_terminal


@pytest.mark.parametrize("any_system", _both_databases(
    "finish reads the status without a row lock: a cancel acknowledged with 2 between "
    "its read and its write is lost, and the job ends 0 with its effects applied"),
    indirect=True)
def test_a_cancel_acknowledged_while_the_worker_finishes_ends_the_job_cancelled(
        any_system: System) -> None:
    [job_id] = _insert(any_system)
    any_system.stores.jobs.claim_next("w1", 100.0)
    written, acknowledged = _interleave(
        any_system, _is_finish_write,
        lambda: _finish(any_system, job_id, "w1", JobStatus.SUCCESS, "done"),
        lambda: any_system.stores.jobs.request_cancel(job_id, 150.0))
    final = _drive_to_end(any_system, job_id)
    assert written is final
    assert (acknowledged, final) in {(JobStatus.SUCCESS, JobStatus.SUCCESS),
                                     (JobStatus.CANCEL_PENDING, JobStatus.CANCELLED)}


@pytest.mark.parametrize("any_system", _both_databases(
    "reap_stale reads stale jobs without a row lock and requeues by worker id alone: a "
    "cancel (2) written in between is left with no worker, and the job stays 2 forever"),
    indirect=True)
def test_a_cancel_racing_with_the_reaper_never_strands_the_job(any_system: System) -> None:
    [job_id] = _insert(any_system)
    any_system.stores.jobs.claim_next("dead", 100.0)
    _interleave(any_system, lambda s: s.startswith("UPDATE jobs SET worker_id"),
                lambda: any_system.stores.jobs.reap_stale(200.0, 3, 300.0),
                lambda: any_system.stores.jobs.request_cancel(job_id, 250.0))
    assert _drive_to_end(any_system, job_id).is_terminal


# -- recovery -----------------------------------------------------------------------


def test_reap_stale_requeues_interrupted_jobs_below_max_attempts(any_system: System) -> None:
    store = any_system.stores.jobs
    stale, fresh, queued = _insert(any_system, 3)
    store.claim_next("dead", 100.0)
    store.claim_next("alive", 500.0)
    result = store.reap_stale(stale_before=200.0, max_attempts=3, now=600.0)
    assert (result.requeued, result.failed, result.cancelled) == ([stale], [], [])
    row = _row(any_system, stale)
    assert (row["status"], row["worker_id"], row["heartbeat_at"]) == (-1, None, None)
    assert (row["attempts"], row["started_at"]) == (1, 100.0)
    assert _row(any_system, fresh)["worker_id"] == "alive"
    assert _row(any_system, queued)["attempts"] == 0
    again = store.claim_next("w2", 700.0)  # oldest queued again: the requeued one
    assert again is not None and again.job_id == stale
    assert (again.attempts, again.started_at) == (2, 100.0)
    assert _finish(any_system, stale, "dead", JobStatus.SUCCESS) is None  # the old owner lost it


def test_reap_stale_fails_a_job_interrupted_max_attempts_times(any_system: System) -> None:
    store = any_system.stores.jobs
    [job_id] = _insert(any_system)
    for attempt in range(1, 4):
        claimed = store.claim_next(f"w{attempt}", 100.0 * attempt)
        assert claimed is not None and claimed.attempts == attempt
        result = store.reap_stale(stale_before=100.0 * attempt + 50, max_attempts=3,
                                  now=100.0 * attempt + 60)
        expected = ([], [job_id]) if attempt == 3 else ([job_id], [])
        assert (result.requeued, result.failed) == expected
    job = store.get(job_id)
    assert job is not None and job.status is JobStatus.ERROR
    assert job.details is not None and "interrupted 3 times" in job.details
    assert job.ended_at == 360.0 and _row(any_system, job_id)["worker_id"] is None
    assert store.claim_next("w4", 400.0) is None


def test_reap_stale_ends_a_stale_cancel_pending_job_as_cancelled(any_system: System) -> None:
    store = any_system.stores.jobs
    [job_id] = _insert(any_system)
    store.claim_next("dead", 100.0)
    store.request_cancel(job_id, 110.0)
    result = store.reap_stale(stale_before=200.0, max_attempts=3, now=300.0)
    assert (result.requeued, result.failed, result.cancelled) == ([], [], [job_id])
    job = store.get(job_id)
    assert job is not None and job.status is JobStatus.CANCELLED and job.ended_at == 300.0


# -- messages and children ----------------------------------------------------------


def _messages(*spec: tuple[MessageType, str]) -> list[JobMessage]:
    return [JobMessage(t, "Cat", text, n if t is MessageType.ERROR else None)
            for n, (t, text) in enumerate(spec, start=3_000_000_000)]


def test_messages_keep_their_order_and_page_with_type_filters(any_system: System) -> None:
    store = any_system.stores.jobs
    job_id, other = _insert(any_system, 2)
    info, warn, err = MessageType.INFO, MessageType.WARNING, MessageType.ERROR
    with any_system.db.transaction() as conn:
        store.add_messages(conn, job_id, 0, _messages((info, "m1"), (warn, "m2"), (err, "m3"),
                                                      (info, "m4"), (err, "m5")))
        store.add_messages(conn, job_id, 0, _messages((warn, "m6")))  # appends after m5
        store.add_messages(conn, job_id, 1, _messages((err, "child")))
        store.add_messages(conn, other, 0, _messages((err, "other job")))
    everything = store.messages(job_id, 0, [], 0, None)
    assert [m.text for m in everything.items] == ["m1", "m2", "m3", "m4", "m5", "m6"]
    assert (everything.total, everything.limit, everything.has_more) == (6, 6, False)
    assert everything.items[2] == JobMessage(err, "Cat", "m3", 3_000_000_002)
    errors = store.messages(job_id, 0, [err], 0, None)
    assert [m.text for m in errors.items] == ["m3", "m5"] and errors.total == 2
    two_types = store.messages(job_id, 0, [err, warn], 0, None)
    assert [m.text for m in two_types.items] == ["m2", "m3", "m5", "m6"]
    page = store.messages(job_id, 0, [], 1, 2)
    assert [m.text for m in page.items] == ["m2", "m3"]
    assert (page.offset, page.limit, page.has_more, page.total) == (1, 2, True, 6)
    tail = store.messages(job_id, 0, [], 4, 2)
    assert [m.text for m in tail.items] == ["m5", "m6"] and not tail.has_more
    filtered_page = store.messages(job_id, 0, [info, err], 2, 1)
    assert [m.text for m in filtered_page.items] == ["m4"] and filtered_page.has_more
    assert [m.text for m in store.messages(job_id, 1, [], 0, None).items] == ["child"]
    empty = store.messages(job_id, 7, [], 0, None)
    assert (empty.items, empty.total, empty.has_more) == ([], 0, False)


def test_children_round_trip_and_page(any_system: System) -> None:
    store = any_system.stores.jobs
    [job_id] = _insert(any_system)
    children = [ChildJob(c, f"Dim{c}", "IMPORT_METADATA", JobStatus.SUCCESS,
                         5_000_000_000 + c, 10 * c, c) for c in (3, 1, 2)]
    with any_system.db.transaction() as conn:
        store.add_children(conn, job_id, children)
    everything = store.children(job_id, 0, None)
    assert [c.child_id for c in everything.items] == [1, 2, 3]
    assert everything.items[0] == ChildJob(1, "Dim1", "IMPORT_METADATA", JobStatus.SUCCESS,
                                           5_000_000_001, 10, 1)
    assert (everything.total, everything.has_more) == (3, False)
    page = store.children(job_id, 1, 1)
    assert [c.child_id for c in page.items] == [2] and page.has_more and page.total == 3
    assert store.child_exists(job_id, 2) and not store.child_exists(job_id, 4)
    none = store.children(job_id + 1, 0, None)
    assert (none.items, none.total, none.has_more) == ([], 0, False)


# -- applications -------------------------------------------------------------------


def test_create_application_with_cubes_in_order(any_system: System) -> None:
    apps = any_system.stores.apps
    cubes = [Cube("Fin", CubeKind.BSO), Cube("Rpt", CubeKind.ASO), Cube("Aux", CubeKind.BSO)]
    app_id = _add_app(any_system, "Sales", cubes)
    assert type(app_id) is int
    app = apps.get("Sales")
    assert app is not None
    assert (app.application_id, app.name, app.app_type, app.admin_mode) == (
        app_id, "Sales", "PBCS", False)
    assert app.cubes == tuple(cubes)
    assert app.cube("rpt") == Cube("Rpt", CubeKind.ASO)
    assert [a.name for a in apps.all()] == ["Sales", "Vision"]


def test_a_duplicate_application_name_is_a_conflict(any_system: System) -> None:
    with pytest.raises(Conflict, match="VISION"):
        _add_app(any_system, "VISION", [Cube("Plan9", CubeKind.BSO)])
    assert [a.name for a in any_system.stores.apps.all()] == ["Vision"]
    assert "Plan9" not in [c.name for c in any_system.stores.apps.get("Vision").cubes]  # type: ignore[union-attr]


def test_two_cubes_with_one_name_are_refused_with_a_clear_error(any_system: System) -> None:
    with pytest.raises(EpmJobsError, match=r"(?i)plan1"):
        _add_app(any_system, "Twins", [Cube("Plan1", CubeKind.BSO), Cube("PLAN1", CubeKind.ASO)])
    assert any_system.stores.apps.get("Twins") is None


def test_application_lookups_ignore_case_and_padding(any_system: System) -> None:
    apps = any_system.stores.apps
    vision = apps.get("Vision")
    assert vision is not None
    for spelling in ("vision", "VISION", " ViSiOn "):
        assert apps.get(spelling) == vision
        assert apps.admin_mode(spelling) == (vision.application_id, False)
    assert apps.get("Nope") is None and apps.admin_mode("Nope") is None


def test_admin_mode_is_stored_and_read_back(any_system: System) -> None:
    apps = any_system.stores.apps
    app_id = _app_id(any_system)
    with any_system.db.transaction() as conn:
        apps.set_admin_mode(conn, app_id, True)
    assert apps.admin_mode("vision") == (app_id, True)
    assert apps.get("Vision").admin_mode is True  # type: ignore[union-attr]
    with any_system.db.transaction() as conn:
        apps.set_admin_mode(conn, app_id, False)
    assert apps.admin_mode("VISION") == (app_id, False)


def _put(system: System, app_id: int, definition: JobDefinition) -> None:
    with system.db.transaction() as conn:
        system.stores.apps.put_definition(conn, app_id, definition, 70.0)


def test_job_definitions_put_replace_filter_and_delete(any_system: System) -> None:
    apps = any_system.stores.apps
    app_id = _add_app(any_system, "Sales", [Cube("Fin", CubeKind.BSO)])
    _put(any_system, app_id, JobDefinition("CUBE_REFRESH", "Nightly", None, {"a": 1}))
    _put(any_system, app_id, JobDefinition("CLEAR_CUBE", "Nightly", "Fin", {"cube": "Fin"}))
    _put(any_system, app_id, JobDefinition("CLEAR_CUBE", "ClearAll", None, {}))
    _put(any_system, app_id, JobDefinition("CUBE_REFRESH", "NIGHTLY", None, {"a": 2}))
    listed = apps.definitions(app_id)
    assert [(d.job_type, d.job_name) for d in listed] == [
        ("CLEAR_CUBE", "ClearAll"), ("CLEAR_CUBE", "Nightly"), ("CUBE_REFRESH", "NIGHTLY")]
    assert apps.definition(app_id, "CUBE_REFRESH", "nightly") == JobDefinition(
        "CUBE_REFRESH", "NIGHTLY", None, {"a": 2})
    assert apps.definition(app_id, "CLEAR_CUBE", "NiGhTlY").plan_type == "Fin"  # type: ignore[union-attr]
    assert [d.job_name for d in apps.definitions(app_id, ("CLEAR_CUBE",))] == [
        "ClearAll", "Nightly"]
    assert apps.definitions(app_id, ("RULES",)) == []
    assert apps.definition(app_id, "RULES", "Nightly") is None
    vision_id = _app_id(any_system)
    assert apps.definition(vision_id, "CUBE_REFRESH", "Nightly") is None  # per application
    with any_system.db.transaction() as conn:
        assert apps.delete_definition(conn, app_id, "CLEAR_CUBE", "nightly") is True
        assert apps.delete_definition(conn, app_id, "CLEAR_CUBE", "nightly") is False
    assert [d.job_name for d in apps.definitions(app_id)] == ["ClearAll", "NIGHTLY"]


def test_deleting_an_application_removes_its_cubes_definitions_and_jobs(
        any_system: System) -> None:
    app_id = _add_app(any_system, "Doomed", [Cube("C1", CubeKind.BSO)])
    _put(any_system, app_id, JobDefinition("CUBE_REFRESH", "R", None, {}))
    [job_id] = _insert(any_system, app="Doomed")
    with any_system.db.transaction() as conn:
        any_system.stores.apps.delete(conn, app_id)
    assert any_system.stores.apps.get("Doomed") is None
    assert any_system.stores.jobs.get(job_id) is None
    with any_system.db.reading() as conn:
        left = conn.execute(sa.select(sa.func.count()).select_from(job_definitions)
                            .where(job_definitions.c.application_id == app_id)).scalar_one()
    assert left == 0


# -- users and tokens ---------------------------------------------------------------


def test_users_are_added_and_found_ignoring_case(any_system: System) -> None:
    users = any_system.stores.users
    before = users.count()
    user_id = users.add("Alice", "User", "hash-1", 10.0)
    assert type(user_id) is int and users.count() == before + 1
    found = users.get("ALICE")
    assert found is not None and (found.user_id, found.username, found.role,
                                  found.password_hash) == (user_id, "Alice", "User", "hash-1")
    assert users.get(" alice ") == found and users.get("bob") is None
    names = [u.username for u in users.all()]
    assert "Alice" in names and names == sorted(names, key=str.casefold)


def test_a_duplicate_user_name_is_a_conflict(any_system: System) -> None:
    users = any_system.stores.users
    users.add("Alice", "User", None, 10.0)
    with pytest.raises(Conflict):
        users.add("aLiCe", "Viewer", None, 11.0)
    assert users.get("alice").role == "User"  # type: ignore[union-attr]


def test_updating_role_and_password(any_system: System) -> None:
    users = any_system.stores.users
    users.add("Alice", "User", "old", 10.0)
    assert users.update("alice", role="Power User") is True
    assert (users.get("Alice").role, users.get("Alice").password_hash) == ("Power User", "old")  # type: ignore[union-attr]
    assert users.update("ALICE", password_hash="new") is True
    assert (users.get("Alice").role, users.get("Alice").password_hash) == ("Power User", "new")  # type: ignore[union-attr]
    assert users.update("nobody", role="Viewer") is False


def test_updating_nothing_reports_whether_the_user_exists(any_system: System) -> None:
    users = any_system.stores.users
    users.add("Alice", "User", "old", 10.0)
    assert users.update("alice") is True
    assert users.update("nobody") is False


def test_removing_a_user_removes_their_tokens(any_system: System) -> None:
    users = any_system.stores.users
    user_id = users.add("Alice", "User", None, 10.0)
    users.add_token(user_id, "a" * 64, "ci", 10.0, None)
    assert users.remove("ALICE") is True and users.remove("alice") is False
    assert users.get("alice") is None
    assert users.user_for_token("a" * 64, 20.0) is None


def test_tokens_resolve_to_their_user_until_they_expire(any_system: System) -> None:
    users = any_system.stores.users
    user_id = users.add("Alice", "User", None, 10.0)
    users.add_token(user_id, "expiring", "short", 100.0, 200.0)
    users.add_token(user_id, "forever", "long", 100.0, None)
    alice = users.get("alice")
    assert users.user_for_token("expiring", 150.0) == alice
    assert users.user_for_token("expiring", 200.0) == alice
    assert users.user_for_token("expiring", 200.5) is None
    assert users.user_for_token("forever", 1e12) == alice
    assert users.user_for_token("unknown", 150.0) is None
    users.update("alice", role="Viewer")
    assert users.user_for_token("forever", 150.0).role == "Viewer"  # type: ignore[union-attr]

