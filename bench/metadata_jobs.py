"""The metadata jobs end to end: IMPORT_METADATA, EXPORT_METADATA and CUBE_REFRESH of a
generated outline through the job runner, with persistence (SQLite, the embedded default).

    .venv/bin/python bench/metadata_jobs.py [--members 200000] [--nice -10]

Set-up (not timed): applications with the generated outline's cubes and dimensions and no
members, and the outline's export files in a ZIP in the file repository. *Cold*: each job
runs in a new worker process (nothing cached), then IMPORT_METADATA once more over the
imported outline (every record an update: the nightly case). *Warm*: one worker process runs
the three jobs in turn on a second application, so export and refresh find the imported
outline in the worker's cache. A job's time is the worker's ``run_one``: claiming it,
reading the stored outline and the input, the work, and the final transaction that saves
the outline, publishes the files and ends the job (Python's start-up is not counted). Peak
RSS is the worker process's. The imports must reproduce the outline exactly (checked).

Reference, measured in the same run on the same bytes: the domain work alone (the same
``load_metadata`` calls, no runner, no database: ``bench/metadata.py``'s import phase) and
the floor of any Python loader (decoding the files and splitting them with ``csv.reader``).
Targets from the issue: import and export >= 50,000 members/s, refresh <= 5 s, peak RSS
<= 1 GB.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent / "src"))

from epmjobs.appfile import create_application  # noqa: E402
from epmjobs.bootstrap import bootstrap  # noqa: E402
from epmjobs.jobs.runner import Worker  # noqa: E402
from epmjobs.jobs.service import Submission  # noqa: E402
from epmjobs.planning.outline import (  # noqa: E402
    export_metadata,
    load_metadata,
    outline_to_json,
    synthetic_outline,
)
from epmjobs.security.roles import Principal, Role  # noqa: E402
from epmjobs.settings import Settings  # noqa: E402
from epmjobs.system import System  # noqa: E402

APP = "Big"
WARM = "Warm"
DEFINITIONS = [
    {"jobType": "IMPORT_METADATA", "jobName": "Load",
     "parameters": {"importZipFileName": "big.zip", "refreshCube": "false"}},
    {"jobType": "EXPORT_METADATA", "jobName": "Dump",
     "parameters": {"exportZipFileName": "dump.zip"}},
    {"jobType": "CUBE_REFRESH", "jobName": "Refresh"},
]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, admin_password="bench-pw-1", seed_demo=False)


def run_worker(data_dir: str, count: int, out: Any) -> None:
    """A worker process: run ``count`` queued jobs one after the other (the first one cold,
    nothing cached), reporting each one's wall and CPU seconds, and the peak RSS."""
    system = System(settings(Path(data_dir)))
    worker = Worker(system, "bench")
    times = []
    for _ in range(count):
        cpu, wall = time.process_time(), time.perf_counter()
        assert worker.run_one()
        times.append((time.perf_counter() - wall, time.process_time() - cpu))
    out.put({"times": times, "peak_rss_mib": peak_rss_mib()})
    system.close()


def run_jobs(system: System, app: str, labels: list[str], members: int) -> list[dict[str, Any]]:
    """Submit the jobs, run them in one fresh worker process, print and return figures."""
    admin = Principal("admin", Role.SERVICE_ADMINISTRATOR)
    by_label = {"IMPORT_METADATA": DEFINITIONS[0], "EXPORT_METADATA": DEFINITIONS[1],
                "CUBE_REFRESH": DEFINITIONS[2]}
    ids = [system.job_service.submit(admin, app, Submission.from_body(
        {"jobType": by_label[label]["jobType"], "jobName": by_label[label]["jobName"]})).job_id
        for label in labels]
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=run_worker, args=(str(system.settings.data_dir), len(ids), out))
    proc.start()
    report: dict[str, Any] = out.get(timeout=3600)
    proc.join(60)
    found = []
    for label, job_id, (wall, cpu) in zip(labels, ids, report["times"], strict=True):
        job = system.stores.jobs.get(job_id)
        assert job is not None and job.status == 0, job
        figures = {"job_s": round(wall, 3), "cpu_s": round(cpu, 3),
                   "members_per_s": round(members / wall),
                   "worker_peak_rss_mib": round(report["peak_rss_mib"], 1)}
        print(f"  {label:<22} job {wall:7.2f} s  {figures['members_per_s']:>9,} members/s  "
              f"cpu {cpu:6.2f} s  worker peak RSS {report['peak_rss_mib']:,.0f} MiB   "
              f"({job.details})", flush=True)
        found.append(figures)
    return found


