"""A job's life through the jobs service and the embedded worker, on both databases.

A test-only job type (``Probe``) is registered for one test at a time under a catalogue
name; its ``mode`` parameter chooses what it does: succeed, fail in each way, raise from
an effect, or stop at a gate until the test lets it go. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection

from conftest import make_settings
from epmjobs.bootstrap import bootstrap
from epmjobs.errors import InvalidJobParameter, JobFailed
from epmjobs.jobs.context import JobContext
from epmjobs.jobs.definitions import JobDefinition
from epmjobs.jobs.model import Job, MessageType
from epmjobs.jobs.runner import Worker
from epmjobs.jobs.service import Submission
from epmjobs.jobs.status import JobStatus
from epmjobs.jobs.types import IMPLEMENTATIONS
from epmjobs.jobs.wakeup import socket_dir
from epmjobs.security.roles import Principal, Role
from epmjobs.storage.jobstore import JobFilter
from epmjobs.system import System

PROBE_TYPE = "COMPACT_CUBE"  # a catalogue type; the probe stands in for it per test
ADMIN = Principal("admin", Role.SERVICE_ADMINISTRATOR)
TIMEOUT = 30.0  # the bound on every join and wait: reached only when something is broken


class Probe:
    """A job type for tests; ``seen`` records what the handler and its effects observed."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.proceed = threading.Event()
        self.seen: dict[str, Any] = {}

    def validate(self, parameters: dict[str, Any]) -> dict[str, Any]:
        if parameters.get("mode") == "refuse":
            raise InvalidJobParameter("Parameter mode may not be refuse.")
        return {**parameters, "validated": True}

    def run(self, ctx: JobContext) -> str | None:
        mode = ctx.parameters["mode"]
        self.seen["status while running"] = ctx.stores.jobs.get(ctx.job.job_id).status
        ctx.info("The probe ran.")
        ctx.on_commit(lambda conn: _write_effect(ctx, conn))
        if mode in ("gate", "gate_then_check"):
            self.started.set()
            assert self.proceed.wait(TIMEOUT)
            if mode == "gate_then_check":
                ctx.check_cancelled()
        elif mode == "observe":
            ctx.on_commit(lambda conn: self._observe_from_outside(ctx))
        elif mode == "effect_raises":
            ctx.on_commit(_raise_disk_full)
        elif mode == "fail":
            raise JobFailed("The cube is locked by another job.")
        elif mode == "invalid":
            raise InvalidJobParameter("Parameter cube names no cube of Vision.")
        elif mode == "crash":
            raise ZeroDivisionError("division by zero")
        return f"The probe ({mode}) is done."

    def _observe_from_outside(self, ctx: JobContext) -> None:
        """Inside the final transaction: what does any other connection see right now?"""
        self.seen["outside, during commit"] = (ctx.stores.jobs.status(ctx.job.job_id),
                                               _effects_of(ctx.stores))


def _write_effect(ctx: JobContext, conn: Connection) -> None:
    """The probe's effect: a job definition named for the job and the attempt."""
    name = f"Probe-{ctx.job.job_id}-{ctx.job.attempts}"
    ctx.stores.apps.put_definition(conn, ctx.application.application_id,
                                   JobDefinition("CUBE_REFRESH", name, None, {}), time.time())


def _raise_disk_full(conn: Connection) -> None:
    raise OSError("disk full")


def _effects_of(stores: Any) -> list[str]:
    vision = stores.apps.get("Vision")
    return [d.job_name for d in stores.apps.definitions(vision.application_id)
            if d.job_name.startswith("Probe-")]


@pytest.fixture
def in_thread() -> Iterator[Callable[[Callable[[], object]], threading.Thread]]:
    """Start a function in a daemon thread; every thread is joined (bounded) at the end."""
    threads: list[threading.Thread] = []

    def start(fn: Callable[[], object]) -> threading.Thread:
        thread = threading.Thread(target=fn, daemon=True)
        thread.start()
        threads.append(thread)
        return thread

    yield start
    for thread in threads:
        thread.join(TIMEOUT)
        assert not thread.is_alive()


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch, in_thread: Any) -> Iterator[Probe]:
    """The probe, registered for this test only. It depends on ``in_thread`` so that its
    teardown (opening the gate, should a test fail before it does) runs before the joins."""
    p = Probe()
    monkeypatch.setitem(IMPLEMENTATIONS, PROBE_TYPE, p)
    yield p
    p.proceed.set()


