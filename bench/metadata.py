"""The metadata jobs' domain core on a generated outline: IMPORT_METADATA, EXPORT_METADATA,
CUBE_REFRESH (validate + compile every cube) and the rows for persistence.

    .venv/bin/python bench/metadata.py [--members 200000] [--repeat 3] [--nice -10]

The outline has 8 dimensions (``epmjobs.planning.outline.synthetic``). Export writes one CSV
per dimension; import loads those files into an empty outline with the same dimensions (one
file after the other, as a job does) and must reproduce it exactly. Each phase reports wall
and CPU seconds (the machine is shared: CPU time is what the code costs) and members per
second. The reference, measured in the same run on the same bytes, is the floor of any
Python loader: decoding the files and splitting them with ``csv.reader``, nothing else.
Peak RSS is the process's high-water mark after each phase (it includes the source outline
kept for the exactness check). Targets from the issue: import and export >= 50,000
members/s, refresh <= 5 s, peak RSS <= 1 GB.
"""

from __future__ import annotations

import argparse
import csv
import gc
import io
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent / "src"))

from epmjobs.planning.outline import (  # noqa: E402
    Outline,
    export_metadata,
    load_metadata,
    outline_to_json,
    to_rows,
    validate,
)
from epmjobs.planning.outline.compiled import compile_cubes  # noqa: E402
from epmjobs.planning.outline.synthetic import synthetic_outline  # noqa: E402
from epmjobs.planning.outline.validate import errors  # noqa: E402


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, fn: Callable[[], Any], repeat: int,
          members: int) -> tuple[Any, dict[str, Any]]:
    """Best of ``repeat`` runs (wall and CPU), with members/s on both."""
    best_wall = best_cpu = float("inf")
    result: Any = None
    for _ in range(repeat):
        result = None  # one result alive at a time: peak RSS is that of one run
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    figures = {"wall_s": round(best_wall, 3), "cpu_s": round(best_cpu, 3),
               "members_per_s_wall": round(members / best_wall),
               "members_per_s_cpu": round(members / best_cpu),
               "peak_rss_mib": round(peak_rss_mib(), 1)}
    print(f"{label:<28} wall {best_wall:7.2f} s  cpu {best_cpu:7.2f} s  "
          f"{members / best_wall:>9,.0f} members/s wall  {members / best_cpu:>9,.0f} cpu  "
          f"peak RSS {figures['peak_rss_mib']:,.0f} MiB", flush=True)
    return result, figures


def csv_floor(files: dict[str, bytes]) -> int:
    rows = 0
    for data in files.values():
        text = data.decode("utf-8-sig")
        rows += sum(1 for _ in csv.reader(io.StringIO(text, newline=""), skipinitialspace=True))
    return rows


def notes() -> dict[str, str]:
    def run(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10,
                                  check=False).stdout.strip()
        except OSError:
            return "?"
    return {"cores": str(os.cpu_count()), "python": platform.python_version(),
            "git": run("git", "-C", str(BENCH_DIR.parent), "rev-parse", "--short", "HEAD"),
            "load (1 min)": f"{os.getloadavg()[0]:.1f}"}


def export_and_import(outline: Outline, repeat: int, results: dict[str, Any]) -> Outline:
    """Time the export of ``outline`` and the import of its files; return the imported one."""
    n = results["members"] = outline.member_count()
    print(f"generated {n:,} members in {len(outline.dimensions)} dimensions; "
          f"load {os.getloadavg()[0]:.1f}", flush=True)
    texts, results["export"] = timed("EXPORT_METADATA", lambda: export_metadata(outline),
                                     repeat, n)
    files = {name: text.encode() for name, text in texts.items()}
    results["export"]["mib"] = round(sum(len(b) for b in files.values()) / 2**20, 1)

    def import_all() -> Outline:
        target = outline.empty_like()
        for name, data in files.items():
            outcome = load_metadata(target, data, dimension=name)
            assert not outcome.result.rejections, outcome.result.rejections[:3]
            target = outcome.outline
        return target

    loaded: Outline
    loaded, results["import"] = timed("IMPORT_METADATA", import_all, repeat, n)
    _, results["csv_reference"] = timed("reference: csv.reader only", lambda: csv_floor(files),
                                        repeat, n)
    results["import"]["x_reference_cpu"] = round(
        results["import"]["cpu_s"] / results["csv_reference"]["cpu_s"], 2)
    assert outline_to_json(loaded) == outline_to_json(outline), "round trip is not exact"
    return loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--nice", type=int, default=0, help="renice first (negative: root)")
    args = parser.parse_args()
    if args.nice:
        os.nice(args.nice)
    results: dict[str, Any] = {"args": vars(args), "notes": notes()}

    loaded = export_and_import(synthetic_outline(args.members), args.repeat, results)
    gc.collect()  # the source outline is cyclic garbage now
    n = results["members"]

    def refresh() -> Any:
        problems = errors(validate(loaded))
        assert not problems, problems[:3]
        return compile_cubes(loaded)

    _, results["refresh"] = timed("CUBE_REFRESH (all cubes)", refresh, args.repeat, n)
    _, results["to_rows"] = timed("to_rows (persistence)", lambda: to_rows(loaded), args.repeat, n)
    results["peak_rss_mib"] = round(peak_rss_mib(), 1)
    target = (results["import"]["members_per_s_wall"] >= 50_000,
              results["export"]["members_per_s_wall"] >= 50_000,
              results["refresh"]["wall_s"] <= 5, results["peak_rss_mib"] <= 1024)
    print(f"targets (import, export, refresh, RSS) met on wall time: {target}; "
          f"import = {results['import']['x_reference_cpu']}x the csv.reader floor (CPU)")
    out = BENCH_DIR / "results" / f"metadata-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out.relative_to(BENCH_DIR.parent)}")


if __name__ == "__main__":
    main()
