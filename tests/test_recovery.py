"""Invariants 2 and 3 under kill -9: a job always ends, its effects apply once or not at all.

The ``processes`` tests run real `epmjobs serve` processes on a temporary data dir,
submit ADMINISTRATION_MODE jobs over HTTP and kill -9 the server (alone or with its
whole process group) or single job workers at seeded random moments while jobs are in
flight. After a restart every job the API accepted (201) must end: 0, or 1 with a
details text saying it was interrupted; never stuck at -1 or 2, never lost, never run
twice (a successful job has exactly one INFO message: its effects and its status were
committed together, once).

Some kills are random; others land for certain between a job's claim and its commit:
the test takes SQLite's write lock while a worker holds a job ("frozen"), kills, lets go.

The other tests play a dead worker in process, deterministically: claim a job under a
worker id that never heart-beats, move the reaper's clock past it, and look.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import ADMIN
from epmjobs.jobs.model import MessageType
from epmjobs.jobs.runner import Worker
from epmjobs.jobs.status import JobStatus
from epmjobs.system import System
from procs import (
    ADMIN_MODE_JOB,
    JOBS,
    Server,
    ServerFarm,
    children,
    group_members,
    is_alive,
    wait_until,
)

MAX_ATTEMPTS = 3  # procs.FAST_ENGINE sets EPMJOBS_MAX_ATTEMPTS to this
SETTLE_TIMEOUT = 120.0  # "a bounded time after restart": generous (shared, noisy machines)
LIST = "/epmjobs/v1/jobs"


# -- helpers: load, observation, the invariants ------------------------------------------

@dataclass
class Submitter:
    """Threads posting jobs until ``total`` are sent, they are told to stop, or serve dies."""

    url: str
    total: int
    threads: int = 6
    pace: float = 0.0
    accepted: list[int] = field(default_factory=list)
    unanswered: int = 0  # POSTs cut by the kill: their job may or may not exist
    refused: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._sent = 0
        self._threads = [threading.Thread(target=self._post_loop, daemon=True)
                         for _ in range(self.threads)]

    def start(self) -> Submitter:
        for t in self._threads:
            t.start()
        return self

    def _take_ticket(self) -> bool:
        with self._lock:
            if self.stop.is_set() or self._sent >= self.total:
                return False
            self._sent += 1
            return True

    def _post_loop(self) -> None:
        with httpx.Client(base_url=self.url, auth=ADMIN, timeout=15.0) as client:
            while self._take_ticket():
                try:
                    response = client.post(JOBS, json=ADMIN_MODE_JOB)
                except httpx.TransportError:
                    with self._lock:
                        self.unanswered += 1
                    return  # the server is gone
                with self._lock:
                    if response.status_code == 201:
                        self.accepted.append(response.json()["jobId"])
                    else:
                        self.refused.append(f"{response.status_code} {response.text[:200]}")
                if self.pace:
                    time.sleep(self.pace)

    def count(self) -> int:
        with self._lock:
            return len(self.accepted)

    def one_more(self) -> None:
        """Post one job now and record it (workers may have drained the queue)."""
        response = httpx.post(self.url + JOBS, json=ADMIN_MODE_JOB, auth=ADMIN, timeout=15.0)
        with self._lock:
            if response.status_code == 201:
                self.accepted.append(response.json()["jobId"])
            else:
                self.refused.append(f"{response.status_code} {response.text[:200]}")

    def join(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self._threads), "submitters did not stop"
        assert not self.refused, f"submissions refused: {self.refused[:3]}"


def all_jobs(url: str) -> dict[int, dict[str, Any]]:
    """Every job of the installation, by id, through the list extension."""
    found: dict[int, dict[str, Any]] = {}
    with httpx.Client(base_url=url, auth=ADMIN, timeout=15.0) as client:
        offset = 0
        while True:
            page = client.get(LIST, params={"offset": offset, "limit": 1000})
            assert page.status_code == 200, page.text
            body = page.json()
            found.update({item["jobId"]: item for item in body["items"]})
            if not body["hasMore"]:
                return found
            offset += len(body["items"])


def max_job_id(url: str) -> int:
    with httpx.Client(base_url=url, auth=ADMIN, timeout=15.0) as client:
        items = client.get(LIST, params={"limit": 1}).json()["items"]
    return items[0]["jobId"] if items else 0


def unfinished_count(url: str) -> int:
    with httpx.Client(base_url=url, auth=ADMIN, timeout=15.0) as client:
        body = client.get(LIST, params={"status": "-1,2", "limit": 1000}).json()
    return len(body["items"])


def wait_all_terminal(farm: ServerFarm, url: str, data: Path,
                      timeout: float = SETTLE_TIMEOUT) -> float:
    """Seconds until no job is -1 or 2; fails, showing the stuck rows, after ``timeout``."""
    started = time.monotonic()
    try:
        wait_until(lambda: unfinished_count(url) == 0, timeout, interval=0.1,
                   what="every job to reach a terminal status")
    except TimeoutError as exc:
        raise AssertionError(f"{exc}; still unfinished: {unfinished_rows(data)}"
                             + _with_logs(farm)) from None
    return time.monotonic() - started


def unfinished_rows(data: Path) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(f"file:{data / 'epmjobs.sqlite3'}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute("SELECT job_id, status, worker_id, heartbeat_at, attempts FROM jobs"
                          " WHERE status IN (-1, 2) ORDER BY job_id LIMIT 20").fetchall()
    finally:
        db.close()


def epoch(iso: str | None) -> float | None:
    return None if iso is None else datetime.fromisoformat(iso).timestamp()


def assert_jobs_ended_once(url: str, accepted: list[int], unanswered: int) -> dict[int, Any]:
    """Invariants 2 and 3 over every job row, as seen through the API."""
    assert len(accepted) == len(set(accepted)), "the same job id was answered twice"
    rows = all_jobs(url)
    lost = set(accepted) - set(rows)
    assert not lost, f"accepted jobs lost: {sorted(lost)[:20]}"
    # A POST cut by the kill may have committed its job without answering: at most one each.
    extra = set(rows) - set(accepted)
    assert len(extra) <= unanswered, (len(extra), unanswered)
    problems = []
    with httpx.Client(base_url=url, auth=ADMIN, timeout=15.0) as client:
        for job_id, row in sorted(rows.items()):
            status, details = row["status"], row["details"] or ""
            messages = client.get(f"{JOBS}/{job_id}/details").json()["items"]
            infos = [m for m in messages if m["msgType"] == "INFO"]
            if not 1 <= row["attempts"] <= MAX_ATTEMPTS:
                problems.append((job_id, "attempts", row["attempts"]))
            if status == 0:
                if len(messages) != 1 or len(infos) != 1:
                    problems.append((job_id, "messages", messages))
                if "login level set to All Users" not in details:
                    problems.append((job_id, "details", details))
            elif status == 1:
                if "interrupted" not in details.lower():
                    problems.append((job_id, "status 1 without 'interrupted'", details))
                if infos:  # its effects did not commit, so neither did its messages
                    problems.append((job_id, "interrupted job has messages", messages))
            else:
                problems.append((job_id, "status", status, details))
    assert not problems, problems[:10]
    return rows


def in_flight_at(rows: dict[int, Any], ids: list[int], moment: float) -> int:
    """How many of ``ids`` had not ended at ``moment`` (so were queued or running)."""
    return sum(1 for i in ids if (epoch(rows[i]["endedAt"]) or 0) > moment)


@pytest.fixture
def data() -> Iterator[Path]:
    """A data dir with a short path, so workers get their wake-up sockets (Unix caps a
    socket path near 107 bytes; see test_a_worker_runs_jobs_under_a_long_data_dir)."""
    root = Path(tempfile.mkdtemp(prefix="epr", dir="/tmp"))
    try:
        yield root / "data"
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def farm(tmp_path: Path, data: Path) -> Iterator[ServerFarm]:
    """Every server a test starts, killed at its end (before its data dir goes)."""
    farm = ServerFarm(tmp_path)
    try:
        yield farm
    finally:
        farm.close()


def _with_logs(farm: ServerFarm) -> str:
    """Context for assertion messages: the servers' output."""
    return f"\nserver logs:\n{farm.logs()}"