@pytest.fixture
def any_worker(any_system: System) -> Worker:
    return Worker(any_system, "test-worker")


def _submit(system: System, mode: str) -> int:
    job = system.job_service.submit(ADMIN, "Vision",
                                    Submission(PROBE_TYPE, None, {"mode": mode}))
    assert job.status is JobStatus.RUNNING
    return job.job_id


def _get(system: System, job_id: int) -> Job:
    return system.job_service.get(ADMIN, "Vision", job_id)


def _messages(system: System, job_id: int) -> list[tuple[MessageType, str]]:
    page = system.stores.jobs.messages(job_id, 0, [], 0, None)
    return [(m.msg_type, m.text) for m in page.items]


def _join(thread: threading.Thread) -> None:
    thread.join(TIMEOUT)
    assert not thread.is_alive(), "the worker did not finish the job"


# -- from submission to the end -------------------------------------------------------


def test_a_job_is_running_from_submission_until_it_ends(
        any_system: System, any_worker: Worker, probe: Probe, in_thread: Any) -> None:
    job_id = _submit(any_system, "gate")
    assert _get(any_system, job_id).status is JobStatus.RUNNING
    runner = in_thread(any_worker.run_one)
    assert probe.started.wait(TIMEOUT)
    running = _get(any_system, job_id)
    assert (running.status, running.attempts, running.ended_at) == (JobStatus.RUNNING, 1, None)
    probe.proceed.set()
    _join(runner)
    ended = _get(any_system, job_id)
    assert (ended.status, ended.details) == (JobStatus.SUCCESS, "The probe (gate) is done.")
    assert ended.ended_at is not None and ended.parameters["validated"] is True
    assert probe.seen["status while running"] is JobStatus.RUNNING
    assert _effects_of(any_system.stores) == [f"Probe-{job_id}-1"]
    assert _messages(any_system, job_id) == [(MessageType.INFO, "The probe ran.")]


def test_success_commits_the_effects_and_status_0_together(
        any_system: System, any_worker: Worker, probe: Probe) -> None:
    job_id = _submit(any_system, "observe")
    assert any_worker.drain() == 1
    # While the final transaction ran, other connections saw neither the end nor the effect.
    assert probe.seen["outside, during commit"] == (JobStatus.RUNNING, [])
    assert _get(any_system, job_id).status is JobStatus.SUCCESS
    assert _effects_of(any_system.stores) == [f"Probe-{job_id}-1"]


def test_an_effect_that_raises_leaves_no_effect_and_ends_the_job_with_1(
        any_system: System, any_worker: Worker, probe: Probe) -> None:
    job_id = _submit(any_system, "effect_raises")
    assert any_worker.drain() == 1
    job = _get(any_system, job_id)
    assert job.status is JobStatus.ERROR
    assert job.details is not None
    assert job.details.startswith("The job's changes could not be saved")
    assert "disk full" in job.details
    assert _effects_of(any_system.stores) == []
    assert (MessageType.ERROR, job.details) in _messages(any_system, job_id)


@pytest.mark.parametrize(("mode", "status", "text"), [
    ("fail", JobStatus.ERROR, "The cube is locked by another job."),
    ("invalid", JobStatus.INVALID_PARAMETER, "Parameter cube names no cube of Vision."),
    ("crash", JobStatus.ERROR, "internal error: ZeroDivisionError: division by zero"),
])
def test_a_failing_handler_ends_its_job_and_the_worker_carries_on(
        any_system: System, any_worker: Worker, probe: Probe,
        mode: str, status: JobStatus, text: str) -> None:
    failing = _submit(any_system, mode)
    following = _submit(any_system, "ok")
    assert any_worker.drain() == 2
    job = _get(any_system, failing)
    assert job.status is status
    assert job.details is not None and text in job.details
    assert "Traceback" not in job.details
    assert (MessageType.ERROR, job.details) in _messages(any_system, failing)
    assert _get(any_system, following).status is JobStatus.SUCCESS
    assert _effects_of(any_system.stores) == [f"Probe-{following}-1"]  # not the failed one's


