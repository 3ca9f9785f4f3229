"""Scaled out, for real: PostgreSQL, two API processes, two job workers and an S3 server,
all separate processes on loopback, started by the test.

200 mixed jobs (short ones, exports that write files to S3, outline jobs serialised by
their lock key) are submitted through both API processes; mid-run one worker is
``kill -9``-ed while it is certain to hold a job (the test holds that job's row lock, so
the worker cannot commit it), and one API process is ``kill -9``-ed under submission load.
Then every accepted job must end exactly once: status 0 with its messages and files
written once, or status 1 saying it was interrupted; a job the killed worker held runs
again on the other worker.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from conftest import make_settings
from epmjobs.bootstrap import bootstrap
from epmjobs.system import System
from procs import ADMIN, JOBS, S3_CREDENTIALS, Cluster, MotoS3, wait_until
from s3_support import new_bucket, s3_server

__all__ = ["s3_server"]
pytestmark = pytest.mark.processes

TOTAL = 200
SETTLE = 60.0  # a bound, reached only when something is broken
LIST = "/epmjobs/v1/jobs"


def mixed_jobs() -> Iterator[dict[str, Any]]:
    """Short jobs, file-writing exports (short and data queues), outline jobs (one lock)."""
    for i in itertools.count():
        kind = i % 4
        if kind == 0:
            yield {"jobType": "ADMINISTRATION_MODE", "parameters": {"loginLevel": "All Users"}}
        elif kind == 1:
            yield {"jobType": "EXPORT_JOB_CONSOLE",
                   "parameters": {"fileName": f"console-{i}.zip", "nDays": "1"}}
        elif kind == 2:
            yield {"jobType": "EXPORT_METADATA", "jobName": "ExportMetadata",
                   "parameters": {"exportZipFileName": f"metadata-{i}.zip"}}
        else:
            yield {"jobType": "CUBE_REFRESH", "jobName": "RefreshDB"}


class Load:
    """Threads posting jobs round-robin to the API processes; a dead one is skipped."""

    def __init__(self, urls: list[str], total: int, threads: int = 4) -> None:
        self.urls, self.total = urls, total
        self.accepted: dict[int, dict[str, Any]] = {}
        self.unanswered = 0
        self.refused: list[str] = []
        self.dead: set[str] = set()
        self._lock = threading.Lock()
        self._jobs = mixed_jobs()
        self._sent = 0
        self._threads = [threading.Thread(target=self._post, args=(n,), daemon=True)
                         for n in range(threads)]

    def start(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def _next(self, n: int) -> tuple[str, dict[str, Any]] | None:
        with self._lock:
            live = [u for u in self.urls if u not in self.dead]
            if self._sent >= self.total or not live:
                return None
            self._sent += 1
            return live[(self._sent + n) % len(live)], next(self._jobs)

    def _post(self, n: int) -> None:
        clients = {url: httpx.Client(base_url=url, auth=ADMIN, timeout=15.0)
                   for url in self.urls}
        try:
            while (ticket := self._next(n)) is not None:
                self._post_one(clients[ticket[0]], *ticket)
        finally:
            for client in clients.values():
                client.close()

    def _post_one(self, client: httpx.Client, url: str, body: dict[str, Any]) -> None:
        try:
            response = client.post(JOBS, json=body)
        except httpx.TransportError:
            with self._lock:
                self.unanswered += 1
                self.dead.add(url)
            return
        with self._lock:
            if response.status_code == 201:
                self.accepted[response.json()["jobId"]] = body
            else:
                self.refused.append(f"{response.status_code} {response.text[:200]}")

    def count(self) -> int:
        with self._lock:
            return len(self.accepted)

    def join(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self._threads), "submitters did not stop"
        assert not self.refused, self.refused[:3]


@pytest.fixture
def installation(postgres_url: str, s3_server: MotoS3, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A migrated, seeded PostgreSQL schema and an S3 bucket, as the processes' env."""
    bucket = new_bucket(s3_server)
    env = {"EPMJOBS_DATABASE_URL": postgres_url, "EPMJOBS_FILES_URL": f"s3://{bucket}/epm",
           "EPMJOBS_S3_ENDPOINT_URL": s3_server.endpoint, "EPMJOBS_S3_REGION": "us-east-1",
           **S3_CREDENTIALS}
    system = System(make_settings(tmp_path / "seed", database_url=postgres_url))
    bootstrap(system)  # migrate (ours and the queue's), the admin, Vision
    system.close()
    yield env


@pytest.fixture
def cluster(installation: dict[str, str], tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path, installation)
    try:
        yield cluster
    finally:
        cluster.close()


def held_by(engine: sa.Engine, pid: int) -> list[int]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.text(
            "SELECT job_id FROM jobs WHERE worker_id LIKE :pat AND status IN (-1, 2)"),
            {"pat": f"%:{pid}:%"})]


@contextlib.contextmanager
def frozen_job_of(engine: sa.Engine, pid: int, timeout: float = 30.0) -> Iterator[int]:
    """Lock the row of a job worker ``pid`` holds: it cannot commit that job meanwhile."""
    conn = engine.connect()
    try:
        def grab() -> int | None:
            for job_id in held_by(engine, pid):
                with contextlib.suppress(sa.exc.OperationalError):  # locked: committing now
                    if conn.execute(sa.text(
                            "SELECT 1 FROM jobs WHERE job_id = :id AND worker_id LIKE :pat"
                            " FOR UPDATE NOWAIT"), {"id": job_id, "pat": f"%:{pid}:%"}).first():
                        return job_id
                conn.rollback()
            return None
        yield wait_until(grab, timeout, interval=0.005, what="a worker holding a job")
    finally:
        conn.rollback()
        conn.close()


