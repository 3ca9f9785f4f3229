"""The data jobs' work on a 10,000,000-cell cube, side by side with DuckDB doing the same
work on the same files, in the same run (issue [cube-data]).

    .venv/bin/python bench/data.py [--cells 10000000] [--nice -10] [--keep DIR]

The outline has 8 dimensions: Account and Period dense (their parents Dynamic Calc),
Years, Scenario, Version of one member each, and three sparse dimensions Entity, Product,
Customer of 1,000-5,000 members with 4-6 levels (parents stored). The data file is a
Planning-format CSV: Entity rows, the 12 months as driver columns, the other dimensions in
the Point-of-View, level-0 cells only, every row distinct.

Phases (ours -> the DuckDB reference):
- import: PlanningReader on the file, merge into the (empty) cube, write it to the
  SQLite cell store in one transaction -> ``read_csv`` + UNPIVOT of the months + joins to
  the member tables + insert into a table of a DuckDB database file;
- aggregate: every stored parent of the three sparse dimensions (AGG, dimension after
  dimension) -> per dimension a ``GROUP BY`` over the join with the ancestor closure;
- export: every level-0 cell in the Planning layout to CSV -> the pivot of the months with
  the names joined back, ``COPY ... TO`` CSV.
Both sides' results are checked equal (cell count and value sum) before figures count.
Peak RSS is this process's high-water mark after the import (the target: <= 1.5 GB).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent / "src"))

from epmjobs.planning.application import Cube, CubeKind  # noqa: E402
from epmjobs.planning.cube.cells import Cells  # noqa: E402
from epmjobs.planning.cube.model import cube_model  # noqa: E402
from epmjobs.planning.data.export import ExportSpec, write_planning  # noqa: E402
from epmjobs.planning.data.planning_format import PlanningReader  # noqa: E402
from epmjobs.planning.outline import outline_from_json  # noqa: E402
from epmjobs.storage import migrate  # noqa: E402
from epmjobs.storage.cellstore import CellStore, StoredCells  # noqa: E402
from epmjobs.storage.database import Database  # noqa: E402
from epmjobs.storage.schema import applications  # noqa: E402

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
SPARSE = {"Entity": (3000, 5, "E"), "Product": (2000, 4, "P"), "Customer": (1500, 4, "C")}
CUBE = "Bench"


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def tree(prefix: str, total: int, levels: int, rng: np.random.Generator) -> list[
        tuple[str, str]]:
    """(member, parent) pairs: a tree of about ``total`` members and ``levels`` levels."""
    fanout = max(2, round(total ** (1 / levels)))
    pairs: list[tuple[str, str]] = []
    frontier = [f"All{prefix}"]
    pairs.append((frontier[0], ""))
    count = 1
    for depth in range(1, levels + 1):
        nxt = []
        for parent in frontier:
            for _ in range(int(rng.integers(max(1, fanout - 1), fanout + 2))):
                if count >= total:
                    break
                name = f"{prefix}{count:05d}"
                pairs.append((name, parent))
                nxt.append(name)
                count += 1
        frontier = nxt
        if depth == levels - 1:  # the last level takes what is left
            fanout = max(2, -(-(total - count) // max(1, len(frontier))))
    return pairs


def outline_doc(rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, list[str]]]:
    def member(name: str, parent: str, storage: str) -> dict[str, Any]:
        return {"name": name, "parent": parent, "dataStorage": storage}

    leaves: dict[str, list[str]] = {}
    accounts = [member("TotalAccount", "Account", "Dynamic Calc")]
    acct = []
    for g in range(4):
        accounts.append(member(f"G{g}", "TotalAccount", "Dynamic Calc"))
        for i in range(10):
            acct.append(f"A{g}{i}")
            accounts.append(member(acct[-1], f"G{g}", "Store"))
    leaves["Account"] = acct
    periods = [member("YearTotal", "Period", "Dynamic Calc")]
    for q in range(4):
        periods.append(member(f"Q{q + 1}", "YearTotal", "Dynamic Calc"))
        periods += [member(m, f"Q{q + 1}", "Store") for m in MONTHS[q * 3:q * 3 + 3]]
    dims = [
        {"name": "Account", "type": "Account", "cubes": {CUBE: "Dense"}, "members": accounts},
        {"name": "Period", "type": "Period", "cubes": {CUBE: "Dense"}, "members": periods},
        {"name": "Years", "type": "Years", "cubes": {CUBE: "Sparse"},
         "members": [member("FY24", "Years", "Store")]},
        {"name": "Scenario", "type": "Scenario", "cubes": {CUBE: "Sparse"},
         "members": [member("Actual", "Scenario", "Store")]},
        {"name": "Version", "type": "Version", "cubes": {CUBE: "Sparse"},
         "members": [member("Working", "Version", "Store")]}]
    for name, (total, levels, prefix) in SPARSE.items():
        pairs = tree(prefix, total, levels, rng)
        parents = {p for _, p in pairs}
        members = [member(n, p or name, "Store") for n, p in pairs]
        leaves[name] = [n for n, _ in pairs if n not in parents]
        dims.append({"name": name, "type": "Entity" if name == "Entity" else "Custom",
                     "cubes": {CUBE: "Sparse"}, "members": members})
    return {"dimensions": dims}, leaves


def write_file(path: Path, leaves: dict[str, list[str]], cells: int,
               rng: np.random.Generator) -> int:
    """A Planning-format file of about ``cells`` level-0 cells, rows of 12 months.

    Like real planning data the sparse combinations cluster: 20 of the 40 accounts, and a
    run of neighbouring level-0 members of each sparse dimension (200 entities x 35
    products x 6 customers for 10M cells), fully crossed, rows in random order. (Random
    combinations scattered over the whole outline would make every upper-level block
    distinct and the aggregated cube ~170x the input, for both engines.)"""
    accounts = 20
    blocks = max(1, cells // (accounts * len(MONTHS)))
    products, customers = 35, 6
    entities = max(1, round(blocks / (products * customers)))
    chosen = {}
    for dim, count in (("Entity", entities), ("Product", products), ("Customer", customers),
                       ("Account", accounts)):
        pool = leaves[dim]
        start = int(rng.integers(0, max(1, len(pool) - count)))
        chosen[dim] = np.array(pool[start:start + count], dtype=object)
    grid = np.stack(np.meshgrid(*(np.arange(len(chosen[d])) for d in (
        "Entity", "Account", "Product", "Customer")), indexing="ij"), -1).reshape(-1, 4)
    rng.shuffle(grid)
    rows = len(grid)
    names = [chosen[d][grid[:, i]] for i, d in enumerate(
        ("Entity", "Account", "Product", "Customer"))]
    values = np.round(rng.lognormal(3.0, 1.0, size=(rows, 12)), 2)
    with path.open("w", encoding="utf-8") as f:
        f.write("Entity," + ",".join(MONTHS) + ",Point-of-View,Data Load Cube Name\n")
        step = 100_000
        for lo in range(0, rows, step):
            hi = min(rows, lo + step)
            lines = [
                f'{e},{",".join(map(str, v))},"{a},FY24,Actual,Working,{p},{c}",{CUBE}\n'
                for e, a, p, c, v in zip(names[0][lo:hi], names[1][lo:hi], names[2][lo:hi],
                                          names[3][lo:hi], values[lo:hi].tolist(),
                                          strict=True)]
            f.write("".join(lines))
    return rows * 12


def ours(outline: Any, data: Path, work: Path) -> dict[str, Any]:
    model = cube_model(outline, CUBE)
    db = Database(f"sqlite:///{work / 'ours.db'}")
    migrate.upgrade(db)
    with db.transaction() as conn:
        conn.execute(applications.insert().values(
            application_id=1, name="B", name_key="b", app_type="PBCS", admin_mode=False,
            created_at=0.0))
    store = CellStore(db)
    figures: dict[str, Any] = {}
    t0, c0 = time.perf_counter(), time.process_time()
    load = PlanningReader(outline).read(data, data.name)
    keys, values = load.cells[CUBE]
    cells = Cells.empty().merge((keys, values))
    with db.transaction() as conn:
        store.save(conn, 1, CUBE, model.layout, cells, read=StoredCells(Cells.empty(), 0))
    figures["import_s"] = time.perf_counter() - t0
    figures["import_cpu_s"] = time.process_time() - c0
    figures["import_rss_mib"] = rss_mib()
    figures["cells"] = len(cells)
    assert not load.rejections, load.rejections[:3]
    del load, keys, values
    t0 = time.perf_counter()
    stored = store.load(1, CUBE, model.layout)
    sparse = ["Entity", "Product", "Customer"]
    aggregated = model.consolidator.aggregate(stored.cells, sparse)
    figures["aggregate_s"] = time.perf_counter() - t0
    figures["aggregated_cells"] = len(aggregated)
    figures["aggregated_sum"] = float(aggregated.values.sum())
    t0 = time.perf_counter()
    selection = {}
    for d in model.dimensions:
        h = model.hierarchies[d.name]
        selection[d.name] = np.flatnonzero((d.level == 0) & h.loadable).astype(np.int32)
    spec = ExportSpec(("Entity",), "Period", selection)
    rows = write_planning(model, stored.cells, spec, work / "ours_export.csv")
    figures["export_s"] = time.perf_counter() - t0
    figures["export_rows"] = rows
    figures["peak_rss_mib"] = rss_mib()
    db.dispose()
    return figures


def duckdb_reference(doc: dict[str, Any], data: Path, work: Path) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect(str(work / "ref.duckdb"))
    for dim in doc["dimensions"]:
        name = dim["name"]
        con.execute(f'CREATE TABLE "m_{name}" (id INTEGER, name VARCHAR, parent VARCHAR)')
        rows = [(0, name, None)] + [(i + 1, m["name"], m["parent"])
                                    for i, m in enumerate(dim["members"])]
        con.executemany(f'INSERT INTO "m_{name}" VALUES (?, ?, ?)', rows)
    figures: dict[str, Any] = {}
    months = ", ".join(f'"{m}"' for m in MONTHS)
    t0 = time.perf_counter()
    con.execute(f"""
        CREATE TABLE cells AS
        WITH raw AS (SELECT * FROM read_csv('{data}', all_varchar=true, header=true)),
        long AS (UNPIVOT raw ON {months} INTO NAME period VALUE v),
        split AS (SELECT "Entity" AS entity, period, CAST(v AS DOUBLE) AS value,
                         string_split("Point-of-View", ',') AS pov FROM long)
        SELECT a.id AS account, p.id AS period, y.id AS years, s.id AS scenario,
               ve.id AS version, e.id AS entity, pr.id AS product, c.id AS customer, value
        FROM split
        JOIN m_Entity e ON e.name = split.entity
        JOIN m_Period p ON p.name = split.period
        JOIN m_Account a ON a.name = pov[1]
        JOIN m_Years y ON y.name = pov[2]
        JOIN m_Scenario s ON s.name = pov[3]
        JOIN m_Version ve ON ve.name = pov[4]
        JOIN m_Product pr ON pr.name = pov[5]
        JOIN m_Customer c ON c.name = pov[6]""")
    figures["import_s"] = time.perf_counter() - t0
    figures["cells"] = con.execute("SELECT count(*) FROM cells").fetchone()[0]  # type: ignore[index]
    for name in SPARSE:
        con.execute(f"""
            CREATE TABLE "c_{name}" AS
            WITH RECURSIVE up(descendant, ancestor) AS (
                SELECT id, id FROM "m_{name}"
                UNION ALL
                SELECT up.descendant, m2.id FROM up
                JOIN "m_{name}" m1 ON m1.id = up.ancestor
                JOIN "m_{name}" m2 ON m2.name = m1.parent)
            SELECT * FROM up""")
    cols = ["account", "period", "years", "scenario", "version", "entity", "product",
            "customer"]
    t0 = time.perf_counter()
    current = "cells"
    for name in SPARSE:
        col = name.lower()
        others = ", ".join(c for c in cols if c != col)
        con.execute(f"""CREATE OR REPLACE TABLE "agg_{col}" AS
            SELECT {others}, c.ancestor AS {col}, sum(value) AS value
            FROM {current} t JOIN "c_{name}" c ON t.{col} = c.descendant
            GROUP BY ALL""")
        current = f'"agg_{col}"'
    figures["aggregate_s"] = time.perf_counter() - t0
    row = con.execute(f"SELECT count(*), sum(value) FROM {current}").fetchone()
    assert row is not None
    figures["aggregated_cells"], figures["aggregated_sum"] = int(row[0]), float(row[1])
    pivots = ", ".join(f"max(value) FILTER (WHERE p.name = '{m}') AS \"{m}\"" for m in MONTHS)
    t0 = time.perf_counter()
    con.execute(f"""COPY (
        SELECT e.name AS "Entity", {pivots},
               a.name || ',' || y.name || ',' || s.name || ',' || ve.name || ',' || pr.name
               || ',' || cu.name AS "Point-of-View", '{CUBE}' AS "Data Load Cube Name"
        FROM cells t JOIN m_Period p ON p.id = t.period JOIN m_Entity e ON e.id = t.entity
        JOIN m_Account a ON a.id = t.account JOIN m_Years y ON y.id = t.years
        JOIN m_Scenario s ON s.id = t.scenario JOIN m_Version ve ON ve.id = t.version
        JOIN m_Product pr ON pr.id = t.product JOIN m_Customer cu ON cu.id = t.customer
        GROUP BY e.name, a.name, y.name, s.name, ve.name, pr.name, cu.name
    ) TO '{work / "ref_export.csv"}' (HEADER, DELIMITER ',')""")
    figures["export_s"] = time.perf_counter() - t0
    con.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cells", type=int, default=10_000_000)
    parser.add_argument("--nice", type=int, default=0)
    parser.add_argument("--keep", type=Path, default=None)
    args = parser.parse_args()
    if args.nice:
        os.nice(args.nice)
    work = args.keep or Path(tempfile.mkdtemp(prefix="epmjobs-bench-data-"))
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(11)
    doc, leaves = outline_doc(rng)
    outline = outline_from_json([Cube(CUBE, CubeKind.BSO)], doc)
    data = work / "data.csv"
    log(f"writing {args.cells:,} cells to {data}")
    written = write_file(data, leaves, args.cells, rng)
    log(f"file: {data.stat().st_size / 2**20:.0f} MiB, {written:,} cells; ours...")
    mine = ours(outline, data, work)
    log("DuckDB...")
    ref = duckdb_reference(doc, data, work)
    assert mine["cells"] == ref["cells"], (mine["cells"], ref["cells"])
    assert mine["aggregated_cells"] == ref["aggregated_cells"], (mine, ref)
    assert abs(mine["aggregated_sum"] - ref["aggregated_sum"]) <= 1e-6 * abs(ref[
        "aggregated_sum"]), (mine["aggregated_sum"], ref["aggregated_sum"])
    print(f"{'phase':<10} {'ours s':>8} {'duckdb s':>9} {'ratio':>6}  target <= 4")
    for phase in ("import", "aggregate", "export"):
        a, b = mine[f"{phase}_s"], ref[f"{phase}_s"]
        print(f"{phase:<10} {a:8.2f} {b:9.2f} {a / b:6.2f}")
    print(f"cells {mine['cells']:,}; aggregated {mine['aggregated_cells']:,}; "
          f"peak RSS after import {mine['import_rss_mib']:.0f} MiB (target <= 1536), "
          f"overall {mine['peak_rss_mib']:.0f} MiB")
    results = BENCH_DIR / "results"
    results.mkdir(exist_ok=True)
    (results / f"data-{int(time.time())}.json").write_text(json.dumps(
        {"cells": args.cells, "ours": mine, "duckdb": ref}, indent=2))


if __name__ == "__main__":
    main()
