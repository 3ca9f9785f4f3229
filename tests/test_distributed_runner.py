"""The distributed runner on a real PostgreSQL: procrastinate carries the dispatch, the jobs
table stays the record.

Workers run in process (``worker.run`` in burst mode, or in a thread until told to stop);
dead workers are played deterministically: a procrastinate worker registered and then
never heart-beating, a row claimed under a holder that never beats, clocks moved past
them. A test-only job type (``Gate``) stops inside its handler until the test lets it go.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import procrastinate
import pytest
import sqlalchemy as sa

from conftest import make_settings
from epmjobs.bootstrap import bootstrap
from epmjobs.errors import SchemaMismatch
from epmjobs.jobs.context import JobContext
from epmjobs.jobs.distributed import worker as distributed
from epmjobs.jobs.distributed.queue import (
    DATA,
    RUN_TASK,
    SHORT,
    Busy,
    build_app,
    queue_for,
)
from epmjobs.jobs.distributed.tasks import Runtime
from epmjobs.jobs.service import Submission
from epmjobs.jobs.status import JobStatus
from epmjobs.jobs.types import IMPLEMENTATIONS
from epmjobs.security.roles import Principal, Role
from epmjobs.storage import migrate, queuestore
from epmjobs.system import System

ADMIN = Principal("admin", Role.SERVICE_ADMINISTRATOR)
GATED = "COMPACT_CUBE"  # a data-queue catalogue type the gate stands in for
TIMEOUT = 30.0  # every bounded wait; reached only when something is broken
ADMIN_MODE = Submission("ADMINISTRATION_MODE", None, {"loginLevel": "All Users"})


class Gate:
    """A job type that signals it started and waits for the test (or a cancel)."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.proceed = threading.Event()
        self.runs = 0

    def validate(self, parameters: dict[str, Any]) -> dict[str, Any]:
        return parameters

    def run(self, ctx: JobContext) -> str | None:
        self.runs += 1
        self.started.set()
        deadline = time.monotonic() + TIMEOUT
        while not self.proceed.wait(0.01):
            ctx.check_cancelled()
            assert time.monotonic() < deadline, "the gate was never opened"
        ctx.info("The gate opened.")
        return "Gate passed."


@pytest.fixture
def system(postgres_url: str, tmp_path: Path) -> Iterator[System]:
    system = System(make_settings(tmp_path / "data", database_url=postgres_url))
    assert system.settings.resolved_runner == "procrastinate"
    bootstrap(system)
    yield system
    system.close()


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    g = Gate()
    monkeypatch.setitem(IMPLEMENTATIONS, GATED, g)
    yield g
    g.proceed.set()


@pytest.fixture
def background(system: System) -> Iterator[Callable[..., threading.Event]]:
    """Start a distributed worker in a thread; every one is stopped and joined at the end."""
    started: list[tuple[threading.Event, threading.Thread]] = []

    def start(queues: dict[str, int] | None = None, name: str = "bg") -> threading.Event:
        stop = threading.Event()
        thread = threading.Thread(target=distributed.run, daemon=True, args=(
            system, queues or {SHORT: 2, DATA: 1}, name, stop.is_set))
        thread.start()
        started.append((stop, thread))
        return stop

    yield start
    for stop, thread in started:
        stop.set()
        thread.join(TIMEOUT)
        assert not thread.is_alive()


def submit(system: System, submission: Submission = ADMIN_MODE) -> int:
    return system.job_service.submit(ADMIN, "Vision", submission).job_id


def burst(system: System, queues: dict[str, int] | None = None) -> None:
    """Run what is queued until nothing is, then return (deterministic)."""
    distributed.run(system, queues or {SHORT: 2, DATA: 1}, "burst", burst=True)


def tasks(system: System) -> list[dict[str, Any]]:
    with system.db.reading() as conn:
        rows = conn.execute(sa.text(
            "SELECT id, queue_name, lock, status::text AS status, args, scheduled_at"
            " FROM procrastinate_jobs WHERE task_name = :t ORDER BY id"), {"t": RUN_TASK})
        return [dict(r._mapping) for r in rows]