def all_jobs(url: str) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    with httpx.Client(base_url=url, auth=ADMIN, timeout=15.0) as client:
        while True:
            body = client.get(LIST, params={"offset": len(found), "limit": 1000}).json()
            found.update({item["jobId"]: item for item in body["items"]})
            if not body["hasMore"]:
                return found


def test_two_apis_two_workers_and_kill_9s_end_every_job_exactly_once(
        cluster: Cluster, installation: dict[str, str], s3_server: MotoS3) -> None:
    began = time.monotonic()
    workers = [cluster.worker("worker-1"), cluster.worker("worker-2")]
    apis = cluster.apis("api-1", "api-2")
    started = time.monotonic()
    engine = sa.create_engine(installation["EPMJOBS_DATABASE_URL"].replace(
        "postgresql://", "postgresql+psycopg://", 1))
    load = Load([a.url for a in apis], TOTAL).start()
    try:
        wait_until(lambda: load.count() >= 40, 60, what="submissions")
        with frozen_job_of(engine, workers[0].pid) as cut:
            os.kill(workers[0].pid, signal.SIGKILL)
            workers[0].proc.wait(15)  # type: ignore[union-attr]
        wait_until(lambda: load.count() >= 100, 60, what="more submissions")
        apis[1].kill_group()  # kill -9 an API process under load
    finally:
        load.join()
    submitted = time.monotonic()
    survivor = apis[0].url
    assert load.accepted, "nothing was accepted"

    def unfinished() -> int:
        return len(httpx.get(survivor + LIST, params={"status": "-1,2", "limit": 1000},
                             auth=ADMIN, timeout=15.0).json()["items"])
    try:
        wait_until(lambda: unfinished() == 0, SETTLE, interval=0.1, what="every job to end")
    except TimeoutError as exc:
        raise AssertionError(f"{exc}\n{cluster.logs()}") from None
    print(f"\nstart {started - began:.1f}s, submit {submitted - started:.1f}s, "
          f"settle {time.monotonic() - submitted:.1f}s")
    rows = all_jobs(survivor)
    check_each_job_ended_once(survivor, rows, load, cut, installation, s3_server)
    assert workers[1].alive(), cluster.logs()
    assert workers[1].terminate() == 0, "SIGTERM stops a worker cleanly\n" + cluster.logs()
    engine.dispose()


def check_each_job_ended_once(url: str, rows: dict[int, dict[str, Any]], load: Load, cut: int,
                              installation: dict[str, str], s3_server: MotoS3) -> None:
    lost = set(load.accepted) - set(rows)
    assert not lost, f"accepted jobs lost: {sorted(lost)[:20]}"
    assert len(set(rows) - set(load.accepted)) <= load.unanswered
    files = _bucket_files(installation, s3_server)
    messages_per_type: dict[str, set[int]] = {}
    problems = []
    with httpx.Client(base_url=url, auth=ADMIN, timeout=15.0) as client:
        for job_id, job in sorted(rows.items()):
            details = client.get(f"{JOBS}/{job_id}/details", params={"limit": 0}).json()
            if job["status"] == 0:
                messages_per_type.setdefault(job["jobType"], set()).add(details["totalResults"])
                wanted = (job.get("parameters") or {}).get("fileName") or \
                    (job.get("parameters") or {}).get("exportZipFileName")
                if wanted and wanted not in files:
                    problems.append((job_id, "its file is missing", wanted))
            elif job["status"] != 1 or "interrupted" not in (job["details"] or "").lower():
                problems.append((job_id, job["status"], job["details"]))
            if not 1 <= job["attempts"] <= 3:
                problems.append((job_id, "attempts", job["attempts"]))
    assert not problems, problems[:10]
    # A commit applied twice would show twice the messages (or child jobs) of the others.
    assert all(len(counts) == 1 for counts in messages_per_type.values()), messages_per_type
    assert set(messages_per_type) == {"ADMINISTRATION_MODE", "EXPORT_JOB_CONSOLE",
                                      "EXPORT_METADATA", "CUBE_REFRESH"}
    assert rows[cut]["attempts"] >= 2, ("the job the killed worker held ran again", rows[cut])
    runs: dict[str, list[float]] = {}
    for job in rows.values():
        if job["startedAt"] and job["endedAt"]:
            runs.setdefault(job["jobType"], []).append(
                _epoch(job["endedAt"]) - _epoch(job["startedAt"]))
    print("run time per job: " + ", ".join(
        f"{t} {1000 * sum(v) / len(v):.0f} ms" for t, v in sorted(runs.items())))
    print(f"jobs={len(rows)} accepted={len(load.accepted)} unanswered={load.unanswered} "
          f"cut={cut} re-run={sum(r['attempts'] > 1 for r in rows.values())} "
          f"interrupted={sum(r['status'] == 1 for r in rows.values())}")


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


def _bucket_files(installation: dict[str, str], s3_server: MotoS3) -> set[str]:
    import boto3

    bucket, prefix = installation["EPMJOBS_FILES_URL"][5:].split("/", 1)
    client = boto3.client("s3", endpoint_url=s3_server.endpoint, region_name="us-east-1")
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/")
    return {obj["Key"].rsplit("/", 1)[-1] for page in pages for obj in page.get("Contents", ())}