# -- freezing a worker mid-job --------------------------------------------------------------

def _holders(rows: list[tuple[int, str]]) -> dict[int, int]:
    # worker ids are "embedded-<i>:<host>:<pid>:<random>"
    return {int(worker.rsplit(":", 2)[1]): job_id for job_id, worker in rows}


@contextlib.contextmanager
def frozen_mid_job(data: Path, pids: set[int], timeout: float = 15.0,
                   nudge: Callable[[], None] | None = None) -> Iterator[dict[int, int]]:
    """Hold SQLite's write lock at a moment one of ``pids`` holds a job: {pid: job id}.

    While frozen, that worker cannot commit its job (nor anyone else anything), so a kill
    now is certain to land between the claim and the commit of the job's effects.
    """
    db = sqlite3.connect(data / "epmjobs.sqlite3", timeout=30, isolation_level=None)
    try:
        def held() -> dict[int, int] | None:
            db.execute("BEGIN IMMEDIATE")
            found = {pid: job for pid, job in _holders(db.execute(
                "SELECT job_id, worker_id FROM jobs WHERE worker_id IS NOT NULL"
                " AND status IN (-1, 2)").fetchall()).items() if pid in pids}
            if not found:
                db.execute("ROLLBACK")
                if nudge is not None:
                    nudge()
            return found or None

        yield wait_until(held, timeout, interval=0.002, what="a worker in the middle of a job")
    finally:
        if db.in_transaction:
            db.execute("ROLLBACK")
        db.close()


