"""Where the time goes: status polls (in-process cProfile, live py-spy) and submissions.

    .venv/bin/python bench/profiling.py poll-inproc [--jobs 100000] [--n 20000]
    .venv/bin/python bench/profiling.py poll-live   [--jobs 100000] [--seconds 8]
    .venv/bin/python bench/profiling.py submit-live [--seconds 8]
    .venv/bin/python bench/profiling.py worker-inproc [--n 2000] [--no-profile]

``poll-inproc`` builds the real app over a seeded SQLite data dir, calls it directly as
ASGI (no server, no sockets) and reports microseconds per poll, then the top functions
by cumulative and own time. ``poll-live`` starts ``epmjobs serve`` with one API process,
loads it with wrk and samples the API process with py-spy (installed into the venv with
pip when missing). ``submit-live`` does the same under a wrk submission load and samples
the API process and one job worker, idle time included (lock waits show up there).
``worker-inproc`` times the submit service and ``Worker.run_one`` in one process with no
contention: the floor of a job's own cost.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import cProfile
import io
import json
import os
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import harness as h
import seed


def _asgi_get(app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> Any:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8080)}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def one() -> int:
        await app(scope, receive, send)
        return int(sent[0]["status"])

    return one


def poll_inproc(args: argparse.Namespace) -> None:
    from epmjobs.api.app import create_app
    from epmjobs.bootstrap import bootstrap
    from epmjobs.settings import Settings
    from epmjobs.system import System

    work = Path(tempfile.mkdtemp(prefix="epmjobs-prof-"))
    try:
        settings = Settings(data_dir=work, admin_user=h.ADMIN_USER,
                            admin_password=h.ADMIN_PASSWORD, auth_cache_seconds=3600)
        system = System(settings)
        bootstrap(system)
        took = seed.seed(str(settings.data_dir / "epmjobs.sqlite3"), args.jobs)
        h.log(f"seeded {args.jobs:,} jobs in {took:.1f}s")
        app = create_app(system)
        path = f"{h.PLANNING}/applications/{h.APP}/jobs/{args.jobs // 2}"
        headers = [(b"host", b"127.0.0.1:8080"), (b"user-agent", b"wrk"),
                   (b"authorization", h.basic_auth().encode())]
        call = _asgi_get(app, path, headers)

        async def loop(n: int) -> float:
            assert await call() == 200
            t0 = time.process_time()  # CPU time: other load on a shared box does not count
            for _ in range(n):
                await call()
            return time.process_time() - t0

        rounds = sorted(1e6 * asyncio.run(loop(args.n)) / args.n for _ in range(args.rounds))
        best, median = rounds[0], statistics.median(rounds)
        print(f"in-process: {best:.1f} us CPU per poll at best, median {median:.1f} of "
              f"{args.rounds} rounds ({1e6 / best:,.0f} polls/s per core; no server, no "
              "sockets)")
        if args.no_profile:
            return
        prof = cProfile.Profile()
        prof.enable()
        asyncio.run(loop(args.n))
        prof.disable()
        for key in ("cumulative", "tottime"):
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(key).print_stats(args.top)
            print(f"\n--- by {key} ---")
            print("\n".join(buf.getvalue().splitlines()[6:]))
        system.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def worker_inproc(args: argparse.Namespace) -> None:
    """Submit N trivial jobs through the service, then drain them with one Worker."""
    from epmjobs.bootstrap import bootstrap
    from epmjobs.jobs.runner import Worker
    from epmjobs.jobs.service import Submission
    from epmjobs.security.roles import Principal, Role
    from epmjobs.settings import Settings
    from epmjobs.system import System

    work = Path(tempfile.mkdtemp(prefix="epmjobs-prof-"))
    try:
        system = System(Settings(data_dir=work, admin_user=h.ADMIN_USER,
                                 admin_password=h.ADMIN_PASSWORD))
        bootstrap(system)
        admin = Principal(h.ADMIN_USER, Role.SERVICE_ADMINISTRATOR)
        sub = Submission.from_body(h.TRIVIAL_JOB)
        service = system.job_service
        worker = Worker(system, "prof")
        for label, fn in (("submit (service, no HTTP)",
                           lambda: service.submit(admin, h.APP, sub)),
                          ("run one job (Worker.run_one)", worker.run_one)):
            fn()
            prof = cProfile.Profile() if not args.no_profile else None
            t0, c0 = time.perf_counter(), time.process_time()
            if prof:
                prof.enable()
            for _ in range(args.n):
                fn()
            if prof:
                prof.disable()
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            print(f"{label}: {1e3 * wall / args.n:.2f} ms wall, {1e3 * cpu / args.n:.2f} ms "
                  f"CPU per job ({args.n / wall:,.0f}/s){' [profiled]' if prof else ''}")
            if prof:
                buf = io.StringIO()
                pstats.Stats(prof, stream=buf).strip_dirs().sort_stats("cumulative"
                                                                       ).print_stats(args.top)
                print("\n".join(buf.getvalue().splitlines()[6:]))
        system.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _pyspy() -> str:
    exe = h.VENV_BIN / "py-spy"
    if not exe.exists():
        h.log("installing py-spy into the venv")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "py-spy"], check=True)
    return str(exe)


def summarise(raw: Path, top: int) -> str:
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        frames = [re.sub(r"\(/\S*/(site-packages|src|python3\.\d+)/", "(", f)
                  for f in stack.split(";")]
        own[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    out = [f"{total} samples", "--- own time ---"]
    out += [f"{100 * v / total:5.1f}%  {f}" for f, v in own.most_common(top)]
    out += ["--- inclusive (frames under the event loop) ---"]
    out += [f"{100 * v / total:5.1f}%  {f}" for f, v in incl.most_common(top * 2)
            if "starlette" in f or "epmjobs" in f or "asyncio" in f or "granian" in f][:top]
    return "\n".join(out)


def _roles(server: h.EpmServer) -> tuple[int, list[int]]:
    """(the HTTP worker process, the job worker processes) of a running server."""
    assert server.proc is not None
    pids = server.pids()
    workers = [p for p in pids if " worker " in _cmdline(p)]
    http = [p for p in pids if p != server.proc.pid and p not in workers
            and "epmjobs" in _cmdline(p)]
    return http[-1], workers


def live(args: argparse.Namespace, what: str) -> None:
    spy = _pyspy()
    h.ensure_tools("wrk")
    with h.workdir() as work:
        server = h.EpmServer(work / "data", workers=args.workers, api_processes=1,
                             extra_env={"EPMJOBS_AUTH_CACHE_SECONDS": str(args.auth_cache)})
        try:
            server.start()
            if what == "poll":
                server.stop()
                seed.seed(str(server.db_path), args.jobs)
                server.start()
            job_id = server.submit_trivial()
            server.wait_terminal(job_id)
            http, workers = _roles(server)
            env = {**os.environ, "WRK_AUTH": h.basic_auth(),
                   "WRK_LUA_DIR": str(h.BENCH_DIR / "lua")}
            if what == "poll":
                url = f"{server.base}{h.PLANNING}/applications/{h.APP}/jobs/{job_id}"
                script, conns, targets = "get.lua", 64, {"http": http}
            else:
                url = f"{server.base}{h.PLANNING}/applications/{h.APP}/jobs"
                env["WRK_BODY"] = json.dumps(h.TRIVIAL_JOB)
                script, conns = "submit.lua", args.connections
                targets = {"http": http, "job worker": workers[0]}
            load = subprocess.Popen(
                [h.tool("wrk"), "-t2", f"-c{conns}", f"-d{args.seconds + 2:g}s", "-s",
                 str(h.BENCH_DIR / "lua" / script), url],
                env=env, stdout=subprocess.PIPE, text=True)
            time.sleep(1)
            spies = {}
            for name, pid in targets.items():
                raw = work / f"{name.replace(' ', '-')}.raw"
                cmd = [spy, "record", "-p", str(pid), "-d", str(int(args.seconds)), "-r",
                       "200", "-f", "raw", "-o", str(raw), "--nonblocking"]
                if what == "submit":
                    cmd.append("--idle")
                spies[name] = (raw, subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                                     stderr=subprocess.DEVNULL))
            for _raw, proc in spies.values():
                proc.wait(timeout=args.seconds + 60)
            out, _ = load.communicate(timeout=args.seconds + 30)
            print(next((ln for ln in out.splitlines() if ln.startswith("WRKJSON")), ""))
            for name, (raw, _proc) in spies.items():
                print(f"\n===== {name} process =====")
                print(summarise(raw, args.top))
                if args.save:
                    shutil.copy(raw, f"{args.save}.{name.replace(' ', '-')}.raw")
        finally:
            server.stop()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=["poll-inproc", "poll-live", "submit-live",
                                         "worker-inproc"])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--n", type=int, default=20_000, help="polls per round (inproc)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; best and median shown")
    parser.add_argument("--no-profile", action="store_true", help="timings only (inproc)")
    parser.add_argument("--seconds", type=float, default=8, help="sampling time (live)")
    parser.add_argument("--auth-cache", type=float, default=3600,
                        help="EPMJOBS_AUTH_CACHE_SECONDS for the live server")
    parser.add_argument("--workers", type=int, default=2, help="job workers (live)")
    parser.add_argument("--connections", type=int, default=16, help="wrk (submit-live)")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--save", help="copy the raw py-spy stacks to SAVE.<process>.raw")
    args = parser.parse_args()
    if args.mode == "poll-inproc":
        poll_inproc(args)
    elif args.mode == "worker-inproc":
        worker_inproc(args)
    else:
        live(args, args.mode.split("-")[0])


if __name__ == "__main__":
    main()
