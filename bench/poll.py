"""bench/poll: status polls per second and their latency, against nginx in the same run.

Starts a fresh ``epmjobs serve`` on loopback, seeds at least a million historical jobs,
submits one trivial job and captures the bytes of its status poll with curl; nginx then
serves those same bytes on another port, and wrk (64 connections, --latency, the same
Basic auth header) runs against each in turn. Prints a side-by-side table with ratios.

    .venv/bin/python bench/poll.py                      # defaults: 1 and 2 processes
    .venv/bin/python bench/poll.py --processes 2 --seconds 15 --jobs 1000000

Target (the issue): epmjobs >= 0.35 x nginx requests/s, p99 <= 10 ms.
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import harness as h
import seed

TARGET_RATIO = 0.35
TARGET_P99_MS = 10.0


def capture(url: str) -> bytes:
    """The exact response body, fetched with curl (what a client would see)."""
    out = subprocess.run(["curl", "-sS", "--fail", "-u", f"{h.ADMIN_USER}:{h.ADMIN_PASSWORD}",
                          url], capture_output=True, check=True, timeout=30)
    return out.stdout


def historical_jobs(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return int(conn.execute("SELECT count(*) FROM jobs").fetchone()[0])


def prepare(work: Path, jobs: int) -> Path:
    """A data dir whose schema `serve` created, then seeded with ``jobs`` ended jobs."""
    data = work / "data"
    first = h.EpmServer(data, workers=1)
    h.log("first start: epmjobs serve creates the schema, the admin and Vision")
    first.start()
    first.stop()
    h.log(f"seeding {jobs:,} historical jobs")
    took = seed.seed(str(first.db_path), jobs)
    held = seed.hold_running_job(str(first.db_path))
    h.log(f"seeded in {took:.1f}s; job {held} stays running for the running-job row")
    return data


def running_job(db: Path) -> int | None:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        row = conn.execute("SELECT job_id FROM jobs WHERE worker_id = 'bench-holder'"
                           ).fetchone()
    return None if row is None else int(row[0])


def bench_processes(args: argparse.Namespace, work: Path, data: Path,
                    procs: int) -> list[h.WrkResult]:
    server = h.EpmServer(data, workers=args.workers, api_processes=procs,
                         extra_env=h.server_env(args))
    nginx: h.Nginx | None = None
    results: list[h.WrkResult] = []
    try:
        server.start()
        job_id = server.submit_trivial()
        server.wait_terminal(job_id)
        path = f"{h.PLANNING}/applications/{h.APP}/jobs/{job_id}"
        body = capture(server.base + path)
        if capture(server.base + path) != body:
            raise RuntimeError("the poll response is not stable; nothing to compare")
        h.log(f"{procs} process(es): polling job {job_id} ({len(body)} bytes): "
              f"{body[:80]!r}...")
        nginx = h.Nginx(work / f"nginx-{procs}", body, worker_processes=procs)
        nginx.start()
        if capture(f"http://{h.HOST}:{nginx.port}{path}") != body:
            raise RuntimeError("nginx does not serve the same bytes")
        auth = {"WRK_AUTH": h.basic_auth()}
        wrk = functools.partial(h.run_wrk, connections=args.connections,
                                threads=args.threads, script=h.BENCH_DIR / "lua" / "get.lua",
                                env=auth)
        runs = [
            (f"nginx ({procs}w)", f"http://{h.HOST}:{nginx.port}{path}", nginx.pids),
            (f"epmjobs ({procs}p)", server.base + path, server.pids),
        ]
        for _ in range(args.repeat):
            for label, url, pids in runs:
                wrk("warm-up", url, seconds=args.warmup)
                result = wrk(label, url, seconds=args.seconds, watch=pids())
                h.log(f"{label}: {result.rps:,.0f} req/s, p99 {result.p99_ms:.2f} ms")
                results.append(result)
        held = running_job(server.db_path)
        if held is not None:
            url = f"{server.base}{h.PLANNING}/applications/{h.APP}/jobs/{held}"
            wrk("warm-up", url, seconds=args.warmup)
            result = wrk(f"epmjobs ({procs}p) running job", url, seconds=args.seconds,
                         watch=server.pids())
            h.log(f"{result.label}: {result.rps:,.0f} req/s, p99 {result.p99_ms:.2f} ms")
            results.append(result)
        if args.random_ids:
            top = historical_jobs(server.db_path)
            env = {**auth, "WRK_PATH_PREFIX": f"{h.PLANNING}/applications/{h.APP}/jobs/",
                   "WRK_ID_LO": "1", "WRK_ID_HI": str(top)}
            rnd = h.BENCH_DIR / "lua" / "get_random_job.lua"
            h.run_wrk("warm-up", server.base + "/", connections=args.connections,
                      threads=args.threads, seconds=args.warmup, script=rnd, env=env)
            result = h.run_wrk(f"epmjobs ({procs}p) random ids", server.base + "/",
                               connections=args.connections, threads=args.threads,
                               seconds=args.seconds, script=rnd, env=env,
                               watch=server.pids())
            h.log(f"{result.label}: {result.rps:,.0f} req/s, p99 {result.p99_ms:.2f} ms")
            results.append(result)
    finally:
        if nginx:
            nginx.stop()
        server.stop()
    return results


def table(results: list[h.WrkResult]) -> str:
    head = (f"{'server':<30} {'req/s':>9} {'x nginx':>8} {'p50 ms':>7} {'p90 ms':>7} "
            f"{'p99 ms':>7} {'p99.9':>7} {'max ms':>7} {'errors':>6} {'CPU us/req':>10} "
            f"{'CPU x':>6} {'load':>5}")
    lines = [head, "-" * len(head)]
    reference: h.WrkResult | None = None
    for r in results:
        if r.label.startswith("nginx"):
            reference = r
        ratio = f"{r.rps / reference.rps:.2f}" if reference else "-"
        cpu = (f"{reference.cpu_us_per_request / r.cpu_us_per_request:.2f}"
               if reference and r.cpu_us_per_request else "-")
        lines.append(
            f"{r.label:<30} {r.rps:>9,.0f} {ratio:>8} {r.p50_ms:>7.2f} {r.p90_ms:>7.2f} "
            f"{r.p99_ms:>7.2f} {r.p999_ms:>7.2f} {r.max_ms:>7.1f} "
            f"{r.non_2xx + r.socket_errors:>6} {r.cpu_us_per_request:>10.0f} {cpu:>6} "
            f"{r.loadavg:>5.1f}")
    return "\n".join(lines)


def verdicts(results: list[h.WrkResult]) -> list[str]:
    out, reference = [], None
    for r in results:
        if r.label.startswith("nginx"):
            reference = r
            continue
        if reference is None or "random" in r.label:
            continue
        ratio = r.rps / reference.rps
        ok = ratio >= TARGET_RATIO and r.p99_ms <= TARGET_P99_MS
        out.append(f"{r.label}: {ratio:.2f} x nginx (target >= {TARGET_RATIO}), p99 "
                   f"{r.p99_ms:.2f} ms (target <= {TARGET_P99_MS:g}) -> "
                   f"{'MEETS' if ok else 'MISSES'} the target")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1_000_000,
                        help="historical jobs to seed (default 1,000,000)")
    parser.add_argument("--processes", default="1,2",
                        help="comma list of API process counts; nginx gets as many workers")
    parser.add_argument("--workers", type=int, default=2, help="job worker processes")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--seconds", type=float, default=12)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-random-ids", dest="random_ids", action="store_false",
                        help="skip the extra run polling random historical jobs")
    parser.add_argument("--auth-cache-seconds", type=float, default=None,
                        help="EPMJOBS_AUTH_CACHE_SECONDS for the server (default: its own)")
    parser.add_argument("--data-template", help="a seeded data dir to copy (made there "
                        "on first use): A/B runs then poll the same database")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--nice", type=int, default=0,
                        help="niceness of every process started (e.g. -10 as root on a "
                        "shared machine; the reference gets the same)")
    args = parser.parse_args()
    h.set_nice(args.nice)

    h.ensure_tools("wrk", "nginx", "curl")
    results: list[h.WrkResult] = []
    with h.workdir(args.keep) as work:
        if args.data_template and Path(args.data_template).exists():
            data = work / "data"
            shutil.copytree(args.data_template, data)
            h.log(f"copied the seeded data dir {args.data_template}")
        else:
            data = prepare(work, args.jobs)
            if args.data_template:
                shutil.copytree(data, args.data_template)
        count = historical_jobs(data / "epmjobs.sqlite3")
        for procs in [int(p) for p in args.processes.split(",")]:
            results += bench_processes(args, work, data, procs)
    notes = h.machine_notes()
    print(f"\nbench/poll - {count:,} jobs in the database; wrk -t{args.threads} "
          f"-c{args.connections} -d{args.seconds:g}s --latency, loopback, Basic auth")
    print("machine: " + ", ".join(f"{k}={v}" for k, v in notes.items()))
    print("CPU us/req = CPU time of the server's whole process tree / requests served; CPU x ="
          " nginx's CPU us/req / this row's (efficiency, steadier than req/s on a busy box);"
          "\nload = 1-min load average when the run started (the machine is shared)\n")
    print(table(results))
    print()
    for line in verdicts(results):
        print(line)
    out = h.BENCH_DIR / "results"
    out.mkdir(exist_ok=True)
    path = out / f"poll-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"jobs": count, "notes": notes, "args": vars(args),
                                "results": [asdict(r) for r in results]}, indent=2))
    print(f"\n(saved {path.relative_to(h.ROOT)})", file=sys.stderr)


if __name__ == "__main__":
    main()
