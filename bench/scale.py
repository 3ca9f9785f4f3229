"""Scale-out: status polls/s with 1 and 2 API processes on PostgreSQL next to the embedded
SQLite server, and jobs/s end to end with 1 and 2 distributed workers (trivial jobs).

Everything runs on loopback and is started here: ``epmjobs serve --no-worker`` processes
on a fresh PostgreSQL schema (``--database-url``, default ``EPMJOBS_TEST_POSTGRES_URL``),
``epmjobs worker`` processes, and an embedded ``epmjobs serve`` for the reference row. The
goal of the issue: adding a process adds throughput (the ratio is printed), and a poll's
p99 stays within 20 ms at 64 connections.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import asdict
from pathlib import Path

import harness as h
import sqlalchemy as sa

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


class PgInstallation:
    """A fresh schema of a PostgreSQL database, migrated and seeded, dropped at the end."""

    def __init__(self, url: str) -> None:
        self.base_url = url
        self.schema = f"bench_{uuid.uuid4().hex[:10]}"
        self.url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{self.schema}"
        self.admin = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))

    def __enter__(self) -> PgInstallation:
        with self.admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {self.schema}")
        env = {**os.environ, **self.env()}
        subprocess.run([str(h.VENV_BIN / "epmjobs"), "migrate"], env=env, check=True,
                       stdout=subprocess.DEVNULL, timeout=120)
        return self

    def env(self) -> dict[str, str]:
        return {"EPMJOBS_DATABASE_URL": self.url, "EPMJOBS_ADMIN_USER": h.ADMIN_USER,
                "EPMJOBS_ADMIN_PASSWORD": h.ADMIN_PASSWORD}

    def scalar(self, sql: str) -> float:
        with self.admin.begin() as conn:
            conn.exec_driver_sql(f"SET search_path TO {self.schema}")
            return float(conn.exec_driver_sql(sql).scalar() or 0)

    def __exit__(self, *_: object) -> None:
        with self.admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {self.schema} CASCADE")
        self.admin.dispose()


class Workers:
    """``epmjobs worker`` processes on the installation, each in its own session."""

    def __init__(self, pg: PgInstallation, work: Path, count: int, queues: str) -> None:
        self.procs = []
        for i in range(count):
            log = open(work / f"worker-{count}-{i}.log", "wb")  # noqa: SIM115 - closed in stop
            self.procs.append((subprocess.Popen(
                [str(h.VENV_BIN / "epmjobs"), "worker", "--name", f"bench-{i}", "--queues",
                 queues, "--data-dir", str(work / f"w{i}")], env={**os.environ, **pg.env()},
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True), log))

    def stop(self) -> None:
        for proc, _ in self.procs:
            proc.terminate()
        for proc, log in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            log.close()


def poll_run(label: str, server: h.EpmServer, args: argparse.Namespace) -> h.WrkResult:
    job_id = server.submit_trivial()
    server.wait_terminal(job_id, timeout=60)
    url = f"{server.base}{h.PLANNING}/applications/{h.APP}/jobs/{job_id}"
    wrk = {"connections": args.connections, "threads": args.threads,
           "script": h.BENCH_DIR / "lua" / "get.lua", "env": {"WRK_AUTH": h.basic_auth()}}
    h.run_wrk("warm-up", url, seconds=args.warmup, **wrk)  # type: ignore[arg-type]
    result = h.run_wrk(label, url, seconds=args.seconds, watch=server.pids(),
                       **wrk)  # type: ignore[arg-type]
    h.log(f"{label}: {result.rps:,.0f} polls/s, p99 {result.p99_ms:.2f} ms")
    return result


def polls(args: argparse.Namespace, pg: PgInstallation, work: Path) -> list[h.WrkResult]:
    results = []
    embedded = h.EpmServer(work / "embedded", workers=1, api_processes=1)
    try:
        embedded.start()
        results.append(poll_run("embedded SQLite (1p)", embedded, args))
    finally:
        embedded.stop()
    workers = Workers(pg, work, 1, "short=1")
    try:
        for procs in args.processes:
            server = h.EpmServer(work / f"api-{procs}", workers=0, api_processes=procs,
                                 extra_env=pg.env())
            try:
                server.start()
                results.append(poll_run(f"PostgreSQL ({procs}p)", server, args))
            finally:
                server.stop()
    finally:
        workers.stop()
    return results


def throughput(args: argparse.Namespace, pg: PgInstallation, work: Path,
               count: int) -> dict[str, float]:
    """Queue ``args.jobs`` trivial jobs, then let ``count`` workers drain them."""
    server = h.EpmServer(work / f"submit-{count}", workers=0, extra_env=pg.env())
    try:
        server.start()
        first = last = server.submit_trivial()
        for _ in range(args.jobs - 1):
            last = server.submit_trivial()
    finally:
        server.stop()
    started = time.monotonic()
    workers = Workers(pg, work, count, f"short={args.concurrency}")
    try:
        deadline = started + 600
        where = f"job_id BETWEEN {first} AND {last}"
        while pg.scalar(f"SELECT count(*) FROM jobs WHERE {where} AND status = -1"):
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not drain the queue in 10 minutes")
            time.sleep(0.2)
        span = pg.scalar(f"SELECT max(ended_at) - min(started_at) FROM jobs WHERE {where}")
    finally:
        workers.stop()
    rate = (last - first + 1) / span
    h.log(f"{count} worker(s): {last - first + 1} jobs in {span:.2f}s = {rate:,.0f} jobs/s")
    return {"workers": count, "jobs": last - first + 1, "seconds": span, "jobs_per_s": rate}


def hot_read(pg: PgInstallation, reads: int) -> dict[str, float]:
    """Microseconds per status read of one job by id, in process, three ways: the pooled
    SQLAlchemy path, psycopg with a prepared statement on a kept connection (what polls
    use), and asyncpg with a prepared statement (installed here if missing)."""
    import asyncio

    from epmjobs.storage import jobstore
    from epmjobs.storage.database import Database

    db = Database(pg.url)
    job_id = int(pg.scalar("SELECT max(job_id) FROM jobs"))
    sql = jobstore._RAW_GET_JOB
    found: dict[str, float] = {}

    def timed(label: str, fn: object) -> None:
        for _ in range(50):
            fn()  # type: ignore[operator]
        started = time.perf_counter()
        for _ in range(reads):
            fn()  # type: ignore[operator]
        found[label] = 1e6 * (time.perf_counter() - started) / reads

    def pooled() -> object:
        with db.reading() as conn:
            return conn.exec_driver_sql(sql.replace("?", "%(id)s"), {"id": job_id}).first()

    timed("SQLAlchemy pool (psycopg)", pooled)
    raw = db.raw_postgres()
    timed("psycopg prepared", lambda: raw.execute(jobstore._PG_GET_JOB, (job_id,)).fetchone())
    db.dispose()
    try:
        import asyncpg  # type: ignore[import-not-found]
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "asyncpg"], check=True)
        import asyncpg

    async def with_asyncpg() -> float:
        conn = await asyncpg.connect(pg.base_url, server_settings={"search_path": pg.schema})
        stmt = await conn.prepare(sql.replace("?", "$1"))
        for _ in range(50):
            await stmt.fetchrow(job_id)
        started = time.perf_counter()
        for _ in range(reads):
            await stmt.fetchrow(job_id)
        await conn.close()
        return 1e6 * (time.perf_counter() - started) / reads

    found["asyncpg prepared"] = asyncio.run(with_asyncpg())
    for label, us in found.items():
        h.log(f"hot read, {label}: {us:.0f} us")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "EPMJOBS_TEST_POSTGRES_URL", PG_DEFAULT))
    parser.add_argument("--processes", default="1,2", type=lambda s: [int(p) for p in
                                                                      s.split(",")])
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--jobs", type=int, default=1000, help="trivial jobs per drain run")
    parser.add_argument("--concurrency", type=int, default=2, help="per worker process")
    parser.add_argument("--reads", type=int, default=5000, help="hot-read repetitions")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    h.ensure_tools("wrk", "nginx")
    with h.workdir(args.keep) as work, PgInstallation(args.database_url) as pg:
        poll_results = polls(args, pg, work)
        reads = hot_read(pg, args.reads)
        drains = [throughput(args, pg, work, n) for n in (1, 2)]
    report(poll_results, drains, reads, args)


def report(poll_results: list[h.WrkResult], drains: list[dict[str, float]],
           reads: dict[str, float], args: argparse.Namespace) -> None:
    notes = h.machine_notes()
    print(f"\nbench/scale - wrk -t{args.threads} -c{args.connections} -d{args.seconds:g}s, "
          "loopback, Basic auth; machine: " + ", ".join(f"{k}={v}" for k, v in notes.items()))
    base = next((r.rps for r in poll_results if r.label.startswith("PostgreSQL (1p)")), 0.0)
    print(f"\n{'polls':<24} {'req/s':>9} {'x 1p':>6} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'CPU us/req':>10} {'load':>5}")
    for r in poll_results:
        ratio = f"{r.rps / base:.2f}" if base and r.label.startswith("PostgreSQL") else "-"
        print(f"{r.label:<24} {r.rps:>9,.0f} {ratio:>6} {r.p50_ms:>7.2f} {r.p99_ms:>7.2f} "
              f"{r.cpu_us_per_request:>10.0f} {r.loadavg:>5.1f}")
    print(f"\n{'jobs end to end':<24} {'jobs':>6} {'seconds':>8} {'jobs/s':>8} {'x 1w':>6}")
    for d in drains:
        print(f"{int(d['workers'])} worker process(es){'':<4} {int(d['jobs']):>6} "
              f"{d['seconds']:>8.2f} {d['jobs_per_s']:>8,.0f} "
              f"{d['jobs_per_s'] / drains[0]['jobs_per_s']:>6.2f}")
    print("\nstatus read by id (in process, one connection): " + ", ".join(
        f"{label} {us:.0f} us" for label, us in reads.items()))
    worst = max((r.p99_ms for r in poll_results if r.label.startswith("PostgreSQL")),
                default=0.0)
    print(f"\npoll p99 on PostgreSQL at {args.connections} connections: {worst:.2f} ms "
          f"({'within' if worst <= 20 else 'OVER'} the 20 ms goal)")
    out = h.BENCH_DIR / "results"
    out.mkdir(exist_ok=True)
    path = out / f"scale-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"notes": notes, "args": vars(args), "drains": drains,
                                "hot_read_us": reads,
                                "polls": [asdict(r) for r in poll_results]}, indent=2))
    print(f"(saved {path.relative_to(h.ROOT)})", file=sys.stderr)


if __name__ == "__main__":
    main()
