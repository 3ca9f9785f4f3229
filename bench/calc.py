"""Business-rule calculations on the 10,000,000-cell cube of bench/data.py, side by side
with DuckDB SQL doing the same arithmetic on the same data, in the same run (issue [rules]).

    .venv/bin/python bench/calc.py [--cells 10000000] [--nice 10] [--skip-agg]

The outline and the shape of the data are bench/data.py's (its generator functions,
imported): 8 dimensions, Account and Period dense, Entity/Product/Customer sparse with
4-5 levels of stored parents; 20 of the 40 accounts hold a value in each of the 12 months
of every block of a 200 x 35 x 6 run of level-0 sparse members. Two of those accounts
serve as Units and Price; Revenue is an account without data.

Phases (ours -> the DuckDB reference), each on the cube's cells in memory:
- calc: ``FIX (@RELATIVE("Entity", 0), @RELATIVE("Product", 0), @RELATIVE("Customer", 0))
  "Revenue" = "Units" * "Price"; ENDFIX`` through the calc engine (parse, scope, blocks,
  lookups, write-back into the cube's cells) -> a self-join of the Units and Price rows on
  the other seven coordinates, inserted into the cells table; the best of 5 runs each;
- agg: ``AGG ("Entity", "Product", "Customer");`` -> per dimension a ``GROUP BY`` over the
  join with the ancestor closure (bench/data.py's query).
Both sides' results are checked equal (cell count and value sum) before figures count.
Our phases run each in a process forked with the cube in memory; peak RSS is each such
process's high-water mark, the cube included (the target: <= 2 GB).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from data import CUBE, MONTHS, log, outline_doc, rss_mib  # noqa: E402

from epmjobs.planning.application import Cube, CubeKind  # noqa: E402
from epmjobs.planning.calc import parse_script  # noqa: E402
from epmjobs.planning.calc.engine import run_script  # noqa: E402
from epmjobs.planning.cube.cells import Cells  # noqa: E402
from epmjobs.planning.cube.model import CubeModel, cube_model  # noqa: E402
from epmjobs.planning.outline import outline_from_json  # noqa: E402

SPARSE = ("Entity", "Product", "Customer")
COLUMNS = ("account", "period", "years", "scenario", "version", "entity", "product",
           "customer")
CALC = ('FIX (@RELATIVE("Entity", 0), @RELATIVE("Product", 0), @RELATIVE("Customer", 0))\n'
        '    "{revenue}" = "{units}" * "{price}";\nENDFIX\n')
AGG = 'AGG ("Entity", "Product", "Customer");\n'
REPEATS = 5


def nodes(model: CubeModel, dimension: str, names: list[str]) -> np.ndarray:
    dim = model.dimension(dimension)
    assert dim is not None
    found = [dim.node(n) for n in names]
    assert all(n is not None for n in found)
    return np.array(found, dtype=np.int64)


def generate(model: CubeModel, leaves: dict[str, list[str]], cells: int,
             rng: np.random.Generator) -> tuple[Cells, dict[str, str]]:
    """bench/data.py's data (the same runs of members, fully crossed) built as cells."""
    accounts, products, customers = 20, 35, 6
    blocks = max(1, cells // (accounts * len(MONTHS)))
    entities = max(1, round(blocks / (products * customers)))
    chosen: dict[str, list[str]] = {}
    for dim, count in (("Entity", entities), ("Product", products), ("Customer", customers),
                       ("Account", accounts)):
        pool = leaves[dim]
        start = int(rng.integers(0, max(1, len(pool) - count)))
        chosen[dim] = pool[start:start + count]
    axes = {d: nodes(model, d, chosen[d]) for d in ("Entity", "Product", "Customer",
                                                     "Account")}
    axes["Period"] = nodes(model, "Period", list(MONTHS))
    for single, name in (("Years", "FY24"), ("Scenario", "Actual"), ("Version", "Working")):
        axes[single] = nodes(model, single, [name])
    keys = np.zeros(1, dtype=np.int64)  # the cross product, packed one dimension at a time
    for d, stride in zip(model.dimensions, model.layout.strides, strict=True):
        keys = (keys[:, None] + axes[d.name][None, :] * stride).ravel()
    assert (keys[1:] > keys[:-1]).all()  # members ascend, so the cross product is sorted
    values = np.round(rng.lognormal(3.0, 1.0, size=len(keys)), 2)
    revenue = next(a for a in leaves["Account"] if a not in chosen["Account"])
    names = {"units": chosen["Account"][0], "price": chosen["Account"][1], "revenue": revenue}
    return Cells(keys, values), names


def ours(model: CubeModel, cells: Cells, names: dict[str, str], agg: bool) -> dict[str, Any]:
    """Each phase in a process of its own (forked with the cube in memory), so that each
    one's peak RSS is its own and not what an earlier phase left in the allocator."""
    figures: dict[str, Any] = {"cells": len(cells), "start_rss_mib": rss_mib()}
    figures.update(_forked(_calc, model, cells, names))
    if agg:
        figures.update(_forked(_agg, model, cells))
    figures["peak_rss_mib"] = max(v for k, v in figures.items() if k.endswith("_rss_mib"))
    return figures


def _forked(phase: Any, *args: Any) -> dict[str, Any]:
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=lambda: queue.put(phase(*args)))
    child.start()
    result: dict[str, Any] = queue.get()
    child.join()
    return result


