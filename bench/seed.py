"""Seed an epmjobs SQLite database with historical jobs, fast (a bulk path for benchmarks).

Writes straight into the ``jobs`` table that ``epmjobs serve`` created (see
src/epmjobs/storage/schema.py), with ``executemany`` in one transaction. The jobs look
like a busy pod's history: a year of submissions in id order, mostly completed, some
failed, cancelled or refused for bad parameters, across the catalog's job types and a
handful of users. None is left at -1 (a -1 row without a worker is *queued* work).

    .venv/bin/python bench/seed.py DATA_DIR/epmjobs.sqlite3 --jobs 1000000

Stop the server first (or expect its workers to wait on the write lock meanwhile).
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import time
from collections.abc import Iterator

JOB_TYPES = [  # (type, job name, parameters, weight)
    ("RULES", "Aggregate Plan", {"Scenario": "Plan", "Year": "FY26"}, 30),
    ("CUBE_REFRESH", "Refresh Database", {}, 10),
    ("IMPORT_DATA", "Load Actuals", {"importFileName": "actuals.csv"}, 15),
    ("EXPORT_DATA", "Export Data", {"exportFileName": "plan.zip"}, 10),
    ("PLAN_TYPE_MAP", "Push to Reporting", {"clearData": "true"}, 10),
    ("IMPORT_METADATA", "Import Entities", {"importZipFileName": "entities.zip"}, 5),
    ("EXPORT_METADATA", "Export Accounts", {"exportZipFileName": "accounts.zip"}, 5),
    ("CLEAR_CUBE", "Clear Forecast", {}, 3),
    ("ADMINISTRATION_MODE", "Administration Mode", {"loginLevel": "All Users"}, 7),
    ("RULESET", "Nightly Calc", {}, 5),
]
STATUSES = [(0, 90), (1, 6), (3, 2), (4, 2)]  # success, error, cancelled, invalid parameter
USERS = ["admin", "epm_automate", "jsmith", "apatel", "integration.svc"]
DETAILS = {
    1: "Error: Cannot perform cube refresh. The Essbase application is locked.",
    3: "The job was cancelled.",
    4: "Invalid or missing parameter loginLevel.",
}
SQL = ("INSERT INTO jobs (application_id, job_type, job_name, parameters, status, details,"
       " submitted_by, submitted_at, started_at, ended_at, attempts, worker_id,"
       " heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)")


def rows(n: int, application_id: int, now: float, seed: int) -> Iterator[tuple[object, ...]]:
    rnd = random.Random(seed)
    types = rnd.choices(JOB_TYPES, weights=[t[3] for t in JOB_TYPES], k=n)
    statuses = rnd.choices([s for s, _ in STATUSES], weights=[w for _, w in STATUSES], k=n)
    params = {t[0]: json.dumps(t[2], separators=(",", ":")) for t in JOB_TYPES}
    start, step = now - 365 * 86400, 365 * 86400 / max(n, 1)
    for i in range(n):
        job_type, job_name, _, _ = types[i]
        status = statuses[i]
        submitted = start + i * step
        began = submitted + rnd.random() * 2
        ended = began + rnd.expovariate(1 / 30)
        details = DETAILS.get(status) or f"{job_name} completed."
        yield (application_id, job_type, job_name, params[job_type], status, details,
               USERS[i % len(USERS)], submitted, began, ended, 1)


def seed(db_path: str, n: int, seed_value: int = 1) -> float:
    """Insert ``n`` ended jobs into the Vision application; returns seconds taken."""
    t0 = time.perf_counter()
    conn = sqlite3.connect(db_path, isolation_level=None, timeout=60)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")  # 256 MiB for the index builds
        app = conn.execute("SELECT application_id FROM applications ORDER BY application_id"
                           " LIMIT 1").fetchone()
        if app is None:
            raise SystemExit("no application: start `epmjobs serve` once first (it seeds Vision)")
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(SQL, rows(n, app[0], time.time(), seed_value))
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return time.perf_counter() - t0


def hold_running_job(db_path: str) -> int:
    """Insert one job that stays running (-1) while the benchmark polls it: held by a
    worker id no process has, with a heartbeat far in the future so no reaper takes it."""
    conn = sqlite3.connect(db_path, isolation_level=None, timeout=60)
    try:
        app = conn.execute("SELECT application_id FROM applications ORDER BY application_id"
                           " LIMIT 1").fetchone()
        now = time.time()
        cur = conn.execute(
            "INSERT INTO jobs (application_id, job_type, job_name, parameters, status, details,"
            " submitted_by, submitted_at, started_at, ended_at, attempts, worker_id,"
            " heartbeat_at) VALUES (?, 'RULES', 'Aggregate Plan', '{}', -1, NULL, 'admin', ?,"
            " ?, NULL, 1, 'bench-holder', ?)", (app[0], now, now, now + 1e9))
        return int(cur.lastrowid or 0)
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("db", help="path to epmjobs.sqlite3")
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    took = seed(args.db, args.jobs, args.seed)
    print(f"seeded {args.jobs} jobs in {took:.1f}s ({args.jobs / took:,.0f} rows/s)")


if __name__ == "__main__":
    main()