def job_row(data: Path, job_id: int) -> tuple[Any, ...]:
    db = sqlite3.connect(f"file:{data / 'epmjobs.sqlite3'}?mode=ro", uri=True, timeout=10)
    try:
        return tuple(db.execute("SELECT status, worker_id, attempts FROM jobs WHERE job_id = ?",
                                (job_id,)).fetchone())
    finally:
        db.close()


def completed_since(data: Path, moment: float) -> int:
    db = sqlite3.connect(f"file:{data / 'epmjobs.sqlite3'}?mode=ro", uri=True, timeout=10)
    try:
        return int(db.execute("SELECT COUNT(*) FROM jobs WHERE status = 0 AND ended_at >= ?",
                              (moment,)).fetchone()[0])
    finally:
        db.close()


# -- (a) kill -9 the server ---------------------------------------------------------------

def kill(server: Server, rng: random.Random) -> float:
    """kill -9 serve alone (its children must die with it) or its whole process group."""
    killed_at = time.time()
    if rng.random() < 0.5:
        server.kill_serve()
    else:
        server.kill_group()
    return killed_at


# Each round starts serve on the same data dir and kills it: while it starts up (bootstrap,
# reaping the last round's orphans, re-running them), at a random moment under submission
# load, or under load at a moment a worker is frozen between a job's claim and its commit.
ROUNDS = ("startup", "load", "frozen", "startup", "load", "frozen")


@pytest.mark.processes
def test_kill_9_of_the_server_at_random_moments_loses_and_repeats_nothing(
        farm: ServerFarm, data: Path) -> None:
    rng = random.Random(20240611)
    accepted: list[int] = []
    unanswered = 0
    kills: list[tuple[list[int], float]] = []  # (ids accepted so far, moment of the kill)
    cut: list[int] = []  # jobs a worker held, uncommitted, when serve was killed
    for kind in ROUNDS:
        if kind == "startup":
            server = farm.server(data).spawn()
            time.sleep(rng.uniform(0.1, 3.0))
            kills.append((list(accepted), kill(server, rng)))
            continue
        server = farm.start(data)
        floor = max_job_id(server.url)
        assert all(i <= floor for i in accepted), "a job row disappeared"
        started = time.time()
        load = Submitter(server.url, total=rng.randint(90, 150)).start()
        try:
            # Kill once this server's workers are busy (they take a while to start), after
            # a random number of jobs ran: submissions outpace them, so many are in flight.
            ran = rng.randint(1, 40)
            wait_until(lambda t=started, k=ran: completed_since(data, t) >= k, 30,
                       what="the workers to run jobs")
            time.sleep(rng.uniform(0.0, 0.1))
            if kind == "frozen":
                with frozen_mid_job(data, set(server.worker_pids()),
                                    nudge=load.one_more) as held:
                    killed_at = kill(server, rng)
                cut += held.values()
            else:
                killed_at = kill(server, rng)
        finally:
            load.stop.set()
            load.join()
        assert load.accepted, "nothing was accepted"
        assert min(load.accepted) > floor, "job ids went backwards across a restart"
        accepted += load.accepted
        unanswered += load.unanswered
        kills.append((list(accepted), killed_at))

    server = farm.start(data)
    settle = wait_all_terminal(farm, server.url, data)
    rows = assert_jobs_ended_once(server.url, accepted, unanswered)
    in_flight = [in_flight_at(rows, ids, moment) for ids, moment in kills]
    print(f"\njobs={len(rows)} accepted={len(accepted)} unanswered={unanswered} "
          f"in flight at each kill={in_flight} cut mid-job={cut} "
          f"re-run={sum(r['attempts'] > 1 for r in rows.values())} "
          f"interrupted={sum(r['status'] == 1 for r in rows.values())} settle={settle:.2f}s")
    assert sum(in_flight) >= 50, f"the kills hit too few jobs in flight: {in_flight}"
    assert cut
    for job_id in cut:  # its first run's effects never committed: it ran again, once
        assert rows[job_id]["attempts"] >= 2, rows[job_id]