def _calc(model: CubeModel, cells: Cells, names: dict[str, str]) -> dict[str, Any]:
    script = parse_script(CALC.format(**names))
    best = (float("inf"), 0.0)
    for _ in range(REPEATS):  # a short phase: the best of a few runs, on both sides
        t0, c0 = time.perf_counter(), time.process_time()
        result = run_script(model, cells, script)
        best = min(best, (time.perf_counter() - t0, time.process_time() - c0))
        del result
    result = run_script(model, cells, script)
    revenue = nodes(model, "Account", [names["revenue"]])[0]
    account = model.layout.coordinate(result.cells.keys, model.position("Account") or 0)
    written = result.cells.values[account == revenue]
    return {"calc_s": best[0], "calc_cpu_s": best[1], "calc_cells": len(written),
            "calc_sum": float(written.sum()), "calc_rss_mib": rss_mib()}


def _agg(model: CubeModel, cells: Cells) -> dict[str, Any]:
    t0, c0 = time.perf_counter(), time.process_time()
    aggregated = run_script(model, cells, parse_script(AGG)).cells
    return {"agg_s": time.perf_counter() - t0, "agg_cpu_s": time.process_time() - c0,
            "agg_cells": len(aggregated), "agg_sum": float(aggregated.values.sum()),
            "agg_rss_mib": rss_mib()}


def duckdb_reference(model: CubeModel, cells: Cells, names: dict[str, str],
                     agg: bool) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect()
    coords = model.layout.unpack(cells.keys)
    con.register("src", {**{c: coords[i] for i, c in enumerate(COLUMNS)},
                         "value": cells.values})
    con.execute("CREATE TABLE cells AS SELECT * FROM src")
    con.unregister("src")
    del coords
    figures: dict[str, Any] = {}
    if agg:
        figures.update(_duckdb_agg(con, model))
    units, price, revenue = (int(nodes(model, "Account", [names[k]])[0])
                             for k in ("units", "price", "revenue"))
    others = [c for c in COLUMNS if c != "account"]
    insert = f"""INSERT INTO cells
        SELECT {revenue} AS account, {", ".join("u." + c for c in others)},
               u.value * p.value AS value
        FROM cells u JOIN cells p USING ({", ".join(others)})
        WHERE u.account = {units} AND p.account = {price}"""
    best = float("inf")
    for attempt in range(REPEATS):
        con.execute("BEGIN")
        t0 = time.perf_counter()
        con.execute(insert)
        best = min(best, time.perf_counter() - t0)
        con.execute("COMMIT" if attempt == REPEATS - 1 else "ROLLBACK")
    figures["calc_s"] = best
    row = con.execute(f"SELECT count(*), sum(value) FROM cells WHERE account = {revenue}"
                      ).fetchone()
    assert row is not None
    figures["calc_cells"], figures["calc_sum"] = int(row[0]), float(row[1])
    con.close()
    return figures