def test_a_refused_parameter_gets_no_job_id(system: System, probe: Probe) -> None:
    before = system.stores.jobs.search(JobFilter(), 0, 10).items
    with pytest.raises(InvalidJobParameter, match="may not be refuse"):
        _submit(system, "refuse")
    assert system.stores.jobs.search(JobFilter(), 0, 10).items == before


def test_a_job_whose_type_can_no_longer_run_still_ends(
        system: System, worker: Worker, probe: Probe, monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = _submit(system, "ok")
    monkeypatch.delitem(IMPLEMENTATIONS, PROBE_TYPE)
    assert worker.drain() == 1
    job = _get(system, job_id)
    assert job.status is JobStatus.ERROR and "cannot run here" in (job.details or "")


# -- cancellation ---------------------------------------------------------------------


def test_cancelling_a_running_job_ends_it_cancelled_without_its_effects(
        any_system: System, any_worker: Worker, probe: Probe, in_thread: Any) -> None:
    job_id = _submit(any_system, "gate_then_check")
    runner = in_thread(any_worker.run_one)
    assert probe.started.wait(TIMEOUT)
    asked = any_system.job_service.cancel(ADMIN, job_id)
    assert asked.status is JobStatus.CANCEL_PENDING
    assert _get(any_system, job_id).status is JobStatus.CANCEL_PENDING
    probe.proceed.set()
    _join(runner)
    job = _get(any_system, job_id)
    assert (job.status, job.details) == (JobStatus.CANCELLED, "The job was cancelled.")
    assert _effects_of(any_system.stores) == []


def test_a_handler_that_never_checks_still_ends_cancelled_without_effects(
        any_system: System, any_worker: Worker, probe: Probe, in_thread: Any) -> None:
    job_id = _submit(any_system, "gate")
    runner = in_thread(any_worker.run_one)
    assert probe.started.wait(TIMEOUT)
    any_system.job_service.cancel(ADMIN, job_id)
    probe.proceed.set()
    _join(runner)
    assert _get(any_system, job_id).status is JobStatus.CANCELLED
    assert _effects_of(any_system.stores) == []


def test_cancelling_a_queued_job_ends_it_before_any_worker_runs_it(
        any_system: System, any_worker: Worker, probe: Probe) -> None:
    job_id = _submit(any_system, "ok")
    assert any_system.job_service.cancel(ADMIN, job_id).status is JobStatus.CANCELLED
    assert any_worker.drain() == 0
    assert "status while running" not in probe.seen
    assert _effects_of(any_system.stores) == []


# -- interruption ---------------------------------------------------------------------


def test_an_interrupted_job_runs_again_and_applies_its_effects_once(
        any_system: System, any_worker: Worker, probe: Probe) -> None:
    job_id = _submit(any_system, "ok")
    dead = any_system.stores.jobs.claim_next("dead-worker", time.time() - 100)
    assert dead is not None and dead.job_id == job_id
    any_worker.reap(stale_before=time.time() - 10)
    assert any_worker.drain() == 1
    job = _get(any_system, job_id)
    assert (job.status, job.attempts) == (JobStatus.SUCCESS, 2)
    assert _effects_of(any_system.stores) == [f"Probe-{job_id}-2"]


def test_a_heart_beating_job_is_not_reaped_while_it_runs(
        system: System, worker: Worker, probe: Probe, in_thread: Any) -> None:
    job_id = _submit(system, "gate")
    runner = in_thread(worker.run_one)
    assert probe.started.wait(TIMEOUT)
    time.sleep(system.settings.stale_after_seconds + 0.3)  # outlive the stale threshold
    Worker(system, "other").reap(time.time() - system.settings.stale_after_seconds)
    probe.proceed.set()
    _join(runner)
    job = _get(system, job_id)
    assert (job.status, job.attempts) == (JobStatus.SUCCESS, 1)


# -- following a job: the long poll -----------------------------------------------------


def test_wait_returns_as_soon_as_the_job_ends(
        any_system: System, any_worker: Worker, probe: Probe, in_thread: Any) -> None:
    job_id = _submit(any_system, "gate")
    timeout = 20.0

    async def scenario() -> tuple[Job, float]:
        waiting = asyncio.create_task(any_system.job_service.wait(ADMIN, job_id, timeout))
        in_thread(any_worker.run_one)
        assert await asyncio.to_thread(probe.started.wait, TIMEOUT)
        await asyncio.sleep(0.2)
        assert not waiting.done(), "wait returned while the job was still running"
        started = time.monotonic()
        probe.proceed.set()
        job = await asyncio.wait_for(waiting, TIMEOUT)
        return job, time.monotonic() - started

    job, elapsed = asyncio.run(scenario())
    assert job.status is JobStatus.SUCCESS
    assert elapsed < timeout / 4, f"wait took {elapsed:.2f}s after the job ended"


def test_wait_returns_the_running_job_when_the_timeout_passes(
        any_system: System, probe: Probe) -> None:
    job_id = _submit(any_system, "ok")
    started = time.monotonic()
    job = asyncio.run(any_system.job_service.wait(ADMIN, job_id, 0.3))
    assert job.status is JobStatus.RUNNING and job.job_id == job_id
    assert time.monotonic() - started >= 0.3


def test_wait_never_waits_longer_than_wait_max_seconds(
        system: System, probe: Probe, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system, "settings", system.settings.with_overrides(wait_max_seconds=0.2))
    job_id = _submit(system, "ok")
    started = time.monotonic()
    job = asyncio.run(system.job_service.wait(ADMIN, job_id, 600.0))
    assert job.status is JobStatus.RUNNING
    assert time.monotonic() - started < 10.0


def test_wait_on_an_ended_job_returns_it_at_once(
        system: System, worker: Worker, probe: Probe) -> None:
    job_id = _submit(system, "ok")
    worker.drain()
    started = time.monotonic()
    job = asyncio.run(system.job_service.wait(ADMIN, job_id, 600.0))
    assert job.status is JobStatus.SUCCESS
    assert time.monotonic() - started < 10.0


# -- the wake-up bell -------------------------------------------------------------------


def test_an_idle_worker_is_woken_by_a_submission(
        system: System, probe: Probe, monkeypatch: pytest.MonkeyPatch, in_thread: Any) -> None:
    idle_poll = 5.0
    monkeypatch.setattr(system, "settings",
                        system.settings.with_overrides(idle_poll_seconds=idle_poll))
    worker = Worker(system, "bell")
    stop = threading.Event()
    loop = in_thread(lambda: worker.run(stop.is_set))
    try:
        deadline = time.monotonic() + TIMEOUT
        while not any(socket_dir(system.run_dir).glob("worker-*.sock")):  # what the bell rings
            assert time.monotonic() < deadline, "the worker never started listening"
            time.sleep(0.01)
        time.sleep(0.3)  # let it find the queue empty and go to sleep on the bell
        submitted = time.monotonic()
        job_id = _submit(system, "ok")
        while not _get(system, job_id).is_terminal:
            assert time.monotonic() - submitted < idle_poll / 2, \
                "the job waited for the idle poll: the bell did not wake the worker"
            time.sleep(0.01)
    finally:
        stop.set()
        system.bell.ring()
    _join(loop)
    assert _get(system, job_id).status is JobStatus.SUCCESS


def test_a_worker_in_a_deep_data_directory_still_runs_jobs(
        tmp_path: Path, probe: Probe, in_thread: Any) -> None:
    system = System(make_settings(tmp_path / ("deep" * 20)))
    try:
        bootstrap(system)
        worker, stop, errors = Worker(system, "deep-worker"), threading.Event(), []

        def loop() -> None:
            try:
                worker.run(stop.is_set)
            except Exception as exc:
                errors.append(exc)

        thread = in_thread(loop)
        job_id = _submit(system, "ok")
        deadline = time.monotonic() + TIMEOUT
        while not errors and not _get(system, job_id).is_terminal:
            assert time.monotonic() < deadline, "the job never ran"
            time.sleep(0.02)
        stop.set()
        system.bell.ring()
        _join(thread)
        assert errors == []
        assert _get(system, job_id).status is JobStatus.SUCCESS
    finally:
        system.close()