def row(system: System, job_id: int) -> tuple[Any, ...]:
    with system.db.reading() as conn:
        return tuple(conn.execute(sa.text(
            "SELECT status, worker_id, attempts FROM jobs WHERE job_id = :id"),
            {"id": job_id}).one())


def wait_for(predicate: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + TIMEOUT
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return value


# -- dispatch: one task per job row, in the row's transaction ------------------------------

def test_a_submitted_job_gets_exactly_one_task_in_its_queue(system: System) -> None:
    job_id = submit(system)
    refresh = submit(system, Submission("CUBE_REFRESH", "RefreshDB", {}))
    found = tasks(system)
    assert [(t["args"], t["queue_name"], t["status"]) for t in found] == [
        ({"job_id": job_id}, SHORT, "todo"), ({"job_id": refresh}, DATA, "todo")]
    vision = system.stores.apps.get("Vision")
    assert vision is not None
    assert found[0]["lock"] is None and found[1]["lock"] == f"outline:{vision.application_id}"


def test_a_rolled_back_submission_leaves_neither_row_nor_task(system: System) -> None:
    vision = system.stores.apps.get("Vision")
    assert vision is not None
    with pytest.raises(RuntimeError), system.db.transaction() as conn:
        job_id = system.stores.jobs.insert(
            conn, application_id=vision.application_id, job_type="ADMINISTRATION_MODE",
            job_name="x", parameters={}, submitted_by="admin", now=time.time())
        system.dispatcher.dispatch(conn, job_id, "ADMINISTRATION_MODE", None)
        assert len(tasks(system)) == 0, "not visible before the commit"
        raise RuntimeError("the insert transaction fails after the defer")
    assert system.stores.jobs.get(job_id) is None and tasks(system) == []


def test_queues_separate_short_jobs_from_data_jobs() -> None:
    assert queue_for("ADMINISTRATION_MODE") == SHORT == queue_for("EXPORT_JOB_CONSOLE")
    assert {queue_for(t) for t in ("IMPORT_DATA", "RULES", "CUBE_REFRESH", "CLEAR_CUBE")} \
        == {DATA}
    assert distributed.parse_queues("short=3, data") == {SHORT: 3, DATA: 1}
    for bad in ("", "bulk=2", "short=0"):
        with pytest.raises(ValueError):
            distributed.parse_queues(bad)


# -- running ---------------------------------------------------------------------------------

def test_a_burst_worker_runs_every_job_once_and_clears_its_tasks(system: System) -> None:
    ids = [submit(system) for _ in range(12)]
    burst(system)
    assert [row(system, i) for i in ids] == [(0, None, 1)] * 12
    assert tasks(system) == [], "succeeded tasks are deleted"
    for job_id in ids:
        assert len(system.stores.jobs.messages(job_id, 0, [], 0, None).items) == 1


def test_a_task_whose_row_ended_does_nothing(system: System) -> None:
    job_id = submit(system)
    assert system.stores.jobs.request_cancel(job_id, time.time()) is JobStatus.CANCELLED
    burst(system)
    assert row(system, job_id) == (3, None, 0) and tasks(system) == []


def test_a_long_data_job_does_not_hold_up_short_jobs(
        system: System, gate: Gate, background: Callable[..., threading.Event]) -> None:
    background({SHORT: 1, DATA: 1})
    slow = submit(system, Submission(GATED, None, {}))
    assert gate.started.wait(TIMEOUT)
    quick = [submit(system) for _ in range(3)]
    wait_for(lambda: all(row(system, i)[0] == 0 for i in quick), "the short jobs")
    assert row(system, slow)[0] == -1, "the data job is still running"
    gate.proceed.set()
    wait_for(lambda: row(system, slow)[0] == 0, "the data job")


def test_jobs_with_one_lock_key_run_one_at_a_time_in_order(
        system: System, gate: Gate, monkeypatch: pytest.MonkeyPatch,
        background: Callable[..., threading.Event]) -> None:
    monkeypatch.setitem(IMPLEMENTATIONS, "SORT_MEMBERS", gate)  # an outline job: lock key
    first = submit(system, Submission("SORT_MEMBERS", None, {}))
    second = submit(system, Submission("SORT_MEMBERS", None, {}))
    background({SHORT: 1, DATA: 2})
    assert gate.started.wait(TIMEOUT)
    assert asyncio.run(_fetch_any(system)) is None, "no worker may take the second job"
    assert row(system, second) == (-1, None, 0)
    gate.proceed.set()
    wait_for(lambda: row(system, second)[0] == 0, "the second job")
    ended = {i: system.stores.jobs.get(i) for i in (first, second)}
    assert ended[first].ended_at <= ended[second].started_at  # type: ignore[union-attr, operator]


async def _fetch_any(system: System) -> Any:
    """What a free worker would be given now (it is given back if anything)."""
    app = build_app(system.settings)
    async with app.open_async():
        worker_id = await app.job_manager.register_worker()
        job = await app.job_manager.fetch_job(queues=None, worker_id=worker_id)
        if job is not None:
            await app.job_manager.retry_job(job)
        await app.job_manager.unregister_worker(worker_id)
        return job


# -- cancel with abort -----------------------------------------------------------------------

def test_cancelling_a_queued_job_removes_its_task(system: System) -> None:
    job_id = submit(system)
    cancelled = system.job_service.cancel(ADMIN, job_id)
    assert cancelled.status is JobStatus.CANCELLED and tasks(system) == []


def test_cancelling_a_running_job_aborts_it_and_commits_nothing(
        system: System, gate: Gate, background: Callable[..., threading.Event]) -> None:
    background()
    job_id = submit(system, Submission(GATED, None, {}))
    assert gate.started.wait(TIMEOUT)
    # 2 until the handler stops: the abort reaches it at once, so it may be 3 already
    assert system.job_service.cancel(ADMIN, job_id).status in (JobStatus.CANCEL_PENDING,
                                                               JobStatus.CANCELLED)
    wait_for(lambda: row(system, job_id)[0] == 3, "the cancel")
    assert system.stores.jobs.messages(job_id, 0, [], 0, None).items == []
    wait_for(lambda: tasks(system) == [], "the task to end")


# -- graceful stop: finish, or hand back -----------------------------------------------------

def test_a_stopping_worker_hands_back_a_job_that_outlives_its_grace(
        system: System, gate: Gate) -> None:
    quick = System(make_settings(system.settings.data_dir,
                                 database_url=system.settings.database_url,
                                 shutdown_grace_seconds=0.2))
    stop = threading.Event()
    thread = threading.Thread(target=distributed.run, daemon=True,
                              args=(quick, {DATA: 1}, "leaving", stop.is_set))
    thread.start()
    try:
        job_id = submit(system, Submission(GATED, None, {}))
        assert gate.started.wait(TIMEOUT)
        stop.set()
        thread.join(TIMEOUT)
        assert not thread.is_alive()
        assert row(system, job_id) == (-1, None, 0), "queued again, the attempt given back"
        assert [t["status"] for t in tasks(system)] == ["todo"]
        gate.proceed.set()
        burst(system)
        assert row(system, job_id) == (0, None, 1) and gate.runs == 2
    finally:
        stop.set()
        quick.close()


# -- recovery: dead workers, lost tasks, busy rows -------------------------------------------

async def _die_holding_a_task(system: System) -> int:
    """A procrastinate worker that fetches a task and dies: its heartbeat is an hour old."""
    app = build_app(system.settings)
    async with app.open_async():
        worker_id = await app.job_manager.register_worker()
        job = await app.job_manager.fetch_job(queues=None, worker_id=worker_id)
        assert job is not None and job.id is not None
    with system.db.transaction() as conn:
        conn.execute(sa.text("UPDATE procrastinate_workers SET last_heartbeat = now() -"
                             " interval '1 hour' WHERE id = :id"), {"id": worker_id})
    return int(job.task_kwargs["job_id"])


def _recover(system: System) -> None:
    async def go() -> None:
        app = build_app(system.settings)
        async with app.open_async():
            await Runtime(system, "recovery").recover(app)
    asyncio.run(go())


def test_a_job_whose_worker_died_mid_run_runs_again_once(system: System) -> None:
    job_id = submit(system)
    assert asyncio.run(_die_holding_a_task(system)) == job_id
    claimed = system.stores.jobs.claim(job_id, "dead.1", time.time() - 3600)
    assert claimed.job is not None
    assert [t["status"] for t in tasks(system)] == ["doing"]
    burst(system)
    assert row(system, job_id) == (-1, "dead.1", 1), "nothing runs a doing task"
    _recover(system)
    assert row(system, job_id) == (-1, None, 1), "the row is queued again"
    assert [t["status"] for t in tasks(system)] == ["todo"], "and its task too"
    burst(system)
    assert row(system, job_id) == (0, None, 2)
    assert len(system.stores.jobs.messages(job_id, 0, [], 0, None).items) == 1


def test_a_job_whose_worker_died_before_claiming_it_is_not_lost(system: System) -> None:
    job_id = submit(system)
    asyncio.run(_die_holding_a_task(system))
    _recover(system)
    burst(system)
    assert row(system, job_id) == (0, None, 1)


def test_a_queued_job_that_lost_its_task_gets_a_new_one(system: System) -> None:
    job_id = submit(system)
    with system.db.transaction() as conn:
        conn.execute(sa.text("DELETE FROM procrastinate_jobs"))
        conn.execute(sa.text("UPDATE jobs SET submitted_at = submitted_at - 3600"))
    _recover(system)
    assert [t["args"] for t in tasks(system)] == [{"job_id": job_id}]
    burst(system)
    assert row(system, job_id) == (0, None, 1)


def test_a_task_finding_its_row_held_tries_again_later(system: System) -> None:
    job_id = submit(system)
    assert system.stores.jobs.claim(job_id, "slow.1", time.time()).job is not None
    burst(system)
    [task] = tasks(system)
    assert task["status"] == "todo" and task["scheduled_at"] is not None, "retried later"
    with pytest.raises(Busy):
        Runtime(system).run(_context_for(job_id), job_id)
    assert row(system, job_id) == (-1, "slow.1", 1)


def _context_for(job_id: int) -> Any:
    from procrastinate.job_context import JobContext as QueueContext
    from procrastinate.jobs import Job as QueueJob
    from procrastinate.testing import InMemoryConnector

    job = QueueJob(id=1, queue=SHORT, lock=None, queueing_lock=None, task_name=RUN_TASK,
                   task_kwargs={"job_id": job_id})
    return QueueContext(app=procrastinate.App(connector=InMemoryConnector()),
                        job=job, start_timestamp=time.time(), abort_reason=lambda: None)


# -- the queue schema ---------------------------------------------------------------------------

def test_serve_refuses_a_database_whose_queue_schema_is_missing(system: System) -> None:
    with system.db.transaction() as conn:
        conn.execute(sa.text("COMMENT ON TABLE procrastinate_jobs IS NULL"))
    with pytest.raises(SchemaMismatch, match="epmjobs migrate"):
        migrate.ensure_current(system.db)
    with pytest.raises(SchemaMismatch, match="not installed by"):
        migrate.upgrade(system.db)
    with system.db.transaction() as conn:
        conn.execute(sa.text(f"COMMENT ON TABLE procrastinate_jobs IS "
                             f"'{queuestore.MARKER}{queuestore.head_version()}'"))
    migrate.ensure_current(system.db)