# -- (b) kill -9 single job workers -------------------------------------------------------

@pytest.mark.processes
def test_kill_9_of_job_workers_under_load_is_recovered(farm: ServerFarm, data: Path) -> None:
    rng = random.Random(7)
    server = farm.start(data)
    load = Submitter(server.url, total=1500, threads=3, pace=0.03).start()
    killed: list[int] = []
    cut: list[int] = []  # jobs a worker held, uncommitted, when it was killed
    try:
        wait_until(lambda: load.count() >= 30, 30, what="submissions")
        for frozen in (True, False, False, True, False, True):
            time.sleep(rng.uniform(0.05, 0.3))
            if frozen:  # a kill certain to land between a job's claim and its commit
                with frozen_mid_job(data, set(server.worker_pids()),
                                    nudge=load.one_more) as held:
                    victim = rng.choice(sorted(held))
                    os.kill(victim, signal.SIGKILL)
                    wait_until(lambda v=victim: not is_alive(v), 10, what="the kill")
                cut.append(held[victim])
            else:  # anywhere: claiming, running, committing, idle
                victim = rng.choice(server.worker_pids())
                os.kill(victim, signal.SIGKILL)
            killed.append(victim)
            wait_until(lambda: len(set(server.worker_pids()) - set(killed)) == 2, 15,
                       what="serve to restart the killed worker")
    finally:
        load.stop.set()
        load.join()
    assert server.proc is not None and server.proc.poll() is None, "serve died" + \
        _with_logs(farm)
    settle = wait_all_terminal(farm, server.url, data)
    rows = assert_jobs_ended_once(server.url, load.accepted, load.unanswered)
    assert load.unanswered == 0, "the API must not notice a job worker dying"
    assert set(rows) == set(load.accepted)
    for job_id in cut:
        assert rows[job_id]["attempts"] >= 2, rows[job_id]
    survivors = server.worker_pids()
    assert len(survivors) == 2 and not set(survivors) & set(killed)
    assert server.log_tail(100_000).count("restarting") >= len(killed)
    print(f"\njobs={len(rows)} kills={len(killed)} cut mid-job={cut} "
          f"re-run={sum(r['attempts'] > 1 for r in rows.values())} "
          f"interrupted={sum(r['status'] == 1 for r in rows.values())} settle={settle:.2f}s")


# -- graceful stop after worker restarts ---------------------------------------------------

def api_pids(server: Server) -> list[int]:
    workers = set(server.worker_pids())
    return [p for p in children(server.pid) if p not in workers]


@pytest.mark.processes
def test_sigterm_lets_a_restarted_worker_finish_its_job(farm: ServerFarm, data: Path) -> None:
    server = farm.start(data)
    originals = server.worker_pids()
    for pid in originals:
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: len(set(server.worker_pids()) - set(originals)) == 2, 15,
               what="serve to restart its workers")
    restarted = set(server.worker_pids()) - set(originals)
    load = Submitter(server.url, total=150).start()
    load.join()
    with frozen_mid_job(data, restarted, nudge=load.one_more) as held:
        http = api_pids(server)
        server.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        # serve stops its HTTP process, then its job workers (SIGTERM: finish, then exit)
        wait_until(lambda: not any(is_alive(p) for p in http), 15, what="HTTP to stop")
        with contextlib.suppress(TimeoutError):  # a worker that dies now was SIGKILLed
            wait_until(lambda: not all(is_alive(p) for p in held), 3)
    server.proc.wait(30)  # type: ignore[union-attr]
    wait_until(lambda: not group_members(server.pid), 15, what="serve's processes to end")
    ended = {job_id: job_row(data, job_id) for job_id in held.values()}
    assert all(row == (0, None, 1) for row in ended.values()), ended