def references(files: dict[str, bytes], source: Any, members: int) -> dict[str, Any]:
    def timed(fn: Any) -> float:
        start = time.process_time()
        fn()
        return time.process_time() - start

    def domain() -> None:
        target = source.empty_like()
        for name, data in files.items():
            target = load_metadata(target, data, dimension=name).outline

    def floor() -> None:
        for data in files.values():
            sum(1 for _ in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))

    found = {"domain_import_cpu_s": round(timed(domain), 3),
             "csv_reader_cpu_s": round(timed(floor), 3)}
    for key, seconds in list(found.items()):
        found[key.replace("cpu_s", "members_per_s")] = round(members / seconds)
    print(f"{'reference: domain only':<24} cpu {found['domain_import_cpu_s']:7.2f} s  "
          f"{found['domain_import_members_per_s']:>9,} members/s (load_metadata, no runner)")
    print(f"{'reference: csv.reader':<24} cpu {found['csv_reader_cpu_s']:7.2f} s  "
          f"{found['csv_reader_members_per_s']:>9,} members/s")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--nice", type=int, default=0, help="renice first (negative: root)")
    args = parser.parse_args()
    if args.nice:
        os.nice(args.nice)
    results: dict[str, Any] = {"args": vars(args), "load_1min": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="epmjobs-bench-meta-") as tmp:
        data_dir = Path(tmp) / "data"
        system = System(settings(data_dir))
        bootstrap(system)
        source = synthetic_outline(args.members, args.seed)
        n = results["members"] = source.member_count()
        for name in (APP, WARM):
            create_application(system, {
                "format": "epmjobs-application/1", "name": name,
                "cubes": [{"name": c.name, "kind": str(c.kind)} for c in source.cubes],
                "jobDefinitions": DEFINITIONS, "outline": outline_to_json(source.empty_like())})
        files = {name: text.encode() for name, text in export_metadata(source).items()}
        archive = system.stores.files.temporary(".zip")
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for name, data in files.items():
                zf.writestr(f"big_{name}.csv", data)
        system.stores.files.publish(archive, "big.zip")
        print(f"{n:,} members in {len(source.dimensions)} dimensions, "
              f"{sum(map(len, files.values())) / 2**20:.1f} MiB of CSV; "
              f"load {os.getloadavg()[0]:.1f}", flush=True)
        print("cold: each job in a new worker process (nothing cached)")
        for label in ("IMPORT_METADATA", "EXPORT_METADATA", "CUBE_REFRESH"):
            results[label] = run_jobs(system, APP, [label], n)[0]
        results["IMPORT_METADATA again"] = run_jobs(system, APP, ["IMPORT_METADATA"], n)[0]
        print("  (again: the same files over the imported outline, every record an update)")
        print("warm: one worker process runs the three jobs in turn (its outline cache)")
        warm = run_jobs(system, WARM, ["IMPORT_METADATA", "EXPORT_METADATA", "CUBE_REFRESH"], n)
        results["warm"] = dict(zip(("IMPORT_METADATA", "EXPORT_METADATA", "CUBE_REFRESH"), warm,
                                   strict=True))
        results["reference"] = references(files, source, n)
        for name in (APP, WARM):
            app = system.stores.apps.get(name)
            assert app is not None
            stored = system.stores.outlines.refreshed(app).outline
            assert outline_to_json(stored) == outline_to_json(source), "the import is not exact"
        system.close()
    cold = [results[k] for k in ("IMPORT_METADATA", "EXPORT_METADATA", "CUBE_REFRESH")]
    rss = max(f["worker_peak_rss_mib"] for f in [*cold, *warm])
    met = {"import >= 50k/s": cold[0]["members_per_s"] >= 50_000,
           "export >= 50k/s": cold[1]["members_per_s"] >= 50_000,
           "refresh <= 5 s": cold[2]["job_s"] <= 5, "worker RSS <= 1 GiB": rss <= 1024}
    results["targets_met"] = met
    print("targets: " + ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in met.items()))
    out = BENCH_DIR / "results" / f"metadata-jobs-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out.relative_to(BENCH_DIR.parent)}")


if __name__ == "__main__":
    main()
