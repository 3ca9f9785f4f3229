"""How fast the test double's fixtures start (issue: "well under a second").

    .venv/bin/python bench/testing_fixture.py [--rounds 9] [--live-rounds 3]

- in-process, cold: a fresh Python process that imports ``epmjobs.testing`` and starts an
  ``InProcessServer`` (what the first test of a session pays), and, as its reference, a
  fresh process that only imports the server modules;
- in-process, warm: start, run one job, stop, in one process (what every later test
  pays), next to its reference: the bare installation (System, schema, admin, Vision)
  that the suite's own ``system`` fixture builds;
- live: ``LiveServer`` start (``epmjobs serve`` with the control API, ready), and the
  ``fresh()`` (restore of its first state) each test of the live fixture pays.

Medians of the rounds, on the machine's current load (printed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_COLD = """
import time, tempfile, pathlib
t = time.perf_counter()
from epmjobs.testing.servers import InProcessServer
with InProcessServer(pathlib.Path(tempfile.mkdtemp()) / "d") as s:
    pass
print(time.perf_counter() - t)
"""
_IMPORTS = """
import time
t = time.perf_counter()
import epmjobs.api.app, epmjobs.jobs.runner, epmjobs.bootstrap, epmjobs.client
print(time.perf_counter() - t)
"""
_ALL_USERS = {"loginLevel": "All Users"}


def _child(code: str) -> float:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    return float(out.stdout.strip().splitlines()[-1])


def _warm(rounds: int) -> tuple[list[float], list[float], list[float]]:
    from epmjobs.appfile import create_application, load_file
    from epmjobs.bootstrap import bootstrap
    from epmjobs.demo import VISION_FILE
    from epmjobs.settings import Settings
    from epmjobs.system import System
    from epmjobs.testing.servers import InProcessServer

    starts, jobs, bare = [], [], []
    for _ in range(rounds):
        folder = Path(tempfile.mkdtemp())
        began = time.perf_counter()
        with InProcessServer(folder / "d") as server:
            starts.append(time.perf_counter() - began)
            began = time.perf_counter()
            with server.client() as epm:
                epm.run_job("Vision", "ADMINISTRATION_MODE", parameters=_ALL_USERS,
                            timeout=30)
            jobs.append(time.perf_counter() - began)
        began = time.perf_counter()
        system = System(Settings(data_dir=folder / "bare", admin_password="x",
                                 seed_demo=False))
        bootstrap(system)
        create_application(system, load_file(VISION_FILE))
        bare.append(time.perf_counter() - began)
        system.close()
    return starts, jobs, bare


def _live(rounds: int) -> tuple[list[float], list[float]]:
    from epmjobs.testing.servers import LiveServer

    starts, fresh = [], []
    for _ in range(rounds):
        began = time.perf_counter()
        with LiveServer(Path(tempfile.mkdtemp()) / "d") as server:
            starts.append(time.perf_counter() - began)
            for _ in range(5):
                began = time.perf_counter()
                server.fresh()
                fresh.append(time.perf_counter() - began)
    return starts, fresh


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:8.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--live-rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    cold = [_child(_COLD) for _ in range(args.rounds)]
    imports = [_child(_IMPORTS) for _ in range(args.rounds)]
    print(f"in-process, cold (imports included) {_ms(cold)}   reference: imports alone "
          f"{_ms(imports)}")
    starts, jobs, bare = _warm(args.rounds)
    print(f"in-process, warm start              {_ms(starts)}   reference: bare installation"
          f" {_ms(bare)}  ratio {statistics.median(starts) / statistics.median(bare):.2f}")
    print(f"in-process, first job submitted and polled to its end {_ms(jobs)}")
    live, fresh = _live(args.live_rounds)
    print(f"live server start (serve, ready)    {_ms(live)}   fresh() per test {_ms(fresh)}")


if __name__ == "__main__":
    main()