@pytest.mark.processes
def test_kill_9_of_the_http_process_is_survived(farm: ServerFarm, data: Path) -> None:
    server = farm.start(data)
    for pid in api_pids(server):
        os.kill(pid, signal.SIGKILL)

    def answers() -> bool:
        assert server.proc is not None and server.proc.poll() is None, "serve exited"
        with contextlib.suppress(httpx.TransportError):
            return httpx.post(server.url + JOBS, json=ADMIN_MODE_JOB, auth=ADMIN,
                              timeout=5).status_code == 201
        return False

    wait_until(answers, 20, interval=0.2, what="the API to answer again")
    wait_all_terminal(farm, server.url, data)


# -- (c) a dead worker, played in process -----------------------------------------------

LATER = 3600.0  # a reaper clock far past any heartbeat


def submit(client, level: str = "Administrators") -> int:  # type: ignore[no-untyped-def]
    """A job whose effect shows: Vision's admin mode goes on when it commits."""
    posted = client.post(JOBS, auth=ADMIN, json={
        "jobType": "ADMINISTRATION_MODE", "parameters": {"loginLevel": level}})
    assert posted.status_code == 201, posted.text
    return int(posted.json()["jobId"])


def admin_mode(system: System) -> bool:
    app = system.stores.apps.get("Vision")
    assert app is not None
    return app.admin_mode


def messages(system: System, job_id: int) -> list[Any]:
    return system.stores.jobs.messages(job_id, 0, [], 0, None).items


def late_finish(system: System, job_id: int, worker_id: str = "dead-worker") -> Any:
    with system.db.transaction() as conn:
        return system.stores.jobs.finish(conn, job_id, worker_id, JobStatus.SUCCESS,
                                         "late", time.time())


def test_a_job_interrupted_max_attempts_times_ends_with_status_1(
        system: System, worker: Worker, client) -> None:  # type: ignore[no-untyped-def]
    jobs, max_attempts = system.stores.jobs, system.settings.max_attempts
    assert admin_mode(system) is False
    job_id = submit(client)
    for attempt in range(1, max_attempts + 1):
        claimed = jobs.claim_next("dead-worker", time.time())
        assert claimed is not None and claimed.job_id == job_id
        assert claimed.attempts == attempt
        worker.reap(stale_before=time.time() + LATER)  # the dead worker's beat is stale
        job = jobs.get(job_id)
        assert job is not None
        if attempt < max_attempts:
            assert job.status == JobStatus.RUNNING, "re-queued to run again"
    assert job.status == JobStatus.ERROR and job.ended_at is not None
    assert "interrupted" in (job.details or "")
    polled = client.get(f"{JOBS}/{job_id}", auth=ADMIN).json()
    assert polled["status"] == 1 and "interrupted" in polled["details"]
    assert worker.drain() == 0, "an interrupted job is not run again"
    assert late_finish(system, job_id) is None
    assert Worker(system, "dead-worker").run_one() is False
    assert jobs.get(job_id).status == JobStatus.ERROR  # type: ignore[union-attr]
    assert admin_mode(system) is False, "no effect of any attempt committed"
    assert messages(system, job_id) == []


