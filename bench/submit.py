"""bench/submit: submit->terminal latency of a trivial job, and sustained submissions/s.

The trivial job is ADMINISTRATION_MODE with loginLevel "All Users" on Vision. Starts a
fresh ``epmjobs serve`` on loopback (optionally over a seeded history), then:

1. latency: closed-loop submitters (asyncio, each on its own keep-alive connection, see
   rawhttp.py; concurrency 1 and 8 by default)
   submit a job and follow it to its end, either by polling its status every 2 ms or by
   our long-poll ``GET /epmjobs/v1/jobs/{id}/wait``. Reports what the client saw, and
   what the database recorded (queue wait = started - submitted, run = ended - started).
2. throughput: wrk POSTs the job as fast as N connections allow for ~15 s while a
   sampler reads the queue depth (status -1) from the database every 0.5 s; then the
   backlog is left to drain (bounded). Reports accepted/s, completed/s, backlog growth.
3. fixed rate: an open-loop client submits at --rate jobs/s (default 550) for the same
   time over 64 connections; reports the achieved rate, the backlog, and the
   database-side latency of the jobs submitted meanwhile.

    .venv/bin/python bench/submit.py [--seconds 15] [--rate 500] [--jobs 0]

Target (the issue): p50 <= 20 ms, >= 500 jobs/s with no growing backlog. The reference
in the same run is the cost of a no-op request to the same server (GET of a version
resource) measured by the same client, so client overhead can be told from job latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness as h
import seed
from rawhttp import Connection

TARGET_P50_MS = 20.0
TARGET_RATE = 500.0
JOBS_PATH = f"{h.PLANNING}/applications/{h.APP}/jobs"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def fmt(values: list[float]) -> str:
    if not values:
        return "n/a"
    return (f"p50 {pct(values, 50):6.1f}  p90 {pct(values, 90):6.1f}  "
            f"p99 {pct(values, 99):6.1f}  max {max(values):6.1f}  (n={len(values)})")


class Db:
    """Read-only looks at the server's database (WAL: readers never block writers)."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True,
                                    check_same_thread=False, timeout=30)
        self.lock = threading.Lock()

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        with self.lock:
            return self.conn.execute(sql, params).fetchone()

    def all(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    def queued(self) -> int:
        return int(self.one("SELECT count(*) FROM jobs WHERE status = -1")[0])

    def timings(self, first_id: int, last_id: int) -> list[tuple[float, float, float, int]]:
        return self.all("SELECT submitted_at, started_at, ended_at, status FROM jobs"
                        " WHERE job_id BETWEEN ? AND ? AND ended_at IS NOT NULL",
                        (first_id, last_id))

    def max_id(self) -> int:
        return int(self.one("SELECT coalesce(max(job_id), 0) FROM jobs")[0])

    def ended_between(self, t0: float, t1: float) -> int:
        return int(self.one("SELECT count(*) FROM jobs WHERE ended_at BETWEEN ? AND ?",
                            (t0, t1))[0])


def db_latencies(db: Db, first: int, last: int) -> dict[str, list[float]]:
    rows = db.timings(first, last)
    return {
        "total": [1000 * (e - s) for s, _, e, _ in rows],
        "queue": [1000 * (b - s) for s, b, _, _ in rows if b is not None],
        "run": [1000 * (e - b) for _, b, e, _ in rows if b is not None],
        "failed": [float(st) for *_, st in rows if st != 0],
    }


# -- 1. latency, closed loop -------------------------------------------------------------

def _conn(base: str) -> Connection:
    host, port = base.removeprefix("http://").rsplit(":", 1)
    return Connection(host, int(port), h.basic_auth())


async def _follow(conn: Connection, job_id: int, mode: str) -> None:
    if mode == "wait":
        _, body = await conn.get_json(f"/epmjobs/v1/jobs/{job_id}/wait?timeout=5")
        if body["status"] == -1:
            raise RuntimeError(f"job {job_id} still running after 5 s")
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        _, body = await conn.get_json(f"{JOBS_PATH}/{job_id}")
        if body["status"] != -1:
            return
        await asyncio.sleep(0.002)
    raise RuntimeError(f"job {job_id} did not end within 10 s")


async def closed_loop(base: str, concurrency: int, seconds: float,
                      mode: str) -> tuple[list[float], list[float], list[int]]:
    """(submit->terminal ms, submit response ms, job ids) over ``seconds``."""
    total: list[float] = []
    submit: list[float] = []
    ids: list[int] = []
    stop = time.monotonic() + seconds

    async def one_submitter() -> None:
        conn = _conn(base)
        try:
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                status, body = await conn.post_json(JOBS_PATH, h.TRIVIAL_JOB)
                t1 = time.perf_counter()
                if status != 201:
                    raise RuntimeError(f"submit refused: {status} {body}")
                job_id = int(body["jobId"])
                await _follow(conn, job_id, mode)
                total.append(1000 * (time.perf_counter() - t0))
                submit.append(1000 * (t1 - t0))
                ids.append(job_id)
        finally:
            await conn.close()

    await asyncio.gather(*(one_submitter() for _ in range(concurrency)))
    return total, submit, ids


async def noop_latency(base: str, seconds: float) -> list[float]:
    """The same client's round trip for a request that does no job work at all."""
    out: list[float] = []
    conn = _conn(base)
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        t0 = time.perf_counter()
        await conn.request("GET", h.PLANNING)
        out.append(1000 * (time.perf_counter() - t0))
    await conn.close()
    return out


# -- 2. throughput with wrk, 3. fixed rate --------------------------------------------------

@dataclass
class Sampler:
    db: Db
    interval: float = 0.5
    samples: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        t0 = time.monotonic()
        while not self._stop.wait(self.interval):
            self.samples.append((time.monotonic() - t0, self.db.queued()))

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    def slope(self, skip: float = 2.0) -> float:
        """Backlog growth in jobs/s (least squares), ignoring the first ``skip`` s."""
        pts = [(t, q) for t, q in self.samples if t >= skip] or self.samples
        if len(pts) < 2:
            return 0.0
        mt = statistics.fmean(t for t, _ in pts)
        mq = statistics.fmean(q for _, q in pts)
        den = sum((t - mt) ** 2 for t, _ in pts)
        return sum((t - mt) * (q - mq) for t, q in pts) / den if den else 0.0


def drain(db: Db, limit: float) -> float | None:
    """Seconds until no job is queued, or None when ``limit`` passed first."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if db.queued() == 0:
            return time.monotonic() - t0
        time.sleep(0.1)
    return None


def wrk_throughput(server: h.EpmServer, db: Db, args: argparse.Namespace,
                   connections: int) -> dict[str, Any]:
    first = db.max_id() + 1
    sampler = Sampler(db)
    sampler.start()
    t0 = time.time()
    result = h.run_wrk(f"submit c={connections}", server.base + JOBS_PATH,
                       connections=connections, threads=min(2, connections),
                       seconds=args.seconds, script=h.BENCH_DIR / "lua" / "submit.lua",
                       env={"WRK_AUTH": h.basic_auth(), "WRK_BODY": json.dumps(h.TRIVIAL_JOB)},
                       watch=server.pids())
    t1 = time.time()
    sampler.stop()
    backlog = db.queued()
    drained = drain(db, args.drain_limit)
    lat = db_latencies(db, first, db.max_id())
    return {"kind": "wrk closed loop", "connections": connections,
            "accepted_per_s": result.rps, "submit_p50_ms": result.p50_ms,
            "submit_p99_ms": result.p99_ms, "errors": result.non_2xx + result.socket_errors,
            "completed_per_s": db.ended_between(t0, t1) / (t1 - t0),
            "backlog_end": backlog, "backlog_slope_per_s": sampler.slope(),
            "backlog_max": max((q for _, q in sampler.samples), default=0),
            "drain_s": drained, "db_total_ms": lat["total"], "failed": len(lat["failed"]),
            "server_cpu_us_per_job": result.cpu_us_per_request}


async def _open_loop(base: str, rate: float, seconds: float,
                     connections: int = 64) -> tuple[int, int, float, bool]:
    """Submit at ``rate``/s, whatever the answers, over ``connections`` connections:
    (sent, accepted, seconds until the last answer, whether it gave up because no
    connection was free for over a second: the server fell far behind)."""
    tickets: asyncio.Queue[float | None] = asyncio.Queue()
    counts = {"sent": 0, "accepted": 0}
    gave_up = False

    async def sender() -> None:
        conn = _conn(base)
        try:
            while await tickets.get() is not None:
                counts["sent"] += 1
                status, _ = await conn.post_json(JOBS_PATH, h.TRIVIAL_JOB)
                counts["accepted"] += status == 201
        finally:
            await conn.close()

    senders = [asyncio.create_task(sender()) for _ in range(connections)]
    t0 = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif -delay > 1.0:
            gave_up = True
            break
        tickets.put_nowait(t0 + i / rate)
    for _ in senders:
        tickets.put_nowait(None)
    await asyncio.gather(*senders)
    return counts["sent"], counts["accepted"], time.perf_counter() - t0, gave_up


def fixed_rate(server: h.EpmServer, db: Db, args: argparse.Namespace) -> dict[str, Any]:
    first = db.max_id() + 1
    sampler = Sampler(db)
    sampler.start()
    t0 = time.time()
    sent, accepted, took, gave_up = asyncio.run(_open_loop(server.base, args.rate,
                                                           args.seconds))
    t1 = time.time()
    sampler.stop()
    backlog = db.queued()
    drained = drain(db, args.drain_limit)
    lat = db_latencies(db, first, db.max_id())
    return {"kind": "open loop", "target_rate": args.rate, "sent": sent, "accepted": accepted,
            "accepted_per_s": accepted / took, "gave_up": gave_up,
            "completed_per_s": db.ended_between(t0, t1) / (t1 - t0),
            "backlog_end": backlog, "backlog_slope_per_s": sampler.slope(),
            "backlog_max": max((q for _, q in sampler.samples), default=0),
            "drain_s": drained, "db_total_ms": lat["total"], "db_queue_ms": lat["queue"],
            "db_run_ms": lat["run"], "failed": len(lat["failed"])}


# -- the run ---------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=0, help="historical jobs to seed first")
    parser.add_argument("--workers", type=int, default=2, help="job worker processes")
    parser.add_argument("--api-processes", type=int, default=1)
    parser.add_argument("--latency-concurrency", default="1,8", help="0 skips this phase")
    parser.add_argument("--latency-seconds", type=float, default=6)
    parser.add_argument("--connections", default="16,64", help="wrk connections (list)")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rate", type=float, default=1.1 * TARGET_RATE,
                        help="open-loop jobs/s (default 10%% over the target; 0 skips it)")
    parser.add_argument("--drain-limit", type=float, default=60)
    parser.add_argument("--auth-cache-seconds", type=float, default=None,
                        help="EPMJOBS_AUTH_CACHE_SECONDS for the server (default: its own)")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--nice", type=int, default=0,
                        help="niceness of every process started (e.g. -10 as root on a "
                        "shared machine; the reference gets the same)")
    args = parser.parse_args()
    h.set_nice(args.nice)

    h.ensure_tools("wrk")
    report: dict[str, Any] = {"args": vars(args), "latency": [], "throughput": []}
    with h.workdir(args.keep) as work:
        server = h.EpmServer(work / "data", workers=args.workers,
                             api_processes=args.api_processes, extra_env=h.server_env(args))
        try:
            if args.jobs:
                server.start()
                server.stop()
                took = seed.seed(str(server.db_path), args.jobs)
                h.log(f"seeded {args.jobs:,} jobs in {took:.1f}s")
            server.start()
            db = Db(server.db_path)
            for _ in range(20):  # warm the auth cache, the workers and the statements
                server.wait_terminal(server.submit_trivial())
            noop = asyncio.run(noop_latency(server.base, 2))
            report["noop_ms"] = noop
            for conc in [int(c) for c in args.latency_concurrency.split(",") if int(c) > 0]:
                for mode in ("poll", "wait"):
                    h.log(f"latency: {conc} submitter(s), following by {mode}")
                    total, submit, ids = asyncio.run(
                        closed_loop(server.base, conc, args.latency_seconds, mode))
                    lat = db_latencies(db, min(ids), max(ids))
                    report["latency"].append({
                        "concurrency": conc, "mode": mode, "client_ms": total,
                        "submit_ms": submit, "db_total_ms": lat["total"],
                        "db_queue_ms": lat["queue"], "db_run_ms": lat["run"],
                        "jobs_per_s": len(ids) / args.latency_seconds,
                        "failed": len(lat["failed"])})
            for conns in [int(c) for c in args.connections.split(",")]:
                h.log(f"throughput: wrk, {conns} connections, {args.seconds:g}s")
                report["throughput"].append(wrk_throughput(server, db, args, conns))
            if args.rate:
                h.log(f"fixed rate: {args.rate:g} jobs/s for {args.seconds:g}s")
                report["throughput"].append(fixed_rate(server, db, args))
            report["jobs_in_db"] = db.max_id()
        finally:
            server.stop()
    print_report(report, args)


def sustained(row: dict[str, Any]) -> float:
    """Completed/s of a run that kept up (its backlog drained within a second of the end),
    else 0: a run that left a growing queue behind sustained nothing."""
    keeps_up = row["drain_s"] is not None and row["drain_s"] <= 1.0
    return float(row["completed_per_s"]) if keeps_up else 0.0


def print_report(report: dict[str, Any], args: argparse.Namespace) -> None:
    notes = h.machine_notes()
    print(f"\nbench/submit - trivial job {json.dumps(h.TRIVIAL_JOB)}; {args.workers} job "
          f"worker(s), {args.api_processes} API process(es); {report['jobs_in_db']:,} jobs "
          "in the database at the end")
    print("machine: " + ", ".join(f"{k}={v}" for k, v in notes.items()))
    print(f"\nreference, same client: no-op GET round trip (ms)   {fmt(report['noop_ms'])}")
    print("\nsubmit -> terminal latency (ms)")
    for row in report["latency"]:
        tag = f"c={row['concurrency']} follow={row['mode']:<4}"
        print(f"  {tag} client          {fmt(row['client_ms'])}  {row['jobs_per_s']:.0f} jobs/s")
        print(f"  {'':<15} submit call     {fmt(row['submit_ms'])}")
        print(f"  {'':<15} db ended-subm.  {fmt(row['db_total_ms'])}")
        print(f"  {'':<15} db queue wait   {fmt(row['db_queue_ms'])}")
        print(f"  {'':<15} db run+commit   {fmt(row['db_run_ms'])}")
        if row["failed"]:
            print(f"  {'':<15} NOT SUCCESSFUL: {row['failed']}")
    print("\nsustained submissions")
    head = (f"  {'load':<22} {'accepted/s':>10} {'completed/s':>11} {'backlog end':>11} "
            f"{'growth/s':>9} {'drain s':>8} {'db p50 ms':>9} {'db p99 ms':>9} {'errors':>6}")
    print(head)
    for row in report["throughput"]:
        if row["kind"] == "open loop":
            load = f"open loop {row['target_rate']:g}/s" + (" (!)" if row["gave_up"] else "")
            acc = row["accepted_per_s"]
            errors = row["sent"] - row["accepted"]
        else:
            load = f"wrk c={row['connections']}"
            acc = row["accepted_per_s"]
            errors = row["errors"]
        drain_s = "-" if row["drain_s"] is None else f"{row['drain_s']:.1f}"
        print(f"  {load:<22} {acc:>10.0f} {row['completed_per_s']:>11.0f} "
              f"{row['backlog_end']:>11} {row['backlog_slope_per_s']:>9.1f} {drain_s:>8} "
              f"{pct(row['db_total_ms'], 50):>9.1f} {pct(row['db_total_ms'], 99):>9.1f} "
              f"{errors:>6}")
    if any(r.get("gave_up") for r in report["throughput"]):
        print("  (!) the open-loop client stopped early: it fell over a second behind "
              "schedule (every connection was waiting for an answer)")
    idle = next((r for r in report["latency"] if r["concurrency"] == 1
                 and r["mode"] == "poll"), None)
    best = max((sustained(r) for r in report["throughput"]), default=0.0)
    if idle:
        p50 = pct(idle["client_ms"], 50)
        print(f"\np50 submit->terminal (1 client, polling): {p50:.1f} ms (target <= "
              f"{TARGET_P50_MS:g}) -> {'MEETS' if p50 <= TARGET_P50_MS else 'MISSES'}")
    ok = any(sustained(r) >= TARGET_RATE for r in report["throughput"])
    print(f"best sustained jobs/s: {best:.0f} (target >= {TARGET_RATE:g} with no growing "
          "backlog: completed/s of a run whose backlog drained within 1 s of the end)"
          f" -> {'MEETS' if ok else 'MISSES'}")
    out = h.BENCH_DIR / "results"
    out.mkdir(exist_ok=True)
    path = out / f"submit-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"notes": notes, **report}, default=str))
    print(f"(saved {path.relative_to(h.ROOT)})", file=sys.stderr)


if __name__ == "__main__":
    main()