def _duckdb_agg(con: Any, model: CubeModel) -> dict[str, Any]:
    for name in SPARSE:
        dim = model.dimension(name)
        assert dim is not None
        con.register("closure", {"descendant": dim.closure_descendant,
                                 "ancestor": dim.closure_ancestor})
        con.execute(f'CREATE TABLE "c_{name}" AS SELECT * FROM closure')
        con.unregister("closure")
    t0 = time.perf_counter()
    current = "cells"
    for name in SPARSE:
        col = name.lower()
        rest = ", ".join(c for c in COLUMNS if c != col)
        con.execute(f"""CREATE OR REPLACE TABLE "agg_{col}" AS
            SELECT {rest}, c.ancestor AS {col}, sum(value) AS value
            FROM {current} t JOIN "c_{name}" c ON t.{col} = c.descendant
            GROUP BY ALL""")
        current = f'"agg_{col}"'
    seconds = time.perf_counter() - t0
    row = con.execute(f"SELECT count(*), sum(value) FROM {current}").fetchone()
    assert row is not None
    for name in SPARSE:
        con.execute(f'DROP TABLE "agg_{name.lower()}"')
    return {"agg_s": seconds, "agg_cells": int(row[0]), "agg_sum": float(row[1])}


def _check(mine: dict[str, Any], ref: dict[str, Any], phase: str) -> None:
    assert mine[f"{phase}_cells"] == ref[f"{phase}_cells"], (phase, mine, ref)
    a, b = mine[f"{phase}_sum"], ref[f"{phase}_sum"]
    assert abs(a - b) <= 1e-6 * abs(b), (phase, a, b)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cells", type=int, default=10_000_000)
    parser.add_argument("--nice", type=int, default=0)
    parser.add_argument("--skip-agg", action="store_true")
    args = parser.parse_args()
    if args.nice:
        os.nice(args.nice)
    rng = np.random.default_rng(11)
    doc, leaves = outline_doc(rng)
    model = cube_model(outline_from_json([Cube(CUBE, CubeKind.BSO)], doc), CUBE)
    cells, names = generate(model, leaves, args.cells, rng)
    log(f"{len(cells):,} cells; {names}; ours...")
    mine = ours(model, cells, names, not args.skip_agg)
    log("DuckDB...")
    ref = duckdb_reference(model, cells, names, not args.skip_agg)
    phases = ("calc",) if args.skip_agg else ("calc", "agg")
    for phase in phases:
        _check(mine, ref, phase)
    print(f"{'phase':<6} {'ours s':>8} {'cpu s':>7} {'duckdb s':>9} {'ratio':>6}  target <= 4")
    for phase in phases:
        a, b = mine[f"{phase}_s"], ref[f"{phase}_s"]
        print(f"{phase:<6} {a:8.2f} {mine[f'{phase}_cpu_s']:7.2f} {b:9.2f} {a / b:6.2f}")
    print(f"cells {mine['cells']:,}; revenue cells {mine['calc_cells']:,}"
          + (f"; aggregated {mine['agg_cells']:,}" if not args.skip_agg else "")
          + f"; RSS with the cube {mine['start_rss_mib']:.0f} MiB, peak: calc "
          f"{mine['calc_rss_mib']:.0f} MiB"
          + ("" if args.skip_agg else f", agg {mine['agg_rss_mib']:.0f} MiB")
          + " (target <= 2048)")
    results = BENCH_DIR / "results"
    results.mkdir(exist_ok=True)
    (results / f"calc-{int(time.time())}.json").write_text(json.dumps(
        {"cells": args.cells, "ours": mine, "duckdb": ref}, indent=2))


if __name__ == "__main__":
    main()