def test_a_reaped_job_reruns_once_and_the_dead_workers_late_result_is_dropped(
        system: System, worker: Worker, client) -> None:  # type: ignore[no-untyped-def]
    jobs = system.stores.jobs
    job_id = submit(client)
    stale = jobs.claim_next("dead-worker", time.time())
    assert stale is not None and stale.job_id == job_id
    worker.reap(stale_before=time.time() + LATER)
    assert jobs.get(job_id).status == JobStatus.RUNNING  # type: ignore[union-attr]

    # The "dead" worker was only stalled: it wakes up and commits late. Refused, no effect.
    Worker(system, "dead-worker").execute(stale)
    assert jobs.get(job_id).status == JobStatus.RUNNING  # type: ignore[union-attr]
    assert admin_mode(system) is False and messages(system, job_id) == []

    assert worker.drain() == 1
    done = jobs.get(job_id)
    assert done is not None and done.status == JobStatus.SUCCESS and done.attempts == 2
    assert admin_mode(system) is True
    assert [m.msg_type for m in messages(system, job_id)] == [MessageType.INFO]

    # Later still: a finish from the dead worker changes nothing, effects included.
    assert late_finish(system, job_id) is None
    Worker(system, "dead-worker").execute(stale)
    assert jobs.get(job_id) == done
    assert [m.msg_type for m in messages(system, job_id)] == [MessageType.INFO]


def test_a_late_finish_cannot_take_a_job_back_from_its_new_worker(
        system: System, client) -> None:  # type: ignore[no-untyped-def]
    jobs = system.stores.jobs
    job_id = submit(client)
    stale = jobs.claim_next("dead-worker", time.time())
    Worker(system, "reaper").reap(stale_before=time.time() + LATER)
    again = jobs.claim_next("live-worker", time.time())
    assert stale is not None and again is not None and again.job_id == job_id
    assert late_finish(system, job_id) is None
    Worker(system, "dead-worker").execute(stale)
    assert jobs.get(job_id).status == JobStatus.RUNNING  # type: ignore[union-attr]
    assert admin_mode(system) is False
    Worker(system, "live-worker").execute(again)
    assert jobs.get(job_id).status == JobStatus.SUCCESS  # type: ignore[union-attr]
    assert len(messages(system, job_id)) == 1 and admin_mode(system) is True


def test_a_dead_workers_job_with_a_cancel_pending_ends_cancelled(
        system: System, worker: Worker, client) -> None:  # type: ignore[no-untyped-def]
    jobs = system.stores.jobs
    job_id = submit(client)
    assert jobs.claim_next("dead-worker", time.time()) is not None
    assert jobs.request_cancel(job_id, time.time()) == JobStatus.CANCEL_PENDING
    worker.reap(stale_before=time.time() + LATER)
    assert jobs.get(job_id).status == JobStatus.CANCELLED  # type: ignore[union-attr]
    assert admin_mode(system) is False and worker.drain() == 0


def test_the_reaper_leaves_a_heart_beating_job_alone(
        system: System, worker: Worker, client) -> None:  # type: ignore[no-untyped-def]
    jobs = system.stores.jobs
    job_id = submit(client)
    claimed_at = time.time()
    assert jobs.claim_next("busy-worker", claimed_at) is not None
    worker.reap(stale_before=claimed_at - 1)
    assert worker.drain() == 0, "a held job is not handed to another worker"
    jobs.heartbeat(job_id, "busy-worker", claimed_at + 10)
    worker.reap(stale_before=claimed_at + 5)
    assert worker.drain() == 0
    worker.reap(stale_before=claimed_at + 11)
    assert worker.drain() == 1


# -- regression: a long data dir once stalled every job ------------------------------------
# WakeupListener bound <data-dir>/run/worker-<name>-<host>-<pid>-<hex>.sock and died with
# "OSError: AF_UNIX path too long" past 107 bytes; serve restarted the worker every 0.5 s
# and no job ever left -1. The wake-up is an optimisation: the worker must still poll.

def test_a_worker_runs_jobs_under_a_long_data_dir(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from conftest import make_settings
    from epmjobs.api.app import create_app
    from epmjobs.bootstrap import bootstrap

    data = tmp_path / "installations" / "acme-corporation-planning" / "production" / "data"
    system = System(make_settings(data))
    try:
        bootstrap(system)
        with TestClient(create_app(system), base_url="http://epm.test") as client:
            job_id = submit(client, "All Users")
        deadline = time.monotonic() + 15
        Worker(system, "embedded-0:a-host-name:4242:abcdef").run(
            lambda: system.stores.jobs.status(job_id) == JobStatus.SUCCESS
            or time.monotonic() > deadline)
        assert system.stores.jobs.status(job_id) == JobStatus.SUCCESS
    finally:
        system.close()
